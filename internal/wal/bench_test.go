package wal

import (
	"path/filepath"
	"testing"
)

// BenchmarkAppendSync measures group commit as a node uses it: a round of
// 256 records of 250 bytes, then one Sync; each round is an epoch, and the
// epochs two rounds old are dropped.
func BenchmarkAppendSync(b *testing.B) {
	b.Run("os", func(b *testing.B) {
		benchmarkAppendSync(b, Options{FS: OSFS()}, filepath.Join(b.TempDir(), "wal"))
	})
	b.Run("mem", func(b *testing.B) {
		benchmarkAppendSync(b, Options{FS: NewMemFS(1)}, "/wal")
	})
}

func benchmarkAppendSync(b *testing.B, opts Options, dir string) {
	const perSync, size = 256, 250
	l, _, _, err := Open(dir, opts)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	data := make([]byte, size)
	b.SetBytes(perSync * size)
	b.ReportAllocs()
	epoch := uint64(0)
	for b.Loop() {
		for range perSync {
			if err := l.Append(epoch, data); err != nil {
				b.Fatal(err)
			}
		}
		if err := l.Sync(); err != nil {
			b.Fatal(err)
		}
		if err := l.DropBelow(epoch - min(epoch, 2)); err != nil {
			b.Fatal(err)
		}
		epoch++
	}
	b.ReportMetric(float64(int(epoch)*perSync)/b.Elapsed().Seconds(), "records/s")
}
