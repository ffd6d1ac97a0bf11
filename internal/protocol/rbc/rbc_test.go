package rbc

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/reedsolomon"

	"github.com/mass-consensus/mass/internal/protocol"
)

var testSizes = []int{1, 4, 5, 7, 10, 16}

// Every honest node delivers exactly the proposer's value, whatever the
// order of messages, with up to f nodes silent.
func TestHonestDelivery(t *testing.T) {
	seeds := 40
	if testing.Short() {
		seeds = 8
	}
	for _, n := range testSizes {
		p := mustParams(t, n)
		k := dataShards(p)
		lengths := []int{0, 1, k - 1, k, k + 1, 3*k + 2, 4*k - 4, 4*k - 3, 257}
		for seed := range seeds {
			t.Run(fmt.Sprintf("n=%d/seed=%d", n, seed), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(seed), uint64(n)))
				proposer := protocol.NodeID(rng.IntN(n))
				silent := map[protocol.NodeID]bool{}
				for _, i := range rng.Perm(n)[:rng.IntN(p.F+1)] {
					if protocol.NodeID(i) != proposer {
						silent[protocol.NodeID(i)] = true
					}
				}
				size := rng.IntN(2000)
				if seed < len(lengths) {
					size = lengths[seed]
				}
				value := randomBytes(rng, size)
				nw := newNetwork(t, p, proposer, silent, rng)
				nw.wire = true
				nw.input(proposer, value)
				nw.run()
				if got, want := nw.checkAgreement(value), n-len(silent); got != want {
					t.Fatalf("%d nodes delivered, want %d (silent %v)", got, want, silent)
				}
				for i, fs := range nw.faults {
					if len(fs) > 0 {
						t.Fatalf("node %d reported faults in an honest run: %v", i, fs)
					}
				}
			})
		}
	}
}

// A proposer that sends two codings to two halves of the honest nodes, helped
// by f−1 other faulty nodes that echo and ready for both sides, never makes
// two honest nodes deliver different values.
func TestEquivocation(t *testing.T) {
	seeds := 60
	if testing.Short() {
		seeds = 10
	}
	for _, n := range []int{4, 5, 7, 10, 16} {
		p := mustParams(t, n)
		counts := map[string]int{}
		for seed := range seeds {
			rng := rand.New(rand.NewPCG(uint64(seed), uint64(1000+n)))
			perm := rng.Perm(n)
			proposer := protocol.NodeID(perm[0])
			faulty := map[protocol.NodeID]bool{}
			for _, i := range perm[:p.F] {
				faulty[protocol.NodeID(i)] = true
			}
			var honest []protocol.NodeID
			for _, i := range perm[p.F:] {
				honest = append(honest, protocol.NodeID(i))
			}
			vA := randomBytes(rng, 1+rng.IntN(300))
			vB := randomBytes(rng, 1+rng.IntN(300))
			if bytes.Equal(vA, vB) {
				vB = append(vB, 1)
			}
			cA, err := Encode(p, vA)
			if err != nil {
				t.Fatal(err)
			}
			cB, err := Encode(p, vB)
			if err != nil {
				t.Fatal(err)
			}
			split := rng.IntN(len(honest) + 1)
			side := map[protocol.NodeID]*Coding{}
			for j, h := range honest {
				side[h] = cA
				if j >= split {
					side[h] = cB
				}
			}
			nw := newNetwork(t, p, proposer, faulty, rng)
			for _, h := range honest {
				nw.inject(proposer, h, side[h].Message(KindVal, int(h)))
			}
			for j := range faulty {
				for _, h := range honest {
					// Mostly the side of the recipient; sometimes the
					// other side, or both in a random order.
					c, other := side[h], cA
					if c == cA {
						other = cB
					}
					switch rng.IntN(4) {
					case 0:
						c = other
					case 1:
						nw.inject(j, h, other.Message(KindEcho, int(j)))
						nw.inject(j, h, other.Message(KindReady, 0))
					}
					nw.inject(j, h, c.Message(KindEcho, int(j)))
					nw.inject(j, h, c.Message(KindReady, 0))
				}
			}
			nw.run()
			switch d := nw.checkAgreement(vA, vB); {
			case d == 0:
				counts["none"]++
			case d == len(honest):
				counts["all"]++
			default:
				t.Fatalf("seed %d: %d of %d honest nodes delivered", seed, d, len(honest))
			}
			for _, h := range honest {
				for _, f := range nw.faults[h] {
					if !faulty[f.Node] {
						t.Fatalf("seed %d: node %d blamed honest node %d: %v", seed, h, f.Node, f)
					}
				}
			}
		}
		t.Logf("n=%d: honest nodes delivered all %d times, none %d times", n, counts["all"], counts["none"])
	}
}

// A VAL whose branch does not prove its shard is a fault and sends nothing;
// the state is unchanged, so a correct VAL after it is echoed.
func TestBadBranch(t *testing.T) {
	p := mustParams(t, 7)
	c, err := Encode(p, []byte("the value"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(Config{Params: p, Self: 3, Proposer: 0})
	if err != nil {
		t.Fatal(err)
	}
	good := c.Message(KindVal, 3)

	badBranch := *good
	badBranch.Branch = append([][32]byte(nil), good.Branch...)
	badBranch.Branch[1][5] ^= 1
	badShard := *good
	badShard.Shard = append([]byte(nil), good.Shard...)
	badShard.Shard[0] ^= 0x80
	badRoot := *good
	badRoot.Root[0] ^= 1
	short := *good
	short.Branch = good.Branch[:len(good.Branch)-1]
	for name, m := range map[string]*Message{"branch": &badBranch, "shard": &badShard, "root": &badRoot, "short": &short} {
		s := b.HandleMessage(0, m)
		if len(s.Messages) != 0 || len(s.Output) != 0 {
			t.Errorf("%s: bad VAL produced %d messages", name, len(s.Messages))
		}
		if !hasFault(s, 0, FaultBadBranch) || len(s.Faults) != 1 {
			t.Errorf("%s: faults %v, want %s", name, s.Faults, FaultBadBranch)
		}
	}
	s := b.HandleMessage(0, good)
	if len(s.Faults) != 0 || len(s.Messages) != 1 || s.Messages[0].Body.Kind != KindEcho || !s.Messages[0].To.All {
		t.Fatalf("good VAL after bad ones: %+v", s)
	}
}

// VAL checks: sender, index, duplicates.
func TestValFaults(t *testing.T) {
	p := mustParams(t, 4)
	c, err := Encode(p, []byte("v"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := Encode(p, []byte("w"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(Config{Params: p, Self: 1, Proposer: 0})
	if err != nil {
		t.Fatal(err)
	}
	expectFault(t, b.HandleMessage(2, c.Message(KindVal, 1)), 2, FaultValNotFromProposer)
	expectFault(t, b.HandleMessage(0, c.Message(KindVal, 2)), 0, FaultWrongIndex)
	if s := b.HandleMessage(0, c.Message(KindVal, 1)); len(s.Messages) != 1 || len(s.Faults) != 0 {
		t.Fatalf("first VAL: %+v", s)
	}
	if s := b.HandleMessage(0, c.Message(KindVal, 1)); !s.Empty() {
		t.Fatalf("identical duplicate VAL: %+v", s)
	}
	expectFault(t, b.HandleMessage(0, other.Message(KindVal, 1)), 0, FaultDuplicate)
	expectFault(t, b.HandleMessage(0, nil), 0, FaultMalformed)
	expectFault(t, b.HandleMessage(0, &Message{Kind: 9}), 0, FaultMalformed)
	expectFault(t, b.HandleMessage(2, &Message{Kind: KindReady, Shard: []byte{1}}), 2, FaultMalformed)
	if s := b.HandleMessage(protocol.NodeID(p.N), c.Message(KindEcho, 1)); !s.Empty() {
		t.Fatalf("message from a node out of range: %+v", s)
	}
}

// An ECHO must carry the sender's own shard; a second differing ECHO is a
// fault, an identical one is ignored.
func TestEchoFaults(t *testing.T) {
	p := mustParams(t, 4)
	c, err := Encode(p, []byte("v"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := Encode(p, []byte("w"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(Config{Params: p, Self: 1, Proposer: 0})
	if err != nil {
		t.Fatal(err)
	}
	expectFault(t, b.HandleMessage(2, c.Message(KindEcho, 3)), 2, FaultWrongIndex)
	bad := *c.Message(KindEcho, 2)
	bad.Shard = append([]byte{}, bad.Shard...)
	bad.Shard[len(bad.Shard)-1] ^= 1
	expectFault(t, b.HandleMessage(2, &bad), 2, FaultBadBranch)
	if s := b.HandleMessage(2, c.Message(KindEcho, 2)); !s.Empty() {
		t.Fatalf("first ECHO: %+v", s)
	}
	if s := b.HandleMessage(2, c.Message(KindEcho, 2)); !s.Empty() {
		t.Fatalf("identical duplicate ECHO: %+v", s)
	}
	expectFault(t, b.HandleMessage(2, other.Message(KindEcho, 2)), 2, FaultDuplicate)
	if s := b.HandleMessage(3, c.Message(KindReady, 0)); !s.Empty() {
		t.Fatalf("one READY with f = 1: %+v", s)
	}
}

func expectFault(t *testing.T, s Step, node protocol.NodeID, kind protocol.FaultKind) {
	t.Helper()
	if len(s.Faults) != 1 || !hasFault(s, node, kind) || len(s.Messages) != 0 || len(s.Output) != 0 {
		t.Fatalf("step %+v, want only fault %s of node %d", s, kind, node)
	}
}

func hasFault(s Step, node protocol.NodeID, kind protocol.FaultKind) bool {
	for _, f := range s.Faults {
		if f.Node == node && f.Kind == kind {
			return true
		}
	}
	return false
}

// reencode fills the parity shards of shards from its data shards.
func reencode(t *testing.T, p protocol.Params, shards [][]byte) {
	t.Helper()
	k := dataShards(p)
	if p.N == k {
		return
	}
	enc, err := reedsolomon.New(k, p.N-k)
	if err != nil {
		t.Fatal(err)
	}
	if err := enc.Encode(shards); err != nil {
		t.Fatal(err)
	}
}

func cloneShards(shards [][]byte) [][]byte {
	out := make([][]byte, len(shards))
	for i, s := range shards {
		out[i] = bytes.Clone(s)
	}
	return out
}

// A proposer that commits to shards that are not the honest encoding of a
// value gets no honest READY, and is reported.
func TestInconsistentEncoding(t *testing.T) {
	for _, n := range []int{2, 4, 7, 10} {
		p := mustParams(t, n)
		k := dataShards(p)
		rng := rand.New(rand.NewPCG(7, uint64(n)))
		value := randomBytes(rng, 10*k+1) // leaves padding
		honest, err := Encode(p, value)
		if err != nil {
			t.Fatal(err)
		}
		size := len(honest.Shards[0])
		cases := map[string][][]byte{}

		garbage := make([][]byte, n)
		for i := range garbage {
			garbage[i] = randomBytes(rng, size)
		}
		cases["garbage"] = garbage

		if n > k {
			parity := cloneShards(honest.Shards)
			parity[n-1][0] ^= 1
			cases["one parity shard off"] = parity
		}

		long := cloneShards(honest.Shards)
		long[0][0] = 0x7f // length prefix far beyond k·S
		reencode(t, p, long)
		cases["length prefix too large"] = long

		over := cloneShards(honest.Shards) // length one past k·S − 4
		binary.BigEndian.PutUint32(over[0], uint32(k*size-3))
		reencode(t, p, over)
		cases["length prefix one too large"] = over

		padding := cloneShards(honest.Shards)
		padding[k-1][size-1] = 1
		reencode(t, p, padding)
		cases["non-zero padding"] = padding

		wide := make([][]byte, n) // a valid prefix and value, but S too large
		for i := range wide {
			wide[i] = make([]byte, size+1)
		}
		flat := make([]byte, 0, k*(size+1))
		flat = append(flat, honest.Shards[0][:4]...)
		flat = append(flat, value...)
		for i := range k {
			copy(wide[i], flat[min(len(flat), i*(size+1)):min(len(flat), (i+1)*(size+1))])
		}
		reencode(t, p, wide)
		cases["shard size not canonical"] = wide

		uneven := cloneShards(honest.Shards)
		uneven[1] = append(uneven[1], 0)
		cases["uneven shard sizes"] = uneven

		for name, shards := range cases {
			t.Run(fmt.Sprintf("n=%d/%s", n, name), func(t *testing.T) {
				c := Commit(shards)
				proposer := protocol.NodeID(0)
				absent := map[protocol.NodeID]bool{proposer: true}
				nw := newNetwork(t, p, proposer, absent, rand.New(rand.NewPCG(1, 2)))
				for i := 1; i < n; i++ {
					nw.inject(proposer, protocol.NodeID(i), c.Message(KindVal, i))
					// The proposer echoes and readies too.
					nw.inject(proposer, protocol.NodeID(i), c.Message(KindEcho, 0))
					if p.F > 0 {
						nw.inject(proposer, protocol.NodeID(i), c.Message(KindReady, 0))
					}
				}
				nw.run()
				reported := 0
				for i := 1; i < n; i++ {
					if r := nw.readiesSent(i); len(r) != 0 {
						t.Fatalf("honest node %d sent READY", i)
					}
					if len(nw.outputs[i]) != 0 {
						t.Fatalf("honest node %d delivered", i)
					}
					for _, f := range nw.faults[i] {
						if f.Node != proposer || f.Kind != FaultInconsistentEncoding {
							t.Fatalf("node %d: unexpected fault %v", i, f)
						}
						reported++
					}
				}
				if reported != n-1 {
					t.Fatalf("%d of %d honest nodes reported %s", reported, n-1, FaultInconsistentEncoding)
				}
			})
		}
	}
}

// The thresholds are exact: READY needs n−f ECHOs or f+1 READYs, delivery
// needs 2f+1 READYs and k ECHOs.
func TestThresholds(t *testing.T) {
	for _, n := range []int{4, 7, 10, 16} {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			p := mustParams(t, n)
			k := dataShards(p)
			value := []byte("thresholds")
			c, err := Encode(p, value)
			if err != nil {
				t.Fatal(err)
			}
			self := protocol.NodeID(n - 1)
			newNode := func() *Broadcast {
				b, err := New(Config{Params: p, Self: self, Proposer: 0})
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
			readies := func(s Step) int {
				r := 0
				for _, m := range s.Messages {
					if m.Body.Kind == KindReady {
						if m.Body.Root != c.Root || !m.To.All {
							t.Fatalf("bad READY %+v", m)
						}
						r++
					}
				}
				return r
			}

			// ECHOs: n−f−1 are not enough for READY, n−f are.
			b := newNode()
			for j := range p.Quorum() - 1 {
				if s := b.HandleMessage(protocol.NodeID(j), c.Message(KindEcho, j)); readies(s) != 0 || len(s.Output) != 0 {
					t.Fatalf("READY after %d ECHOs", j+1)
				}
			}
			j := p.Quorum() - 1
			if s := b.HandleMessage(protocol.NodeID(j), c.Message(KindEcho, j)); readies(s) != 1 {
				t.Fatalf("no READY after n−f = %d ECHOs", j+1)
			}

			// READYs: f are not enough, f+1 are.
			b = newNode()
			for j := range p.F {
				if s := b.HandleMessage(protocol.NodeID(j), c.Message(KindReady, 0)); readies(s) != 0 {
					t.Fatalf("READY after %d READYs", j+1)
				}
			}
			if s := b.HandleMessage(protocol.NodeID(p.F), c.Message(KindReady, 0)); readies(s) != 1 {
				t.Fatalf("no READY after f+1 = %d READYs", p.F+1)
			}
			// Delivery with k ECHOs waits for 2f+1 READYs held, counting
			// the node's own (sent after f+1).
			b = newNode()
			for j := range k {
				if s := b.HandleMessage(protocol.NodeID(j), c.Message(KindEcho, j)); len(s.Output) != 0 || readies(s) != 0 {
					t.Fatalf("READY or delivery with %d ECHOs", j+1)
				}
			}
			sent := 0
			for j := range 2*p.F + 1 {
				s := b.HandleMessage(protocol.NodeID(j), c.Message(KindReady, 0))
				sent += readies(s)
				held := j + 1 + sent
				switch {
				case held < 2*p.F+1 && len(s.Output) != 0:
					t.Fatalf("delivered with %d READYs held", held)
				case held >= 2*p.F+1:
					if len(s.Output) != 1 || !bytes.Equal(s.Output[0], value) || !b.Terminated() {
						t.Fatalf("no delivery with %d READYs held and k ECHOs: %+v", held, s)
					}
				}
				if b.Terminated() {
					break
				}
			}
			if !b.Terminated() {
				t.Fatal("not delivered")
			}

			// 2f+1 READYs but only k−1 ECHOs: no delivery; the kth delivers.
			b = newNode()
			for j := range 2*p.F + 1 {
				if s := b.HandleMessage(protocol.NodeID(j), c.Message(KindReady, 0)); len(s.Output) != 0 {
					t.Fatalf("delivered with no ECHO")
				}
			}
			for j := range k - 1 {
				if s := b.HandleMessage(protocol.NodeID(j), c.Message(KindEcho, j)); len(s.Output) != 0 {
					t.Fatalf("delivered with %d ECHOs", j+1)
				}
			}
			s := b.HandleMessage(protocol.NodeID(k-1), c.Message(KindEcho, k-1))
			if len(s.Output) != 1 || !bytes.Equal(s.Output[0], value) {
				t.Fatalf("no delivery with k ECHOs")
			}
			if s := b.HandleMessage(protocol.NodeID(k), c.Message(KindEcho, k)); !s.Empty() {
				t.Fatalf("message after delivery: %+v", s)
			}
		})
	}
}

// Beyond 256 nodes the code works over GF(2^16) with 64-byte shard units.
func TestLargeNodeSets(t *testing.T) {
	for _, n := range []int{256, 257, 300, protocol.MaxNodes} {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			p := mustParams(t, n)
			k := dataShards(p)
			rng := rand.New(rand.NewPCG(3, uint64(n)))
			value := randomBytes(rng, 5*k+3)
			c, err := Encode(p, value)
			if err != nil {
				t.Fatal(err)
			}
			if n > 256 && len(c.Shards[0])%64 != 0 {
				t.Fatalf("shard size %d", len(c.Shards[0]))
			}
			b, err := New(Config{Params: p, Self: 0, Proposer: 1})
			if err != nil {
				t.Fatal(err)
			}
			var out [][]byte
			// k ECHOs from the last nodes: parity shards only.
			for _, j := range rng.Perm(n)[:k] {
				m := roundTrip(t, p, c.Message(KindEcho, j))
				s := b.HandleMessage(protocol.NodeID(j), m)
				if len(s.Faults) != 0 {
					t.Fatal(s.Faults)
				}
			}
			for j := range 2*p.F + 1 {
				s := b.HandleMessage(protocol.NodeID(j), c.Message(KindReady, 0))
				out = append(out, s.Output...)
			}
			if len(out) != 1 || !bytes.Equal(out[0], value) {
				t.Fatalf("delivered %d values", len(out))
			}
		})
	}
}

// The encoding follows the specified layout.
func TestEncodingLayout(t *testing.T) {
	for _, n := range []int{1, 2, 3, 4, 7, 16} {
		p := mustParams(t, n)
		k := dataShards(p)
		for _, size := range []int{0, 1, k, 4*k - 4, 4*k - 3, 1000} {
			value := bytes.Repeat([]byte{0xab}, size)
			c, err := Encode(p, value)
			if err != nil {
				t.Fatal(err)
			}
			s := max(1, (4+size+k-1)/k)
			if len(c.Shards) != n {
				t.Fatalf("%d shards", len(c.Shards))
			}
			var data []byte
			for i, sh := range c.Shards {
				if len(sh) != s {
					t.Fatalf("n=%d size=%d: shard %d of %d bytes, want %d", n, size, i, len(sh), s)
				}
				if i < k {
					data = append(data, sh...)
				}
				if !verifyBranch(c.Root, n, i, sh, c.Branches[i]) {
					t.Fatalf("branch %d does not verify", i)
				}
			}
			want := append([]byte{byte(size >> 24), byte(size >> 16), byte(size >> 8), byte(size)}, value...)
			want = append(want, make([]byte, k*s-len(want))...)
			if !bytes.Equal(data, want) {
				t.Fatalf("n=%d size=%d: data shards are not prefix ‖ value ‖ zeros", n, size)
			}
			if Commit(c.Shards).Root != c.Root {
				t.Fatal("Commit disagrees with Encode")
			}
		}
	}

	// The Merkle tree of three shards, by hand.
	shards := [][]byte{{1}, {2, 2}, {3}}
	leaf := func(i int, b []byte) [32]byte { return sha256Sum(append([]byte{0, 0, byte(i)}, b...)) }
	inner := func(l, r [32]byte) [32]byte { return sha256Sum(append(append([]byte{1}, l[:]...), r[:]...)) }
	empty := sha256Sum([]byte{2})
	l0, l1, l2 := leaf(0, shards[0]), leaf(1, shards[1]), leaf(2, shards[2])
	root := inner(inner(l0, l1), inner(l2, empty))
	c := Commit(shards)
	if c.Root != root {
		t.Fatal("Merkle root differs from the specification")
	}
	if len(c.Branches[2]) != 2 || c.Branches[2][0] != empty || c.Branches[2][1] != inner(l0, l1) {
		t.Fatal("branch of leaf 2 differs from the specification")
	}
	if one := Commit([][]byte{{9}}); one.Root != leaf(0, []byte{9}) || len(one.Branches[0]) != 0 {
		t.Fatal("tree of one leaf")
	}
}

func TestConfigAndInput(t *testing.T) {
	p := mustParams(t, 4)
	for _, cfg := range []Config{
		{Params: protocol.Params{N: 0}},
		{Params: protocol.Params{N: 4, F: 2}},
		{Params: protocol.Params{N: 4, F: -1}},
		{Params: protocol.Params{N: protocol.MaxNodes + 1}},
		{Params: p, Self: 4},
		{Params: p, Proposer: 4},
		{Params: p, MaxValueSize: -1},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
	b, err := New(Config{Params: p, Self: 1, Proposer: 0})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.HandleInput([]byte("x")); !errors.Is(err, ErrNotProposer) {
		t.Errorf("input at a non-proposer: %v", err)
	}
	b, err = New(Config{Params: p, Self: 0, Proposer: 0, MaxValueSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.HandleInput(make([]byte, 11)); !errors.Is(err, ErrValueTooLarge) {
		t.Errorf("oversized input: %v", err)
	}
	s, err := b.HandleInput(make([]byte, 10))
	if err != nil {
		t.Fatal(err)
	}
	vals, echoes := 0, 0
	for _, m := range s.Messages {
		switch {
		case m.Body.Kind == KindVal && !m.To.All && m.To.Node != 0 && int(m.Body.Index) == int(m.To.Node):
			vals++
		case m.Body.Kind == KindEcho && m.To.All && m.Body.Index == 0:
			echoes++
		default:
			t.Errorf("unexpected message %v to %+v", m.Body.Kind, m.To)
		}
	}
	if vals != 3 || echoes != 1 {
		t.Errorf("proposer sent %d VALs and %d ECHOs", vals, echoes)
	}
	if _, err := b.HandleInput(nil); !errors.Is(err, ErrInputTwice) {
		t.Errorf("second input: %v", err)
	}

	// A single node delivers at once.
	one, err := New(Config{Params: mustParams(t, 1)})
	if err != nil {
		t.Fatal(err)
	}
	s, err = one.HandleInput([]byte("alone"))
	if err != nil || len(s.Output) != 1 || string(s.Output[0]) != "alone" || !one.Terminated() {
		t.Fatalf("n=1: %+v, %v", s, err)
	}
}

func sha256Sum(b []byte) [32]byte { return sha256.Sum256(b) }
