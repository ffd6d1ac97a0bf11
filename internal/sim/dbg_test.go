package sim

import (
	"fmt"
	"testing"
)

func TestDbg(t *testing.T) {
	for seed := uint64(1); seed <= 100; seed++ {
		r := Run(Config{N: 10, Faulty: 3, Adversary: AdvMixed, Seed: seed})
		if r.Rescues > 0 {
			fmt.Println(seed, r.Rescues, r.CatchUps)
		}
	}
}
