package sale_test

import (
	"bytes"
	"errors"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mass-consensus/mass/internal/app/sale"
	"github.com/mass-consensus/mass/internal/app/sale/fairsim"
	"github.com/mass-consensus/mass/internal/app/state"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/wire"
)

const chain = fairsim.ChainID

// fixture is a sale over n nodes on an in-memory store, opened at time 0:
// the window is [10 s, 130 s).
type fixture struct {
	t     testing.TB
	s     *fairsim.MemStore
	nodes []*crypto.PrivateKey
	sale  *sale.Sale
}

func params() sale.Params {
	return sale.Params{Item: "seat", Supply: 3, PerRequest: 2, Start: 10_000, Window: 120_000, MaxAge: 30_000,
		Difficulty: 6, MaxRequests: 8}
}

func newFixture(t testing.TB, n int, p sale.Params) *fixture {
	f := &fixture{t: t, s: fairsim.NewMemStore()}
	var set state.Nodes
	for i := 0; i < n; i++ {
		k := fairsim.Key('n', i, 1)
		f.nodes = append(f.nodes, k)
		set.Nodes = append(set.Nodes, state.Node{Key: k.Public()})
	}
	f.s.Put(state.NodesKey, set.Marshal(), 0)
	sl, err := sale.Open(f.s, sale.Env{}, crypto.ID{}, 0, p)
	if err != nil {
		t.Fatal(err)
	}
	f.sale = sl
	return f
}

// buyer returns the i-th buyer's key.
func buyer(i int) *crypto.PrivateKey { return fairsim.Key('b', i, 1) }

// request is buyer b's request for qty items with a valid proof of work,
// stamped by nodes 0 … 2f at the given times (the first quorum times; a
// single time stands for all).
func (f *fixture) request(b *crypto.PrivateKey, qty uint32, times ...int64) sale.Request {
	f.t.Helper()
	nonce, err := sale.SolvePoW(chain, f.sale.ID, b.Public(), f.sale.Params.Difficulty, 0, 1<<22)
	if err != nil {
		f.t.Fatal(err)
	}
	return f.stamp(sale.Request{Sale: f.sale.ID, Buyer: b.Public(), Quantity: qty, Nonce: nonce}, times...)
}

// stamp stamps a request by nodes 0 … 2f at the given times.
func (f *fixture) stamp(q sale.Request, times ...int64) sale.Request {
	h := q.Hash(chain)
	var st []sale.Stamp
	for i := 0; i < f.sale.Quorum(); i++ {
		t := times[min(i, len(times)-1)]
		st = append(st, sale.SignStamp(f.nodes[i], chain, f.sale.ID, h, t))
	}
	slices.SortFunc(st, func(a, b sale.Stamp) int { return bytes.Compare(a.Node[:], b.Node[:]) })
	q.Stamps = st
	return q
}

// submit submits at a block time; a refusal must leave the store as it
// was.
func (f *fixture) submit(q sale.Request, at int64) error {
	f.t.Helper()
	before := maps.Clone(f.s.M)
	_, err := sale.Submit(f.s, sale.Env{Time: at}, chain, &q)
	if err != nil && !maps.EqualFunc(before, f.s.M, func(a, b fairsim.Leaf) bool { return bytes.Equal(a.Value, b.Value) && a.Sum == b.Sum }) {
		f.t.Fatalf("a refused request changed the store: %v", err)
	}
	return err
}

func (f *fixture) member(b *crypto.PrivateKey, balance uint64) {
	a := &state.Account{Role: state.Member, Name: "m"}
	f.s.Put(state.AccountKey(b.Public().ID()), a.Marshal(), balance)
}

// TestRefusals shows each refusal reason, and that a refusal changes
// nothing.
func TestRefusals(t *testing.T) {
	f := newFixture(t, 4, params())
	good := f.request(buyer(1), 1, 20_000)
	if err := f.submit(good, 21_000); err != nil {
		t.Fatal(err)
	}
	resign := func(q sale.Request, i int, k *crypto.PrivateKey, tm int64) sale.Request {
		q.Stamps = slices.Clone(q.Stamps)
		q.Stamps[i] = sale.SignStamp(k, chain, f.sale.ID, q.Hash(chain), tm)
		return q
	}
	outsider := fairsim.Key('x', 0, 1)
	b2 := f.request(buyer(2), 1, 20_000)
	cases := []struct {
		name string
		q    sale.Request
		at   int64
		want error
	}{
		{"no sale", func() sale.Request { q := b2; q.Sale = 9; return q }(), 21_000, sale.ErrNoSale},
		{"quantity", f.request(buyer(2), 3, 20_000), 21_000, sale.ErrQuantity},
		{"bad pow", func() sale.Request { q := b2; q.Nonce++; return q }(), 21_000, sale.ErrBadPoW},
		{"too few stamps", func() sale.Request { q := b2; q.Stamps = q.Stamps[:2]; return q }(), 21_000, sale.ErrStampCount},
		{"non-node", resign(b2, 0, outsider, 20_000), 21_000, sale.ErrNotNode},
		{"duplicate signer", func() sale.Request { q := b2; q.Stamps = []sale.Stamp{q.Stamps[0], q.Stamps[0], q.Stamps[1]}; return q }(), 21_000, sale.ErrDupSigner},
		{"unordered", func() sale.Request { q := b2; q.Stamps = []sale.Stamp{q.Stamps[1], q.Stamps[0], q.Stamps[2]}; return q }(), 21_000, sale.ErrUnordered},
		{"before the window", f.request(buyer(2), 1, 9_999), 10_000, sale.ErrWindow},
		{"after the window", f.request(buyer(2), 1, 130_000), 130_000, sale.ErrWindow},
		{"stale", b2, 20_000 + 30_001, sale.ErrStale},
		{"ahead", b2, 20_000 - 30_001, sale.ErrStale},
		{"bad signature", func() sale.Request { q := b2; q.Stamps = slices.Clone(q.Stamps); q.Stamps[1].Time++; return q }(), 21_000, sale.ErrBadSignature},
		{"other request's stamps", func() sale.Request { q := b2; q.Stamps = good.Stamps; return q }(), 21_000, sale.ErrBadSignature},
		{"second request", f.request(buyer(1), 2, 25_000), 26_000, sale.ErrDuplicate},
	}
	for _, c := range cases {
		err := f.submit(c.q, c.at)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
		var r *sale.Refusal
		if !errors.As(err, &r) || r.Code == 0 {
			t.Errorf("%s: not a refusal with a code: %#v", c.name, err)
		}
	}
	// Ahead of the block time is left to the block at submission.
	if _, err := sale.Submit(fairsim.NewMemStore(), sale.Env{Time: 20_000 - 30_001, Submission: true}, chain, &b2); errors.Is(err, sale.ErrStale) {
		t.Fatal("a stamp ahead of the last block's time refused at submission")
	}
	// Members only; a member needs no proof of work.
	p := params()
	p.Difficulty = 0
	m := newFixture(t, 4, p)
	if err := m.submit(m.request(buyer(3), 1, 20_000), 21_000); !errors.Is(err, sale.ErrNotMember) {
		t.Fatalf("a non-member in a members-only sale: %v", err)
	}
	m.member(buyer(3), 0)
	q := m.stamp(sale.Request{Sale: 1, Buyer: buyer(3).Public(), Quantity: 1, Nonce: 12345}, 20_000)
	if err := m.submit(q, 21_000); err != nil {
		t.Fatalf("a member: %v", err)
	}
	// The price: a buyer without the balance is refused.
	p = params()
	p.Price = 10
	pf := newFixture(t, 4, p)
	pf.member(buyer(4), 15)
	if err := pf.submit(pf.request(buyer(4), 2, 20_000), 21_000); !errors.Is(err, sale.ErrFunds) {
		t.Fatalf("2 items at 10 with 15: %v", err)
	}
	if err := pf.submit(pf.request(buyer(4), 1, 20_000), 21_000); err != nil {
		t.Fatal(err)
	}
	// Closed.
	if _, err := sale.EndBlock(f.s, sale.Env{Time: f.sale.Due()}); err != nil {
		t.Fatal(err)
	}
	if err := f.submit(f.request(buyer(5), 1, 129_000), 130_000); !errors.Is(err, sale.ErrClosed) {
		t.Fatalf("after the close: %v", err)
	}
}

// TestFull: when full, a later request is refused and an earlier one
// evicts the latest kept, whose record goes.
func TestFull(t *testing.T) {
	p := params()
	p.MaxRequests = 3
	f := newFixture(t, 4, p)
	for i := 0; i < 3; i++ {
		if err := f.submit(f.request(buyer(i), 1, 20_000+int64(i)*1000), 23_000); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.submit(f.request(buyer(9), 1, 22_500), 23_000); !errors.Is(err, sale.ErrFull) {
		t.Fatalf("a later request in a full sale: %v", err)
	}
	// At submission the same answers, and nothing written.
	check := func(q sale.Request) error {
		before := maps.Clone(f.s.M)
		_, err := sale.Submit(f.s, sale.Env{Time: 23_000, Submission: true}, chain, &q)
		if !maps.EqualFunc(before, f.s.M, func(a, b fairsim.Leaf) bool { return bytes.Equal(a.Value, b.Value) && a.Sum == b.Sum }) {
			t.Fatal("a submission's check wrote")
		}
		return err
	}
	if err := check(f.request(buyer(9), 1, 22_500)); !errors.Is(err, sale.ErrFull) {
		t.Fatalf("a later request in a full sale, at submission: %v", err)
	}
	if err := check(f.request(buyer(8), 1, 21_500)); err != nil {
		t.Fatalf("an earlier request in a full sale, at submission: %v", err)
	}
	if err := f.submit(f.request(buyer(8), 1, 21_500), 23_000); err != nil {
		t.Fatalf("an earlier request in a full sale: %v", err)
	}
	if _, err := sale.ReadKept(f.s, 1, buyer(2).Public().ID()); !errors.Is(err, sale.ErrNotFound) {
		t.Fatalf("the latest kept was not evicted: %v", err)
	}
	sl, _ := sale.ReadSale(f.s, 1)
	if sl.Kept != 3 || sl.Evicted != 1 || sl.Accepted != 4 {
		t.Fatalf("kept %d evicted %d accepted %d", sl.Kept, sl.Evicted, sl.Accepted)
	}
}

// TestKeptIsTheEarliestWhateverTheOrder: the requests kept, and so the
// allocation, do not depend on the order requests are applied in.
func TestKeptIsTheEarliestWhateverTheOrder(t *testing.T) {
	p := params()
	p.MaxRequests, p.Supply = 10, 6
	base := newFixture(t, 4, p)
	rng := rand.New(rand.NewPCG(1, 2))
	var reqs []sale.Request
	for i := 0; i < 40; i++ {
		reqs = append(reqs, base.request(buyer(i), 1, 20_000+rng.Int64N(50)*100))
	}
	var first []crypto.ID
	for trial := 0; trial < 5; trial++ {
		f := &fixture{t: t, s: base.s.Clone(), nodes: base.nodes, sale: base.sale}
		perm := rng.Perm(len(reqs))
		for _, i := range perm {
			_ = f.submit(reqs[i], 26_000)
		}
		order, won, err := fairsim.Close(f.s, f.sale, [32]byte{7})
		if err != nil {
			t.Fatal(err)
		}
		if len(order) != 10 || len(won) != 6 {
			t.Fatalf("%d kept, %d won", len(order), len(won))
		}
		if trial == 0 {
			first = order
		} else if !slices.Equal(first, order) {
			t.Fatalf("another order of application kept or ranked other requests")
		}
	}
}

func TestRecordsRoundTrip(t *testing.T) {
	f := newFixture(t, 7, params())
	q := f.request(buyer(1), 2, 20_000, 20_100, 20_200, 20_300, 20_400)
	kept := &sale.Kept{Request: q, Member: true, Fair: 20_200}
	res := &sale.Result{Rank: 3, Granted: 2, Paid: 20, Key: sale.OrderKey{Fair: 5, Tie: [32]byte{9}}}
	slot := &sale.Slot{Fair: 4, Identity: crypto.ID{1}, Quantity: 2}
	reg := &sale.Registry{NextID: 2, Open: []sale.Due{{ID: 1, Due: 99}}}
	for name, c := range map[string]struct {
		raw []byte
		dec func([]byte) (any, error)
	}{
		"sale":     {f.sale.Marshal(), func(b []byte) (any, error) { return sale.UnmarshalSale(b) }},
		"request":  {kept.Marshal(), func(b []byte) (any, error) { return sale.UnmarshalKept(b) }},
		"result":   {res.Marshal(), func(b []byte) (any, error) { return sale.UnmarshalResult(b) }},
		"slot":     {slot.Marshal(), func(b []byte) (any, error) { return sale.UnmarshalSlot(b) }},
		"registry": {reg.Marshal(), func(b []byte) (any, error) { return sale.UnmarshalRegistry(b) }},
	} {
		v, err := c.dec(c.raw)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if again := v.(interface{ Marshal() []byte }).Marshal(); !bytes.Equal(again, c.raw) {
			t.Fatalf("%s: re-encoding differs", name)
		}
		if _, err := c.dec(append(bytes.Clone(c.raw), 0)); !errors.Is(err, sale.ErrMalformed) {
			t.Fatalf("%s with a trailing byte: %v", name, err)
		}
		if _, err := c.dec(c.raw[:len(c.raw)-1]); err == nil {
			t.Fatalf("%s truncated decodes", name)
		}
		bad := bytes.Clone(c.raw)
		bad[0] = 0x01
		if _, err := c.dec(bad); err == nil {
			t.Fatalf("%s with another kind decodes", name)
		}
	}
	// Out-of-range values.
	w := wire.NewWriter(64)
	p := params()
	p.PerRequest = p.Supply + 1
	p.MarshalTo(w)
	if _, err := sale.ReadParams(wire.NewReader(w.Finish())); !errors.Is(err, sale.ErrMalformed) {
		t.Fatalf("per request over the supply: %v", err)
	}
	zero := &sale.Result{Key: res.Key}
	if _, err := sale.UnmarshalResult(zero.Marshal()); err == nil {
		t.Fatal("a result of rank 0 decodes")
	}
}

// TestFairTimeWithinHonest checks, over random stamps, that the fair time
// lies between the honest readings whatever f Byzantine stamps say — and
// that the checker catches a rule that does not (the minimum, the mean).
func TestFairTimeWithinHonest(t *testing.T) {
	rules := map[string]func([]int64) int64{
		"median (Mass)": sale.FairTime,
		"minimum":       func(x []int64) int64 { return slices.Min(x) },
		"mean": func(x []int64) int64 {
			var s int64
			for _, v := range x {
				s += v
			}
			return s / int64(len(x))
		},
	}
	for name, rule := range rules {
		if got := withinHonest(rule); (name == "median (Mass)") != got {
			t.Errorf("%s: within the honest range %v", name, got)
		}
	}
}

func withinHonest(rule func([]int64) int64) bool {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 2000; trial++ {
		f := rng.IntN(5)
		var times []int64
		lo, hi := int64(1<<62), int64(-1<<62)
		for i := 0; i < f+1+rng.IntN(f+1); i++ { // f+1 … 2f+1 honest
			v := 1_000_000 + rng.Int64N(1000)
			times = append(times, v)
			lo, hi = min(lo, v), max(hi, v)
		}
		for len(times) < 2*f+1 { // the rest Byzantine: anywhere
			times = append(times, rng.Int64N(3_000_000))
		}
		rng.Shuffle(len(times), func(i, j int) { times[i], times[j] = times[j], times[i] })
		if m := rule(times); m < lo || m > hi {
			return false
		}
	}
	return true
}

func TestPoW(t *testing.T) {
	k := buyer(1).Public()
	n, err := sale.SolvePoW(chain, 1, k, 12, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if !sale.CheckPoW(chain, 1, k, n, 12) {
		t.Fatal("the solution does not check")
	}
	for name, ok := range map[string]bool{
		"another sale":  sale.CheckPoW(chain, 2, k, n, 12),
		"another key":   sale.CheckPoW(chain, 1, buyer(2).Public(), n, 12),
		"another chain": sale.CheckPoW("other", 1, k, n, 12),
	} {
		// A solution for 12 bits holds elsewhere with chance 2^-12: these
		// fixed inputs do not.
		if ok {
			t.Errorf("the proof of work holds for %s", name)
		}
	}
	if _, err := sale.SolvePoW(chain, 1, k, 40, 0, 100); !errors.Is(err, sale.ErrNoSolution) {
		t.Fatal(err)
	}
	if sale.LeadingZeros([32]byte{0, 0, 0x10}) != 19 || sale.LeadingZeros([32]byte{}) != 256 {
		t.Fatal("leading zeros")
	}
}

// TestAllocation: partial grants, ties broken by the seed, the cut-off and
// payment to the treasury; a buyer who cannot pay is passed over.
func TestAllocation(t *testing.T) {
	p := params()
	p.Supply, p.PerRequest, p.Price, p.MaxRequests = 3, 2, 10, 10
	order := func(seed byte) []crypto.ID {
		f := newFixture(t, 4, p)
		for i := 0; i < 4; i++ {
			f.member(buyer(i), 100)
			if err := f.submit(f.request(buyer(i), 2, 20_000), 21_000); err != nil {
				t.Fatal(err)
			}
		}
		// Buyer 0 spends its tokens before the close: passed over.
		f.member(buyer(0), 5)
		ids, won, err := fairsim.Close(f.s, f.sale, [32]byte{seed})
		if err != nil {
			t.Fatal(err)
		}
		sl, _ := sale.ReadSale(f.s, 1)
		if sl.Sold != 3 || sl.Winners != 2 || sl.State != sale.StateClosed {
			t.Fatalf("%+v", sl)
		}
		var granted []uint32
		for _, id := range ids {
			if r, err := sale.ReadResult(f.s, 1, id); err == nil {
				granted = append(granted, r.Granted)
				if r.Granted > 0 && r.Key.Compare(sl.Cut) > 0 {
					t.Fatal("a winner after the cut-off")
				}
			}
		}
		_ = won
		_, tsum, _ := f.s.Get(state.TreasuryKey)
		if tsum != 30 {
			t.Fatalf("the treasury holds %d", tsum)
		}
		if !slices.Contains(granted, 1) || !slices.Contains(granted, 2) {
			t.Fatalf("grants %v: want a full and a partial", granted)
		}
		return ids
	}
	a, b, c := order(1), order(1), order(2)
	if !slices.Equal(a, b) {
		t.Fatal("the same seed ordered ties differently")
	}
	if slices.Equal(a, c) {
		t.Fatal("another seed ordered four ties the same (chance 1/24): the seed is not used")
	}
}

func TestStamper(t *testing.T) {
	f := newFixture(t, 4, params())
	st := sale.NewStamper(f.nodes[0], chain, 2)
	q := f.request(buyer(1), 1, 20_000)
	q.Stamps = nil
	s1, err := st.Stamp(f.sale, &q, false, 20_000)
	if err != nil {
		t.Fatal(err)
	}
	if s1.Verify(chain, 1, q.Hash(chain)) != nil || s1.Time != 20_000 {
		t.Fatal("a bad stamp")
	}
	if s2, err := st.Stamp(f.sale, &q, false, 25_000); err != nil || s2 != s1 {
		t.Fatalf("asked again: %v, another stamp %v", err, s2 != s1)
	}
	other := q
	other.Quantity = 2
	if _, err := st.Stamp(f.sale, &other, false, 25_000); !errors.Is(err, sale.ErrDuplicate) {
		t.Fatalf("another request of the same identity: %v", err)
	}
	bad := f.request(buyer(2), 1, 20_000)
	bad.Nonce++
	for name, c := range map[string]struct {
		q    sale.Request
		now  int64
		want error
	}{
		"before":   {f.request(buyer(2), 1, 1), 9_999, sale.ErrWindow},
		"after":    {f.request(buyer(2), 1, 1), 130_000, sale.ErrWindow},
		"no pow":   {bad, 20_000, sale.ErrBadPoW},
		"quantity": {f.request(buyer(2), 3, 1), 20_000, sale.ErrQuantity},
	} {
		if _, err := st.Stamp(f.sale, &c.q, false, c.now); !errors.Is(err, c.want) {
			t.Errorf("%s: %v", name, err)
		}
	}
	q2 := f.request(buyer(2), 1, 1)
	if _, err := st.Stamp(f.sale, &q2, false, 20_000); err != nil {
		t.Fatal(err)
	}
	q3 := f.request(buyer(3), 1, 1)
	if _, err := st.Stamp(f.sale, &q3, false, 20_000); !errors.Is(err, sale.ErrFull) || st.Remembered(1) != 2 {
		t.Fatalf("over the memory bound: %v, %d remembered", err, st.Remembered(1))
	}
	st.Forget(1)
	if st.Remembered(1) != 0 {
		t.Fatal("forgotten")
	}
	outsider := sale.NewStamper(fairsim.Key('x', 0, 1), chain, 0)
	if _, err := outsider.Stamp(f.sale, &q3, false, 20_000); !errors.Is(err, sale.ErrNotNode) {
		t.Fatalf("a non-node stamps: %v", err)
	}
}

// TestChoose: a buyer's client picks the earliest quorum of valid stamps.
func TestChoose(t *testing.T) {
	f := newFixture(t, 7, params())
	q := f.request(buyer(1), 1, 1)
	h := q.Hash(chain)
	var got []sale.Stamp
	for i, k := range f.nodes {
		got = append(got, sale.SignStamp(k, chain, 1, h, 20_000+int64(i)*100))
	}
	got = append(got, got[6], sale.SignStamp(fairsim.Key('x', 0, 1), chain, 1, h, 10_000))
	got[5].Time = 10_001 // a forged early time: does not verify
	st, err := sale.Choose(f.sale, chain, h, got)
	if err != nil {
		t.Fatal(err)
	}
	if sale.FairTime(sale.Times(st)) != 20_200 || len(st) != 5 {
		t.Fatalf("%d stamps, fair time %d", len(st), sale.FairTime(sale.Times(st)))
	}
	if _, err := sale.Choose(f.sale, chain, h, got[:4]); !errors.Is(err, sale.ErrStampCount) {
		t.Fatal(err)
	}
}
