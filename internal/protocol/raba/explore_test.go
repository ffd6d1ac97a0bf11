package raba

// The exhaustive check of issue #10, in place of a TLA+ model: an
// explicit-state explorer over the package's own Agreement state machines
// (decoded, stepped through HandleMessage and Repropose, encoded again),
// for N = 4, F = 1, nodes 0–2 honest and node 3 Byzantine.
//
// # What is explored
//
// From the start (each honest node given its input, every combination
// 000, 001, 011, 111), the explorer takes, in every state, every step:
//
//   - any honest message in flight reaches its receiver (every delivery
//     order, messages of rounds ≥ 3 excepted: a node that reaches round 3
//     waits there);
//   - node 3 sends an honest node a message of its menu, any value, at most
//     one per slot and receiver (a second value in a slot is refused as an
//     equivocation; a BVal may be sent with both values): BVal(r,v),
//     Aux(r,v), Conf(r,S), Final(r,x) for r ∈ {1,2}, Term(v);
//   - an honest node with input 0 reproposes 1 in round 1 (where asked);
//   - a node that tosses its coin does so with both values: the coin is the
//     explorer's, a branch per value.
//
// With a common coin (exConfig.common) the nodes run the common-coin rounds
// (no Final, a round ends after Conf on its coin: scheduled in round 1,
// tossed after), and the explorer delivers rounds 1 to 3, two rounds that
// toss; a node that reaches round 4 waits there. The coin is a model
// (exCoin), not the threshold coin: the first honest node to toss a round's
// coin takes it with both values, a branch each, and that value is then the
// coin of that round for every node in the run, given at once, without
// shares. Every run with either value is explored, as if the adversary knew
// the coin from the start: more than the threshold coin lets it know.
// Node 3's menu has no Final (nothing reads it).
//
// Steps are taken as "effective steps" (explore_search_test.go): a message
// is delivered when it has an effect, pending messages just before the step
// that validates them, BVal and Term messages as a group that crosses a
// threshold. Every run has an equivalent run of effective steps, in which
// each honest node sends the same messages and ends in the same state up to
// messages that never had an effect; TestExploreReductions checks that both
// reach the same states (as seen by the other nodes and the properties) on
// smaller bounds. States are hashed (128 bits) in a canonical encoding that
// forgets what can no longer change the node (explore_state_test.go), and
// each is expanded once, breadth first, so the first violation found has a
// shortest path.
//
// In every state it checks agreement (no two honest decisions differ),
// validity (a decided value is an honest input or reproposal), no panic
// (the package panics on a broken invariant) and no honest node blamed for
// a fault, and, in a quiescent state (no effective step left among the
// honest messages in flight: node 3 may stay silent), that every honest
// node has decided or waits in round 3 (round 4 with a common coin):
// otherwise it is a deadlock. With a common coin it also checks the
// estimates: once an honest node decides w by its votes in round r, every
// honest node past round r has the estimate w (checkEstimates). The runs
// stop at round 3, and a node leaving it with ¬w is where a later
// disagreement would start.
//
// # Bounds
//
// All of rounds 1 and 2 cannot be explored against every strategy of node
// 3: its messages to three receivers multiply (round 1 alone passes several
// million states within six steps). The bounds explored, each exhaustively
// (exBounds), are:
//
//   - "one": node 3 sends at most one message, any of its menu, to any node
//     at any time; inputs 000, 001, 011, 111;
//   - "repropose": node 3 silent, reproposal offered; inputs 000, 001, 011;
//   - "split": node 3 sends any number of BVal(r1,1), Conf(r1,{0,1}),
//     Final(r1,0), Final(r1,⊥), BVal(r2,0), Final(r2,⊥), to any nodes at
//     any times; inputs 001. It is the shape of the attacks on the local
//     coin: split round 1 so that one node sees Final(0) and the others only
//     ⊥, then keep round 2 mixed so that nodes toss their coins (they do,
//     thousands of times).
//
// With RABA_EXPLORE_LONG=1 it also explores (minutes): at most two messages
// of node 3 for the four inputs; any number of messages of one kind (BVal,
// Aux, Conf, Final or Term, both rounds) for 001 and 011; reproposal with
// one message of node 3 for 001 and 011; the mirror of "split" for 011.
//
// With a common coin, rounds 1 to 3 (commonBounds):
//
//   - "common-one": node 3 sends at most one message, BVal, Aux or Conf of
//     rounds 1 to 3 or Term, to any node at any time; the four inputs;
//   - "common-repropose": node 3 silent, reproposal offered; input 001;
//   - "common-split4": the shape of the attacks on a common coin, keeping
//     the honest estimates split against each round's coin
//     (commonSplitMenu): node 3 sends each of BVal(r1,0), Conf(r1,{1}),
//     BVal(r,v), Conf(r,{v}) for r = 2, 3 and v = 0, 1, to at most one
//     node, at any time, four messages in all (two per round are the fewest
//     that keep a split: the four carry one through round 2's coin); input
//     011. A run stops being expanded once every honest node has decided
//     (exConfig.settle). The bound must reach states where two honest nodes
//     left a round that tossed with different estimates, the coin against
//     the node that kept its value (keptSplit).
//
// With RABA_EXPLORE_LONG=1 also: reproposal for 000 and 011; at most two
// messages of node 3 for the four inputs; common-split with six messages
// (a split carried through round 3's coin too) for 001 and 011, and with
// five, for 011, node 3 also sending Aux(r,0) and Aux(r,1) in rounds 2 and
// 3.
//
// TestExplorePlantedBugs is the vacuity check: the explorer must find a
// violation in broken variants, built by the test: decideQuorum F+1,
// within the round-1 part of "split" (node 3 sends BVal(r1,1),
// Conf(r1,{0,1}), Final(r1,0), Final(r1,⊥)); looseFinal, the rule of the
// published WaterBear code, within "two" for 001 (and in the long run
// within the round-1 part of "split" too); with a common coin,
// eagerDecide (decide w as soon as values = {w}, whatever the coin) within
// common-split4, by the estimates and, without that check, by agreement;
// and a coin that claims to be common but draws each node's toss anew
// (exConfig.splitCoin), within common-split4, by the estimates (without
// them, not within the rounds explored: the disagreement would come later).

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// exBound is one bound explored exhaustively.
type exBound struct {
	name  string
	cfg   exConfig
	long  bool // only with RABA_EXPLORE_LONG=1
	split bool // it must reach a split kept through a tossed coin (keptSplit)
}

// Inputs of the honest nodes.
var (
	in000 = [exHonest]bool{false, false, false}
	in001 = [exHonest]bool{false, false, true}
	in011 = [exHonest]bool{false, true, true}
	in111 = [exHonest]bool{true, true, true}
)

// msgTypes is the mask of the types of round r (0 for Term) given by their
// offsets in the round.
func msgTypes(r uint32, offsets ...int) uint32 {
	var m uint32
	for _, o := range offsets {
		if r == 0 {
			m |= 1 << (exTerm + o)
		} else {
			m |= roundTypes(r, o, 1)
		}
	}
	return m
}

// splitMenu is the menu of the bound "split": node 3 helps 1 into
// bin_values, sends Conf({0,1}) to keep Final(⊥) coming, and either Final(0)
// or Final(⊥) in round 1; then 0 into bin_values and Final(⊥) in round 2.
// Its mirror exchanges the values.
func splitMenu(w int) uint32 {
	return msgTypes(1, exBVal+1-w, exConf+2, exFinal+w, exFinal+2) | msgTypes(2, exBVal+w, exFinal+2)
}

// commonMenu is every message of node 3 a node with a common coin reads:
// BVal, Aux and Conf of rounds 1 to 3, and Term (there is no Final).
func commonMenu() uint32 { return upTo(exRounds) &^ finalTypes() }

// commonSplitMenu is the menu of the bound "common-split", the shape of the
// attacks on a common coin: node 3 keeps the honest estimates split against
// each round's coin. With three honest nodes it must, in every round, bring
// the honest minority's value into bin_values (BVal), and, when the honest
// Conf all confirm one value w, send one node a Conf of the other value,
// which leaves that node ⊥ while the others keep w: against the coin when
// w ≠ c (without a Conf of node 3, every honest node's first N−F valid Conf
// are the three honest ones, and all take the same estimate). Round 1's
// coin is scheduled, 1: honest Conf({0}), node 3's Conf({1}); the coins of
// rounds 2 and 3 are tossed: both values. minority is the honest minority
// value of round 1.
func commonSplitMenu(minority int) uint32 {
	return msgTypes(1, exBVal+minority, exConf+1) | msgTypes(2, exBVal, exBVal+1, exConf, exConf+1) |
		msgTypes(3, exBVal, exBVal+1, exConf, exConf+1)
}

// kindMenu is every message of one kind, both rounds.
func kindMenu(offset, count int) uint32 {
	return roundTypes(1, offset, count) | roundTypes(2, offset, count)
}

func exBounds() []exBound {
	var b []exBound
	for _, in := range [][exHonest]bool{in000, in001, in011, in111} {
		b = append(b, exBound{name: "one/" + inputString(in), cfg: exConfig{inputs: in, menu: exAll, budget: 1}})
	}
	for _, in := range [][exHonest]bool{in000, in001, in011} {
		b = append(b, exBound{name: "repropose/" + inputString(in), cfg: exConfig{inputs: in, repropose: true}})
	}
	b = append(b, exBound{name: "split/001", cfg: exConfig{inputs: in001, menu: splitMenu(0)}})
	for _, in := range [][exHonest]bool{in000, in001, in011, in111} {
		b = append(b, exBound{name: "two/" + inputString(in), cfg: exConfig{inputs: in, menu: exAll, budget: 2}, long: true})
	}
	kinds := []struct {
		name          string
		offset, count int
	}{{"bval", exBVal, 2}, {"aux", exAux, 2}, {"conf", exConf, 3}, {"final", exFinal, 3}}
	for _, in := range [][exHonest]bool{in001, in011} {
		for _, k := range kinds {
			b = append(b, exBound{name: "kind-" + k.name + "/" + inputString(in),
				cfg: exConfig{inputs: in, menu: kindMenu(k.offset, k.count)}, long: true})
		}
		b = append(b, exBound{name: "kind-term/" + inputString(in), cfg: exConfig{inputs: in, menu: msgTypes(0, 0, 1)}, long: true})
		b = append(b, exBound{name: "repropose-one/" + inputString(in),
			cfg: exConfig{inputs: in, repropose: true, menu: exAll, budget: 1}, long: true})
	}
	b = append(b, exBound{name: "split/011", cfg: exConfig{inputs: in011, menu: splitMenu(1)}, long: true})
	return append(b, commonBounds()...)
}

// commonBounds are the bounds explored with a common coin, rounds 1 to 3.
func commonBounds() []exBound {
	var b []exBound
	for _, in := range [][exHonest]bool{in000, in001, in011, in111} {
		b = append(b, exBound{name: "common-one/" + inputString(in),
			cfg: exConfig{inputs: in, common: true, menu: commonMenu(), budget: 1}})
	}
	for _, in := range [][exHonest]bool{in001, in000, in011} {
		b = append(b, exBound{name: "common-repropose/" + inputString(in),
			cfg: exConfig{inputs: in, common: true, repropose: true}, long: in != in001})
	}
	b = append(b, exBound{name: "common-split4/011", cfg: commonSplit(in011, 4), split: true})
	for _, in := range [][exHonest]bool{in000, in001, in011, in111} {
		b = append(b, exBound{name: "common-two/" + inputString(in),
			cfg: exConfig{inputs: in, common: true, menu: commonMenu(), budget: 2}, long: true})
	}
	b = append(b, exBound{name: "common-split6/011", cfg: commonSplit(in011, 6), long: true, split: true})
	b = append(b, exBound{name: "common-split6/001", cfg: commonSplit(in001, 6), long: true, split: true})
	aux := commonSplit(in011, 5)
	aux.menu |= msgTypes(2, exAux, exAux+1) | msgTypes(3, exAux, exAux+1)
	b = append(b, exBound{name: "common-split-aux5/011", cfg: aux, long: true, split: true})
	return b
}

// commonSplit is the bound common-split for the inputs in: node 3 sends
// each message of commonSplitMenu at most once (to one node), at most
// budget messages in all (0: no bound), and a run stops once every honest
// node has decided.
func commonSplit(in [exHonest]bool, budget int) exConfig {
	minority := 1
	if in[1] {
		minority = 0
	}
	return exConfig{inputs: in, common: true, menu: commonSplitMenu(minority), once: true, budget: budget, settle: true}
}

func exploreLong() bool { return os.Getenv("RABA_EXPLORE_LONG") != "" }

// TestExplore explores every bound and fails on the first violation, with
// its path.
func TestExplore(t *testing.T) {
	var states, transitions int
	start := time.Now()
	for _, b := range exBounds() {
		if b.long && !exploreLong() || testing.Short() && b.name != "one/001" {
			continue
		}
		began := time.Now()
		x := newExplorer(b.cfg)
		r := x.run()
		var extra string
		if b.cfg.common {
			extra = fmt.Sprintf(", %d splits kept, %d settled", r.kept, r.settled)
		}
		t.Logf("%-20s %8d states, %9d steps tried, depth %2d, %3d quiescent, %6d coin tosses%s, %v",
			b.name, r.states, r.transitions, r.depth, r.quiescent, r.tosses, extra, time.Since(began).Round(time.Millisecond))
		if r.violation != "" {
			t.Fatalf("%s: %s after %d steps:\n%s", b.name, r.violation, len(r.path), x.describe(r.path))
		}
		if b.cfg.common && r.tosses == 0 {
			t.Errorf("%s: no node tossed the common coin", b.name)
		}
		if b.split && r.kept == 0 {
			t.Errorf("%s: no split was kept through a tossed coin", b.name)
		}
		states += r.states
		transitions += r.transitions
	}
	t.Logf("total: %d states, %d steps tried, %v", states, transitions, time.Since(start).Round(time.Millisecond))
}

// TestExplorePlantedBugs is the vacuity check of TestExplore: the same
// explorer finds a violation in deliberately broken variants, within bounds
// of TestExplore, and logs the shortest path to it.
func TestExplorePlantedBugs(t *testing.T) {
	// Deciding on F+1 Final(w) instead of N−F.
	weakQuorum := func(a *Agreement) { a.decideQuorum = a.p.F + 1 }
	// Final(w) valid once w ∈ bin_values, as in the published code.
	looseFinal := func(a *Agreement) { a.looseFinal = true }
	// With a common coin: deciding w as soon as values = {w}, whatever
	// the coin.
	eager := func(a *Agreement) { a.eagerDecide = true }
	eagerSplit := commonSplit(in011, 4)
	eagerSplit.mutate = eager
	eagerAgreement := eagerSplit
	eagerAgreement.noEstimates = true
	// A coin that claims to be common but tosses each node's coin anew.
	splitCoin := commonSplit(in011, 4)
	splitCoin.splitCoin = true
	split1 := splitMenu(0) & roundTypes(1, 0, exPerRound) // round 1 of the bound split
	for _, c := range []struct {
		name string
		cfg  exConfig
		long bool
		want string // the violation's kind, if it matters
	}{
		{"decide on F+1 Final, round 1 of split/001", exConfig{inputs: in001, menu: split1, mutate: weakQuorum}, false, ""},
		{"Final valid once in bin_values, two/001", exConfig{inputs: in001, menu: exAll, budget: 2, mutate: looseFinal}, false, ""},
		{"Final valid once in bin_values, round 1 of split/001", exConfig{inputs: in001, menu: split1, mutate: looseFinal}, true, ""},
		{"decide on values {w} whatever the coin, common-split4/011", eagerSplit, false, "estimate:"},
		{"decide on values {w} whatever the coin, common-split4/011, no check of the estimates", eagerAgreement, false, "agreement:"},
		{"a coin that is not common, common-split4/011", splitCoin, false, "estimate:"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.long && !exploreLong() || testing.Short() {
				t.Skip("long")
			}
			began := time.Now()
			x := newExplorer(c.cfg)
			r := x.run()
			if r.violation == "" {
				t.Fatalf("no violation found in %d states", r.states)
			}
			if !strings.HasPrefix(r.violation, c.want) {
				t.Fatalf("found %q, want a violation of %q", r.violation, c.want)
			}
			t.Logf("found after %d states, %v: %s, path of %d steps:\n%s",
				r.states, time.Since(began).Round(time.Millisecond), r.violation, len(r.path), x.describe(r.path))
		})
	}
}
