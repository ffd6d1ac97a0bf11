package raba

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
)

// exView is what the other nodes and the properties see of an honest
// node: its round, phase, estimate, decision, and what it sent (which the
// phase, the round, bvalSent and sentTerm give).
type exView struct {
	round, phase, decidedAt uint32
	est, decided, decision  bool
	terminated, sentTerm    bool
	bvalSent                [exRounds + 1][2]bool
}

func viewOf(a *Agreement) exView {
	v := exView{round: a.round, phase: uint32(a.phase), decidedAt: a.decidedAt, est: a.est, decided: a.decided,
		decision: a.decision, terminated: a.terminated, sentTerm: a.sentTerm}
	if a.terminated { // nothing more of it is ever read
		return exView{decided: a.decided, decision: a.decision, terminated: true}
	}
	for r := uint32(1); r <= exRounds+1; r++ {
		if rs := a.rounds[r]; rs != nil {
			v.bvalSent[r-1] = rs.bvalSent
		}
	}
	return v
}

// exViews collects the views of the honest nodes in every state a search
// reaches, and in its quiescent states.
type exViews struct {
	all, quiet map[string]bool
}

func collectViews(cfg *exConfig) *exViews {
	vs := &exViews{all: map[string]bool{}, quiet: map[string]bool{}}
	cfg.visit = func(x *explorer, s *exState) {
		var views [exHonest]exView
		for i, n := range s.nodes {
			views[i] = viewOf(decodeNode(n.enc, x.tmpl[i], &exCoin{}, !x.cfg.lossless))
		}
		key := fmt.Sprintf("%+v repro=%b coins=%b", views, s.repro, s.coins)
		vs.all[key] = true
		if x.quiescent(s) {
			vs.quiet[key] = true
		}
	}
	return vs
}

// TestExploreReductions checks the reductions of the explorer against the
// plain exploration (every message alone, in every order, node 3 sending
// anything at any time, every field of each Agreement kept) on bounds small
// enough for it: both must reach the same views of the honest nodes, in all
// states and in quiescent ones. With a common coin, the coins of the run are
// part of the view.
func TestExploreReductions(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  exConfig
		long bool // only with RABA_EXPLORE_LONG=1: the plain search passes 11 million states
	}{
		{"round 1, reproposal", exConfig{inputs: in001, rounds: 1, repropose: true}, false},
		{"round 1, one message of node 3", exConfig{inputs: in001, rounds: 1, menu: roundTypes(1, 0, exPerRound), budget: 1}, false},
		{"rounds 1-2", exConfig{inputs: in001}, false},
		{"common coin, rounds 1-3", exConfig{inputs: in001, common: true}, false},
		{"common coin, rounds 1-2, one message of node 3",
			exConfig{inputs: in001, common: true, rounds: 2, menu: commonMenu(), budget: 1}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			if testing.Short() && c.name != "rounds 1-2" || c.long && !exploreLong() {
				t.Skip("long")
			}
			reduced := c.cfg
			rv := collectViews(&reduced)
			rr := newExplorer(reduced).run()
			plain := c.cfg
			plain.lossless, plain.anyOrder = true, true
			pv := collectViews(&plain)
			pr := newExplorer(plain).run()
			t.Logf("reduced: %d states, %d views (%d quiescent); plain: %d states, %d views (%d quiescent)",
				rr.states, len(rv.all), len(rv.quiet), pr.states, len(pv.all), len(pv.quiet))
			if rr.violation != "" || pr.violation != "" {
				t.Fatalf("violations: reduced %q, plain %q", rr.violation, pr.violation)
			}
			compareViews(t, "views", rv.all, pv.all)
			compareViews(t, "quiescent views", rv.quiet, pv.quiet)
		})
	}
}

// TestExploreCodec checks the encoding of Agreement values the explorer
// relies on, on states of the random networks of raba_test.go, with a local
// coin and with the threshold coin (whose nodes wait for shares in
// waitCoin): lossless, it decodes to the same value; canonical, it is a
// fixed point. And it fails when Agreement or round gain a field, which the
// codec (and the liveness it uses) must then learn.
func TestExploreCodec(t *testing.T) {
	if n := reflect.TypeFor[Agreement]().NumField(); n != 24 {
		t.Fatalf("Agreement has %d fields: teach explore_state_test.go the new ones", n)
	}
	if n := reflect.TypeFor[round]().NumField(); n != 15 {
		t.Fatalf("round has %d fields: teach explore_state_test.go the new ones", n)
	}
	checked, waiting := 0, 0
	for seed := uint64(0); seed < 80; seed++ {
		nw := newNetwork(t, exN, kindsWith(exN, chaotic, 1), schedule(seed%4), seed, nil)
		if seed >= 40 {
			nw = newCommonNetwork(t, exN, kindsWith(exN, chaotic, 1), schedule(seed%4), seed, nil)
		}
		nw.start(randomInputs(nw.rng, exN))
		for step := 0; step < 30 && len(nw.queue) > 0; step++ {
			nw.run(int(seed%7) + 1)
			for _, a := range nw.nodes {
				checkCodec(t, a)
				checked++
				if a.common && a.phase == waitCoin {
					waiting++
				}
			}
		}
	}
	t.Logf("%d states round-tripped, %d with a common coin awaited", checked, waiting)
	if waiting == 0 {
		t.Error("no state waits for a common coin: the codec of values is not checked")
	}
}

func checkCodec(t *testing.T, a *Agreement) {
	t.Helper()
	enc := string(encodeNode(nil, a, false))
	b := decodeNode(enc, a, a.coin, false)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("lossless encoding changed the state:\n%+v\n%+v", a, b)
	}
	canon := string(encodeNode(nil, a, true))
	if again := string(encodeNode(nil, decodeNode(canon, a, a.coin, true), true)); again != canon {
		t.Fatalf("canonical encoding is not a fixed point:\n%x\n%x", canon, again)
	}
}

func compareViews(t *testing.T, what string, reduced, plain map[string]bool) {
	t.Helper()
	var onlyReduced, onlyPlain []string
	for k := range reduced {
		if !plain[k] {
			onlyReduced = append(onlyReduced, k)
		}
	}
	for k := range plain {
		if !reduced[k] {
			onlyPlain = append(onlyPlain, k)
		}
	}
	if len(onlyReduced)+len(onlyPlain) > 0 {
		slices.Sort(onlyReduced)
		slices.Sort(onlyPlain)
		t.Errorf("%s: %d only in the reduced search, %d only in the plain one; first: %v / %v", what,
			len(onlyReduced), len(onlyPlain), firstOf(onlyReduced), firstOf(onlyPlain))
	}
}

func firstOf(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}
