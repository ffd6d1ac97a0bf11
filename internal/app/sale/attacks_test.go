package sale_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/mass-consensus/mass/internal/app/sale"
	"github.com/mass-consensus/mass/internal/app/sale/fairsim"
	"github.com/mass-consensus/mass/internal/crypto"
)

// The four attacks of seed 000, each against a naive rule built only here
// (first come by arrival at one node; the buyer's own clock; the minimum
// of the stamps), where it succeeds, and against Mass's rule, where it
// fails. Real ed25519 node keys, n = 4 and n = 7, f Byzantine nodes,
// simulated clocks (package fairsim). Buyers send over 20 s; clocks are off
// by up to 50 ms, the network delays each request by up to 200 ms: the
// attackers, the 5 latest of 40 buyers, are seconds late; the victims, the
// 5 earliest, seconds early; 10 items.

func world(t *testing.T, n int, attack fairsim.Attack) *fairsim.World {
	t.Helper()
	w, err := fairsim.New(fairsim.Config{Nodes: n, Byzantine: (n - 1) / 3, Buyers: 40, Attackers: 5, Supply: 10,
		Skew: 50, Delay: 200, Spread: 20_000, Seed: uint64(n)*10 + uint64(attack), Attack: attack})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func attackers(w *fairsim.World) []int {
	var out []int
	for i, b := range w.Buyers {
		if b.Attacker {
			out = append(out, i)
		}
	}
	return out
}

func countIn(set, of []int) int {
	n := 0
	for _, x := range of {
		if slices.Contains(set, x) {
			n++
		}
	}
	return n
}

// mass runs Mass's rule and checks that no pair is inverted beyond the
// bound 2·skew + delay.
func mass(t *testing.T, w *fairsim.World) []int {
	t.Helper()
	order, winners, err := w.RunMass([32]byte{1})
	if err != nil {
		t.Fatal(err)
	}
	if m := w.Measure(order); m.OverBound != 0 {
		t.Fatalf("Mass inverted %d pairs by more than the bound", m.OverBound)
	}
	return winners
}

func forN(t *testing.T, f func(t *testing.T, n int)) {
	for _, n := range []int{4, 7} {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) { f(t, n) })
	}
}

// TestEarlySelfClaimer: the attackers backdate their own clocks to the
// window's start, and Byzantine node 0 stamps them there. By the buyers'
// clocks, or by arrival at node 0, they win; by Mass's rule their claimed
// time counts for nothing and node 0's stamp is one of 2f+1: none wins.
func TestEarlySelfClaimer(t *testing.T) {
	forN(t, func(t *testing.T, n int) {
		w := world(t, n, fairsim.SelfClaim)
		att := attackers(w)
		if got := countIn(fairsim.Winners(w.NaiveClaimed(), 10), att); got != len(att) {
			t.Fatalf("naive (own clock): %d of %d attackers win; the attack should succeed", got, len(att))
		}
		if got := countIn(fairsim.Winners(w.NaiveArrival(0), 10), att); got != len(att) {
			t.Fatalf("naive (arrival at node 0): %d of %d attackers win", got, len(att))
		}
		if got := countIn(mass(t, w), att); got != 0 {
			t.Fatalf("Mass: %d attackers win", got)
		}
	})
}

// TestColluders: the f Byzantine nodes stamp their buyers at the window's
// start, and the buyers put those stamps in their 2f+1. With the minimum
// of the stamps as the fair time (a planted bug), or by arrival at a
// Byzantine node, they win; with the median, the f+1 honest stamps hold
// their fair time at their true sending: none wins.
func TestColluders(t *testing.T) {
	forN(t, func(t *testing.T, n int) {
		w := world(t, n, fairsim.Colluders)
		att := attackers(w)
		byMin := minRuleOrder(t, w)
		if got := countIn(fairsim.Winners(byMin, 10), att); got != len(att) {
			t.Fatalf("naive (minimum of the stamps): %d of %d colluders win; the attack should succeed", got, len(att))
		}
		if got := countIn(fairsim.Winners(w.NaiveArrival(0), 10), att); got != len(att) {
			t.Fatalf("naive (arrival at node 0): %d of %d colluders win", got, len(att))
		}
		for _, b := range att {
			q, err := w.Request(b)
			if err != nil {
				t.Fatal(err)
			}
			if early := countTimes(q.Stamps, w.Sale.Opens); early != w.Sale.F() {
				t.Fatalf("colluder %d chose %d early stamps, want f = %d", b, early, w.Sale.F())
			}
		}
		if got := countIn(mass(t, w), att); got != 0 {
			t.Fatalf("Mass: %d colluders win", got)
		}
	})
}

// minRuleOrder orders the buyers by the minimum of the stamps each chose.
func minRuleOrder(t *testing.T, w *fairsim.World) []int {
	t.Helper()
	mins := map[int]int64{}
	idx := make([]int, len(w.Buyers))
	for b := range w.Buyers {
		q, err := w.Request(b)
		if err != nil {
			t.Fatal(err)
		}
		mins[b] = slices.Min(sale.Times(q.Stamps))
		idx[b] = b
	}
	slices.SortStableFunc(idx, func(a, b int) int { return int(mins[a] - mins[b]) })
	return idx
}

func countTimes(st []sale.Stamp, t int64) int {
	n := 0
	for _, s := range st {
		if s.Time == t {
			n++
		}
	}
	return n
}

// TestDenier: the f Byzantine nodes refuse to stamp the victims, the five
// earliest buyers, or stamp them at the window's end. By arrival at a
// denying node the victims lose; by Mass's rule each victim gathers 2f+1
// stamps from the n−f honest nodes and all win.
func TestDenier(t *testing.T) {
	forN(t, func(t *testing.T, n int) {
		w := world(t, n, fairsim.Denier)
		victims := attackers(w)
		if got := countIn(fairsim.Winners(w.NaiveArrival(0), 10), victims); got != 0 {
			t.Fatalf("naive (arrival at node 0): %d of %d victims win; the attack should succeed", got, len(victims))
		}
		if got := countIn(mass(t, w), victims); got != len(victims) {
			t.Fatalf("Mass: %d of %d victims win", got, len(victims))
		}
	})
}

// TestGarbageMaker: fresh keys flood the sale — without a proof of work,
// with one but later than the honest buyers and committed before them,
// duplicates of honest requests, bad stamps. Under first come by commit
// with a bounded sale that refuses when full, the garbage pushes the
// honest buyers out; under Mass's rule the refusals are refused, the
// garbage with proofs of work is evicted by the earlier honest requests,
// the honest allocation is the same as without garbage, and the sale's
// records and a node's stamper memory stay within their bounds.
func TestGarbageMaker(t *testing.T) {
	forN(t, func(t *testing.T, n int) {
		clean := world(t, n, fairsim.Honest)
		want, err := func() ([]int, error) { _, w, err := clean.RunMass([32]byte{1}); return w, err }()
		if err != nil {
			t.Fatal(err)
		}
		w := world(t, n, fairsim.Honest)
		const garbage = 120
		var flood []sale.Request
		for i := 0; i < garbage; i++ {
			flood = append(flood, garbageRequest(t, w, i))
		}
		// Naive: first come by commit, refusing when the sale (40 places)
		// is full: the flood, committed first, takes every place.
		naive := slices.Concat(identities(flood), identities(honestRequests(t, w)))[:40]
		if got := countIn(indexesOf(w, naive), want); got != 0 {
			t.Fatalf("naive (first come, refuse when full): %d honest winners kept; the attack should succeed", got)
		}
		// Mass: the flood first, then the honest requests.
		noPoW := slices.Clone(flood[:20])
		for i := range noPoW {
			noPoW[i] = restamp(w, noPoW[i], func(q *sale.Request) {
				for q.Nonce++; sale.CheckPoW(fairsim.ChainID, 1, q.Buyer, q.Nonce, w.Sale.Params.Difficulty); q.Nonce++ {
				}
			})
		}
		bad := slices.Clone(flood[20:40])
		for i := range bad {
			bad[i].Stamps = slices.Clone(bad[i].Stamps)
			bad[i].Stamps[0].Sig[0] ^= 1
		}
		for name, c := range map[string]struct {
			reqs []sale.Request
			want error
		}{"without proof of work": {noPoW, sale.ErrBadPoW}, "bad stamps": {bad, sale.ErrBadSignature}} {
			for i, e := range fairsim.Commit(w.Store, c.reqs, 0) {
				if !errors.Is(e, c.want) {
					t.Fatalf("%s %d: %v", name, i, e)
				}
			}
		}
		// With proofs of work: the first 40 fill the sale; the rest, at
		// the same fair time, are refused or evict one another by
		// identity.
		for i, e := range fairsim.Commit(w.Store, flood[40:], 0) {
			if i < 40 && e != nil || e != nil && !errors.Is(e, sale.ErrFull) {
				t.Fatalf("garbage %d with a proof of work: %v", i, e)
			}
		}
		honest := honestRequests(t, w)
		for i, e := range fairsim.Commit(w.Store, honest, 0) {
			if e != nil {
				t.Fatalf("honest %d: %v", i, e)
			}
		}
		for i, e := range fairsim.Commit(w.Store, honest[:10], 0) {
			if !errors.Is(e, sale.ErrDuplicate) {
				t.Fatalf("duplicate %d: %v", i, e)
			}
		}
		sl, _ := sale.ReadSale(w.Store, 1)
		if sl.Kept != 40 || sl.Evicted < 40 {
			t.Fatalf("kept %d, evicted %d", sl.Kept, sl.Evicted)
		}
		if records := len(w.Store.M); records > 2+1+2*40 { // nodes, registry, sale, requests and slots
			t.Fatalf("%d records for a sale that keeps 40", records)
		}
		order, got, err := fairsim.Close(w.Store, w.Sale, [32]byte{1})
		if err != nil {
			t.Fatal(err)
		}
		winners := indexesOf(w, winnersOf(order, got))
		if !slices.Equal(sorted(winners), sorted(want)) {
			t.Fatalf("the honest allocation changed: %v, without garbage %v", winners, want)
		}
		// A node's stamper: the flood fills its memory bound, no more.
		st := sale.NewStamper(w.Nodes[n-1].Key, fairsim.ChainID, 0)
		for i := 0; i < 200; i++ {
			q := garbageRequest(t, w, 1000+i)
			_, _ = st.Stamp(w.Sale, &q, false, q.Stamps[0].Time)
		}
		if m := st.Remembered(1); m != sale.DefaultStamperFactor*40 {
			t.Fatalf("the stamper remembers %d identities, its bound is %d", m, sale.DefaultStamperFactor*40)
		}
	})
}

// garbageRequest is garbage identity i's request with a valid proof of
// work, stamped honestly by every node after all the honest buyers.
func garbageRequest(t *testing.T, w *fairsim.World, i int) sale.Request {
	t.Helper()
	k := fairsim.Key('g', i, 9)
	nonce, err := sale.SolvePoW(fairsim.ChainID, 1, k.Public(), w.Sale.Params.Difficulty, 0, 1<<22)
	if err != nil {
		t.Fatal(err)
	}
	q := sale.Request{Sale: 1, Buyer: k.Public(), Quantity: 1, Nonce: nonce}
	return restamp(w, q, nil)
}

func restamp(w *fairsim.World, q sale.Request, change func(*sale.Request)) sale.Request {
	if change != nil {
		change(&q)
	}
	send := int64(fairsim.Start + 25_000)
	h := q.Hash(fairsim.ChainID)
	var st []sale.Stamp
	for _, nd := range w.Nodes {
		st = append(st, sale.SignStamp(nd.Key, fairsim.ChainID, 1, h, send+nd.Skew+100))
	}
	chosen, err := sale.Choose(w.Sale, fairsim.ChainID, h, st)
	if err != nil {
		panic(err)
	}
	q.Stamps = chosen
	return q
}

func honestRequests(t *testing.T, w *fairsim.World) []sale.Request {
	var out []sale.Request
	for b := range w.Buyers {
		q, err := w.Request(b)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, q)
	}
	return out
}

func identities(reqs []sale.Request) []crypto.ID {
	out := make([]crypto.ID, len(reqs))
	for i, q := range reqs {
		out[i] = q.Identity()
	}
	return out
}

func winnersOf(order []crypto.ID, won map[crypto.ID]bool) []crypto.ID {
	var out []crypto.ID
	for _, id := range order {
		if won[id] {
			out = append(out, id)
		}
	}
	return out
}

// indexesOf maps identities to buyer indexes (-1 for garbage).
func indexesOf(w *fairsim.World, ids []crypto.ID) []int {
	var out []int
	for _, id := range ids {
		i := slices.IndexFunc(w.Buyers, func(b fairsim.Buyer) bool { return b.Key.Public().ID() == id })
		out = append(out, i)
	}
	return out
}

func sorted(x []int) []int {
	y := slices.Clone(x)
	slices.Sort(y)
	return y
}
