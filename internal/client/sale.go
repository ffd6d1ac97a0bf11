package client

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/mass-consensus/mass/internal/apijson"
	"github.com/mass-consensus/mass/internal/app/sale"
	"github.com/mass-consensus/mass/internal/crypto"
)

// Stamp asks the node to stamp a buyer's request: a signed ask
// (sale.SignAsk). The answer is the node's stamp, checked to be of the
// ask's request hash for the chain and to verify; a refusal is an *Error
// with a sale code (apijson.CodeSale…) or apijson.CodeRateLimited.
func (c *Client) Stamp(ctx context.Context, chainID string, a *sale.Ask) (sale.Stamp, error) {
	var out apijson.Stamp
	r := request{method: http.MethodPost, path: "/v1/sales/" + strconv.FormatUint(a.Sale, 10) + "/stamps", body: a.Marshal()}
	if err := c.call(ctx, r, &out); err != nil {
		return sale.Stamp{}, err
	}
	q := a.Request()
	h := q.Hash(chainID)
	st, err := out.Stamp()
	if err != nil {
		return sale.Stamp{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if out.Sale != a.Sale || !hexEqual(out.Hash, fmt.Sprintf("%x", h)) {
		return sale.Stamp{}, fmt.Errorf("%w: a stamp of another request", ErrMalformed)
	}
	if err := st.Verify(chainID, a.Sale, h); err != nil {
		return sale.Stamp{}, fmt.Errorf("%w: the node's stamp does not verify: %w", ErrMalformed, err)
	}
	return st, nil
}

// Sales returns the sales registry: the next sale's ID and the open sales.
func (c *Client) Sales(ctx context.Context, at At) (*apijson.Sales, error) {
	var out apijson.Sales
	r := request{method: http.MethodGet, path: "/v1/sales", query: at.query()}
	if err := c.call(ctx, r, &out); err != nil {
		return nil, err
	}
	return &out, checkAt(r, at, out.Height, out.Proof != nil)
}

// Sale returns a sale's record.
func (c *Client) Sale(ctx context.Context, id uint64, at At) (*apijson.Sale, error) {
	var out apijson.Sale
	r := request{method: http.MethodGet, path: "/v1/sales/" + strconv.FormatUint(id, 10), query: at.query()}
	if err := c.call(ctx, r, &out); err != nil {
		return nil, err
	}
	if out.Sale.ID != id {
		return nil, fmt.Errorf("%w: asked for sale %d, answered with sale %d", ErrMalformed, id, out.Sale.ID)
	}
	return &out, checkAt(r, at, out.Height, out.Proof != nil)
}

// SaleBuyer returns what a sale holds of a buyer: its kept request, its
// result and its outcome, with At.Prove the proofs of the three records.
func (c *Client) SaleBuyer(ctx context.Context, id uint64, buyer crypto.ID, at At) (*apijson.SaleBuyer, error) {
	var out apijson.SaleBuyer
	r := request{method: http.MethodGet, path: "/v1/sales/" + strconv.FormatUint(id, 10) + "/buyers/" + buyer.String(), query: at.query()}
	if err := c.call(ctx, r, &out); err != nil {
		return nil, err
	}
	if out.Sale.ID != id || !strings.EqualFold(out.Buyer, buyer.String()) {
		return nil, fmt.Errorf("%w: asked about %s in sale %d, answered about %s in sale %d", ErrMalformed, buyer, id, out.Buyer, out.Sale.ID)
	}
	return &out, checkAt(r, at, out.Height, len(out.Proofs) > 0)
}

// checkAt refuses an answer of another height than asked, or without the
// proof asked for.
func checkAt(r request, at At, height uint64, proven bool) error {
	switch {
	case at.Prove && !proven:
		return fmt.Errorf("%w: the answer to %s has no proof", ErrMalformed, r.path)
	case at.Height > 0 && height != at.Height:
		return fmt.Errorf("%w: asked for height %d, answered for %d", ErrMalformed, at.Height, height)
	}
	return nil
}
