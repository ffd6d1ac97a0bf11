package nodesim

import "testing"

// BenchmarkSeed runs whole-node seeds of the sweep at n = 4 (the
// simulator is one thread: run it with -cpu 1); seeds/min is the sweep's
// pace.
func BenchmarkSeed(b *testing.B) {
	seed := uint64(0)
	for b.Loop() {
		if r := Run(SweepConfig(seed)); r.Failed() {
			b.Fatalf("seed %d: %v", seed, r.Violations)
		}
		seed++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Minutes(), "seeds/min")
}
