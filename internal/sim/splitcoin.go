package sim

import (
	"cmp"
	"slices"

	"github.com/mass-consensus/mass/internal/protocol"
	"github.com/mass-consensus/mass/internal/protocol/aba"
	"github.com/mass-consensus/mass/internal/protocol/acs"
	"github.com/mass-consensus/mass/internal/protocol/epoch"
	"github.com/mass-consensus/mass/internal/protocol/raba"
	"github.com/mass-consensus/mass/internal/protocol/rbc"
)

// The coin-watching splitting scheduler (adversary "splitcoin").
//
// It works only on what crosses the network. From the honest nodes' outgoing
// agreement messages it learns, per agreement instance (an epoch and a
// proposer) and round, the estimate each honest node starts the round with:
// its first step-1 message (Bracha's VAL of step 1, or the quadratic
// agreement's first BVal), which in a round after a coin toss is the coin,
// seen as soon as it is tossed. It also learns how far each node has got in
// the round (its own later messages).
//
// During the fault phase it holds, at the receiving end, every message that
// would tip a node toward unanimity before the node has moved past the step
// the message counts for, and releases it once the node has moved on (or
// after holdMax, or when the fault phase ends):
//
//   - Bracha (package aba): a node's step-1 view keeps the majority of its
//     own estimate, its step-2 view holds at most N/2 of each value (so it
//     sends ⊥), and its step-3 view at most F decisive messages (so it
//     tosses its coin). A reliably broadcast step message counts once the
//     node has 2F+1 READYs for it, so READYs are what is held.
//   - The quadratic agreement (package raba): in a coin round each node gets
//     its own estimate into bin_values first, sees both values among its
//     first N−F Aux (so it confirms {0,1} and sends Final(⊥)) and Final(⊥)
//     only (so it tosses its coin). Round 1 ends on 1 instead of a coin, so
//     there the plan is different: F+1 honest nodes (A0: the nodes that input
//     0, and one more, Z) confirm {0}, Z alone sends Final(0), and A0 sees it
//     while the other nodes see only Final(⊥): A0 leaves round 1 with 0, the
//     others with 1.
//
// Honest inputs must differ for any of this to start: for F proposers per
// epoch (the victims) the scheduler holds the broadcast's READYs from half of
// the honest nodes until they have input 0 to its agreement and left round 1.
//
// Faulty nodes with behaviour bSplitCoin help: in Bracha's agreement their
// own step values take the side fewer honest nodes are on (and ⊥ in step
// 3); in the quadratic one they send, to each honest node as soon as it
// reveals its estimate of a round, both BVal values and the Aux, Conf and
// Final that node's plan needs (Aux of the other value than its own, Conf
// {0,1}, Final(⊥); in round 1 the A0 side gets 0, {0} and Final(0)).
//
// Once the honest estimates of a round agree nothing is held: unanimity
// decides at once whatever the schedule, so with h honest nodes each coin
// round ends the split with probability about 2^(1−h).
//
// All of the above is for the local coin. With the threshold coin the
// quadratic agreement's rounds end after Conf and the plan is another
// (splitcommon.go); Bracha's agreement always tosses the local coin.
const holdMax = 300 // ms

// watchAhead bounds the epochs beyond the oldest one still running that the
// scheduler follows: honest nodes run a horizon of epochs, far less.
const watchAhead = 256

// instKey names one agreement instance: an epoch and a proposer.
type instKey struct {
	ep   uint64
	prop protocol.NodeID
}

// pos is how far a node has got in an instance: round<<3 | stage, the stage
// being the step of its last own message (Bracha: 1–3; quadratic: 1 BVal,
// 2 Aux, 3 Conf, 4 Final).
type pos uint64

func at(round uint32, stage uint8) pos { return pos(round)<<3 | pos(stage) }

// watch is what the adversary knows of one instance.
type watch struct {
	pos   []pos  // per node
	done  []bool // per node: decided (sent its decision)
	est   map[uint32][]int8
	step2 map[uint32][]int8 // Bracha: each node's step-2 value
	recv  []*recvState      // per honest recipient
	fval  map[fkey]uint8    // Bracha: the value of a faulty origin's step message
	// common is the plan of each common-coin round (splitcommon.go).
	common map[uint32]*commonRound
}

type fkey struct {
	origin protocol.NodeID
	round  uint32
	step   uint8
}

type bkey = fkey

// recvState is what a recipient has been handed in one instance.
type recvState struct {
	ready map[bkey]*readyTally // Bracha: READYs per broadcast of a step message
	dlv   map[slot]*[3]int     // Bracha: step messages delivered per value; quadratic: first messages per value
	from  map[slot][]bool      // quadratic: senders already counted
}

type slot struct {
	round uint32
	step  uint8
}

type readyTally struct {
	count     [3]int
	delivered bool
}

// heldMsg is a message the adversary keeps from its recipient for now.
type heldMsg struct {
	from     protocol.NodeID
	msg      *epoch.Message
	since    int64
	released bool
}

type nodeHeld struct {
	byInst map[instKey][]*heldMsg
	fifo   []*heldMsg // in the order they were held, for holdMax
	long   []*heldMsg // held until the fault phase ends
}

// splitter is the state of the splitting scheduler and of the faulty nodes
// that help it.
type splitter struct {
	a       *adversary
	watches map[instKey]*watch
	retired uint64 // epochs below are output by every honest node
	held    []*nodeHeld
	dirty   []dirtyInst
	out     map[[2]protocol.NodeID][][]byte // released messages, per (from, to)
	outKeys [][2]protocol.NodeID
	helpers []*node // the faulty nodes with behaviour bSplitCoin
	// common: the agreements toss the threshold coin, and their rounds end
	// after Conf (splitcommon.go).
	common bool
}

type dirtyInst struct {
	node protocol.NodeID
	k    instKey
}

func newSplitter(a *adversary) *splitter {
	s := a.s
	sp := &splitter{a: a, watches: make(map[instKey]*watch), held: make([]*nodeHeld, s.cfg.N),
		out: make(map[[2]protocol.NodeID][][]byte), common: s.cfg.Coin == CoinThreshold}
	for i := range sp.held {
		sp.held[i] = &nodeHeld{byInst: make(map[instKey][]*heldMsg)}
	}
	for _, n := range s.nodes {
		if n.faulty && n.behaviour == bSplitCoin {
			sp.helpers = append(sp.helpers, n)
		}
	}
	if s.net != netSplitCoin && len(sp.helpers) == 0 {
		return nil
	}
	return sp
}

// helping reports whether the faulty helpers attack now: during the fault
// phase. After it they follow the protocol, as the network turns fair.
func (sp *splitter) helping() bool { return sp.a.s.now < sp.a.s.cfg.FaultPhase }

// holding reports whether the scheduler holds messages now.
func (sp *splitter) holding() bool {
	s := sp.a.s
	return s.net == netSplitCoin && s.now < s.cfg.FaultPhase
}

func (sp *splitter) watch(k instKey) *watch {
	if k.ep < sp.retired || k.ep >= sp.retired+watchAhead {
		return nil // done, or far-future garbage
	}
	w := sp.watches[k]
	if w == nil {
		n := sp.a.s.cfg.N
		w = &watch{
			pos: make([]pos, n), done: make([]bool, n), recv: make([]*recvState, n),
			est: make(map[uint32][]int8), step2: make(map[uint32][]int8), fval: make(map[fkey]uint8),
		}
		sp.watches[k] = w
	}
	return w
}

func (w *watch) recvOf(i protocol.NodeID) *recvState {
	r := w.recv[i]
	if r == nil {
		r = &recvState{ready: make(map[bkey]*readyTally), dlv: make(map[slot]*[3]int), from: make(map[slot][]bool)}
		w.recv[i] = r
	}
	return r
}

func (r *recvState) tally(sl slot) *[3]int {
	d := r.dlv[sl]
	if d == nil {
		d = new([3]int)
		r.dlv[sl] = d
	}
	return d
}

func values(m map[uint32][]int8, round uint32, n int) []int8 {
	v := m[round]
	if v == nil {
		v = make([]int8, n)
		for i := range v {
			v[i] = -1
		}
		m[round] = v
	}
	return v
}

// honestCounts counts the honest nodes on each side in vals.
func (sp *splitter) honestCounts(vals []int8) (c [2]int, known int) {
	for _, n := range sp.a.s.honest {
		if v := vals[n.id]; v >= 0 {
			c[v]++
			known++
		}
	}
	return c, known
}

// split reports whether honest nodes start round r of an instance with both
// values.
func (sp *splitter) split(w *watch, r uint32) bool {
	c, _ := sp.honestCounts(values(w.est, r, len(w.pos)))
	return c[0] > 0 && c[1] > 0
}

// victim reports whether the scheduler splits the honest inputs of an
// instance: F proposers per epoch, in turn.
func (sp *splitter) victim(k instKey) bool {
	s := sp.a.s
	return (uint64(k.prop)+uint64(s.cfg.N)-k.ep%uint64(s.cfg.N))%uint64(s.cfg.N) < uint64(s.p.F)
}

// late reports whether honest node i is in the half that a victim's
// broadcast reaches late (the same half that inputs 0).
func (sp *splitter) late(i protocol.NodeID) bool { return sp.a.s.nodes[i].group == 1 }

// active reports whether the scheduler shapes round r of an instance.
func (sp *splitter) active(k instKey, w *watch, r uint32) bool {
	return (r == 1 && sp.victim(k)) || sp.split(w, r)
}

// z is the honest node that alone sends Final(0) in round 1 of a victim's
// quadratic agreement: the first honest node of the early half.
func (sp *splitter) z() protocol.NodeID {
	for _, n := range sp.a.s.honest {
		if !sp.late(n.id) {
			return n.id
		}
	}
	return sp.a.s.honest[0].id
}

// rabaPlan is what the scheduler wants honest node i to do in round r of a
// quadratic agreement: the value that enters its bin_values first, the set
// it confirms, its Final, and whether it leaves the round adopting 0
// (otherwise it sees only Final(⊥)).
type rabaPlan struct {
	bin   uint8
	conf  uint8
	final uint8
	adopt bool
}

func (sp *splitter) rabaPlan(k instKey, w *watch, r uint32, i protocol.NodeID) rabaPlan {
	if r == 1 && sp.victim(k) {
		if sp.late(i) || i == sp.z() {
			p := rabaPlan{bin: 0, conf: raba.SetZero, final: raba.Bottom, adopt: true}
			if i == sp.z() {
				p.final = 0
			}
			return p
		}
		return rabaPlan{bin: 1, conf: raba.SetBoth, final: raba.Bottom}
	}
	e := values(w.est, r, len(w.pos))[i]
	if e < 0 {
		e = 1
	}
	return rabaPlan{bin: uint8(e), conf: raba.SetBoth, final: raba.Bottom}
}

// observe learns from a message an honest node sends.
func (sp *splitter) observe(n *node, m *epoch.Message) {
	if m.ACS == nil {
		return
	}
	k := instKey{m.Epoch, m.ACS.Proposer}
	switch {
	case m.ACS.ABA != nil:
		sp.observeABA(n, k, m.ACS.ABA)
	case m.ACS.RABA != nil:
		sp.observeRABA(n, k, m.ACS.RABA)
	}
}

func (sp *splitter) advance(w *watch, i protocol.NodeID, p pos) bool {
	if p > w.pos[i] {
		w.pos[i] = p
		return true
	}
	return false
}

func (sp *splitter) observeABA(n *node, k instKey, m *aba.Message) {
	w := sp.watch(k)
	if w == nil {
		return
	}
	i := n.id
	switch m.Kind {
	case aba.KindVal:
		if m.Origin != i || !sp.advance(w, i, at(m.Round, m.Step)) {
			return
		}
		switch m.Step {
		case 1:
			sp.reveal(w, k, m.Round, i, m.Value)
		case 2:
			values(w.step2, m.Round, len(w.pos))[i] = int8(m.Value)
		}
		sp.mark(i, k)
	case aba.KindReady:
		sp.countReady(w, i, m) // its own READY counts for itself
	case aba.KindTerm:
		if !w.done[i] {
			w.done[i] = true
			sp.mark(i, k)
		}
	}
}

func (sp *splitter) observeRABA(n *node, k instKey, m *raba.Message) {
	w := sp.watch(k)
	if w == nil {
		return
	}
	i := n.id
	switch m.Kind {
	case raba.KindBVal:
		// The first BVal of a round is the node's estimate: the scheduler
		// keeps every BVal of a round from a node until it has sent its own.
		if w.pos[i] < at(m.Round, 1) {
			was := sp.common && sp.activeCommon(k, w, m.Round)
			w.pos[i] = at(m.Round, 1)
			sp.reveal(w, k, m.Round, i, m.Value)
			sp.mark(i, k)
			if sp.common {
				sp.observeCommon(k, w, i, m, was)
			}
			sp.help(w, k, m.Round, i)
		}
	case raba.KindAux, raba.KindConf, raba.KindFinal:
		if sp.advance(w, i, at(m.Round, uint8(m.Kind))) {
			sp.mark(i, k)
			if sp.common {
				sp.observeCommon(k, w, i, m, false)
			}
		}
	case raba.KindCoin:
		if sp.common {
			sp.observeCommon(k, w, i, m, false)
		}
	case raba.KindTerm:
		if !w.done[i] {
			w.done[i] = true
			sp.mark(i, k)
			if sp.common {
				sp.observeCommon(k, w, i, m, false)
			}
		}
	}
}

// reveal records the estimate node i starts round r with.
func (sp *splitter) reveal(w *watch, k instKey, r uint32, i protocol.NodeID, v uint8) {
	vals := values(w.est, r, len(w.pos))
	if vals[i] >= 0 {
		return
	}
	was := sp.split(w, r)
	vals[i] = int8(v & 1)
	if !was && sp.split(w, r) {
		for _, h := range sp.a.s.honest {
			sp.mark(h.id, k)
		}
	}
}

// help sends, from every helping faulty node, what honest node i needs in
// round r of a quadratic agreement.
func (sp *splitter) help(w *watch, k instKey, r uint32, i protocol.NodeID) {
	if sp.common {
		sp.helpCommon(w, k, r, i)
		return
	}
	if len(sp.helpers) == 0 || !sp.helping() {
		return
	}
	p := sp.rabaPlan(k, w, r, i)
	aux := 1 - p.bin
	if r == 1 && sp.victim(k) {
		aux = 0
	}
	final := uint8(raba.Bottom)
	if p.adopt {
		final = 0
	}
	sp.fromHelpers(k, i,
		&raba.Message{Kind: raba.KindBVal, Round: r, Value: 0},
		&raba.Message{Kind: raba.KindBVal, Round: r, Value: 1},
		&raba.Message{Kind: raba.KindAux, Round: r, Value: aux},
		&raba.Message{Kind: raba.KindConf, Round: r, Value: p.conf},
		&raba.Message{Kind: raba.KindFinal, Round: r, Value: final})
}

// helper reports whether node id is a faulty node that helps the scheduler.
func (sp *splitter) helper(id protocol.NodeID) bool {
	n := sp.a.s.nodes[id]
	return n.faulty && n.behaviour == bSplitCoin
}

// faultyValue sets the value of a helping faulty node's own step message
// of Bracha's agreement (its VAL, and every ECHO and READY of it that faulty
// nodes send; honest nodes echo what they got), chosen once per step when
// the first of them reaches an honest node: the side fewer honest nodes are
// on, ⊥ in step 3. Until every honest
// node has revealed its value of the step, or now is set, it reports false:
// the message waits.
func (sp *splitter) faultyValue(k instKey, w *watch, m *aba.Message, now bool) bool {
	key := fkey{m.Origin, m.Round, m.Step}
	if v, ok := w.fval[key]; ok {
		m.Value = v
		return true
	}
	if !sp.helping() {
		return true // a step it starts after the fault phase keeps its value
	}
	var v uint8
	switch m.Step {
	case 3:
		v = aba.Undecided
	default:
		vals := values(w.est, m.Round, len(w.pos))
		if m.Step == 2 {
			vals = values(w.step2, m.Round, len(w.pos))
		}
		c, known := sp.honestCounts(vals)
		if known < len(sp.a.s.honest) && !now {
			return false
		}
		switch {
		case c[0] < c[1]:
			v = 0
		case c[1] < c[0]:
			v = 1
		default:
			v = uint8(m.Origin) & 1
		}
	}
	w.fval[key] = v
	m.Value = v
	return true
}

// rewrite gives a faulty node's message about a helping faulty node's Bracha
// step message its value, now.
func (sp *splitter) rewrite(from protocol.NodeID, msg *epoch.Message) {
	if m := msg.ACS; m != nil && sp.rewritable(from, m.ABA) {
		if w := sp.watch(instKey{msg.Epoch, m.Proposer}); w != nil {
			sp.faultyValue(instKey{msg.Epoch, m.Proposer}, w, m.ABA, true)
		}
	}
}

// countReady accounts a READY handed to node i (or sent by it).
func (sp *splitter) countReady(w *watch, i protocol.NodeID, m *aba.Message) {
	r := w.recvOf(i)
	key := bkey{m.Origin, m.Round, m.Step}
	t := r.ready[key]
	if t == nil {
		t = new(readyTally)
		r.ready[key] = t
	}
	t.count[m.Value]++
	if !t.delivered && t.count[m.Value] >= 2*sp.a.s.p.F+1 {
		t.delivered = true
		r.tally(slot{m.Round, m.Step})[m.Value]++
	}
}

// passABA reports whether handing m to node i now is fine with the plan.
// rewritable reports whether m, from node from, is a faulty node's message
// about a helping faulty node's step message.
func (sp *splitter) rewritable(from protocol.NodeID, m *aba.Message) bool {
	return m != nil && m.Kind >= aba.KindVal && m.Kind <= aba.KindReady && sp.a.s.nodes[from].faulty && sp.helper(m.Origin)
}

func (sp *splitter) passABA(k instKey, w *watch, i, from protocol.NodeID, m *aba.Message) bool {
	if sp.rewritable(from, m) && !sp.faultyValue(k, w, m, false) {
		return false
	}
	if m.Kind != aba.KindReady || w.done[i] {
		return true
	}
	p := sp.a.s.p
	r := w.recvOf(i)
	if t := r.ready[bkey{m.Origin, m.Round, m.Step}]; t != nil && t.delivered {
		return true
	} else if count := 0; t != nil {
		count = t.count[m.Value]
		if count+1 < 2*p.F+1 {
			return true
		}
	} else if 2*p.F+1 > 1 {
		return true // not the READY that delivers
	}
	next := at(m.Round, m.Step+1)
	if m.Step == 3 {
		next = at(m.Round+1, 1)
	}
	if w.pos[i] >= next || !sp.active(k, w, m.Round) {
		return true
	}
	d := r.tally(slot{m.Round, m.Step})
	q := p.Quorum()
	switch m.Step {
	case 1:
		g := values(w.est, m.Round, len(w.pos))[i]
		switch {
		case g < 0:
			return d[m.Value] < (q-1)/2 // a minority either way
		case uint8(g) == m.Value:
			return true
		case g == 1:
			return d[m.Value] < q/2 // a tie goes to 1
		default:
			return d[m.Value] < (q-1)/2
		}
	case 2:
		return d[m.Value] < p.N/2
	default:
		return m.Value == aba.Undecided || d[aba.Decide0]+d[aba.Decide1] < p.F
	}
}

// passRABA reports whether handing m to node i now is fine with the plan.
func (sp *splitter) passRABA(k instKey, w *watch, i protocol.NodeID, m *raba.Message) bool {
	if w.done[i] || m.Kind == raba.KindTerm || m.Kind == raba.KindCoin {
		return true
	}
	r := m.Round
	if w.pos[i] < at(r, 1) {
		return false // its estimate of round r first
	}
	if sp.common {
		return sp.passCommon(k, w, i, m)
	}
	// The stage the message counts for is over once the node sent its next
	// message.
	next := at(r, uint8(m.Kind)+1)
	if m.Kind == raba.KindFinal {
		next = at(r+1, 1)
	}
	if w.pos[i] >= next || !sp.active(k, w, r) {
		return true
	}
	plan := sp.rabaPlan(k, w, r, i)
	q := sp.a.s.p.Quorum()
	d := w.recvOf(i).tally(slot{r, uint8(m.Kind)})
	switch m.Kind {
	case raba.KindBVal:
		return m.Value == plan.bin
	case raba.KindAux:
		if plan.conf != raba.SetBoth {
			return 1<<m.Value == plan.conf
		}
		return d[m.Value] < q-1
	case raba.KindConf:
		if plan.final != raba.Bottom {
			return m.Value == 1<<plan.final
		}
		return m.Value == raba.SetBoth || d[m.Value-1] < q-1
	default: // Final
		if plan.adopt {
			return m.Value == 0 || (m.Value == raba.Bottom && d[raba.Bottom] < q-1)
		}
		return m.Value == raba.Bottom
	}
}

// account records that m from node from is handed to node i.
func (sp *splitter) account(k instKey, w *watch, i, from protocol.NodeID, m *acs.Message) {
	switch {
	case m.ABA != nil && m.ABA.Kind == aba.KindReady:
		sp.countReady(w, i, m.ABA)
	case m.RABA != nil && m.RABA.Kind >= raba.KindAux && m.RABA.Kind <= raba.KindFinal:
		r := w.recvOf(i)
		sl := slot{m.RABA.Round, uint8(m.RABA.Kind)}
		seen := r.from[sl]
		if seen == nil {
			seen = make([]bool, sp.a.s.cfg.N)
			r.from[sl] = seen
		}
		if seen[from] {
			return
		}
		seen[from] = true
		v := m.RABA.Value
		if m.RABA.Kind == raba.KindConf {
			v-- // sets 1–3 count at 0–2
		}
		r.tally(sl)[v]++
	}
}

// pass decides whether node i gets message m from node from now, and
// accounts it if so.
func (sp *splitter) pass(i, from protocol.NodeID, msg *epoch.Message) bool {
	m := msg.ACS
	if m == nil {
		return true
	}
	k := instKey{msg.Epoch, m.Proposer}
	w := sp.watch(k)
	if w == nil {
		return true
	}
	ok := true
	switch {
	case m.RBC != nil:
		// A victim's broadcast reaches the late half once it has input 0
		// to its agreement and left round 1.
		ok = m.RBC.Kind != rbc.KindReady || !sp.late(i) || !sp.victim(k) || w.done[i] || w.pos[i] >= at(2, 1)
	case m.ABA != nil:
		ok = sp.passABA(k, w, i, from, m.ABA)
	case m.RABA != nil:
		ok = sp.passRABA(k, w, i, m.RABA)
	}
	if ok {
		sp.account(k, w, i, from, m)
	}
	return ok
}

// hold reports whether the scheduler keeps a message from node n for now,
// keeping it if so.
func (sp *splitter) hold(n *node, from protocol.NodeID, msg *epoch.Message) bool {
	if n.faulty {
		return false
	}
	if !sp.holding() {
		sp.rewrite(from, msg)
		return false
	}
	if sp.pass(n.id, from, msg) {
		return false
	}
	h := &heldMsg{from: from, msg: msg, since: sp.a.s.now}
	nh := sp.held[n.id]
	k := instKey{msg.Epoch, msg.ACS.Proposer}
	nh.byInst[k] = append(nh.byInst[k], h)
	if msg.ACS.RBC != nil {
		nh.long = append(nh.long, h) // a victim's broadcast: until the fault phase ends
	} else {
		nh.fifo = append(nh.fifo, h)
	}
	return true
}

func (sp *splitter) mark(i protocol.NodeID, k instKey) {
	if len(sp.held[i].byInst[k]) > 0 {
		sp.dirty = append(sp.dirty, dirtyInst{i, k})
	}
}

func (sp *splitter) release(to protocol.NodeID, h *heldMsg) {
	h.released = true
	key := [2]protocol.NodeID{h.from, to}
	if _, ok := sp.out[key]; !ok {
		sp.outKeys = append(sp.outKeys, key)
	}
	sp.out[key] = append(sp.out[key], h.msg.Marshal())
}

// recheck releases the messages of an instance held from node i that the
// plan now lets through.
func (sp *splitter) recheck(i protocol.NodeID, k instKey) {
	nh := sp.held[i]
	list := nh.byInst[k]
	kept := list[:0]
	for _, h := range list {
		if h.released {
			continue
		}
		if !sp.holding() {
			sp.rewrite(h.from, h.msg)
			sp.release(i, h)
			continue
		}
		if sp.pass(i, h.from, h.msg) {
			sp.release(i, h)
			continue
		}
		kept = append(kept, h)
	}
	clear(list[len(kept):])
	if len(kept) == 0 {
		delete(nh.byInst, k)
	} else {
		nh.byInst[k] = kept
	}
}

// expire releases what has been held from node i for holdMax, or everything
// once the fault phase is over.
func (sp *splitter) expire(i protocol.NodeID) {
	s := sp.a.s
	nh := sp.held[i]
	over := !sp.holding()
	n := 0
	for _, h := range nh.fifo {
		if !h.released && !over && s.now-h.since < holdMax {
			break
		}
		n++
		if h.released {
			continue
		}
		k := instKey{h.msg.Epoch, h.msg.ACS.Proposer}
		sp.rewrite(h.from, h.msg)
		if w := sp.watch(k); w != nil {
			sp.account(k, w, i, h.from, h.msg.ACS)
		}
		sp.release(i, h)
		sp.dirty = append(sp.dirty, dirtyInst{i, k})
	}
	if n > 0 {
		clear(nh.fifo[:n])
		nh.fifo = nh.fifo[n:]
	}
	if over {
		for _, h := range nh.long {
			if !h.released {
				sp.release(i, h)
			}
		}
		nh.long = nil
	}
}

// drain rechecks what changed and sends what was released: the released
// messages reach their recipients at once, in their original order.
func (sp *splitter) drain() {
	for len(sp.dirty) > 0 {
		d := sp.dirty[len(sp.dirty)-1]
		sp.dirty = sp.dirty[:len(sp.dirty)-1]
		sp.recheck(d.node, d.k)
	}
	s := sp.a.s
	for _, key := range sp.outKeys {
		s.push(event{at: s.now, kind: evDeliver, from: key[0], to: key[1], data: epoch.MarshalBundle(sp.out[key]), released: true})
		delete(sp.out, key)
	}
	sp.outKeys = sp.outKeys[:0]
}

// retire forgets the instances of the epochs below ep, which every honest
// node has output, releasing what was held of them.
func (sp *splitter) retire(ep uint64) {
	if ep <= sp.retired {
		return
	}
	sp.retired = ep
	forgetBelow(sp.watches, ep)
	for i, nh := range sp.held {
		var keys []instKey
		for k := range nh.byInst {
			if k.ep < ep {
				keys = append(keys, k)
			}
		}
		slices.SortFunc(keys, func(a, b instKey) int {
			return cmp.Or(cmp.Compare(a.ep, b.ep), cmp.Compare(a.prop, b.prop))
		})
		for _, k := range keys {
			for _, h := range nh.byInst[k] {
				if !h.released {
					sp.release(protocol.NodeID(i), h)
				}
			}
			delete(nh.byInst, k)
		}
	}
}
