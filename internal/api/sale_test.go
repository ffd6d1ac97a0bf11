package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mass-consensus/mass/internal/apijson"
	"github.com/mass-consensus/mass/internal/app"
	"github.com/mass-consensus/mass/internal/app/orgapp"
	"github.com/mass-consensus/mass/internal/app/sale"
	"github.com/mass-consensus/mass/internal/app/tx"
	"github.com/mass-consensus/mass/internal/chain"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/genesis"
	"github.com/mass-consensus/mass/internal/store/mem"
	"github.com/mass-consensus/mass/light"
)

const saleChain = "sale-test"

// saleNet is an API over a real application whose blocks the test makes
// and certifies: alice is a supervisor, bob and carol members.
type saleNet struct {
	t                 *testing.T
	fake              *fakeBackend
	gen               *genesis.Genesis
	app               *orgapp.App
	nodes             []*crypto.PrivateKey
	alice, bob, carol *crypto.PrivateKey
	prev              *chain.Header
	height            uint64
	clock             int64 // the stamping node's clock, Unix ms
	srv               *Server
}

func newSaleNet(t *testing.T, cfg Stamping) *saleNet {
	n := &saleNet{t: t, fake: newFake(), alice: seededKey(t, "alice"), bob: seededKey(t, "bob"), carol: seededKey(t, "carol")}
	appGen, _ := json.Marshal(orgapp.Genesis{Organization: "S", Policy: "supervisor", Accounts: []orgapp.GenesisAccount{
		{Key: n.alice.Public().String(), Name: "alice", Role: "supervisor", Balance: 100},
		{Key: n.bob.Public().String(), Name: "bob", Role: "member"},
		{Key: n.carol.Public().String(), Name: "carol", Role: "member"},
	}})
	n.gen = &genesis.Genesis{ChainID: saleChain, App: appGen}
	for i := 0; i < 4; i++ {
		k := seededKey(t, fmt.Sprint("node", i))
		n.nodes = append(n.nodes, k)
		n.fake.set.Keys = append(n.fake.set.Keys, k.Public())
		n.gen.Nodes = append(n.gen.Nodes, genesis.Node{Key: k.Public().String()})
	}
	var err error
	if n.app, err = orgapp.New(mem.New(), n.gen, orgapp.Options{}); err != nil {
		t.Fatal(err)
	}
	n.srv = New(n.fake, nil, nil)
	n.srv.SetState(n.app)
	if cfg.Key == nil {
		cfg.Key = n.nodes[0]
	}
	cfg.Now = func() int64 { return n.clock }
	if err := n.srv.SetStamping(cfg); err != nil {
		t.Fatal(err)
	}
	return n
}

// block applies and certifies the next block, at a time, and returns the
// results of its transactions.
func (n *saleNet) block(at int64, txs ...[]byte) []app.TxResult {
	n.t.Helper()
	n.height++
	res, err := n.app.ApplyBlock(app.Block{Height: n.height, Time: at, Txs: txs})
	if err != nil {
		n.t.Fatal(err)
	}
	hdr := chain.Header{ChainID: saleChain, Height: n.height, Time: at, BatchHash: chain.BatchHash(txs),
		StateRoot: res.StateRoot, NextNodes: n.fake.set.Hash()}
	if n.prev != nil {
		hdr.Prev = n.prev.Hash()
	}
	col := chain.NewCollector(hdr, n.fake.set)
	var cert *chain.Certificate
	for i := 0; i < 3; i++ {
		if cert, err = col.Add(chain.SignHeader(n.nodes[i], i, &hdr)); err != nil {
			n.t.Fatal(err)
		}
	}
	n.fake.mu.Lock()
	n.fake.blocks[n.height] = &chain.Block{Header: hdr, Txs: txs}
	n.fake.certs[n.height] = cert
	n.fake.status.Certified = n.height
	n.fake.mu.Unlock()
	n.prev = &hdr
	return res.Txs
}

func (n *saleNet) signed(k *crypto.PrivateKey, nonce uint64, body tx.Body) []byte {
	t := tx.New(k.Public(), nonce, body)
	if err := t.Sign(saleChain, k); err != nil {
		n.t.Fatal(err)
	}
	return t.Marshal()
}

// open opens sale 1 at block time 1000: supply 2, 2 per request, a window
// of 10 s, difficulty 4, at most 4 requests kept.
func (n *saleNet) open() *sale.Sale {
	n.t.Helper()
	p := sale.Params{Item: "Row A", Supply: 2, PerRequest: 2, Window: 10_000, MaxAge: 1000, Difficulty: 4, MaxRequests: 4}
	if res := n.block(1000, n.signed(n.alice, 0, &tx.SaleOpen{Params: p})); res[0].Code != 0 {
		n.t.Fatalf("open: %+v", res[0])
	}
	sl, err := n.app.Sale(n.height, 1)
	if err != nil {
		n.t.Fatal(err)
	}
	return sl
}

// ask posts an ask as a peer at addr (binary, or JSON).
func (n *saleNet) ask(addr string, path string, a *sale.Ask, asJSON bool) *httptest.ResponseRecorder {
	body, ct := a.Marshal(), "application/octet-stream"
	if asJSON {
		body, _ = json.Marshal(apijson.AskOf(a))
		ct = "application/json"
	}
	return n.post(addr, path, ct, body)
}

func (n *saleNet) post(addr, path, ct string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	req.RemoteAddr = addr
	rec := httptest.NewRecorder()
	n.srv.ServeHTTP(rec, req)
	return rec
}

func askOf(k *crypto.PrivateKey, id uint64, quantity uint32, nonce uint64) *sale.Ask {
	q := sale.Request{Sale: id, Buyer: k.Public(), Quantity: quantity, Nonce: nonce}
	a := sale.SignAsk(k, saleChain, &q)
	return &a
}

func wantRec(t *testing.T, rec *httptest.ResponseRecorder, status int, code string) {
	t.Helper()
	wantError(t, rec.Result(), rec.Body.Bytes(), status, code)
}

func stampOf(t *testing.T, rec *httptest.ResponseRecorder) sale.Stamp {
	t.Helper()
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var j apijson.Stamp
	decodeJSON(t, rec.Result(), rec.Body.Bytes(), &j)
	s, err := j.Stamp()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func powKey(t *testing.T, tag string, sl *sale.Sale) (*crypto.PrivateKey, uint64) {
	k := seededKey(t, tag)
	nonce, err := sale.SolvePoW(saleChain, sl.ID, k.Public(), sl.Params.Difficulty, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	return k, nonce
}

// TestStampRoute: the node stamps a member's and a non-member's request
// once, answers the same stamp to a retry, and refuses each bad ask with
// its reason, remembering nothing of a refused one.
func TestStampRoute(t *testing.T) {
	n := newSaleNet(t, Stamping{})
	sl := n.open()
	const peer = "10.0.0.1:5000"
	path := "/v1/sales/1/stamps"
	n.clock = sl.Opens - 1
	wantRec(t, n.ask(peer, path, askOf(n.bob, 1, 2, 0), false), http.StatusConflict, apijson.CodeSaleWindow)
	n.clock = sl.Opens + 500
	bob := askOf(n.bob, 1, 2, 0)
	first := stampOf(t, n.ask(peer, path, bob, false))
	q := bob.Request()
	if first.Node != n.nodes[0].Public() || first.Time != n.clock || first.Verify(saleChain, 1, q.Hash(saleChain)) != nil {
		t.Fatalf("bob's stamp %+v does not verify", first)
	}
	n.clock += 100
	if again := stampOf(t, n.ask(peer, path, bob, true)); again != first {
		t.Fatalf("a retry gave another stamp: %+v, first %+v", again, first)
	}
	guest, nonce := powKey(t, "guest", sl)
	stampOf(t, n.ask(peer, path, askOf(guest, 1, 1, nonce), true))
	st := n.srv.stamps
	if st.remembered(1) != 2 {
		t.Fatalf("remembered %d identities, want 2", st.remembered(1))
	}
	forged := askOf(n.carol, 1, 1, 0)
	forged.Sig = askOf(n.bob, 1, 1, 0).Sig
	other, _ := powKey(t, "other", sl)
	refusals := []struct {
		name   string
		rec    *httptest.ResponseRecorder
		status int
		code   string
	}{
		{"another request of bob", n.ask(peer, path, askOf(n.bob, 1, 1, 0), false), http.StatusConflict, apijson.CodeSaleDuplicate},
		{"too many items", n.ask(peer, path, askOf(n.carol, 1, 3, 0), false), http.StatusBadRequest, apijson.CodeSaleQuantity},
		{"no proof of work", n.ask(peer, path, askOf(other, 1, 1, 0), false), http.StatusBadRequest, apijson.CodeSaleBadPoW},
		{"not the buyer's signature", n.ask(peer, path, forged, false), http.StatusBadRequest, apijson.CodeSaleBadSig},
		{"another sale in the path", n.ask(peer, "/v1/sales/2/stamps", askOf(n.carol, 1, 1, 0), false), http.StatusBadRequest, codeBadRequest},
		{"no such sale", n.ask(peer, "/v1/sales/2/stamps", askOf(n.carol, 2, 1, 0), false), http.StatusNotFound, codeNotFound},
		{"malformed id", n.ask(peer, "/v1/sales/x/stamps", askOf(n.carol, 1, 1, 0), false), http.StatusBadRequest, codeBadRequest},
		{"short body", n.post(peer, path, "application/octet-stream", bob.Marshal()[:10]), http.StatusBadRequest, codeBadRequest},
		{"JSON, unknown field", n.post(peer, path, "application/json", []byte(`{"sale":1,"x":2}`)), http.StatusBadRequest, codeBadRequest},
		{"too large", n.post(peer, path, "application/octet-stream", make([]byte, MaxAskBody+1)), http.StatusRequestEntityTooLarge, codeTooLarge},
		{"media type", n.post(peer, path, "text/html", bob.Marshal()), http.StatusUnsupportedMediaType, codeUnsupportedMedia},
	}
	for _, r := range refusals {
		t.Run(r.name, func(t *testing.T) { wantRec(t, r.rec, r.status, r.code) })
	}
	if st.remembered(1) != 2 {
		t.Fatalf("the refusals changed what the node remembers: %d identities", st.remembered(1))
	}
	// A node outside the sale's node set refuses.
	outsider := newSaleNet(t, Stamping{Key: seededKey(t, "outsider")})
	osl := outsider.open()
	outsider.clock = osl.Opens
	wantRec(t, outsider.ask(peer, path, askOf(outsider.bob, 1, 1, 0), false), http.StatusForbidden, apijson.CodeSaleNotNode)
	// After the close the node refuses and forgets the sale.
	n.block(sl.Due())
	n.clock = sl.Opens + 600
	wantRec(t, n.ask(peer, path, bob, false), http.StatusConflict, apijson.CodeSaleClosed)
	if st.remembered(1) != 0 {
		t.Fatalf("the closed sale is remembered: %d identities", st.remembered(1))
	}
}

// TestStampRateLimit: an address has its bucket (Retry-After when empty),
// another address its own; the bucket refills with the clock.
func TestStampRateLimit(t *testing.T) {
	n := newSaleNet(t, Stamping{Rate: 1, Burst: 2})
	sl := n.open()
	n.clock = sl.Opens
	a := askOf(n.bob, 1, 1, 0)
	for i := 0; i < 2; i++ {
		stampOf(t, n.ask("10.0.0.1:1", "/v1/sales/1/stamps", a, false))
	}
	rec := n.ask("10.0.0.1:2", "/v1/sales/1/stamps", a, false) // another connection, the same address
	wantRec(t, rec, http.StatusTooManyRequests, apijson.CodeRateLimited)
	if ra := rec.Header().Get("Retry-After"); ra != "1" {
		t.Fatalf("Retry-After %q, want 1", ra)
	}
	stampOf(t, n.ask("10.0.0.2:1", "/v1/sales/1/stamps", a, false))
	n.clock += 1000
	stampOf(t, n.ask("10.0.0.1:1", "/v1/sales/1/stamps", a, false))
	wantRec(t, n.ask("10.0.0.1:1", "/v1/sales/1/stamps", a, false), http.StatusTooManyRequests, apijson.CodeRateLimited)
}

// TestStampFloodKeepsMemoryBounded: fresh identities with valid proofs of
// work from fresh addresses fill neither the limiter's table nor the
// Stamper beyond their bounds, and the honest buyer stamped first still
// gets its stamp back.
func TestStampFloodKeepsMemoryBounded(t *testing.T) {
	const maxAddrs, perSale = 8, 5
	n := newSaleNet(t, Stamping{Rate: 10, Burst: 2, MaxAddrs: maxAddrs, MaxPerSale: perSale})
	sl := n.open()
	n.clock = sl.Opens
	bob := askOf(n.bob, 1, 1, 0)
	first := stampOf(t, n.ask("10.1.0.0:1", "/v1/sales/1/stamps", bob, false))
	full := 0
	for i := 0; i < 60; i++ {
		n.clock += 101 // every bucket used once refills: a sweep may drop it
		k, nonce := powKey(t, fmt.Sprint("flood", i), sl)
		rec := n.ask(fmt.Sprintf("10.2.%d.%d:1", i/250, i%250), "/v1/sales/1/stamps", askOf(k, 1, 1, nonce), false)
		switch rec.Code {
		case http.StatusOK:
		case http.StatusConflict:
			wantRec(t, rec, http.StatusConflict, apijson.CodeSaleFull)
			full++
		default:
			t.Fatalf("flood %d: %d %s", i, rec.Code, rec.Body)
		}
		if sz, over := n.srv.stamps.limiter.size(); sz > maxAddrs || over > 0 {
			t.Fatalf("the limiter holds %d addresses (bound %d), %d drawn from the overflow: the sweep dropped no refilled bucket", sz, maxAddrs, over)
		}
	}
	if got := n.srv.stamps.remembered(1); got != perSale {
		t.Fatalf("remembered %d identities, bound %d", got, perSale)
	}
	if full != 60-(perSale-1) {
		t.Fatalf("%d refused as full, want %d", full, 60-(perSale-1))
	}
	if again := stampOf(t, n.ask("10.1.0.0:1", "/v1/sales/1/stamps", bob, false)); again != first {
		t.Fatal("the honest buyer's stamp changed")
	}
	// At one instant, more addresses than the table holds: the table stays
	// bounded, the others share one bucket.
	limited := 0
	for i := 0; i < 20; i++ {
		if rec := n.ask(fmt.Sprintf("10.3.0.%d:1", i), "/v1/sales/1/stamps", bob, false); rec.Code == http.StatusTooManyRequests {
			limited++
		}
	}
	if sz, over := n.srv.stamps.limiter.size(); sz > maxAddrs || limited == 0 || over == 0 {
		t.Fatalf("%d addresses in the table (bound %d), %d limited, %d from the overflow", sz, maxAddrs, limited, over)
	}
}

// TestSaleReads: the registry, a sale's record and a buyer's records are
// answered with proofs; a winner and a loser read as such.
func TestSaleReads(t *testing.T) {
	n := newSaleNet(t, Stamping{})
	sl := n.open()
	at := sl.Opens + 100
	var txs [][]byte
	for i, k := range []*crypto.PrivateKey{n.bob, n.carol} {
		q := sale.Request{Sale: 1, Buyer: k.Public(), Quantity: 2}
		for j := 0; j < 3; j++ {
			q.Stamps = append(q.Stamps, sale.SignStamp(n.nodes[j], saleChain, 1, q.Hash(saleChain), at+int64(i*10)))
		}
		sortStamps(q.Stamps)
		txs = append(txs, n.signed(k, 0, &tx.SaleRequest{Request: q}))
	}
	if res := n.block(at+50, txs...); res[0].Code != 0 || res[1].Code != 0 {
		t.Fatalf("requests: %+v", res)
	}
	n.block(sl.Due())
	get := func(path string, v interface{ Check() error }) {
		t.Helper()
		req := httptest.NewRequest(http.MethodGet, path, nil)
		rec := httptest.NewRecorder()
		n.srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
		}
		decodeJSON(t, rec.Result(), rec.Body.Bytes(), v)
		if err := v.Check(); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	var reg apijson.Sales
	get("/v1/sales?prove=1", &reg)
	if reg.Next != 2 || len(reg.Open) != 0 || reg.Proof == nil {
		t.Fatalf("registry: %+v", reg)
	}
	var s apijson.Sale
	get("/v1/sales/1?prove=1", &s)
	if s.Sale.State != "closed" || s.Sale.Sold != 2 || s.Proof == nil {
		t.Fatalf("sale: %+v", s.Sale)
	}
	var win, lose apijson.SaleBuyer
	get("/v1/sales/1/buyers/"+n.bob.Public().String()+"?prove=1", &win)
	get("/v1/sales/1/buyers/"+n.carol.Public().ID().String()+"?prove=1", &lose)
	if win.Outcome != apijson.OutcomeWon || win.Result.Granted != 2 || len(win.Proofs) != 3 {
		t.Fatalf("bob: %+v", win)
	}
	if lose.Outcome != apijson.OutcomeLost || lose.Request == nil || lose.Result != nil {
		t.Fatalf("carol: %+v", lose)
	}
	// The light client proves both outcomes, and refuses mixed answers.
	lc, err := light.New(mustJSON(t, n.gen))
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(n.srv)
	defer hs.Close()
	remote := &light.Remote{Base: hs.URL}
	bobID, _ := light.ParseAccountID(n.bob.Public().ID().String())
	carolID, _ := light.ParseAccountID(n.carol.Public().ID().String())
	wo, err := lc.ProveSaleOutcome(context.Background(), remote, 1, bobID, 0)
	if err != nil || !wo.Won || wo.Granted != 2 || !wo.Kept || wo.Fair != at {
		t.Fatalf("bob's outcome: %+v %v", wo, err)
	}
	lo, err := lc.ProveSaleOutcome(context.Background(), remote, 1, carolID, 0)
	if err != nil || lo.Won || !lo.Closed || !lo.Kept || lo.Fair != at+10 {
		t.Fatalf("carol's outcome: %+v %v", lo, err)
	}
	bs, bq, br, _ := remote.SaleBuyer(context.Background(), 1, bobID, 0)
	cs, cq, cr, _ := remote.SaleBuyer(context.Background(), 1, carolID, 0)
	for name, leaves := range map[string][3]*light.Leaf{
		"bob's result for carol": {cs, cq, br}, "bob's request for carol": {cs, bq, cr},
		"carol's result absent for bob": {bs, bq, cr},
	} {
		if _, err := lc.VerifySaleOutcome(1, carolID, leaves[0], leaves[1], leaves[2]); !errors.Is(err, light.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := lc.VerifySaleOutcome(1, bobID, bs, bq, cr); !errors.Is(err, light.ErrInvalid) {
		t.Errorf("carol's result proof for bob: %v", err)
	}
	for path, want := range map[string]int{
		"/v1/sales/9": http.StatusNotFound, "/v1/sales/x": http.StatusBadRequest,
		"/v1/sales/1/buyers/abc": http.StatusBadRequest, "/v1/sales/9/buyers/" + n.bob.Public().String(): http.StatusNotFound,
		"/v1/sales/1?height=99": http.StatusNotFound,
	} {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		rec := httptest.NewRecorder()
		n.srv.ServeHTTP(rec, req)
		if rec.Code != want || !strings.Contains(rec.Body.String(), `"error"`) {
			t.Errorf("%s: %d %s, want %d", path, rec.Code, rec.Body, want)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func sortStamps(s []sale.Stamp) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && bytes.Compare(s[j].Node[:], s[j-1].Node[:]) < 0; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// BenchmarkStampRoute measures the stamping route through ServeHTTP, one
// fresh member... non-member identity per request (decode, the sale and
// account reads, the buyer's signature, the proof of work, the Stamper's
// signature).
func BenchmarkStampRoute(b *testing.B) {
	t := &testing.T{}
	n := newSaleNet(t, Stamping{Rate: 1e9, Burst: 1 << 30, MaxPerSale: 1 << 30})
	sl := n.open()
	n.clock = sl.Opens
	asks := make([][]byte, b.N)
	for i := range asks {
		seed := make([]byte, crypto.SeedSize)
		copy(seed, fmt.Sprint(i))
		k, _ := crypto.KeyFromSeed(seed)
		nonce, _ := sale.SolvePoW(saleChain, 1, k.Public(), sl.Params.Difficulty, 0, 1<<20)
		asks[i] = askOf(k, 1, 1, nonce).Marshal()
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if rec := n.post("10.0.0.1:1", "/v1/sales/1/stamps", "application/octet-stream", asks[i]); rec.Code != http.StatusOK {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
}
