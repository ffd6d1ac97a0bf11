package epoch

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mass-consensus/mass/internal/protocol"
	"github.com/mass-consensus/mass/internal/protocol/aba"
	"github.com/mass-consensus/mass/internal/protocol/acs"
	"github.com/mass-consensus/mass/internal/protocol/rbc"
)

// The two lines a copy of this test changes to run on code with the older
// API (Admit taking the epoch, no Stats.Lingering).
func admitMsg(e *Engine, from protocol.NodeID, m *Message) Admission { return e.Admit(from, m) }
func running(st Stats) int                                           { return st.InFlight + st.Lingering }

// envelope is a message in flight.
type envelope struct {
	from, to protocol.NodeID
	msg      *Message
}

// stepAt is a (round, step) of binary agreement, ordered.
type stepAt struct {
	round uint32
	step  uint8
}

func (a stepAt) after(b stepAt) bool {
	return a.round > b.round || a.round == b.round && a.step > b.step
}

// crashNet runs four engines under a scripted schedule: messages go in the
// order they were sent, in passes over all in flight, except those hold
// keeps back and those the recipient refuses for later; node 3 crashes once
// it has finished round 1 of the agreement about its own proposal.
type crashNet struct {
	t       *testing.T
	p       protocol.Params
	engines []*Engine
	pool    []envelope
	// sent is, per node and proposer, the latest (round, step) of the node's
	// own agreement messages: the node has finished every step before it.
	sent    [4][4]stepAt
	crashed bool
	out     [][]Batch
	// behind are the batches nodes 1 and 2 had output when node 0 output
	// epoch 0.
	behind []int
	// starve0, if set, keeps every message of round 2 and later of that
	// agreement from node 0, so that its epoch 0 runs on, undecided there.
	starve0 bool
}

// newCrashNet starts the four engines and gives each a transaction.
func newCrashNet(t *testing.T, cfg Config) *crashNet {
	t.Helper()
	p, _ := protocol.NewParams(4)
	cn := &crashNet{t: t, p: p, out: make([][]Batch, 4)}
	for i := range 4 {
		c := cfg
		c.Params, c.Self, c.Rand, c.Agreement = p, protocol.NodeID(i), rand.NewPCG(1, uint64(i)), acs.Bracha
		e, err := New(c)
		if err != nil {
			t.Fatal(err)
		}
		cn.engines = append(cn.engines, e)
	}
	for i := range 4 {
		s, err := cn.engines[i].HandleInput(Input{Tx: fmt.Appendf(nil, "tx %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		cn.absorb(protocol.NodeID(i), s)
	}
	return cn
}

func (cn *crashNet) absorb(i protocol.NodeID, s Step) {
	if len(s.Faults) > 0 {
		cn.t.Fatalf("node %d reported faults: %v", i, s.Faults)
	}
	for _, o := range s.Output {
		if o.Batch == nil {
			continue
		}
		cn.out[i] = append(cn.out[i], *o.Batch)
		if i == 0 && o.Batch.Epoch == 0 {
			cn.behind = []int{len(cn.out[1]), len(cn.out[2])}
		}
	}
	for _, m := range s.Messages {
		if a := m.Body.ACS.ABA; a != nil && a.Kind == aba.KindVal && a.Origin == i {
			if at := &cn.sent[i][m.Body.ACS.Proposer]; (stepAt{a.Round, a.Step}).after(*at) {
				*at = stepAt{a.Round, a.Step}
			}
		}
		for to := range cn.p.N {
			if id := protocol.NodeID(to); m.To.Includes(i, id) {
				cn.pool = append(cn.pool, envelope{from: i, to: id, msg: m.Body})
			}
		}
	}
	if i == 3 && cn.finished(3, 3, 1, 3) {
		cn.crashed = true // what it sent so far still arrives
	}
}

// started reports whether node i has its input in the agreement about
// proposer j, and finished whether it has finished step st of round r there.
func (cn *crashNet) started(i, j protocol.NodeID) bool { return cn.sent[i][j].round > 0 }
func (cn *crashNet) finished(i, j protocol.NodeID, r uint32, st uint8) bool {
	return cn.sent[i][j].after(stepAt{r, st})
}

// without names, per step of round 1 of the agreement about node 3's
// proposal, whose step message each node must take its first N−F without.
// The inputs there are 1, 0, 0, 1 (nodes 0 and 3 deliver node 3's proposal
// first, nodes 1 and 2 input 0 once three agreements decided 1). Step 1:
// nodes 0, 1, 3 take {0, 1, 3}, majority 1; node 2 takes {0, 1, 2}, majority
// 0. Step 2: nodes 0, 1, 3 take three 1, so (d, 1); node 2 takes 1, 1, 0, so
// ⊥. Step 3: node 0 takes {0, 1, 3}, three (d, 1), and decides 1; nodes 1 and
// 2 take {0, 1, 2}, two (d, 1) and ⊥, and go on to round 2 with estimate 1.
var without = [4]map[protocol.NodeID]protocol.NodeID{
	1: {0: 2, 1: 2, 2: 3, 3: 2},
	2: {0: 2, 1: 2, 2: 3, 3: 2},
	3: {0: 2, 1: 3, 2: 3},
}

// hold is the schedule's rule for what waits.
func (cn *crashNet) hold(to protocol.NodeID, m *acs.Message) bool {
	switch {
	case m.RBC != nil:
		// Nodes 1 and 2 deliver node 3's proposal only after they input 0
		// to its agreement.
		return m.Proposer == 3 && m.RBC.Kind == rbc.KindReady && (to == 1 || to == 2) && !cn.started(to, 3)
	case m.ABA == nil:
		return false
	case m.Proposer != 3:
		// The other agreements wait until the node input 1 to each
		// agreement whose proposal it delivers first.
		need := []protocol.NodeID{0, 1, 2}
		if to == 0 || to == 3 {
			need = append(need, 3)
		}
		return slices.ContainsFunc(need, func(j protocol.NodeID) bool { return !cn.started(to, j) })
	}
	a := m.ABA
	if cn.starve0 && to == 0 && (a.Round > 1 || a.Kind == aba.KindTerm) {
		return true
	}
	if a.Round != 1 || a.Kind == aba.KindTerm || a.Kind == aba.KindCoin {
		return false
	}
	o, ok := without[a.Step][to]
	return ok && a.Origin == o && !cn.finished(to, 3, 1, a.Step)
}

// run delivers messages until none can be, and returns how many are left.
func (cn *crashNet) run() int {
	for pass := 0; ; pass++ {
		if pass > 100_000 {
			cn.t.Fatal("the schedule does not settle")
		}
		pool, delivered := cn.pool, 0
		cn.pool = nil
		for _, f := range pool {
			if cn.crashed && f.to == 3 {
				continue // node 3 handles nothing any more
			}
			if cn.hold(f.to, f.msg.ACS) {
				cn.pool = append(cn.pool, f)
				continue
			}
			e := cn.engines[f.to]
			switch admitMsg(e, f.from, f.msg) {
			case Later:
				cn.pool = append(cn.pool, f)
				continue
			case Never:
				continue
			}
			delivered++
			cn.absorb(f.to, e.HandleMessage(f.from, f.msg))
		}
		if delivered == 0 {
			return len(cn.pool)
		}
	}
}

// TestOutputEpochRunsUntilTerminated: with N = 4, node 3 crashes during epoch
// 0, after which every step needs the messages of nodes 0, 1 and 2. The
// schedule makes node 0 decide the agreement about node 3's proposal in round
// 1 and output the epoch, while nodes 1 and 2 go on to round 2: they need
// node 0's messages of round 2 (one TERM is not the F+1 that would make them
// send theirs). Node 0 must keep running the output epoch until it
// terminates; every honest node then outputs it, and frees it.
func TestOutputEpochRunsUntilTerminated(t *testing.T) {
	cn := newCrashNet(t, Config{Window: 1})
	left := cn.run()
	if !cn.crashed || cn.behind == nil || cn.behind[0]+cn.behind[1] > 0 {
		t.Fatalf("the schedule failed: crashed %v, nodes 1 and 2 had output %v batches when node 0 output epoch 0", cn.crashed, cn.behind)
	}
	for i := range 3 {
		if len(cn.out[i]) != 1 {
			t.Fatalf("node %d output %d batches, want epoch 0 (stalled, %d messages left in flight, none deliverable)", i, len(cn.out[i]), left)
		}
		if b := cn.out[i][0]; len(b.Proposers) != 4 || !slices.EqualFunc(b.Txs, cn.out[0][0].Txs, bytes.Equal) {
			t.Fatalf("node %d output %v from %v, node 0 %v", i, txStrings(b.Txs), b.Proposers, txStrings(cn.out[0][0].Txs))
		}
		if n := running(cn.engines[i].Stats()); n != 0 {
			t.Fatalf("node %d still runs %d epochs: an agreement did not terminate", i, n)
		}
	}
}

// TestLingeringEpoch: an output epoch still running is admitted (Now, never
// Never); while Horizon of them run the engine starts no new epoch, neither
// for a message (Later) nor to propose; Forget frees it (then Never), and so
// does adopting a later batch.
func TestLingeringEpoch(t *testing.T) {
	cn := newCrashNet(t, Config{Window: 1, Horizon: 1})
	cn.starve0 = true
	cn.run()
	e := cn.engines[0]
	if st := e.Stats(); len(cn.out[0]) != 1 || st.Lingering != 1 || st.InFlight != 0 {
		t.Fatalf("node 0: %d batches, %d epochs output and running, %d in flight; want 1, 1, 0", len(cn.out[0]), st.Lingering, st.InFlight)
	}
	msg := func(ep uint64) *Message {
		return &Message{Epoch: ep, ACS: &acs.Message{Proposer: 3, ABA: &aba.Message{Kind: aba.KindTerm, Value: 1}}}
	}
	if a := e.Admit(1, msg(0)); a != Now {
		t.Fatalf("a message for the running output epoch: %v, want Now", a)
	}
	if a := e.Admit(1, msg(1)); a != Later {
		t.Fatalf("a message starting a new epoch with Horizon output epochs running: %v, want Later", a)
	}
	s, err := e.HandleInput(Input{Tx: []byte("more")})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Output) > 0 || e.Stats().InFlight != 0 {
		t.Fatal("the engine proposed in a new epoch with Horizon output epochs running")
	}
	e.Forget(0)
	if st := e.Stats(); st.Lingering != 0 || e.Admit(1, msg(0)) != Never {
		t.Fatalf("after Forget: %d output epochs running, admission %v", st.Lingering, e.Admit(1, msg(0)))
	}
	if s, _ = e.HandleInput(Input{Tick: true}); len(s.Output) != 1 || s.Output[0].Proposal == nil {
		t.Fatalf("no proposal in epoch 1 once the output epoch was freed: %+v", s.Output)
	}
	// Adopting a later batch frees the output epochs before it.
	cn = newCrashNet(t, Config{Window: 1})
	cn.starve0 = true
	cn.run()
	e = cn.engines[0]
	if _, err := e.Adopt(Batch{Epoch: 1}); err != nil {
		t.Fatal(err)
	}
	if st := e.Stats(); st.Lingering != 0 || e.Admit(1, msg(0)) != Never || e.Admit(1, msg(1)) != Never {
		t.Fatalf("after adopting epoch 1: %d output epochs running", st.Lingering)
	}
}
