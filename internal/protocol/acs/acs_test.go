package acs_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/mass-consensus/mass/internal/protocol"
	"github.com/mass-consensus/mass/internal/protocol/aba"
	"github.com/mass-consensus/mass/internal/protocol/acs"
	"github.com/mass-consensus/mass/internal/protocol/coin"
	"github.com/mass-consensus/mass/internal/protocol/raba"
	"github.com/mass-consensus/mass/internal/protocol/rbc"
	"github.com/mass-consensus/mass/internal/wire"
)

// maxValue is the MaxValueSize of every test instance and the limit its
// messages are decoded with: above the ~5 KiB values of the tests and the
// 64 KiB ones of the benchmark.
const maxValue = 1 << 20

// behaviour is how a test node acts.
type behaviour int

const (
	honest behaviour = iota
	// silent: proposes nothing, sends nothing, receives nothing.
	silent
	// late: runs the protocol, but its messages are held back until every
	// honest node has output.
	late
	// flipper: runs the protocol, but negates the value of every binary
	// agreement message it sends.
	flipper
	// equivocator: runs the protocol, but its own broadcast's VALs carry
	// shards of its value to even nodes and of another value to odd ones.
	equivocator
)

var faultyKinds = []behaviour{silent, late, flipper, equivocator}

func (b behaviour) String() string {
	switch b {
	case honest:
		return "honest"
	case silent:
		return "silent"
	case late:
		return "late"
	case flipper:
		return "flipper"
	case equivocator:
		return "equivocator"
	}
	return fmt.Sprintf("behaviour(%d)", int(b))
}

// packet is an encoded message in flight.
type packet struct {
	from, to protocol.NodeID
	rbc      bool // a broadcast message
	bytes    []byte
}

// network runs n Subset instances in memory. Every message goes through its
// wire encoding.
type network struct {
	tb    testing.TB
	p     protocol.Params
	kinds []behaviour
	nodes []*acs.Subset // nil at silent nodes
	rng   *rand.Rand    // delivery order; nil: first in, first out
	// slow, when set for a node, makes the scheduler prefer other nodes'
	// messages over its own, so that its proposal can be left out.
	slow []bool
	// lagRBC, when set for a node, makes the scheduler prefer any other
	// message over a broadcast message to it, so that agreements can decide
	// there before their broadcasts deliver.
	lagRBC []bool

	pool     []packet
	head     int      // FIFO only: next packet
	held     []packet // late nodes' messages not yet released
	released bool     // every honest node has output

	proposed            [][]byte // per node, its input (nil if none)
	proposedAfterOutput []bool
	alt                 [][]byte         // per equivocator, the value of its odd-side VALs
	codings             [][2]*rbc.Coding // per equivocator, codings of proposed and alt

	outputs    [][][]acs.Contribution
	sentBytes  []int // per node: encoded size × recipients
	sentMsgs   []int // per node: messages × recipients
	deliveries int
	afterTerm  []int // per node, messages sent after it reported Terminated
}

func mustParams(tb testing.TB, n int) protocol.Params {
	tb.Helper()
	p, err := protocol.NewParams(n)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// newNetwork builds the instances; kinds nil means all honest. Node i's
// agreement about proposer j tosses a local coin seeded by (seed, i, j).
func newNetwork(tb testing.TB, n int, kinds []behaviour, seed uint64, rng *rand.Rand, agreement acs.Agreement) *network {
	tb.Helper()
	p := mustParams(tb, n)
	if kinds == nil {
		kinds = make([]behaviour, n)
	}
	nw := &network{
		tb: tb, p: p, kinds: kinds, rng: rng,
		nodes:               make([]*acs.Subset, n),
		slow:                make([]bool, n),
		lagRBC:              make([]bool, n),
		proposed:            make([][]byte, n),
		proposedAfterOutput: make([]bool, n),
		alt:                 make([][]byte, n),
		codings:             make([][2]*rbc.Coding, n),
		outputs:             make([][][]acs.Contribution, n),
		sentBytes:           make([]int, n),
		sentMsgs:            make([]int, n),
		afterTerm:           make([]int, n),
	}
	for i := range n {
		if kinds[i] == silent {
			continue
		}
		s, err := acs.New(acs.Config{
			Params: p, Self: protocol.NodeID(i), MaxValueSize: maxValue, Agreement: agreement,
			Coin: func(j protocol.NodeID) coin.Coin {
				return coin.NewLocal(rand.NewPCG(seed, uint64(i)<<16|uint64(j)))
			},
		})
		if err != nil {
			tb.Fatalf("New(node %d): %v", i, err)
		}
		nw.nodes[i] = s
	}
	return nw
}

// propose gives node i its value; an equivocator also gets alt, the value of
// the VALs it sends to odd nodes.
func (nw *network) propose(i int, value, alt []byte) {
	nw.tb.Helper()
	if nw.nodes[i] == nil {
		return
	}
	nw.proposed[i] = value
	nw.proposedAfterOutput[i] = len(nw.outputs[i]) > 0
	if nw.kinds[i] == equivocator {
		a, err := rbc.Encode(nw.p, value)
		if err != nil {
			nw.tb.Fatal(err)
		}
		b, err := rbc.Encode(nw.p, alt)
		if err != nil {
			nw.tb.Fatal(err)
		}
		if a.Root == b.Root {
			nw.tb.Fatalf("equivocator %d: both values have the same coding", i)
		}
		nw.alt[i] = alt
		nw.codings[i] = [2]*rbc.Coding{a, b}
	}
	s, err := nw.nodes[i].HandleInput(value)
	if err != nil {
		nw.tb.Fatalf("HandleInput(node %d): %v", i, err)
	}
	nw.absorb(protocol.NodeID(i), s)
}

func encodeMessage(m *acs.Message) []byte {
	w := wire.NewWriter(64)
	m.MarshalTo(w)
	return w.Finish()
}

// flipValue negates an agreement value as a flipper sends it.
func flipValue(m *aba.Message) uint8 {
	if m.Kind == aba.KindTerm || m.Step < 3 {
		return 1 - m.Value
	}
	switch m.Value {
	case aba.Decide0:
		return aba.Decide1
	case aba.Decide1:
		return aba.Decide0
	}
	return aba.Undecided
}

// flipRABA negates a quadratic agreement value as a flipper sends it.
func flipRABA(m *raba.Message) uint8 {
	switch {
	case m.Kind == raba.KindConf && m.Value != raba.SetBoth:
		return m.Value ^ raba.SetBoth
	case m.Kind == raba.KindConf, m.Kind == raba.KindFinal && m.Value == raba.Bottom:
		return m.Value
	}
	return m.Value ^ 1
}

// corrupt returns what a faulty node sends to node to in place of m.
func (nw *network) corrupt(from, to protocol.NodeID, m *acs.Message) *acs.Message {
	switch nw.kinds[from] {
	case flipper:
		if a := m.ABA; a != nil && a.Kind != aba.KindCoin {
			c := *a
			c.Value = flipValue(a)
			return &acs.Message{Proposer: m.Proposer, ABA: &c}
		}
		if a := m.RABA; a != nil && a.Kind != raba.KindCoin {
			c := *a
			c.Value = flipRABA(a)
			return &acs.Message{Proposer: m.Proposer, RABA: &c}
		}
	case equivocator:
		if r := m.RBC; r != nil && r.Kind == rbc.KindVal && m.Proposer == from {
			return &acs.Message{Proposer: from, RBC: nw.codings[from][to%2].Message(rbc.KindVal, int(to))}
		}
	}
	return m
}

// absorb records node from's step and queues its messages.
func (nw *network) absorb(from protocol.NodeID, s acs.Step) {
	nw.tb.Helper()
	nw.outputs[from] = append(nw.outputs[from], s.Output...)
	if nw.kinds[from] == honest {
		for _, f := range s.Faults {
			if nw.kinds[f.Node] == honest {
				nw.tb.Fatalf("honest node %d blamed honest node %d: %s", from, f.Node, f.Kind)
			}
		}
	}
	for _, m := range s.Messages {
		var (
			last       *acs.Message
			enc        []byte
			recipients int
		)
		for to := range nw.p.N {
			id := protocol.NodeID(to)
			if !m.To.Includes(from, id) {
				continue
			}
			recipients++
			body := nw.corrupt(from, id, m.Body)
			if body != last {
				last, enc = body, encodeMessage(body)
			}
			nw.sentBytes[from] += len(enc)
			nw.sentMsgs[from]++
			if nw.nodes[to] == nil {
				continue
			}
			pk := packet{from: from, to: id, rbc: body.RBC != nil, bytes: enc}
			if nw.kinds[from] == late && !nw.released {
				nw.held = append(nw.held, pk)
			} else {
				nw.pool = append(nw.pool, pk)
			}
		}
		if m.To.All && recipients != nw.p.N-1 || !m.To.All && recipients != 1 {
			nw.tb.Fatalf("node %d: message to %+v reaches %d nodes", from, m.To, recipients)
		}
	}
	if len(s.Output) > 0 && !nw.released {
		for i, k := range nw.kinds {
			if k == honest && len(nw.outputs[i]) == 0 {
				return
			}
		}
		nw.released = true
		nw.pool = append(nw.pool, nw.held...)
		nw.held = nil
	}
}

// next takes the next packet from the pool.
func (nw *network) next() packet {
	if nw.rng == nil {
		pk := nw.pool[nw.head]
		nw.pool[nw.head] = packet{}
		nw.head++
		if nw.head > 4096 && nw.head > len(nw.pool)/2 {
			nw.pool = append(nw.pool[:0], nw.pool[nw.head:]...)
			nw.head = 0
		}
		return pk
	}
	i := nw.rng.IntN(len(nw.pool))
	for try := 0; try < 20 && nw.deferred(nw.pool[i]) && nw.rng.IntN(64) != 0; try++ {
		i = nw.rng.IntN(len(nw.pool))
	}
	pk := nw.pool[i]
	nw.pool[i] = nw.pool[len(nw.pool)-1]
	nw.pool[len(nw.pool)-1] = packet{}
	nw.pool = nw.pool[:len(nw.pool)-1]
	return pk
}

func (nw *network) deferred(pk packet) bool {
	return nw.slow[pk.from] || pk.rbc && nw.lagRBC[pk.to]
}

// run delivers packets until the pool is empty; held packets of late nodes
// stay held if the honest nodes never all output.
func (nw *network) run(budget int) {
	nw.tb.Helper()
	nw.deliver(-1, budget)
}

// deliver delivers up to count packets (all if count < 0), failing if the
// total number of deliveries exceeds budget.
func (nw *network) deliver(count, budget int) {
	nw.tb.Helper()
	for ; count != 0 && nw.head < len(nw.pool); count-- {
		if nw.deliveries >= budget {
			nw.tb.Fatalf("still %d messages in flight after %d deliveries", len(nw.pool)-nw.head, nw.deliveries)
		}
		nw.deliveries++
		pk := nw.next()
		r := wire.NewReader(pk.bytes)
		m, err := acs.Unmarshal(r, nw.p, maxValue)
		if err == nil {
			err = r.Done()
		}
		if err != nil {
			nw.tb.Fatalf("decoding a message from %d to %d: %v", pk.from, pk.to, err)
		}
		node := nw.nodes[pk.to]
		wasTerminated := node.Terminated()
		st := node.HandleMessage(pk.from, m)
		if wasTerminated {
			if len(st.Output) > 0 || !node.Terminated() {
				nw.tb.Fatalf("node %d: output or un-termination after Terminated", pk.to)
			}
			for _, sent := range st.Messages {
				// Broadcasts of proposers left out keep running after
				// Terminated (see TestNothingAfterTerminated); agreements
				// must not.
				if sent.Body.ABA != nil || sent.Body.RABA != nil {
					nw.tb.Fatalf("node %d sent %s about proposer %d after Terminated", pk.to, bodyName(sent.Body), sent.Body.Proposer)
				}
				nw.afterTerm[pk.to]++
			}
		}
		nw.absorb(pk.to, st)
	}
}

// check asserts the properties of the common subset among the honest nodes
// once the pool is empty, and returns the common output.
func (nw *network) check() []acs.Contribution {
	nw.tb.Helper()
	var common []acs.Contribution
	first := -1
	for i, k := range nw.kinds {
		if k != honest {
			continue
		}
		if len(nw.outputs[i]) != 1 {
			nw.tb.Fatalf("honest node %d output %d times", i, len(nw.outputs[i]))
		}
		if !nw.nodes[i].Output() {
			nw.tb.Fatalf("honest node %d output but Output() is false", i)
		}
		if !nw.nodes[i].Terminated() {
			nw.tb.Fatalf("honest node %d has not terminated with no message in flight", i)
		}
		out := nw.outputs[i][0]
		if first < 0 {
			first, common = i, out
			continue
		}
		if len(out) != len(common) {
			nw.tb.Fatalf("node %d output %d contributions, node %d %d", i, len(out), first, len(common))
		}
		for j := range out {
			if out[j].Proposer != common[j].Proposer || !bytes.Equal(out[j].Value, common[j].Value) {
				nw.tb.Fatalf("node %d and node %d differ at contribution %d: proposer %d (%d bytes) vs %d (%d bytes)",
					i, first, j, out[j].Proposer, len(out[j].Value), common[j].Proposer, len(common[j].Value))
			}
		}
	}
	if first < 0 {
		nw.tb.Fatal("no honest node")
	}
	if len(common) < nw.p.Quorum() {
		nw.tb.Fatalf("output has %d contributions, fewer than N−F = %d", len(common), nw.p.Quorum())
	}
	for j, c := range common {
		if j > 0 && c.Proposer <= common[j-1].Proposer {
			nw.tb.Fatalf("contribution %d from proposer %d follows one from proposer %d", j, c.Proposer, common[j-1].Proposer)
		}
		if !nw.p.Valid(c.Proposer) {
			nw.tb.Fatalf("contribution from proposer %d of %d nodes", c.Proposer, nw.p.N)
		}
		switch nw.kinds[c.Proposer] {
		case silent:
			nw.tb.Fatalf("contribution from silent proposer %d", c.Proposer)
		case equivocator:
			if !bytes.Equal(c.Value, nw.proposed[c.Proposer]) && !bytes.Equal(c.Value, nw.alt[c.Proposer]) {
				nw.tb.Fatalf("contribution of equivocator %d is neither of its values", c.Proposer)
			}
		default:
			if !bytes.Equal(c.Value, nw.proposed[c.Proposer]) {
				nw.tb.Fatalf("contribution of proposer %d (%s) is %d bytes, not its %d-byte value",
					c.Proposer, nw.kinds[c.Proposer], len(c.Value), len(nw.proposed[c.Proposer]))
			}
		}
	}
	return common
}

// testValue is proposer i's value: distinct from every other proposer's, as
// it starts with i, except that it may be empty.
func testValue(rng *rand.Rand, i int, size int) []byte {
	if size == 0 {
		return []byte{}
	}
	b := make([]byte, size)
	b[0] = byte(i)
	for k := 1; k < size; k++ {
		b[k] = byte(rng.Uint32())
	}
	return b
}

// TestSubsetProperties runs the common subset with up to F faulty nodes of
// random kinds, random delivery orders and, in some runs, slow honest nodes.
func TestSubsetProperties(t *testing.T) {
	seedsFor := map[int]int{1: 100, 4: 200, 7: 120, 10: 100}
	if testing.Short() {
		seedsFor = map[int]int{1: 20, 4: 40, 7: 20, 10: 10}
	}
	var stats struct {
		runs, excludedHonest, faultyIn, empty, large, afterTerm, inputAfterOutput int
	}
	for _, n := range []int{1, 4, 7, 10} {
		for seed := range uint64(seedsFor[n]) {
			// Both agreements, alternating by blocks of four seeds (the
			// seed's low bits choose slow nodes and lagging broadcasts).
			agreement := acs.Agreement(seed / 4 % 2)
			rng := rand.New(rand.NewPCG(seed, uint64(1000+n)))
			p := mustParams(t, n)
			kinds := make([]behaviour, n)
			perm := rng.Perm(n)
			for _, i := range perm[:rng.IntN(p.F+1)] {
				kinds[i] = faultyKinds[rng.IntN(len(faultyKinds))]
			}
			nw := newNetwork(t, n, kinds, seed, rng, agreement)
			// In half the runs, up to F honest nodes are slow; in another
			// half (overlapping), broadcast messages to some honest nodes
			// are.
			if seed%2 == 1 {
				for _, i := range perm[p.F : p.F+rng.IntN(p.F+1)] {
					nw.slow[i] = true
				}
			}
			if seed%4 >= 2 {
				for _, i := range perm[p.F : p.F+rng.IntN(n-p.F+1)] {
					nw.lagRBC[i] = true
				}
			}
			empty := -1
			if rng.IntN(3) == 0 {
				empty = rng.IntN(n)
			}
			sizes := make([]int, n)
			for i := range n {
				switch {
				case i == empty:
				case rng.IntN(5) == 0:
					sizes[i] = 5<<10 + rng.IntN(64)
				default:
					sizes[i] = 1 + rng.IntN(300)
				}
			}
			desc := fmt.Sprintf("%v n=%d seed=%d kinds=%v slow=%v lagRBC=%v sizes=%v", agreement, n, seed, kinds, nw.slow, nw.lagRBC, sizes)
			t.Run(fmt.Sprintf("n=%d/seed=%d", n, seed), func(t *testing.T) {
				nw.tb = t
				t.Log(desc)
				// In a third of the runs, nodes propose one by one with
				// messages delivered in between: a node may get its input
				// after its agreements have started, decided or output.
				between := 0
				if seed%3 == 2 {
					between = rng.IntN(100 * n * n)
				}
				for _, i := range rng.Perm(n) {
					v := testValue(rng, i, sizes[i])
					nw.propose(i, v, testValue(rng, i, 1+rng.IntN(300)))
					nw.deliver(rng.IntN(between+1), 20_000_000)
				}
				nw.run(20_000_000)
				if len(nw.held) > 0 {
					t.Fatalf("late messages never released: honest outputs %v", outputCounts(nw))
				}
				out := nw.check()
				stats.runs++
				for i, c := range nw.afterTerm {
					if c > 0 && kinds[i] == honest {
						stats.afterTerm++
						break
					}
				}
				in := map[protocol.NodeID]bool{}
				for _, c := range out {
					in[c.Proposer] = true
					if kinds[c.Proposer] != honest {
						stats.faultyIn++
					}
					if len(c.Value) == 0 {
						stats.empty++
					}
					if len(c.Value) > 5<<10 {
						stats.large++
					}
				}
				for i, k := range kinds {
					if k == honest && !in[protocol.NodeID(i)] {
						stats.excludedHonest++
						break
					}
				}
				for i, k := range kinds {
					if k == honest && nw.proposedAfterOutput[i] {
						stats.inputAfterOutput++
						break
					}
				}
			})
		}
	}
	t.Logf("%d runs: %d with an honest proposal left out, %d with an honest input after the node's output; %d faulty, %d empty and %d ~5 KiB contributions output; %d with broadcast messages after Terminated",
		stats.runs, stats.excludedHonest, stats.inputAfterOutput, stats.faultyIn, stats.empty, stats.large, stats.afterTerm)
	// The harness must reach the cases the properties are about.
	if !t.Failed() && !testing.Short() {
		if stats.excludedHonest == 0 {
			t.Error("no run left an honest proposal out: the slow-node scheduler exercises nothing")
		}
		if stats.faultyIn == 0 || stats.empty == 0 || stats.large == 0 {
			t.Error("no faulty, empty or large contribution was ever output")
		}
	}
}

func outputCounts(nw *network) []int {
	c := make([]int, len(nw.outputs))
	for i, o := range nw.outputs {
		c[i] = len(o)
	}
	return c
}

// With every node honest and messages delivered first in, first out, every
// broadcast delivers everywhere long before any agreement decides, so every
// node inputs 1 to every agreement and every proposal is in the output.
func TestAllProposalsInFIFO(t *testing.T) {
	for _, n := range []int{1, 2, 4, 5, 7, 10, 16} {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, uint64(n)))
			nw := newNetwork(t, n, nil, 7, nil, acs.Quadratic)
			for i := range n {
				size := []int{0, 1, 100, 5 << 10}[i%4]
				nw.propose(i, testValue(rng, i, size), nil)
			}
			nw.run(50_000_000)
			out := nw.check()
			if len(out) != n {
				t.Fatalf("%d of %d proposals in the output", len(out), n)
			}
			for j, c := range out {
				if int(c.Proposer) != j || !bytes.Equal(c.Value, nw.proposed[j]) {
					t.Fatalf("contribution %d: proposer %d, %d bytes; want proposer %d, %d bytes",
						j, c.Proposer, len(c.Value), j, len(nw.proposed[j]))
				}
			}
			// Every agreement decided by votes, in round 1: every input was 1.
			for i, s := range nw.nodes {
				count, sum := s.ABARounds()
				if count == 0 || sum != count {
					t.Errorf("node %d: %d agreements decided by votes in %d rounds in all", i, count, sum)
				}
			}
		})
	}
}

// A node that never proposes still outputs the same subset, without its
// own value.
func TestNodeWithoutInput(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 99))
		nw := newNetwork(t, 4, nil, seed, rng, acs.Quadratic)
		for i := range 3 {
			nw.propose(i, testValue(rng, i, 10), nil)
		}
		nw.run(10_000_000)
		out := nw.check()
		if len(out) != 3 {
			t.Fatalf("seed %d: %d contributions, want the 3 proposed", seed, len(out))
		}
		for _, c := range out {
			if c.Proposer == 3 {
				t.Fatalf("seed %d: contribution from node 3, which proposed nothing", seed)
			}
		}
	}
}

func TestInputTwice(t *testing.T) {
	nw := newNetwork(t, 4, nil, 1, nil, acs.Quadratic)
	nw.propose(0, []byte("a"), nil)
	if _, err := nw.nodes[0].HandleInput([]byte("b")); err == nil {
		t.Fatal("second input accepted")
	}
	s, err := acs.New(acs.Config{Params: mustParams(t, 4), Self: 1, MaxValueSize: 8,
		Coin: func(protocol.NodeID) coin.Coin { return coin.NewLocal(rand.NewPCG(1, 1)) }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.HandleInput(make([]byte, 9)); err == nil {
		t.Fatal("value over MaxValueSize accepted")
	}
	if _, err := acs.New(acs.Config{Params: mustParams(t, 4)}); err == nil {
		t.Fatal("New without a coin succeeded")
	}
}

// Messages a node cannot act on change nothing and send nothing.
func TestIgnoredMessages(t *testing.T) {
	nw := newNetwork(t, 4, nil, 1, nil, acs.Quadratic)
	s := nw.nodes[0]
	for name, m := range map[string]*acs.Message{
		"nil":             nil,
		"neither":         {Proposer: 1},
		"proposer >= n":   {Proposer: 4, ABA: &aba.Message{Kind: aba.KindTerm, Value: 1}},
		"proposer 0xffff": {Proposer: 0xffff, RBC: &rbc.Message{Kind: rbc.KindReady}},
	} {
		if st := s.HandleMessage(1, m); !st.Empty() {
			t.Errorf("%s: step %+v", name, st)
		}
	}
	if st := s.HandleMessage(4, &acs.Message{Proposer: 1, ABA: &aba.Message{Kind: aba.KindTerm, Value: 1}}); !st.Empty() {
		t.Errorf("message from node 4 of 4: step %+v", st)
	}
}

func TestUnmarshal(t *testing.T) {
	p := mustParams(t, 4)
	small, err := rbc.Encode(p, []byte("a value"))
	if err != nil {
		t.Fatal(err)
	}
	large, err := rbc.Encode(p, make([]byte, 5<<10))
	if err != nil {
		t.Fatal(err)
	}
	valid := []*acs.Message{
		{Proposer: 3, RBC: small.Message(rbc.KindVal, 2)},
		{Proposer: 0, RBC: large.Message(rbc.KindEcho, 1)},
		{Proposer: 1, RBC: small.Message(rbc.KindReady, 0)},
		{Proposer: 2, ABA: &aba.Message{Kind: aba.KindVal, Origin: 1, Round: 3, Step: 3, Value: aba.Undecided}},
		{Proposer: 3, ABA: &aba.Message{Kind: aba.KindReady, Origin: 3, Round: 1, Step: 1, Value: 1}},
		{Proposer: 3, ABA: &aba.Message{Kind: aba.KindTerm, Value: 1}},
		{Proposer: 0, ABA: &aba.Message{Kind: aba.KindCoin, Round: 2, Coin: []byte("share")}},
		{Proposer: 1, RABA: &raba.Message{Kind: raba.KindConf, Round: 2, Value: raba.SetBoth}},
		{Proposer: 2, RABA: &raba.Message{Kind: raba.KindFinal, Round: 1, Value: raba.Bottom}},
		{Proposer: 3, RABA: &raba.Message{Kind: raba.KindTerm, Value: 0}},
	}
	for _, m := range valid {
		b := encodeMessage(m)
		name := fmt.Sprintf("proposer %d %s", m.Proposer, bodyName(m))

		r := wire.NewReader(b)
		got, err := acs.Unmarshal(r, p, maxValue)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := r.Done(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got.Proposer != m.Proposer || (got.RBC == nil) != (m.RBC == nil) || (got.ABA == nil) != (m.ABA == nil) {
			t.Fatalf("%s: decoded as proposer %d %s", name, got.Proposer, bodyName(got))
		}
		if !bytes.Equal(encodeMessage(got), b) {
			t.Fatalf("%s: round trip changed the encoding", name)
		}

		// Every truncation fails as truncated.
		for cut := range len(b) {
			if _, err := acs.Unmarshal(wire.NewReader(b[:cut]), p, maxValue); !errors.Is(err, wire.ErrTruncated) {
				t.Fatalf("%s cut to %d of %d bytes: got %v, want %v", name, cut, len(b), err, wire.ErrTruncated)
			}
		}
		// Unmarshal leaves trailing bytes to the caller's Done.
		r = wire.NewReader(append(bytes.Clone(b), 0))
		if _, err := acs.Unmarshal(r, p, maxValue); err != nil {
			t.Fatalf("%s with a trailing byte: %v", name, err)
		}
		if err := r.Done(); !errors.Is(err, wire.ErrTrailing) {
			t.Fatalf("%s with a trailing byte: Done gave %v", name, err)
		}
		// A proposer out of range.
		for _, prop := range []uint16{4, 5, 0x100, 0xffff} {
			bad := bytes.Clone(b)
			bad[0], bad[1] = byte(prop>>8), byte(prop)
			if _, err := acs.Unmarshal(wire.NewReader(bad), p, maxValue); !errors.Is(err, acs.ErrBadMessage) {
				t.Errorf("%s with proposer %d: got %v, want %v", name, prop, err, acs.ErrBadMessage)
			}
		}
		// An unknown tag.
		for _, tag := range []byte{0, 4, 0x81, 0xff} {
			bad := bytes.Clone(b)
			bad[2] = tag
			if _, err := acs.Unmarshal(wire.NewReader(bad), p, maxValue); !errors.Is(err, acs.ErrBadMessage) {
				t.Errorf("%s with tag %d: got %v, want %v", name, tag, err, acs.ErrBadMessage)
			}
		}
	}
	// The tag says which protocol decodes the body: swapping them fails.
	rbcMsg := encodeMessage(valid[0])
	rbcMsg[2] = encodeMessage(valid[3])[2]
	if _, err := acs.Unmarshal(wire.NewReader(rbcMsg), p, maxValue); err == nil {
		t.Error("an RBC body under the ABA tag decoded")
	}
	// Bodies are checked by their own packages, against the same params.
	for name, c := range map[string]struct {
		m    *acs.Message
		want error
	}{
		"aba origin 4":     {&acs.Message{Proposer: 0, ABA: &aba.Message{Kind: aba.KindEcho, Origin: 4, Round: 1, Step: 1}}, aba.ErrBadMessage},
		"aba kind 9":       {&acs.Message{Proposer: 0, ABA: &aba.Message{Kind: 9}}, aba.ErrBadMessage},
		"aba term 2":       {&acs.Message{Proposer: 0, ABA: &aba.Message{Kind: aba.KindTerm, Value: 2}}, aba.ErrBadMessage},
		"rbc kind 9":       {&acs.Message{Proposer: 0, RBC: &rbc.Message{Kind: 9}}, rbc.ErrUnknownKind},
		"rbc index 4":      {&acs.Message{Proposer: 0, RBC: &rbc.Message{Kind: rbc.KindVal, Index: 4, Branch: make([][32]byte, 2)}}, rbc.ErrInvalidMessage},
		"rbc short branch": {&acs.Message{Proposer: 0, RBC: &rbc.Message{Kind: rbc.KindEcho, Index: 1, Branch: make([][32]byte, 1)}}, rbc.ErrInvalidMessage},
	} {
		if _, err := acs.Unmarshal(wire.NewReader(encodeMessage(c.m)), p, maxValue); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", name, err, c.want)
		}
	}
	// The value size limit reaches the broadcast's decoder: a 5 KiB value's
	// shard is too large for a 1 KiB limit.
	big := encodeMessage(&acs.Message{Proposer: 0, RBC: large.Message(rbc.KindEcho, 1)})
	if _, err := acs.Unmarshal(wire.NewReader(big), p, 1<<10); !errors.Is(err, wire.ErrTooLarge) {
		t.Errorf("5 KiB value's shard with a 1 KiB limit: got %v, want %v", err, wire.ErrTooLarge)
	}
	// The node count reaches the agreement's decoder: origin 4 is valid with
	// 5 nodes, not with 4.
	five := encodeMessage(&acs.Message{Proposer: 0, ABA: &aba.Message{Kind: aba.KindEcho, Origin: 4, Round: 1, Step: 1}})
	if _, err := acs.Unmarshal(wire.NewReader(five), mustParams(t, 5), maxValue); err != nil {
		t.Errorf("origin 4 of 5 nodes: %v", err)
	}
}

func bodyName(m *acs.Message) string {
	switch {
	case m.RBC != nil:
		return "RBC " + m.RBC.Kind.String()
	case m.ABA != nil:
		return "ABA " + m.ABA.String()
	case m.RABA != nil:
		return "RABA " + m.RABA.String()
	}
	return "empty"
}

// The Step contract says a terminated protocol produces nothing more: a late
// proposer's VAL, arriving after the node terminated, must not make it echo.
func TestNothingAfterTerminated(t *testing.T) {
	nw := newNetwork(t, 4, []behaviour{honest, honest, honest, late}, 1, nil, acs.Quadratic)
	for i := range 4 {
		nw.propose(i, testValue(nil, i, 1), nil)
	}
	nw.run(10_000_000)
	out := nw.check()
	if len(out) != 3 || out[2].Proposer != 2 {
		t.Fatalf("late proposer 3 in the output: %d contributions", len(out))
	}
	for i := range 3 {
		if c := nw.afterTerm[i]; c > 0 {
			t.Fatalf("honest node %d sent %d broadcast messages after Subset.Terminated() was true", i, c)
		}
	}
}
