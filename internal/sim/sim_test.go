package sim

import (
	"bytes"
	"flag"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/mass-consensus/mass/internal/protocol/epoch"
)

var sweepSeeds = flag.Int("sim.seeds", 600, "seeds per network size in the mixed-adversary sweep (n = 4, 7, 10; a seventh of them at n = 16) with the quadratic agreement; a tenth of them with Bracha's")

func requireClean(t *testing.T, results []Result) {
	t.Helper()
	failed := 0
	for _, r := range results {
		if r.Failed() {
			failed++
		}
	}
	if failed > 0 {
		var buf bytes.Buffer
		Print(&buf, results)
		t.Fatalf("%d of %d runs violated a property:\n%s", failed, len(results), buf.String())
	}
}

func configs(sizes []int, adversary string, seeds int, first uint64) []Config {
	return configsOf(sizes, adversary, "", seeds, first)
}

func configsOf(sizes []int, adversary, agreement string, seeds int, first uint64) []Config {
	var out []Config
	for _, n := range sizes {
		for i := 0; i < seeds; i++ {
			out = append(out, Config{N: n, Faulty: (n - 1) / 3, Adversary: adversary, Seed: first + uint64(i), Agreement: agreement})
		}
	}
	return out
}

// TestSweepMixed is the simulator sweep CI runs: n = 4, 7, 10 and 16 (on
// fewer seeds) with F faulty nodes each, under the mixed adversary, with the
// quadratic agreement (the default) and, on fewer seeds, Bracha's.
func TestSweepMixed(t *testing.T) {
	seeds := *sweepSeeds
	if testing.Short() {
		seeds = 30
	}
	t.Run("quadratic", func(t *testing.T) { sweepMixed(t, "quadratic", seeds) })
	t.Run("bracha", func(t *testing.T) { sweepMixed(t, "bracha", max(10, seeds/10)) })
}

func sweepMixed(t *testing.T, agreement string, seeds int) {
	cfgs := configsOf([]int{4, 7, 10}, AdvMixed, agreement, seeds, 1)
	cfgs = append(cfgs, configsOf([]int{16}, AdvMixed, agreement, max(3, seeds/7), 1)...)
	results := Sweep(cfgs, runtime.GOMAXPROCS(0))
	requireClean(t, results)
	var buf bytes.Buffer
	Print(&buf, results)
	t.Log("\n" + buf.String())
	for _, s := range Summarize(results) {
		if s.Epochs < s.Runs*4 {
			t.Errorf("n=%d: %d epochs over %d runs, fewer than asked", s.N, s.Epochs, s.Runs)
		}
		// The adversary must actually have attacked.
		if s.Rejected == 0 || s.Faults == 0 {
			t.Errorf("n=%d: no message rejected (%d) or no fault seen (%d): the adversary did nothing", s.N, s.Rejected, s.Faults)
		}
	}
}

// TestEachAdversary runs every adversary on its own at n = 4, 7, 10 and 16
// (fewer seeds for the larger sizes), and checks that it did what it is
// named for.
func TestEachAdversary(t *testing.T) {
	for _, adv := range Adversaries {
		t.Run(adv, func(t *testing.T) {
			cfgs := configs([]int{4, 7}, adv, 12, 100)
			cfgs = append(cfgs, configs([]int{10}, adv, 6, 100)...)
			cfgs = append(cfgs, configs([]int{16}, adv, 3, 100)...)
			results := Sweep(cfgs, runtime.GOMAXPROCS(0))
			requireClean(t, results)
			var faults, rejected, dropped uint64
			for _, r := range results {
				faults += r.Faults
				rejected += r.Rejected
				dropped += r.DroppedFuture
			}
			switch adv {
			case AdvBadShards:
				if faults == 0 {
					t.Error("bad shards produced no fault")
				}
			case AdvGarbage:
				if rejected == 0 || dropped == 0 {
					t.Errorf("garbage: %d rejected, %d far-future dropped", rejected, dropped)
				}
			case AdvSplitCoin:
				for _, s := range Summarize(results) {
					if s.MeanABARounds() < 1.3 {
						t.Errorf("n=%d: mean decision round %.3f under the splitting scheduler", s.N, s.MeanABARounds())
					}
				}
			case AdvNone, AdvRandom, AdvSlow, AdvCrash:
				if faults != 0 || rejected != 0 {
					t.Errorf("crash-only faults yet %d faults and %d rejected messages", faults, rejected)
				}
				if adv == AdvNone || adv == AdvCrash {
					for _, r := range results {
						if r.CatchUps > 0 {
							t.Errorf("seed %d: %d catch-ups on a fair network", r.Config.Seed, r.CatchUps)
						}
					}
				}
			}
		})
	}
}

// TestCheckersCatchTooManyFaults shows the sweep cannot pass vacuously: with
// two coordinated equivocators among four nodes (one more than tolerated),
// the checkers must find a disagreement.
func TestCheckersCatchTooManyFaults(t *testing.T) {
	var cfgs []Config
	for seed := uint64(1); seed <= 20; seed++ {
		cfgs = append(cfgs, Config{N: 4, Faulty: 2, Adversary: AdvEquivocate, Seed: seed})
	}
	caught := 0
	for _, r := range Sweep(cfgs, runtime.GOMAXPROCS(0)) {
		for _, v := range r.Violations {
			if strings.HasPrefix(v, "agreement:") {
				caught++
				break
			}
		}
	}
	if caught == 0 {
		t.Fatal("2 equivocators among 4 nodes never broke agreement: the checkers see nothing")
	}
	t.Logf("agreement broken in %d of %d runs", caught, len(cfgs))
}

func TestDeterministic(t *testing.T) {
	cfg := Config{N: 7, Faulty: 2, Adversary: AdvMixed, Seed: 42}
	a, b := Run(cfg), Run(cfg)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("two runs of one seed differ:\n%+v\n%+v", a, b)
	}
	cfg.Seed = 43
	if c := Run(cfg); reflect.DeepEqual(a.Bytes, c.Bytes) && a.Events == c.Events {
		t.Fatal("two seeds gave the same run")
	}
}

func TestFailurePrintsCommand(t *testing.T) {
	var r Result
	for seed := uint64(1); seed <= 20 && !r.Failed(); seed++ {
		r = Run(Config{N: 4, Faulty: 2, Adversary: AdvEquivocate, Seed: seed})
	}
	if !r.Failed() {
		t.Fatal("no failing run to print")
	}
	var buf bytes.Buffer
	Print(&buf, []Result{r})
	want := fmt.Sprintf("reproduce: go run ./cmd/mass sim --n 4 --faulty 2 --adversary equivocate --seed %d ", r.Config.Seed)
	if !strings.Contains(buf.String(), want) {
		t.Fatalf("output lacks %q:\n%s", want, buf.String())
	}
	// The printed configuration reproduces the same run.
	if got := Run(r.Config); !reflect.DeepEqual(got.Violations, r.Violations) {
		t.Fatalf("rerun gave %v, first run %v", got.Violations, r.Violations)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{
		{N: 0, Adversary: AdvNone},
		{N: 4, Faulty: 4, Adversary: AdvNone},
		{N: 4, Faulty: -1, Adversary: AdvNone},
		{N: 4, Adversary: "nonsense"},
		{N: 4, Adversary: AdvNone, Coin: "nonsense"},
		{N: 4, Adversary: AdvNone, Coin: CoinThreshold, Agreement: "bracha"},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v accepted", c)
		}
		if r := Run(c); !r.Failed() {
			t.Errorf("%+v ran without complaint", c)
		}
	}
}

// TestSplitCoinSplits shows the splitting scheduler does split: with seven
// nodes, agreements take clearly more rounds under it than on a fair
// network, with either agreement.
func TestSplitCoinSplits(t *testing.T) {
	seeds := 8
	if testing.Short() {
		seeds = 4
	}
	for _, agreement := range []string{"bracha", "quadratic"} {
		t.Run(agreement, func(t *testing.T) {
			fair := Sweep(configsOf([]int{7}, AdvNone, agreement, seeds, 1), runtime.GOMAXPROCS(0))
			split := Sweep(configsOf([]int{7}, AdvSplitCoin, agreement, seeds, 1), runtime.GOMAXPROCS(0))
			requireClean(t, fair)
			requireClean(t, split)
			f, s := Summarize(fair)[0], Summarize(split)[0]
			t.Logf("mean decision round: %.3f on a fair network, %.3f under splitcoin", f.MeanABARounds(), s.MeanABARounds())
			if f.MeanABARounds() > 1.05 {
				t.Errorf("fair network: mean decision round %.3f", f.MeanABARounds())
			}
			if s.MeanABARounds() < 2 {
				t.Errorf("splitcoin: mean decision round %.3f, no split to speak of", s.MeanABARounds())
			}
			// Per instance: all in round 1 on the fair network, a spread
			// under splitcoin.
			if f.Rounds.Instances == 0 || f.Rounds.Hist[0] != f.Rounds.Instances {
				t.Errorf("fair network: decision rounds per instance %+v", f.Rounds)
			}
			if s.Rounds.Mean() < 2 || s.Rounds.Max < 8 {
				t.Errorf("splitcoin: decision rounds per instance %+v", s.Rounds)
			}
		})
	}
}

// TestCertificateIsHonestOnly: a batch is certified, and may be adopted by
// a node that catches up, only once 2F+1 honest nodes have output it; F+1
// (enough if the faulty nodes signed) is not.
func TestCertificateIsHonestOnly(t *testing.T) {
	s := newSim(Config{N: 7, Faulty: 1, Adversary: AdvNone, Seed: 1})
	if s.res.Failed() {
		t.Fatal(s.res.Violations)
	}
	quorum := 2*s.p.F + 1
	if len(s.honest) <= quorum {
		t.Fatalf("%d honest nodes: none left to catch up", len(s.honest))
	}
	lag := s.honest[len(s.honest)-1]
	b := epoch.Batch{Epoch: 0, Time: 1}
	for k, n := range s.honest[:quorum] {
		s.output(n, b)
		s.catchUp(lag)
		outputs := k + 1
		switch adopted := lag.engine.Next() == 1; {
		case outputs < quorum && adopted:
			t.Fatalf("adopted a batch %d honest nodes output (F = %d)", outputs, s.p.F)
		case outputs == quorum && !adopted:
			t.Fatalf("did not adopt a batch %d honest nodes output", outputs)
		}
	}
	if s.res.CatchUps != 1 || len(lag.log) != 1 || s.res.Failed() {
		t.Fatalf("catch-ups %d, log %d, violations %v", s.res.CatchUps, len(lag.log), s.res.Violations)
	}
}

// TestCatchUpFromCertified exercises catch-up: with fewer faulty nodes than
// tolerated, 2F+1 honest nodes certify a batch while the slowed ones are
// behind, and those adopt it.
func TestCatchUpFromCertified(t *testing.T) {
	var cfgs []Config
	for seed := uint64(1); seed <= 12; seed++ {
		cfgs = append(cfgs, Config{N: 7, Faulty: 1, Adversary: AdvSlow, Seed: seed})
	}
	results := Sweep(cfgs, runtime.GOMAXPROCS(0))
	requireClean(t, results)
	if s := Summarize(results)[0]; s.CatchUps == 0 {
		t.Fatal("no node caught up")
	}
}
