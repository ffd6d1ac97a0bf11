package ledger

import (
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/mass-consensus/mass/internal/app"
	"github.com/mass-consensus/mass/internal/chain"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/genesis"
	"github.com/mass-consensus/mass/internal/protocol"
	"github.com/mass-consensus/mass/internal/protocol/epoch"
	"github.com/mass-consensus/mass/internal/store"
	"github.com/mass-consensus/mass/internal/transport"
)

// Config is what a ledger is made of. Durations are in milliseconds of the
// clock the driver feeds to Tick.
type Config struct {
	Genesis *genesis.Genesis
	Key     *crypto.PrivateKey
	// Store is the node's store, which the ledger only reads: its records
	// under RecordPrefix and the chain under ChainPrefix. The driver
	// applies each Ready's Writes to it before the next input.
	Store store.KV
	// Entropy seeds what the ledger draws: the coin seed on first start,
	// and the proposal sampling of each era. The driver draws it afresh at
	// every start; the simulator derives it from its seed.
	Entropy [32]byte
	Logger  *slog.Logger
	// StatusEvery is how often the node tells its peers its certified
	// height (default 500).
	StatusEvery int64
	// SyncAfter is how long the ledger waits, while a peer is certified
	// further and it makes no progress, before it fetches certified
	// blocks (default 1000).
	SyncAfter int64
	// MaxPending bounds the transactions waiting to be proposed.
	MaxPending int
	// Knobs are planted bugs for the simulator's vacuity tests; the zero
	// value in production.
	Knobs Knobs
	// Counters, if set, is where the ledger counts (the driver's, to
	// publish them); otherwise it counts in its own.
	Counters *Counters
}

// Knobs plant known bugs, so that tests show the simulator's checkers
// catch them.
type Knobs struct {
	// OldSyncTrigger fetches certified blocks only when a peer is certified
	// beyond the applied height (the trigger before issue #11): a node
	// that applied a block but missed its votes never certifies it.
	OldSyncTrigger bool
	// OldSyncPeer asks the peer claiming the highest certified height,
	// always: a peer that lies about its height gets every request.
	OldSyncPeer bool
	// BadKeyPart makes this node a Byzantine key dealer: the rows of its
	// key generation part to half the nodes are garbage, so that it must
	// be excluded from the era's keys.
	BadKeyPart bool
	// SkewCoinSwitch makes node i switch to the threshold coin i epochs
	// late: the nodes disagree on which coin an epoch tosses.
	SkewCoinSwitch bool
}

// Restart is what the driver read before Open: the application's height
// and root, and the epoch log.
type Restart struct {
	AppHeight uint64
	AppRoot   [32]byte
	Log       []LogRecord
}

// Errors of Submit.
var (
	// ErrDuplicate: the transaction is already pending or committed.
	ErrDuplicate = errors.New("duplicate transaction")
	// ErrNotMember: the node is not in the current node set and takes no
	// transactions (it follows the chain); submit to a member.
	ErrNotMember = errors.New("not a member of the node set; submit to a member")
)

// Counters are what the ledger counts, for metrics.
type Counters struct {
	Committed     atomic.Uint64 // transactions
	Rejected      atomic.Uint64 // malformed or unexpected messages from peers
	Faults        atomic.Uint64 // protocol faults seen
	FutureDropped atomic.Uint64 // messages for later that did not fit the buffer
	BlocksFetched atomic.Uint64
	VotesRejected atomic.Uint64 // votes that do not verify against the node's block, or claim another signer
	VotesDropped  atomic.Uint64 // votes for heights too far ahead
	// ConsensusMessages are the epoch messages given to the engine, live
	// or offered again (not the log's replay at start).
	ConsensusMessages atomic.Uint64
}

// Status is what the ledger tells of itself.
type Status struct {
	Applied   uint64
	Certified uint64
	Epoch     uint64 // the lowest epoch not yet output
	Pending   int
	Member    bool
	Self      int // index in the current set, -1 if not a member
	Nodes     int
	Era       int
	Lingering int
}

// Ledger is one node's ledger state machine. It is not safe for
// concurrent use: one driver goroutine owns it.
type Ledger struct {
	cfg Config
	log *slog.Logger
	eraState
	recs   records
	chain  *chain.Store
	engine *epoch.Engine
	// recentTxs are the hashes of the latest committed transactions, which
	// a submission may not repeat.
	recentTxs recentSet
	pending   pendingSet
	lastTag   uint64 // the latest tag of a pending transaction's record
	coinSeed  [32]byte
	keys      *eraKeys // the current era's key generation, at a member
	votes     voting
	sync      catchUp
	future    futureBuffer
	apply     applyQueue
	now       int64 // the latest clock reading
	// rp is the replay of the log after a restart: while it is active,
	// nothing handled is logged again.
	rp replayState
	// moved is set when the engine's epoch advanced: the buffered future
	// messages are offered again once the current input is fully handled
	// (never from inside a step, whose later outputs are still pending).
	moved bool
	rd    Ready
	out   outbox
	// forwarded is when pending transactions were last handed on (see
	// forwardPending).
	forwarded int64
	// started is set by the first Tick, which starts the clocks of the
	// catch-up.
	started bool

	Counters *Counters
}

// Submit takes a client's transaction, already checked by the application.
// Its record is in the next Ready's Log: the driver answers the client once
// that is durable.
func (l *Ledger) Submit(tx []byte) error {
	if err := l.drained(); err != nil {
		return err
	}
	if IsKeyTx(tx) {
		return ErrReserved
	}
	h := epoch.HashTx(tx)
	if l.recentTxs.has(h) {
		return fmt.Errorf("%w: committed already", ErrDuplicate)
	}
	if l.engine == nil {
		return ErrNotMember
	}
	st, err := l.engine.HandleInput(epoch.Input{Tx: tx})
	if err != nil {
		if errors.Is(err, epoch.ErrDuplicate) {
			err = fmt.Errorf("%w: pending already", ErrDuplicate)
		}
		return err
	}
	l.logPending(h, tx)
	return l.settle(l.handleStep(st))
}

// Tick feeds the clock (Unix milliseconds); due says that the application
// has work due by it (app.Deadliner), so that an epoch runs even with no
// transaction.
func (l *Ledger) Tick(now int64, due bool) error {
	if err := l.drained(); err != nil {
		return err
	}
	l.now = max(l.now, now)
	if !l.started {
		l.started = true
		l.sync.lastProgress, l.votes.lastCertified = l.now, l.now
	}
	// Messages refused for later are offered again on every tick too, not
	// only when the epoch moves: an agreement may refuse a far round's
	// message within a running epoch, and take it once others progressed.
	if l.future.len() > 0 {
		l.moved = true
	}
	if l.engine != nil {
		st, err := l.engine.HandleInput(epoch.Input{Tick: true, Now: l.now, Drive: due})
		if err != nil {
			return err
		}
		if err := l.handleStep(st); err != nil {
			return err
		}
	}
	l.tellStatus()
	l.maybeSync()
	return l.settle(l.forwardPending())
}

// ErrNotDrained is returned by an input given while the ledger still has
// a block for the application: the driver must do every Ready, and report
// every block applied, before the next input.
var ErrNotDrained = errors.New("ledger: an input before the blocks to apply were applied")

// MustFlush says that the driver must do the Ready before it gives the
// ledger another input: a block waits for the application.
func (l *Ledger) MustFlush() bool { return !l.apply.idle() }

func (l *Ledger) drained() error {
	if !l.apply.idle() {
		return ErrNotDrained
	}
	return nil
}

// settle brings the engine up to the certified blocks, then offers the
// buffered messages again if the engine's epoch moved.
func (l *Ledger) settle(err error) error {
	if err == nil {
		err = l.continueReplay()
	}
	if err == nil {
		err = l.adoptCertified()
	}
	// Not while a block waits for the application: a block that changes
	// the node set must be applied before the engine goes further.
	for err == nil && l.moved && l.apply.idle() && !l.rp.active {
		l.moved = false
		err = l.retryFuture()
	}
	return err
}

// adoptCertified moves the engine past the epochs whose blocks are
// certified while it still runs them: epochs re-run after a restart, which
// peers that adopted the certified blocks no longer take part in.
func (l *Ledger) adoptCertified() error {
	for l.engine != nil && l.engine.Next() < l.votes.certified {
		ep := l.engine.Next()
		if next, ok := l.nextStart(); ok && ep >= next {
			return nil // the era's last epoch: the next era's engine goes on
		}
		b, err := l.blockAt(ep + 1)
		if err != nil {
			return fmt.Errorf("ledger: adopting certified block %d: %w", ep+1, err)
		}
		st, err := l.engine.Adopt(epoch.Batch{Epoch: ep, Time: b.Time, Txs: b.Txs})
		if err != nil {
			return fmt.Errorf("ledger: %w", err)
		}
		l.moved = true
		if err := l.handleStep(st); err != nil {
			return err
		}
	}
	return nil
}

// Status returns what the ledger is at.
func (l *Ledger) Status() Status {
	s := Status{Applied: l.votes.applied, Certified: l.votes.certified, Epoch: l.votes.applied,
		Self: -1, Nodes: l.set.N(), Era: l.cur}
	if l.engine != nil {
		st := l.engine.Stats()
		s.Epoch, s.Pending, s.Lingering = l.engine.Next(), st.Pending, st.Lingering
		s.Member, s.Self = true, int(l.self)
	}
	return s
}

// handleStep logs the step's proposals, queues its messages and its
// batches for the application.
func (l *Ledger) handleStep(st epoch.Step) error {
	if len(st.Faults) > 0 {
		l.Counters.Faults.Add(uint64(len(st.Faults)))
		for _, f := range st.Faults {
			l.log.Debug("fault", "peer", f.Node, "kind", f.Kind)
		}
	}
	for _, m := range st.Messages {
		data := m.Body.Marshal()
		for i, key := range l.peers {
			if m.To.Includes(l.self, protocol.NodeID(i)) {
				l.out.consensus(key, m.Body.Epoch, data)
			}
		}
	}
	for _, o := range st.Output {
		switch {
		case o.Proposal != nil:
			if !l.rp.active {
				l.rd.Log = append(l.rd.Log, logRecord(o.Proposal.Epoch, logProposal, 0, o.Proposal.Value))
			}
		case o.Batch != nil:
			if err := l.onBatch(o.Batch); err != nil {
				return err
			}
		}
	}
	return nil
}

// tellStatus tells the peers the node's certified height, every
// StatusEvery.
func (l *Ledger) tellStatus() {
	if l.now-l.sync.lastStatus < l.cfg.StatusEvery {
		return
	}
	l.sync.lastStatus = l.now
	l.broadcast(l.votes.applied, encodeStatus(l.votes.certified))
}

// broadcast sends to every linked peer: the current era's and the next's.
func (l *Ledger) broadcast(tag uint64, data []byte) {
	for _, k := range l.linked {
		l.out.direct(k, tag, data)
	}
}

// NodeSets returns the node sets the ledger knows, the genesis set first.
func (l *Ledger) NodeSets() []chain.NodeSet {
	out := make([]chain.NodeSet, len(l.eras))
	for i, e := range l.eras {
		out[i] = e.set
	}
	return out
}

// setLogger names the node's index in its logs.
func (l *Ledger) setLogger(self int) {
	l.log = l.cfg.Logger
	if self >= 0 {
		l.log = l.log.With("node", self)
	}
}

// keyOf is this node's transport key.
func (l *Ledger) keyOf() transport.NodeKey { return transport.NodeKey(l.cfg.Key.Public()) }

// appBlock is the application's view of a block: no key transactions.
func appBlock(b *chain.Block) app.Block {
	return app.Block{Height: b.Height, Time: b.Time, Txs: appTxs(b.Txs)}
}

// windowSize is the number of epochs the engine runs at once.
func (l *Ledger) windowSize() int {
	if w := l.cfg.Genesis.Window; w > 0 {
		return w
	}
	return epoch.DefaultWindow
}
