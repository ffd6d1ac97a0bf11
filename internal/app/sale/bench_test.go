package sale_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/mass-consensus/mass/internal/app/sale"
	"github.com/mass-consensus/mass/internal/app/sale/fairsim"
	"github.com/mass-consensus/mass/internal/crypto"
)

// BenchmarkCheck verifies a request of 2f+1 stamps (signatures as a batch)
// for n = 4, 16, 64.
func BenchmarkCheck(b *testing.B) {
	for _, n := range []int{4, 16, 64} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			f := newFixture(b, n, params())
			q := f.request(buyer(1), 1, 20_000)
			b.ResetTimer()
			for range b.N {
				if _, err := sale.Check(f.sale, chain, &q, false, sale.Env{Time: 21_000}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStamp is a node's stamp: one signature and the checks.
func BenchmarkStamp(b *testing.B) {
	f := newFixture(b, 4, params())
	st := sale.NewStamper(f.nodes[0], chain, b.N+1)
	q := sale.Request{Sale: 1, Quantity: 1}
	b.ResetTimer()
	for i := range b.N {
		q.Buyer = crypto.PublicKey{byte(i), byte(i >> 8), byte(i >> 16), byte(i >> 24)}
		if _, err := st.Stamp(f.sale, &q, true, 20_000); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAllocate orders and allocates 100,000 kept requests.
func BenchmarkAllocate(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	slots := make([]sale.Slot, 100_000)
	for i := range slots {
		slots[i] = sale.Slot{Fair: 10_000 + rng.Int64N(600_000), Identity: crypto.ID{byte(i), byte(i >> 8), byte(i >> 16)}, Quantity: 1}
	}
	b.ResetTimer()
	for range b.N {
		if _, err := sale.Allocate(sale.Order(slots, [32]byte{1}), 50_000, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSubmitAndClose keeps 100,000 stamped requests (n = 4) in a
// sale on an in-memory store, then allocates it: requests kept per second
// and the close's time (the stamps are signed before the timer).
func BenchmarkSubmitAndClose(b *testing.B) {
	const reqs = 100_000
	p := params()
	p.Supply, p.PerRequest, p.MaxRequests, p.Difficulty, p.MaxAge = 50_000, 1, reqs, 1, 3_600_000
	f := newFixture(b, 4, p)
	rng := rand.New(rand.NewPCG(2, 2))
	all := make([]sale.Request, reqs)
	for i := range all {
		k := fairsim.Key('z', i, 3)
		q := sale.Request{Sale: 1, Buyer: k.Public(), Quantity: 1}
		q.Nonce, _ = sale.SolvePoW(chain, 1, k.Public(), 1, 0, 1<<10)
		all[i] = f.stamp(q, 20_000+rng.Int64N(100_000))
	}
	b.ResetTimer()
	for range b.N {
		s := f.s.Clone()
		for i := range all {
			if _, err := sale.Submit(s, sale.Env{Time: 130_000}, chain, &all[i]); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := sale.EndBlock(s, sale.Env{Time: f.sale.Due()}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(reqs)*float64(b.N)/b.Elapsed().Seconds(), "requests/s")
}
