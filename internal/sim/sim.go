package sim

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"

	"github.com/mass-consensus/mass/internal/protocol"
	"github.com/mass-consensus/mass/internal/protocol/acs"
	"github.com/mass-consensus/mass/internal/protocol/coin"
	"github.com/mass-consensus/mass/internal/protocol/epoch"
	"github.com/mass-consensus/mass/internal/wire"
)

// Limits of the simulated nodes.
const (
	maxProposalSize = 1 << 20
	// MaxMessageSize is the largest message a simulated node accepts.
	MaxMessageSize = 2 << 20
	tickEvery      = 10   // ms
	catchUpAfter   = 3000 // ms: longer than any delay the adversary chooses
	maxViolations  = 8
)

// Result is what a run measured and the violations the checkers found.
type Result struct {
	Config     Config
	Violations []string
	// Epochs is the least number of batches output by an honest node.
	Epochs int
	// ABADecisions and ABARounds sum, over honest nodes, the agreements
	// decided by their own votes and the rounds those took.
	ABADecisions uint64
	ABARounds    uint64
	// Rounds is the distribution of the rounds in which agreement instances
	// were decided (by the first honest node to decide each).
	Rounds Rounds
	// Messages and Bytes are sent by honest nodes, over the network, in
	// Packets: the messages of one step for one node travel together.
	Messages uint64
	Packets  uint64
	Bytes    uint64
	Honest   int
	// Rejected counts messages honest nodes could not decode or found
	// oversized; Faults counts faults they observed.
	Rejected uint64
	Faults   uint64
	// DroppedFuture counts messages for epochs beyond a node's window.
	DroppedFuture uint64
	// CatchUps counts the catch-ups that adopted certified batches.
	CatchUps int
	// Rescues counts the catch-ups of nodes that were not behind but stuck
	// on an epoch certified long before.
	Rescues int
	// CoinsRevealed counts the threshold coins (of a round of an agreement
	// instance) the adversary learned from F+1 valid shares; see coinSight.
	CoinsRevealed uint64
	// Handled counts the messages honest nodes handled.
	Handled     uint64
	VirtualTime int64
	Events      int
}

// Failed reports whether any checker found a violation.
func (r *Result) Failed() bool { return len(r.Violations) > 0 }

type eventKind uint8

const (
	evDeliver eventKind = iota
	evTick
	evSubmit
	evFlush
)

type event struct {
	at       int64
	seq      uint64
	kind     eventKind
	from, to protocol.NodeID
	data     []byte // message bytes, or a transaction
	released bool   // messages the splitting scheduler held, now let through
}

// eventQueue is a binary min-heap of events by (time, sequence).
type eventQueue []event

func (q eventQueue) Len() int { return len(q) }

func (q eventQueue) less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}

func (q *eventQueue) push(e event) {
	*q = append(*q, e)
	h := *q
	for i := len(h) - 1; i > 0; {
		parent := (i - 1) / 2
		if !h.less(i, parent) {
			break
		}
		h[i], h[parent] = h[parent], h[i]
		i = parent
	}
}

func (q *eventQueue) pop() event {
	h := *q
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h[last] = event{}
	h = h[:last]
	for i := 0; ; {
		l, r, small := 2*i+1, 2*i+2, i
		if l < len(h) && h.less(l, small) {
			small = l
		}
		if r < len(h) && h.less(r, small) {
			small = r
		}
		if small == i {
			break
		}
		h[i], h[small] = h[small], h[i]
		i = small
	}
	*q = h
	return top
}

type node struct {
	id        protocol.NodeID
	engine    *epoch.Engine
	faulty    bool
	behaviour behaviour
	crashAt   int64
	skew      int64
	slow      bool
	group     int // the half of the honest nodes it is in (0 for faulty nodes)
	log       []epoch.Batch
	txSeen    map[epoch.TxHash]bool
	required  int      // required transactions output
	history   [][]byte // recent messages sent, for replay
	// outbox holds, per recipient, the messages not yet sent: those made
	// within one virtual millisecond travel together, as a transport
	// batches them.
	outbox   [][][]byte
	flushing bool
}

type sim struct {
	cfg       Config
	p         protocol.Params
	agreement acs.Agreement
	rng       *rand.Rand
	now       int64
	seq       uint64
	queue     eventQueue
	nodes     []*node
	honest    []*node
	net       netMode
	adv       *adversary
	res       Result

	canonical map[uint64][32]byte // epoch → digest of the first honest output
	outputs   map[uint64]int      // epoch → honest nodes that output it
	// certified maps an epoch to the time 2F+1 honest nodes had output it,
	// and certificates to its batch: a certificate needs 2F+1 signatures,
	// and a faulty node may refuse to sign.
	certified    map[uint64]int64
	certificates map[uint64]epoch.Batch
	required     map[epoch.TxHash]bool
	nextTx       int
	rounds       roundWatch
}

// Run simulates one network from cfg.Seed and checks it.
func Run(cfg Config) Result {
	s := newSim(cfg)
	if s.res.Failed() {
		return s.res
	}
	s.loop()
	s.finish()
	return s.res
}

// newSim sets up the network of a run, or reports the configuration's error
// as a violation.
func newSim(cfg Config) *sim {
	cfg.Defaults()
	s := &sim{
		cfg: cfg, canonical: make(map[uint64][32]byte), required: make(map[epoch.TxHash]bool),
		outputs: make(map[uint64]int), certified: make(map[uint64]int64),
		certificates: make(map[uint64]epoch.Batch),
	}
	s.res.Config = cfg
	if err := cfg.Validate(); err != nil {
		s.res.Violations = append(s.res.Violations, err.Error())
		return s
	}
	s.p, _ = protocol.NewParams(cfg.N)
	s.agreement, _ = acs.ParseAgreement(cfg.Agreement)
	s.rng = rand.New(rand.NewPCG(cfg.Seed, 0x6d617373))
	s.setup()
	return s
}

func (s *sim) setup() {
	faulty := make(map[int]bool)
	for _, i := range s.rng.Perm(s.cfg.N)[:s.cfg.Faulty] {
		faulty[i] = true
	}
	s.net = s.pickNetMode()
	var keys []coin.Keys
	if s.cfg.Coin == CoinThreshold {
		keys = dealKeys(s.cfg, s.p)
	}
	for i := 0; i < s.cfg.N; i++ {
		id := protocol.NodeID(i)
		cfg := epoch.Config{
			Params: s.p, Self: id, Rand: rand.NewPCG(s.cfg.Seed, uint64(i)+1),
			Window: s.cfg.Window, MaxProposalSize: maxProposalSize, Agreement: s.agreement,
		}
		if keys != nil {
			cfg.Era, cfg.Threshold, cfg.ThresholdFrom = era, &keys[i], 0
		}
		for j := range cfg.CoinSeed {
			cfg.CoinSeed[j] = byte(s.rng.Uint32())
		}
		eng, err := epoch.New(cfg)
		if err != nil {
			panic(err)
		}
		n := &node{id: id, engine: eng, faulty: faulty[i], txSeen: make(map[epoch.TxHash]bool)}
		n.skew = s.rng.Int64N(101) - 50
		if n.faulty {
			n.behaviour = s.pickBehaviour()
			n.crashAt = s.rng.Int64N(s.cfg.FaultPhase + 1)
			n.skew = (s.rng.Int64N(2)*2 - 1) * 1_000_000_000
		} else {
			s.honest = append(s.honest, n)
		}
		s.nodes = append(s.nodes, n)
	}
	s.res.Honest = len(s.honest)
	for i, n := range s.honest {
		if i >= (len(s.honest)+1)/2 {
			n.group = 1
		}
	}
	if s.net == netSlow {
		for _, i := range s.rng.Perm(len(s.honest))[:min(s.p.F, len(s.honest))] {
			s.honest[i].slow = true
		}
	}
	s.adv = newAdversary(s)
	if keys != nil {
		s.adv.coins = newCoinSight(s, keys)
	}
	for _, n := range s.nodes {
		s.push(event{at: s.rng.Int64N(tickEvery), kind: evTick, to: n.id})
	}
	// Transactions for every honest node, spread over the fault phase; a
	// few more for single nodes (not required).
	spread := s.cfg.FaultPhase
	for i := 0; i < s.cfg.Txs; i++ {
		s.submitAll(int64(i) * spread / int64(s.cfg.Txs))
	}
	for i := 0; i < s.cfg.Txs/4; i++ {
		tx := s.newTx("single")
		s.push(event{at: s.rng.Int64N(spread + 1), kind: evSubmit, to: protocol.NodeID(s.rng.IntN(s.cfg.N)), data: tx})
	}
}

func (s *sim) newTx(tag string) []byte {
	s.nextTx++
	tx := fmt.Appendf(nil, "%s-%d-%d-", tag, s.cfg.Seed, s.nextTx)
	pad := make([]byte, 32+s.rng.IntN(200))
	for i := range pad {
		pad[i] = byte(s.rng.Uint32())
	}
	return append(tx, pad...)
}

// submitAll gives a new required transaction to every honest node at about
// time at (each with its own jitter), and to faulty nodes too.
func (s *sim) submitAll(at int64) {
	tx := s.newTx("tx")
	s.required[epoch.HashTx(tx)] = true
	for _, n := range s.nodes {
		s.push(event{at: at + s.rng.Int64N(30), kind: evSubmit, to: n.id, data: tx})
	}
}

func (s *sim) push(e event) {
	s.seq++
	e.seq = s.seq
	s.queue.push(e)
}

func (s *sim) loop() {
	for s.queue.Len() > 0 && !s.res.Failed() && !s.done() {
		e := s.queue.pop()
		s.now = e.at
		s.res.Events++
		if s.now > s.cfg.Deadline || s.res.Events > s.cfg.MaxEvents {
			s.violation("liveness: not converged by virtual time %d ms after %d events (%s)", s.now, s.res.Events, s.progress())
			return
		}
		n := s.nodes[e.to]
		switch e.kind {
		case evTick:
			s.push(event{at: s.now + tickEvery, kind: evTick, to: n.id})
			if s.crashed(n) {
				continue
			}
			if s.adv.split != nil && !n.faulty {
				s.adv.split.expire(n.id)
			}
			st, err := n.engine.HandleInput(epoch.Input{Tick: true, Now: s.now + n.skew})
			if err != nil {
				panic(err)
			}
			s.handleStep(n, st)
			// A node that peers tell of a batch certified a while ago that
			// it has not output fetches it (its epoch may have lost the
			// messages of nodes that caught up themselves).
			if at, ok := s.certified[n.engine.Next()]; ok && !n.faulty && s.now-at > catchUpAfter {
				s.res.Rescues++
				s.catchUp(n)
			}
			if n.id == s.honest[0].id && s.requiredDone() && s.minEpochs() < s.cfg.Epochs {
				s.submitAll(s.now)
			}
		case evSubmit:
			if s.crashed(n) {
				continue
			}
			st, err := n.engine.HandleInput(epoch.Input{Tx: e.data})
			if err != nil && !n.faulty {
				// Only a transaction already committed may be refused.
				if s.required[epoch.HashTx(e.data)] && !n.txSeen[epoch.HashTx(e.data)] {
					s.violation("node %d refused a transaction: %v", n.id, err)
				}
			}
			s.handleStep(n, st)
		case evDeliver:
			s.deliver(n, &e)
		case evFlush:
			s.flush(n)
		}
		if s.adv.split != nil {
			s.adv.split.drain()
		}
	}
}

func (s *sim) crashed(n *node) bool {
	return n.faulty && n.behaviour == bCrash && s.now >= n.crashAt
}

func (s *sim) deliver(n *node, e *event) {
	if s.crashed(n) {
		return
	}
	if len(e.data) > MaxMessageSize {
		if !n.faulty {
			s.res.Rejected++
		}
		return
	}
	msgs, err := epoch.UnmarshalBundle(e.data, s.p, maxProposalSize)
	if err != nil {
		if !n.faulty {
			s.res.Rejected++
		}
		return
	}
	var later [][]byte
	for _, msg := range msgs {
		if !e.released && s.adv.split != nil && s.adv.split.hold(n, e.from, msg) {
			continue
		}
		// The transport between honest nodes retries what the receiver
		// refuses for now, so every message between honest nodes is
		// eventually handled.
		if !s.nodes[e.from].faulty && n.engine.Admit(e.from, msg) == epoch.Later {
			later = append(later, msg.Marshal())
			continue
		}
		if !n.faulty {
			s.res.Handled++
		}
		s.handleStep(n, n.engine.HandleMessage(e.from, msg))
	}
	if len(later) > 0 {
		s.push(event{at: s.now + 20 + s.rng.Int64N(30), kind: evDeliver, from: e.from, to: e.to, data: epoch.MarshalBundle(later)})
	}
	if n.faulty {
		return
	}
	if _, behind := n.engine.Behind(); behind {
		s.catchUp(n)
	}
}

// catchUp models fetching certified batches: a batch is certified once 2F+1
// honest nodes have output it (the faulty nodes may refuse to sign). A node
// catches up when F+1 nodes are beyond its horizon, or when its next epoch
// was certified long ago; it adopts certified batches only.
func (s *sim) catchUp(n *node) {
	for first := true; ; first = false {
		b, ok := s.certificates[n.engine.Next()]
		if !ok {
			return
		}
		if first {
			s.res.CatchUps++
		}
		st, err := n.engine.Adopt(b)
		if err != nil {
			panic(err)
		}
		s.output(n, b)
		s.handleStep(n, st)
	}
}

func (s *sim) handleStep(n *node, st epoch.Step) {
	if !n.faulty {
		s.res.Faults += uint64(len(st.Faults))
		for _, f := range st.Faults {
			if !s.nodes[f.Node].faulty {
				s.violation("honest node %d blamed honest node %d: %s", n.id, f.Node, f.Kind)
			}
		}
		for _, o := range st.Output {
			if o.Batch != nil {
				s.output(n, *o.Batch)
			}
		}
		s.checkBounds(n)
	}
	if n.faulty {
		s.adv.send(n, st.Messages)
		return
	}
	for _, m := range st.Messages {
		s.rounds.note(s, n, m.Body)
		if s.adv.coins != nil {
			s.adv.coins.observe(n, m.Body) // before the scheduler, which acts on what it learns
		}
		if s.adv.split != nil {
			s.adv.split.observe(n, m.Body)
		}
		data := m.Body.Marshal()
		for to := range s.nodes {
			if m.To.Includes(n.id, protocol.NodeID(to)) {
				s.post(n, protocol.NodeID(to), data)
			}
		}
	}
}

// post queues a message in a node's outbox.
func (s *sim) post(n *node, to protocol.NodeID, data []byte) {
	if n.outbox == nil {
		n.outbox = make([][][]byte, s.cfg.N)
	}
	n.outbox[to] = append(n.outbox[to], data)
	if !n.flushing {
		n.flushing = true
		s.push(event{at: s.now + 1, kind: evFlush, to: n.id})
	}
}

// flush sends each recipient's queued messages as one packet.
func (s *sim) flush(n *node) {
	n.flushing = false
	for to, msgs := range n.outbox {
		if len(msgs) > 0 && !s.crashed(n) {
			s.send(n, protocol.NodeID(to), epoch.MarshalBundle(msgs), len(msgs))
		}
		clear(msgs)
		n.outbox[to] = msgs[:0] // the bundle copied them
	}
}

// send puts a message on the network with the delay the adversary chooses.
func (s *sim) send(from *node, to protocol.NodeID, data []byte, count int) {
	if !from.faulty {
		s.res.Messages += uint64(count)
		s.res.Packets++
		s.res.Bytes += uint64(len(data))
	}
	s.push(event{at: s.now + s.delay(from, s.nodes[to]), kind: evDeliver, from: from.id, to: to, data: data})
}

func (s *sim) output(n *node, b epoch.Batch) {
	if n.faulty {
		return
	}
	if b.Epoch != uint64(len(n.log)) {
		s.violation("total order: node %d output epoch %d after %d batches", n.id, b.Epoch, len(n.log))
		return
	}
	if len(n.log) > 0 && b.Time < n.log[len(n.log)-1].Time {
		s.violation("time: node %d epoch %d time %d before previous %d", n.id, b.Epoch, b.Time, n.log[len(n.log)-1].Time)
	}
	d := digest(b)
	if c, ok := s.canonical[b.Epoch]; !ok {
		s.canonical[b.Epoch] = d
	} else if c != d {
		s.violation("agreement: node %d output a different batch for epoch %d (%d txs from %v)", n.id, b.Epoch, len(b.Txs), b.Proposers)
	}
	for _, tx := range b.Txs {
		h := epoch.HashTx(tx)
		if n.txSeen[h] {
			s.violation("integrity: node %d output a transaction twice (epoch %d)", n.id, b.Epoch)
		}
		n.txSeen[h] = true
		if s.required[h] {
			n.required++
		}
	}
	n.log = append(n.log, b)
	if s.outputs[b.Epoch]++; s.outputs[b.Epoch] == len(s.honest) {
		s.rounds.retire(b.Epoch + 1)
		if s.adv.coins != nil {
			s.adv.coins.retire(b.Epoch + 1)
		}
		if s.adv.split != nil {
			s.adv.split.retire(b.Epoch + 1)
		}
	}
	if s.outputs[b.Epoch] == 2*s.p.F+1 {
		s.certified[b.Epoch] = s.now
		s.certificates[b.Epoch] = b
		s.forget(b.Epoch)
	}
}

// forget tells every honest node that an epoch is certified: the epochs it
// output up to there need not run on for the others any more.
func (s *sim) forget(ep uint64) {
	for _, n := range s.honest {
		n.engine.Forget(ep)
	}
}

func (s *sim) checkBounds(n *node) {
	st := n.engine.Stats()
	if st.InFlight > 2*s.cfg.Window {
		s.violation("bounds: node %d has %d epochs in flight, horizon %d", n.id, st.InFlight, 2*s.cfg.Window)
	}
	if st.Pending > epoch.DefaultMaxPending {
		s.violation("bounds: node %d holds %d pending transactions", n.id, st.Pending)
	}
	if st.Remembered > epoch.DefaultDedupEpochs*epoch.DefaultBatchSize {
		s.violation("bounds: node %d remembers %d transaction hashes", n.id, st.Remembered)
	}
}

func digest(b epoch.Batch) [32]byte {
	w := wire.NewWriter(64)
	w.U64(b.Epoch)
	w.I64(b.Time)
	w.U32(uint32(len(b.Proposers)))
	for _, p := range b.Proposers {
		w.U16(uint16(p))
	}
	w.U32(uint32(len(b.Txs)))
	h := sha256.New()
	h.Write(w.Finish())
	for _, tx := range b.Txs {
		var l [4]byte
		l[0], l[1], l[2], l[3] = byte(len(tx)>>24), byte(len(tx)>>16), byte(len(tx)>>8), byte(len(tx))
		h.Write(l[:])
		h.Write(tx)
	}
	var d [32]byte
	h.Sum(d[:0])
	return d
}

func (s *sim) requiredDone() bool {
	for _, n := range s.honest {
		if n.required < len(s.required) {
			return false
		}
	}
	return true
}

func (s *sim) minEpochs() int {
	m := -1
	for _, n := range s.honest {
		if m < 0 || len(n.log) < m {
			m = len(n.log)
		}
	}
	return m
}

func (s *sim) done() bool {
	return s.now >= s.cfg.FaultPhase && s.minEpochs() >= s.cfg.Epochs && s.requiredDone()
}

func (s *sim) progress() string {
	out := ""
	for _, n := range s.honest {
		missing := 0
		for h := range s.required {
			if !n.txSeen[h] {
				missing++
			}
		}
		out += fmt.Sprintf("node %d: %d batches, %d required txs missing, next epoch %d; ", n.id, len(n.log), missing, n.engine.Next())
	}
	return out
}

func (s *sim) violation(format string, args ...any) {
	if len(s.res.Violations) < maxViolations {
		s.res.Violations = append(s.res.Violations, fmt.Sprintf(format, args...))
	}
}

func (s *sim) finish() {
	s.res.VirtualTime = s.now
	s.res.Epochs = s.minEpochs()
	for _, n := range s.honest {
		st := n.engine.Stats()
		s.res.ABADecisions += st.ABADecisions
		s.res.ABARounds += st.ABARoundsSum
		s.res.DroppedFuture += st.DroppedFuture
	}
	if !s.res.Failed() && !s.done() {
		s.violation("liveness: the run stopped before converging (%s)", s.progress())
	}
}
