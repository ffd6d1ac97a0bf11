package ledger

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/mass-consensus/mass/internal/app"
	"github.com/mass-consensus/mass/internal/chain"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/protocol"
	"github.com/mass-consensus/mass/internal/protocol/acs"
	"github.com/mass-consensus/mass/internal/protocol/epoch"
	"github.com/mass-consensus/mass/internal/store"
	"github.com/mass-consensus/mass/internal/transport"
	"github.com/mass-consensus/mass/internal/wire"
)

// An era is a node set and the epochs it runs: from its start to the next
// era's start. The genesis era starts at epoch 0. When the application
// reports that block h changed the node set, the new era starts at epoch
// h + horizon: no honest node can have touched an epoch that far ahead
// before it applied block h, because its engine may not touch an epoch a
// horizon beyond the last block applied (limitEngine; the engine's own
// horizon counts from the lowest epoch not output, and several epochs can
// complete at once, ahead of the application), so every node switches at
// the same epoch with the same engine state. Block h + horizon, the old set's last, names the new set in its
// header's NextNodes; the new set certifies the blocks from h + horizon + 1.
type era struct {
	start uint64 // first epoch; block start+1 is the era's first block
	set   chain.NodeSet
	hash  chain.Hash
	addrs [][]string
}

// maxEraAddrs bounds the addresses of a node, and maxAddrLen one address.
const (
	maxEraAddrs = 16
	maxAddrLen  = 1024
)

func (e *era) marshal() []byte {
	w := wire.NewWriter(16 + 64*e.set.N())
	w.U32(uint32(e.set.N()))
	for i, k := range e.set.Keys {
		w.Raw(k[:])
		w.U8(uint8(len(e.addrs[i])))
		for _, a := range e.addrs[i] {
			w.Bytes([]byte(a))
		}
	}
	return w.Finish()
}

func unmarshalEra(start uint64, b []byte) (*era, error) {
	r := wire.NewReader(b)
	n := r.Count(chain.MaxVotes, "nodes")
	e := &era{start: start}
	for i := 0; i < n && r.Err() == nil; i++ {
		var k crypto.PublicKey
		copy(k[:], r.Raw(crypto.PublicKeySize, "key"))
		var addrs []string
		m := int(r.U8("addresses"))
		if m > maxEraAddrs {
			return nil, fmt.Errorf("ledger: era record: %d addresses", m)
		}
		for j := 0; j < m && r.Err() == nil; j++ {
			addrs = append(addrs, string(r.Bytes(maxAddrLen, "address")))
		}
		e.set.Keys = append(e.set.Keys, k)
		e.addrs = append(e.addrs, addrs)
	}
	if err := r.Done(); err != nil {
		return nil, fmt.Errorf("ledger: era record of epoch %d: %w", start, err)
	}
	if n == 0 {
		return nil, fmt.Errorf("ledger: era record of epoch %d has no nodes", start)
	}
	e.hash = e.set.Hash()
	return e, nil
}

// eraState is the node set the ledger runs with, and the ones decided.
type eraState struct {
	// eras are the genesis era and those learned from blocks, in order;
	// cur is the current one's index.
	eras    []*era
	cur     int
	set     chain.NodeSet
	params  protocol.Params
	horizon int // epochs whose messages the engine accepts ahead of its own
	// self is this node's index in the current set (0xFFFF if none), and
	// peers the set's keys by index.
	self    protocol.NodeID
	peers   []transport.NodeKey
	indexOf map[transport.NodeKey]protocol.NodeID
	// linked are the peers of the current and the decided later eras: whom
	// votes and status go to.
	linked   []transport.NodeKey
	isLinked map[transport.NodeKey]bool
}

// eras reads the stored eras, in order.
func (r records) eras() ([]*era, error) {
	var out []*era
	var bad error
	p := key(recEra)
	err := r.kv.Scan(p, store.PrefixEnd(p), func(k, v []byte) bool {
		k = k[len(p):]
		if len(k) != 8 {
			bad = fmt.Errorf("ledger: malformed era key %x", k)
			return false
		}
		e, err := unmarshalEra(binary.BigEndian.Uint64(k), v)
		if err != nil {
			bad = err
			return false
		}
		out = append(out, e)
		return true
	})
	if err == nil {
		err = bad
	}
	return out, err
}

func (r records) era(e *era) { r.batch.Put(key(recEra, u64(e.start)), e.marshal()) }

// eraOf returns the era that runs an epoch.
func (l *Ledger) eraOf(ep uint64) *era {
	for i := len(l.eras) - 1; i > 0; i-- {
		if l.eras[i].start <= ep {
			return l.eras[i]
		}
	}
	return l.eras[0]
}

// setFor returns the node set that certifies block height.
func (l *Ledger) setFor(height uint64) chain.NodeSet { return l.eraOf(height - 1).set }

// nextNodes is the NextNodes of block height's header: the hash of the
// set that certifies the block after it.
func (l *Ledger) nextNodes(height uint64) chain.Hash { return l.eraOf(height).hash }

// nextStart returns the start of the era after the current one, if any.
func (l *Ledger) nextStart() (uint64, bool) {
	if l.cur+1 < len(l.eras) {
		return l.eras[l.cur+1].start, true
	}
	return 0, false
}

// learnNodeSet records that block height changed the node set to nodes:
// a new era from epoch height + horizon. Learning the same change again
// (a block re-applied after a crash) does nothing.
func (l *Ledger) learnNodeSet(height uint64, nodes []app.NodeInfo) error {
	start := height + uint64(l.horizon)
	if last := l.eras[len(l.eras)-1]; last.start >= start {
		return nil // known already
	}
	if len(nodes) == 0 || len(nodes) > chain.MaxVotes {
		return fmt.Errorf("ledger: block %d sets a node set of %d nodes", height, len(nodes))
	}
	e := &era{start: start}
	for _, nd := range nodes {
		k := crypto.PublicKey(nd.Key)
		if _, dup := e.set.Index(k); dup {
			return fmt.Errorf("ledger: block %d sets a node set with a key twice", height)
		}
		e.set.Keys = append(e.set.Keys, k)
		e.addrs = append(e.addrs, slices.Clone(nd.Addrs))
	}
	e.hash = e.set.Hash()
	l.eras = append(l.eras, e)
	l.recs.era(e)
	if l.engine != nil && len(l.eras) == l.cur+2 {
		if err := l.engine.SetStop(start); err != nil {
			return fmt.Errorf("ledger: a new node set from epoch %d: %w", start, err)
		}
	}
	l.log.Info("the node set changes", "decided_at", height, "from_epoch", start, "nodes", e.set.N(), "member", l.memberOf(e) >= 0)
	l.linkPeers()
	return nil
}

// memberOf returns this node's index in an era's set, or -1.
func (l *Ledger) memberOf(e *era) int {
	if i, ok := e.set.Index(l.cfg.Key.Public()); ok {
		return i
	}
	return -1
}

// linkPeers makes the peers of the current era, of the eras decided after
// it and of the one before it the ones the node talks to, and tells the
// transport: the nodes of the era before, removed from the set, still get
// the votes, statuses and certified blocks they need to follow the chain.
func (l *Ledger) linkPeers() {
	seen := map[transport.NodeKey]bool{}
	peers := []transport.Peer{}
	l.linked = l.linked[:0]
	l.isLinked = make(map[transport.NodeKey]bool)
	for _, e := range l.eras[max(l.cur-1, 0):] {
		for i, k := range e.set.Keys {
			tk := transport.NodeKey(k)
			if seen[tk] {
				continue
			}
			seen[tk] = true
			peers = append(peers, transport.Peer{Key: tk, Addrs: e.addrs[i]})
			if tk != l.keyOf() {
				l.linked = append(l.linked, tk)
				l.isLinked[tk] = true
			}
		}
	}
	l.rd.Peers = peers
}

// enterEra makes era i current: its set, its indices, and its engine (nil
// if this node is not a member), starting at the era's first epoch or at
// start, whichever is later, with the time of the block before start and
// the transactions of recent blocks (to drop any committed again).
func (l *Ledger) enterEra(i int, start uint64, startTime int64, recent [][][]byte) error {
	e := l.eras[i]
	l.cur = i
	l.set = e.set
	params, err := protocol.NewParams(e.set.N())
	if err != nil {
		return fmt.Errorf("ledger: era %d: %w", i, err)
	}
	l.params = params
	l.peers = l.peers[:0]
	l.indexOf = map[transport.NodeKey]protocol.NodeID{}
	for j, k := range e.set.Keys {
		l.peers = append(l.peers, transport.NodeKey(k))
		l.indexOf[transport.NodeKey(k)] = protocol.NodeID(j)
	}
	l.engine = nil
	self := l.memberOf(e)
	l.setLogger(self)
	l.linkPeers()
	if self < 0 {
		l.self = protocol.NodeID(0xFFFF)
		l.log.Info("not a member of the node set: following the chain", "from_epoch", start)
		return nil
	}
	l.self = protocol.NodeID(self)
	agreement, err := acs.ParseAgreement(l.cfg.Genesis.AgreementName())
	if err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	seed := sampleSeed(l.cfg.Entropy, i)
	l.engine, err = epoch.New(epoch.Config{
		Params: l.params, Self: l.self, Agreement: agreement,
		Rand:     rand.NewPCG(binary.BigEndian.Uint64(seed[:8]), binary.BigEndian.Uint64(seed[8:16])),
		CoinSeed: l.coinSeed, Window: l.cfg.Genesis.Window, BatchSize: l.cfg.Genesis.BatchSize,
		MaxPending: l.cfg.MaxPending,
		Start:      start, StartTime: startTime, Recent: recent,
	})
	if err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	if next, ok := l.nextStart(); ok {
		if err := l.engine.SetStop(next); err != nil {
			return fmt.Errorf("ledger: %w", err)
		}
	}
	l.limitEngine()
	return nil
}

// limitEngine keeps the engine from touching epochs a horizon or more
// beyond the last block applied: a block h that changes the node set
// starts the new set at epoch h + horizon, which no engine may have touched
// before block h is applied (see era), however many epochs the engine
// completes before the application catches up.
func (l *Ledger) limitEngine() {
	if l.engine != nil {
		l.engine.SetLimit(l.votes.applied + uint64(l.horizon))
	}
}

// maybeSwitch enters the next era once the current one's last block is
// applied, carrying the pending transactions over to the new engine.
func (l *Ledger) maybeSwitch() error {
	next, ok := l.nextStart()
	if !ok || l.votes.applied < next {
		return nil
	}
	recent, startTime, err := l.recentBlocks(l.votes.applied)
	if err != nil {
		return err
	}
	if err := l.enterEra(l.cur+1, l.votes.applied, startTime, recent); err != nil {
		return err
	}
	l.log.Info("entered a new era", "epoch", l.votes.applied, "nodes", l.set.N(), "member", l.engine != nil)
	l.moved = true
	if l.engine == nil {
		l.keys = nil
		l.forwarded = 0 // hand the pending transactions on at the next tick
		return nil
	}
	if _, err = l.requeuePending(); err != nil {
		return err
	}
	if err := l.startKeys(); err != nil {
		return err
	}
	return l.postKeys()
}

// requeuePending gives a new engine the transactions the node accepted and
// has not committed yet (recorded as pending), and returns their count.
func (l *Ledger) requeuePending() (int, error) {
	txs := l.pending.all()
	for _, tx := range txs {
		st, err := l.engine.HandleInput(epoch.Input{Tx: tx})
		if err == nil {
			err = l.handleStep(st)
		}
		if err != nil && !errors.Is(err, epoch.ErrDuplicate) {
			l.log.Warn("dropping a pending transaction", "err", err)
		}
	}
	return len(txs), nil
}

// recentBlocks returns the transactions of the blocks up to height (at most
// DedupEpochs of them, oldest first) and the time of the block at height.
func (l *Ledger) recentBlocks(height uint64) ([][][]byte, int64, error) {
	startTime := l.cfg.Genesis.Time
	var recent [][][]byte
	first := uint64(1)
	if height > epoch.DefaultDedupEpochs {
		first = height - epoch.DefaultDedupEpochs + 1
	}
	for h := first; h <= height; h++ {
		b, err := l.blockAt(h)
		if err != nil {
			return nil, 0, fmt.Errorf("ledger: reading block %d: %w", h, err)
		}
		recent = append(recent, b.Txs)
		if h == height {
			startTime = b.Time
		}
	}
	return recent, startTime, nil
}

// laterEra says whether a consensus message from key for epoch ep belongs
// to a later era than the current one: it waits for the switch.
func (l *Ledger) laterEra(key transport.NodeKey, ep uint64) bool {
	next, ok := l.nextStart()
	if !ok {
		return false
	}
	if ep >= next {
		return true
	}
	_, member := l.indexOf[key]
	return !member
}
