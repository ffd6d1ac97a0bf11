package aba

import (
	"fmt"
	"testing"

	"github.com/mass-consensus/mass/internal/protocol"
	"github.com/mass-consensus/mass/internal/protocol/coin"
)

// admit asks a node whether it handles a message now. It is the one line a
// copy of these tests changes to run on code without Agreement.Admit.
func admit(a *Agreement, from protocol.NodeID, m *Message) bool { return a.Admit(from, m) }

// fixedCoin always comes up the same: an unlucky, possible run of a local
// coin, so that an adversary can keep the nodes undecided as long as it
// wants.
type fixedCoin bool

func (c fixedCoin) Toss(r uint32) coin.Step {
	return coin.Step{Output: []coin.Toss{{Round: r, Value: bool(c)}}}
}

func (fixedCoin) HandleMessage(protocol.NodeID, uint32, []byte) coin.Step { return coin.Step{} }

func (fixedCoin) Common() bool { return false }

// flight is a message in flight.
type flight struct {
	from, to protocol.NodeID
	msg      *Message
}

// slot names one step message's broadcast.
type slot struct {
	origin protocol.NodeID
	round  uint32
	step   uint8
}

// relay is a Byzantine node's view of one broadcast.
type relay struct {
	echoed, readied bool
	echo, ready     [3]int
}

// byzantine is a node the test plays: it relays every broadcast as an honest
// node would and sends the step values the script chooses, until silenced.
type byzantine struct {
	id     protocol.NodeID
	p      protocol.Params
	relays map[slot]*relay
	sent   uint32 // the last round whose step messages it sent
	silent bool
}

// receive takes a message and returns what the node broadcasts.
func (b *byzantine) receive(from protocol.NodeID, m *Message) []*Message {
	if m.Kind != KindVal && m.Kind != KindEcho && m.Kind != KindReady {
		return nil
	}
	k := slot{m.Origin, m.Round, m.Step}
	r := b.relays[k]
	if r == nil {
		r = &relay{}
		b.relays[k] = r
	}
	var out []*Message
	send := func(kind Kind) {
		c := &Message{Kind: kind, Origin: m.Origin, Round: m.Round, Step: m.Step, Value: m.Value}
		out = append(out, c)
		out = append(out, b.receive(b.id, c)...)
	}
	switch m.Kind {
	case KindVal:
		if !r.echoed && from == m.Origin {
			r.echoed = true
			send(KindEcho)
		}
	case KindEcho:
		if r.echo[m.Value]++; r.echo[m.Value] >= b.p.Quorum() && !r.readied {
			r.readied = true
			send(KindReady)
		}
	case KindReady:
		if r.ready[m.Value]++; r.ready[m.Value] >= b.p.F+1 && !r.readied {
			r.readied = true
			send(KindReady)
		}
	}
	return out
}

// script is a scheduled network of real agreements and Byzantine nodes:
// messages are delivered in the order they were sent, in passes over all
// in flight, except those hold keeps back, those to or from a parked node,
// and those the recipient refuses for later.
type script struct {
	t        *testing.T
	p        protocol.Params
	nodes    []*Agreement // nil for a Byzantine node
	byz      []*byzantine // nil for an honest node
	pool     []flight
	parked   map[protocol.NodeID]bool
	hold     func(to protocol.NodeID, m *Message) bool
	values   func(b *byzantine, step uint8) uint8 // a Byzantine node's step values
	lastByz  uint32                               // rounds the Byzantine nodes play
	decision []*bool
}

func newScript(t *testing.T, n int, byz []protocol.NodeID, coins []bool) *script {
	t.Helper()
	p, err := protocol.NewParams(n)
	if err != nil {
		t.Fatal(err)
	}
	sc := &script{
		t: t, p: p, nodes: make([]*Agreement, n), byz: make([]*byzantine, n),
		parked: map[protocol.NodeID]bool{}, decision: make([]*bool, n),
		hold: func(protocol.NodeID, *Message) bool { return false },
	}
	for _, id := range byz {
		sc.byz[id] = &byzantine{id: id, p: p, relays: map[slot]*relay{}}
	}
	for i := range n {
		if sc.byz[i] != nil {
			continue
		}
		a, err := New(Config{Params: p, Self: protocol.NodeID(i), Coin: fixedCoin(coins[i])})
		if err != nil {
			t.Fatal(err)
		}
		sc.nodes[i] = a
	}
	return sc
}

func (sc *script) send(from protocol.NodeID, msgs []*Message) {
	if b := sc.byz[from]; b != nil && b.silent {
		return
	}
	for _, m := range msgs {
		for to := range sc.p.N {
			if id := protocol.NodeID(to); id != from {
				sc.pool = append(sc.pool, flight{from: from, to: id, msg: m})
			}
		}
	}
}

func (sc *script) absorb(i protocol.NodeID, s Step) {
	for _, f := range s.Faults {
		if sc.byz[f.Node] == nil {
			sc.t.Fatalf("node %d blamed honest node %d: %s", i, f.Node, f.Kind)
		}
	}
	for _, d := range s.Output {
		if sc.decision[i] != nil {
			sc.t.Fatalf("node %d decided twice", i)
		}
		sc.decision[i] = &d
	}
	var msgs []*Message
	for _, m := range s.Messages {
		msgs = append(msgs, m.Body)
	}
	sc.send(i, msgs)
}

func (sc *script) input(i protocol.NodeID, v bool) {
	s, err := sc.nodes[i].HandleInput(v)
	if err != nil {
		sc.t.Fatal(err)
	}
	sc.absorb(i, s)
}

// waits reports whether a message in flight stays there for now.
func (sc *script) waits(f flight) bool {
	if sc.parked[f.from] || sc.parked[f.to] || sc.hold(f.to, f.msg) {
		return true
	}
	a := sc.nodes[f.to]
	return a != nil && !admit(a, f.from, f.msg)
}

// run delivers messages until none can be, and reports how many are left
// in flight.
func (sc *script) run() int {
	for pass := 0; ; pass++ {
		if pass > 100_000 {
			sc.t.Fatal("the schedule does not settle")
		}
		sc.playByzantine()
		pool, delivered := sc.pool, 0
		sc.pool = nil
		for _, f := range pool {
			if sc.waits(f) {
				sc.pool = append(sc.pool, f)
				continue
			}
			delivered++
			if b := sc.byz[f.to]; b != nil {
				sc.send(f.to, b.receive(f.from, f.msg))
			} else {
				sc.absorb(f.to, sc.nodes[f.to].HandleMessage(f.from, f.msg))
			}
		}
		if delivered == 0 {
			return len(sc.pool)
		}
	}
}

// playByzantine makes each Byzantine node send its step messages for every
// round some honest node has reached, up to lastByz.
func (sc *script) playByzantine() {
	top := uint32(0)
	for _, a := range sc.nodes {
		if a != nil && a.started {
			top = max(top, a.round)
		}
	}
	for _, b := range sc.byz {
		if b == nil || b.silent {
			continue
		}
		for ; b.sent < min(top, sc.lastByz); b.sent++ {
			r := b.sent + 1
			for st := uint8(1); st <= 3; st++ {
				val := &Message{Kind: KindVal, Origin: b.id, Round: r, Step: st, Value: sc.values(b, st)}
				sc.send(b.id, append([]*Message{val}, b.receive(b.id, val)...))
			}
		}
	}
}

// silence ends the adversary: the Byzantine nodes send nothing more (what
// they sent and is still in flight never arrives), and the schedule holds
// nothing back any longer.
func (sc *script) silence() {
	sc.hold = func(protocol.NodeID, *Message) bool { return false }
	kept := sc.pool[:0]
	for _, f := range sc.pool {
		if sc.byz[f.from] == nil {
			kept = append(kept, f)
		}
	}
	sc.pool = kept
	for _, b := range sc.byz {
		if b != nil {
			b.silent = true
		}
	}
}

// completed reports whether a node has finished step st of round r.
func completed(a *Agreement, r uint32, st uint8) bool {
	return a.terminated || a.started && (a.round > r || a.round == r && a.step > st)
}

// concerns reports whether m is part of the broadcast of origin's message of
// (r, st).
func concerns(m *Message, origin protocol.NodeID, r uint32, st uint8) bool {
	return (m.Kind == KindVal || m.Kind == KindEcho || m.Kind == KindReady) &&
		m.Origin == origin && m.Round == r && m.Step == st
}

// splitStepOne is the adversary's hold rule that keeps nodes 0 to 3 (inputs
// and coins 0, 0, 1, 1) undecided with Byzantine nodes 5 and 6 (step values
// 0 and 1, then ⊥). The step-1 values are three 0 (nodes 0, 1, 5) and three
// 1 (nodes 2, 3, 6); each of nodes 0 to 3 takes its first N−F without one of
// them, until it has finished the step: node 0 without node 6's 1 and node 1
// without node 2's, so their majority is 0, node 2 without node 5's 0 and
// node 3 without node 1's, so theirs is 1. The step-2 messages are then
// three 0 and three 1, any N−F of them is ⊥, nobody decides and everyone
// tosses its coin. Each broadcast is held back from one node only, so the
// other five relay it even when the sixth node is away.
func (sc *script) splitStepOne(to protocol.NodeID, m *Message) bool {
	without := map[protocol.NodeID]protocol.NodeID{0: 6, 1: 2, 2: 5, 3: 1}
	o, ok := without[to]
	return ok && concerns(m, o, m.Round, 1) && !completed(sc.nodes[to], m.Round, 1)
}

// splitValues are the Byzantine step values that go with splitStepOne.
func splitValues(b *byzantine, step uint8) uint8 {
	if step == 3 {
		return Undecided
	}
	return uint8(b.id - 5) // node 5 sends 0, node 6 sends 1
}

// check asserts that every honest node decided the same value and
// terminated, saying where each stuck node is.
func (sc *script) check(left int) {
	sc.t.Helper()
	var stuck string
	var first *bool
	for i, a := range sc.nodes {
		if a == nil {
			continue
		}
		if !a.Terminated() || sc.decision[i] == nil {
			stuck += fmt.Sprintf("; node %d stuck in round %d step %d (started %v, decided %v)", i, a.round, a.step, a.started, sc.decision[i] != nil)
			continue
		}
		if first != nil && *first != *sc.decision[i] {
			sc.t.Fatalf("disagreement: node %d decided %v, another %v", i, *sc.decision[i], *first)
		}
		first = sc.decision[i]
	}
	if stuck != "" {
		sc.t.Fatalf("stalled with nothing deliverable (%d messages left in flight)%s", left, stuck)
	}
}

// TestNoInputThroughManyRounds: nodes 0 to 3 have inputs, node 4 has none yet
// (inside the common subset a node inputs 0 only after N−F agreements
// decided 1), and the Byzantine nodes 5 and 6 keep nodes 0 to 3 undecided
// for 20 rounds, then fall silent. Nodes 0 to 3 then wait for node 4, which
// gets its input and must catch up through every round: the messages of
// rounds beyond its window must have been kept (refused for later), not
// dropped.
func TestNoInputThroughManyRounds(t *testing.T) {
	const rounds = 20 // more than DefaultMaxFutureRounds
	sc := newScript(t, 7, []protocol.NodeID{5, 6}, []bool{false, false, true, true, false})
	sc.hold, sc.values, sc.lastByz = sc.splitStepOne, splitValues, rounds
	for i, v := range []bool{false, false, true, true} {
		sc.input(protocol.NodeID(i), v)
	}
	sc.run()
	for i := range 4 {
		if a := sc.nodes[i]; a.round != rounds+1 || sc.decision[i] != nil {
			t.Fatalf("the adversary failed: node %d in round %d, decided %v", i, a.round, sc.decision[i] != nil)
		}
	}
	if sc.nodes[4].started {
		t.Fatal("node 4 started without input")
	}
	sc.silence()
	sc.input(4, false)
	sc.check(sc.run())
}

// TestRoundsBehindCatchUp: node 4 is slow (nothing reaches it, nothing from
// it arrives) while nodes 0 to 3 and the Byzantine nodes 5 and 6 run rounds 1
// to 3 undecided; in round 1 each of nodes 0 to 3 finishes step 3 without one
// honest node's step-3 message (0 without 1's, 1 without 2's, 2 without 3's,
// 3 without 0's) and gets that broadcast's messages only once it is in round
// 3. Then the Byzantine nodes fall silent and node 4's messages flow: with
// F = 2, node 4 can deliver a step message only with the READY of all of
// nodes 0 to 3, so it completes round 1 only if they still relay the
// broadcasts of a round two behind their own.
func TestRoundsBehindCatchUp(t *testing.T) {
	sc := newScript(t, 7, []protocol.NodeID{5, 6}, []bool{false, false, true, true, false})
	late := map[protocol.NodeID]protocol.NodeID{0: 1, 1: 2, 2: 3, 3: 0}
	sc.hold = func(to protocol.NodeID, m *Message) bool {
		if o, ok := late[to]; ok && concerns(m, o, 1, 3) && sc.nodes[to].round < 3 {
			return true
		}
		return sc.splitStepOne(to, m)
	}
	sc.values, sc.lastByz = splitValues, 3
	sc.parked[4] = true
	for i, v := range []bool{false, false, true, true, false} {
		sc.input(protocol.NodeID(i), v)
	}
	sc.run()
	for i := range 4 {
		if a := sc.nodes[i]; a.round != 4 || sc.decision[i] != nil {
			t.Fatalf("the adversary failed: node %d in round %d, decided %v", i, a.round, sc.decision[i] != nil)
		}
	}
	sc.silence()
	delete(sc.parked, 4)
	sc.check(sc.run())
}

// TestAdmitFollowsFPlusOneSenders: a message beyond max(own round, R) +
// window is refused for later, where R is the (F+1)-th highest round the
// senders were seen in; F senders cannot raise R, F+1 can; HandleMessage
// refuses (and counts) what Admit refuses, and keeps no state for it.
func TestAdmitFollowsFPlusOneSenders(t *testing.T) {
	p, _ := protocol.NewParams(7) // F = 2
	a, _ := New(Config{Params: p, Self: 0, Coin: fixedCoin(false), MaxFutureRounds: 4})
	echo := func(r uint32) *Message { return &Message{Kind: KindEcho, Origin: 3, Round: r, Step: 1, Value: 1} }
	if !admit(a, 1, echo(5)) || admit(a, 1, echo(6)) {
		t.Fatal("own round 1, window 4: round 5 must be admitted, round 6 refused")
	}
	for from := protocol.NodeID(1); from <= 2; from++ { // F senders in round 5
		a.HandleMessage(from, echo(5))
	}
	if admit(a, 1, echo(6)) {
		t.Fatal("F senders moved the window")
	}
	if a.HandleMessage(1, echo(9)); a.Dropped() != 1 || a.rounds[9] != nil {
		t.Fatalf("a refused message was handled: dropped %d", a.Dropped())
	}
	a.HandleMessage(4, echo(5)) // the (F+1)-th sender in round 5
	if !admit(a, 1, echo(9)) || admit(a, 1, echo(10)) {
		t.Fatal("with F+1 senders in round 5 the window must reach round 9, not 10")
	}
	for r := uint32(1); r < 1000; r++ { // F senders running ahead
		a.HandleMessage(1, echo(r))
		a.HandleMessage(2, echo(r))
	}
	if len(a.rounds) > 9 {
		t.Fatalf("F senders made %d rounds of state, the window ends at round 9", len(a.rounds))
	}
}
