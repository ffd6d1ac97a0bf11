// Package epoch turns the common subset into an ordered log of batches.
//
// In each epoch every node proposes a random sample of its pending
// transactions and its clock reading; the common subset (package acs) agrees
// on at least N−F proposals; the epoch's batch is their transactions merged
// in a deterministic order (proposers in turn, starting from the epoch number
// modulo N, each proposal in its own order), without duplicates, stamped with
// the median of the included clock readings, never earlier than the previous
// batch's time. Since at least N−F readings are included and at most F of
// them are Byzantine, the median lies between two honest readings.
//
// A node proposes in up to Config.Window epochs at once. Since other honest
// nodes may be ahead, it accepts messages for a longer Config.Horizon of
// epochs (twice the window by default), starting their instances at once;
// messages for later epochs are refused for later (Admit tells a transport
// to offer them again; HandleMessage drops and counts them), and the epochs
// their senders report let a node see that it has fallen behind and must
// catch up from certified batches (Adopt). Batches are output strictly in
// epoch order.
//
// # Epochs run until they terminate
//
// An epoch is output once its subset has output, but its binary agreements
// may not have terminated everywhere: a node that decided in round r keeps
// running, and the others may need its messages of round r+1 (the TERM
// messages help only once F+1 honest nodes have decided). So an output epoch
// keeps running, handling its messages and sending what they call for, until
// its subset terminates; only then is its instance freed, and only then are
// its messages refused for good (Admit says Never). Forget frees output
// epochs early once their batches are certified (2F+1 signatures: every
// honest node can adopt them instead), and Adopt frees the adopted epoch and
// those before it. Memory stays bounded: while Horizon output epochs are
// still running, the engine starts no new epoch (messages that would start
// one are refused for later, and it does not propose in one), so at most
// 2·Horizon instances exist; it never drops an epoch an honest peer may
// still need.
//
// # Resuming after a crash
//
// Everything an epoch does follows from the node's own proposal and the
// messages it received, in order: the coin of each agreement is drawn from a
// source seeded by Config.CoinSeed, the epoch and the proposer. A node that
// persists each proposal (an Output with Proposal set) and each message it
// handles before it sends the step's messages can rebuild any epoch in flight
// after a restart: Hold the engine, replay the proposals (Restore) and the
// messages in their original order, Release it, and it has sent exactly what
// it sent before, never anything that contradicts it.
//
// This package must never import anything that does I/O, reads a clock or
// draws global randomness: the clock arrives as Tick inputs and randomness
// through Config.Rand and Config.CoinSeed.
package epoch

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/mass-consensus/mass/internal/protocol"
	"github.com/mass-consensus/mass/internal/protocol/acs"
	"github.com/mass-consensus/mass/internal/protocol/coin"
)

// Defaults of Config.
const (
	DefaultWindow          = 3
	DefaultBatchSize       = 2000
	DefaultMaxTxSize       = 64 << 10
	DefaultMaxPending      = 100_000
	DefaultMaxProposalSize = 8 << 20
	DefaultDedupEpochs     = 256
	// MaxUrgent bounds the urgent transactions pending: a node's key part
	// and its acks, one per node of the largest set.
	MaxUrgent = 1 + protocol.MaxNodes
)

// Faults of the epoch layer.
const (
	FaultBadProposal protocol.FaultKind = "epoch: undecodable proposal"
)

// Errors of HandleInput.
var (
	ErrTxTooLarge  = errors.New("epoch: transaction too large")
	ErrTxEmpty     = errors.New("epoch: empty transaction")
	ErrPendingFull = errors.New("epoch: pending queue full")
	ErrDuplicate   = errors.New("epoch: transaction already pending or committed")
)

// Config configures an epoch engine.
type Config struct {
	Params protocol.Params
	Self   protocol.NodeID
	// Rand draws the sample of transactions to propose.
	Rand coin.Source
	// CoinSeed seeds the local coin of every agreement: the coin of the
	// agreement about proposer j in epoch e draws from SHA-256(CoinSeed ‖ e ‖
	// j). It must be secret (the coin must be unpredictable to others) and
	// kept across restarts.
	CoinSeed [32]byte
	// Window is the number of epochs a node proposes in at once.
	Window int
	// Horizon is the number of epochs, from the lowest not yet output, whose
	// messages are accepted; later ones are refused (Admit says Later).
	// Another honest node may be ahead, so it is at least Window; 0 means
	// 2·Window. It also bounds the output epochs still running: while that
	// many run, no new epoch starts (see the package doc).
	Horizon int
	// BatchSize bounds the transactions of one proposal.
	BatchSize int
	// MaxTxSize bounds one transaction, in bytes.
	MaxTxSize int
	// MaxPending bounds the queue of pending transactions.
	MaxPending int
	// MaxProposalSize bounds an encoded proposal, in bytes.
	MaxProposalSize int
	// DedupEpochs is how many epochs the hashes of committed transactions are
	// remembered, to drop a transaction committed again.
	DedupEpochs int
	// Start is the first epoch, and StartTime the time of the batch before it,
	// for a node that resumes.
	Start     uint64
	StartTime int64
	// Agreement is the binary agreement of the common subset (the
	// quadratic one by default).
	Agreement acs.Agreement
	// Era names the threshold coins of this engine's epochs (coin.Name).
	Era uint64
	// Threshold, if set, are this node's threshold keys, used from epoch
	// ThresholdFrom on (SetThreshold sets them later); earlier epochs, and
	// every epoch without keys, toss the local coin. Only the quadratic
	// agreement takes a common coin; Bracha's always tosses a local one.
	Threshold     *coin.Keys
	ThresholdFrom uint64
	// Recent are the transactions of the batches before Start (up to
	// DedupEpochs of them, oldest first), for a node that resumes: a
	// transaction committed there must not be committed again, and every
	// node must merge a batch alike.
	Recent [][][]byte
}

func (c *Config) fill() error {
	if c.Params.N < 1 || 3*c.Params.F >= c.Params.N || !c.Params.Valid(c.Self) {
		return fmt.Errorf("epoch: bad params N=%d F=%d self=%d", c.Params.N, c.Params.F, c.Self)
	}
	if c.Rand == nil {
		return errors.New("epoch: no random source")
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.Window, DefaultWindow)
	def(&c.Horizon, 2*c.Window)
	if c.Horizon < c.Window {
		return fmt.Errorf("epoch: horizon %d below window %d", c.Horizon, c.Window)
	}
	def(&c.BatchSize, DefaultBatchSize)
	def(&c.MaxTxSize, DefaultMaxTxSize)
	def(&c.MaxPending, DefaultMaxPending)
	def(&c.MaxProposalSize, DefaultMaxProposalSize)
	def(&c.DedupEpochs, DefaultDedupEpochs)
	return nil
}

// Input is a local input: a transaction to order, or a clock reading.
type Input struct {
	// Tx, if not nil, is a transaction submitted to this node.
	Tx []byte
	// Urgent puts Tx ahead of every other pending transaction, always in
	// the node's next proposal (the node's own key transactions, which
	// must not wait behind a full queue). At most
	// MaxUrgent urgent transactions may be pending; they do not count
	// against MaxPending.
	Urgent bool
	// Now, if Tick is set, is the node's clock reading (Unix milliseconds).
	Now  int64
	Tick bool
	// Drive, if set, runs the next epoch even with nothing pending (an
	// empty proposal) when no epoch is running, for an application whose
	// state moves with time.
	Drive bool
}

// Batch is the output of one epoch.
type Batch struct {
	Epoch uint64
	// Time is the batch time: the median of the included clock readings,
	// never earlier than the previous batch's.
	Time int64
	// Txs are the transactions, deduplicated, in the agreed order.
	Txs [][]byte
	// Proposers are the nodes whose proposals were included.
	Proposers []protocol.NodeID
	// Hashes are the transactions' hashes (HashTx), in the same order, when
	// the engine made the batch; nil for a batch given to Adopt.
	Hashes []TxHash
}

// Proposed is the node's proposal for an epoch.
type Proposed struct {
	Epoch uint64
	Value []byte
}

// Output is what the engine gives out: a batch, or the node's own proposal
// for an epoch, to persist before the step's messages are sent.
type Output struct {
	Batch    *Batch
	Proposal *Proposed
}

// Message is an epoch-tagged common subset message.
type Message struct {
	Epoch uint64
	ACS   *acs.Message
}

// Step is what one call into the engine produces.
type Step = protocol.Step[*Message, Output]

// TxHash is the hash that identifies a transaction.
type TxHash [32]byte

// HashTx returns the hash of a transaction.
func HashTx(tx []byte) TxHash { return sha256.Sum256(tx) }

// HashAll returns the hashes of txs: known, when it holds them (one per
// transaction), else computed.
func HashAll(txs [][]byte, known []TxHash) []TxHash {
	if len(known) == len(txs) {
		return known
	}
	out := make([]TxHash, len(txs))
	for i, tx := range txs {
		out[i] = HashTx(tx)
	}
	return out
}

// pendingTx is a pending transaction with its hash, computed once.
type pendingTx struct {
	tx     []byte
	h      TxHash
	urgent bool
}

type instance struct {
	subset   *acs.Subset
	proposed bool
	sample   []TxHash
	result   []acs.Contribution
	done     bool // the subset has output
	output   bool // the batch is out: the epoch runs on until it terminates
}

// Engine runs the epochs of one node.
type Engine struct {
	cfg  Config
	next uint64 // lowest epoch not yet output
	prev int64  // time of the last batch
	now  int64  // latest clock reading

	epochs map[uint64]*instance
	// lingering counts the output epochs whose instances still run.
	lingering int

	pending  []pendingTx
	pendingH map[TxHash]bool // hash → proposed in an epoch in flight
	// urgent counts the urgent transactions pending: the first ones.
	urgent int
	// unproposed counts the pending transactions not proposed in an epoch
	// in flight.
	unproposed int
	history    []map[TxHash]struct{}
	recent     map[TxHash]int // hash → number of history epochs containing it

	ahead []uint64 // per node, the latest epoch beyond the window it sent
	held  bool     // no proposals of its own while replaying
	stop  uint64   // first epoch this engine does not run (another node set's); 0: none
	limit uint64   // first epoch the engine may not touch yet (SetLimit); 0: none
	drive bool     // run one epoch even with nothing pending

	stats Stats
}

// Stats are counters and sizes an operator (or the simulator) watches.
type Stats struct {
	DroppedFuture uint64 // messages refused for later: beyond the horizon, or no epoch may start
	DroppedStale  uint64 // messages for epochs output and freed
	Faults        uint64
	ABADecisions  uint64 // agreements decided by the node's own votes
	ABARoundsSum  uint64 // the sum of their decision rounds
	InFlight      int    // epochs running, not yet output
	Lingering     int    // epochs output, still running until they terminate
	Pending       int
	Remembered    int
}

// New returns an engine.
func New(cfg Config) (*Engine, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	e := &Engine{
		cfg: cfg, next: cfg.Start, prev: cfg.StartTime, now: cfg.StartTime,
		epochs:   make(map[uint64]*instance),
		pendingH: make(map[TxHash]bool),
		recent:   make(map[TxHash]int),
		ahead:    make([]uint64, cfg.Params.N),
	}
	for _, txs := range cfg.Recent[max(0, len(cfg.Recent)-cfg.DedupEpochs):] {
		e.remember(txs, nil)
	}
	return e, nil
}

// Next returns the lowest epoch not yet output.
func (e *Engine) Next() uint64 { return e.next }

// Stats returns the engine's counters and current sizes.
func (e *Engine) Stats() Stats {
	s := e.stats
	s.InFlight = e.inFlight()
	s.Lingering = e.lingering
	s.Pending = len(e.pending)
	s.Remembered = len(e.recent)
	return s
}

// HandleInput takes a transaction or a clock reading.
func (e *Engine) HandleInput(in Input) (Step, error) {
	var s Step
	if in.Tick {
		if in.Now > e.now {
			e.now = in.Now
		}
	}
	if in.Tx != nil {
		if err := e.admit(in.Tx, in.Urgent); err != nil {
			return s, err
		}
	}
	if in.Drive && e.inFlight() == 0 {
		e.drive = true
	}
	e.propose(&s)
	return s, nil
}

func (e *Engine) admit(tx []byte, urgent bool) error {
	switch {
	case len(tx) == 0:
		return ErrTxEmpty
	case len(tx) > e.cfg.MaxTxSize:
		return fmt.Errorf("%w: %d bytes, limit %d", ErrTxTooLarge, len(tx), e.cfg.MaxTxSize)
	case !urgent && len(e.pending)-e.urgent >= e.cfg.MaxPending:
		return fmt.Errorf("%w: %d transactions", ErrPendingFull, len(e.pending))
	case urgent && e.urgent >= MaxUrgent:
		return fmt.Errorf("%w: %d urgent transactions", ErrPendingFull, e.urgent)
	}
	h := HashTx(tx)
	if _, ok := e.pendingH[h]; ok {
		return ErrDuplicate
	}
	if e.recent[h] > 0 {
		return ErrDuplicate
	}
	if urgent {
		e.pending = slices.Insert(e.pending, e.urgent, pendingTx{tx: tx, h: h, urgent: true})
		e.urgent++
	} else {
		e.pending = append(e.pending, pendingTx{tx: tx, h: h})
	}
	e.pendingH[h] = false
	e.unproposed++
	return nil
}

// HandleMessage handles a message from node from. A message Admit would not
// take now is dropped and counted.
func (e *Engine) HandleMessage(from protocol.NodeID, msg *Message) Step {
	var s Step
	if msg == nil || msg.ACS == nil || !e.cfg.Params.Valid(from) {
		return s
	}
	switch e.admitEpoch(from, msg.Epoch) {
	case Never:
		e.stats.DroppedStale++
		return s
	case Later:
		e.stats.DroppedFuture++
		return s
	}
	inst := e.mustInstance(msg.Epoch)
	e.absorb(&s, msg.Epoch, inst.subset.HandleMessage(from, msg.ACS))
	e.retire(msg.Epoch)
	e.propose(&s)
	return s
}

// Admission says what the engine does with a message for an epoch.
type Admission uint8

// The admissions.
const (
	// Now: the message is handled.
	Now Admission = iota
	// Later: the epoch is beyond the horizon, or the engine starts no new
	// epoch for now, or the epoch's subset refuses the message for now; it
	// would be dropped, and a transport that retries should offer it again
	// later.
	Later
	// Never: the epoch is output and freed; the message is not needed.
	Never
)

// Admit says whether a message from node from would be handled now. A message
// refused for later still tells how far ahead its sender is (see Behind). For
// an epoch the engine would run, Admit starts its instance, as handling the
// message would, and asks its subset.
func (e *Engine) Admit(from protocol.NodeID, msg *Message) Admission {
	if msg == nil || msg.ACS == nil {
		return Never
	}
	if a := e.admitEpoch(from, msg.Epoch); a != Now {
		return a
	}
	if !e.mustInstance(msg.Epoch).subset.Admit(from, msg.ACS) {
		return Later
	}
	return Now
}

// admitEpoch is Admit for the epoch alone: Now for an epoch running here or
// one the engine may start.
func (e *Engine) admitEpoch(from protocol.NodeID, ep uint64) Admission {
	switch {
	case e.epochs[ep] != nil:
		return Now
	case ep < e.next:
		return Never
	case e.stop > 0 && ep >= e.stop, e.limit > 0 && ep >= e.limit:
		return Later
	case ep >= e.next+uint64(e.cfg.Horizon):
		e.noteAhead(from, ep)
		return Later
	case !e.canStart():
		return Later
	}
	return Now
}

// canStart reports whether the engine may start a new epoch: not while
// Horizon output epochs still run.
func (e *Engine) canStart() bool { return e.lingering < e.cfg.Horizon }

// inFlight is the number of epochs running and not yet output.
func (e *Engine) inFlight() int { return len(e.epochs) - e.lingering }

func (e *Engine) noteAhead(from protocol.NodeID, ep uint64) {
	if e.cfg.Params.Valid(from) && ep > e.ahead[from] {
		e.ahead[from] = ep
	}
}

// Behind reports the epoch that at least F+1 nodes have sent messages for
// beyond this node's horizon, if any: at least one honest node is that far
// ahead, and the node should catch up from certified batches.
func (e *Engine) Behind() (uint64, bool) {
	a := slices.Clone(e.ahead)
	slices.Sort(a)
	slices.Reverse(a)
	at := a[e.cfg.Params.F]
	return at, at >= e.next+uint64(e.cfg.Horizon)
}

// SetStop makes stop the first epoch the engine does not run: from it on
// another node set runs the epochs (an engine built for that set). The
// engine must not have touched an epoch from stop on yet. Messages for
// those epochs are Later; the engine proposes in none of them, and in every
// epoch before stop, even with nothing pending (an empty proposal), so the
// epochs up to stop complete without load. Once Next reaches stop the
// engine has nothing more to do.
func (e *Engine) SetStop(stop uint64) error {
	if stop < e.next {
		return fmt.Errorf("epoch: stop at %d, before the next epoch %d", stop, e.next)
	}
	for ep := range e.epochs {
		if ep >= stop {
			return fmt.Errorf("epoch: stop at %d, but epoch %d is already running", stop, ep)
		}
	}
	e.stop = stop
	return nil
}

// SetLimit makes limit the first epoch the engine may not touch yet: it
// starts no epoch from limit on, proposes in none, and refuses their
// messages for later. A limit only moves forward (a lower one is ignored).
// The node keeps it a horizon beyond the last block its application
// applied, so that a block that changes the node set is applied before
// the engine touches the epoch where the new set starts, however many
// epochs complete at once.
func (e *Engine) SetLimit(limit uint64) { e.limit = max(e.limit, limit) }

// Limit is the first epoch the engine may not touch yet (0: none).
func (e *Engine) Limit() uint64 { return e.limit }

// Stop is the first epoch the engine does not run (0: none).
func (e *Engine) Stop() uint64 { return e.stop }

func (e *Engine) instance(epoch uint64) (*instance, error) {
	if inst := e.epochs[epoch]; inst != nil {
		return inst, nil
	}
	if e.stop > 0 && epoch >= e.stop {
		return nil, fmt.Errorf("epoch %d: at or after the engine's stop %d", epoch, e.stop)
	}
	if e.limit > 0 && epoch >= e.limit {
		return nil, fmt.Errorf("epoch %d: at or after the engine's limit %d", epoch, e.limit)
	}
	sub, err := acs.New(acs.Config{
		Params: e.cfg.Params, Self: e.cfg.Self, MaxValueSize: e.cfg.MaxProposalSize,
		Agreement: e.cfg.Agreement,
		Coin:      e.coins(epoch),
	})
	if err != nil {
		return nil, fmt.Errorf("epoch %d: %w", epoch, err)
	}
	inst := &instance{subset: sub}
	e.epochs[epoch] = inst
	return inst, nil
}

// mustInstance returns the instance of an epoch admitted by admitEpoch,
// starting it if need be.
func (e *Engine) mustInstance(ep uint64) *instance {
	inst, err := e.instance(ep)
	if err != nil {
		panic(err) // configuration was checked in New, the stop by admitEpoch
	}
	return inst
}

// coins returns the coins of an epoch's agreements: threshold coins from
// ThresholdFrom on when the engine has keys (and runs the quadratic
// agreement), local coins otherwise.
func (e *Engine) coins(epoch uint64) func(j protocol.NodeID) coin.Coin {
	keys, self, era := e.cfg.Threshold, e.cfg.Self, e.cfg.Era
	if e.threshold(epoch) {
		return func(j protocol.NodeID) coin.Coin { return coin.NewThreshold(keys, self, era, epoch, j) }
	}
	seed := e.cfg.CoinSeed
	return func(j protocol.NodeID) coin.Coin { return coin.NewLocal(coinSource(seed, epoch, j)) }
}

// SetThreshold makes the epochs from epoch from on toss the threshold coin
// with keys. Every honest node must set the same epoch (the caller derives
// it from the log), and no instance of it may have started: the caller
// picks it at Limit or beyond. A restarted engine takes an epoch below its
// start (the epochs before are output: their coins no longer matter).
func (e *Engine) SetThreshold(from uint64, keys *coin.Keys) error {
	for ep := range e.epochs {
		if ep >= from {
			return fmt.Errorf("epoch: threshold coin from epoch %d, but epoch %d has started", from, ep)
		}
	}
	e.cfg.Threshold, e.cfg.ThresholdFrom = keys, from
	return nil
}

// CoinKind names the coin an epoch tosses: "threshold" or "local".
func (e *Engine) CoinKind(epoch uint64) string {
	if e.threshold(epoch) {
		return "threshold"
	}
	return "local"
}

func (e *Engine) threshold(epoch uint64) bool {
	return e.cfg.Threshold != nil && epoch >= e.cfg.ThresholdFrom && e.cfg.Agreement == acs.Quadratic
}

// coinSource is the random source of the coin of the agreement about
// proposer j in an epoch.
func coinSource(seed [32]byte, epoch uint64, j protocol.NodeID) *rand.PCG {
	var in [42]byte
	copy(in[:], seed[:])
	binary.BigEndian.PutUint64(in[32:], epoch)
	binary.BigEndian.PutUint16(in[40:], uint16(j))
	h := sha256.Sum256(in[:])
	return rand.NewPCG(binary.BigEndian.Uint64(h[:8]), binary.BigEndian.Uint64(h[8:16]))
}

// Hold stops the engine from making proposals of its own, while a resuming
// node replays what it persisted.
func (e *Engine) Hold() { e.held = true }

// Release lets the engine propose again, proposing at once where it should.
func (e *Engine) Release() Step {
	var s Step
	e.held = false
	e.propose(&s)
	return s
}

// propose proposes in every epoch of the window that needs it: where the node
// has transactions not yet proposed in an epoch in flight, or where another
// node has started.
func (e *Engine) propose(s *Step) {
	if e.held {
		return
	}
	for ep := e.next; ep < e.next+uint64(e.cfg.Window); ep++ {
		if e.stop > 0 && ep >= e.stop || e.limit > 0 && ep >= e.limit {
			break
		}
		inst := e.epochs[ep]
		if inst != nil && inst.proposed {
			continue
		}
		if inst == nil && !e.canStart() {
			continue
		}
		// Before a stop, every epoch up to it runs, empty if need be, so
		// that the next node set takes over without waiting for load.
		driving := e.stop > 0 || e.drive
		if inst == nil && e.unproposed == 0 && !driving {
			continue
		}
		sample, hashes := e.sample()
		if inst == nil && len(sample) == 0 && !driving {
			continue
		}
		if inst == nil {
			var err error
			if inst, err = e.instance(ep); err != nil {
				panic(err)
			}
		}
		e.drive = false
		prop := Proposal{Time: e.now, Txs: sample}
		e.input(s, ep, inst, prop.Marshal(), sample, hashes)
	}
}

// input gives an epoch's subset the node's proposal, marking its pending
// transactions as in flight.
// hashes are the transactions' hashes, or nil to compute them.
func (e *Engine) input(s *Step, ep uint64, inst *instance, value []byte, txs [][]byte, hashes []TxHash) {
	for _, h := range HashAll(txs, hashes) {
		if proposed, ok := e.pendingH[h]; ok && !proposed {
			e.pendingH[h] = true
			e.unproposed--
			inst.sample = append(inst.sample, h)
		}
	}
	inst.proposed = true
	s.Emit(Output{Proposal: &Proposed{Epoch: ep, Value: value}})
	st, err := inst.subset.HandleInput(value)
	if err != nil {
		panic(fmt.Sprintf("epoch %d: proposing: %v", ep, err))
	}
	e.absorb(s, ep, st)
}

// Restore gives epoch ep the proposal the node made in it before a restart
// (see the package doc). The epoch must be in the window and not yet
// proposed in.
func (e *Engine) Restore(ep uint64, value []byte) (Step, error) {
	var s Step
	if ep < e.next || ep >= e.next+uint64(e.cfg.Window) {
		return s, fmt.Errorf("epoch: restoring epoch %d outside the window [%d, %d)", ep, e.next, e.next+uint64(e.cfg.Window))
	}
	inst, err := e.instance(ep)
	if err != nil {
		return s, err
	}
	if inst.proposed {
		return s, fmt.Errorf("epoch: restoring epoch %d, already proposed in", ep)
	}
	p, err := UnmarshalProposal(value, e.cfg.BatchSize, e.cfg.MaxTxSize)
	if err != nil {
		return s, fmt.Errorf("epoch: restoring epoch %d: %w", ep, err)
	}
	e.input(&s, ep, inst, value, p.Txs, nil)
	return s, nil
}

// sample takes every urgent transaction not already proposed, and draws up
// to BatchSize/N (at least one) others at random from the oldest BatchSize
// pending ones not already proposed, keeping their order; with few
// transactions it takes them all.
func (e *Engine) sample() ([][]byte, []TxHash) {
	var cand []pendingTx
	size := 4
	for _, p := range e.pending {
		if len(cand) >= e.cfg.BatchSize {
			break
		}
		if e.pendingH[p.h] {
			continue
		}
		if size+4+len(p.tx) > e.cfg.MaxProposalSize-8 {
			break
		}
		size += 4 + len(p.tx)
		cand = append(cand, p)
	}
	urgent := 0 // the urgent ones come first
	for urgent < len(cand) && cand[urgent].urgent {
		urgent++
	}
	want := max(1, e.cfg.BatchSize/e.cfg.Params.N)
	if len(cand)-urgent <= want {
		txs, hashes := make([][]byte, len(cand)), make([]TxHash, len(cand))
		for i, p := range cand {
			txs[i], hashes[i] = p.tx, p.h
		}
		return txs, hashes
	}
	// Floyd's algorithm picks want distinct indices among the others; keep
	// them in order.
	picked := make(map[int]bool, urgent+want)
	for i := range urgent {
		picked[i] = true
	}
	for j := len(cand) - want; j < len(cand); j++ {
		t := urgent + int(e.cfg.Rand.Uint64()%uint64(j+1-urgent))
		if picked[t] {
			t = j
		}
		picked[t] = true
	}
	txs, hashes := make([][]byte, 0, urgent+want), make([]TxHash, 0, urgent+want)
	for i, p := range cand {
		if picked[i] {
			txs, hashes = append(txs, p.tx), append(hashes, p.h)
		}
	}
	return txs, hashes
}

func (e *Engine) absorb(s *Step, ep uint64, st acs.Step) {
	out := protocol.Absorb(s, st, func(m *acs.Message) *Message { return &Message{Epoch: ep, ACS: m} })
	e.stats.Faults += uint64(len(st.Faults))
	for _, res := range out {
		inst := e.epochs[ep]
		inst.result = res
		inst.done = true
	}
	if len(out) > 0 {
		e.emit(s)
	}
}

// emit outputs every finished epoch whose predecessors are out.
func (e *Engine) emit(s *Step) {
	for {
		inst := e.epochs[e.next]
		if inst == nil || !inst.done {
			return
		}
		b := e.merge(s, inst.result)
		c, sum := inst.subset.ABARounds()
		e.stats.ABADecisions += uint64(c)
		e.stats.ABARoundsSum += uint64(sum)
		e.commit(b, inst)
		inst.output, inst.result = true, nil
		e.lingering++
		e.retire(b.Epoch)
		s.Emit(Output{Batch: &b})
	}
}

// retire frees an output epoch's instance once its subset has terminated:
// until then other nodes may need its messages.
func (e *Engine) retire(ep uint64) {
	if inst := e.epochs[ep]; inst != nil && inst.output && inst.subset.Terminated() {
		e.free(ep)
	}
}

// free drops an epoch's instance.
func (e *Engine) free(ep uint64) {
	if inst := e.epochs[ep]; inst != nil {
		if inst.output {
			e.lingering--
		}
		delete(e.epochs, ep)
	}
}

// Forget frees the output epochs up to upTo that still run: the node calls it
// once their batches are certified (2F+1 signatures), since every honest node
// can then adopt them instead of running them to the end. Epochs not yet
// output are not touched.
func (e *Engine) Forget(upTo uint64) {
	for ep, inst := range e.epochs {
		if inst.output && ep <= upTo {
			e.free(ep)
		}
	}
}

// merge builds the batch of epoch e.next from the agreed contributions.
func (e *Engine) merge(s *Step, res []acs.Contribution) Batch {
	b := Batch{Epoch: e.next}
	n := len(res)
	var times []int64
	seen := make(map[TxHash]struct{})
	start := 0
	for i, c := range res {
		if uint64(c.Proposer) >= e.next%uint64(e.cfg.Params.N) {
			start = i
			break
		}
		start = i + 1
	}
	for k := 0; k < n; k++ {
		c := res[(start+k)%n]
		p, err := UnmarshalProposal(c.Value, e.cfg.BatchSize, e.cfg.MaxTxSize)
		if err != nil {
			s.Fault(c.Proposer, FaultBadProposal)
			e.stats.Faults++
			continue
		}
		b.Proposers = append(b.Proposers, c.Proposer)
		times = append(times, p.Time)
		for _, tx := range p.Txs {
			h := HashTx(tx)
			if _, dup := seen[h]; dup || e.recent[h] > 0 {
				continue
			}
			seen[h] = struct{}{}
			b.Txs = append(b.Txs, tx)
			b.Hashes = append(b.Hashes, h)
		}
	}
	b.Time = e.prev
	if len(times) > 0 {
		slices.Sort(times)
		if m := times[(len(times)-1)/2]; m > b.Time {
			b.Time = m
		}
	}
	return b
}

// commit records an output (or adopted) batch and moves to the next epoch;
// the epoch's instance is the caller's to keep running or free.
func (e *Engine) commit(b Batch, inst *instance) {
	committed := e.remember(b.Txs, b.Hashes)
	// Transactions committed leave the queue; those proposed in this epoch
	// but not included may be proposed again.
	if inst != nil {
		for _, h := range inst.sample {
			if proposed, ok := e.pendingH[h]; ok && proposed {
				e.pendingH[h] = false
				e.unproposed++
			}
		}
	}
	if len(committed) > 0 {
		kept := e.pending[:0]
		for _, p := range e.pending {
			if _, ok := committed[p.h]; ok {
				if !e.pendingH[p.h] {
					e.unproposed--
				}
				if p.urgent {
					e.urgent--
				}
				delete(e.pendingH, p.h)
				continue
			}
			kept = append(kept, p)
		}
		clear(e.pending[len(kept):])
		e.pending = kept
	}
	e.prev = b.Time
	e.next++
}

// remember records the transactions of a committed batch for DedupEpochs
// epochs, and returns their hashes; hashes, if not nil, are theirs.
func (e *Engine) remember(txs [][]byte, hashes []TxHash) map[TxHash]struct{} {
	committed := make(map[TxHash]struct{}, len(txs))
	for _, h := range HashAll(txs, hashes) {
		committed[h] = struct{}{}
		e.recent[h]++
	}
	e.history = append(e.history, committed)
	if len(e.history) > e.cfg.DedupEpochs {
		for h := range e.history[0] {
			if e.recent[h]--; e.recent[h] <= 0 {
				delete(e.recent, h)
			}
		}
		e.history = e.history[1:]
	}
	return committed
}

// Adopt applies a batch that the node did not produce itself but obtained,
// certified, from its peers while catching up: b.Epoch must be Next(). The
// adopted epoch's instance is freed, and so are the output epochs before it
// still running: a certified batch certifies the chain before it, so every
// peer can adopt them too.
func (e *Engine) Adopt(b Batch) (Step, error) {
	var s Step
	if b.Epoch != e.next {
		return s, fmt.Errorf("epoch: adopting epoch %d, expected %d", b.Epoch, e.next)
	}
	e.commit(b, e.epochs[b.Epoch])
	e.free(b.Epoch)
	e.Forget(b.Epoch)
	e.emit(&s)
	e.propose(&s)
	return s, nil
}
