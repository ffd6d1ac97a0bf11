package light

import (
	"context"
	"fmt"

	"github.com/mass-consensus/mass/internal/app/sale"
	"github.com/mass-consensus/mass/internal/client"
	"github.com/mass-consensus/mass/internal/crypto"
)

// SaleOutcome is a buyer's outcome in a fair ticket sale (docs/SALE.md),
// proven from three records at one height: the sale's, the buyer's kept
// request's and its result's (each present or absent).
type SaleOutcome struct {
	Sale  uint64
	Buyer AccountID
	// Closed: the sale is allocated; before, the outcome is not known.
	Closed bool
	// Won: a result grants items (Granted > 0). Unpaid: the request was
	// served but passed over, the balance short of the price.
	Won, Unpaid bool
	Rank        uint32
	Granted     uint32
	Paid        uint64
	// Kept: the buyer's request is in the state (it may have been evicted
	// by earlier ones, or never committed); Quantity, Fair and Stamps are
	// then its own, Fair checked to be the median of the stamps' times.
	Kept     bool
	Quantity uint32
	Fair     int64
	Stamps   []SaleStamp
	// Tie is the buyer's tie-break under the closing seed; with Fair it is
	// its place in the allocation order. Cut is the order key of the last
	// request served (CutFair, CutTie), set once closed.
	Tie           Hash
	CutFair       int64
	CutTie        Hash
	Supply, Sold  uint32
	Opens, Closes int64
	Seed          Hash
	Record        *Record // what proves the sale's record
}

// SaleStamp is one node's stamp of a kept request.
type SaleStamp struct {
	Node PublicKey
	Time int64
}

// SaleKeys are the keys of the three records a buyer's outcome is proven
// from: the sale's, the buyer's request's and its result's.
func SaleKeys(id uint64, buyer AccountID) (saleKey, requestKey, resultKey Key) {
	return Key(sale.SaleKey(id)), Key(sale.RequestKey(id, crypto.ID(buyer))), Key(sale.ResultKey(id, crypto.ID(buyer)))
}

// VerifySaleOutcome checks the three answers (the sale's record, the
// buyer's request and its result, as GET /v1/sales/{id}/buyers/{account}
// ?prove=1 gives them) against the verified chain, and what they say
// together: a closed sale's buyer without a result lost — if its request is
// kept, its order key must come after the cut-off and the sale be sold out
// (else allocation would have served it); a winner's result must be of its
// own order key, not after the cut-off.
func (c *Client) VerifySaleOutcome(id uint64, buyer AccountID, saleLeaf, requestLeaf, resultLeaf *Leaf) (*SaleOutcome, error) {
	sk, qk, rk := SaleKeys(id, buyer)
	if saleLeaf.Key != sk || requestLeaf.Key != qk || resultLeaf.Key != rk {
		return nil, fmt.Errorf("%w: the answers are not of sale %d's records for %s", ErrInvalid, id, buyer)
	}
	if saleLeaf.Height != requestLeaf.Height || saleLeaf.Height != resultLeaf.Height {
		return nil, fmt.Errorf("%w: the answers are of different heights", ErrInvalid)
	}
	var recs [3]*Record
	for i, l := range []*Leaf{saleLeaf, requestLeaf, resultLeaf} {
		r, err := c.VerifyLeaf(l)
		if err != nil {
			return nil, err
		}
		recs[i] = r
	}
	if !recs[0].Found {
		return nil, fmt.Errorf("%w: no sale %d at height %d", ErrInvalid, id, recs[0].Height)
	}
	sl, err := sale.UnmarshalSale(recs[0].Value)
	if err != nil || sl.ID != id {
		return nil, fmt.Errorf("%w: sale %d's record: %v", ErrInvalid, id, err)
	}
	o := &SaleOutcome{Sale: id, Buyer: buyer, Closed: sl.State == sale.StateClosed, Supply: sl.Params.Supply, Sold: sl.Sold,
		Opens: sl.Opens, Closes: sl.Closes, Record: recs[0]}
	if o.Closed {
		o.Seed, o.CutFair, o.CutTie = Hash(sl.Seed), sl.Cut.Fair, Hash(sl.Cut.Tie)
		o.Tie = Hash(sale.Tie(sl.Seed, crypto.ID(buyer)))
	}
	if recs[1].Found {
		k, err := sale.UnmarshalKept(recs[1].Value)
		if err != nil {
			return nil, fmt.Errorf("%w: the request: %w", ErrInvalid, err)
		}
		if k.Request.Identity() != crypto.ID(buyer) || k.Request.Sale != id {
			return nil, fmt.Errorf("%w: the kept request is not %s's in sale %d", ErrInvalid, buyer, id)
		}
		if len(k.Request.Stamps) != sl.Quorum() || sale.FairTime(sale.Times(k.Request.Stamps)) != k.Fair {
			return nil, fmt.Errorf("%w: the kept request's fair time is not the median of its %d stamps", ErrInvalid, len(k.Request.Stamps))
		}
		o.Kept, o.Quantity, o.Fair = true, k.Request.Quantity, k.Fair
		for _, s := range k.Request.Stamps {
			o.Stamps = append(o.Stamps, SaleStamp{Node: PublicKey(s.Node), Time: s.Time})
		}
	}
	key := sale.OrderKey{Fair: o.Fair, Tie: [32]byte(o.Tie)}
	switch {
	case recs[2].Found:
		res, err := sale.UnmarshalResult(recs[2].Value)
		if err != nil {
			return nil, fmt.Errorf("%w: the result: %w", ErrInvalid, err)
		}
		if !o.Closed || res.Key.Tie != [32]byte(o.Tie) || (o.Kept && res.Key.Fair != o.Fair) || res.Granted > 0 && res.Key.Compare(sl.Cut) > 0 {
			return nil, fmt.Errorf("%w: a result that is not the buyer's, or after the cut-off", ErrInvalid)
		}
		o.Rank, o.Granted, o.Paid = res.Rank, res.Granted, res.Paid
		o.Won, o.Unpaid = res.Granted > 0, res.Granted == 0
	case o.Closed && o.Kept:
		if sl.Sold != sl.Params.Supply || key.Compare(sl.Cut) <= 0 {
			return nil, fmt.Errorf("%w: a kept request without a result, not after the cut-off of a sold-out sale", ErrInvalid)
		}
	}
	return o, nil
}

// SaleBuyer returns a node's answers about a buyer in a sale, with their
// proofs: the sale's record, the buyer's request and its result, at a
// height (0: the latest the node has certified).
func (r *Remote) SaleBuyer(ctx context.Context, id uint64, buyer AccountID, height uint64) (saleLeaf, requestLeaf, resultLeaf *Leaf, err error) {
	c, err := r.client()
	if err != nil {
		return nil, nil, nil, err
	}
	b, err := c.SaleBuyer(ctx, id, crypto.ID(buyer), client.At{Height: height, Prove: true})
	if err != nil {
		return nil, nil, nil, remoteErr(err)
	}
	var out [3]*Leaf
	for i := range out {
		if out[i], err = leafOf(&b.Proofs[i]); err != nil {
			return nil, nil, nil, err
		}
	}
	return out[0], out[1], out[2], nil
}

// ProveSaleOutcome asks a node about a buyer in a sale, verifies the chain
// up to the answer's height if the client has not yet, then the outcome.
func (c *Client) ProveSaleOutcome(ctx context.Context, r *Remote, id uint64, buyer AccountID, height uint64) (*SaleOutcome, error) {
	s, q, res, err := r.SaleBuyer(ctx, id, buyer, height)
	if err != nil {
		return nil, err
	}
	if err := c.Sync(ctx, r, s.Height); err != nil {
		return nil, fmt.Errorf("verifying the chain to height %d: %w", s.Height, err)
	}
	return c.VerifySaleOutcome(id, buyer, s, q, res)
}
