package sim

import "testing"

// BenchmarkRun measures one simulated run of 10 nodes with 3 faulty under
// the mixed adversary.
func BenchmarkRun(b *testing.B) {
	for i := 0; i < b.N; i++ {
		r := Run(Config{N: 10, Faulty: 3, Adversary: AdvMixed, Seed: uint64(i)})
		if r.Failed() {
			b.Fatal(r.Violations)
		}
	}
}
