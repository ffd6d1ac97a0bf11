package raba

import (
	"slices"
	"testing"

	"github.com/mass-consensus/mass/internal/crypto/tbls"
	"github.com/mass-consensus/mass/internal/protocol"
	"github.com/mass-consensus/mass/internal/protocol/coin"
	"github.com/mass-consensus/mass/internal/wire"
)

// The late-confirmation attack on a common coin.
//
// With a common coin an adversary that controls the schedule still sees the
// coin of a round as soon as one honest node has sent its share (it holds the
// faulty nodes' shares). If a node that is late in the round can still be
// led to adopt a value after that, the adversary picks the value against the
// coin, and the split never ends. With the Final-based rounds (the
// local-coin rules) this works: the late node Y confirms ¬c from Aux it is
// shown, and the faulty node's Final(¬c) is then valid at Y (F+1 Conf({¬c}),
// Y's own among them), so Y adopts ¬c while the others took c. The
// common-coin rounds end on the node's own Conf quorum, which always holds
// an honest Conf sent before the coin was revealed, so Y takes c.
//
// The driver below runs that attack, scripted, for N = 4: X = 0 and Z = 1
// finish the round and toss; Y = 2 is held back until the coin is known;
// node 3 is faulty and sends whatever each step needs.

const lcX, lcZ, lcY, lcF = protocol.NodeID(0), protocol.NodeID(1), protocol.NodeID(2), protocol.NodeID(3)

type lateCoinNet struct {
	t       *testing.T
	nodes   []*Agreement // 0–2; node 3 is the adversary's
	keys    []*coin.Keys
	seed    uint64
	queue   []packet // messages to honest nodes
	outputs [][]bool
}

func newLateCoinNet(t *testing.T, seed uint64, finalRules bool) *lateCoinNet {
	t.Helper()
	p, _ := protocol.NewParams(4)
	d := &lateCoinNet{t: t, keys: dealKeys(t, 4, seed), seed: seed, outputs: make([][]bool, 3)}
	for i := range 3 {
		a, err := New(Config{Params: p, Self: protocol.NodeID(i), Coin: coin.NewThreshold(d.keys[i], protocol.NodeID(i), 1, seed, 0)})
		if err != nil {
			t.Fatal(err)
		}
		if finalRules {
			a.common = false // the planted rule: Final-based rounds with a common coin
		}
		d.nodes = append(d.nodes, a)
	}
	return d
}

func (d *lateCoinNet) absorb(from protocol.NodeID, s Step) {
	d.outputs[from] = append(d.outputs[from], s.Output...)
	if from != lcF && len(s.Faults) > 0 {
		for _, f := range s.Faults {
			if f.Node != lcF {
				d.t.Fatalf("honest node %d blamed: %s", f.Node, f.Kind)
			}
		}
	}
	for _, m := range s.Messages {
		for to := range protocol.NodeID(3) {
			if m.To.Includes(from, to) {
				d.queue = append(d.queue, packet{from: from, to: to, bytes: encode(m.Body)})
			}
		}
	}
}

// inject hands a message of the faulty node to an honest one at once.
func (d *lateCoinNet) inject(to protocol.NodeID, m *Message) {
	d.absorb(to, d.nodes[to].HandleMessage(lcF, m))
}

// pump delivers, in queue order, every packet pred accepts, including those
// the deliveries cause, until none is left.
func (d *lateCoinNet) pump(pred func(pk packet, m *Message) bool) {
	for {
		i := slices.IndexFunc(d.queue, func(pk packet) bool { return pred(pk, decode(d.t, pk)) })
		if i < 0 {
			return
		}
		pk := d.queue[i]
		d.queue = slices.Delete(d.queue, i, i+1)
		d.absorb(pk.to, d.nodes[pk.to].HandleMessage(pk.from, decode(d.t, pk)))
	}
}

func decode(t *testing.T, pk packet) *Message {
	m, err := Unmarshal(wire.NewReader(pk.bytes))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func to(ids ...protocol.NodeID) func(packet) bool {
	return func(pk packet) bool { return slices.Contains(ids, pk.to) }
}

func of(kind Kind, r uint32) func(*Message) bool {
	return func(m *Message) bool { return m.Kind == kind && m.Round == r }
}

func (d *lateCoinNet) pumpTo(dest func(packet) bool, what func(*Message) bool) {
	d.pump(func(pk packet, m *Message) bool { return dest(pk) && what(m) })
}

func valued(f func(*Message) bool, v uint8) func(*Message) bool {
	return func(m *Message) bool { return f(m) && m.Value == v }
}

// coinOf is the coin of round r as the adversary learns it: scheduled, or
// from the faulty node's own share and the first honest share it sees.
func (d *lateCoinNet) coinOf(r uint32) (bool, bool) {
	if d.nodes[lcX].common {
		if v, ok := ScheduledCoin(r); ok {
			return v, true
		}
	} else if r == 1 {
		return true, true
	}
	name := coin.Name(1, d.seed, 0, r)
	own, err := d.keys[lcF].Share.Sign(name)
	if err != nil {
		d.t.Fatal(err)
	}
	for _, pk := range d.queue {
		if m := decode(d.t, pk); m.Kind == KindCoin && m.Round == r {
			var sh tbls.SigShare
			if err := sh.UnmarshalBinary(m.Coin); err != nil {
				d.t.Fatal(err)
			}
			sig, err := d.keys[0].Public.Recover(name, []tbls.SigShare{own, sh})
			if err != nil {
				d.t.Fatal(err)
			}
			return tbls.CoinBit(sig), true
		}
	}
	return false, false
}

func (d *lateCoinNet) shareOfF(r uint32) *Message {
	sh, err := d.keys[lcF].Share.Sign(coin.Name(1, d.seed, 0, r))
	if err != nil {
		d.t.Fatal(err)
	}
	b, _ := sh.MarshalBinary()
	return &Message{Kind: KindCoin, Round: r, Coin: b}
}

// attackRound runs round r: X and Z finish it seeing both values and toss;
// then Y is led to confirm the value against the coin. It reports whether Y
// left the round with another estimate than X.
func (d *lateCoinNet) attackRound(r uint32) bool {
	xz := to(lcX, lcZ)
	for _, v := range []uint8{0, 1} {
		for _, id := range []protocol.NodeID{lcX, lcZ, lcY} {
			d.inject(id, &Message{Kind: KindBVal, Round: r, Value: v})
		}
	}
	// X's first value in bin_values is 0, Z's is 1 (X relays 1 to Z);
	// then both have both.
	d.pumpTo(to(lcX), valued(of(KindBVal, r), 0))
	d.pumpTo(to(lcX), valued(of(KindBVal, r), 1))
	d.pumpTo(to(lcZ), valued(of(KindBVal, r), 1))
	d.pumpTo(xz, of(KindBVal, r))
	if d.nodes[lcX].rounds[r].firstBin != 1 || d.nodes[lcZ].rounds[r].firstBin != 2 {
		d.t.Fatalf("round %d: the schedule did not put 0 first at X and 1 first at Z", r)
	}
	d.inject(lcX, &Message{Kind: KindAux, Round: r, Value: 1})
	d.inject(lcZ, &Message{Kind: KindAux, Round: r, Value: 0})
	d.pumpTo(xz, of(KindAux, r))
	for _, id := range []protocol.NodeID{lcX, lcZ} {
		d.inject(id, &Message{Kind: KindConf, Round: r, Value: SetBoth})
	}
	d.pumpTo(xz, of(KindConf, r))
	for _, id := range []protocol.NodeID{lcX, lcZ} {
		d.inject(id, &Message{Kind: KindFinal, Round: r, Value: Bottom})
	}
	d.pumpTo(xz, of(KindFinal, r))
	c, ok := d.coinOf(r)
	if !ok {
		d.t.Fatalf("round %d: X and Z did not toss", r)
	}
	for _, id := range []protocol.NodeID{lcX, lcZ} {
		d.inject(id, d.shareOfF(r))
	}
	d.pumpTo(xz, of(KindCoin, r))
	// Y, late: ¬c first in its bin_values, Aux(¬c) from F and from
	// whichever of X and Z sent it, then F's Conf({¬c}) and Final(¬c).
	v := b2u(!c)
	d.pumpTo(to(lcY), valued(of(KindBVal, r), v))
	d.inject(lcY, &Message{Kind: KindAux, Round: r, Value: v})
	d.pumpTo(to(lcY), valued(of(KindAux, r), v))
	d.pumpTo(to(lcY), of(KindBVal, r))
	d.inject(lcY, &Message{Kind: KindConf, Round: r, Value: SetZero << v})
	d.pumpTo(to(lcY), of(KindConf, r))
	d.inject(lcY, &Message{Kind: KindFinal, Round: r, Value: v})
	d.pumpTo(to(lcY), of(KindFinal, r))
	d.inject(lcY, d.shareOfF(r))
	d.pumpTo(to(lcY), of(KindCoin, r))
	// The rest of the round, to everyone.
	d.pump(func(_ packet, m *Message) bool { return m.Kind != KindTerm && m.Round <= r })
	return d.nodes[lcY].est != d.nodes[lcX].est
}

func (d *lateCoinNet) decided() int {
	n := 0
	for _, out := range d.outputs {
		if len(out) > 0 {
			n++
		}
	}
	return n
}

// TestLateConfirmationAttack: the scripted attack keeps the Final-based
// rounds split for as long as it runs, although every coin is common; the
// common-coin rounds end the split in the first round, and every honest node
// decides the same value.
func TestLateConfirmationAttack(t *testing.T) {
	const rounds = 30
	for seed := uint64(0); seed < 4; seed++ {
		planted := newLateCoinNet(t, seed, true)
		planted.start([]bool{false, true, false})
		for r := uint32(1); r <= rounds; r++ {
			if !planted.attackRound(r) {
				t.Fatalf("seed %d: the attack on the Final-based rounds failed in round %d", seed, r)
			}
		}
		if planted.decided() != 0 || planted.nodes[lcY].Round() != rounds+1 {
			t.Fatalf("seed %d: a node decided under the split", seed)
		}

		d := newLateCoinNet(t, seed, false)
		d.start([]bool{false, true, false})
		if d.attackRound(1) {
			t.Fatalf("seed %d: Y adopted the value against the coin in a common-coin round", seed)
		}
		d.pump(func(packet, *Message) bool { return true })
		for r := uint32(2); d.decided() < 3; r++ {
			if r > 40 {
				t.Fatalf("seed %d: %d of 3 decided by round 40", seed, d.decided())
			}
			for _, id := range []protocol.NodeID{lcX, lcZ, lcY} {
				d.inject(id, d.shareOfF(r))
			}
			d.pump(func(packet, *Message) bool { return true })
		}
		want := d.outputs[0][0]
		for i, out := range d.outputs {
			if len(out) != 1 || out[0] != want {
				t.Fatalf("seed %d: node %d output %v, node 0 %v", seed, i, out, want)
			}
		}
	}
}

func (d *lateCoinNet) start(inputs []bool) {
	for i, v := range inputs {
		s, err := d.nodes[i].HandleInput(v)
		if err != nil {
			d.t.Fatal(err)
		}
		d.absorb(protocol.NodeID(i), s)
	}
}
