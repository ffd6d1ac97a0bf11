package orgapp

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/mass-consensus/mass/internal/app"
	"github.com/mass-consensus/mass/internal/app/sale"
	"github.com/mass-consensus/mass/internal/app/state"
	"github.com/mass-consensus/mass/internal/app/tx"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/genesis"
	"github.com/mass-consensus/mass/internal/store/mem"
)

// saleFixture is a governance fixture whose genesis has 4 nodes (f = 1).
func saleFixture(t *testing.T, members int) (*fixture, []*crypto.PrivateKey) {
	f := govFixture(t, members, 1000, quick())
	var nodes []*crypto.PrivateKey
	var gn []genesis.Node
	for i := 0; i < 4; i++ {
		k := key(t, 900+i)
		nodes = append(nodes, k)
		gn = append(gn, genesis.Node{Key: k.Public().String()})
	}
	f.kv = mem.New()
	a, err := New(f.kv, &genesis.Genesis{ChainID: chainID, Nodes: gn, App: f.gen}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	f.app = a
	return f, nodes
}

func saleParams() sale.Params {
	return sale.Params{Item: "seat", Supply: 2, PerRequest: 1, Start: 1000, Window: 60_000, MaxAge: 10_000,
		Difficulty: 4, Price: 10, MaxRequests: 10}
}

// saleRequest is a signed request of buyer, stamped by nodes 0 … 2 at t.
func saleRequestTx(t *testing.T, sl *sale.Sale, buyer *crypto.PrivateKey, nodes []*crypto.PrivateKey, at int64) []byte {
	t.Helper()
	q := sale.Request{Sale: sl.ID, Buyer: buyer.Public(), Quantity: 1}
	n, err := sale.SolvePoW(chainID, sl.ID, buyer.Public(), sl.Params.Difficulty, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	q.Nonce = n
	var got []sale.Stamp
	for _, k := range nodes {
		got = append(got, sale.SignStamp(k, chainID, sl.ID, q.Hash(chainID), at))
	}
	if q.Stamps, err = sale.Choose(sl, chainID, q.Hash(chainID), got); err != nil {
		t.Fatal(err)
	}
	x := tx.New(buyer.Public(), 0, &tx.SaleRequest{Request: q})
	if err := x.Sign(chainID, buyer); err != nil {
		t.Fatal(err)
	}
	return x.Marshal()
}

// TestSaleBySupervisor: a supervisor opens a sale; members and a
// non-member with a proof of work request it in blocks; the sale is a
// deadline; at its due time it is allocated; every buyer proves its
// outcome against the state root.
func TestSaleBySupervisor(t *testing.T) {
	f, nodes := saleFixture(t, 4)
	if res := f.blockAt(1000, f.sign(f.keys[1], &tx.SaleOpen{Params: saleParams()})); res.Txs[0].Code != CodeNotPermitted {
		t.Fatalf("a member opened a sale: %+v", res.Txs[0])
	}
	res := f.blockAt(2000, f.sign(f.keys[0], &tx.SaleOpen{Params: saleParams()}))
	if res.Txs[0].Code != CodeOK || res.Txs[0].Events[0].Type != "sale_open" {
		t.Fatalf("%+v", res.Txs[0])
	}
	sl, err := f.app.Sale(f.height, 1)
	if err != nil || sl.Opens != 3000 || sl.Closes != 63_000 || len(sl.Nodes) != 4 || sl.Quorum() != 3 {
		t.Fatalf("%+v %v", sl, err)
	}
	if d, ok, _ := f.app.NextDeadline(); !ok || d != sl.Due() {
		t.Fatalf("next deadline %d %v, the sale's due %d", d, ok, sl.Due())
	}
	guest := key(t, 50)
	f.blockAt(2500, f.transfer(f.keys[0], guest, 50))
	buyers := []*crypto.PrivateKey{f.keys[3], f.keys[1], guest, f.keys[2]}
	var txs [][]byte
	for i, b := range buyers {
		txs = append(txs, saleRequestTx(t, sl, b, nodes, 5000+int64(i)*100))
	}
	// At submission, and a second request refused.
	for _, raw := range txs {
		if err := f.app.CheckTx(raw); err != nil {
			t.Fatal(err)
		}
	}
	res = f.blockAt(6000, txs...)
	for i, r := range res.Txs {
		if r.Code != CodeOK {
			t.Fatalf("request %d: %+v", i, r)
		}
	}
	if err := f.app.CheckTx(txs[0]); err == nil || !errors.Is(err, app.ErrRejected) {
		t.Fatalf("a second request: %v", err)
	}
	if a, _, err := f.app.Account(f.height, guest.Public().ID()); err != nil || a.Nonce != 0 || a.Role != state.Guest {
		t.Fatalf("a non-member's request touched its account: %+v %v", a, err)
	}
	f.blockAt(sl.Due() - 1)
	if sl, _ := f.app.Sale(f.height, 1); sl.State != sale.StateOpen {
		t.Fatal("closed before its due time")
	}
	treasury := f.treasury()
	f.blockAt(sl.Due())
	closed, err := f.app.Sale(f.height, 1)
	if err != nil || closed.State != sale.StateClosed || closed.Sold != 2 || closed.Winners != 2 {
		t.Fatalf("%+v %v", closed, err)
	}
	if got := f.treasury(); got != treasury+20 {
		t.Fatalf("the treasury went from %d to %d", treasury, got)
	}
	if _, ok, _ := f.app.NextDeadline(); ok {
		t.Fatal("a deadline after the close")
	}
	// Each buyer proves its sale, request and result records (present
	// or absent) against the root; the two earliest won.
	_, root, _ := f.app.Info()
	for i, b := range buyers {
		var won bool
		for j, k := range SaleKeys(1, b.Public().ID()) {
			l, err := f.app.Prove(f.height, k)
			if err != nil {
				t.Fatal(err)
			}
			if l.Found {
				err = l.Proof.VerifyInclusion(root, l.Key, l.Value, l.Sum)
			} else {
				err = l.Proof.VerifyExclusion(root, l.Key)
			}
			if err != nil {
				t.Fatalf("buyer %d, record %d: %v", i, j, err)
			}
			if j == 2 && l.Found {
				r, err := sale.UnmarshalResult(l.Value)
				if err != nil {
					t.Fatal(err)
				}
				won = r.Granted > 0
			}
			if j == 0 && !bytes.Equal(l.Value, closed.Marshal()) {
				t.Fatal("the proven sale record differs")
			}
		}
		if won != (i < 2) {
			t.Fatalf("buyer %d (fair time %d) won: %v", i, 5000+i*100, won)
		}
	}
	if raw, err := f.app.Query("sale/1"); err != nil || !json.Valid(raw) {
		t.Fatalf("query: %v", err)
	}
}

func (f *fixture) treasury() uint64 {
	_, sum, err := f.app.Account(f.height, crypto.ID(state.TreasuryKey))
	if err != nil {
		f.t.Fatal(err)
	}
	return sum
}

// TestSaleByProposal: a passed proposal's open_sale action opens a sale
// whose window counts from the executing block.
func TestSaleByProposal(t *testing.T) {
	f, nodes := saleFixture(t, 3)
	d := tx.Desire{Meeting: 600_000, Publicity: 600_000, Capacity: 4}
	res := f.blockAt(1000, f.sign(f.keys[1], &tx.Create{Domain: "general", Title: "Sell seats",
		Options: []tx.Option{{Title: "Yes", Actions: []tx.Action{&tx.OpenSale{Params: saleParams()}}}, {Title: "No"}}, Desire: d}))
	if res.Txs[0].Code != CodeOK {
		t.Fatalf("%+v", res.Txs[0])
	}
	var joins [][]byte
	for _, k := range f.keys {
		if k != f.keys[1] {
			joins = append(joins, f.sign(k, &tx.Join{Proposal: 1, Desire: d}))
		}
	}
	f.blockAt(2000, joins...)
	now := int64(601_000)
	for step := 0; step < 20; step++ {
		f.blockAt(now)
		p, err := f.app.Proposal(f.height, 1)
		if err != nil {
			t.Fatal(err)
		}
		if p.State == "executed" {
			break
		}
		if p.State == "voting" {
			r := p.Rounds[len(p.Rounds)-1]
			var votes [][]byte
			for _, k := range f.keys {
				for _, m := range r.Meetings {
					if slices.Contains(m.Members, k.Public().ID().String()) {
						votes = append(votes, f.sign(k, &tx.Vote{Proposal: 1, Round: r.Round, Meeting: m.Index, Approve: []uint8{0}}))
					}
				}
			}
			f.blockAt(now+1000, votes...)
		}
		now += 600_000
	}
	sl, err := f.app.Sale(f.height, 1)
	if err != nil {
		t.Fatalf("no sale after the proposal: %v", err)
	}
	if sl.Proposal != 1 || sl.Opener != (crypto.ID{}) || sl.Opens <= 601_000 {
		t.Fatalf("%+v", sl)
	}
	res = f.blockAt(sl.Opens+10, saleRequestTx(t, sl, f.keys[2], nodes, sl.Opens+5))
	if res.Txs[0].Code != CodeOK {
		t.Fatalf("%+v", res.Txs[0])
	}
	if k, err := f.app.SaleRequest(f.height, 1, f.keys[2].Public().ID()); err != nil || !k.Member || k.Fair != sl.Opens+5 {
		t.Fatalf("%+v %v", k, err)
	}
}

// TestSaleStampsBatched: a request's stamps are verified in the batch of
// the transactions' signatures, at submission and in a block; a request
// with a forged stamp among good ones is refused by the sale's own check
// (which stamp, sale.ErrBadSignature), and the good ones — checked at
// submission or not — are kept.
func TestSaleStampsBatched(t *testing.T) {
	f, nodes := saleFixture(t, 4)
	p := saleParams()
	p.Price = 0 // the buyers are fresh keys
	f.blockAt(2000, f.sign(f.keys[0], &tx.SaleOpen{Params: p}))
	sl, err := f.app.Sale(f.height, 1)
	if err != nil {
		t.Fatal(err)
	}
	good := saleRequestTx(t, sl, key(t, 60), nodes, 5000)
	unchecked := saleRequestTx(t, sl, key(t, 61), nodes, 5100)
	// A forged stamp: the second one's signature altered, the transaction
	// signed again by its buyer (its own signature is good).
	forger := key(t, 62)
	x, err := tx.Unmarshal(saleRequestTx(t, sl, forger, nodes, 5200))
	if err != nil {
		t.Fatal(err)
	}
	body := x.Body.(*tx.SaleRequest)
	body.Request.Stamps[1].Sig[7] ^= 1
	forged := tx.New(forger.Public(), 0, body)
	if err := forged.Sign(chainID, forger); err != nil {
		t.Fatal(err)
	}
	bad := forged.Marshal()
	errs := f.app.CheckTxs([][]byte{good, bad})
	if errs[0] != nil {
		t.Fatalf("a good request: %v", errs[0])
	}
	if !errors.Is(errs[1], sale.ErrBadSignature) || !errors.Is(errs[1], app.ErrRejected) {
		t.Fatalf("a forged stamp at submission: %v", errs[1])
	}
	res := f.blockAt(6000, good, bad, unchecked)
	if res.Txs[0].Code != CodeOK || res.Txs[2].Code != CodeOK {
		t.Fatalf("the good requests: %+v, %+v", res.Txs[0], res.Txs[2])
	}
	if r := res.Txs[1]; r.Code != sale.CodeBadSignature || !strings.Contains(r.Log, "stamp 1") {
		t.Fatalf("a forged stamp in a block: %+v", r)
	}
	if sl, _ := f.app.Sale(f.height, 1); sl.Kept != 2 || sl.Accepted != 2 {
		t.Fatalf("kept %d, accepted %d", sl.Kept, sl.Accepted)
	}
}
