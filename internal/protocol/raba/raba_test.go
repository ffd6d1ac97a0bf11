package raba

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/mass-consensus/mass/internal/crypto/tbls"
	"github.com/mass-consensus/mass/internal/protocol"
	"github.com/mass-consensus/mass/internal/protocol/coin"
	"github.com/mass-consensus/mass/internal/wire"
)

// behaviour is how a test node acts.
type behaviour int

const (
	honest behaviour = iota
	silent
	flipper     // runs the protocol but negates every value it sends
	equivocator // runs the protocol, sending 0s to even nodes and 1s to odd ones
	chaotic     // sends each node a random value of the kind of each message
)

// schedule is how the test network orders deliveries.
type schedule int

const (
	random schedule = iota
	// split delivers inside each half (by id parity) long before across.
	split
	// rushing delivers, to each node, the messages that keep its view of
	// the round mixed first: it looks at the values in flight (the coins
	// are seen as soon as the next round's BVal leaves) and picks the one
	// whose value the receiver has seen least of in that round and kind.
	rushing
	// starve delivers node 0's messages to others last: node 0 sees
	// everything, the others decide without it.
	starve
)

type packet struct {
	from, to protocol.NodeID
	bytes    []byte
}

type network struct {
	t        *testing.T
	p        protocol.Params
	rng      *rand.Rand
	nodes    []*Agreement
	kind     []behaviour
	sched    schedule
	queue    []packet
	inputs   []bool
	outputs  [][]bool
	seen     map[[4]uint32]int // (to, round, kind, value) → delivered count
	panicked string
}

func newNetwork(t *testing.T, n int, kinds []behaviour, sched schedule, seed uint64, mutate func(*Agreement)) *network {
	t.Helper()
	return newNetworkWith(t, n, kinds, sched, seed, mutate, func(i int) coin.Coin {
		return coin.NewLocal(rand.NewPCG(seed, uint64(i)+100))
	})
}

// newCommonNetwork is newNetwork with a threshold coin, keys from a test
// dealer.
func newCommonNetwork(t *testing.T, n int, kinds []behaviour, sched schedule, seed uint64, mutate func(*Agreement)) *network {
	t.Helper()
	keys := dealKeys(t, n, seed)
	return newNetworkWith(t, n, kinds, sched, seed, mutate, func(i int) coin.Coin {
		return coin.NewThreshold(keys[i], protocol.NodeID(i), 1, seed, 0)
	})
}

var dealt = map[[2]uint64][]*coin.Keys{}

// dealKeys deals threshold keys of n nodes (T = F+1), a few sets reused
// across seeds: dealing costs more than a run.
func dealKeys(t *testing.T, n int, seed uint64) []*coin.Keys {
	t.Helper()
	k := [2]uint64{uint64(n), seed % 4}
	if keys := dealt[k]; keys != nil {
		return keys
	}
	pk, sks, err := tbls.Deal(n, (n-1)/3+1, rand.NewChaCha8([32]byte{byte(n), byte(seed % 4)}))
	if err != nil {
		t.Fatal(err)
	}
	keys := make([]*coin.Keys, n)
	for i := range keys {
		keys[i] = &coin.Keys{Public: pk, Share: sks[i]}
	}
	dealt[k] = keys
	return keys
}

func newNetworkWith(t *testing.T, n int, kinds []behaviour, sched schedule, seed uint64, mutate func(*Agreement), coinOf func(int) coin.Coin) *network {
	t.Helper()
	p, err := protocol.NewParams(n)
	if err != nil {
		t.Fatal(err)
	}
	nw := &network{t: t, p: p, rng: rand.New(rand.NewPCG(seed, 1)), kind: kinds, sched: sched,
		outputs: make([][]bool, n), seen: make(map[[4]uint32]int)}
	for i := 0; i < n; i++ {
		a, err := New(Config{Params: p, Self: protocol.NodeID(i), Coin: coinOf(i)})
		if err != nil {
			t.Fatal(err)
		}
		if mutate != nil {
			mutate(a)
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
			if body := nw.transform(from, id, m.Body); body != nil {
				nw.queue = append(nw.queue, packet{from: from, to: id, bytes: encode(body)})
			}
		}
	}
}

// transform is what a faulty node sends in place of an honest message.
func (nw *network) transform(from, to protocol.NodeID, m *Message) *Message {
	switch nw.kind[from] {
	case silent:
		return nil
	case flipper:
		c := *m
		c.Value = flip(c.Kind, c.Value)
		return &c
	case equivocator:
		c := *m
		if to%2 == 1 {
			c.Value = flip(c.Kind, c.Value)
		}
		return &c
	case chaotic:
		c := *m
		switch c.Kind {
		case KindBVal, KindAux, KindTerm:
			c.Value = uint8(nw.rng.IntN(2))
		case KindConf:
			c.Value = SetZero + uint8(nw.rng.IntN(3))
		case KindFinal:
			c.Value = uint8(nw.rng.IntN(3))
		}
		return &c
	}
	return m
}

func flip(k Kind, v uint8) uint8 {
	switch {
	case k == KindConf && v != SetBoth:
		return v ^ SetBoth
	case k == KindFinal && v == Bottom, k == KindConf, k == KindCoin:
		return v
	}
	return v ^ 1
}

// start gives every node its input.
func (nw *network) start(inputs []bool) {
	nw.inputs = inputs
	for i, a := range nw.nodes {
		s, err := a.HandleInput(inputs[i])
		if err != nil {
			nw.t.Fatal(err)
		}
		nw.absorb(protocol.NodeID(i), s)
	}
}

// pick chooses the next packet to deliver.
func (nw *network) pick() int {
	switch nw.sched {
	case split:
		for tries := 0; tries < 8; tries++ {
			i := nw.rng.IntN(len(nw.queue))
			if pk := nw.queue[i]; pk.from%2 == pk.to%2 || nw.rng.IntN(40) == 0 {
				return i
			}
		}
	case rushing:
		return nw.pickRushing()
	case starve:
		for tries := 0; tries < 8; tries++ {
			i := nw.rng.IntN(len(nw.queue))
			if nw.queue[i].from != 0 || nw.rng.IntN(50) == 0 {
				return i
			}
		}
	}
	return nw.rng.IntN(len(nw.queue))
}

// pickRushing delivers the packet whose value its receiver has seen least of,
// for its round and kind, among a random sample of the queue: each view stays
// as mixed as the adversary can make it.
func (nw *network) pickRushing() int {
	best, bestScore := 0, 1<<30
	for tries := 0; tries < 16; tries++ {
		i := nw.rng.IntN(len(nw.queue))
		m, err := Unmarshal(wire.NewReader(nw.queue[i].bytes))
		if err != nil || m.Kind == KindTerm || m.Kind == KindCoin {
			return i
		}
		score := nw.seen[[4]uint32{uint32(nw.queue[i].to), m.Round, uint32(m.Kind), uint32(m.Value)}]
		if score < bestScore {
			best, bestScore = i, score
		}
	}
	return best
}

// run delivers packets until none is left or the budget runs out.
func (nw *network) run(budget int) {
	defer func() {
		if r := recover(); r != nil {
			nw.panicked = fmt.Sprint(r)
		}
	}()
	for steps := 0; len(nw.queue) > 0 && steps < budget; steps++ {
		i := nw.pick()
		pk := nw.queue[i]
		nw.queue[i] = nw.queue[len(nw.queue)-1]
		nw.queue = nw.queue[:len(nw.queue)-1]
		m, err := Unmarshal(wire.NewReader(pk.bytes))
		if err != nil {
			nw.t.Fatalf("undecodable message from %d: %v", pk.from, err)
		}
		nw.seen[[4]uint32{uint32(pk.to), m.Round, uint32(m.Kind), uint32(m.Value)}]++
		nw.deliver(pk, m)
	}
}

// deliver hands a message to its receiver. A faulty node's engine only makes
// the messages it transforms; if the planted bug of a test makes it panic, it
// falls silent.
func (nw *network) deliver(pk packet, m *Message) {
	if nw.kind[pk.to] == honest {
		nw.absorb(pk.to, nw.nodes[pk.to].HandleMessage(pk.from, m))
		return
	}
	defer func() {
		if r := recover(); r != nil {
			nw.kind[pk.to] = silent
		}
	}()
	nw.absorb(pk.to, nw.nodes[pk.to].HandleMessage(pk.from, m))
}

// check returns the first violated property: agreement, validity,
// termination (with nothing in flight), one output per node.
func (nw *network) check() error {
	if nw.panicked != "" {
		return fmt.Errorf("invariant: %s", nw.panicked)
	}
	var decided *bool
	for i, a := range nw.nodes {
		if nw.kind[i] != honest {
			continue
		}
		if len(nw.outputs[i]) != 1 {
			return fmt.Errorf("termination: node %d output %v (round %d, %d in flight)", i, nw.outputs[i], a.Round(), len(nw.queue))
		}
		v := nw.outputs[i][0]
		if decided != nil && *decided != v {
			return fmt.Errorf("agreement: node %d decided %v, another %v", i, v, *decided)
		}
		decided = &v
		if !a.Terminated() {
			return fmt.Errorf("termination: node %d decided but did not terminate", i)
		}
	}
	if decided == nil {
		return nil
	}
	for i, in := range nw.inputs {
		if nw.kind[i] == honest && in == *decided {
			return nil
		}
	}
	return fmt.Errorf("validity: decided %v, no honest input", *decided)
}

// rounds returns the highest own-vote decision round among honest nodes.
func (nw *network) rounds() uint32 {
	var r uint32
	for i, a := range nw.nodes {
		if nw.kind[i] == honest {
			r = max(r, a.DecisionRound())
		}
	}
	return r
}

func kindsWith(n int, faulty behaviour, count int) []behaviour {
	k := make([]behaviour, n)
	for i := 0; i < count; i++ {
		k[n-1-i] = faulty
	}
	return k
}

func randomInputs(rng *rand.Rand, n int) []bool {
	in := make([]bool, n)
	for i := range in {
		in[i] = rng.IntN(2) == 1
	}
	return in
}

// networkMaker builds a test network: newNetwork (local coins) or
// newCommonNetwork (the threshold coin).
type networkMaker func(t *testing.T, n int, kinds []behaviour, sched schedule, seed uint64, mutate func(*Agreement)) *network

// TestProperties runs every combination of size, faulty behaviour and
// schedule over many seeds and checks agreement, validity and termination.
func TestProperties(t *testing.T) {
	seeds := 60
	if testing.Short() {
		seeds = 15
	}
	checkProperties(t, newNetwork, seeds)
}

func checkProperties(t *testing.T, newNet networkMaker, seeds int) {
	for _, n := range []int{1, 4, 7, 10} {
		f := (n - 1) / 3
		for _, b := range []behaviour{silent, flipper, equivocator, chaotic} {
			for _, sc := range []schedule{random, split, rushing, starve} {
				for seed := uint64(0); seed < uint64(seeds); seed++ {
					nw := newNet(t, n, kindsWith(n, b, f), sc, seed, nil)
					nw.start(randomInputs(nw.rng, n))
					nw.run(5_000_000)
					if err := nw.check(); err != nil {
						t.Fatalf("n=%d behaviour=%d schedule=%d seed=%d: %v", n, b, sc, seed, err)
					}
				}
			}
		}
	}
}

// TestUnanimityDecidesInRoundOne: when every honest input is the same, every
// honest node decides it in round 1, whatever the faulty nodes do.
func TestUnanimityDecidesInRoundOne(t *testing.T) {
	for _, n := range []int{4, 7, 10} {
		for _, b := range []behaviour{silent, flipper, equivocator} {
			for _, v := range []bool{false, true} {
				for seed := uint64(0); seed < 10; seed++ {
					nw := newNetwork(t, n, kindsWith(n, b, (n-1)/3), rushing, seed, nil)
					in := make([]bool, n)
					for i := range in {
						in[i] = v
					}
					nw.start(in)
					nw.run(5_000_000)
					if err := nw.check(); err != nil {
						t.Fatalf("n=%d b=%d v=%v seed=%d: %v", n, b, v, seed, err)
					}
					for i, a := range nw.nodes {
						if nw.kind[i] == honest && a.DecisionRound() > 1 {
							t.Fatalf("n=%d b=%d v=%v seed=%d: node %d decided in round %d", n, b, v, seed, i, a.DecisionRound())
						}
					}
				}
			}
		}
	}
}

// TestPlantedBugIsCaught is the vacuity test of the checks above: deciding
// on F+1 Final(w) instead of N−F must break agreement under some schedule.
func TestPlantedBugIsCaught(t *testing.T) {
	weak := func(a *Agreement) { a.decideQuorum = a.p.F + 1 }
	caught := 0
	for seed := uint64(0); seed < 5000 && caught == 0; seed++ {
		for _, sc := range []schedule{split, rushing, starve} {
			nw := newNetwork(t, 4, kindsWith(4, chaotic, 1), sc, seed, weak)
			nw.start(randomInputs(nw.rng, 4))
			nw.run(1_000_000)
			if err := nw.check(); err != nil {
				t.Logf("seed %d schedule %d: %v", seed, sc, err)
				caught++
			}
		}
	}
	if caught == 0 {
		t.Fatal("deciding on F+1 Final messages was never caught")
	}
}

// TestLateStarter: a node that gets its input only after the others ran many
// rounds (as in the common subset) still decides, and so do the others.
func TestLateStarter(t *testing.T) {
	for seed := uint64(0); seed < 20; seed++ {
		nw := newNetwork(t, 4, kindsWith(4, honest, 0), rushing, seed, nil)
		inputs := []bool{false, true, true, false}
		nw.inputs = inputs
		for i := 0; i < 3; i++ {
			s, _ := nw.nodes[i].HandleInput(inputs[i])
			nw.absorb(protocol.NodeID(i), s)
		}
		nw.run(3_000)
		s, _ := nw.nodes[3].HandleInput(inputs[3])
		nw.absorb(3, s)
		nw.run(5_000_000)
		if err := nw.check(); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
	}
}

// TestReproposal: a node that input 0 and reproposes 1 in round 1 counts as
// a node with input 1; one that reproposes later changes nothing.
func TestReproposal(t *testing.T) {
	nw := newNetwork(t, 4, kindsWith(4, honest, 0), random, 1, nil)
	nw.start([]bool{false, false, false, false})
	for i := range nw.nodes {
		nw.absorb(protocol.NodeID(i), nw.nodes[i].Repropose())
	}
	nw.inputs = []bool{true, true, true, true}
	nw.run(1_000_000)
	if err := nw.check(); err != nil {
		t.Fatal(err)
	}
	// After the decision, a reproposal sends nothing.
	if s := nw.nodes[0].Repropose(); len(s.Messages) != 0 {
		t.Fatalf("reproposal after termination sent %v", s.Messages)
	}
}

func TestRoundsUnderAttack(t *testing.T) {
	for _, n := range []int{4, 7, 10} {
		mean, worst := roundsUnderAttack(t, newNetwork, n)
		t.Logf("n=%d: mean %.1f rounds, worst %d, under a rushing split with equivocators", n, mean, worst)
	}
}

// roundsUnderAttack runs 30 seeds of n nodes with split inputs, the rushing
// schedule and F equivocators, checks each, and returns the mean and the
// worst decision round.
func roundsUnderAttack(t *testing.T, newNet networkMaker, n int) (float64, uint32) {
	var sum, worst uint32
	const seeds = 30
	for seed := uint64(0); seed < seeds; seed++ {
		nw := newNet(t, n, kindsWith(n, equivocator, (n-1)/3), rushing, seed, nil)
		in := make([]bool, n)
		for i := range in {
			in[i] = i%2 == 0
		}
		nw.start(in)
		nw.run(20_000_000)
		if err := nw.check(); err != nil {
			t.Fatalf("n=%d seed=%d: %v", n, seed, err)
		}
		sum += nw.rounds()
		worst = max(worst, nw.rounds())
	}
	return float64(sum) / seeds, worst
}

// TestCommonCoinProperties is TestProperties with the threshold coin: the
// rounds end after Conf, on the coin (see the package doc).
func TestCommonCoinProperties(t *testing.T) {
	seeds := 15
	if testing.Short() {
		seeds = 8
	}
	checkProperties(t, newCommonNetwork, seeds)
}

// TestCommonCoinUnanimity: with a common coin, unanimous honest inputs of 1
// decide in round 1 (the scheduled coin), and of 0 in the first round from 2
// on whose coin is 0, whatever the faulty nodes do.
func TestCommonCoinUnanimity(t *testing.T) {
	for _, n := range []int{4, 7, 10} {
		for _, b := range []behaviour{silent, flipper, equivocator} {
			for _, v := range []bool{false, true} {
				for seed := uint64(0); seed < 6; seed++ {
					nw := newCommonNetwork(t, n, kindsWith(n, b, (n-1)/3), rushing, seed, nil)
					in := make([]bool, n)
					for i := range in {
						in[i] = v
					}
					nw.start(in)
					nw.run(5_000_000)
					if err := nw.check(); err != nil {
						t.Fatalf("n=%d b=%d v=%v seed=%d: %v", n, b, v, seed, err)
					}
					first := firstZeroCoin(t, n, seed)
					want := uint32(1)
					if !v {
						want = first
					}
					for i, a := range nw.nodes {
						if nw.kind[i] == honest && a.DecisionRound() != 0 && a.DecisionRound() != want {
							t.Fatalf("n=%d b=%d v=%v seed=%d: node %d decided in round %d, want %d", n, b, v, seed, i, a.DecisionRound(), want)
						}
					}
				}
			}
		}
	}
}

// TestCommonCoinRoundsUnderAttack: the rushing split with equivocators, which
// keeps a local coin going for rounds growing with n, ends in a few rounds.
func TestCommonCoinRoundsUnderAttack(t *testing.T) {
	for _, n := range []int{4, 7, 10} {
		mean, worst := roundsUnderAttack(t, newCommonNetwork, n)
		t.Logf("n=%d: mean %.1f rounds, worst %d", n, mean, worst)
		if mean > 5 {
			t.Errorf("n=%d: mean %.1f rounds with a common coin", n, mean)
		}
	}
}

// firstZeroCoin is the first round from 2 on whose threshold coin is 0, for
// the keys and coin name of newCommonNetwork.
func firstZeroCoin(t *testing.T, n int, seed uint64) uint32 {
	keys := dealKeys(t, n, seed)
	for r := uint32(2); ; r++ {
		name := coin.Name(1, seed, 0, r)
		var shares []tbls.SigShare
		for _, k := range keys[:keys[0].Public.T()] {
			sh, err := k.Share.Sign(name)
			if err != nil {
				t.Fatal(err)
			}
			shares = append(shares, sh)
		}
		sig, err := keys[0].Public.Combine(name, shares)
		if err != nil {
			t.Fatal(err)
		}
		if !tbls.CoinBit(sig) {
			return r
		}
	}
}
