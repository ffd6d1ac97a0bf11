// Package fairsim simulates a fair ticket sale (package sale) to measure
// how fair it is and to stage the four attacks of seed 000: buyers send
// requests at true times, each reaches each node after a random network
// delay, each node reads a clock with its own skew, f Byzantine nodes and
// their buyers misbehave as the attack says; the requests are gathered,
// stamped, committed in blocks and allocated by package sale on an
// in-memory store, exactly as orgapp would. It is deterministic from a
// seed: no clock, no goroutines.
//
// Beside Mass's rule it computes the naive rules the attacks defeat: the
// order of arrival at one node, and the order of the buyers' own clocks.
// Metrics compares an order with the true order of sending (Kendall's tau,
// inversions larger than a bound).
//
// fairsim is for tests and docs; nothing in the application imports it.
package fairsim

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/mass-consensus/mass/internal/app/sale"
	"github.com/mass-consensus/mass/internal/app/state"
	"github.com/mass-consensus/mass/internal/crypto"
)

// ChainID is the chain the simulation signs for.
const ChainID = "fairsim"

// Attack is what the Byzantine nodes and buyers do.
type Attack int

// The attacks of seed 000.
const (
	Honest    Attack = iota
	SelfClaim        // attackers backdate their own clocks; Byzantine node 0 stamps them at the window's start
	Colluders        // the f Byzantine nodes stamp their buyers at the window's start
	Denier           // the f Byzantine nodes refuse the victims' stamps or stamp them at the window's end
	Garbage          // fresh keys flood the sale: without proof of work, with it, duplicates, bad stamps
)

var attackNames = []string{"honest", "self-claimer", "colluders", "denier", "garbage maker"}

func (a Attack) String() string { return attackNames[a] }

// Config is a simulation.
type Config struct {
	Nodes, Byzantine int // n and how many are Byzantine (≤ (n−1)/3)
	Buyers           int // honest and attacking buyers
	Attackers        int // buyers on the attack's side (friends, or victims for Denier)
	Garbage          int // garbage identities (Garbage)
	Supply           uint32
	MaxRequests      uint32 // 0: Buyers + Garbage
	Skew             int64  // each node's clock is off by up to ± Skew ms
	Delay            int64  // each request reaches each node after 0 … Delay ms
	Spread           int64  // buyers send within Spread ms of the window's start
	Seed             uint64
	Attack           Attack
}

// The sale's window in every simulation.
const (
	Start  = 10_000 // the window opens at 10 s
	Window = 120_000
	MaxAge = 60_000
)

// Node is a simulated node.
type Node struct {
	Key       *crypto.PrivateKey
	Skew      int64
	Byzantine bool
}

// Buyer is a simulated buyer.
type Buyer struct {
	Key      *crypto.PrivateKey
	Send     int64   // the true time it sends its request
	Claimed  int64   // the time its own clock claims
	Delays   []int64 // to each node
	Attacker bool    // a friend of the Byzantine nodes, or (Denier) a victim
}

// World is a generated simulation.
type World struct {
	Cfg    Config
	Nodes  []Node
	Buyers []Buyer
	Sale   *sale.Sale
	Store  *MemStore
	rng    *rand.Rand
}

// MemStore is an in-memory sale.Store.
type MemStore struct {
	M map[state.Key]Leaf
}

// Leaf is a stored record.
type Leaf struct {
	Value []byte
	Sum   uint64
}

// NewMemStore returns an empty store.
func NewMemStore() *MemStore { return &MemStore{M: map[state.Key]Leaf{}} }

// Get reads a record.
func (m *MemStore) Get(k state.Key) ([]byte, uint64, bool) {
	l, ok := m.M[k]
	return l.Value, l.Sum, ok
}

// Put writes a record.
func (m *MemStore) Put(k state.Key, v []byte, sum uint64) { m.M[k] = Leaf{v, sum} }

// Delete deletes a record.
func (m *MemStore) Delete(k state.Key) { delete(m.M, k) }

// Clone copies the store.
func (m *MemStore) Clone() *MemStore {
	c := NewMemStore()
	for k, v := range m.M {
		c.M[k] = v
	}
	return c
}

// Key derives a deterministic key from a label and an index.
func Key(label byte, i int, seed uint64) *crypto.PrivateKey {
	s := make([]byte, crypto.SeedSize)
	s[0] = label
	binary.BigEndian.PutUint32(s[1:], uint32(i))
	binary.BigEndian.PutUint64(s[5:], seed)
	k, err := crypto.KeyFromSeed(s)
	if err != nil {
		panic(err)
	}
	return k
}

// New generates a world and opens its sale at time 0 (the window is
// [Start, Start+Window)).
func New(cfg Config) (*World, error) {
	if cfg.Byzantine > (cfg.Nodes-1)/3 {
		return nil, fmt.Errorf("fairsim: %d Byzantine nodes of %d", cfg.Byzantine, cfg.Nodes)
	}
	w := &World{Cfg: cfg, Store: NewMemStore(), rng: rand.New(rand.NewPCG(cfg.Seed, 0x5a1e))}
	var set state.Nodes
	for i := 0; i < cfg.Nodes; i++ {
		nd := Node{Key: Key('n', i, cfg.Seed), Skew: w.uniform(-cfg.Skew, cfg.Skew), Byzantine: i < cfg.Byzantine}
		w.Nodes = append(w.Nodes, nd)
		set.Nodes = append(set.Nodes, state.Node{Key: nd.Key.Public()})
	}
	w.Store.Put(state.NodesKey, set.Marshal(), 0)
	for i := 0; i < cfg.Buyers; i++ {
		send := Start + cfg.Skew + w.uniform(0, cfg.Spread)
		b := Buyer{Key: Key('b', i, cfg.Seed), Send: send, Claimed: send + w.uniform(-cfg.Skew, cfg.Skew)}
		for range w.Nodes {
			b.Delays = append(b.Delays, w.uniform(0, cfg.Delay))
		}
		w.Buyers = append(w.Buyers, b)
	}
	w.markAttackers()
	maxReq := cfg.MaxRequests
	if maxReq == 0 {
		maxReq = uint32(cfg.Buyers + cfg.Garbage)
	}
	p := sale.Params{Item: "seat", Supply: cfg.Supply, PerRequest: 1, Start: Start, Window: Window, MaxAge: MaxAge,
		Difficulty: 8, MaxRequests: max(maxReq, cfg.Supply)}
	sl, err := sale.Open(w.Store, sale.Env{}, crypto.ID{}, 0, p)
	if err != nil {
		return nil, err
	}
	w.Sale = sl
	return w, nil
}

func (w *World) uniform(lo, hi int64) int64 {
	if hi <= lo {
		return lo
	}
	return lo + w.rng.Int64N(hi-lo+1)
}

// markAttackers picks the attackers: for the denier, the victims are the
// earliest senders; otherwise the friends are the latest.
func (w *World) markAttackers() {
	idx := make([]int, len(w.Buyers))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return int(w.Buyers[a].Send - w.Buyers[b].Send) })
	n := min(w.Cfg.Attackers, len(idx))
	pick := idx[len(idx)-n:]
	if w.Cfg.Attack == Denier {
		pick = idx[:n]
	}
	for _, i := range pick {
		w.Buyers[i].Attacker = true
		if w.Cfg.Attack == SelfClaim {
			w.Buyers[i].Claimed = Start // backdated
		}
	}
}

// Seen is when node j's clock reads that it saw buyer b's request: the
// true arrival plus its skew.
func (w *World) Seen(b, j int) int64 {
	return w.Buyers[b].Send + w.Buyers[b].Delays[j] + w.Nodes[j].Skew
}

// Reported is the time node j gives buyer b's request: what it saw if
// honest; a Byzantine node lies as the attack says. ok is false when it
// refuses.
func (w *World) Reported(b, j int) (t int64, ok bool) {
	nd, by := w.Nodes[j], w.Buyers[b]
	if !nd.Byzantine || !by.Attacker {
		return w.Seen(b, j), true
	}
	switch w.Cfg.Attack {
	case SelfClaim:
		if j == 0 {
			return w.Sale.Opens, true
		}
	case Colluders:
		return w.Sale.Opens, true
	case Denier:
		if j%2 == 0 {
			return 0, false // refuses
		}
		return w.Sale.Closes - 1, true // stamps late
	}
	return w.Seen(b, j), true
}

// Unstamped is buyer b's request without stamps.
func (w *World) Unstamped(b int) sale.Request {
	return sale.Request{Sale: w.Sale.ID, Buyer: w.Buyers[b].Key.Public(), Quantity: 1, Nonce: w.nonce(w.Buyers[b].Key.Public())}
}

// nonce solves the sale's proof of work for a key (non-members all).
func (w *World) nonce(k crypto.PublicKey) uint64 {
	n, err := sale.SolvePoW(ChainID, w.Sale.ID, k, w.Sale.Params.Difficulty, 0, 1<<24)
	if err != nil {
		panic(err)
	}
	return n
}

// Request is buyer b's request with the stamps it chose (sale.Choose) from
// every node that stamped it.
func (w *World) Request(b int) (sale.Request, error) {
	q := w.Unstamped(b)
	h := q.Hash(ChainID)
	var got []sale.Stamp
	for j, nd := range w.Nodes {
		if t, ok := w.Reported(b, j); ok {
			got = append(got, sale.SignStamp(nd.Key, ChainID, w.Sale.ID, h, t))
		}
	}
	st, err := sale.Choose(w.Sale, ChainID, h, got)
	if err != nil {
		return q, err
	}
	q.Stamps = st
	return q, nil
}

// Commit submits requests in blocks: each at a block whose time is its
// latest stamp plus Delay (so no stamp is ahead of it), in that order. It
// returns each request's error (nil: kept).
func Commit(s sale.Store, reqs []sale.Request, delay int64) []error {
	type item struct {
		i int
		t int64
	}
	order := make([]item, len(reqs))
	for i, q := range reqs {
		order[i] = item{i, slices.Max(sale.Times(q.Stamps)) + delay}
	}
	slices.SortStableFunc(order, func(a, b item) int { return int(a.t - b.t) })
	errs := make([]error, len(reqs))
	for _, it := range order {
		q := reqs[it.i]
		errs[it.i] = submit(s, q, it.t)
	}
	return errs
}

func submit(s sale.Store, q sale.Request, at int64) error {
	// A refused request changes nothing: apply it on a copy-on-write
	// layer, kept only on success (orgapp's overlay does the same).
	l := &layer{s: s, w: map[state.Key]*Leaf{}}
	if _, err := sale.Submit(l, sale.Env{Time: at}, ChainID, &q); err != nil {
		return err
	}
	l.flush()
	return nil
}

type layer struct {
	s sale.Store
	w map[state.Key]*Leaf
}

func (l *layer) Get(k state.Key) ([]byte, uint64, bool) {
	if v, ok := l.w[k]; ok {
		if v == nil {
			return nil, 0, false
		}
		return v.Value, v.Sum, true
	}
	return l.s.Get(k)
}
func (l *layer) Put(k state.Key, v []byte, sum uint64) { l.w[k] = &Leaf{v, sum} }
func (l *layer) Delete(k state.Key)                    { l.w[k] = nil }
func (l *layer) flush() {
	for k, v := range l.w {
		if v == nil {
			l.s.Delete(k)
		} else {
			l.s.Put(k, v.Value, v.Sum)
		}
	}
}

// Close allocates the sale at its due time with a seed, and returns the
// kept requests' identities in allocation order and the winners.
func Close(s sale.Store, sl *sale.Sale, seed [32]byte) (order []crypto.ID, winners map[crypto.ID]bool, err error) {
	cur, err := sale.ReadSale(s, sl.ID)
	if err != nil {
		return nil, nil, err
	}
	var slots []sale.Slot
	for i := uint32(0); i < cur.Kept; i++ {
		v, _, ok := s.Get(sale.SlotKey(sl.ID, i))
		if !ok {
			return nil, nil, fmt.Errorf("fairsim: slot %d missing", i)
		}
		x, err := sale.UnmarshalSlot(v)
		if err != nil {
			return nil, nil, err
		}
		slots = append(slots, *x)
	}
	if _, err := sale.EndBlock(s, sale.Env{Time: sl.Due(), Seed: seed}); err != nil {
		return nil, nil, err
	}
	winners = map[crypto.ID]bool{}
	for _, r := range sale.Order(slots, seed) {
		order = append(order, r.Identity)
		if res, err := sale.ReadResult(s, sl.ID, r.Identity); err == nil && res.Granted > 0 {
			winners[r.Identity] = true
		}
	}
	return order, winners, nil
}

// RunMass runs Mass's rule: every buyer's request committed, the sale
// allocated. It returns the buyers' indexes in allocation order and the
// winners' indexes.
func (w *World) RunMass(seed [32]byte) (order []int, winners []int, err error) {
	reqs := make([]sale.Request, len(w.Buyers))
	for b := range w.Buyers {
		if reqs[b], err = w.Request(b); err != nil {
			return nil, nil, fmt.Errorf("buyer %d: %w", b, err)
		}
	}
	for b, e := range Commit(w.Store, reqs, w.Cfg.Delay) {
		if e != nil {
			return nil, nil, fmt.Errorf("buyer %d refused: %w", b, e)
		}
	}
	return w.close(seed)
}

func (w *World) close(seed [32]byte) ([]int, []int, error) {
	ids, won, err := Close(w.Store, w.Sale, seed)
	if err != nil {
		return nil, nil, err
	}
	order, winners := w.indexes(ids, won)
	return order, winners, nil
}

func (w *World) indexes(ids []crypto.ID, won map[crypto.ID]bool) (order, winners []int) {
	byID := map[crypto.ID]int{}
	for i, b := range w.Buyers {
		byID[b.Key.Public().ID()] = i
	}
	for _, id := range ids {
		if i, ok := byID[id]; ok {
			order = append(order, i)
			if won[id] {
				winners = append(winners, i)
			}
		}
	}
	return order, winners
}

// NaiveArrival is the order in which node j says requests reached it
// (first come, first served at one node); a refused request comes last.
func (w *World) NaiveArrival(j int) []int {
	const never = 1 << 62
	return w.orderBy(func(b int) int64 {
		if t, ok := w.Reported(b, j); ok {
			return t
		}
		return never
	})
}

// NaiveClaimed is the order of the buyers' own clocks.
func (w *World) NaiveClaimed() []int {
	return w.orderBy(func(b int) int64 { return w.Buyers[b].Claimed })
}

func (w *World) orderBy(t func(b int) int64) []int {
	idx := make([]int, len(w.Buyers))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		ta, tb := t(a), t(b)
		switch {
		case ta < tb:
			return -1
		case ta > tb:
			return 1
		}
		return a - b
	})
	return idx
}

// Winners is the first supply buyers of an order (every buyer asks one
// item).
func Winners(order []int, supply uint32) []int {
	return slices.Clone(order[:min(int(supply), len(order))])
}

// Metrics compare an allocation order with the true order of sending.
type Metrics struct {
	Tau float64 // Kendall's tau: 1 the same order, −1 reversed
	// OverSkew is the fraction of pairs in the wrong order whose true
	// send times differ by more than the clock skew bound Skew.
	OverSkew float64
	// OverBound counts the pairs in the wrong order whose send times
	// differ by more than 2·Skew + Delay: the bound within which the
	// median of honest-bounded stamps keeps every request. Mass's rule
	// must give 0, under every attack.
	OverBound int
}

// Measure computes the metrics of an order over the buyers it ranks.
func (w *World) Measure(order []int) Metrics {
	var concordant, discordant, over, pairs int
	bound := 2*w.Cfg.Skew + w.Cfg.Delay
	for i := 0; i < len(order); i++ {
		for j := i + 1; j < len(order); j++ {
			a, b := order[i], order[j] // a is ranked before b
			pairs++
			gap := w.Buyers[b].Send - w.Buyers[a].Send
			switch {
			case gap > 0:
				concordant++
			case gap < 0:
				discordant++
				if -gap > w.Cfg.Skew {
					over++
				}
			}
		}
	}
	m := Metrics{}
	if pairs > 0 {
		m.Tau = float64(concordant-discordant) / float64(pairs)
		m.OverSkew = float64(over) / float64(pairs)
	}
	for i := 0; i < len(order); i++ {
		for j := i + 1; j < len(order); j++ {
			if w.Buyers[order[i]].Send-w.Buyers[order[j]].Send > bound {
				m.OverBound++
			}
		}
	}
	return m
}
