package ledger

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/mass-consensus/mass/internal/chain"
	"github.com/mass-consensus/mass/internal/protocol/epoch"
	"github.com/mass-consensus/mass/internal/store"
	"github.com/mass-consensus/mass/internal/transport"
)

// Defaults of Config, in milliseconds.
const (
	DefaultStatusEvery = 500
	DefaultSyncAfter   = 1000
)

// Open rebuilds a node's ledger from its store and the driver's restart
// reading (the application's height, the epoch log). Its first Ready holds
// what a crash left undone: the blocks the application lost, the votes of
// blocks signed and not certified, and what replaying the log sends again.
func Open(cfg Config, rs Restart) (*Ledger, error) {
	set, err := cfg.Genesis.Validate()
	if err != nil {
		return nil, err
	}
	if cfg.Key == nil || cfg.Store == nil {
		return nil, errors.New("ledger: Key and Store are required")
	}
	if cfg.StatusEvery <= 0 {
		cfg.StatusEvery = DefaultStatusEvery
	}
	if cfg.SyncAfter <= 0 {
		cfg.SyncAfter = DefaultSyncAfter
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	window := cfg.Genesis.Window
	if window == 0 {
		window = epoch.DefaultWindow
	}
	l := &Ledger{cfg: cfg, log: cfg.Logger, chain: chain.NewStore(store.WithPrefix(cfg.Store, ChainPrefix)), Counters: cfg.Counters}
	if l.Counters == nil {
		l.Counters = new(Counters)
	}
	l.rd.Writes = new(store.Batch)
	l.recs = records{kv: cfg.Store, batch: l.rd.Writes}
	l.horizon = 2 * window
	l.votes = voting{collectors: map[uint64]*chain.Collector{}, readyCerts: map[uint64]*chain.Certificate{},
		justCertified: map[uint64]*chain.Block{}, earlyVotes: map[uint64][]chain.Vote{}}
	l.sync.peerHeight = map[transport.NodeKey]uint64{}
	genesisEra := &era{start: 0, set: set, hash: set.Hash()}
	for _, g := range cfg.Genesis.Nodes {
		genesisEra.addrs = append(genesisEra.addrs, g.Addrs)
	}
	l.eras = []*era{genesisEra}
	l.now = cfg.Genesis.Time
	if err := l.recover(rs); err != nil {
		return nil, err
	}
	return l, nil
}

// recover rebuilds the ledger's state from the store and the log.
func (l *Ledger) recover(rs Restart) error {
	var err error
	if l.coinSeed, err = l.recs.coinSeed(l.cfg.Entropy); err != nil {
		return err
	}
	stored, err := l.recs.eras()
	if err != nil {
		return err
	}
	l.eras = append(l.eras, stored...)
	consensus, err := l.readLog(rs.Log)
	if err != nil {
		return err
	}
	recorded, err := l.recoverBlocks(rs.AppHeight)
	if err != nil {
		return err
	}
	cur := 0
	for i, e := range l.eras {
		if e.start <= recorded {
			cur = i
		}
	}
	if err := l.rememberTxs(recorded); err != nil {
		return err
	}
	// The engine runs again the epochs whose blocks are not certified:
	// peers may still need what this node sends in them.
	start := max(l.votes.certified, l.eras[cur].start)
	recent, startTime, err := l.recentBlocks(start)
	if err != nil {
		return err
	}
	if err := l.enterEra(cur, start, startTime, recent); err != nil {
		return err
	}
	// Votes for the blocks signed but not yet certified.
	for h := l.votes.certified + 1; h <= recorded; h++ {
		l.startVoting(l.votes.ownBlocks[h])
	}
	if l.engine == nil {
		l.log.Info("recovered", "certified", l.votes.certified, "applied", l.votes.applied, "member", false)
		return nil
	}
	// The era's keys before the replay: the epochs it runs again must toss
	// the coins they tossed before.
	if err := l.startKeys(); err != nil {
		return err
	}
	l.relogPending(start)
	if err := l.startReplay(consensus, start); err != nil {
		return err
	}
	pending, err := l.requeuePending()
	if err != nil {
		return err
	}
	if err := l.postKeys(); err != nil {
		return err
	}
	l.log.Info("recovered", "certified", l.votes.certified, "applied", l.votes.applied, "logged", len(rs.Log), "pending", pending)
	return nil
}

// readLog takes from the epoch log the blocks this node signed and the
// transactions it accepted, and returns the consensus records (its
// proposals and the messages it handled) to replay.
func (l *Ledger) readLog(log []LogRecord) ([]LogRecord, error) {
	l.votes.ownBlocks = map[uint64]*chain.Block{}
	var consensus []LogRecord
	for _, rec := range log {
		if len(rec.Data) < 3 {
			return nil, fmt.Errorf("ledger: malformed log record of epoch %d (%d bytes)", rec.Epoch, len(rec.Data))
		}
		switch payload := rec.Data[3:]; rec.Data[0] {
		case logOwn:
			b, err := chain.UnmarshalBlock(payload)
			if err != nil {
				return nil, fmt.Errorf("ledger: logged block of epoch %d: %w", rec.Epoch, err)
			}
			l.votes.ownBlocks[b.Height] = b
		case logPending:
			if err := l.readPending(rec.Epoch, payload); err != nil {
				return nil, err
			}
		default:
			consensus = append(consensus, rec)
		}
	}
	return consensus, nil
}

// readPending takes a logged transaction as pending again, unless a block
// holds it.
func (l *Ledger) readPending(tag uint64, tx []byte) error {
	h := epoch.HashTx(tx)
	if l.pending.has(h) {
		return nil
	}
	_, committed, err := TxHeight(l.cfg.Store, h)
	if err != nil || committed {
		return err
	}
	l.pending.add(h, tx, tag)
	l.lastTag = max(l.lastTag, tag)
	l.rd.Pending = append(l.rd.Pending, h)
	return nil
}

// rememberTxs remembers the transactions of the latest blocks up to
// height, to refuse their resubmission.
func (l *Ledger) rememberTxs(height uint64) error {
	recent, _, err := l.recentBlocks(height)
	for _, txs := range recent {
		for _, tx := range txs {
			l.recentTxs.add(epoch.HashTx(tx))
		}
	}
	return err
}

// recoverBlocks reads the certified height and the blocks this node
// recorded beyond it, queues those its application lost (appHeight is its
// height), and returns the height recorded.
func (l *Ledger) recoverBlocks(appHeight uint64) (uint64, error) {
	var err error
	if l.votes.certified, err = l.chain.Height(); err != nil {
		return 0, err
	}
	if l.votes.certified > 0 {
		b, _, err := l.chain.Get(l.votes.certified)
		if err != nil {
			return 0, err
		}
		l.votes.certHeader = &b.Header
	}
	recorded := l.votes.certified
	for h := range l.votes.ownBlocks {
		if h <= l.votes.certified {
			delete(l.votes.ownBlocks, h)
		}
	}
	for l.votes.ownBlocks[recorded+1] != nil {
		recorded++
	}
	if appHeight > recorded+1 {
		return 0, fmt.Errorf("ledger: the application is at height %d but the node recorded only %d", appHeight, recorded)
	}
	for h := appHeight + 1; h <= recorded; h++ {
		b, err := l.blockAt(h)
		if err != nil {
			return 0, err
		}
		l.apply.push(applyItem{block: appBlock(b), txs: b.Txs, epoch: b.Epoch, known: b, again: true})
	}
	l.apply.last = recorded
	l.votes.applied = recorded
	l.votes.lastCertified = l.now
	if recorded > 0 {
		b, err := l.blockAt(recorded)
		if err != nil {
			return 0, err
		}
		l.votes.lastHeader = &b.Header
	}
	return recorded, nil
}
