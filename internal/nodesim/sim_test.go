package nodesim

import (
	"flag"
	"fmt"
	"github.com/mass-consensus/mass/internal/protocol/raba"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
)

var (
	seeds   = flag.Int("nodesim.seeds", 1000, "seeds of the whole-node sweep")
	onlyOne = flag.Int64("nodesim.seed", -1, "run only this seed of the sweep")
	verbose = flag.Bool("nodesim.log", false, "log what the nodes do (with -nodesim.seed)")
	keySets = flag.String("nodesim.keysets", "4,7,10,16", "node-set sizes of TestKeyGenerationOnAFairNetwork (e.g. 31)")
)

func report(t *testing.T, r *Result) {
	t.Helper()
	if !r.Failed() {
		return
	}
	t.Errorf("seed %d (joiner %v, org %v, defer sync %v): %d violations; reproduce with\n\tgo test ./internal/nodesim -run 'TestSweep$' -nodesim.seed=%d -v",
		r.Config.Seed, r.Config.Joiner, r.Config.Org, r.Config.DeferSync, len(r.Violations), r.Config.Seed)
	for _, v := range r.Violations {
		t.Errorf("  %s", v)
	}
}

// TestSweep runs the whole-node simulation over many seeds (-nodesim.seeds)
// or one (-nodesim.seed).
func TestSweep(t *testing.T) {
	first, count := uint64(0), uint64(*seeds)
	if *onlyOne >= 0 {
		first, count = uint64(*onlyOne), 1
	}
	if testing.Short() {
		count = min(count, 50)
	}
	var crashes, pauses, partitions, accepted, byTx, byProposal, keyEras, badDealer int
	var height uint64
	for seed := first; seed < first+count; seed++ {
		cfg := SweepConfig(seed)
		if *verbose && count == 1 {
			cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
		}
		r := Run(cfg)
		report(t, r)
		if t.Failed() && count > 1 {
			t.FailNow()
		}
		crashes += r.Stats.Crashes
		pauses += r.Stats.Pauses
		partitions += r.Stats.Partitions
		accepted += r.Stats.Accepted
		height += r.Stats.Height
		keyEras += r.Stats.KeyEras
		if r.Config.BadDealer {
			badDealer++
		}
		if r.Stats.Era > 0 && r.Config.Org {
			byProposal++
		} else if r.Stats.Era > 0 {
			byTx++
		}
		if count == 1 {
			t.Logf("%+v", r.Stats)
		}
	}
	t.Logf("%d seeds: %d crashes, %d pauses, %d partitions, %d transactions accepted, mean height %.1f; the node set changed by a transaction in %d runs, by a passed proposal in %d; threshold keys made in %d eras (%d runs with a Byzantine dealer)",
		count, crashes, pauses, partitions, accepted, float64(height)/float64(count), byTx, byProposal, keyEras, badDealer)
}

// TestDeterministic: a seed gives the same run twice.
func TestDeterministic(t *testing.T) {
	for _, seed := range []uint64{1, 2} {
		a, b := Run(SweepConfig(seed)), Run(SweepConfig(seed))
		if fmt.Sprint(a.Stats, a.Violations) != fmt.Sprint(b.Stats, b.Violations) {
			t.Fatalf("seed %d: %+v then %+v", seed, a.Stats, b.Stats)
		}
	}
}

// plantedCaught runs seeds with a planted bug until a checker catches it,
// and returns the first violation and the seed.
func plantedCaught(t *testing.T, plant func(*Config), seeds int) (string, uint64) {
	t.Helper()
	for seed := uint64(0); seed < uint64(seeds); seed++ {
		cfg := SweepConfig(seed)
		plant(&cfg)
		if r := Run(cfg); r.Failed() {
			return r.Violations[0], seed
		}
	}
	t.Fatalf("the checkers missed the planted bug in %d seeds", seeds)
	return "", 0
}

// TestCheckersCatchForgottenJournal: a restarted node given an empty epoch
// log contradicts what it sent before its crash.
func TestCheckersCatchForgottenJournal(t *testing.T) {
	v, seed := plantedCaught(t, func(c *Config) { c.forgetJournal = true }, 50)
	t.Logf("seed %d: %s", seed, v)
}

// TestCheckersCatchALiarGettingEveryRequest: with the peer choice of before
// (always the one claiming the highest height), a node that lies about its
// height gets every request for certified blocks, answers none, and a node
// that fell behind never catches up.
func TestCheckersCatchALiarGettingEveryRequest(t *testing.T) {
	v, seed := plantedCaught(t, func(c *Config) { c.Liar, c.knobs.OldSyncPeer = true, true }, 300)
	t.Logf("seed %d: %s", seed, v)
}

// TestCheckersCatchFrozenCertificates: with the catch-up trigger of before
// issue #11, a node that applied a block but missed its votes never
// certifies it, and the liveness checker says so.
func TestCheckersCatchFrozenCertificates(t *testing.T) {
	v, seed := plantedCaught(t, func(c *Config) { c.knobs.OldSyncTrigger = true }, 300)
	t.Logf("seed %d: %s", seed, v)
}

// TestWireCheckersCatchContradictions: the checkers that watch the wire
// report a node that sends two different Aux in one round of one
// agreement, and one that dropped a message kept for later.
func TestWireCheckersCatchContradictions(t *testing.T) {
	cfg := SweepConfig(0)
	cfg.defaults()
	s := newSim(cfg)
	if err := s.start(0); err != nil {
		t.Fatal(err)
	}
	aux := func(v uint8) *raba.Message { return &raba.Message{Kind: raba.KindAux, Round: 2, Value: v} }
	s.watch.observeAgreement(0, 7, 1, aux(1))
	s.watch.observeAgreement(0, 7, 1, aux(1)) // the same again: a resend after a restart
	s.watch.observeAgreement(0, 7, 2, aux(0)) // another agreement
	if len(s.watch.violations) != 0 {
		t.Fatalf("violations for consistent messages: %v", s.watch.violations)
	}
	s.watch.observeAgreement(0, 7, 1, aux(0))
	if len(s.watch.violations) != 1 {
		t.Fatalf("two Aux in one round not caught: %v", s.watch.violations)
	}
	s.members[0].node.Counters.FutureDropped.Add(1)
	s.watch.noneDropped(0)
	if len(s.watch.violations) != 2 {
		t.Fatalf("a dropped message not caught: %v", s.watch.violations)
	}
}

// TestCheckersCatchACoinSwitchDisagreement: nodes that switch to the
// threshold coin at different epochs are caught (node i switching i epochs
// late).
func TestCheckersCatchACoinSwitchDisagreement(t *testing.T) {
	v, seed := plantedCaught(t, func(c *Config) { c.knobs.SkewCoinSwitch = true }, 20)
	t.Logf("seed %d: %s", seed, v)
}

// TestByzantineDealerIsLeftOut: in runs where node 2 deals a garbage key
// part, every era still gets its keys (the run converges only then), and
// the checker sees the genesis era's keys made without node 2.
func TestByzantineDealerIsLeftOut(t *testing.T) {
	for seed := uint64(1); seed < 40; seed += 4 {
		cfg := SweepConfig(seed)
		if !cfg.BadDealer {
			t.Fatalf("seed %d: no Byzantine dealer", seed)
		}
		r := Run(cfg)
		report(t, r)
		if r.Stats.KeyEras == 0 {
			t.Fatalf("seed %d: no era made its keys", seed)
		}
	}
}

// TestKeyGenerationOnAFairNetwork: on a network without faults, with the
// default load, the genesis era's keys are made at every node well within
// 30 s of simulated time (the virtual clock does not count the nodes' own
// computing time: that is measured on real processes, docs/BENCH.md).
func TestKeyGenerationOnAFairNetwork(t *testing.T) {
	for _, f := range strings.Split(*keySets, ",") {
		n, err := strconv.Atoi(f)
		if err != nil {
			t.Fatal(err)
		}
		r := Run(Config{N: n, Seed: 1, Fair: true, FaultPhase: 4_000})
		report(t, r)
		if r.Stats.KeysMs == 0 || r.Stats.KeysMs > 30_000 {
			t.Fatalf("n=%d: keys at every node after %d ms", n, r.Stats.KeysMs)
		}
		t.Logf("n=%d: keys at every node after %d ms of simulated time, height %d", n, r.Stats.KeysMs, r.Stats.Height)
	}
}
