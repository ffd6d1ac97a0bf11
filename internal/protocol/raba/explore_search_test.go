package raba

import (
	"fmt"
	"hash/maphash"
	mbits "math/bits"
	"strings"

	"github.com/mass-consensus/mass/internal/protocol"
	"github.com/mass-consensus/mass/internal/protocol/coin"
)

// The search engine of the explorer; what it explores is in explore_test.go.
//
// # Steps
//
// A step happens at one honest node, the receiver: messages are delivered
// to it (from honest nodes, taken from those in flight, or from node 3,
// chosen by the explorer), or it reproposes. Unless the config asks for
// every order (anyOrder), the explorer takes only effective steps, and
// every run of the system has an equivalent run made of them, in which each
// honest node sends the same messages in the same order and ends in the
// same state, up to messages whose arrival never had an effect:
//
//   - An Aux, Conf or Final not valid on arrival sits in its slot, read by
//     nothing but validate, until the step that validates it, which puts it
//     in the batch of that step (its sender's index gives its place in the
//     batch, not its time of arrival). Its arrival can therefore be moved to
//     just before that step, or dropped if none comes: such messages are
//     only delivered "pending", just before a step that validates them all
//     (pre, found by trying the step, see preSets).
//   - A BVal(r,v) that brings its count to no threshold (F+1 while the
//     relay is not sent, 2F+1 while v is not in bin_values) only adds to a
//     count that only the handling of another BVal(r,v) reads. Two
//     handlings of BVal(r,v) commute: both orders reach the same count, and
//     the threshold crossed by the second leads to the same relay,
//     validation and advance. So BVal(r,v) messages are delivered as a
//     group that reaches the next threshold, the last one crossing it. If
//     the handling that follows is the node's own BVal(r,v), inside a step,
//     the arrival moves to just after that step and crosses the threshold
//     there: the same validation and advance, split in two steps.
//   - A Term(v) is the same, with the thresholds F+1 (decide) and 2F+1
//     (terminate).
//   - An Aux, Conf or Final valid on arrival is delivered alone: where it
//     lands among the valid messages matters.
//
// Node 3's messages follow the same rules: it sends a message only as one
// of those steps. With nothing effective left among the honest messages in
// flight, the rest can change nothing: the state is quiescent.

// exAction is one step at one honest node: first the pending messages in
// pre, then msg from each sender in group (in the order of their index; a
// group of more than one is of BVal or Term messages), or a reproposal.
type exAction struct {
	to        uint8
	repropose bool
	msg       uint8       // message type (see msgType)
	group     uint8       // bit j: node j sends msg (3: the Byzantine node)
	pre       [exN]uint32 // per sender, the pending message types delivered first
	coins     uint8       // bit k: the value of the k-th coin tossed in the step
	tosses    uint8       // how many coins the step tossed (the bits beyond are 0)
}

// exNode is one honest node's state: the encoding of its Agreement and
// what the explorer reads from it. States share the records of the nodes
// a step did not touch.
type exNode struct {
	enc        string
	dead       uint32 // message types dead at the node, dropped (canon only)
	open       uint32 // message types node 3 can still send it
	pend       uint32 // Aux, Conf and Final types not valid on arrival
	need       [exTypes]uint8
	decided    uint8 // 0 undecided, else the value plus one
	decidedAt  uint8 // the round of its decision by its own votes, 0 if none
	round      uint8
	est        bool
	terminated bool
}

// exState is a state of the explored system.
type exState struct {
	nodes    [exHonest]*exNode
	inflight [exHonest][exHonest]uint32 // [to][from]: the types in flight
	repro    uint8                      // bit i: node i reproposed
	byzSent  uint8                      // how many messages node 3 sent
	coins    uint8                      // common coin: bits 2(r−1)..: 0 not tossed yet, else its value plus one
	byzTypes uint32                     // with once: the types node 3 sent
	id       int32                      // index in the explorer's trace
}

// exConfig is what one search explores.
type exConfig struct {
	inputs [exHonest]bool
	// common gives the nodes the explorer's common coin (exCoin), and so
	// the common-coin rounds.
	common bool
	// splitCoin, with common, plants a bug in the coin: it still claims to
	// be common, but each node's toss is drawn anew, as a local coin's.
	splitCoin bool
	// noEstimates leaves out the check of the estimates (checkEstimates),
	// to show what the other properties catch alone.
	noEstimates bool
	// rounds is the last round whose messages are delivered, 1 up to
	// exRounds; 0 means exLocalRounds, or exRounds with common.
	rounds    uint32
	repropose bool   // offer reproposal as a step
	menu      uint32 // the message types node 3 may send
	budget    int    // at most this many messages from node 3 (0: no bound)
	once      bool   // node 3 sends each type of its menu at most once, to one node
	// settle checks a state in which every honest node has decided but
	// does not expand it: the runs after the decisions are left out.
	settle bool
	mutate func(*Agreement)
	// lossless keeps every field of each Agreement in its state and
	// anyOrder takes every step one message at a time, in every order, node
	// 3 sending anything at any time: the references for the reductions.
	lossless, anyOrder bool
	maxStates          int
	// visit, if set, sees every new state.
	visit func(*explorer, *exState)
}

// exResult is the outcome of a search.
type exResult struct {
	states, transitions int
	depth               int
	quiescent           int
	settled             int // states not expanded (settle)
	kept                int // common coin: states with a split kept through a tossed coin (keptSplit)
	tosses              int // steps that tossed a coin
	violation           string
	path                []exAction
}

// exCoin is the coin of an explored node: the explorer chooses its values,
// a branch per value (script holds the values of the step's tosses).
//
// A local exCoin tosses anew each time it is asked. A common one is a model
// of a common coin, not a threshold coin: the first honest node to toss
// round r's coin draws its value from the script, and that value is fixed
// (in fixed, kept in the state) for every node of the run; the value comes
// at once, with no shares. Branching at the first toss, the explorer takes
// every run with either value, as if the adversary knew the coin from the
// start.
type exCoin struct {
	script uint8
	tosses int   // values drawn from the script
	common bool  // Common
	split  bool  // common, but each toss drawn anew (a planted bug)
	fixed  uint8 // common: the coins of the run so far, as in exState.coins
}

func (c *exCoin) Toss(r uint32) coin.Step {
	if c.common && !c.split && (r < 1 || r > exRounds) {
		panic(fmt.Sprintf("explore: common coin of round %d", r))
	}
	shift := 2 * (r - 1)
	if c.common && !c.split {
		if f := c.fixed >> shift & 3; f != 0 {
			return coin.Step{Output: []coin.Toss{{Round: r, Value: f == 2}}}
		}
	}
	v := c.script>>c.tosses&1 == 1
	c.tosses++
	if c.common && !c.split {
		c.fixed |= (b2u(v) + 1) << shift
	}
	return coin.Step{Output: []coin.Toss{{Round: r, Value: v}}}
}

func (c *exCoin) Common() bool { return c.common }

func (c *exCoin) HandleMessage(from protocol.NodeID, _ uint32, _ []byte) coin.Step {
	var s coin.Step
	s.Fault(from, coin.FaultUnexpectedMessage)
	return s
}

// explorer runs one breadth-first search: every state is expanded once, and
// the first violation found is at the least depth.
type explorer struct {
	cfg     exConfig
	params  protocol.Params
	tmpl    [exHonest]*Agreement
	seeds   [2]maphash.Seed
	visited map[[2]uint64]struct{}
	parent  []int32
	action  []exAction
	res     exResult
	scratch exScratch // the receiver of the step being taken
	buf     []byte    // the encoding being built
}

func newExplorer(cfg exConfig) *explorer {
	if cfg.rounds == 0 {
		cfg.rounds = exLocalRounds
		if cfg.common {
			cfg.rounds = exRounds
		}
	}
	cfg.menu &= upTo(cfg.rounds) // node 3 sends nothing the others would not deliver
	p, _ := protocol.NewParams(exN)
	x := &explorer{cfg: cfg, params: p, seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
		visited: make(map[[2]uint64]struct{})}
	for i := range x.tmpl {
		x.tmpl[i] = x.fresh(i)
	}
	return x
}

// fresh returns a new Agreement of honest node i, with the planted bug if
// any.
func (x *explorer) fresh(i int) *Agreement {
	a, err := New(Config{Params: x.params, Self: protocol.NodeID(i), Coin: &exCoin{common: x.cfg.common}})
	if err != nil {
		panic(err)
	}
	if x.cfg.mutate != nil {
		x.cfg.mutate(a)
	}
	return a
}

// run explores every state reachable from the start.
func (x *explorer) run() exResult {
	start := x.initial()
	x.add(start, -1, exAction{})
	if x.res.violation = x.check(start); x.res.violation != "" {
		x.res.path = x.path(start.id)
		return x.res
	}
	frontier := []*exState{start}
	for len(frontier) > 0 && x.res.violation == "" {
		var next []*exState
		for _, s := range frontier {
			if x.expand(s, &next) {
				break
			}
		}
		frontier = next
		if len(frontier) > 0 {
			x.res.depth++
		}
	}
	return x.res
}

// initial gives every honest node its input.
func (x *explorer) initial() *exState {
	s := &exState{}
	var steps [exHonest]Step
	for i := range s.nodes {
		a := x.fresh(i)
		var err error
		if steps[i], err = a.HandleInput(x.cfg.inputs[i]); err != nil {
			panic(err)
		}
		s.nodes[i] = x.record(a)
	}
	for i, step := range steps {
		x.send(s, i, step)
	}
	return s
}

// expand adds the successors of s to next; true on a violation.
func (x *explorer) expand(s *exState, next *[]*exState) bool {
	if x.quiescent(s) {
		x.res.quiescent++
	}
	for i := range s.nodes {
		for _, act := range x.steps(s, i) {
			if x.branch(s, act, next) {
				return true
			}
		}
	}
	return false
}

// branch takes act from s for every sequence of values of the coins the
// step tosses: first with the values fixed by act and 0 after, then, for
// each later toss, with 1 there. For a step without pending messages, it
// also takes the step with each set of them it would validate (preSets).
func (x *explorer) branch(s *exState, act exAction, next *[]*exState) bool {
	out := x.apply(s, act)
	x.res.transitions++
	if out.tosses > int(act.tosses) {
		x.res.tosses++
	}
	plain := act.pre == [exN]uint32{}
	if plain || out.violation != "" || validated(out.agr, act.pre) {
		taken := act
		taken.tosses = uint8(out.tosses)
		if x.visit(out, s, taken, next) {
			return true
		}
		if plain {
			for _, pre := range x.preSets(s, act, out) {
				with := act
				with.pre = pre
				if x.branch(s, with, next) {
					return true
				}
			}
		}
	}
	for k := int(act.tosses); k < out.tosses; k++ {
		b := act
		b.coins |= 1 << k
		b.tosses = uint8(k + 1)
		if x.branch(s, b, next) {
			return true
		}
	}
	return false
}

// visit records the state a step reached from s, checks it and queues it if
// it is new; true on a violation.
func (x *explorer) visit(out exOutcome, s *exState, act exAction, next *[]*exState) bool {
	if out.violation != "" { // the step did not finish: report it, whatever the state
		x.trace(out.next, s.id, act)
		x.res.violation, x.res.path = out.violation, x.path(out.next.id)
		return true
	}
	if !x.add(out.next, s.id, act) {
		return false
	}
	violation := out.violation
	if violation == "" {
		violation = x.check(out.next)
	}
	if violation == "" && x.cfg.maxStates > 0 && x.res.states > x.cfg.maxStates {
		violation = fmt.Sprintf("bound: more than %d states", x.cfg.maxStates)
	}
	if violation != "" {
		x.res.violation, x.res.path = violation, x.path(out.next.id)
		return true
	}
	if x.cfg.settle && allDecided(out.next) {
		x.res.settled++
		return false
	}
	*next = append(*next, out.next)
	return false
}

// allDecided reports whether every honest node has decided in s.
func allDecided(s *exState) bool {
	for _, n := range s.nodes {
		if n.decided == 0 {
			return false
		}
	}
	return true
}

// steps are the steps at node i in s, without pending messages.
func (x *explorer) steps(s *exState, i int) []exAction {
	var acts []exAction
	n := s.nodes[i]
	byz := x.byzantineLeft(s)
	for t := range exTypes {
		var senders uint8
		for from, types := range s.inflight[i] {
			senders |= uint8(types>>t&1) << from
		}
		if byz > 0 && n.open>>t&1 == 1 && s.byzTypes>>t&1 == 0 {
			senders |= 1 << exByz
		}
		need := int(n.need[t])
		if x.cfg.anyOrder {
			need = 1
		}
		if senders == 0 || need == 0 {
			continue
		}
		for group := range subsetsOf(senders, need) {
			if group>>exByz&1 == 0 || byz > 0 {
				acts = append(acts, exAction{to: uint8(i), msg: uint8(t), group: group})
			}
		}
	}
	if x.cfg.repropose && !x.cfg.inputs[i] && s.repro>>i&1 == 0 && n.round == 1 && !n.terminated {
		acts = append(acts, exAction{to: uint8(i), repropose: true})
	}
	return acts
}

// byzantineLeft is how many more messages node 3 may send.
func (x *explorer) byzantineLeft(s *exState) int {
	if x.cfg.menu == 0 {
		return 0
	}
	if x.cfg.budget == 0 {
		return exTypes * exHonest
	}
	return x.cfg.budget - int(s.byzSent)
}

// preSets are the sets of pending messages that could be delivered just
// before act: among the Aux, Conf and Final in flight to the receiver (or
// that node 3 could send it) not valid now, those valid after act, and the
// Final of a round with such a Conf (that Conf may be what validates the
// Final). The sets that act does not all validate are dropped after the
// try (validated).
func (x *explorer) preSets(s *exState, act exAction, out exOutcome) [][exN]uint32 {
	i := int(act.to)
	n := s.nodes[i]
	if x.cfg.anyOrder || n.pend == 0 || out.violation != "" || out.agr.rounds == nil {
		return nil
	}
	var cand [exN]uint32
	for from := range s.inflight[i] {
		cand[from] = s.inflight[i][from] & n.pend
	}
	if x.byzantineLeft(s) > 0 {
		cand[exByz] = n.open & n.pend &^ s.byzTypes
	}
	now := justifiedTypes(out.agr)
	var any uint32
	for from := range cand {
		c := cand[from] & now
		for r := uint32(1); r <= exRounds; r++ {
			if c&roundTypes(r, exConf, 3) != 0 {
				c |= cand[from] & roundTypes(r, exFinal, 3)
			}
		}
		cand[from], any = c, any|c
	}
	if any == 0 {
		return nil
	}
	sets := [][exN]uint32{{}}
	for from := range cand {
		var grown [][exN]uint32
		for _, part := range slotSets(cand[from]) {
			for _, set := range sets {
				set[from] = part
				grown = append(grown, set)
			}
		}
		sets = grown
	}
	var keep [][exN]uint32
	for _, set := range sets[1:] {
		if c := mbits.OnesCount32(set[exByz]); c == 0 || c <= x.byzantineLeft(s)-byzantineIn(act) {
			keep = append(keep, set)
		}
	}
	return keep
}

func byzantineIn(act exAction) int {
	return int(act.group>>exByz&1) + mbits.OnesCount32(act.pre[exByz])
}

// slotSets are the subsets of types with at most one type per slot (Aux,
// Conf, Final of a round), the empty set first. An honest sender has at
// most one message per slot in flight; node 3 sends one.
func slotSets(types uint32) []uint32 {
	sets := []uint32{0}
	for r := uint32(1); r <= exRounds; r++ {
		for _, slot := range []uint32{roundTypes(r, exAux, 2), roundTypes(r, exConf, 3), roundTypes(r, exFinal, 3)} {
			if types&slot == 0 {
				continue
			}
			var grown []uint32
			for _, set := range sets {
				grown = append(grown, set)
				for t := range eachBit(types & slot) {
					grown = append(grown, set|1<<t)
				}
			}
			sets = grown
		}
	}
	return sets
}

// exOutcome is the result of a step.
type exOutcome struct {
	next      *exState
	agr       *Agreement // the receiver after the step
	tosses    int        // how many coins it tossed
	violation string     // a panic, an honest node blamed
}

// apply takes act from s.
func (x *explorer) apply(s *exState, act exAction) exOutcome {
	ns := *s
	i := int(act.to)
	c := &exCoin{script: act.coins, common: x.cfg.common, split: x.cfg.splitCoin, fixed: s.coins}
	a := x.scratch.decode(s.nodes[i].enc, x.tmpl[i], c, !x.cfg.lossless)
	step, panicked := perform(a, act)
	out := exOutcome{next: &ns, agr: a, tosses: c.tosses}
	ns.coins = c.fixed
	if panicked != "" {
		out.violation = "panic: " + panicked
		return out
	}
	for from := range ns.inflight[i] {
		ns.inflight[i][from] &^= act.pre[from] | uint32(act.group>>from&1)<<act.msg
	}
	ns.byzSent += uint8(byzantineIn(act))
	if x.cfg.once {
		ns.byzTypes |= act.pre[exByz] | uint32(act.group>>exByz&1)<<act.msg
	}
	if act.repropose {
		ns.repro |= 1 << i
	}
	ns.nodes[i] = x.record(a)
	x.send(&ns, i, step)
	for _, f := range step.Faults {
		if f.Node != exByz {
			out.violation = fmt.Sprintf("fault: honest node %d blamed by node %d: %s", f.Node, i, f.Kind)
		}
	}
	if a.dropped != 0 { // the canonical encoding leaves out what Admit reads
		out.violation = "explorer: a message was refused for later"
	}
	return out
}

// perform runs act on a, catching a panic (a broken invariant).
func perform(a *Agreement, act exAction) (step Step, panicked string) {
	defer func() {
		if r := recover(); r != nil {
			panicked = fmt.Sprint(r)
		}
	}()
	for from, types := range act.pre {
		for t := range eachBit(types) {
			step.Merge(a.HandleMessage(protocol.NodeID(from), typeMessage(t)))
		}
	}
	if act.repropose {
		step.Merge(a.Repropose())
	}
	for from := range exN {
		if act.group>>from&1 == 1 {
			step.Merge(a.HandleMessage(protocol.NodeID(from), typeMessage(int(act.msg))))
		}
	}
	return step, ""
}

// send puts the messages node i sent in step in flight, but for node 3 (it
// knows everything anyway), for rounds beyond the bound, and for types dead
// at their receiver; then it drops what the step made dead at node i.
func (x *explorer) send(s *exState, i int, step Step) {
	for _, m := range step.Messages {
		t, ok := msgType(m.Body)
		if !ok || m.Body.Kind != KindTerm && m.Body.Round > x.cfg.rounds {
			continue
		}
		for j := range s.nodes {
			if m.To.Includes(protocol.NodeID(i), protocol.NodeID(j)) && s.nodes[j].dead>>t&1 == 0 {
				s.inflight[j][i] |= 1 << t
			}
		}
	}
	for from := range s.inflight[i] {
		s.inflight[i][from] &^= s.nodes[i].dead
	}
}

// record encodes a.
func (x *explorer) record(a *Agreement) *exNode {
	canon := !x.cfg.lossless
	x.buf = encodeNode(x.buf[:0], a, canon)
	n := &exNode{enc: string(x.buf), round: uint8(a.round), est: a.est, decidedAt: uint8(a.decidedAt), terminated: a.terminated,
		open: byzantineOpen(a, x.cfg.menu, canon), need: arrivalsNeeded(a)}
	if canon {
		n.dead = deadTypes(a)
	}
	if !x.cfg.anyOrder {
		n.pend = pendingTypes(a)
	}
	if a.decided {
		n.decided = b2u(a.decision) + 1
	}
	return n
}

// add records s if it is new, with how it was reached; false if it was seen.
func (x *explorer) add(s *exState, parent int32, act exAction) bool {
	k := x.key(s)
	if _, ok := x.visited[k]; ok {
		return false
	}
	x.visited[k] = struct{}{}
	x.trace(s, parent, act)
	x.res.states++
	if x.cfg.common && keptSplit(s) {
		x.res.kept++
	}
	if x.cfg.visit != nil {
		x.cfg.visit(x, s)
	}
	return true
}

// trace numbers s and records how it was reached.
func (x *explorer) trace(s *exState, parent int32, act exAction) {
	s.id = int32(len(x.parent))
	x.parent = append(x.parent, parent)
	x.action = append(x.action, act)
}

// key is a 128-bit hash of the encoding of s.
func (x *explorer) key(s *exState) [2]uint64 {
	var k [2]uint64
	var h maphash.Hash
	for j, seed := range x.seeds {
		h.SetSeed(seed)
		for _, n := range s.nodes {
			h.WriteByte(byte(len(n.enc)))
			h.WriteString(n.enc)
		}
		for _, row := range s.inflight {
			for _, types := range row {
				h.WriteByte(byte(types))
				h.WriteByte(byte(types >> 8))
				h.WriteByte(byte(types >> 16))
				h.WriteByte(byte(types >> 24))
			}
		}
		h.WriteByte(s.repro)
		h.WriteByte(s.coins)
		if x.cfg.budget > 0 {
			h.WriteByte(s.byzSent)
		}
		for k := 0; k < 32; k += 8 {
			h.WriteByte(byte(s.byzTypes >> k))
		}
		k[j] = h.Sum64()
	}
	return k
}

// check returns the property s violates, if any: agreement, validity, or a
// deadlock (s quiescent and an honest node undecided in a round whose
// messages are delivered); with a common coin also the estimates (see
// checkEstimates).
func (x *explorer) check(s *exState) string {
	if x.cfg.common && !x.cfg.noEstimates {
		if v := checkEstimates(s); v != "" {
			return v
		}
	}
	var decided uint8
	for i, n := range s.nodes {
		if n.decided == 0 {
			continue
		}
		if decided != 0 && n.decided != decided {
			return fmt.Sprintf("agreement: node %d decided %d, another %d", i, n.decided-1, decided-1)
		}
		decided = n.decided
		if !x.valid(s, n.decided-1 == 1) {
			return fmt.Sprintf("validity: node %d decided %d, no honest node input or reproposed it", i, n.decided-1)
		}
	}
	if !x.quiescent(s) {
		return ""
	}
	for i, n := range s.nodes {
		if n.decided == 0 && n.round <= uint8(x.cfg.rounds) {
			return fmt.Sprintf("deadlock: nothing effective in flight, node %d undecided in round %d", i, n.round)
		}
	}
	return ""
}

// checkEstimates checks what the safety argument of the common-coin rounds
// rests on (see the package doc): once an honest node decides w by its votes
// in round r, every honest node leaves round r with the estimate w and
// keeps it. The runs explored stop at round 3, so a node that would decide
// against w only in a later round is caught here, when it leaves round r
// with ¬w.
func checkEstimates(s *exState) string {
	first := -1
	for i, n := range s.nodes {
		if n.decidedAt != 0 && (first < 0 || n.decidedAt < s.nodes[first].decidedAt) {
			first = i
		}
	}
	if first < 0 {
		return ""
	}
	d := s.nodes[first]
	for i, n := range s.nodes {
		if !n.terminated && n.round > d.decidedAt && n.est != (d.decided == 2) {
			return fmt.Sprintf("estimate: node %d is in round %d with estimate %d, node %d decided %d in round %d",
				i, n.round, b2u(n.est), first, d.decided-1, d.decidedAt)
		}
	}
	return ""
}

// keptSplit reports whether two honest nodes left a round that tossed the
// common coin with different estimates, and are both in the next round: a
// split kept through a tossed coin, the coin against the node that kept
// its value.
func keptSplit(s *exState) bool {
	for r := uint32(1); r <= exRounds; r++ {
		if s.coins>>(2*(r-1))&3 == 0 {
			continue
		}
		var seen [2]bool
		for _, n := range s.nodes {
			if !n.terminated && uint32(n.round) == r+1 {
				seen[b2u(n.est)] = true
			}
		}
		if seen[0] && seen[1] {
			return true
		}
	}
	return false
}

func (x *explorer) valid(s *exState, v bool) bool {
	for i, in := range x.cfg.inputs {
		if in == v || v && s.repro>>i&1 == 1 {
			return true
		}
	}
	return false
}

// quiescent reports whether no step is left among the honest messages in
// flight (node 3 silent, no reproposal): with anyOrder, whether nothing is
// in flight.
func (x *explorer) quiescent(s *exState) bool {
	for i, n := range s.nodes {
		for t := range exTypes {
			var count int
			for from := range s.inflight[i] {
				count += int(s.inflight[i][from] >> t & 1)
			}
			if count > 0 && (x.cfg.anyOrder || n.need[t] > 0 && count >= int(n.need[t])) {
				return false
			}
		}
	}
	return true
}

// subsetsOf yields the subsets of set with k members.
func subsetsOf(set uint8, k int) func(func(uint8) bool) {
	return func(yield func(uint8) bool) {
		for sub := set; ; sub = (sub - 1) & set {
			if mbits.OnesCount8(sub) == k && !yield(sub) {
				return
			}
			if sub == 0 {
				return
			}
		}
	}
}

// path returns the actions that reach the state of id.
func (x *explorer) path(id int32) []exAction {
	var p []exAction
	for ; id > 0; id = x.parent[id] {
		p = append(p, x.action[id])
	}
	for i, j := 0, len(p)-1; i < j; i, j = i+1, j-1 {
		p[i], p[j] = p[j], p[i]
	}
	return p
}

// describe replays path from the start and tells, step by step, what each
// receiver did.
func (x *explorer) describe(path []exAction) string {
	var b strings.Builder
	s := x.initial()
	fmt.Fprintf(&b, "inputs %s; each node sends its BVal(r1)\n", inputString(x.cfg.inputs))
	for k, act := range path {
		out := x.apply(s, act)
		fmt.Fprintf(&b, "%3d. %s%s%s\n", k+1, actionString(act, x.cfg.common && !x.cfg.splitCoin), effect(s, out.next, int(act.to)), coinEffect(s, out.next))
		if out.violation != "" {
			fmt.Fprintf(&b, "     %s\n", out.violation)
		}
		s = out.next
	}
	if v := x.check(s); v != "" {
		fmt.Fprintf(&b, "     %s\n", v)
	}
	return b.String()
}

func actionString(act exAction, common bool) string {
	var got []string
	for from, types := range act.pre {
		for t := range eachBit(types) {
			got = append(got, fmt.Sprintf("%s from n%d (pending)", typeName(t), from))
		}
	}
	for from := range exN {
		if act.group>>from&1 == 1 {
			got = append(got, fmt.Sprintf("%s from n%d", typeName(int(act.msg)), from))
		}
	}
	s := fmt.Sprintf("n%d gets %s", act.to, strings.Join(got, ", "))
	if act.repropose {
		s = fmt.Sprintf("n%d reproposes 1", act.to)
		if len(got) > 0 {
			s = fmt.Sprintf("n%d gets %s, reproposes 1", act.to, strings.Join(got, ", "))
		}
	}
	for k := range int(act.tosses) {
		if common {
			s += fmt.Sprintf(", first toss of the common coin: %d", act.coins>>k&1)
		} else {
			s += fmt.Sprintf(", coin %d", act.coins>>k&1)
		}
	}
	return s
}

// coinEffect tells the common coins fixed from s to ns.
func coinEffect(s, ns *exState) string {
	var out string
	for r := uint32(1); r <= exRounds; r++ {
		shift := 2 * (r - 1)
		if f := ns.coins >> shift & 3; f != 0 && s.coins>>shift&3 == 0 {
			out += fmt.Sprintf(" (the common coin of round %d is %d for every node)", r, f-1)
		}
	}
	return out
}

// effect tells what changed at node i from s to ns: messages sent (to the
// honest nodes where they are not dead), round, decision.
func effect(s, ns *exState, i int) string {
	var out []string
	var sent uint32
	for j := range ns.nodes {
		sent |= ns.inflight[j][i] &^ s.inflight[j][i]
	}
	for t := range eachBit(sent) {
		out = append(out, "sends "+typeName(t))
	}
	before, after := s.nodes[i], ns.nodes[i]
	if after.round != before.round {
		out = append(out, fmt.Sprintf("enters round %d", after.round))
	}
	if after.decided != before.decided {
		out = append(out, fmt.Sprintf("DECIDES %d", after.decided-1))
	}
	if after.terminated && !before.terminated {
		out = append(out, "terminates")
	}
	if len(out) == 0 {
		return ""
	}
	return " ⇒ " + strings.Join(out, ", ")
}

func inputString(in [exHonest]bool) string {
	var b strings.Builder
	for _, v := range in {
		b.WriteByte('0' + b2u(v))
	}
	return b.String()
}

// eachBit yields the set bits of m.
func eachBit(m uint32) func(func(int) bool) {
	return func(yield func(int) bool) {
		for m != 0 {
			t := mbits.TrailingZeros32(m)
			m &^= 1 << t
			if !yield(t) {
				return
			}
		}
	}
}
