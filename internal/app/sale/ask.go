package sale

import (
	"fmt"

	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/wire"
)

// DomainAsk is the domain tag of a buyer's signature on a stamp request.
const DomainAsk = "mass/sale/ask/v1"

// AskSize is a stamp request's encoded size: sale:u64 ‖ buyer:[32] ‖
// quantity:u32 ‖ nonce:u64 ‖ sig:[64].
const AskSize = 8 + crypto.PublicKeySize + 4 + 8 + crypto.SignatureSize

// Ask is a buyer's request for a node's stamp: the fields of its request
// that the stamp covers (through Request.Hash), signed by the buyer's key
// over the request hash under DomainAsk. The signature is what makes a
// node's once-per-identity rule safe: without it anyone who knows a
// buyer's public key could have the nodes stamp another request of that
// identity first (another quantity, another nonce), and the buyer's own
// request would then be refused at every node as a second one.
type Ask struct {
	Sale     uint64
	Buyer    crypto.PublicKey
	Quantity uint32
	Nonce    uint64
	Sig      crypto.Signature
}

// Request is the request the ask is for, without stamps.
func (a *Ask) Request() Request {
	return Request{Sale: a.Sale, Buyer: a.Buyer, Quantity: a.Quantity, Nonce: a.Nonce}
}

// SignAsk is a buyer's signed ask for the stamps of its request (whose
// stamps, if any, are ignored).
func SignAsk(key *crypto.PrivateKey, chainID string, q *Request) Ask {
	h := q.Hash(chainID)
	return Ask{Sale: q.Sale, Buyer: q.Buyer, Quantity: q.Quantity, Nonce: q.Nonce, Sig: key.Sign(DomainAsk, h[:])}
}

// Verify checks the buyer's signature.
func (a *Ask) Verify(chainID string) error {
	q := a.Request()
	h := q.Hash(chainID)
	if err := a.Buyer.Verify(DomainAsk, h[:], a.Sig); err != nil {
		return refuse(ErrBadSignature, "the ask is not signed by the buyer %s", a.Buyer)
	}
	return nil
}

// Marshal encodes the ask: sale:u64 ‖ buyer:[32] ‖ quantity:u32 ‖
// nonce:u64 ‖ sig:[64] (AskSize bytes).
func (a *Ask) Marshal() []byte {
	w := wire.NewWriter(AskSize)
	w.U64(a.Sale)
	w.Raw(a.Buyer[:])
	w.U32(a.Quantity)
	w.U64(a.Nonce)
	w.Raw(a.Sig[:])
	return w.Finish()
}

// UnmarshalAsk decodes an ask, refusing trailing bytes and a quantity of 0.
func UnmarshalAsk(b []byte) (*Ask, error) {
	r := wire.NewReader(b)
	a := &Ask{Sale: r.U64("sale")}
	copy(a.Buyer[:], r.Raw(crypto.PublicKeySize, "buyer"))
	a.Quantity = r.U32("quantity")
	a.Nonce = r.U64("nonce")
	copy(a.Sig[:], r.Raw(crypto.SignatureSize, "signature"))
	if r.Err() == nil && a.Quantity == 0 {
		r.Fail("a quantity of 0")
	}
	if err := r.Done(); err != nil {
		return nil, fmt.Errorf("%w: ask: %w", ErrMalformed, err)
	}
	return a, nil
}
