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
// node has decided or waits in round 3: otherwise it is a deadlock.
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
// TestExplorePlantedBugs is the vacuity check: the explorer must find a
// violation in two broken variants, built by the test: decideQuorum F+1,
// within the round-1 part of "split" (node 3 sends BVal(r1,1),
// Conf(r1,{0,1}), Final(r1,0), Final(r1,⊥)); looseFinal, the rule of the
// published WaterBear code, within "two" for 001 (and in the long run
// within the round-1 part of "split" too).

import (
	"os"
	"testing"
	"time"
)

// exBound is one bound explored exhaustively.
type exBound struct {
	name string
	cfg  exConfig
	long bool // only with RABA_EXPLORE_LONG=1
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
	return b
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
		t.Logf("%-17s %8d states, %9d steps tried, depth %2d, %3d quiescent, %4d coin tosses, %v",
			b.name, r.states, r.transitions, r.depth, r.quiescent, r.tosses, time.Since(began).Round(time.Millisecond))
		if r.violation != "" {
			t.Fatalf("%s: %s after %d steps:\n%s", b.name, r.violation, len(r.path), x.describe(r.path))
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
	split1 := splitMenu(0) & roundTypes(1, 0, exPerRound) // round 1 of the bound split
	for _, c := range []struct {
		name string
		cfg  exConfig
		long bool
	}{
		{"decide on F+1 Final, round 1 of split/001", exConfig{inputs: in001, menu: split1, mutate: weakQuorum}, false},
		{"Final valid once in bin_values, two/001", exConfig{inputs: in001, menu: exAll, budget: 2, mutate: looseFinal}, false},
		{"Final valid once in bin_values, round 1 of split/001", exConfig{inputs: in001, menu: split1, mutate: looseFinal}, true},
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
			t.Logf("found after %d states, %v: %s, path of %d steps:\n%s",
				r.states, time.Since(began).Round(time.Millisecond), r.violation, len(r.path), x.describe(r.path))
		})
	}
}
