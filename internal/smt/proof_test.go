package smt

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// proofTree commits n random keys (and neighbours) in two versions and
// returns the tree, its model and pool.
func proofTree(t *testing.T, seed uint64, n int) (*Tree, model, []Key) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 3))
	pool := keyPool(rng, n)
	tr, err := Open(memKV(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := model{}
	for v := uint64(1); v <= 2; v++ {
		var ups []Update
		for _, k := range pool {
			if rng.IntN(3) != 0 {
				ups = append(ups, Update{Key: k, Value: randValue(rng), Sum: rng.Uint64N(1 << 50)})
			}
		}
		if _, _, err := tr.Commit(v, ups, nil); err != nil {
			t.Fatal(err)
		}
		m.apply(ups)
	}
	return tr, m, pool
}

func TestProofs(t *testing.T) {
	tr, m, pool := proofTree(t, 1, 300)
	root, rootSum, _ := tr.Root(2)
	oldRoot, _, _ := tr.Root(1)
	rng := rand.New(rand.NewPCG(4, 4))
	var kinds [3]int
	for _, k := range pool {
		// Present keys, absent pool keys, and absent keys beside present
		// ones (which end at another leaf, or at an empty subtree).
		probes := []Key{k}
		near := k
		b := 100 + rng.IntN(60)
		near[b/8] ^= 0x80 >> (b % 8)
		probes = append(probes, near)
		var far Key
		for i := range far {
			far[i] = byte(rng.UintN(256))
		}
		probes = append(probes, far)
		for _, k := range probes {
			p, err := tr.Prove(2, k)
			if err != nil {
				t.Fatal(err)
			}
			kinds[p.Terminal]++
			e, present := m[k]
			if present {
				if p.Terminal != TerminalLeaf {
					t.Fatalf("proof of present key %v ends at %d", k, p.Terminal)
				}
				if err := p.VerifyInclusion(root, k, e.value, e.sum); err != nil {
					t.Fatalf("inclusion of %v: %v", k, err)
				}
				h, s, err := p.Verify(k, e.value, e.sum)
				if err != nil || h != root || s != rootSum {
					t.Fatalf("Verify of %v: %v %d %v, want %v %d", k, h, s, err, root, rootSum)
				}
				wrongValue := append([]byte{e.value[0] ^ 1}, e.value[1:]...)
				other := pool[rng.IntN(len(pool))]
				if other == k {
					other[19] ^= 1
				}
				for name, err := range map[string]error{
					"wrong value":      p.VerifyInclusion(root, k, wrongValue, e.sum),
					"longer value":     p.VerifyInclusion(root, k, append(bytes.Clone(e.value), 0), e.sum),
					"wrong sum":        p.VerifyInclusion(root, k, e.value, e.sum+1),
					"old root":         p.VerifyInclusion(oldRoot, k, e.value, e.sum),
					"wrong key":        p.VerifyInclusion(root, other, e.value, e.sum),
					"as exclusion":     p.VerifyExclusion(root, k),
					"empty value":      p.VerifyInclusion(root, k, []byte{}, e.sum),
					"nil value":        p.VerifyInclusion(root, k, nil, e.sum),
					"empty tree root":  p.VerifyInclusion(EmptyHash, k, e.value, e.sum),
					"other key absent": p.VerifyExclusion(root, other),
				} {
					if err == nil {
						t.Fatalf("inclusion of %v verified with %s", k, name)
					}
				}
				continue
			}
			if p.Terminal == TerminalLeaf {
				t.Fatalf("proof of absent key %v ends at its leaf", k)
			}
			if err := p.VerifyExclusion(root, k); err != nil {
				t.Fatalf("exclusion of %v (terminal %d): %v", k, p.Terminal, err)
			}
			h, s, err := p.Verify(k, nil, 0)
			if err != nil || h != root || s != rootSum {
				t.Fatalf("Verify of absent %v: %v %d %v", k, h, s, err)
			}
			for name, err := range map[string]error{
				"old root":     p.VerifyExclusion(oldRoot, k),
				"as inclusion": p.VerifyInclusion(root, k, []byte{1}, 0),
			} {
				if err == nil {
					t.Fatalf("exclusion of %v verified with %s", k, name)
				}
			}
			// The proof must not show the absence of a present key on the
			// same path (the other leaf itself, or a key under the empty
			// subtree made present).
			if p.Terminal == TerminalOther {
				if err := p.VerifyExclusion(root, p.OtherKey); err == nil {
					t.Fatalf("exclusion proof of %v shows the absence of the leaf it ends at", k)
				}
			}
		}
	}
	t.Logf("terminals: %d empty, %d leaf, %d other", kinds[0], kinds[1], kinds[2])
	for kind, n := range kinds {
		if n < 20 {
			t.Fatalf("only %d proofs end at terminal kind %d", n, kind)
		}
	}
}

// TestProofSmallTrees covers the roots that are not inner nodes.
func TestProofSmallTrees(t *testing.T) {
	tr, _ := Open(memKV(t), Options{})
	k, absent := Key{0x12}, Key{0x13}
	p, err := tr.Prove(0, k)
	if err != nil || p.Terminal != TerminalEmpty || len(p.Siblings) != 0 {
		t.Fatalf("proof in the empty tree: %+v %v", p, err)
	}
	if err := p.VerifyExclusion(EmptyHash, k); err != nil {
		t.Fatal(err)
	}
	if b := p.Marshal(); !bytes.Equal(b, []byte{1, 0, 0}) {
		t.Fatalf("empty-tree proof encodes as %x", b)
	}
	root, _, err := tr.Commit(1, []Update{{Key: k, Value: []byte("v"), Sum: 5}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, _ = tr.Prove(1, k)
	if p.Terminal != TerminalLeaf || p.VerifyInclusion(root, k, []byte("v"), 5) != nil {
		t.Fatalf("inclusion in a one-leaf tree: %+v", p)
	}
	p, _ = tr.Prove(1, absent)
	if p.Terminal != TerminalOther || p.OtherKey != k || p.VerifyExclusion(root, absent) != nil {
		t.Fatalf("exclusion in a one-leaf tree: %+v", p)
	}
}

// TestProofForgeries checks the verifier's own rules, on hand-made proofs.
func TestProofForgeries(t *testing.T) {
	k := Key{0xF0}
	other := Key{0xF0, 0x80} // shares the first 8 bits with k
	vh := Hash{1}
	leaf := leafHashOf(other, 3, vh)
	// The other leaf is k itself.
	p := &Proof{Terminal: TerminalOther, OtherKey: k, OtherSum: 3, OtherValueHash: vh}
	if err := p.VerifyExclusion(leafHashOf(k, 3, vh), k); !errors.Is(err, ErrBadProof) {
		t.Fatalf("other leaf = k: %v", err)
	}
	// The other leaf is off k's path: at depth 8 it must share 8 bits.
	sibs := make([]Sibling, 8)
	for i := range sibs {
		sibs[i] = Sibling{Hash: EmptyHash}
	}
	p = &Proof{Siblings: sibs, Terminal: TerminalOther, OtherKey: Key{0x70}, OtherSum: 3, OtherValueHash: vh}
	if _, _, err := p.Verify(k, nil, 0); !errors.Is(err, ErrBadProof) {
		t.Fatalf("other leaf off the path: %v", err)
	}
	p.OtherKey = other
	if _, _, err := p.Verify(k, nil, 0); err != nil {
		t.Fatalf("other leaf on the path: %v", err)
	}
	// Too many siblings.
	p = &Proof{Siblings: make([]Sibling, KeyBits+1), Terminal: TerminalEmpty}
	if _, _, err := p.Verify(k, nil, 0); !errors.Is(err, ErrBadProof) {
		t.Fatalf("161 siblings: %v", err)
	}
	if p.Marshal() != nil {
		t.Fatal("a proof of 161 siblings encodes")
	}
	// Sums that overflow.
	p = &Proof{Siblings: []Sibling{{Hash: leaf, Sum: math.MaxUint64}}, Terminal: TerminalLeaf}
	if _, _, err := p.Verify(k, []byte{1}, 1); !errors.Is(err, ErrOverflow) {
		t.Fatalf("overflowing sums: %v", err)
	}
	// Unknown terminal.
	p = &Proof{Terminal: 3}
	if _, _, err := p.Verify(k, nil, 0); !errors.Is(err, ErrBadProof) || p.Marshal() != nil {
		t.Fatalf("terminal 3: %v", err)
	}
}

func TestUnmarshalProofRejects(t *testing.T) {
	h := EmptyHash
	sib := append(bytes.Repeat([]byte{7}, 32), 0, 0, 0, 0, 0, 0, 0, 1)
	good := append([]byte{1, 0, 3, 0b0100_0000}, sib...)
	if _, err := UnmarshalProof(good); err != nil {
		t.Fatalf("a valid encoding: %v", err)
	}
	for name, b := range map[string][]byte{
		"nothing":              nil,
		"header only 2":        {1, 0},
		"format 0":             {0, 0, 0},
		"format 2":             {2, 0, 0},
		"kind 3":               {1, 3, 0},
		"depth 161":            append([]byte{1, 0, 161}, make([]byte, 21)...),
		"bit beyond depth":     append([]byte{1, 0, 3, 0b0101_0000}, append(sib, sib...)...),
		"empty sibling":        append([]byte{1, 0, 1, 0x80}, append(h[:], make([]byte, 8)...)...),
		"truncated sibling":    good[:len(good)-1],
		"trailing byte":        append(bytes.Clone(good), 0),
		"missing bitmap":       {1, 0, 9, 0},
		"truncated other leaf": append([]byte{1, 2, 0}, make([]byte, 59)...),
		"oversized":            make([]byte, MaxProofSize+1),
	} {
		if _, err := UnmarshalProof(b); !errors.Is(err, ErrBadProof) {
			t.Errorf("%s: %v, want ErrBadProof", name, err)
		}
	}
	// The empty hash with a non-zero sum is a real sibling, written out.
	b := append([]byte{1, 0, 1, 0x80}, append(h[:], 0, 0, 0, 0, 0, 0, 0, 1)...)
	p, err := UnmarshalProof(b)
	if err != nil || !bytes.Equal(p.Marshal(), b) {
		t.Fatalf("empty hash with a sum: %v", err)
	}
	// The largest proof decodes.
	big := &Proof{Siblings: make([]Sibling, KeyBits), Terminal: TerminalOther}
	for i := range big.Siblings {
		big.Siblings[i] = Sibling{Hash: Hash{byte(i)}, Sum: 1}
	}
	if b := big.Marshal(); len(b) != MaxProofSize {
		t.Fatalf("the largest proof is %d bytes, MaxProofSize %d", len(b), MaxProofSize)
	} else if _, err := UnmarshalProof(b); err != nil {
		t.Fatal(err)
	}
}

// claim is what a proof is checked for: k present with value and sum, or
// absent (value nil).
type claim struct {
	root  Hash
	key   Key
	value []byte
	sum   uint64
}

func (c claim) verify(p *Proof) error {
	if c.value == nil {
		return p.VerifyExclusion(c.root, c.key)
	}
	return p.VerifyInclusion(c.root, c.key, c.value, c.sum)
}

// TestProofByteFlips changes every byte of several proofs' encodings (every
// bit, and the whole byte) and cuts and extends them: each change must fail
// to decode or to verify.
func TestProofByteFlips(t *testing.T) {
	tr, m, pool := proofTree(t, 2, 200)
	root, _, _ := tr.Root(2)
	var claims []claim
	want := map[TerminalKind]int{TerminalLeaf: 3, TerminalEmpty: 3, TerminalOther: 3}
	rng := rand.New(rand.NewPCG(8, 8))
	for i := 0; len(claims) < 9 && i < 10000; i++ {
		k := pool[rng.IntN(len(pool))]
		if rng.IntN(2) == 0 {
			b := rng.IntN(KeyBits)
			k[b/8] ^= 0x80 >> (b % 8)
		}
		p, err := tr.Prove(2, k)
		if err != nil {
			t.Fatal(err)
		}
		if want[p.Terminal] == 0 || len(p.Siblings) < 4 {
			continue
		}
		want[p.Terminal]--
		c := claim{root: root, key: k}
		if e, ok := m[k]; ok {
			c.value, c.sum = e.value, e.sum
		}
		claims = append(claims, c)
	}
	if len(claims) != 9 {
		t.Fatalf("found only %d proofs to damage", len(claims))
	}
	// And the proofs of the one-leaf and empty trees.
	small, _ := Open(memKV(t), Options{})
	claims = append(claims, claim{root: EmptyHash, key: Key{1}})
	sroot, _, _ := small.Commit(1, []Update{{Key: Key{2}, Value: []byte("x"), Sum: 4}}, nil)
	claims = append(claims, claim{root: sroot, key: Key{2}, value: []byte("x"), sum: 4}, claim{root: sroot, key: Key{3}})
	for i, c := range claims {
		var p *Proof
		var err error
		if i < 9 {
			p, err = tr.Prove(2, c.key)
		} else {
			p, err = small.Prove(uint64(min(i-9, 1)), c.key)
		}
		if err != nil {
			t.Fatal(err)
		}
		enc := p.Marshal()
		if q, err := UnmarshalProof(enc); err != nil || c.verify(q) != nil {
			t.Fatalf("claim %d: the undamaged proof fails: %v", i, err)
		}
		changed := 0
		try := func(what string, b []byte) {
			changed++
			q, err := UnmarshalProof(b)
			if err != nil {
				return
			}
			if err := c.verify(q); err == nil {
				t.Fatalf("claim %d (terminal %d): proof %s still verifies", i, p.Terminal, what)
			}
		}
		for pos := range enc {
			for _, mask := range []byte{1, 2, 4, 8, 16, 32, 64, 128, 0xFF} {
				b := bytes.Clone(enc)
				b[pos] ^= mask
				try("with a byte changed", b)
			}
		}
		for n := range len(enc) {
			try("cut", enc[:n])
		}
		for _, extra := range []byte{0, 1, 0xFF} {
			try("extended", append(bytes.Clone(enc), extra))
		}
		if changed < len(enc)*9 {
			t.Fatalf("claim %d: only %d changes tried", i, changed)
		}
	}
}
