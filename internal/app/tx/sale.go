package tx

import (
	"github.com/mass-consensus/mass/internal/app/sale"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/wire"
)

// SaleOpen opens a fair ticket sale (docs/SALE.md); the sender must be a
// supervisor. Payload: the sale's parameters (sale.Params.MarshalTo).
type SaleOpen struct {
	Params sale.Params
}

// Type is TypeSaleOpen.
func (*SaleOpen) Type() Type { return TypeSaleOpen }

func (b *SaleOpen) marshalTo(w *wire.Writer) { b.Params.MarshalTo(w) }

func (*SaleOpen) cosigner() (crypto.PublicKey, bool) { return crypto.PublicKey{}, false }

// SaleRequest is a buyer's request in a sale, with its 2f+1 stamps; the
// request's buyer must be the sender. Payload: the request
// (sale.Request.MarshalTo). It uses no nonce: the transaction's nonce must
// be 0 and the sender's account is not touched (one request per identity
// per sale makes a replay a refused duplicate), so that a non-member's
// request leaves no account behind.
type SaleRequest struct {
	Request sale.Request
}

// Type is TypeSaleRequest.
func (*SaleRequest) Type() Type { return TypeSaleRequest }

func (b *SaleRequest) marshalTo(w *wire.Writer) { b.Request.MarshalTo(w) }

func (*SaleRequest) cosigner() (crypto.PublicKey, bool) { return crypto.PublicKey{}, false }

// decodeSale decodes the payload of a sale transaction; ok is false for
// another type.
func decodeSale(typ Type, r *wire.Reader) (body Body, ok bool, err error) {
	switch typ {
	case TypeSaleOpen:
		p, err := sale.ReadParams(r)
		return &SaleOpen{Params: p}, true, err
	case TypeSaleRequest:
		q, err := sale.ReadRequest(r)
		return &SaleRequest{Request: q}, true, err
	}
	return nil, false, nil
}

// OpenSale opens a sale when its option wins: the same parameters as a
// supervisor's SaleOpen, the window counted from the executing block.
type OpenSale struct {
	Params sale.Params
}

// Kind is ActOpenSale.
func (*OpenSale) Kind() ActionKind { return ActOpenSale }

// Check checks the parameters.
func (a *OpenSale) Check() error { return a.Params.Check() }

func (a *OpenSale) marshalFields(w *wire.Writer) { a.Params.MarshalTo(w) }

func (a *OpenSale) readFields(r *wire.Reader) {
	// A field's error is Check's, which ReadAction calls next.
	a.Params, _ = sale.ReadParams(r)
}

// String is "open_sale ITEM SUPPLY PER_REQUEST START WINDOW MAX_AGE
// DIFFICULTY PRICE MAX_REQUESTS".
func (a *OpenSale) String() string { return text(a.Kind(), a.args()) }

func (a *OpenSale) args() []string {
	p := &a.Params
	return []string{p.Item, num(uint64(p.Supply)), num(uint64(p.PerRequest)), FormatDuration(p.Start),
		FormatDuration(p.Window), FormatDuration(p.MaxAge), num(uint64(p.Difficulty)), num(p.Price),
		num(uint64(p.MaxRequests))}
}

func (a *OpenSale) parseArgs(p *argParser) {
	q := &a.Params
	q.Item = p.str("ITEM")
	q.Supply = p.u32("SUPPLY")
	q.PerRequest = p.u32("PER_REQUEST")
	q.Start = p.duration("START")
	q.Window = p.duration("WINDOW")
	q.MaxAge = p.duration("MAX_AGE")
	d := p.number("DIFFICULTY")
	if p.err == nil && d > 255 {
		p.fail("DIFFICULTY %d is over 255", d)
	}
	q.Difficulty = uint8(d)
	q.Price = p.number("PRICE")
	q.MaxRequests = p.u32("MAX_REQUESTS")
}

func (p *argParser) u32(what string) uint32 {
	v := p.number(what)
	if p.err == nil && v > 1<<32-1 {
		p.fail("%s %d is over %d", what, v, uint32(1<<32-1))
	}
	return uint32(v)
}
