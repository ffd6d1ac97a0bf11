package smt

import (
	"bytes"
	"errors"
	"maps"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/mass-consensus/mass/internal/store"
)

// countingKV counts the leaves read from the store.
type countingKV struct {
	store.KV
	leafReads atomic.Int64
}

func (c *countingKV) Get(k []byte) ([]byte, error) {
	// A leaf's node key: 'n' ‖ version(8) ‖ depth 160 ‖ key, after the
	// store's prefix (none here).
	if len(k) == nodeKeySize && k[0] == prefixNode && k[9] == KeyBits {
		c.leafReads.Add(1)
	}
	return c.KV.Get(k)
}

// walkModel is what Walk must visit in a model: the keys at or after
// start, in order, the first limit of them, and whether more remain.
func walkModel(m model, start Key, limit int) ([]Key, bool) {
	keys := slices.SortedFunc(maps.Keys(m), compareKeys)
	i, _ := slices.BinarySearchFunc(keys, start, compareKeys)
	keys = keys[i:]
	if len(keys) > limit {
		return keys[:limit], true
	}
	return keys, false
}

// checkWalk walks a version from start and compares with the model.
func checkWalk(t *testing.T, tr *Tree, kv *countingKV, version uint64, m model, start Key, limit int) {
	t.Helper()
	want, wantMore := walkModel(m, start, limit)
	var got []Key
	before := kv.leafReads.Load()
	n, more, err := tr.Walk(version, start, limit, func(k Key, v []byte, s uint64) bool {
		e, ok := m[k]
		if !ok || !bytes.Equal(e.value, v) || e.sum != s {
			t.Fatalf("version %d: walk gave %v = %x sum %d; the model has %x sum %d (present %v)", version, k, v, s, e.value, e.sum, ok)
		}
		got = append(got, k)
		return true
	})
	if err != nil {
		t.Fatalf("version %d: walk from %v limit %d: %v", version, start, limit, err)
	}
	if !slices.Equal(got, want) || n != len(want) || more != wantMore {
		t.Fatalf("version %d: walk from %v limit %d: %d keys (n %d) more %v, want %d keys more %v\n got %v\nwant %v",
			version, start, limit, len(got), n, more, len(want), wantMore, got, want)
	}
	if reads := kv.leafReads.Load() - before; reads > int64(len(want)) {
		t.Fatalf("version %d: walk of %d leaves read %d leaves from the store", version, len(want), reads)
	}
}

// TestWalkModel walks random versions from random starts with random
// limits and compares each walk with the map model: the keys, values,
// sums, their order, whether more remain, and that no leaf outside the
// walk is read.
func TestWalkModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 12))
	pool := keyPool(rng, 150)
	kv := &countingKV{KV: memKV(t)}
	tr, err := Open(kv, Options{CacheNodes: 64})
	if err != nil {
		t.Fatal(err)
	}
	m := model{}
	snaps := []model{{}}
	for v := uint64(1); v <= 40; v++ {
		ups := randUpdates(rng, pool, rng.IntN(30))
		if _, _, err := tr.Commit(v, ups, nil); err != nil {
			t.Fatal(err)
		}
		m.apply(ups)
		snaps = append(snaps, maps.Clone(m))
	}
	for v := range snaps {
		for range 25 {
			var start Key
			switch rng.IntN(4) {
			case 0: // from the beginning
			case 1: // a key of the pool: present or not
				start = pool[rng.IntN(len(pool))]
			case 2: // just after a key of the pool
				start = pool[rng.IntN(len(pool))]
				start[19]++
			default:
				for i := range start {
					start[i] = byte(rng.UintN(256))
				}
			}
			limit := 1 + rng.IntN(20)
			if rng.IntN(5) == 0 {
				limit = MaxWalk
			}
			checkWalk(t, tr, kv, uint64(v), snaps[v], start, limit)
		}
	}
	// Paging through the latest version from the start, a page after the
	// last key of the previous one, visits every key once.
	var all []Key
	var start Key
	for page := 0; ; page++ {
		var last Key
		_, more, err := tr.Walk(40, start, 7, func(k Key, _ []byte, _ uint64) bool { all = append(all, k); last = k; return true })
		if err != nil {
			t.Fatal(err)
		}
		if !more {
			break
		}
		start = successor(last)
		if page > len(pool) {
			t.Fatal("the pages do not end")
		}
	}
	if want := slices.SortedFunc(maps.Keys(m), compareKeys); !slices.Equal(all, want) {
		t.Fatalf("paging visited %d keys, the model has %d", len(all), len(want))
	}
}

// successor is the key after k (k must not be all ones).
func successor(k Key) Key {
	for i := len(k) - 1; i >= 0; i-- {
		k[i]++
		if k[i] != 0 {
			break
		}
	}
	return k
}

// TestWalkEdges: the empty tree, a one-leaf tree, fn stopping the walk,
// bad limits, and versions pruned or not committed yet.
func TestWalkEdges(t *testing.T) {
	kv := &countingKV{KV: memKV(t)}
	tr, err := Open(kv, Options{Retain: 2})
	if err != nil {
		t.Fatal(err)
	}
	noCall := func(Key, []byte, uint64) bool { t.Fatal("fn called on the empty tree"); return true }
	if n, more, err := tr.Walk(0, Key{}, 10, noCall); n != 0 || more || err != nil {
		t.Fatalf("the empty tree: %d %v %v", n, more, err)
	}
	one := Key{0x80}
	if _, _, err := tr.Commit(1, []Update{{Key: one, Value: []byte("x"), Sum: 3}}, nil); err != nil {
		t.Fatal(err)
	}
	checkWalk(t, tr, kv, 1, model{one: {value: []byte("x"), sum: 3}}, Key{}, 1)
	checkWalk(t, tr, kv, 1, model{one: {value: []byte("x"), sum: 3}}, successor(one), 1)
	for _, limit := range []int{0, -1, MaxWalk + 1} {
		if _, _, err := tr.Walk(1, Key{}, limit, noCall); err == nil {
			t.Fatalf("limit %d accepted", limit)
		}
	}
	ups := []Update{{Key: Key{1}, Value: []byte("a")}, {Key: Key{2}, Value: []byte("b")}, {Key: Key{3}, Value: []byte("c")}}
	if _, _, err := tr.Commit(2, ups, nil); err != nil {
		t.Fatal(err)
	}
	var seen []Key
	n, more, err := tr.Walk(2, Key{}, 10, func(k Key, _ []byte, _ uint64) bool { seen = append(seen, k); return len(seen) < 2 })
	if err != nil || n != 2 || !more || !slices.Equal(seen, []Key{{1}, {2}}) {
		t.Fatalf("fn stopping after 2: %d %v %v %v", n, more, err, seen)
	}
	for v := uint64(3); v <= 5; v++ {
		if _, _, err := tr.Commit(v, []Update{{Key: Key{byte(v)}, Value: []byte("v")}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := tr.Walk(1, Key{}, 10, noCall); !errors.Is(err, ErrPruned) {
		t.Fatalf("a pruned version: %v, want ErrPruned", err)
	}
	if _, _, err := tr.Walk(6, Key{}, 10, noCall); !errors.Is(err, ErrUnknownVersion) {
		t.Fatalf("a future version: %v, want ErrUnknownVersion", err)
	}
}

// TestWalkCorrupt: a leaf missing from the store is ErrCorrupt, never a
// walk that silently skips it.
func TestWalkCorrupt(t *testing.T) {
	kv := memKV(t)
	tr, err := Open(kv, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ups := []Update{{Key: Key{1}, Value: []byte("a")}, {Key: Key{2}, Value: []byte("b")}, {Key: Key{3}, Value: []byte("c")}}
	if _, _, err := tr.Commit(1, ups, nil); err != nil {
		t.Fatal(err)
	}
	var b store.Batch
	b.Delete(leafNodeKey(1, Key{2}).appendBytes(nil))
	if err := kv.Apply(&b, true); err != nil {
		t.Fatal(err)
	}
	_, _, err = tr.Walk(1, Key{}, 10, func(Key, []byte, uint64) bool { return true })
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("a missing leaf: %v, want ErrCorrupt", err)
	}
}
