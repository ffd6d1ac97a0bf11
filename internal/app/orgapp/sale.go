package orgapp

import (
	"errors"
	"fmt"

	"github.com/mass-consensus/mass/internal/app"
	"github.com/mass-consensus/mass/internal/app/gov"
	"github.com/mass-consensus/mass/internal/app/sale"
	"github.com/mass-consensus/mass/internal/app/state"
	"github.com/mass-consensus/mass/internal/app/tx"
	"github.com/mass-consensus/mass/internal/crypto"
)

// txEnv is what a transaction runs with: the block's (or, at submission,
// the next block's) governance environment, the chain ID the sales' stamps
// are signed for, and whether it is a submission (CheckTx).
type txEnv struct {
	gov.Env
	chainID    string
	submission bool
	// stampsVerified: a sale request's stamps' signatures were verified
	// in the batch of its transaction's (sale.Env.StampsVerified).
	stampsVerified bool
}

func (e txEnv) sale() sale.Env {
	return sale.Env{Height: e.Height, Time: e.Time, Seed: e.Seed, Submission: e.submission, StampsVerified: e.stampsVerified}
}

var _ sale.Store = (*overlay)(nil)

// saleOpen opens a sale by a supervisor.
func saleOpen(o *overlay, id crypto.ID, acct *state.Account, balance uint64, b *tx.SaleOpen, env txEnv) ([]app.Event, error) {
	if acct.Role != state.Supervisor {
		return nil, fail(CodeNotPermitted, "only a supervisor opens a sale; the sender %s", gov.Standing(acct, balance))
	}
	o.putAccount(id, acct, balance)
	sl, err := sale.Open(o, env.sale(), id, 0, b.Params)
	if err != nil {
		return nil, err
	}
	return []app.Event{sale.OpenEvent(sl)}, nil
}

// saleRequest applies a buyer's request: no nonce (it must be 0; the
// sender's account is not written), the buyer is the sender.
func saleRequest(o *overlay, t *tx.Tx, b *tx.SaleRequest, env txEnv) ([]app.Event, error) {
	switch {
	case t.Nonce != 0:
		return nil, fail(CodeBadNonce, "a sale request carries nonce 0, not %d", t.Nonce)
	case b.Request.Buyer != t.Sender:
		return nil, fail(CodeInvalid, "the request's buyer %s is not the sender %s", b.Request.Buyer, t.Sender)
	}
	return sale.Submit(o, env.sale(), env.chainID, &b.Request)
}

// SaleKeys are the keys of a sale's records that concern one identity,
// for a buyer to prove: the sale, its request (absent if it was never kept
// or was evicted) and its result (absent if it was not served).
func SaleKeys(id uint64, identity crypto.ID) []state.Key {
	return []state.Key{sale.SaleKey(id), sale.RequestKey(id, identity), sale.ResultKey(id, identity)}
}

// Sale reads a sale's record at a height.
func (a *App) Sale(height uint64, id uint64) (*sale.Sale, error) {
	s, err := a.at(height)
	if err != nil {
		return nil, err
	}
	sl, err := sale.ReadSale(s, id)
	return sl, a.saleErr(s, err)
}

// SaleRequest reads an identity's kept request in a sale at a height.
func (a *App) SaleRequest(height uint64, id uint64, identity crypto.ID) (*sale.Kept, error) {
	s, err := a.at(height)
	if err != nil {
		return nil, err
	}
	k, err := sale.ReadKept(s, id, identity)
	return k, a.saleErr(s, err)
}

// SaleResult reads an identity's result in a sale at a height.
func (a *App) SaleResult(height uint64, id uint64, identity crypto.ID) (*sale.Result, error) {
	s, err := a.at(height)
	if err != nil {
		return nil, err
	}
	r, err := sale.ReadResult(s, id, identity)
	return r, a.saleErr(s, err)
}

// Sales reads the sales registry at a height.
func (a *App) Sales(height uint64) (*sale.Registry, error) {
	s, err := a.at(height)
	if err != nil {
		return nil, err
	}
	g, err := sale.ReadRegistry(s)
	return g, a.saleErr(s, err)
}

func (a *App) saleErr(s *snapshot, err error) error {
	switch {
	case err == nil:
		return nil
	case s.err != nil:
		return a.readErr(s.err)
	case errors.Is(err, sale.ErrNotFound):
		return fmt.Errorf("%w: %w", app.ErrNotFound, err)
	}
	return err
}
