package apijson

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/mass-consensus/mass/internal/app/sale"
	"github.com/mass-consensus/mass/internal/crypto"
)

func init() {
	for name, f := range map[string]func() any{
		"StampAsk": func() any { return new(StampAsk) }, "Stamp": func() any { return new(Stamp) },
		"SaleView": func() any { return new(SaleView) }, "Sale": func() any { return new(Sale) },
		"SaleDue": func() any { return new(SaleDue) }, "Sales": func() any { return new(Sales) },
		"SaleStampView": func() any { return new(SaleStampView) }, "SaleRequestView": func() any { return new(SaleRequestView) },
		"SaleResultView": func() any { return new(SaleResultView) }, "SaleBuyer": func() any { return new(SaleBuyer) },
	} {
		shapes[name] = f
	}
}

func saleKey(b byte) *crypto.PrivateKey {
	seed := make([]byte, crypto.SeedSize)
	seed[0] = b
	k, _ := crypto.KeyFromSeed(seed)
	return k
}

func testSale(state sale.State) *sale.Sale {
	s := &sale.Sale{ID: 4, Params: sale.Params{Item: "A", Supply: 2, PerRequest: 1, Window: 1000, MaxAge: 1000, MaxRequests: 4},
		Opens: 10, Closes: 1010, Nodes: []crypto.PublicKey{saleKey(1).Public()}, State: state}
	if state == sale.StateClosed {
		s.Sold, s.Winners, s.Seed = 2, 2, [32]byte{9}
	}
	return s
}

// TestSaleShapes: the views carry their record exactly; the asks and
// stamps convert both ways; each malformed answer is refused.
func TestSaleShapes(t *testing.T) {
	s := testSale(sale.StateClosed)
	v := SaleViewOf(s)
	back, err := v.Sale()
	if err != nil || string(back.Marshal()) != string(s.Marshal()) {
		t.Fatalf("sale view: %v", err)
	}
	k := saleKey(2)
	q := sale.Request{Sale: 4, Buyer: k.Public(), Quantity: 1, Nonce: 5}
	a := sale.SignAsk(k, "c", &q)
	j := AskOf(&a)
	raw, _ := json.Marshal(j)
	var j2 StampAsk
	if err := json.Unmarshal(raw, &j2); err != nil {
		t.Fatal(err)
	}
	if a2, err := j2.Ask(); err != nil || *a2 != a {
		t.Fatalf("ask: %v", err)
	}
	st := sale.SignStamp(saleKey(1), "c", 4, q.Hash("c"), 500)
	sj := StampOf(4, q.Hash("c"), st)
	if st2, err := sj.Stamp(); err != nil || st2 != st {
		t.Fatalf("stamp: %v", err)
	}
	id := k.Public().ID()
	win := &sale.Result{Rank: 1, Granted: 1}
	rv := SaleResultViewOf(win)
	proofs := func(req, res bool) []Leaf {
		return []Leaf{{Height: 7, Key: keyHex(sale.SaleKey(4)), Found: true},
			{Height: 7, Key: keyHex(sale.RequestKey(4, id)), Found: req}, {Height: 7, Key: keyHex(sale.ResultKey(4, id)), Found: res}}
	}
	kept := SaleRequestViewOf(&sale.Kept{Request: q, Fair: 500})
	good := map[string]interface{ Check() error }{
		"sale":        &Sale{Height: 7, Sale: &v, Proof: &Leaf{Height: 7, Key: keyHex(sale.SaleKey(4)), Found: true}},
		"sales":       &Sales{Height: 7, Next: 5, Open: []SaleDue{{ID: 4, Due: 9}}},
		"stamp":       &sj,
		"winner":      &SaleBuyer{Height: 7, Buyer: id.String(), Sale: &v, Request: &kept, Result: &rv, Outcome: OutcomeWon, Proofs: proofs(true, true)},
		"loser":       &SaleBuyer{Height: 7, Buyer: id.String(), Sale: &v, Outcome: OutcomeLost, Proofs: proofs(false, false)},
		"loser, kept": &SaleBuyer{Height: 7, Buyer: id.String(), Sale: &v, Request: &kept, Outcome: OutcomeLost},
	}
	for name, c := range good {
		if err := c.Check(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	open := SaleViewOf(testSale(sale.StateOpen))
	lying := v
	lying.Sold = 1
	bad := map[string]interface{ Check() error }{
		"no sale":              &Sale{Height: 7},
		"record not hex":       &Sale{Sale: &SaleView{Record: "zz"}},
		"record disagrees":     &Sale{Sale: &lying},
		"proof of another key": &Sale{Height: 7, Sale: &v, Proof: &Leaf{Height: 7, Key: keyHex(sale.SaleKey(5)), Found: true}},
		"proof, other height":  &Sale{Height: 7, Sale: &v, Proof: &Leaf{Height: 6, Key: keyHex(sale.SaleKey(4)), Found: true}},
		"too many open":        &Sales{Open: make([]SaleDue, sale.MaxOpen+1)},
		"registry proof":       &Sales{Height: 7, Proof: &Leaf{Height: 7, Key: keyHex(sale.SaleKey(4))}},
		"stamp, short node":    &Stamp{Hash: strings.Repeat("a", 64), Node: "ab", Signature: strings.Repeat("a", 128)},
		"buyer, no sale":       &SaleBuyer{Buyer: id.String(), Outcome: OutcomeLost},
		"buyer, bad id":        &SaleBuyer{Buyer: "ab", Sale: &v, Outcome: OutcomeLost},
		"lost, said won":       &SaleBuyer{Buyer: id.String(), Sale: &v, Outcome: OutcomeWon},
		"open, said lost":      &SaleBuyer{Buyer: id.String(), Sale: &open, Outcome: OutcomeLost},
		"won, said lost":       &SaleBuyer{Buyer: id.String(), Sale: &v, Result: &rv, Outcome: OutcomeLost},
		"two proofs":           &SaleBuyer{Height: 7, Buyer: id.String(), Sale: &v, Outcome: OutcomeLost, Proofs: proofs(false, false)[:2]},
		"proof says found":     &SaleBuyer{Height: 7, Buyer: id.String(), Sale: &v, Outcome: OutcomeLost, Proofs: proofs(false, true)},
		"proofs swapped":       &SaleBuyer{Height: 7, Buyer: id.String(), Sale: &v, Outcome: OutcomeLost, Proofs: []Leaf{proofs(false, false)[0], proofs(false, false)[2], proofs(false, false)[1]}},
		"proofs, other height": &SaleBuyer{Height: 8, Buyer: id.String(), Sale: &v, Outcome: OutcomeLost, Proofs: proofs(false, false)},
	}
	for name, c := range bad {
		if err := c.Check(); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, j := range map[string]StampAsk{
		"bad key": {Buyer: "ab", Quantity: 1, Signature: j.Signature}, "bad sig": {Buyer: j.Buyer, Quantity: 1, Signature: "ab"},
		"quantity 0": {Buyer: j.Buyer, Signature: j.Signature},
	} {
		if _, err := j.Ask(); !errors.Is(err, ErrMalformed) {
			t.Errorf("ask, %s: %v", name, err)
		}
	}
}
