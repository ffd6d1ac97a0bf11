package epoch

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mass-consensus/mass/internal/crypto/tbls"
	"github.com/mass-consensus/mass/internal/protocol/coin"
)

// TestThresholdCoinFromAnEpoch: engines switched to the threshold coin from
// epoch 2 agree on every batch, name the coin of each epoch alike, and
// refuse a switch that would change an epoch already started.
func TestThresholdCoinFromAnEpoch(t *testing.T) {
	const n = 4
	pk, sks, err := tbls.Deal(n, 2, rand.NewChaCha8([32]byte{4}))
	if err != nil {
		t.Fatal(err)
	}
	for seed := uint64(0); seed < 10; seed++ {
		tn := newTestNet(t, n, seed, Config{BatchSize: 4, Window: 2, Era: 1})
		for i, e := range tn.engines {
			if err := e.SetThreshold(2, &coin.Keys{Public: pk, Share: sks[i]}); err != nil {
				t.Fatal(err)
			}
			tn.input(i, Input{Tick: true, Now: 1000})
		}
		for k := range 24 {
			for i := range n {
				tn.input(i, Input{Tx: fmt.Appendf(nil, "tx %d", k)})
			}
			for j := tn.rng.IntN(80); j > 0 && tn.deliver(); j-- {
			}
		}
		for tn.deliver() {
		}
		if len(tn.out[0]) < 4 {
			t.Fatalf("seed %d: %d batches", seed, len(tn.out[0]))
		}
		for i := 1; i < n; i++ {
			if len(tn.out[i]) != len(tn.out[0]) {
				t.Fatalf("seed %d: node %d output %d batches, node 0 %d", seed, i, len(tn.out[i]), len(tn.out[0]))
			}
			for ep, b := range tn.out[0] {
				if !slices.Equal(b.Proposers, tn.out[i][ep].Proposers) || b.Time != tn.out[i][ep].Time {
					t.Fatalf("seed %d: epoch %d differs at node %d", seed, ep, i)
				}
			}
		}
		e := tn.engines[0]
		if e.CoinKind(1) != "local" || e.CoinKind(2) != "threshold" {
			t.Fatalf("coins: epoch 1 %s, epoch 2 %s", e.CoinKind(1), e.CoinKind(2))
		}
	}
}

func TestSetThresholdRefusesAStartedEpoch(t *testing.T) {
	tn := newTestNet(t, 4, 1, Config{Window: 2})
	tn.input(0, Input{Tx: []byte("tx")}) // epoch 0 starts, and proposes
	e := tn.engines[0]
	if err := e.SetThreshold(0, &coin.Keys{}); err == nil {
		t.Fatal("a switch at a started epoch was accepted")
	}
	if err := e.SetThreshold(5, &coin.Keys{}); err != nil {
		t.Fatal(err)
	}
	if e.CoinKind(4) != "local" || e.CoinKind(5) != "threshold" {
		t.Fatal("the switch did not take")
	}
}

// TestUrgentTransactionsGoFirst: an urgent transaction is admitted when the
// queue is full and is in the node's next proposal, ahead of a long queue.
func TestUrgentTransactionsGoFirst(t *testing.T) {
	tn := newTestNet(t, 4, 1, Config{Window: 1, BatchSize: 8, MaxPending: 40})
	e := tn.engines[0]
	for k := range 40 {
		if _, err := e.HandleInput(Input{Tx: fmt.Appendf(nil, "tx %d", k)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.HandleInput(Input{Tx: []byte("one more")}); err == nil {
		t.Fatal("a full queue took another transaction")
	}
	// The node proposed in epoch 0 already; its next proposal starts with it.
	urgent := []byte("key part")
	if _, err := e.HandleInput(Input{Tx: urgent, Urgent: true}); err != nil {
		t.Fatalf("an urgent transaction refused by a full queue: %v", err)
	}
	if e.Stats().Pending != 41 {
		t.Fatalf("%d pending", e.Stats().Pending)
	}
	sample, _ := e.sample()
	if len(sample) == 0 || string(sample[0]) != "key part" {
		t.Fatalf("the next proposal starts with %q", sample)
	}
}
