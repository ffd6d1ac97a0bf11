package smt

import (
	"encoding/binary"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/mass-consensus/mass/internal/store"
	"github.com/mass-consensus/mass/internal/store/mem"
	"github.com/mass-consensus/mass/internal/store/pebble"
)

const (
	benchKeys  = 1_000_000
	benchBatch = 1_000
)

// benchTree is a tree preloaded with benchKeys random keys, built once per
// process and shared by the benchmarks.
type benchTree struct {
	once sync.Once
	tr   *Tree
	keys []Key
	rng  *rand.Rand
	err  error
}

var benchMem, benchPebble benchTree

// benchCleanup releases what the benchmarks kept for the whole process.
var benchCleanup = func() {}

func TestMain(m *testing.M) {
	code := m.Run()
	benchCleanup()
	os.Exit(code)
}

func (bt *benchTree) get(b *testing.B, open func() (store.KV, error)) *benchTree {
	bt.once.Do(func() {
		start := time.Now()
		kv, err := open()
		if err != nil {
			bt.err = err
			return
		}
		bt.tr, bt.err = Open(kv, Options{Retain: 10, Prefix: "smt/"})
		if bt.err != nil {
			return
		}
		bt.rng = rand.New(rand.NewPCG(1, 1))
		const load = 250_000
		for v := uint64(1); len(bt.keys) < benchKeys; v++ {
			ups := make([]Update, 0, load)
			for range load {
				k := randKey(bt.rng)
				bt.keys = append(bt.keys, k)
				ups = append(ups, Update{Key: k, Value: benchValue(bt.rng), Sum: bt.rng.Uint64N(1 << 32)})
			}
			if _, _, bt.err = bt.tr.Commit(v, ups, nil); bt.err != nil {
				return
			}
		}
		b.Logf("preloaded %d keys in %v", len(bt.keys), time.Since(start).Round(time.Millisecond))
	})
	if bt.err != nil {
		b.Fatal(bt.err)
	}
	return bt
}

func randKey(rng *rand.Rand) Key {
	var k Key
	binary.LittleEndian.PutUint64(k[0:], rng.Uint64())
	binary.LittleEndian.PutUint64(k[8:], rng.Uint64())
	binary.LittleEndian.PutUint32(k[16:], rng.Uint32())
	return k
}

func benchValue(rng *rand.Rand) []byte {
	v := make([]byte, 32)
	for i := 0; i < len(v); i += 8 {
		binary.LittleEndian.PutUint64(v[i:], rng.Uint64())
	}
	return v
}

func openMem() (store.KV, error) { return mem.New(), nil }

// benchCommit commits batches of benchBatch random updates: nine in ten
// overwrite a present key, one in ten adds a key.
func benchCommit(b *testing.B, bt *benchTree) {
	tr, rng := bt.tr, bt.rng
	b.ReportAllocs()
	for b.Loop() {
		ups := make([]Update, 0, benchBatch)
		for range benchBatch {
			var k Key
			if rng.IntN(10) == 0 {
				k = randKey(rng)
				bt.keys = append(bt.keys, k)
			} else {
				k = bt.keys[rng.IntN(len(bt.keys))]
			}
			ups = append(ups, Update{Key: k, Value: benchValue(rng), Sum: rng.Uint64N(1 << 32)})
		}
		if _, _, err := tr.Commit(tr.Version()+1, ups, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "updates/s")
}

// BenchmarkCommit1M commits batches of 1,000 updates to a tree of 10^6 keys
// in the mem store.
func BenchmarkCommit1M(b *testing.B) {
	benchCommit(b, benchMem.get(b, openMem))
}

// BenchmarkCommit1MPebble is BenchmarkCommit1M on Pebble, each commit
// fsynced.
func BenchmarkCommit1MPebble(b *testing.B) {
	bt := benchPebble.get(b, func() (store.KV, error) {
		// The tree outlives this call of the benchmark function (and so
		// b.TempDir): TestMain closes and removes it.
		dir, err := os.MkdirTemp("", "smt-bench-")
		if err != nil {
			return nil, err
		}
		db, err := pebble.Open(dir, pebble.Options{CacheSize: 256 << 20})
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		benchCleanup = func() {
			db.Close()
			os.RemoveAll(dir)
		}
		return db, nil
	})
	benchCommit(b, bt)
}

// BenchmarkGet1M reads random present keys of a tree of 10^6 keys.
func BenchmarkGet1M(b *testing.B) {
	bt := benchMem.get(b, openMem)
	v := bt.tr.Version()
	rng := rand.New(rand.NewPCG(2, 2))
	for b.Loop() {
		if _, _, err := bt.tr.Get(v, bt.keys[rng.IntN(len(bt.keys))]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProve1M proves random keys of a tree of 10^6 keys, half present
// and half absent, and reports the mean size of the compact encoding.
func BenchmarkProve1M(b *testing.B) {
	bt := benchMem.get(b, openMem)
	v := bt.tr.Version()
	rng := rand.New(rand.NewPCG(3, 3))
	total := 0
	for b.Loop() {
		k := bt.keys[rng.IntN(len(bt.keys))]
		if rng.IntN(2) == 0 {
			k = randKey(rng)
		}
		p, err := bt.tr.Prove(v, k)
		if err != nil {
			b.Fatal(err)
		}
		total += len(p.Marshal())
	}
	b.ReportMetric(float64(total)/float64(b.N), "proof-bytes")
}
