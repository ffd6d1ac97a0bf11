package client

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/mass-consensus/mass/internal/apijson"
	"github.com/mass-consensus/mass/internal/app/sale"
	"github.com/mass-consensus/mass/internal/crypto"
)

func saleTestKey(b byte) *crypto.PrivateKey {
	seed := make([]byte, crypto.SeedSize)
	seed[0] = b
	k, _ := crypto.KeyFromSeed(seed)
	return k
}

// TestSaleCalls: a stamp is accepted only if it is of the ask's request
// and verifies; the reads refuse another sale, buyer or height, and a
// missing proof; a refusal keeps its code.
func TestSaleCalls(t *testing.T) {
	n, c := newNode(t)
	ctx := context.Background()
	node, buyer := saleTestKey(1), saleTestKey(2)
	q := sale.Request{Sale: 3, Buyer: buyer.Public(), Quantity: 1}
	a := sale.SignAsk(buyer, "c", &q)
	good := sale.SignStamp(node, "c", 3, q.Hash("c"), 77)
	answer := func(s apijson.Stamp) string { raw, _ := json.Marshal(s); return string(raw) }
	n.answer("POST /v1/sales/3/stamps", http.StatusOK, answer(apijson.StampOf(3, q.Hash("c"), good)))
	if st, err := c.Stamp(ctx, "c", &a); err != nil || st != good {
		t.Fatalf("%+v %v", st, err)
	}
	other := q
	other.Quantity = 2
	forged := good
	forged.Time = 78
	for name, s := range map[string]apijson.Stamp{
		"another request": apijson.StampOf(3, other.Hash("c"), sale.SignStamp(node, "c", 3, other.Hash("c"), 77)),
		"another sale":    apijson.StampOf(4, q.Hash("c"), good),
		"bad signature":   apijson.StampOf(3, q.Hash("c"), forged),
		"short node":      {Sale: 3, Hash: apijson.StampOf(3, q.Hash("c"), good).Hash, Node: "ab"},
	} {
		n.answer("POST /v1/sales/3/stamps", http.StatusOK, answer(s))
		if _, err := c.Stamp(ctx, "c", &a); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
	n.answer("POST /v1/sales/3/stamps", http.StatusTooManyRequests, `{"error":{"code":"rate_limited","message":"slow down"}}`)
	if _, err := c.Stamp(ctx, "c", &a); !IsCode(err, apijson.CodeRateLimited) {
		t.Errorf("refusal: %v", err)
	}
	sl := &sale.Sale{ID: 3, Params: sale.Params{Item: "A", Supply: 1, PerRequest: 1, Window: 10, MaxAge: 1000, MaxRequests: 1},
		Opens: 1, Closes: 11, Nodes: []crypto.PublicKey{node.Public()}, State: sale.StateOpen}
	v := apijson.SaleViewOf(sl)
	saleAnswer := func(height uint64) string {
		raw, _ := json.Marshal(apijson.Sale{Height: height, Sale: &v})
		return string(raw)
	}
	n.answer("GET /v1/sales/3", http.StatusOK, saleAnswer(5))
	if s, err := c.Sale(ctx, 3, At{Height: 5}); err != nil || s.Sale.ID != 3 {
		t.Fatalf("%+v %v", s, err)
	}
	if _, err := c.Sale(ctx, 3, At{Height: 4}); !errors.Is(err, ErrMalformed) {
		t.Errorf("another height: %v", err)
	}
	if _, err := c.Sale(ctx, 3, At{Prove: true}); !errors.Is(err, ErrMalformed) {
		t.Errorf("no proof: %v", err)
	}
	n.answer("GET /v1/sales/4", http.StatusOK, saleAnswer(5))
	if _, err := c.Sale(ctx, 4, At{}); !errors.Is(err, ErrMalformed) {
		t.Errorf("another sale: %v", err)
	}
	id := buyer.Public().ID()
	path := "GET /v1/sales/3/buyers/" + id.String()
	b := apijson.SaleBuyer{Height: 5, Buyer: id.String(), Sale: &v, Outcome: apijson.OutcomeOpen}
	raw, _ := json.Marshal(b)
	n.answer(path, http.StatusOK, string(raw))
	if got, err := c.SaleBuyer(ctx, 3, id, At{}); err != nil || got.Outcome != apijson.OutcomeOpen {
		t.Fatalf("%+v %v", got, err)
	}
	b.Buyer = saleTestKey(3).Public().ID().String()
	raw, _ = json.Marshal(b)
	n.answer(path, http.StatusOK, string(raw))
	if _, err := c.SaleBuyer(ctx, 3, id, At{}); !errors.Is(err, ErrMalformed) {
		t.Errorf("another buyer: %v", err)
	}
	n.answer("GET /v1/sales", http.StatusOK, `{"height":5,"next":4,"open":[{"id":3,"due":20}]}`)
	if g, err := c.Sales(ctx, At{}); err != nil || g.Next != 4 {
		t.Fatalf("%+v %v", g, err)
	}
}
