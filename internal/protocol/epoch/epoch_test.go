package epoch

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mass-consensus/mass/internal/protocol"
	"github.com/mass-consensus/mass/internal/protocol/acs"
	"github.com/mass-consensus/mass/internal/protocol/rbc"
	"github.com/mass-consensus/mass/internal/wire"
)

type packet struct {
	from, to protocol.NodeID
	data     []byte
}

type testNet struct {
	t       *testing.T
	p       protocol.Params
	rng     *rand.Rand
	engines []*Engine
	pool    []packet
	out     [][]Batch
}

func newTestNet(t *testing.T, n int, seed uint64, cfg Config) *testNet {
	t.Helper()
	p, _ := protocol.NewParams(n)
	tn := &testNet{t: t, p: p, rng: rand.New(rand.NewPCG(seed, 7)), out: make([][]Batch, n)}
	for i := 0; i < n; i++ {
		c := cfg
		c.Params, c.Self, c.Rand = p, protocol.NodeID(i), rand.NewPCG(seed, uint64(i))
		e, err := New(c)
		if err != nil {
			t.Fatal(err)
		}
		tn.engines = append(tn.engines, e)
	}
	return tn
}

func (tn *testNet) absorb(i int, s Step) {
	for _, o := range s.Output {
		if o.Batch != nil {
			tn.out[i] = append(tn.out[i], *o.Batch)
		}
	}
	if len(s.Faults) > 0 {
		tn.t.Fatalf("node %d reported faults among honest nodes: %v", i, s.Faults)
	}
	for _, m := range s.Messages {
		data := m.Body.Marshal()
		for to := 0; to < tn.p.N; to++ {
			if m.To.Includes(protocol.NodeID(i), protocol.NodeID(to)) {
				tn.pool = append(tn.pool, packet{from: protocol.NodeID(i), to: protocol.NodeID(to), data: data})
			}
		}
	}
}

func (tn *testNet) input(i int, in Input) error {
	s, err := tn.engines[i].HandleInput(in)
	tn.absorb(i, s)
	return err
}

// deliver hands over one random in-flight message; a message refused for now
// stays in flight, as a retrying transport keeps it.
func (tn *testNet) deliver() bool {
	if len(tn.pool) == 0 {
		return false
	}
	k := tn.rng.IntN(len(tn.pool))
	pk := tn.pool[k]
	m, err := UnmarshalMessage(pk.data, tn.p, DefaultMaxProposalSize)
	if err != nil {
		tn.t.Fatal(err)
	}
	e := tn.engines[pk.to]
	if e.Admit(pk.from, m) == Later {
		return true
	}
	tn.pool[k] = tn.pool[len(tn.pool)-1]
	tn.pool = tn.pool[:len(tn.pool)-1]
	tn.absorb(int(pk.to), e.HandleMessage(pk.from, m))
	if st := e.Stats(); st.InFlight > e.cfg.Horizon || st.InFlight+st.Lingering > 2*e.cfg.Horizon {
		tn.t.Fatalf("node %d has %d epochs in flight and %d output still running, horizon %d", pk.to, st.InFlight, st.Lingering, e.cfg.Horizon)
	}
	return true
}

func TestEpochsAgreeAndCommitEverything(t *testing.T) {
	for _, n := range []int{1, 4, 7} {
		for seed := uint64(0); seed < 25; seed++ {
			tn := newTestNet(t, n, seed, Config{BatchSize: 8, Window: 2})
			var all [][]byte
			for i := 0; i < n; i++ {
				tn.input(i, Input{Tick: true, Now: 1000 + int64(i)*10})
			}
			for k := 0; k < 40; k++ {
				tx := fmt.Appendf(nil, "tx %d", k)
				if k%5 == 4 { // given to one node only
					tn.input(tn.rng.IntN(n), Input{Tx: tx})
				} else {
					for i := 0; i < n; i++ {
						if err := tn.input(i, Input{Tx: tx}); err != nil && !errors.Is(err, ErrDuplicate) {
							t.Fatal(err)
						}
					}
				}
				all = append(all, tx)
				for j := tn.rng.IntN(60); j > 0 && tn.deliver(); j-- {
				}
			}
			for tn.deliver() {
			}
			desc := fmt.Sprintf("n=%d seed=%d", n, seed)
			for i := 1; i < n; i++ {
				if len(tn.out[i]) != len(tn.out[0]) {
					t.Fatalf("%s: node %d output %d batches, node 0 %d", desc, i, len(tn.out[i]), len(tn.out[0]))
				}
				for e := range tn.out[0] {
					a, b := tn.out[0][e], tn.out[i][e]
					if a.Epoch != uint64(e) || a.Time != b.Time || !slices.Equal(a.Proposers, b.Proposers) || !slices.EqualFunc(a.Txs, b.Txs, bytes.Equal) {
						t.Fatalf("%s: epoch %d differs between node 0 and node %d", desc, e, i)
					}
				}
			}
			seen := map[string]int{}
			var last int64
			for _, b := range tn.out[0] {
				if b.Time < last {
					t.Fatalf("%s: epoch %d time %d before %d", desc, b.Epoch, b.Time, last)
				}
				last = b.Time
				if len(b.Proposers) < tn.p.Quorum() {
					t.Fatalf("%s: epoch %d has %d proposals", desc, b.Epoch, len(b.Proposers))
				}
				for _, tx := range b.Txs {
					seen[string(tx)]++
				}
			}
			for _, tx := range all {
				if seen[string(tx)] != 1 {
					t.Fatalf("%s: %q committed %d times", desc, tx, seen[string(tx)])
				}
			}
			for i, e := range tn.engines {
				if st := e.Stats(); st.Pending != 0 || st.InFlight != 0 || st.Lingering != 0 {
					t.Fatalf("%s: node %d left %d pending, %d in flight, %d output still running", desc, i, st.Pending, st.InFlight, st.Lingering)
				}
			}
		}
	}
}

func contribution(t *testing.T, from protocol.NodeID, time int64, txs ...string) acs.Contribution {
	t.Helper()
	p := Proposal{Time: time}
	for _, tx := range txs {
		p.Txs = append(p.Txs, []byte(tx))
	}
	return acs.Contribution{Proposer: from, Value: p.Marshal()}
}

func TestMerge(t *testing.T) {
	p, _ := protocol.NewParams(4)
	e, err := New(Config{Params: p, Rand: rand.NewPCG(1, 1), Start: 5, StartTime: 100})
	if err != nil {
		t.Fatal(err)
	}
	var s Step
	res := []acs.Contribution{
		contribution(t, 0, 50, "a", "b"),
		{Proposer: 1, Value: []byte{1, 2, 3}}, // undecodable
		contribution(t, 2, 400, "c", "a"),
		contribution(t, 3, 300, "d"),
	}
	b := e.merge(&s, res)
	// Epoch 5 starts at proposer 5 mod 4 = 1: proposers 1 (bad), 2, 3, 0.
	want := []string{"c", "a", "d", "b"}
	if got := txStrings(b.Txs); !slices.Equal(got, want) {
		t.Errorf("txs %v, want %v", got, want)
	}
	if !slices.Equal(b.Proposers, []protocol.NodeID{2, 3, 0}) {
		t.Errorf("proposers %v", b.Proposers)
	}
	if b.Time != 300 { // lower median of 50, 300, 400
		t.Errorf("time %d, want 300", b.Time)
	}
	if len(s.Faults) != 1 || s.Faults[0].Node != 1 || s.Faults[0].Kind != FaultBadProposal {
		t.Errorf("faults %v", s.Faults)
	}
	// The median never goes back before the previous batch.
	b = e.merge(&s, []acs.Contribution{contribution(t, 0, 10), contribution(t, 1, 20), contribution(t, 2, 30)})
	if b.Time != 100 {
		t.Errorf("time %d, want the previous batch's 100", b.Time)
	}
}

func txStrings(txs [][]byte) []string {
	var out []string
	for _, tx := range txs {
		out = append(out, string(tx))
	}
	return out
}

func TestCommittedTransactionsAreNotRepeated(t *testing.T) {
	p, _ := protocol.NewParams(4)
	e, _ := New(Config{Params: p, Rand: rand.NewPCG(1, 1)})
	if _, err := e.HandleInput(Input{Tx: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Adopt(Batch{Epoch: 0, Time: 7, Txs: [][]byte{[]byte("x"), []byte("y")}}); err != nil {
		t.Fatal(err)
	}
	if st := e.Stats(); st.Pending != 0 || e.Next() != 1 {
		t.Fatalf("after adopting: pending %d, next %d", st.Pending, e.Next())
	}
	if _, err := e.HandleInput(Input{Tx: []byte("y")}); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("resubmitting a committed tx: %v", err)
	}
	var s Step
	b := e.merge(&s, []acs.Contribution{contribution(t, 0, 9, "x", "z")})
	if got := txStrings(b.Txs); !slices.Equal(got, []string{"z"}) {
		t.Fatalf("a committed transaction came out again: %v", got)
	}
	if _, err := e.Adopt(Batch{Epoch: 5}); err == nil {
		t.Fatal("adopting out of order succeeded")
	}
}

func TestInputErrors(t *testing.T) {
	p, _ := protocol.NewParams(4)
	e, _ := New(Config{Params: p, Rand: rand.NewPCG(1, 1), MaxTxSize: 10, MaxPending: 2, Window: 1})
	cases := []struct {
		tx   []byte
		want error
	}{
		{[]byte{}, ErrTxEmpty},
		{make([]byte, 11), ErrTxTooLarge},
		{[]byte("a"), nil},
		{[]byte("a"), ErrDuplicate},
		{[]byte("b"), nil},
		{[]byte("c"), ErrPendingFull},
	}
	for _, c := range cases {
		before := e.Stats().Pending
		_, err := e.HandleInput(Input{Tx: c.tx})
		if !errors.Is(err, c.want) {
			t.Errorf("tx %q: error %v, want %v", c.tx, err, c.want)
		}
		if err != nil && e.Stats().Pending != before {
			t.Errorf("tx %q was refused but changed the queue", c.tx)
		}
	}
}

func TestHorizonAndBehind(t *testing.T) {
	p, _ := protocol.NewParams(4)
	e, _ := New(Config{Params: p, Rand: rand.NewPCG(1, 1), Window: 2})
	// A well-formed READY for an epoch far ahead.
	msg := func(ep uint64) *Message {
		return &Message{Epoch: ep, ACS: &acs.Message{Proposer: 0, RBC: &rbc.Message{Kind: rbc.KindReady}}}
	}
	if e.Admit(1, msg(3)) != Now || e.Admit(1, msg(4)) != Later {
		t.Fatalf("admission with horizon 4: %v %v", e.Admit(1, msg(3)), e.Admit(1, msg(4)))
	}
	for ep := uint64(0); ep < 100; ep++ {
		e.HandleMessage(1, msg(ep))
	}
	if st := e.Stats(); st.InFlight > 4 || st.DroppedFuture != 96 {
		t.Fatalf("in flight %d, dropped %d", st.InFlight, st.DroppedFuture)
	}
	if _, behind := e.Behind(); behind {
		t.Fatal("one node (possibly faulty) made the node think it is behind")
	}
	e.HandleMessage(2, msg(50))
	if at, behind := e.Behind(); !behind || at != 50 {
		t.Fatalf("two nodes ahead at 50 and 99: behind=%v at %d", behind, at)
	}
}

func TestProposalDecoding(t *testing.T) {
	good := (&Proposal{Time: -5, Txs: [][]byte{[]byte("a"), []byte("bc")}}).Marshal()
	p, err := UnmarshalProposal(good, 10, 10)
	if err != nil || p.Time != -5 || len(p.Txs) != 2 {
		t.Fatalf("%+v %v", p, err)
	}
	for cut := 0; cut < len(good); cut++ {
		if _, err := UnmarshalProposal(good[:cut], 10, 10); !errors.Is(err, ErrBadProposal) {
			t.Fatalf("truncated to %d: %v", cut, err)
		}
	}
	bad := map[string][]byte{
		"trailing":  append(slices.Clone(good), 0),
		"empty tx":  (&Proposal{Txs: [][]byte{{}}}).Marshal(),
		"too many":  (&Proposal{Txs: [][]byte{{1}, {2}, {3}}}).Marshal(),
		"too large": (&Proposal{Txs: [][]byte{make([]byte, 11)}}).Marshal(),
	}
	for name, b := range bad {
		if _, err := UnmarshalProposal(b, 2, 10); !errors.Is(err, ErrBadProposal) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestBundle(t *testing.T) {
	p, _ := protocol.NewParams(4)
	m := (&Message{Epoch: 3, ACS: &acs.Message{Proposer: 1, RBC: &rbc.Message{Kind: rbc.KindReady}}}).Marshal()
	b := MarshalBundle([][]byte{m, m})
	got, err := UnmarshalBundle(b, p, 1<<20)
	if err != nil || len(got) != 2 || got[1].Epoch != 3 {
		t.Fatalf("%v %v", got, err)
	}
	for cut := 0; cut < len(b); cut++ {
		if _, err := UnmarshalBundle(b[:cut], p, 1<<20); err == nil {
			t.Fatalf("bundle truncated to %d decoded", cut)
		}
	}
	if _, err := UnmarshalBundle(MarshalBundle(nil), p, 1<<20); err == nil {
		t.Fatal("empty bundle decoded")
	}
	if _, err := UnmarshalBundle(MarshalBundle([][]byte{append(slices.Clone(m), 9)}), p, 1<<20); !errors.Is(err, wire.ErrTrailing) {
		t.Fatalf("message with a trailing byte: %v", err)
	}
}

// FuzzUnmarshalBundle checks that no input makes the decoder panic and that
// whatever it accepts re-encodes to the same bytes.
func FuzzUnmarshalBundle(f *testing.F) {
	p, _ := protocol.NewParams(4)
	c, _ := rbc.Encode(p, []byte("value"))
	for _, m := range []*Message{
		{Epoch: 1, ACS: &acs.Message{Proposer: 2, RBC: c.Message(rbc.KindVal, 2)}},
		{Epoch: 1, ACS: &acs.Message{Proposer: 2, RBC: c.Message(rbc.KindReady, 0)}},
	} {
		f.Add(MarshalBundle([][]byte{m.Marshal()}))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		msgs, err := UnmarshalBundle(b, p, 1<<16)
		if err != nil {
			return
		}
		var raw [][]byte
		for _, m := range msgs {
			raw = append(raw, m.Marshal())
		}
		if !bytes.Equal(MarshalBundle(raw), b) {
			t.Fatalf("accepted a non-canonical encoding")
		}
	})
}

// walEntry is what a resuming node persists: its proposals and the messages
// it handled, in order.
type walEntry struct {
	proposal *Proposed
	from     protocol.NodeID
	msg      []byte
}

// TestRestartReplaysExactly crashes a node at a random point, rebuilds it
// from what it persisted, and checks that replaying sends exactly what it
// had sent for the epochs in flight (never anything different), and that the
// network then goes on to commit everything.
func TestRestartReplaysExactly(t *testing.T) {
	for seed := uint64(0); seed < 30; seed++ {
		cfg := Config{BatchSize: 8, Window: 2}
		cfg.CoinSeed[0] = byte(seed)
		tn := newTestNet(t, 4, seed, cfg)
		var wal []walEntry
		sent := map[sentKey]int{} // node 0's messages
		record := func(s Step) {
			for _, o := range s.Output {
				if o.Proposal != nil {
					wal = append(wal, walEntry{proposal: o.Proposal})
				}
			}
			for _, m := range s.Messages {
				sent[sentKey{m.To, string(m.Body.Marshal())}]++
			}
		}
		handle := func(i int, s Step) {
			if i == 0 {
				record(s)
			}
			tn.absorb(i, s)
		}
		for i := 0; i < 4; i++ {
			tn.input(i, Input{Tick: true, Now: 100})
		}
		crashAt := 200 + tn.rng.IntN(2000)
		step := 0
		for k := 0; k < 30; k++ {
			for i := 0; i < 4; i++ {
				s, _ := tn.engines[i].HandleInput(Input{Tx: fmt.Appendf(nil, "tx %d", k)})
				handle(i, s)
			}
			for j := 0; j < 80 && len(tn.pool) > 0; j++ {
				pk := tn.pool[tn.rng.IntN(len(tn.pool))]
				m, _ := UnmarshalMessage(pk.data, tn.p, DefaultMaxProposalSize)
				e := tn.engines[pk.to]
				if e.Admit(pk.from, m) == Later {
					continue
				}
				tn.removePacket(pk)
				if pk.to == 0 {
					step++
					wal = append(wal, walEntry{from: pk.from, msg: pk.data})
				}
				handle(int(pk.to), e.HandleMessage(pk.from, m))
				if pk.to == 0 && step == crashAt {
					break
				}
			}
			if step >= crashAt {
				break
			}
		}
		// Crash node 0: rebuild it from its committed position and its WAL.
		old := tn.engines[0]
		rc := cfg
		rc.Params, rc.Self = tn.p, 0
		rc.Rand = rand.NewPCG(999, 999) // a new sample would differ: only Restore may propose
		rc.Start = old.Next()
		if len(tn.out[0]) > 0 {
			rc.StartTime = tn.out[0][len(tn.out[0])-1].Time
		}
		for _, b := range tn.out[0] {
			rc.Recent = append(rc.Recent, b.Txs)
		}
		fresh, err := New(rc)
		if err != nil {
			t.Fatal(err)
		}
		fresh.Hold()
		replayed := map[sentKey]int{}
		for _, w := range wal {
			var s Step
			if w.proposal != nil {
				if w.proposal.Epoch < rc.Start {
					continue
				}
				s, err = fresh.Restore(w.proposal.Epoch, w.proposal.Value)
				if err != nil {
					t.Fatalf("seed %d: %v", seed, err)
				}
			} else {
				m, _ := UnmarshalMessage(w.msg, tn.p, DefaultMaxProposalSize)
				if m.Epoch < rc.Start {
					continue
				}
				s = fresh.HandleMessage(w.from, m)
			}
			for _, m := range s.Messages {
				replayed[sentKey{m.To, string(m.Body.Marshal())}]++
			}
		}
		for k, c := range replayed {
			if sent[k] < c {
				t.Fatalf("seed %d: the restarted node sent a message it had not sent before the crash", seed)
			}
		}
		// Every message of the epochs still open was sent again.
		for k := range sent {
			if ep := epochOf(t, k.data, tn.p); replayed[k] == 0 && ep >= rc.Start {
				t.Fatalf("seed %d: a message of open epoch %d was not reproduced", seed, ep)
			}
		}
		tn.engines[0] = fresh
		tn.absorb(0, fresh.Release())
		for tn.deliver() {
		}
		// Node 0's log before and after the crash, and the others' logs,
		// agree epoch by epoch.
		for i := 1; i < 4; i++ {
			for e := range min(len(tn.out[0]), len(tn.out[i])) {
				if tn.out[0][e].Epoch != tn.out[i][e].Epoch || !slices.EqualFunc(tn.out[0][e].Txs, tn.out[i][e].Txs, bytes.Equal) {
					t.Fatalf("seed %d: node 0 and node %d differ at epoch %d after the restart", seed, i, e)
				}
			}
		}
		if len(tn.out[0]) != len(tn.out[1]) {
			t.Fatalf("seed %d: node 0 output %d batches, node 1 %d", seed, len(tn.out[0]), len(tn.out[1]))
		}
	}
}

func (tn *testNet) removePacket(pk packet) {
	for i, q := range tn.pool {
		if q.from == pk.from && q.to == pk.to && bytes.Equal(q.data, pk.data) {
			tn.pool[i] = tn.pool[len(tn.pool)-1]
			tn.pool = tn.pool[:len(tn.pool)-1]
			return
		}
	}
}

type sentKey struct {
	to   protocol.Target
	data string
}

// epochOf reads the epoch of an encoded message.
func epochOf(t *testing.T, data string, p protocol.Params) uint64 {
	t.Helper()
	m, err := UnmarshalMessage([]byte(data), p, DefaultMaxProposalSize)
	if err != nil {
		t.Fatal(err)
	}
	return m.Epoch
}

// TestStopDrivesToTheEnd: with a stop set and nothing pending, the engines
// run every epoch before it (empty batches) and none from it on; a stop
// behind a running epoch is refused.
func TestStopDrivesToTheEnd(t *testing.T) {
	tn := newTestNet(t, 4, 3, Config{Window: 2})
	for i := range tn.engines {
		if err := tn.engines[i].SetStop(5); err != nil {
			t.Fatal(err)
		}
	}
	for i := range tn.engines {
		if err := tn.input(i, Input{Tick: true, Now: 1}); err != nil {
			t.Fatal(err)
		}
	}
	for steps := 0; tn.deliver(); steps++ {
		if steps%50 == 0 {
			for i := range tn.engines {
				_ = tn.input(i, Input{Tick: true, Now: 1})
			}
		}
	}
	for i, out := range tn.out {
		if len(out) != 5 {
			t.Fatalf("node %d output %d batches, want 5 (epochs 0-4)", i, len(out))
		}
		for _, b := range out {
			if len(b.Txs) != 0 || b.Epoch >= 5 {
				t.Fatalf("node %d: batch %+v", i, b)
			}
		}
		if tn.engines[i].Next() != 5 {
			t.Fatalf("node %d next %d", i, tn.engines[i].Next())
		}
		ready := &Message{Epoch: 5, ACS: &acs.Message{Proposer: 0, RBC: &rbc.Message{Kind: rbc.KindReady}}}
		if tn.engines[i].Admit(0, ready) != Later {
			t.Fatalf("node %d admits epoch 5 now", i)
		}
	}
	// A stop behind an epoch already running is refused.
	e := newTestNet(t, 4, 4, Config{Window: 3}).engines[0]
	if _, err := e.HandleInput(Input{Tx: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if err := e.SetStop(0); err == nil {
		t.Fatal("a stop at a running epoch was accepted")
	}
	if err := e.SetStop(3); err != nil {
		t.Fatal(err)
	}
}

// TestLimitHoldsTheEngineBack: an engine limited to epochs before 2 starts
// no later epoch however much is pending, refuses later epochs' messages
// for later, and goes on once the limit moves; a lower limit is ignored.
func TestLimitHoldsTheEngineBack(t *testing.T) {
	tn := newTestNet(t, 4, 5, Config{Window: 3})
	for i := range tn.engines {
		tn.engines[i].SetLimit(2)
	}
	for k := range 40 {
		for i := range tn.engines {
			if err := tn.input(i, Input{Tx: fmt.Appendf(nil, "tx-%d-%d", i, k)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for tn.deliver() {
	}
	ready := &Message{Epoch: 2, ACS: &acs.Message{Proposer: 0, RBC: &rbc.Message{Kind: rbc.KindReady}}}
	for i, e := range tn.engines {
		for ep := range e.epochs {
			if ep >= 2 {
				t.Fatalf("node %d runs epoch %d beyond its limit", i, ep)
			}
		}
		if e.Admit(0, ready) != Later {
			t.Fatalf("node %d admits epoch 2 now", i)
		}
		e.SetLimit(1) // ignored
		if e.Limit() != 2 {
			t.Fatalf("the limit went back to %d", e.Limit())
		}
	}
	for i := range tn.engines {
		tn.engines[i].SetLimit(10)
		if err := tn.input(i, Input{Tick: true, Now: 5}); err != nil {
			t.Fatal(err)
		}
	}
	for tn.deliver() {
	}
	for i, out := range tn.out {
		if len(out) <= 2 {
			t.Fatalf("node %d output %d batches after the limit moved", i, len(out))
		}
	}
}
