package smt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mass-consensus/mass/internal/store"
	"github.com/mass-consensus/mass/internal/store/mem"
	"github.com/mass-consensus/mass/internal/store/pebble"
)

func TestHashes(t *testing.T) {
	if got := EmptyHash.String(); got != "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d" {
		t.Fatalf("EmptyHash = %s", got)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		k := keyPool(rng, 1)[0]
		v := randValue(rng)
		s := rng.Uint64()
		if LeafHash(k, s, v) != refLeaf(k, s, v) {
			t.Fatal("LeafHash differs from the spec's layout")
		}
		a, b := LeafHash(k, 1, v), EmptyHash
		if InnerHash(a, s, b, s/3) != refInner(a, s, b, s/3) {
			t.Fatal("InnerHash differs from the spec's layout")
		}
	}
	k := Key{0b1010_0000, 0xFF}
	for i, want := range []int{1, 0, 1, 0, 0, 0, 0, 0, 1, 1} {
		if bit(&k, i) != want {
			t.Fatalf("bit %d of %v = %d", i, k, bit(&k, i))
		}
	}
	if p := prefixOf(Key{0xFF, 0xFF, 0xFF}, 11); p != (Key{0xFF, 0xE0}) {
		t.Fatalf("prefixOf 11 bits = %v", p)
	}
}

type kvMaker func(t *testing.T) store.KV

func memKV(t *testing.T) store.KV { return store.WithPrefix(mem.New(), "smt/") }

func pebbleKV(t *testing.T) store.KV {
	db, err := pebble.Open(t.TempDir(), pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return store.WithPrefix(db, "smt/")
}

// TestModel commits random batches over many versions and checks every
// version, and old ones, against the map model and the reference root.
func TestModel(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 4} {
		t.Run(fmt.Sprintf("mem/seed%d", seed), func(t *testing.T) {
			t.Parallel()
			runModel(t, memKV(t), seed, 100, 120)
		})
	}
	t.Run("pebble/seed9", func(t *testing.T) {
		t.Parallel()
		runModel(t, pebbleKV(t), 9, 30, 80)
	})
}

func runModel(t *testing.T, kv store.KV, seed uint64, versions, poolSize int) {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	pool := keyPool(rng, poolSize)
	// A small cache, so that most reads and commits go to the store.
	opts := Options{CacheNodes: 64}
	tr, err := Open(kv, opts)
	if err != nil {
		t.Fatal(err)
	}
	m := model{}
	snaps := []model{{}}
	checkVersion(t, tr, 0, m, pool, rng, 3)
	for v := uint64(1); v <= uint64(versions); v++ {
		n := rng.IntN(40)
		if rng.IntN(8) == 0 {
			n = 0
		}
		ups := randUpdates(rng, pool, n)
		root, sum, err := tr.Commit(v, ups, nil)
		if err != nil {
			t.Fatalf("commit %d: %v", v, err)
		}
		m.apply(ups)
		snaps = append(snaps, maps.Clone(m))
		if want, wantSum := refRoot(m); root != want || sum != wantSum {
			t.Fatalf("commit %d returned %v %d, want %v %d", v, root, sum, want, wantSum)
		}
		if tr.Version() != v || tr.Oldest() != 0 {
			t.Fatalf("after commit %d: Version %d Oldest %d", v, tr.Version(), tr.Oldest())
		}
		checkVersion(t, tr, v, m, pool, rng, 8)
		old := uint64(rng.IntN(int(v) + 1))
		checkVersion(t, tr, old, snaps[old], pool, rng, 4)
		if _, _, err := tr.Root(v + 1); !errors.Is(err, ErrUnknownVersion) {
			t.Fatalf("Root of a future version: %v", err)
		}
		if rng.IntN(10) == 0 { // reopen: the tree resumes from the store alone
			if tr, err = Open(kv, opts); err != nil {
				t.Fatal(err)
			}
			if tr.Version() != v {
				t.Fatalf("reopened at version %d, want %d", tr.Version(), v)
			}
		}
	}
	for old := range snaps {
		checkVersion(t, tr, uint64(old), snaps[old], pool, rng, 2)
	}
}

func TestCommitErrors(t *testing.T) {
	tr, err := Open(memKV(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	k := Key{1}
	for _, c := range []struct {
		name    string
		version uint64
		ups     []Update
		want    error
	}{
		{"version 2 first", 2, nil, ErrUnknownVersion},
		{"version 0", 0, nil, ErrUnknownVersion},
		{"empty value", 1, []Update{{Key: k, Value: []byte{}}}, ErrBadValue},
		{"nil value", 1, []Update{{Key: k}}, ErrBadValue},
		{"oversized value", 1, []Update{{Key: k, Value: make([]byte, MaxValue+1)}}, ErrBadValue},
		{"delete with value", 1, []Update{{Key: k, Value: []byte{1}, Delete: true}}, ErrBadValue},
	} {
		if _, _, err := tr.Commit(c.version, c.ups, nil); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if tr.Version() != 0 {
		t.Fatalf("a failed commit moved the version to %d", tr.Version())
	}
	// Deleting absent keys and an empty list still make versions, with the
	// same root; the last update of a key wins.
	root, sum, err := tr.Commit(1, []Update{{Key: k, Delete: true}}, nil)
	if err != nil || root != EmptyHash || sum != 0 {
		t.Fatalf("commit of a no-op delete: %v %d %v", root, sum, err)
	}
	root, sum, err = tr.Commit(2, []Update{
		{Key: k, Value: []byte("a"), Sum: 1},
		{Key: k, Value: []byte("b"), Sum: 2},
	}, nil)
	if err != nil || root != LeafHash(k, 2, []byte("b")) || sum != 2 {
		t.Fatalf("one-leaf root: %v %d %v", root, sum, err)
	}
	root3, _, err := tr.Commit(3, nil, nil)
	if err != nil || root3 != root {
		t.Fatalf("empty commit changed the root: %v %v", root3, err)
	}
	// Setting a key to what it holds writes no node.
	if _, _, err := tr.Commit(4, []Update{{Key: k, Value: []byte("b"), Sum: 2}}, nil); err != nil {
		t.Fatal(err)
	}
	if n := countKeys(t, tr.kv, nodeKey{version: 4}.appendBytes(nil)[:9]); n != 0 {
		t.Fatalf("an identical update wrote %d nodes", n)
	}
}

// TestRetention commits many versions with Retain = k and checks that old
// versions are pruned, retained ones read and prove, and the store holds
// exactly the nodes of the retained versions: it does not grow with the
// number of versions.
func TestRetention(t *testing.T) {
	for _, retain := range []uint64{1, 3, 8} {
		t.Run(fmt.Sprintf("retain%d", retain), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(retain, 7))
			pool := keyPool(rng, 60)
			kv := memKV(t)
			tr, err := Open(kv, Options{Retain: retain, CacheNodes: 128})
			if err != nil {
				t.Fatal(err)
			}
			m := model{}
			snaps := []model{{}}
			for v := uint64(1); v <= 120; v++ {
				ups := randUpdates(rng, pool, 1+rng.IntN(25))
				if _, _, err := tr.Commit(v, ups, nil); err != nil {
					t.Fatal(err)
				}
				m.apply(ups)
				snaps = append(snaps, maps.Clone(m))
				wantOldest := uint64(0)
				if v+1 > retain {
					wantOldest = v + 1 - retain
				}
				if tr.Oldest() != wantOldest {
					t.Fatalf("version %d: Oldest %d, want %d", v, tr.Oldest(), wantOldest)
				}
				for old := uint64(0); old < wantOldest; old += 1 + uint64(rng.IntN(9)) {
					if _, _, err := tr.Root(old); !errors.Is(err, ErrPruned) {
						t.Fatalf("version %d: Root(%d): %v, want ErrPruned", v, old, err)
					}
					if _, _, err := tr.Get(old, pool[0]); !errors.Is(err, ErrPruned) {
						t.Fatalf("version %d: Get(%d): %v, want ErrPruned", v, old, err)
					}
					if _, err := tr.Prove(old, pool[0]); !errors.Is(err, ErrPruned) {
						t.Fatalf("version %d: Prove(%d): %v, want ErrPruned", v, old, err)
					}
				}
				checkVersion(t, tr, v, m, pool, rng, 2)
				old := wantOldest + uint64(rng.IntN(int(v-wantOldest)+1))
				checkVersion(t, tr, old, snaps[old], pool, rng, 2)
				stored, bound := checkStoredExactly(t, tr)
				// The store holds at most the live nodes of the versions it
				// keeps (at most retain+1 of them), however many versions
				// were committed.
				if stored > bound {
					t.Fatalf("version %d: %d nodes stored, over %d", v, stored, bound)
				}
				if v == 40 || v == 120 {
					t.Logf("version %d: %d nodes stored; the kept versions have %d live nodes in all", v, stored, bound)
				}
			}
		})
	}
}

// checkStoredExactly checks the nodes stored: every node of the readable
// versions is there, and when pruning has caught up the nodes stored are
// exactly those reachable from the versions not pruned, with no stale
// marker or root record of a pruned version left. It returns the node count
// and the sum of the live node counts of the versions walked.
func checkStoredExactly(t *testing.T, tr *Tree) (stored, bound int) {
	t.Helper()
	caughtUp := tr.pruned == min(retainBound(tr.latest, tr.retain), tr.latest-1)
	from := max(tr.oldest, 1)
	if caughtUp {
		from = max(tr.pruned, 1)
	}
	reach := map[nodeKey]bool{}
	var walk func(r ref, depth int, path Key)
	walk = func(r ref, depth int, path Key) {
		switch r.kind {
		case kindEmpty:
			return
		case kindLeaf:
			bound++
			reach[leafNodeKey(r.version, r.key)] = true
			return
		}
		nk := nodeKey{version: r.version, depth: uint8(depth), path: path}
		bound++
		reach[nk] = true
		n, err := tr.node(nk, r)
		if err != nil {
			t.Fatal(err)
		}
		var inPage func(i uint8, depth int, path Key)
		inPage = func(i uint8, depth int, path Key) {
			pn := n.page.nodes[i]
			if !pn.inner {
				walk(n.page.ref(i), depth, path)
				return
			}
			inPage(pn.child[0], depth+1, childPath(path, depth, 0))
			inPage(pn.child[1], depth+1, childPath(path, depth, 1))
		}
		inPage(0, depth, path)
	}
	for v := from; v <= tr.latest; v++ {
		r, err := tr.readRoot(v)
		if err != nil {
			t.Fatalf("root record of version %d: %v", v, err)
		}
		walk(r, 0, Key{})
	}
	seen := map[nodeKey]bool{}
	err := tr.kv.Scan([]byte{prefixNode}, []byte{prefixNode + 1}, func(k, _ []byte) bool {
		var nk nodeKey
		nk.version = binary.BigEndian.Uint64(k[1:9])
		nk.depth = k[9]
		copy(nk.path[:], k[10:])
		seen[nk] = true
		if caughtUp && !reach[nk] {
			t.Errorf("%v stored but unreachable from versions %d..%d", nk, from, tr.latest)
		}
		stored++
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	for nk := range reach {
		if !seen[nk] {
			t.Fatalf("%v of a version from %d on is not stored", nk, from)
		}
	}
	if caughtUp {
		if n := countKeys(t, tr.kv, []byte{prefixStale}) - countRange(t, tr.kv, appendVersionKey(nil, prefixStale, tr.pruned+1), []byte{prefixStale + 1}); n != 0 {
			t.Fatalf("%d stale markers of pruned versions left", n)
		}
		if n := countKeys(t, tr.kv, []byte{prefixRoot}); uint64(n) != tr.latest-from+1 {
			t.Fatalf("%d root records for versions %d..%d", n, from, tr.latest)
		}
		if tr.retain > 0 && tr.latest-from+1 > tr.retain+1 {
			t.Fatalf("%d versions kept with Retain %d", tr.latest-from+1, tr.retain)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	return stored, bound
}

func countRange(t *testing.T, kv store.KV, start, end []byte) int {
	n := 0
	if err := kv.Scan(start, end, func(_, _ []byte) bool { n++; return true }); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRetainLowered keeps every version, then reopens with a Retain and a
// small pruning budget: pruning catches up over several commits, stopping
// inside versions, and the store ends exact.
func TestRetainLowered(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	pool := keyPool(rng, 40)
	kv := memKV(t)
	tr, _ := Open(kv, Options{})
	m := model{}
	for v := uint64(1); v <= 30; v++ {
		ups := randUpdates(rng, pool, 10)
		if _, _, err := tr.Commit(v, ups, nil); err != nil {
			t.Fatal(err)
		}
		m.apply(ups)
	}
	tr, err := Open(kv, Options{Retain: 2})
	if err != nil {
		t.Fatal(err)
	}
	tr.minPrune = 20
	if tr.Oldest() != 29 {
		t.Fatalf("Oldest %d after reopening with Retain 2", tr.Oldest())
	}
	var steps []uint64
	for v := uint64(31); v <= 100; v++ {
		ups := randUpdates(rng, pool, 10)
		if v > 60 {
			ups = nil // empty versions let pruning catch up
		}
		before := tr.pruned
		if _, _, err := tr.Commit(v, ups, nil); err != nil {
			t.Fatal(err)
		}
		m.apply(ups)
		steps = append(steps, tr.pruned)
		if tr.pruned < before || tr.pruned > v-1 || tr.Oldest() != v-1 {
			t.Fatalf("version %d: pruned %d (was %d), Oldest %d", v, tr.pruned, before, tr.Oldest())
		}
		checkVersion(t, tr, v, m, pool, rng, 2)
		checkStoredExactly(t, tr)
		// A reopened tree resumes pruning where the last commit stopped.
		if v%5 == 0 {
			if tr, err = Open(kv, Options{Retain: 2}); err != nil {
				t.Fatal(err)
			}
			tr.minPrune = 20
		}
	}
	t.Logf("pruned up to, after each commit: %v", steps)
	if tr.pruned != 99 || steps[0] >= 29 {
		t.Fatalf("pruning did not go by steps or did not catch up: %v", steps)
	}
	checkStoredExactly(t, tr)
}

func TestOverflow(t *testing.T) {
	kv := memKV(t)
	tr, _ := Open(kv, Options{})
	a, b, c := Key{0x00}, Key{0x80}, Key{0x40}
	root1, sum1, err := tr.Commit(1, []Update{{Key: a, Value: []byte("a"), Sum: math.MaxUint64 - 5}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	before := countKeys(t, kv, nil)
	for _, ups := range [][]Update{
		{{Key: b, Value: []byte("b"), Sum: 6}},
		{{Key: b, Value: []byte("b"), Sum: 3}, {Key: c, Value: []byte("c"), Sum: 3}},
		{{Key: a, Delete: true}, {Key: b, Value: []byte("b"), Sum: math.MaxUint64}, {Key: c, Value: []byte("c"), Sum: 1}},
	} {
		if _, _, err := tr.Commit(2, ups, nil); !errors.Is(err, ErrOverflow) {
			t.Fatalf("commit of %d updates: %v, want ErrOverflow", len(ups), err)
		}
		if tr.Version() != 1 || countKeys(t, kv, nil) != before {
			t.Fatal("a failed commit changed the tree or the store")
		}
		if r, s, _ := tr.Root(1); r != root1 || s != sum1 {
			t.Fatal("a failed commit changed the root")
		}
		if _, _, err := tr.Get(1, b); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get of b after the failed commit: %v", err)
		}
	}
	_, sum, err := tr.Commit(2, []Update{{Key: b, Value: []byte("b"), Sum: 5}}, nil)
	if err != nil || sum != math.MaxUint64 {
		t.Fatalf("commit to the maximum sum: %d %v", sum, err)
	}
}

// failingKV fails Apply while fail is set.
type failingKV struct {
	store.KV
	fail atomic.Bool
}

var errInjected = errors.New("injected failure")

func (f *failingKV) Apply(b *store.Batch, sync bool) error {
	if f.fail.Load() {
		return errInjected
	}
	return f.KV.Apply(b, sync)
}

// TestCrash commits with extra writes, crashes the mem store and reopens:
// the tree and the extra writes are at the last commit. A commit whose batch
// fails changes nothing, in memory or in the cache.
func TestCrash(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 11))
	pool := keyPool(rng, 50)
	base := mem.New()
	fkv := &failingKV{KV: base}
	opts := Options{Prefix: "smt/", Retain: 5}
	tr, err := Open(fkv, opts)
	if err != nil {
		t.Fatal(err)
	}
	height := func(v uint64) func(*store.Batch) {
		return func(b *store.Batch) { b.Put([]byte("app/height"), binary.BigEndian.AppendUint64(nil, v)) }
	}
	m := model{}
	var roots []Hash
	for v := uint64(1); v <= 40; v++ {
		ups := randUpdates(rng, pool, 1+rng.IntN(20))
		if v%7 == 0 {
			// The batch fails: nothing changes, and the retried version
			// (with other updates) is read correctly, not from a cache of
			// the failed attempt.
			fkv.fail.Store(true)
			if _, _, err := tr.Commit(v, randUpdates(rng, pool, 20), height(v)); !errors.Is(err, errInjected) {
				t.Fatalf("commit with a failing store: %v", err)
			}
			fkv.fail.Store(false)
			if tr.Version() != v-1 {
				t.Fatal("a failed commit moved the version")
			}
			// An extra write the store refuses fails the whole commit.
			bad := func(b *store.Batch) { b.Put(nil, []byte("x")) }
			if _, _, err := tr.Commit(v, ups, bad); !errors.Is(err, store.ErrEmptyKey) {
				t.Fatalf("commit with a bad extra write: %v", err)
			}
		}
		root, _, err := tr.Commit(v, ups, height(v))
		if err != nil {
			t.Fatal(err)
		}
		m.apply(ups)
		roots = append(roots, root)
		checkVersion(t, tr, v, m, pool, rng, 2)
		if v%10 == 0 {
			crashed := base.Crash()
			base = crashed
			fkv = &failingKV{KV: base}
			if tr, err = Open(fkv, opts); err != nil {
				t.Fatal(err)
			}
			if tr.Version() != v {
				t.Fatalf("after a crash at version %d: version %d", v, tr.Version())
			}
			if r, _, err := tr.Root(v); err != nil || r != root {
				t.Fatalf("after a crash: root %v %v, want %v", r, err, root)
			}
			h, err := base.Get([]byte("app/height"))
			if err != nil || binary.BigEndian.Uint64(h) != v {
				t.Fatalf("after a crash: app/height %x %v, want %d", h, err, v)
			}
			checkVersion(t, tr, v, m, pool, rng, 4)
			for old := tr.Oldest(); old <= v; old++ {
				if r, _, err := tr.Root(old); err != nil || r != roots[old-1] {
					t.Fatalf("after a crash: root of %d: %v %v", old, r, err)
				}
			}
		}
	}
	// The tree's keys all live under its prefix.
	err = base.Scan(nil, nil, func(k, _ []byte) bool {
		if !bytes.HasPrefix(k, []byte("smt/")) && string(k) != "app/height" {
			t.Errorf("key %q outside the tree's prefix", k)
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentReads reads retained versions while commits run; run it
// with -race.
func TestConcurrentReads(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 21))
	pool := keyPool(rng, 60)
	tr, _ := Open(memKV(t), Options{Retain: 4, CacheNodes: 256})
	var mu sync.Mutex
	snaps := map[uint64]model{0: {}}
	var done atomic.Bool
	var wg sync.WaitGroup
	var reads, pruned atomic.Int64
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(r), 99))
			for !done.Load() {
				latest, oldest := tr.Version(), tr.Oldest()
				v := oldest + uint64(rng.IntN(int(latest-oldest)+1))
				k := pool[rng.IntN(len(pool))]
				val, sum, err := tr.Get(v, k)
				if errors.Is(err, ErrPruned) {
					pruned.Add(1)
					continue
				}
				mu.Lock()
				e, ok := snaps[v][k]
				mu.Unlock()
				switch {
				case ok && (err != nil || !bytes.Equal(val, e.value) || sum != e.sum):
					t.Errorf("version %d key %v: %x %d %v, want %x %d", v, k, val, sum, err, e.value, e.sum)
				case !ok && !errors.Is(err, ErrNotFound):
					t.Errorf("version %d absent key %v: %v", v, k, err)
				}
				p, err := tr.Prove(v, k)
				if errors.Is(err, ErrPruned) {
					continue
				}
				root, _, rerr := tr.Root(v)
				if err != nil || (rerr != nil && !errors.Is(rerr, ErrPruned)) {
					t.Errorf("prove %d: %v %v", v, err, rerr)
				} else if rerr == nil {
					if ok {
						err = p.VerifyInclusion(root, k, e.value, e.sum)
					} else {
						err = p.VerifyExclusion(root, k)
					}
					if err != nil {
						t.Errorf("proof at version %d: %v", v, err)
					}
				}
				reads.Add(1)
			}
		}()
	}
	m := model{}
	for v := uint64(1); v <= 150 && !t.Failed(); v++ {
		ups := randUpdates(rng, pool, 1+rng.IntN(20))
		m.apply(ups)
		mu.Lock()
		snaps[v] = maps.Clone(m)
		mu.Unlock()
		if _, _, err := tr.Commit(v, ups, nil); err != nil {
			t.Error(err)
		}
	}
	done.Store(true)
	wg.Wait()
	t.Logf("%d reads checked, %d found their version pruned", reads.Load(), pruned.Load())
}

// TestCorruption damages stored nodes: reads fail with ErrCorrupt, never
// with a wrong answer or a panic.
func TestCorruption(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 31))
	pool := keyPool(rng, 30)
	kv := memKV(t)
	tr, _ := Open(kv, Options{})
	var ups []Update
	for _, k := range pool {
		ups = append(ups, Update{Key: k, Value: []byte{1, 2, 3}, Sum: 1})
	}
	if _, _, err := tr.Commit(1, ups, nil); err != nil {
		t.Fatal(err)
	}
	var keys, vals [][]byte
	kv.Scan([]byte{prefixNode}, []byte{prefixNode + 1}, func(k, v []byte) bool {
		keys, vals = append(keys, k), append(vals, v)
		return true
	})
	damages := []func(k, v []byte, b *store.Batch){
		func(k, v []byte, b *store.Batch) { b.Delete(k) },
		func(k, v []byte, b *store.Batch) { b.Put(k, v[:len(v)-1]) },
		func(k, v []byte, b *store.Batch) { b.Put(k, append(bytes.Clone(v), 0)) },
		func(k, v []byte, b *store.Batch) { w := bytes.Clone(v); w[len(w)-1] ^= 1; b.Put(k, w) },
		func(k, v []byte, b *store.Batch) { w := bytes.Clone(v); w[0] ^= 3; b.Put(k, w) },
		func(k, v []byte, b *store.Batch) { b.Put(k, vals[(slicesIndex(keys, k)+1)%len(vals)]) },
	}
	// Damage a sample of the nodes, the root among them, in every way.
	sample := append([]int{0}, rng.Perm(len(keys))[:min(30, len(keys))]...)
	for _, i := range sample {
		for d, damage := range damages {
			var b store.Batch
			damage(keys[i], vals[i], &b)
			if err := kv.Apply(&b, false); err != nil {
				t.Fatal(err)
			}
			tr, err := Open(kv, Options{})
			if err != nil {
				t.Fatal(err)
			}
			failed := false
			for _, k := range pool {
				_, _, gerr := tr.Get(1, k)
				_, perr := tr.Prove(1, k)
				for _, err := range []error{gerr, perr} {
					if err != nil && !errors.Is(err, ErrNotFound) {
						if !errors.Is(err, ErrCorrupt) {
							t.Fatalf("node %d damage %d: %v, want ErrCorrupt", i, d, err)
						}
						failed = true
					}
				}
			}
			if !failed {
				t.Fatalf("node %d damage %d went unnoticed by reads", i, d)
			}
			// A commit through a damaged page fails and writes nothing. (A
			// commit reads no leaf: the pages hold the leaves' keys.)
			depth := int(keys[i][9])
			var path Key
			copy(path[:], keys[i][10:])
			for _, k := range pool {
				if depth < KeyBits && prefixOf(k, depth) == path {
					_, _, err := tr.Commit(2, []Update{{Key: k, Value: []byte{9}, Sum: 2}}, nil)
					if !errors.Is(err, ErrCorrupt) || tr.Version() != 1 {
						t.Fatalf("node %d damage %d: commit through it: %v", i, d, err)
					}
					break
				}
			}
			b.Reset()
			b.Put(keys[i], vals[i])
			if err := kv.Apply(&b, false); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func slicesIndex(s [][]byte, x []byte) int {
	for i, e := range s {
		if bytes.Equal(e, x) {
			return i
		}
	}
	return -1
}

func TestOpenCorruptMeta(t *testing.T) {
	kv := memKV(t)
	tr, _ := Open(kv, Options{})
	if _, _, err := tr.Commit(1, []Update{{Key: Key{1}, Value: []byte{1}, Sum: 1}}, nil); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]byte{nil, {1}, append([]byte{2}, make([]byte, 16)...), meta{latest: 1, pruned: 2}.encode(), meta{latest: 9}.encode()} {
		var b store.Batch
		if bad == nil {
			b.Delete([]byte{prefixMeta})
		} else {
			b.Put([]byte{prefixMeta}, bad)
		}
		kv.Apply(&b, false)
		if _, err := Open(kv, Options{}); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("metadata %x: %v, want ErrCorrupt", bad, err)
		}
	}
}

// TestKeyLayout pins the store keys and records of a tree of one leaf and
// of two.
func TestKeyLayout(t *testing.T) {
	kv := mem.New()
	tr, _ := Open(kv, Options{Prefix: "t/"})
	k, k2 := Key{0xC0}, Key{0x01}
	dump := func() string {
		var got []string
		kv.Scan(nil, nil, func(k, v []byte) bool { got = append(got, fmt.Sprintf("%x=%x", k, v)); return true })
		return strings.Join(got, "\n")
	}
	if _, _, err := tr.Commit(1, []Update{{Key: k, Value: []byte("v"), Sum: 7}}, nil); err != nil {
		t.Fatal(err)
	}
	h := LeafHash(k, 7, []byte("v"))
	leafRef := fmt.Sprintf("01%016x%x%x%016x", 1, k[:], h[:], 7)
	want := strings.Join([]string{
		fmt.Sprintf("%x6d=01%016x%016x", "t/", 1, 0),                                 // 'm': latest 1, pruned 0
		fmt.Sprintf("%x6e%016xa0%x=01%x%016x%08x%x", "t/", 1, k[:], k[:], 7, 1, "v"), // 'n': the leaf, under its key
		fmt.Sprintf("%x72%016x=%s", "t/", 1, leafRef),                                // 'r': the root is the leaf
	}, "\n")
	if got := dump(); got != want {
		t.Fatalf("store holds\n%s\nwant\n%s", got, want)
	}
	root, sum, err := tr.Commit(2, []Update{{Key: k2, Value: []byte("w"), Sum: 1}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h2 := LeafHash(k2, 1, []byte("w"))
	leafRef2 := fmt.Sprintf("01%016x%x%x%016x", 2, k2[:], h2[:], 1)
	if root != InnerHash(h2, 1, h, 7) || sum != 8 {
		t.Fatal("two-leaf root")
	}
	// The root page at depth 0: an inner node, its children the two leaves.
	pageKey := fmt.Sprintf("%x6e%016x00%040x", "t/", 2, 0)
	if !strings.Contains(dump(), fmt.Sprintf("%s=0202%s%s", pageKey, leafRef2, leafRef)) {
		t.Fatalf("no root page %s in\n%s", pageKey, dump())
	}
	if !strings.Contains(dump(), fmt.Sprintf("%x72%016x=02%016x%x%016x", "t/", 2, 2, root[:], 8)) {
		t.Fatalf("no root record of version 2 in\n%s", dump())
	}
}

// TestDeepestPaths builds keys that differ only in their last bits, so that
// inner nodes reach depth 159, the last page (at depth 156) holds leaves at
// its boundary (depth 160), and leaves rise from there to the root.
func TestDeepestPaths(t *testing.T) {
	tr, _ := Open(memKV(t), Options{CacheNodes: 16})
	base := Key{0x5A, 0xA5, 0x3C}
	var keys []Key
	for _, b := range []int{159, 158, 157, 156, 155, 140, 3} {
		k := base
		k[b/8] ^= 0x80 >> (b % 8)
		keys = append(keys, k)
	}
	keys = append(keys, base)
	m := model{}
	v := uint64(0)
	step := func(ups []Update) {
		t.Helper()
		v++
		if _, _, err := tr.Commit(v, ups, nil); err != nil {
			t.Fatal(err)
		}
		m.apply(ups)
		checkVersion(t, tr, v, m, keys, rand.New(rand.NewPCG(v, 0)), 10)
		checkStoredExactly(t, tr)
	}
	set := func(k Key) Update { return Update{Key: k, Value: k[:], Sum: uint64(k[19]) + 1} }
	step([]Update{set(base), set(keys[0])}) // two leaves split at depth 159
	p, _ := tr.Prove(v, base)
	if len(p.Siblings) != KeyBits {
		t.Fatalf("proof of a leaf at depth 160 has %d siblings", len(p.Siblings))
	}
	var all []Update
	for _, k := range keys {
		all = append(all, set(k))
	}
	step(all)
	step([]Update{{Key: keys[6], Delete: true}, {Key: keys[5], Delete: true}})
	step([]Update{{Key: keys[0], Delete: true}, {Key: keys[2], Delete: true}, {Key: keys[3], Delete: true}, {Key: keys[4], Delete: true}})
	step([]Update{{Key: keys[1], Delete: true}}) // base rises from depth 160 to the root
	if r, _, _ := tr.Root(v); r != LeafHash(base, uint64(base[19])+1, base[:]) {
		t.Fatal("the last leaf is not the root")
	}
}

// TestCacheBounded reads a tree far larger than its cache: the cache stays
// within its bound.
func TestCacheBounded(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 41))
	pool := keyPool(rng, 400)
	tr, _ := Open(memKV(t), Options{CacheNodes: 64})
	var ups []Update
	for _, k := range pool {
		ups = append(ups, Update{Key: k, Value: []byte{1}, Sum: 1})
	}
	if _, _, err := tr.Commit(1, ups, nil); err != nil {
		t.Fatal(err)
	}
	for _, k := range pool {
		if _, err := tr.Prove(1, k); err != nil {
			t.Fatal(err)
		}
		k[0] ^= 0xFF
		if _, err := tr.Prove(1, k); err != nil {
			t.Fatal(err)
		}
	}
	if n := tr.cache.len(); n > 64 || n < 32 {
		t.Fatalf("%d nodes cached with a bound of 64", n)
	}
	// CLOCK keeps what is used: the root page survives a sweep of the
	// other pages.
	root := nodeKey{version: 1}
	for range 3 {
		for _, k := range pool {
			tr.Get(1, k)
		}
	}
	if tr.cache.get(root) == nil {
		t.Fatal("the root page was evicted")
	}
}

// TestPebbleReopen closes and reopens a Pebble store: the tree resumes at
// its version with the same roots and values.
func TestPebbleReopen(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(51, 51))
	pool := keyPool(rng, 80)
	m := model{}
	var roots []Hash
	for round := range 3 {
		db, err := pebble.Open(dir, pebble.Options{})
		if err != nil {
			t.Fatal(err)
		}
		tr, err := Open(store.WithPrefix(db, "smt/"), Options{Retain: 4})
		if err != nil {
			t.Fatal(err)
		}
		if tr.Version() != uint64(len(roots)) {
			t.Fatalf("round %d: reopened at version %d, want %d", round, tr.Version(), len(roots))
		}
		if len(roots) > 0 {
			if r, _, _ := tr.Root(tr.Version()); r != roots[len(roots)-1] {
				t.Fatalf("round %d: root changed across a reopen", round)
			}
			checkVersion(t, tr, tr.Version(), m, pool, rng, 5)
		}
		for range 6 {
			ups := randUpdates(rng, pool, 20)
			root, _, err := tr.Commit(tr.Version()+1, ups, nil)
			if err != nil {
				t.Fatal(err)
			}
			m.apply(ups)
			roots = append(roots, root)
		}
		checkStoredExactly(t, tr)
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
