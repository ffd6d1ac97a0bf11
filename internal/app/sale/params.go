package sale

import (
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/mass-consensus/mass/internal/wire"
)

// Limits of a sale (docs/SALE.md, "Limits").
const (
	// MaxItem bounds the item's name, in bytes.
	MaxItem = 64
	// MaxSupply bounds the items of a sale.
	MaxSupply = 100_000
	// MaxKept bounds the requests a sale keeps (Params.MaxRequests): the
	// state of a sale is at most this many requests and slots, plus a
	// result per winner.
	MaxKept = 100_000
	// MaxWindow bounds the delay before a sale opens and its window, in
	// milliseconds: 366 days (the governance windows' bound).
	MaxWindow = 366 * 24 * 3600 * 1000
	// MinMaxAge and MaxMaxAge bound the staleness bound, in milliseconds.
	MinMaxAge = 1000
	MaxMaxAge = 3600 * 1000
	// MaxDifficulty bounds the proof of work, in leading zero bits.
	MaxDifficulty = 40
	// MaxSaleNodes bounds the node set a sale takes at opening.
	MaxSaleNodes = 256
	// MaxStamps bounds the stamps of a request: 2f+1 for MaxSaleNodes.
	MaxStamps = 2*((MaxSaleNodes-1)/3) + 1
	// MaxOpen bounds the sales open at once.
	MaxOpen = 16
)

// Params are what opening a sale sets (the open_sale action, the
// supervisor's open-sale transaction). Times are relative to the block
// that opens the sale, whose time fixes the window: a proposal does not
// know when it will pass.
type Params struct {
	Item       string // what is sold: 1–64 bytes of text
	Supply     uint32 // items for sale: 1 … MaxSupply
	PerRequest uint32 // at most this many items per request: 1 … Supply
	Start      uint64 // ms from the opening block to the window's start: 0 … MaxWindow
	Window     uint64 // ms the window lasts: 1 … MaxWindow
	// MaxAge is the staleness bound (ms, MinMaxAge … MaxMaxAge): a request
	// is accepted in a block only if each of its stamps is at most MaxAge
	// older (and at most MaxAge newer) than the block time. It is also the
	// grace after the window before allocation.
	MaxAge uint64
	// Difficulty is the proof of work a non-member's key carries, in
	// leading zero bits (1 … MaxDifficulty); 0 admits members only.
	Difficulty uint8
	// Price is the tokens paid to the treasury per item granted (0: free).
	Price uint64
	// MaxRequests bounds the requests kept (Supply … MaxKept): when full, a
	// request with an earlier fair time evicts the latest kept.
	MaxRequests uint32
}

// Check checks the parameters as a decoder does.
func (p *Params) Check() error {
	switch {
	case p.Item == "" || len(p.Item) > MaxItem || !utf8.ValidString(p.Item):
		return fmt.Errorf("%w: the item's name has 1 to %d bytes of UTF-8", ErrMalformed, MaxItem)
	case p.Supply == 0 || p.Supply > MaxSupply:
		return fmt.Errorf("%w: a supply of %d (1 … %d)", ErrMalformed, p.Supply, MaxSupply)
	case p.PerRequest == 0 || p.PerRequest > p.Supply:
		return fmt.Errorf("%w: %d per request (1 … the supply %d)", ErrMalformed, p.PerRequest, p.Supply)
	case p.Start > MaxWindow:
		return fmt.Errorf("%w: a start of %d ms (0 … %d)", ErrMalformed, p.Start, MaxWindow)
	case p.Window == 0 || p.Window > MaxWindow:
		return fmt.Errorf("%w: a window of %d ms (1 … %d)", ErrMalformed, p.Window, MaxWindow)
	case p.MaxAge < MinMaxAge || p.MaxAge > MaxMaxAge:
		return fmt.Errorf("%w: a staleness bound of %d ms (%d … %d)", ErrMalformed, p.MaxAge, MinMaxAge, MaxMaxAge)
	case p.Difficulty > MaxDifficulty:
		return fmt.Errorf("%w: a difficulty of %d bits (0 … %d)", ErrMalformed, p.Difficulty, MaxDifficulty)
	case p.MaxRequests < p.Supply || p.MaxRequests > MaxKept:
		return fmt.Errorf("%w: %d requests kept (the supply %d … %d)", ErrMalformed, p.MaxRequests, p.Supply, MaxKept)
	}
	for i, r := range p.Item {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: the item's name has a control character at byte %d", ErrMalformed, i)
		}
	}
	return nil
}

// MarshalTo appends the parameters' encoding:
// item:bytes ‖ supply:u32 ‖ per_request:u32 ‖ start:u64 ‖ window:u64 ‖
// max_age:u64 ‖ difficulty:u8 ‖ price:u64 ‖ max_requests:u32.
func (p *Params) MarshalTo(w *wire.Writer) {
	w.Bytes([]byte(p.Item))
	w.U32(p.Supply)
	w.U32(p.PerRequest)
	w.U64(p.Start)
	w.U64(p.Window)
	w.U64(p.MaxAge)
	w.U8(p.Difficulty)
	w.U64(p.Price)
	w.U32(p.MaxRequests)
}

// ReadParams decodes parameters, checking them. A structural error is left
// in r; a field's check is returned only.
func ReadParams(r *wire.Reader) (Params, error) {
	p := Params{Item: string(r.Bytes(MaxItem, "item"))}
	p.Supply = r.U32("supply")
	p.PerRequest = r.U32("per request")
	p.Start = r.U64("start")
	p.Window = r.U64("window")
	p.MaxAge = r.U64("max age")
	p.Difficulty = r.U8("difficulty")
	p.Price = r.U64("price")
	p.MaxRequests = r.U32("max requests")
	if r.Err() != nil {
		return p, r.Err()
	}
	return p, p.Check()
}
