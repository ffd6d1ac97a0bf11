package aba

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/mass-consensus/mass/internal/protocol"
	"github.com/mass-consensus/mass/internal/protocol/coin"
	"github.com/mass-consensus/mass/internal/wire"
)

// behaviour is how a faulty test node acts.
type behaviour int

const (
	honest behaviour = iota
	silent
	flipper     // runs the protocol but negates every value it sends
	equivocator // sends each message with 0 to half the nodes and 1 to the rest
)

type packet struct {
	from, to protocol.NodeID
	bytes    []byte
}

type network struct {
	t       *testing.T
	p       protocol.Params
	rng     *rand.Rand
	nodes   []*Agreement
	kind    []behaviour
	queue   []packet
	outputs [][]bool
	// split, when set, is the adversary that tries to make one group decide
	// while the other tosses its coin: it delivers messages inside a group
	// of nodes (by the parity of their ids) long before messages between
	// the groups.
	split bool
}

func newNetwork(t *testing.T, n int, kinds []behaviour, seed uint64) *network {
	t.Helper()
	p, err := protocol.NewParams(n)
	if err != nil {
		t.Fatal(err)
	}
	nw := &network{t: t, p: p, rng: rand.New(rand.NewPCG(seed, 1)), kind: kinds, outputs: make([][]bool, n)}
	for i := 0; i < n; i++ {
		a, err := New(Config{Params: p, Self: protocol.NodeID(i), Coin: coin.NewLocal(rand.NewPCG(seed, uint64(i)+100))})
		if err != nil {
			t.Fatal(err)
		}
		nw.nodes = append(nw.nodes, a)
	}
	return nw
}

func encode(m *Message) []byte {
	w := wire.NewWriter(16)
	m.MarshalTo(w)
	return w.Finish()
}

func (nw *network) send(from protocol.NodeID, to protocol.NodeID, m *Message) {
	nw.queue = append(nw.queue, packet{from: from, to: to, bytes: encode(m)})
}

func (nw *network) absorb(from protocol.NodeID, s Step) {
	nw.outputs[from] = append(nw.outputs[from], s.Output...)
	for _, f := range s.Faults {
		if nw.kind[f.Node] == honest {
			nw.t.Fatalf("honest node %d blamed by %d: %s", f.Node, from, f.Kind)
		}
	}
	for _, m := range s.Messages {
		for to := 0; to < nw.p.N; to++ {
			id := protocol.NodeID(to)
			if !m.To.Includes(from, id) {
				continue
			}
			switch nw.kind[from] {
			case silent:
			case flipper:
				c := *m.Body
				c.Value = flip(c.Step, c.Kind, c.Value)
				nw.send(from, id, &c)
			case equivocator:
				c := *m.Body
				if to%2 == 0 {
					c.Value = flip(c.Step, c.Kind, c.Value)
				}
				nw.send(from, id, &c)
			default:
				nw.send(from, id, m.Body)
			}
		}
	}
}

func flip(step uint8, k Kind, v uint8) uint8 {
	if k == KindTerm || step < 3 {
		return 1 - v
	}
	switch v {
	case Decide0:
		return Decide1
	case Decide1:
		return Decide0
	}
	return Undecided
}

func (nw *network) input(i int, v bool) {
	s, err := nw.nodes[i].HandleInput(v)
	if err != nil {
		nw.t.Fatal(err)
	}
	nw.absorb(protocol.NodeID(i), s)
}

// run delivers queued messages in random order until none are left or the
// budget runs out.
func (nw *network) run(budget int) {
	for len(nw.queue) > 0 && budget > 0 {
		budget--
		i := nw.rng.IntN(len(nw.queue))
		if nw.split && nw.rng.IntN(20) != 0 {
			for j := 0; j < 8; j++ {
				if pk := nw.queue[i]; pk.from%2 == pk.to%2 {
					break
				}
				i = nw.rng.IntN(len(nw.queue))
			}
		}
		pk := nw.queue[i]
		nw.queue[i] = nw.queue[len(nw.queue)-1]
		nw.queue = nw.queue[:len(nw.queue)-1]
		r := wire.NewReader(pk.bytes)
		m, err := Unmarshal(r, nw.p)
		if err == nil {
			err = r.Done()
		}
		if err != nil {
			nw.t.Fatalf("decode: %v", err)
		}
		nw.absorb(pk.to, nw.nodes[pk.to].HandleMessage(pk.from, m))
	}
}

// check asserts agreement and termination among honest nodes and returns the
// decision.
func (nw *network) check(desc string) bool {
	nw.t.Helper()
	var decision *bool
	for i, a := range nw.nodes {
		if nw.kind[i] != honest {
			continue
		}
		if !a.Terminated() {
			nw.t.Fatalf("%s: honest node %d did not terminate (round %d)", desc, i, a.Round())
		}
		if len(nw.outputs[i]) != 1 {
			nw.t.Fatalf("%s: node %d output %d decisions", desc, i, len(nw.outputs[i]))
		}
		d := nw.outputs[i][0]
		if decision != nil && *decision != d {
			nw.t.Fatalf("%s: disagreement: node %d decided %v, another %v", desc, i, d, *decision)
		}
		decision = &d
	}
	return *decision
}

func TestAgreementProperties(t *testing.T) {
	faulty := []behaviour{silent, flipper, equivocator}
	for _, n := range []int{1, 4, 5, 7, 10} {
		for seed := uint64(0); seed < 500; seed++ {
			rng := rand.New(rand.NewPCG(seed, uint64(n)))
			p, _ := protocol.NewParams(n)
			kinds := make([]behaviour, n)
			for _, i := range rng.Perm(n)[:p.F] {
				kinds[i] = faulty[rng.IntN(len(faulty))]
			}
			nw := newNetwork(t, n, kinds, seed)
			nw.split = seed%2 == 1
			mode := seed % 3 // 0: all honest input 0, 1: all 1, 2: mixed
			inputs := make([]bool, n)
			for i := range inputs {
				switch mode {
				case 0:
				case 1:
					inputs[i] = true
				default:
					inputs[i] = rng.IntN(2) == 1
				}
				nw.input(i, inputs[i])
			}
			nw.run(5_000_000)
			desc := fmt.Sprintf("n=%d seed=%d kinds=%v inputs=%v", n, seed, kinds, inputs)
			d := nw.check(desc)
			if mode < 2 {
				if d != (mode == 1) {
					t.Fatalf("%s: validity: all honest input %v, decided %v", desc, mode == 1, d)
				}
				for i, a := range nw.nodes {
					if kinds[i] == honest && a.DecisionRound() > 1 {
						t.Fatalf("%s: unanimous honest input but node %d decided in round %d", desc, i, a.DecisionRound())
					}
				}
			}
		}
	}
}

// TestHonestNodeWithoutInputFollows checks that a node that gets its input
// late still decides what the others decided.
func TestLateInput(t *testing.T) {
	for seed := uint64(0); seed < 50; seed++ {
		nw := newNetwork(t, 4, make([]behaviour, 4), seed)
		for i := 0; i < 3; i++ {
			nw.input(i, true)
		}
		nw.run(1_000_000)
		nw.input(3, false)
		nw.run(1_000_000)
		if !nw.check(fmt.Sprint("seed ", seed)) {
			t.Fatalf("seed %d: decided 0 though three inputs were 1 before the fourth", seed)
		}
	}
}

func TestJustified(t *testing.T) {
	p, _ := protocol.NewParams(4) // F=1, quorum 3
	cases := []struct {
		r     uint32
		st    uint8
		value uint8
		prev  [3]int
		want  bool
	}{
		{1, 1, 0, [3]int{}, true},
		{2, 1, 1, [3]int{0, 0, 2}, false},               // fewer than N−F messages
		{2, 1, 1, [3]int{0, 2, 1}, true},                // F+1 (d,1)
		{2, 1, 0, [3]int{0, 2, 1}, false},               // two (d,1) force one into any set of three
		{2, 1, 0, [3]int{0, 1, 2}, true},                // coin
		{1, 2, 1, [3]int{2, 1, 0}, false},               // three messages, majority must be 0
		{1, 2, 0, [3]int{2, 1, 0}, true},                //
		{1, 2, 1, [3]int{2, 2, 0}, true},                // choose 1,1,0
		{1, 3, Decide1, [3]int{1, 2, 0}, false},         // 2 of 4 is not more than N/2
		{1, 3, Decide1, [3]int{0, 3, 0}, true},          //
		{1, 3, Undecided, [3]int{0, 3, 0}, false},       // every set of three is all 1
		{1, 3, Undecided, [3]int{1, 2, 0}, true},        //
		{1, 3, Undecided, [3]int{2, 2, 0}, true},        //
		{1, 3, Decide0, [3]int{3, 1, 0}, true},          //
		{1, 3, Decide0, [3]int{2, 2, 0}, false},         //
		{3, 1, 1, [3]int{Decide0: 0, Decide1: 3}, true}, //
	}
	for i, c := range cases {
		if got := Justified(p, c.r, c.st, c.value, c.prev); got != c.want {
			t.Errorf("case %d: Justified(r%d s%d v%d %v) = %v, want %v", i, c.r, c.st, c.value, c.prev, got, c.want)
		}
	}
}

func TestUnmarshalRejects(t *testing.T) {
	p, _ := protocol.NewParams(4)
	good := []*Message{
		{Kind: KindVal, Origin: 3, Round: 7, Step: 3, Value: Undecided},
		{Kind: KindEcho, Origin: 0, Round: 1, Step: 1, Value: 1},
		{Kind: KindTerm, Value: 1},
		{Kind: KindCoin, Round: 2, Coin: []byte("share")},
	}
	for _, m := range good {
		b := encode(m)
		r := wire.NewReader(b)
		got, err := Unmarshal(r, p)
		if err != nil || r.Done() != nil {
			t.Fatalf("%v: %v %v", m, err, r.Done())
		}
		if string(encode(got)) != string(b) {
			t.Fatalf("round trip changed %v into %v", m, got)
		}
		for cut := 0; cut < len(b); cut++ {
			if _, err := Unmarshal(wire.NewReader(b[:cut]), p); err == nil {
				t.Fatalf("%v truncated to %d bytes decoded", m, cut)
			}
		}
	}
	bad := []*Message{
		{Kind: KindVal, Origin: 4, Round: 1, Step: 1},
		{Kind: KindVal, Origin: 0, Round: 0, Step: 1},
		{Kind: KindVal, Origin: 0, Round: 1, Step: 4},
		{Kind: KindVal, Origin: 0, Round: 1, Step: 1, Value: 2},
		{Kind: KindReady, Origin: 0, Round: 1, Step: 3, Value: 3},
		{Kind: KindTerm, Value: 2},
		{Kind: 9},
	}
	for _, m := range bad {
		if _, err := Unmarshal(wire.NewReader(encode(m)), p); !errors.Is(err, ErrBadMessage) {
			t.Errorf("%v: got %v, want ErrBadMessage", m, err)
		}
	}
	big := &Message{Kind: KindCoin, Round: 1, Coin: make([]byte, MaxCoinMessage+1)}
	if _, err := Unmarshal(wire.NewReader(encode(big)), p); !errors.Is(err, wire.ErrTooLarge) {
		t.Errorf("oversized coin message: got %v", err)
	}
}

// TestFarFutureRoundsDropped checks that a node keeps no state for rounds
// beyond its window.
func TestFarFutureRoundsDropped(t *testing.T) {
	p, _ := protocol.NewParams(4)
	a, _ := New(Config{Params: p, Self: 0, Coin: coin.NewLocal(rand.NewPCG(1, 1))})
	for r := uint32(2); r < 10_000; r++ {
		a.HandleMessage(1, &Message{Kind: KindVal, Origin: 1, Round: r, Step: 1, Value: 1})
	}
	if len(a.rounds) > DefaultMaxFutureRounds+1 {
		t.Fatalf("%d rounds kept, window is %d", len(a.rounds), DefaultMaxFutureRounds)
	}
	if a.Dropped() == 0 {
		t.Fatal("no message counted as dropped")
	}
}
