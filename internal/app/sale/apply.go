package sale

import (
	"errors"
	"fmt"
	"math/bits"
	"slices"

	"github.com/mass-consensus/mass/internal/app"
	"github.com/mass-consensus/mass/internal/app/state"
	"github.com/mass-consensus/mass/internal/crypto"
)

// Store is the state tree as the sale sees it (the same as package gov's):
// records by key, each with a value and a sum. A record that cannot be
// read reads as absent; the caller keeps the error and drops the block.
type Store interface {
	Get(k state.Key) (value []byte, sum uint64, ok bool)
	Put(k state.Key, value []byte, sum uint64)
	Delete(k state.Key)
}

// MaxClosePerBlock bounds the sales a block allocates: each reads up to
// MaxKept slots; the others due wait for the next blocks.
const MaxClosePerBlock = 1

func read[T any](s Store, k state.Key, dec func([]byte) (T, error), what string) (T, error) {
	var zero T
	v, _, ok := s.Get(k)
	if !ok {
		return zero, fmt.Errorf("%w: %s", ErrNotFound, what)
	}
	x, err := dec(v)
	if err != nil {
		return zero, corrupt("%s: %v", what, err)
	}
	return x, nil
}

// ReadRegistry reads the sales registry; absent, it is the empty registry
// (no sale was ever opened).
func ReadRegistry(s Store) (*Registry, error) {
	g, err := read(s, RegistryKey, UnmarshalRegistry, "the sales registry")
	if err != nil && !isNotFound(err) {
		return nil, err
	}
	if g == nil {
		g = &Registry{NextID: 1}
	}
	return g, nil
}

// ReadSale reads a sale's record.
func ReadSale(s Store, id uint64) (*Sale, error) {
	return read(s, SaleKey(id), UnmarshalSale, fmt.Sprintf("sale %d", id))
}

// ReadKept reads an identity's kept request.
func ReadKept(s Store, id uint64, identity crypto.ID) (*Kept, error) {
	return read(s, RequestKey(id, identity), UnmarshalKept, fmt.Sprintf("sale %d: the request of %s", id, identity))
}

// ReadResult reads an identity's result.
func ReadResult(s Store, id uint64, identity crypto.ID) (*Result, error) {
	return read(s, ResultKey(id, identity), UnmarshalResult, fmt.Sprintf("sale %d: the result of %s", id, identity))
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// Open opens a sale with parameters p at the block's time: the window is
// [time + Start, time + Start + Window), the node set the current one
// (fixed for the sale's life). opener is the supervisor's account (zero
// for a proposal), proposal the proposal's ID (0 for a supervisor); the
// caller checked the opener's right. It returns the sale.
func Open(s Store, env Env, opener crypto.ID, proposal uint64, p Params) (*Sale, error) {
	if err := p.Check(); err != nil {
		return nil, refuse(ErrMalformed, "%v", err)
	}
	reg, err := ReadRegistry(s)
	if err != nil {
		return nil, err
	}
	if len(reg.Open) >= MaxOpen {
		return nil, refuse(ErrTooMany, "%d sales are open, the limit", MaxOpen)
	}
	keys, err := nodeKeys(s)
	if err != nil {
		return nil, err
	}
	opens := addTime(env.Time, p.Start)
	sl := &Sale{ID: reg.NextID, Opener: opener, Proposal: proposal, Params: p, Opens: opens,
		Closes: addTime(opens, p.Window), Nodes: keys, State: StateOpen}
	if sl.Closes <= sl.Opens {
		return nil, refuse(ErrMalformed, "the window ends past the end of time")
	}
	reg.NextID++
	reg.Open = append(reg.Open, Due{ID: sl.ID, Due: sl.Due()})
	s.Put(RegistryKey, reg.Marshal(), 0)
	s.Put(SaleKey(sl.ID), sl.Marshal(), 0)
	return sl, nil
}

func nodeKeys(s Store) ([]crypto.PublicKey, error) {
	n, err := read(s, state.NodesKey, state.UnmarshalNodes, "the node set")
	if err != nil {
		return nil, err
	}
	if len(n.Nodes) == 0 || len(n.Nodes) > MaxSaleNodes {
		return nil, refuse(ErrNotPermitted, "the node set has %d nodes; a sale takes 1 … %d", len(n.Nodes), MaxSaleNodes)
	}
	keys := make([]crypto.PublicKey, len(n.Nodes))
	for i, nd := range n.Nodes {
		keys[i] = nd.Key
	}
	slices.SortFunc(keys, compareKeys)
	return keys, nil
}

// OpenEvent is the event of an opening.
func OpenEvent(sl *Sale) app.Event {
	return app.Event{Type: "sale_open", Attributes: []app.Attribute{
		{Key: "sale", Value: fmt.Sprint(sl.ID)}, {Key: "item", Value: sl.Params.Item},
		{Key: "supply", Value: fmt.Sprint(sl.Params.Supply)},
		{Key: "opens", Value: fmt.Sprint(sl.Opens)}, {Key: "closes", Value: fmt.Sprint(sl.Closes)},
		{Key: "nodes", Value: fmt.Sprint(len(sl.Nodes))},
	}}
}

// Submit applies a request whose transaction's signature is verified (the
// buyer is its sender): Check, then the state's checks — one request per
// identity, the balance covering the price, room — and keeps it: in a
// free slot, or, when the sale is full, in place of the latest kept
// request if the new one is earlier in eviction order (fair time, then
// identity), the evicted one's record deleted; else it is refused (ErrFull).
// Whatever the order of a block's requests, the requests kept at its end
// are the MaxRequests earliest of those kept before and those it brings.
// On error s holds partial writes and must be dropped.
func Submit(s Store, env Env, chainID string, q *Request) ([]app.Event, error) {
	sl, err := ReadSale(s, q.Sale)
	if isNotFound(err) {
		return nil, refuse(ErrNoSale, "there is no sale %d", q.Sale)
	}
	if err != nil {
		return nil, err
	}
	who := q.Identity()
	acct, balance, err := account(s, who)
	if err != nil {
		return nil, err
	}
	fair, err := Check(sl, chainID, q, acct.Role.IsMember(), env)
	if err != nil {
		return nil, err
	}
	if _, _, dup := s.Get(RequestKey(sl.ID, who)); dup {
		return nil, refuse(ErrDuplicate, "%s has a request in sale %d already", who, sl.ID)
	}
	if cost, ok := costOf(sl.Params.Price, q.Quantity); !ok || cost > balance {
		return nil, refuse(ErrFunds, "%d items at %d cost more than the balance %d", q.Quantity, sl.Params.Price, balance)
	}
	slot := &Slot{Fair: fair, Identity: who, Quantity: q.Quantity}
	if env.Submission {
		// Nothing of a submission's check is kept: what matters is only
		// whether the request would find room, not where in the heap.
		return nil, room(s, sl, slot)
	}
	evicted, err := keep(s, sl, slot)
	if err != nil {
		return nil, err
	}
	sl.Accepted++
	s.Put(SaleKey(sl.ID), sl.Marshal(), 0)
	k := &Kept{Request: *q, Member: acct.Role.IsMember(), Fair: fair}
	s.Put(RequestKey(sl.ID, who), k.Marshal(), 0)
	attrs := []app.Attribute{{Key: "sale", Value: fmt.Sprint(sl.ID)}, {Key: "identity", Value: who.String()},
		{Key: "fair_time", Value: fmt.Sprint(fair)}, {Key: "quantity", Value: fmt.Sprint(q.Quantity)}}
	if evicted != nil {
		attrs = append(attrs, app.Attribute{Key: "evicted", Value: evicted.String()})
	}
	return []app.Event{{Type: "sale_request", Attributes: attrs}}, nil
}

// keep puts a slot in the sale's heap, evicting the latest if full; it
// returns the evicted identity, if any, and updates sl's counters.
func keep(s Store, sl *Sale, slot *Slot) (*crypto.ID, error) {
	h := &heap{s: s, id: sl.ID, n: sl.Kept}
	if sl.Kept < sl.Params.MaxRequests {
		if err := h.push(slot); err != nil {
			return nil, err
		}
		sl.Kept = h.n
		return nil, nil
	}
	top, err := h.top()
	if err != nil {
		return nil, err
	}
	if !evictAfter(top, slot) {
		return nil, refuse(ErrFull, "sale %d keeps %d requests, the latest at %d; this one's fair time is %d", sl.ID, sl.Kept, top.Fair, slot.Fair)
	}
	if err := h.replaceTop(slot); err != nil {
		return nil, err
	}
	s.Delete(RequestKey(sl.ID, top.Identity))
	sl.Evicted++
	return &top.Identity, nil
}

// room says whether keep would take a slot: the sale is not full, or the
// slot is earlier than the latest kept (ErrFull otherwise). It writes
// nothing and reads at most the heap's root.
func room(s Store, sl *Sale, slot *Slot) error {
	if sl.Kept < sl.Params.MaxRequests {
		return nil
	}
	h := &heap{s: s, id: sl.ID, n: sl.Kept}
	top, err := h.top()
	if err != nil {
		return err
	}
	if !evictAfter(top, slot) {
		return refuse(ErrFull, "sale %d keeps %d requests, the latest at %d; this one's fair time is %d", sl.ID, sl.Kept, top.Fair, slot.Fair)
	}
	return nil
}

func account(s Store, id crypto.ID) (*state.Account, uint64, error) {
	v, sum, ok := s.Get(state.AccountKey(id))
	if !ok {
		return &state.Account{}, 0, nil
	}
	a, err := state.UnmarshalAccount(v)
	if err != nil {
		return nil, 0, corrupt("account %s: %v", id, err)
	}
	return a, sum, nil
}

func costOf(price uint64, items uint32) (uint64, bool) {
	hi, lo := bits.Mul64(price, uint64(items))
	return lo, hi == 0
}

// EndBlock allocates, after a block's transactions, the open sales due at
// the block's time (time ≥ the window's end + MaxAge), at most
// MaxClosePerBlock of them, in the registry's order. It writes nothing when
// none is due. An error is a corrupt state: the block cannot be applied.
func EndBlock(s Store, env Env) ([]app.Event, error) {
	v, _, ok := s.Get(RegistryKey)
	if !ok {
		return nil, nil
	}
	reg, err := UnmarshalRegistry(v)
	if err != nil {
		return nil, corrupt("the sales registry: %v", err)
	}
	var events []app.Event
	closed := 0
	for i := 0; i < len(reg.Open) && closed < MaxClosePerBlock; {
		if reg.Open[i].Due > env.Time {
			i++
			continue
		}
		ev, err := closeSale(s, env, reg.Open[i].ID)
		if err != nil {
			return nil, err
		}
		events = append(events, ev)
		reg.Open = slices.Delete(reg.Open, i, i+1)
		closed++
	}
	if closed > 0 {
		s.Put(RegistryKey, reg.Marshal(), 0)
	}
	return events, nil
}

// NextDue is the earliest time at which an open sale is due for
// allocation, read from the registry (false if no sale is open).
func NextDue(reg *Registry) (int64, bool) {
	if len(reg.Open) == 0 {
		return 0, false
	}
	next := reg.Open[0].Due
	for _, d := range reg.Open[1:] {
		next = min(next, d.Due)
	}
	return next, true
}

// closeSale allocates a sale: its kept requests in order of fair time,
// ties by the block's seed; each served in turn while items remain, paying
// the price to the treasury (a buyer who cannot pay any more is passed
// over); one result record per request served or passed over; the sale's
// record closed with the seed, the counts and the cut-off.
func closeSale(s Store, env Env, id uint64) (app.Event, error) {
	sl, err := ReadSale(s, id)
	if err != nil {
		return app.Event{}, corrupt("an open sale: %v", err)
	}
	h := &heap{s: s, id: id, n: sl.Kept}
	slots, err := h.all()
	if err != nil {
		return app.Event{}, err
	}
	paid := map[crypto.ID]uint64{}
	pay := func(r *Ranked, items uint32) (bool, error) {
		cost, _ := costOf(sl.Params.Price, items)
		if cost == 0 {
			return true, nil
		}
		ok, err := transfer(s, r.Identity, cost)
		if ok {
			paid[r.Identity] = cost
		}
		return ok, err
	}
	grants, err := Allocate(Order(slots, env.Seed), sl.Params.Supply, pay)
	if err != nil {
		return app.Event{}, err
	}
	sl.State, sl.Seed = StateClosed, env.Seed
	for _, g := range grants {
		res := &Result{Rank: g.Rank, Granted: g.Granted, Paid: paid[g.Identity], Key: g.Key}
		s.Put(ResultKey(id, g.Identity), res.Marshal(), 0)
		if g.Granted == 0 {
			sl.Unpaid++
			continue
		}
		sl.Sold += g.Granted
		sl.Winners++
		sl.Cut = g.Key
	}
	s.Put(SaleKey(id), sl.Marshal(), 0)
	return app.Event{Type: "sale_close", Attributes: []app.Attribute{
		{Key: "sale", Value: fmt.Sprint(id)}, {Key: "sold", Value: fmt.Sprint(sl.Sold)},
		{Key: "winners", Value: fmt.Sprint(sl.Winners)}, {Key: "unpaid", Value: fmt.Sprint(sl.Unpaid)},
		{Key: "kept", Value: fmt.Sprint(sl.Kept)},
	}}, nil
}

// transfer moves cost from a buyer's balance to the treasury; false if the
// balance no longer covers it.
func transfer(s Store, from crypto.ID, cost uint64) (bool, error) {
	a, bal, err := account(s, from)
	if err != nil {
		return false, err
	}
	if bal < cost {
		return false, nil
	}
	t, tbal, err := account(s, crypto.ID(state.TreasuryKey))
	if err != nil {
		return false, err
	}
	sum, carry := bits.Add64(tbal, cost, 0)
	if carry != 0 {
		return false, nil
	}
	t.Name = state.TreasuryName
	s.Put(state.AccountKey(from), a.Marshal(), bal-cost)
	s.Put(state.TreasuryKey, t.Marshal(), sum)
	return true, nil
}
