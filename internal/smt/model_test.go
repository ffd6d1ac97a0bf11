package smt

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mass-consensus/mass/internal/store"
)

// entry is a leaf of the model.
type entry struct {
	value []byte
	sum   uint64
}

// model is the plain map a tree must agree with.
type model map[Key]entry

func (m model) apply(ups []Update) {
	for _, u := range ups {
		if u.Delete {
			delete(m, u.Key)
		} else {
			m[u.Key] = entry{value: bytes.Clone(u.Value), sum: u.Sum}
		}
	}
}

func (m model) total() uint64 {
	var s uint64
	for _, e := range m {
		s += e.sum
	}
	return s
}

// refBit is bit i of k, written out again from the spec rather than shared
// with the package.
func refBit(k Key, i int) int { return int(k[i/8]>>(7-i%8)) & 1 }

// refLeaf and refInner hash from the spec's byte layouts with crypto/sha256
// directly.
func refLeaf(k Key, sum uint64, value []byte) Hash {
	vh := sha256.Sum256(value)
	var b []byte
	b = append(b, 0x01)
	b = append(b, k[:]...)
	b = binary.BigEndian.AppendUint64(b, sum)
	b = append(b, vh[:]...)
	return sha256.Sum256(b)
}

func refInner(l Hash, ls uint64, r Hash, rs uint64) Hash {
	var b []byte
	b = append(b, 0x02)
	b = append(b, l[:]...)
	b = binary.BigEndian.AppendUint64(b, ls)
	b = append(b, r[:]...)
	b = binary.BigEndian.AppendUint64(b, rs)
	return sha256.Sum256(b)
}

// refRoot is a naive reference: it builds the compressed tree of m
// recursively from its sorted keys.
func refRoot(m model) (Hash, uint64) {
	keys := slices.SortedFunc(maps.Keys(m), func(a, b Key) int { return bytes.Compare(a[:], b[:]) })
	var rec func(keys []Key, depth int) (Hash, uint64)
	rec = func(keys []Key, depth int) (Hash, uint64) {
		switch len(keys) {
		case 0:
			return sha256.Sum256([]byte{0}), 0
		case 1:
			e := m[keys[0]]
			return refLeaf(keys[0], e.sum, e.value), e.sum
		}
		var left, right []Key
		for _, k := range keys {
			if refBit(k, depth) == 0 {
				left = append(left, k)
			} else {
				right = append(right, k)
			}
		}
		lh, ls := rec(left, depth+1)
		rh, rs := rec(right, depth+1)
		return refInner(lh, ls, rh, rs), ls + rs
	}
	return rec(keys, 0)
}

// keyPool returns n random keys and, for some of them, neighbours that
// share all but one of the last bits, so that paths run deep.
func keyPool(rng *rand.Rand, n int) []Key {
	var keys []Key
	for range n {
		var k Key
		for i := range k {
			k[i] = byte(rng.UintN(256))
		}
		keys = append(keys, k)
		if rng.IntN(12) == 0 {
			// A neighbour differing in one bit among the last 16: a path
			// some 150 inner nodes deep.
			n := k
			b := KeyBits - 1 - rng.IntN(16)
			n[b/8] ^= 0x80 >> (b % 8)
			keys = append(keys, n)
		}
		if rng.IntN(4) == 0 {
			// A neighbour differing at a random depth.
			n := k
			b := rng.IntN(KeyBits)
			n[b/8] ^= 0x80 >> (b % 8)
			keys = append(keys, n)
		}
	}
	// Duplicates (vanishingly unlikely) would only make the pool smaller.
	slices.SortFunc(keys, func(a, b Key) int { return bytes.Compare(a[:], b[:]) })
	return slices.Compact(keys)
}

func randValue(rng *rand.Rand) []byte {
	n := 1 + rng.IntN(48)
	switch rng.IntN(50) {
	case 0:
		n = 1000 + rng.IntN(3000)
	case 1:
		n = MaxValue
	}
	v := make([]byte, n+7)
	for i := 0; i < n; i += 8 {
		binary.LittleEndian.PutUint64(v[i:], rng.Uint64())
	}
	return v[:n:n]
}

// randUpdates returns n random updates over pool: sets (new keys and
// overwrites), deletes of present and absent keys, and repeats of a key.
func randUpdates(rng *rand.Rand, pool []Key, n int) []Update {
	ups := make([]Update, 0, n)
	for range n {
		k := pool[rng.IntN(len(pool))]
		if len(ups) > 0 && rng.IntN(10) == 0 {
			k = ups[rng.IntN(len(ups))].Key // the same key again in the batch
		}
		if rng.IntN(3) == 0 {
			ups = append(ups, Update{Key: k, Delete: true})
		} else {
			ups = append(ups, Update{Key: k, Value: randValue(rng), Sum: rng.Uint64N(1 << 40)})
		}
	}
	return ups
}

// checkVersion checks every key of the pool, the root and some proofs of a
// version against its model.
func checkVersion(t *testing.T, tr *Tree, version uint64, m model, pool []Key, rng *rand.Rand, proofs int) {
	t.Helper()
	wantRoot, wantSum := refRoot(m)
	root, sum, err := tr.Root(version)
	if err != nil {
		t.Fatalf("version %d: Root: %v", version, err)
	}
	if root != wantRoot || sum != wantSum || sum != m.total() {
		t.Fatalf("version %d: root %v sum %d, reference %v sum %d (model total %d)", version, root, sum, wantRoot, wantSum, m.total())
	}
	for _, k := range pool {
		v, s, err := tr.Get(version, k)
		e, ok := m[k]
		switch {
		case !ok && !errors.Is(err, ErrNotFound):
			t.Fatalf("version %d: Get of absent %v: %x %d %v", version, k, v, s, err)
		case ok && err != nil:
			t.Fatalf("version %d: Get of %v: %v", version, k, err)
		case ok && (!bytes.Equal(v, e.value) || s != e.sum):
			t.Fatalf("version %d: Get of %v: %x sum %d, want %x sum %d", version, k, v, s, e.value, e.sum)
		}
	}
	for range proofs {
		k := pool[rng.IntN(len(pool))]
		if rng.IntN(4) == 0 {
			k[rng.IntN(20)] ^= byte(1 + rng.IntN(255)) // most likely absent
		}
		p, err := tr.Prove(version, k)
		if err != nil {
			t.Fatalf("version %d: Prove %v: %v", version, k, err)
		}
		if e, ok := m[k]; ok {
			if err := p.VerifyInclusion(root, k, e.value, e.sum); err != nil {
				t.Fatalf("version %d: inclusion of %v: %v", version, k, err)
			}
		} else if err := p.VerifyExclusion(root, k); err != nil {
			t.Fatalf("version %d: exclusion of %v: %v", version, k, err)
		}
		q, err := UnmarshalProof(p.Marshal())
		if err != nil {
			t.Fatalf("version %d: proof of %v does not decode: %v", version, k, err)
		}
		if !proofsEqual(p, q) {
			t.Fatalf("version %d: proof of %v changed in a round trip", version, k)
		}
	}
}

func proofsEqual(a, b *Proof) bool {
	return slices.Equal(a.Siblings, b.Siblings) && a.Terminal == b.Terminal &&
		a.OtherKey == b.OtherKey && a.OtherSum == b.OtherSum && a.OtherValueHash == b.OtherValueHash
}

// countKeys counts the keys of kv with a prefix.
func countKeys(t *testing.T, kv store.KV, prefix []byte) int {
	t.Helper()
	n := 0
	if err := kv.Scan(prefix, store.PrefixEnd(prefix), func(_, _ []byte) bool { n++; return true }); err != nil {
		t.Fatal(err)
	}
	return n
}
