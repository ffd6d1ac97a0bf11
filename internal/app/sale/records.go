package sale

import (
	"fmt"

	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/wire"
)

// Record kinds: the first byte of a sale record's value (state uses
// 0x01–0x04, gov 0x10–0x1d).
const (
	KindRegistry = 0x20
	KindSale     = 0x21
	KindRequest  = 0x22
	KindSlot     = 0x23
	KindResult   = 0x24
)

func reader(b []byte, kind uint8, what string) *wire.Reader {
	return wire.NewRecordReader(b, kind, what)
}

func done(r *wire.Reader, what string) error {
	if err := r.Done(); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrMalformed, what, err)
	}
	return nil
}

// Due is an open sale and the block time from which it is allocated.
type Due struct {
	ID  uint64
	Due int64
}

// Registry is the sales singleton: the next sale's ID and the open sales
// (at most MaxOpen) with their allocation times, in opening order.
type Registry struct {
	NextID uint64
	Open   []Due
}

// Marshal: 0x20 ‖ next:u64 ‖ count:u8 ‖ (id:u64 ‖ due:i64) × count.
func (g *Registry) Marshal() []byte {
	w := wire.NewWriter(10 + 16*len(g.Open))
	w.U8(KindRegistry)
	w.U64(g.NextID)
	w.U8(uint8(len(g.Open)))
	for _, d := range g.Open {
		w.U64(d.ID)
		w.I64(d.Due)
	}
	return w.Finish()
}

// UnmarshalRegistry decodes the registry.
func UnmarshalRegistry(b []byte) (*Registry, error) {
	r := reader(b, KindRegistry, "the sales registry")
	g := &Registry{NextID: r.U64("next")}
	n := int(r.U8("open"))
	if r.Err() == nil && n > MaxOpen {
		r.Fail("more than MaxOpen open sales")
	}
	for i := 0; i < n && r.Err() == nil; i++ {
		g.Open = append(g.Open, Due{ID: r.U64("sale"), Due: r.I64("due")})
	}
	return g, done(r, "sales registry")
}

// State is a sale's phase.
type State uint8

// The phases: a sale is open (taking requests in its window) until the
// block that allocates it, closed after.
const (
	StateOpen   State = 1
	StateClosed State = 2
)

func (s State) String() string {
	switch s {
	case StateOpen:
		return "open"
	case StateClosed:
		return "closed"
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// Sale is a sale's record: its parameters, its window fixed by the
// opening block, the node set fixed at opening (whose 2f+1 stamps a
// request carries), and its counters; once closed, the closing block's
// seed, what was sold and the cut-off: the order key of the last request
// served, so that a buyer without a result proves its loss by its own
// request's key being after it (or by sold = supply).
type Sale struct {
	ID       uint64
	Opener   crypto.ID // the supervisor's account, or zero when a proposal opened it
	Proposal uint64    // the proposal that opened it, or 0
	Params   Params
	Opens    int64 // the window's start (Unix ms), included
	Closes   int64 // the window's end, excluded
	Nodes    []crypto.PublicKey
	State    State
	Kept     uint32 // requests kept now (≤ MaxRequests)
	Accepted uint64 // requests ever accepted
	Evicted  uint64 // requests evicted by earlier ones when full
	// Set at closing.
	Seed    [32]byte
	Sold    uint32
	Winners uint32
	Unpaid  uint32 // requests passed over because the buyer could not pay
	Cut     OrderKey
}

// F is the number of faulty nodes the sale's node set tolerates:
// (n−1)/3.
func (s *Sale) F() int { return (len(s.Nodes) - 1) / 3 }

// Quorum is the stamps a request carries: 2f+1.
func (s *Sale) Quorum() int { return 2*s.F() + 1 }

// Due is the block time from which the sale is allocated: the window's
// end plus the grace MaxAge.
func (s *Sale) Due() int64 { return addTime(s.Closes, s.Params.MaxAge) }

// Marshal: 0x21 ‖ id:u64 ‖ opener:[20] ‖ proposal:u64 ‖ params ‖
// opens:i64 ‖ closes:i64 ‖ count:u16 ‖ node:[32] × count ‖ state:u8 ‖
// kept:u32 ‖ accepted:u64 ‖ evicted:u64 ‖ seed:[32] ‖ sold:u32 ‖
// winners:u32 ‖ unpaid:u32 ‖ cut (fair:i64 ‖ tie:[32]).
func (s *Sale) Marshal() []byte {
	w := wire.NewWriter(256 + 32*len(s.Nodes))
	w.U8(KindSale)
	w.U64(s.ID)
	w.Raw(s.Opener[:])
	w.U64(s.Proposal)
	s.Params.MarshalTo(w)
	w.I64(s.Opens)
	w.I64(s.Closes)
	w.U16(uint16(len(s.Nodes)))
	for _, k := range s.Nodes {
		w.Raw(k[:])
	}
	w.U8(uint8(s.State))
	w.U32(s.Kept)
	w.U64(s.Accepted)
	w.U64(s.Evicted)
	w.Raw(s.Seed[:])
	w.U32(s.Sold)
	w.U32(s.Winners)
	w.U32(s.Unpaid)
	s.Cut.marshalTo(w)
	return w.Finish()
}

// UnmarshalSale decodes a sale's record.
func UnmarshalSale(b []byte) (*Sale, error) {
	r := reader(b, KindSale, "a sale")
	s := &Sale{ID: r.U64("id")}
	copy(s.Opener[:], r.Raw(crypto.IDSize, "opener"))
	s.Proposal = r.U64("proposal")
	p, err := ReadParams(r)
	if err != nil && r.Err() == nil {
		return nil, fmt.Errorf("sale: %w", err)
	}
	s.Params = p
	s.Opens, s.Closes = r.I64("opens"), r.I64("closes")
	n := int(r.U16("nodes"))
	if r.Err() == nil && (n == 0 || n > MaxSaleNodes) {
		r.Fail("nodes out of 1 … MaxSaleNodes")
	}
	for i := 0; i < n && r.Err() == nil; i++ {
		var k crypto.PublicKey
		copy(k[:], r.Raw(crypto.PublicKeySize, "node"))
		if i > 0 && compareKeys(k, s.Nodes[i-1]) <= 0 {
			r.Fail("nodes not in increasing order")
		}
		s.Nodes = append(s.Nodes, k)
	}
	s.State = State(r.U8("state"))
	s.Kept, s.Accepted, s.Evicted = r.U32("kept"), r.U64("accepted"), r.U64("evicted")
	copy(s.Seed[:], r.Raw(32, "seed"))
	s.Sold, s.Winners, s.Unpaid = r.U32("sold"), r.U32("winners"), r.U32("unpaid")
	s.Cut = readOrderKey(r)
	if r.Err() == nil {
		switch {
		case s.State != StateOpen && s.State != StateClosed:
			r.Fail("state")
		case s.Closes <= s.Opens:
			r.Fail("window")
		case s.Kept > s.Params.MaxRequests || s.Sold > s.Params.Supply:
			r.Fail("counters")
		}
	}
	return s, done(r, "sale")
}

// OrderKey is a request's place in the allocation order: its fair time,
// then the tie-break hash of the closing seed and its identity (Tie).
type OrderKey struct {
	Fair int64
	Tie  [32]byte
}

func (k OrderKey) marshalTo(w *wire.Writer) {
	w.I64(k.Fair)
	w.Raw(k.Tie[:])
}

func readOrderKey(r *wire.Reader) OrderKey {
	k := OrderKey{Fair: r.I64("fair time")}
	copy(k.Tie[:], r.Raw(32, "tie"))
	return k
}

// Compare orders keys: by fair time, then by tie-break hash.
func (k OrderKey) Compare(o OrderKey) int {
	switch {
	case k.Fair < o.Fair:
		return -1
	case k.Fair > o.Fair:
		return 1
	}
	for i := range k.Tie {
		if k.Tie[i] != o.Tie[i] {
			return int(k.Tie[i]) - int(o.Tie[i])
		}
	}
	return 0
}

// Kept is an identity's kept request: the request as it was committed
// (with its stamps, so that anyone can check its fair time) and whether
// the buyer was a member.
type Kept struct {
	Request Request
	Member  bool
	Fair    int64
}

// Marshal: 0x22 ‖ request ‖ member:u8 ‖ fair:i64.
func (k *Kept) Marshal() []byte {
	w := wire.NewWriter(64 + len(k.Request.Stamps)*StampSize)
	w.U8(KindRequest)
	k.Request.MarshalTo(w)
	w.Bool(k.Member)
	w.I64(k.Fair)
	return w.Finish()
}

// UnmarshalKept decodes a kept request.
func UnmarshalKept(b []byte) (*Kept, error) {
	r := reader(b, KindRequest, "a request")
	req, err := ReadRequest(r)
	if err != nil && r.Err() == nil {
		return nil, fmt.Errorf("request: %w", err)
	}
	k := &Kept{Request: req, Member: r.Bool("member"), Fair: r.I64("fair time")}
	return k, done(r, "request")
}

// Slot is an entry of the kept requests' heap: what allocation needs.
type Slot struct {
	Fair     int64
	Identity crypto.ID
	Quantity uint32
}

// Marshal: 0x23 ‖ fair:i64 ‖ identity:[20] ‖ quantity:u32.
func (s *Slot) Marshal() []byte {
	w := wire.NewWriter(33)
	w.U8(KindSlot)
	w.I64(s.Fair)
	w.Raw(s.Identity[:])
	w.U32(s.Quantity)
	return w.Finish()
}

// UnmarshalSlot decodes a slot.
func UnmarshalSlot(b []byte) (*Slot, error) {
	r := reader(b, KindSlot, "a slot")
	s := &Slot{Fair: r.I64("fair time")}
	copy(s.Identity[:], r.Raw(crypto.IDSize, "identity"))
	s.Quantity = r.U32("quantity")
	if r.Err() == nil && s.Quantity == 0 {
		r.Fail("quantity 0")
	}
	return s, done(r, "slot")
}

// Result is a served request's outcome: its rank in the allocation order
// (from 1), the items granted (0 when the buyer could not pay: Unpaid),
// the tokens paid and its order key.
type Result struct {
	Rank    uint32
	Granted uint32
	Paid    uint64
	Key     OrderKey
}

// Unpaid says whether the request was passed over for want of funds.
func (r *Result) Unpaid() bool { return r.Granted == 0 }

// Marshal: 0x24 ‖ rank:u32 ‖ granted:u32 ‖ paid:u64 ‖ fair:i64 ‖ tie:[32].
func (r *Result) Marshal() []byte {
	w := wire.NewWriter(61)
	w.U8(KindResult)
	w.U32(r.Rank)
	w.U32(r.Granted)
	w.U64(r.Paid)
	r.Key.marshalTo(w)
	return w.Finish()
}

// UnmarshalResult decodes a result.
func UnmarshalResult(b []byte) (*Result, error) {
	rd := reader(b, KindResult, "a result")
	r := &Result{Rank: rd.U32("rank"), Granted: rd.U32("granted"), Paid: rd.U64("paid")}
	r.Key = readOrderKey(rd)
	if rd.Err() == nil && r.Rank == 0 {
		rd.Fail("rank 0")
	}
	return r, done(rd, "result")
}

func compareKeys(a, b crypto.PublicKey) int {
	for i := range a {
		if a[i] != b[i] {
			return int(a[i]) - int(b[i])
		}
	}
	return 0
}

// addTime is t + d milliseconds, saturating.
func addTime(t int64, d uint64) int64 {
	const max = 1<<63 - 1
	if d > max || t > max-int64(d) {
		return max
	}
	return t + int64(d)
}
