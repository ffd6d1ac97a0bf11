package main

import (
	"strings"
	"testing"

	"github.com/mass-consensus/mass/internal/apijson"
	"github.com/mass-consensus/mass/internal/app/sale"
	"github.com/mass-consensus/mass/internal/crypto"
)

func saleCLIKey(b byte) *crypto.PrivateKey {
	seed := make([]byte, crypto.SeedSize)
	seed[0] = b
	k, _ := crypto.KeyFromSeed(seed)
	return k
}

// TestSaleParamsArg: the open_sale arguments parse, and bad ones are
// refused with the reason.
func TestSaleParamsArg(t *testing.T) {
	p, err := saleParamsArg(strings.Fields("Row 100 2 1m 10m 30s 12 5 1000"))
	if err != nil || p.Item != "Row" || p.Supply != 100 || p.Window != 600_000 || p.MaxAge != 30_000 || p.Difficulty != 12 || p.MaxRequests != 1000 {
		t.Fatalf("%+v %v", p, err)
	}
	if p, err := saleParamsArg([]string{"Row A", "1", "1", "0s", "1s", "1s", "0", "0", "1"}); err != nil || p.Item != "Row A" {
		t.Fatalf("an item with a space: %+v %v", p, err)
	}
	for _, args := range []string{"Row 100 2 1m 10m 30s 12 5", "Row 100 200 1m 10m 30s 12 5 1000", "Row 100 2 1m 10m 30s 12 5 10", "Row x 2 1m 10m 30s 12 5 1000"} {
		if _, err := saleParamsArg(strings.Fields(args)); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
}

// TestRequestOf: the stamp file's earliest 2f+1 valid stamps make the
// request; a file of another buyer or sale, or too few valid stamps, is
// refused.
func TestRequestOf(t *testing.T) {
	var nodes []crypto.PublicKey
	var keys []*crypto.PrivateKey
	for i := byte(1); i <= 4; i++ {
		keys = append(keys, saleCLIKey(i))
	}
	for _, k := range keys {
		nodes = append(nodes, k.Public())
	}
	sortKeys(nodes)
	sl := &sale.Sale{ID: 2, Params: sale.Params{Item: "A", Supply: 1, PerRequest: 1, Window: 100, MaxAge: 1000, MaxRequests: 1},
		Opens: 0, Closes: 100, Nodes: nodes, State: sale.StateOpen}
	buyer := saleCLIKey(9)
	q := sale.Request{Sale: 2, Buyer: buyer.Public(), Quantity: 1}
	f := &stampFile{Chain: "c", Sale: 2, Buyer: buyer.Public().String(), Quantity: 1}
	for i, k := range keys {
		f.Stamps = append(f.Stamps, apijson.StampOf(2, q.Hash("c"), sale.SignStamp(k, "c", 2, q.Hash("c"), int64(10+i))))
	}
	got, err := requestOf(f, sl, buyer.Public())
	if err != nil || len(got.Stamps) != 3 {
		t.Fatalf("%v %v", got, err)
	}
	for _, s := range got.Stamps {
		if s.Time == 13 {
			t.Fatal("the latest stamp was chosen over the earlier ones")
		}
	}
	if _, err := requestOf(f, sl, saleCLIKey(8).Public()); err == nil {
		t.Error("another buyer's file accepted")
	}
	f.Stamps = f.Stamps[:2]
	if _, err := requestOf(f, sl, buyer.Public()); err == nil {
		t.Error("2 stamps accepted")
	}
}

func sortKeys(ks []crypto.PublicKey) {
	for i := 1; i < len(ks); i++ {
		for j := i; j > 0 && string(ks[j][:]) < string(ks[j-1][:]); j-- {
			ks[j], ks[j-1] = ks[j-1], ks[j]
		}
	}
}

// TestPrintSale: the closed sale shows its cut-off.
func TestPrintSale(t *testing.T) {
	sl := &sale.Sale{ID: 2, Params: sale.Params{Item: "A", Supply: 1, PerRequest: 1, Window: 100, MaxAge: 1000, MaxRequests: 1},
		Opens: 0, Closes: 100, Nodes: []crypto.PublicKey{saleCLIKey(1).Public()}, State: sale.StateClosed, Sold: 1, Winners: 1, Cut: sale.OrderKey{Fair: 42}}
	v := apijson.SaleViewOf(sl)
	var out strings.Builder
	printSale(&out, &apijson.Sale{Height: 5, Sale: &v})
	for _, want := range []string{`sale 2: "A", 1 item (`, "closed", "cut-off fair time 42", "at height 5"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("lacks %q:\n%s", want, out.String())
		}
	}
}
