package sim

import (
	"fmt"
	"reflect"
	"runtime"
	"testing"

	"github.com/mass-consensus/mass/internal/crypto/tbls"
	"github.com/mass-consensus/mass/internal/protocol/acs"
	"github.com/mass-consensus/mass/internal/protocol/coin"
	"github.com/mass-consensus/mass/internal/protocol/epoch"
	"github.com/mass-consensus/mass/internal/protocol/raba"
)

// splitConfigs are splitcoin runs with F faulty nodes: seeds[i] runs of
// sizes[i] nodes each, from seed first.
func splitConfigs(sizes, seeds []int, coinName string, first uint64, faultPhase int64) []Config {
	var out []Config
	for i, n := range sizes {
		for s := 0; s < seeds[i]; s++ {
			out = append(out, Config{N: n, Faulty: (n - 1) / 3, Adversary: AdvSplitCoin, Seed: first + uint64(s), Coin: coinName, FaultPhase: faultPhase})
		}
	}
	return out
}

// roundFigures formats a size's decision rounds for the log.
func roundFigures(s Summary) string {
	return fmt.Sprintf("n=%2d %-9s coin: %4d instances, mean %.3f, p99 %s, max %d; coins the adversary learned %d",
		s.N, s.Coin, s.Rounds.Instances, s.Rounds.Mean(), roundName(s.Rounds.Quantile(0.99)), s.Rounds.Max, s.CoinsRevealed)
}

// TestThresholdCoinRounds runs the splitting scheduler against the
// threshold coin: the decision round of an agreement instance stays
// constant as n grows, where with the local coin it grows.
//
// The scheduler splits round 1 of a contested instance (its coin, 1, is
// known), and from round 2 keeps the split only when its guess of the coin
// was wrong; when it was right it still makes every node take the coin
// without deciding, so the next rounds are unanimous and decide once a coin
// agrees. A contested instance (F of the N per epoch) thus decides in round
// 1+A+B, A and B geometric of mean 2: mean 5, and beyond round 10 with
// probability 10/512. Over all instances (about a third contested) that is
// a mean near 2.3 and a 99th percentile of 10 or less. (With round 2's coin
// scheduled too, 0, the 99th percentile was 11 from n = 10.)
func TestThresholdCoinRounds(t *testing.T) {
	// The largest first: they take longest, and the runs go in parallel.
	sizes, seeds, least := []int{16, 10, 7, 4}, []int{2, 2, 2, 3}, uint64(200)
	if testing.Short() {
		sizes, seeds, least = []int{7, 4}, []int{1, 2}, 100
	}
	threshold := Sweep(splitConfigs(sizes, seeds, CoinThreshold, 1, 0), runtime.GOMAXPROCS(0))
	local := Sweep(splitConfigs(sizes, seeds, CoinLocal, 1, 0), runtime.GOMAXPROCS(0))
	requireClean(t, threshold)
	requireClean(t, local)
	th, lo := Summarize(threshold), Summarize(local)
	for i, s := range th {
		t.Log(roundFigures(s))
		t.Log(roundFigures(lo[i]))
		if s.Rounds.Instances < least {
			t.Errorf("n=%d: %d agreement instances, too few to measure", s.N, s.Rounds.Instances)
		}
		if s.CoinsRevealed == 0 {
			t.Errorf("n=%d: no threshold coin tossed", s.N)
		}
		if m := s.Rounds.Mean(); m > 3 {
			t.Errorf("n=%d: mean decision round %.3f with the threshold coin", s.N, m)
		}
		if q := s.Rounds.Quantile(0.99); q > 10 {
			t.Errorf("n=%d: 99th percentile of the decision round %d with the threshold coin", s.N, q)
		}
		// The local coin is what the threshold coin is for: from n = 10
		// the scheduler keeps its splits through the fault phase.
		if s.N >= 10 && lo[i].Rounds.Mean() < 2*s.Rounds.Mean() {
			t.Errorf("n=%d: mean decision round %.3f with the local coin, %.3f with the threshold coin", s.N, lo[i].Rounds.Mean(), s.Rounds.Mean())
		}
	}
}

// TestPredictableCoinKeepsSplits shows TestThresholdCoinRounds cannot pass
// vacuously: with every coin known to the adversary before anybody tosses
// it, the same scheduler keeps the contested instances split through the
// whole fault phase. So it does exploit what it knows, and the few rounds
// with the real coin are owed to the coin being unpredictable.
func TestPredictableCoinKeepsSplits(t *testing.T) {
	cfgs := splitConfigs([]int{4, 7}, []int{2, 2}, CoinThreshold, 1, 600)
	real := Sweep(cfgs, runtime.GOMAXPROCS(0))
	for i := range cfgs {
		cfgs[i].foresight = true
	}
	foreseen := Sweep(cfgs, runtime.GOMAXPROCS(0))
	requireClean(t, real)
	requireClean(t, foreseen)
	for i, r := range Summarize(real) {
		f := Summarize(foreseen)[i]
		t.Logf("%s\n(foresight) %s", roundFigures(r), roundFigures(f))
		if f.Rounds.Mean() < 2*r.Rounds.Mean() {
			t.Errorf("n=%d: mean decision round %.3f with a predictable coin, %.3f with the real one", r.N, f.Rounds.Mean(), r.Rounds.Mean())
		}
		if f.Rounds.Hist[RoundBuckets-1] == 0 {
			t.Errorf("n=%d: with a predictable coin no instance stayed split to round %d: %+v", r.N, RoundBuckets, f.Rounds)
		}
	}
}

// TestThresholdCoinTossed checks that runs with the threshold coin do toss
// it (the adversary learned coins from honest shares), that the honest
// nodes' decisions never contradict (the checkers, and raba panics on a
// node deciding both ways), that other adversaries are fine with it too,
// and that such runs are deterministic.
func TestThresholdCoinTossed(t *testing.T) {
	cfgs := splitConfigs([]int{4, 7}, []int{2, 2}, CoinThreshold, 50, 500)
	for _, adv := range []string{AdvMixed, AdvSlow, AdvABA} {
		for seed := uint64(50); seed < 53; seed++ {
			cfgs = append(cfgs, Config{N: 7, Faulty: 2, Adversary: adv, Seed: seed, Coin: CoinThreshold, FaultPhase: 500})
		}
	}
	results := Sweep(cfgs, runtime.GOMAXPROCS(0))
	requireClean(t, results)
	for _, r := range results[:4] {
		if r.CoinsRevealed == 0 {
			t.Errorf("seed %d, n=%d: no threshold coin tossed under splitcoin", r.Config.Seed, r.Config.N)
		}
	}
	if again := Run(cfgs[0]); !reflect.DeepEqual(again, results[0]) {
		t.Fatalf("two runs of one seed differ:\n%+v\n%+v", again, results[0])
	}
	s := newSim(Config{N: 4, Faulty: 1, Adversary: AdvNone, Coin: CoinThreshold, Seed: 1})
	if got := s.honest[0].engine.CoinKind(0); got != CoinThreshold {
		t.Fatalf("epoch 0 tosses the %s coin", got)
	}
}

// TestCoinSight checks what the adversary knows of a threshold coin: with
// F faulty nodes, nothing before an honest share is sent and the real coin
// from the first one; a share signed by another node is ignored; with
// fewer faulty nodes, more honest shares are needed.
func TestCoinSight(t *testing.T) {
	for _, faulty := range []int{2, 1} {
		s := newSim(Config{N: 7, Faulty: faulty, Adversary: AdvSplitCoin, Coin: CoinThreshold, Seed: 3})
		keys := dealKeys(s.cfg, s.p)
		k := instKey{ep: 1, prop: 2}
		name := coin.Name(era, k.ep, k.prop, 3)
		var all []tbls.SigShare
		for i := range s.p.F + 1 {
			sh, _ := keys[i].Share.Sign(name)
			all = append(all, sh)
		}
		sig, err := keys[0].Public.Combine(name, all)
		if err != nil {
			t.Fatal(err)
		}
		want := tbls.CoinBit(sig)
		share := func(signer *node) *epoch.Message {
			sh, _ := keys[signer.id].Share.Sign(name)
			b, _ := sh.MarshalBinary()
			return &epoch.Message{Epoch: k.ep, ACS: &acs.Message{Proposer: k.prop, RABA: &raba.Message{Kind: raba.KindCoin, Round: 3, Coin: b}}}
		}
		cs := s.adv.coins
		if _, known, _ := cs.value(k, 3); known {
			t.Fatal("coin known before any honest share")
		}
		h := s.honest
		cs.observe(h[0], share(h[1])) // node 1's share sent by node 0
		if _, known, _ := cs.value(k, 3); known {
			t.Fatal("coin known from a share sent by another node than its signer")
		}
		for j, n := range h[:s.p.F+1-faulty] {
			if _, known, _ := cs.value(k, 3); known {
				t.Fatalf("faulty=%d: coin known from %d honest shares", faulty, j)
			}
			cs.observe(n, share(n))
		}
		if v, known, ahead := cs.value(k, 3); !known || ahead || v != want {
			t.Fatalf("faulty=%d: coin (%v, known %v, ahead %v), want %v", faulty, v, known, ahead, want)
		}
		if s.res.CoinsRevealed != 1 {
			t.Fatalf("faulty=%d: %d coins counted", faulty, s.res.CoinsRevealed)
		}
	}
}

func TestRoundsQuantile(t *testing.T) {
	var d Rounds
	if d.Quantile(0.99) != 0 {
		t.Fatal("quantile of nothing")
	}
	for r := uint32(1); r <= 100; r++ {
		d.Add(min(r, 20)) // 1..15 once each, 85 in the tail bucket (16 and later)
	}
	for _, c := range []struct {
		q    float64
		want uint32
	}{{0, 1}, {0.01, 1}, {0.02, 2}, {0.15, 15}, {0.19, RoundBuckets}, {0.99, RoundBuckets}} {
		if got := d.Quantile(c.q); got != c.want {
			t.Errorf("Quantile(%v) = %d, want %d", c.q, got, c.want)
		}
	}
	var e Rounds
	for range 99 {
		e.Add(1)
	}
	e.Add(7)
	if e.Quantile(0.99) != 1 || e.Quantile(0.995) != 7 || e.Quantile(1) != 7 {
		t.Fatalf("quantiles %d %d %d", e.Quantile(0.99), e.Quantile(0.995), e.Quantile(1))
	}
}
