package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/mass-consensus/mass/internal/apijson"
	"github.com/mass-consensus/mass/internal/app/orgapp"
	"github.com/mass-consensus/mass/internal/app/sale"
	"github.com/mass-consensus/mass/internal/app/state"
	"github.com/mass-consensus/mass/internal/app/tx"
	"github.com/mass-consensus/mass/internal/chain"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/genesis"
	"github.com/mass-consensus/mass/internal/smt"
	"github.com/mass-consensus/mass/internal/store/mem"
	"github.com/mass-consensus/mass/light"
)

// TestSaleModules runs web/salerecords.js in headless Chromium against
// package sale and light/sale.go: every record kind Go encodes (the
// largest counts, u64 above 2^53, Chinese text, negative times) decodes
// in JS to Go's values, and each malformed encoding is refused by both;
// the ask and the sale_request built and signed in JS are Go's bytes,
// signatures and hashes (and Go's decoder takes them); sale_open too; the
// record keys and the tie-break are Go's; FairTime and Choose equal Go's
// on the same stamps (forged, duplicate, non-node and out-of-window
// stamps ignored alike); the proof of work finds Go's nonce; and the
// outcome check agrees with Go's VerifySaleOutcome on honest answers and
// refuses each tampered one Go refuses.
func TestSaleModules(t *testing.T) {
	b := newBrowser(t, serveApp(t))
	t.Run("records", func(t *testing.T) { testSaleRecords(t, b) })
	t.Run("requests", func(t *testing.T) { testSaleRequests(t, b) })
	t.Run("open", func(t *testing.T) { testSaleOpens(t, b) })
	t.Run("keys", func(t *testing.T) { testSaleKeys(t, b) })
	t.Run("fair time", func(t *testing.T) { testFairTime(t, b) })
	t.Run("choose", func(t *testing.T) { testChoose(t, b) })
	t.Run("proof of work", func(t *testing.T) { testPoW(t, b) })
	t.Run("outcome", func(t *testing.T) { testOutcomes(t, b) })
}

func s10[T ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~int64 | ~int](v T) string { return fmt.Sprint(v) }

func hexOf(b []byte) string { return hex.EncodeToString(b) }

// The JS harness's shapes of the decoded records (every number a decimal
// string, bytes hex).

func saleParams() sale.Params {
	return sale.Params{Item: "Row A · 前排", Supply: 100, PerRequest: 2, Start: 60_000, Window: 600_000, MaxAge: 30_000,
		Difficulty: 12, Price: 1<<60 + 3, MaxRequests: 1000}
}

func saleValue(s *sale.Sale) map[string]any {
	p := s.Params
	var nodes []any
	for _, k := range s.Nodes {
		nodes = append(nodes, hexOf(k[:]))
	}
	return map[string]any{"id": s10(s.ID), "opener": hexOf(s.Opener[:]), "proposal": s10(s.Proposal), "item": p.Item,
		"supply": s10(p.Supply), "perRequest": s10(p.PerRequest), "start": s10(p.Start), "window": s10(p.Window),
		"maxAge": s10(p.MaxAge), "difficulty": s10(p.Difficulty), "price": s10(p.Price), "maxRequests": s10(p.MaxRequests),
		"opens": s10(s.Opens), "closes": s10(s.Closes), "nodes": nodes, "state": s10(uint8(s.State)), "kept": s10(s.Kept),
		"accepted": s10(s.Accepted), "evicted": s10(s.Evicted), "seed": hexOf(s.Seed[:]), "sold": s10(s.Sold),
		"winners": s10(s.Winners), "unpaid": s10(s.Unpaid), "cutFair": s10(s.Cut.Fair), "cutTie": hexOf(s.Cut.Tie[:])}
}

func stampsValue(stamps []sale.Stamp) []any {
	out := []any{}
	for _, s := range stamps {
		out = append(out, map[string]any{"node": hexOf(s.Node[:]), "time": s10(s.Time), "sig": hexOf(s.Sig[:])})
	}
	return out
}

func keptValue(k *sale.Kept) map[string]any {
	q := k.Request
	return map[string]any{"sale": s10(q.Sale), "buyer": hexOf(q.Buyer[:]), "quantity": s10(q.Quantity), "nonce": s10(q.Nonce),
		"stamps": stampsValue(q.Stamps), "member": fmt.Sprint(k.Member), "fair": s10(k.Fair)}
}

func randomKey(i int) crypto.PublicKey {
	return crypto.PublicKey(sha256.Sum256([]byte(fmt.Sprint("key", i))))
}

func sortedKeys(n int) []crypto.PublicKey {
	var ks []crypto.PublicKey
	for i := range n {
		ks = append(ks, randomKey(i))
	}
	slices.SortFunc(ks, func(a, b crypto.PublicKey) int { return bytes.Compare(a[:], b[:]) })
	return ks
}

func fakeStamps(n int) []sale.Stamp {
	var out []sale.Stamp
	for i := range n {
		var sig crypto.Signature
		copy(sig[:], bytes.Repeat([]byte{byte(i)}, 64))
		out = append(out, sale.Stamp{Node: randomKey(1000 + i), Time: 1_750_000_000_000 + int64(i), Sig: sig})
	}
	return out
}

type saleRecordCase struct {
	name, kind string
	raw        []byte
	want       any // nil: both must refuse
}

func testSaleRecords(t *testing.T, b *browser) {
	var seed, tie [32]byte
	copy(seed[:], bytes.Repeat([]byte{0xab}, 32))
	copy(tie[:], bytes.Repeat([]byte{0xcd}, 32))
	good := &sale.Sale{ID: 1<<53 + 1, Opener: seeded(t, "alice").Public().ID(), Proposal: 1<<64 - 1, Params: saleParams(),
		Opens: 1_750_000_060_000, Closes: 1_750_000_660_000, Nodes: sortedKeys(4), State: sale.StateClosed, Kept: 1000,
		Accepted: 1<<63 + 9, Evicted: 1<<53 + 3, Seed: seed, Sold: 100, Winners: 51, Unpaid: 2, Cut: sale.OrderKey{Fair: 1_750_000_100_000, Tie: tie}}
	big := *good
	big.Nodes, big.State, big.Opens, big.Closes = sortedKeys(256), sale.StateOpen, -5, math.MaxInt64
	big.Params.Item = strings.Repeat("票", 21) // 63 bytes
	big.Params.Start, big.Params.Window, big.Params.MaxAge = sale.MaxWindow, sale.MaxWindow, sale.MaxMaxAge
	big.Params.Supply, big.Params.PerRequest, big.Params.MaxRequests, big.Params.Difficulty = sale.MaxSupply, sale.MaxSupply, sale.MaxKept, sale.MaxDifficulty
	big.Sold, big.Kept = sale.MaxSupply, sale.MaxKept
	buyer := seeded(t, "bob").Public()
	kept := &sale.Kept{Request: sale.Request{Sale: 1<<60 + 1, Buyer: buyer, Quantity: 1<<32 - 1, Nonce: 1<<64 - 1, Stamps: fakeStamps(3)},
		Member: true, Fair: 1_750_000_000_001}
	keptMax := &sale.Kept{Request: sale.Request{Sale: 7, Buyer: buyer, Quantity: 1, Stamps: fakeStamps(sale.MaxStamps)}, Fair: -1}
	reg := &sale.Registry{NextID: 1<<53 + 5}
	for i := range sale.MaxOpen {
		reg.Open = append(reg.Open, sale.Due{ID: uint64(i) + 1<<53, Due: math.MinInt64 + int64(i)})
	}
	res := &sale.Result{Rank: 1<<32 - 1, Granted: 2, Paid: 1<<64 - 1, Key: sale.OrderKey{Fair: -7, Tie: tie}}
	slot := &sale.Slot{Fair: 1<<62 + 1, Identity: buyer.ID(), Quantity: 9}
	ask := sale.SignAsk(seeded(t, "bob"), "c", &sale.Request{Sale: 1<<63 + 1, Buyer: buyer, Quantity: 3, Nonce: 1<<53 + 7})

	regValue := func(g *sale.Registry) map[string]any {
		open := []any{}
		for _, d := range g.Open {
			open = append(open, map[string]any{"id": s10(d.ID), "due": s10(d.Due)})
		}
		return map[string]any{"next": s10(g.NextID), "open": open}
	}
	cases := []saleRecordCase{
		{"a closed sale, u64 above 2^53", "sale", good.Marshal(), saleValue(good)},
		{"an open sale of 256 nodes, the largest parameters", "sale", big.Marshal(), saleValue(&big)},
		{"a kept request", "request", kept.Marshal(), keptValue(kept)},
		{"a kept request of MaxStamps stamps", "request", keptMax.Marshal(), keptValue(keptMax)},
		{"a registry of MaxOpen sales", "registry", reg.Marshal(), regValue(reg)},
		{"an empty registry", "registry", (&sale.Registry{NextID: 1}).Marshal(), regValue(&sale.Registry{NextID: 1})},
		{"a result", "result", res.Marshal(), map[string]any{"rank": s10(res.Rank), "granted": "2", "paid": s10(res.Paid), "fair": "-7", "tie": hexOf(tie[:])}},
		{"a slot", "slot", slot.Marshal(), map[string]any{"fair": s10(slot.Fair), "identity": hexOf(slot.Identity[:]), "quantity": "9"}},
		{"an ask", "ask", ask.Marshal(), map[string]any{"sale": s10(ask.Sale), "buyer": hexOf(buyer[:]), "quantity": "3", "nonce": s10(ask.Nonce), "stamps": []any{}}},
	}
	// Malformed: each refused by Go's decoder, and so by JS.
	mutSale := func(name string, f func(s *sale.Sale)) saleRecordCase {
		s := *good
		s.Nodes = slices.Clone(good.Nodes)
		f(&s)
		return saleRecordCase{name: name, kind: "sale", raw: s.Marshal()}
	}
	raw := func(name, kind string, b []byte) saleRecordCase {
		return saleRecordCase{name: name, kind: kind, raw: b}
	}
	cut := func(b []byte, n int) []byte { return slices.Clone(b[:len(b)-n]) }
	plus := func(b []byte, x ...byte) []byte { return append(slices.Clone(b), x...) }
	kind := func(b []byte, k byte) []byte { c := slices.Clone(b); c[0] = k; return c }
	cases = append(cases,
		mutSale("state 3", func(s *sale.Sale) { s.State = 3 }),
		mutSale("state 0", func(s *sale.Sale) { s.State = 0 }),
		mutSale("closes = opens", func(s *sale.Sale) { s.Closes = s.Opens }),
		mutSale("kept over max requests", func(s *sale.Sale) { s.Kept = s.Params.MaxRequests + 1 }),
		mutSale("sold over the supply", func(s *sale.Sale) { s.Sold = s.Params.Supply + 1 }),
		mutSale("nodes out of order", func(s *sale.Sale) { s.Nodes[1], s.Nodes[2] = s.Nodes[2], s.Nodes[1] }),
		mutSale("a node twice", func(s *sale.Sale) { s.Nodes[2] = s.Nodes[1] }),
		mutSale("no nodes", func(s *sale.Sale) { s.Nodes = nil }),
		mutSale("257 nodes", func(s *sale.Sale) { s.Nodes = sortedKeys(257) }),
		mutSale("an empty item", func(s *sale.Sale) { s.Params.Item = "" }),
		mutSale("an item of 65 bytes", func(s *sale.Sale) { s.Params.Item = strings.Repeat("x", 65) }),
		mutSale("an item of invalid UTF-8", func(s *sale.Sale) { s.Params.Item = "row \xff" }),
		mutSale("an item with a control character", func(s *sale.Sale) { s.Params.Item = "row\u0085A" }),
		mutSale("an item with a newline", func(s *sale.Sale) { s.Params.Item = "row\nA" }),
		mutSale("a supply of 0", func(s *sale.Sale) { s.Params.Supply = 0; s.Sold = 0 }),
		mutSale("a supply over MaxSupply", func(s *sale.Sale) { s.Params.Supply = sale.MaxSupply + 1 }),
		mutSale("per request over the supply", func(s *sale.Sale) { s.Params.PerRequest = s.Params.Supply + 1 }),
		mutSale("per request 0", func(s *sale.Sale) { s.Params.PerRequest = 0 }),
		mutSale("a start over MaxWindow", func(s *sale.Sale) { s.Params.Start = sale.MaxWindow + 1 }),
		mutSale("a window of 0", func(s *sale.Sale) { s.Params.Window = 0 }),
		mutSale("a window of 2^64-1", func(s *sale.Sale) { s.Params.Window = math.MaxUint64 }),
		mutSale("a max age of 999", func(s *sale.Sale) { s.Params.MaxAge = 999 }),
		mutSale("a max age over an hour", func(s *sale.Sale) { s.Params.MaxAge = sale.MaxMaxAge + 1 }),
		mutSale("a difficulty of 41", func(s *sale.Sale) { s.Params.Difficulty = 41 }),
		mutSale("max requests below the supply", func(s *sale.Sale) { s.Params.MaxRequests = s.Params.Supply - 1; s.Kept = 0 }),
		mutSale("max requests over MaxKept", func(s *sale.Sale) { s.Params.MaxRequests = sale.MaxKept + 1 }),
		raw("a sale, truncated", "sale", cut(good.Marshal(), 1)),
		raw("a sale, a trailing byte", "sale", plus(good.Marshal(), 0)),
		raw("a sale of another kind", "sale", kind(good.Marshal(), sale.KindResult)),
		raw("a request, member 2", "request", func() []byte { b := kept.Marshal(); b[len(b)-9] = 2; return b }()),
		raw("a request, quantity 0", "request", (&sale.Kept{Request: sale.Request{Buyer: buyer, Stamps: fakeStamps(1)}}).Marshal()),
		raw("a request without stamps", "request", (&sale.Kept{Request: sale.Request{Buyer: buyer, Quantity: 1}}).Marshal()),
		raw("a request of MaxStamps+1 stamps", "request", (&sale.Kept{Request: sale.Request{Buyer: buyer, Quantity: 1, Stamps: fakeStamps(sale.MaxStamps + 1)}}).Marshal()),
		raw("a request, truncated", "request", cut(kept.Marshal(), 1)),
		raw("a request, a trailing byte", "request", plus(kept.Marshal(), 1)),
		raw("a request of another kind", "request", kind(kept.Marshal(), sale.KindSale)),
		raw("a registry of 17 sales", "registry", func() []byte {
			g := &sale.Registry{NextID: 1, Open: append(slices.Clone(reg.Open), sale.Due{ID: 1})}
			return g.Marshal()
		}()),
		raw("a registry, truncated", "registry", cut(reg.Marshal(), 1)),
		raw("a registry, a trailing byte", "registry", plus(reg.Marshal(), 0)),
		raw("a result of rank 0", "result", (&sale.Result{Granted: 1}).Marshal()),
		raw("a result, truncated", "result", cut(res.Marshal(), 1)),
		raw("a result, a trailing byte", "result", plus(res.Marshal(), 0)),
		raw("a result of another kind", "result", kind(res.Marshal(), sale.KindSlot)),
		raw("a slot of quantity 0", "slot", (&sale.Slot{Fair: 1}).Marshal()),
		raw("a slot, a trailing byte", "slot", plus(slot.Marshal(), 0)),
		raw("an ask of quantity 0", "ask", (&sale.Ask{Sale: 1, Buyer: buyer}).Marshal()),
		raw("an ask, truncated", "ask", cut(ask.Marshal(), 1)),
		raw("an ask, a trailing byte", "ask", plus(ask.Marshal(), 0)),
	)
	var in []map[string]string
	for _, c := range cases {
		in = append(in, map[string]string{"kind": c.kind, "hex": hexOf(c.raw)})
	}
	var out []struct {
		Value any
		Again string
		Error string
		Check string
	}
	b.callModule(t, "/test/sale.js", "decodeRecords", in, &out)
	if len(out) != len(cases) {
		t.Fatalf("%d answers for %d cases", len(out), len(cases))
	}
	refused := 0
	for i, c := range cases {
		goErr := goDecode(c.kind, c.raw)
		js := out[i]
		if c.want == nil {
			if goErr == nil {
				t.Errorf("%s: Go accepts it: the case is wrong", c.name)
			}
			if js.Error == "" {
				t.Errorf("%s: JS accepts what Go refuses (%v): %v", c.name, goErr, js.Value)
			}
			refused++
			continue
		}
		if goErr != nil || js.Error != "" {
			t.Errorf("%s: Go %v, JS %s", c.name, goErr, js.Error)
			continue
		}
		want := roundTrip(t, c.want)
		if !reflect.DeepEqual(js.Value, want) {
			t.Errorf("%s:\nJS %v\nGo %v", c.name, js.Value, want)
		}
		if c.kind == "request" {
			var w bytes.Buffer
			w.Write(c.raw[1 : len(c.raw)-9]) // the request's own encoding
			if js.Again != hexOf(w.Bytes()) {
				t.Errorf("%s: JS encodes the request again as %s…, Go's is %s…", c.name, short(js.Again), short(hexOf(w.Bytes())))
			}
		}
	}
	t.Logf("%d encodings decoded alike, %d malformed refused by both", len(cases)-refused, refused)
}

func short(s string) string {
	if len(s) > 40 {
		return s[:40]
	}
	return s
}

// roundTrip is v as the JSON decoder gives it back.
func roundTrip(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func goDecode(kind string, b []byte) error {
	var err error
	switch kind {
	case "sale":
		_, err = sale.UnmarshalSale(b)
	case "request":
		_, err = sale.UnmarshalKept(b)
	case "registry":
		_, err = sale.UnmarshalRegistry(b)
	case "result":
		_, err = sale.UnmarshalResult(b)
	case "slot":
		_, err = sale.UnmarshalSlot(b)
	case "ask":
		_, err = sale.UnmarshalAsk(b)
	default:
		err = fmt.Errorf("unknown kind %s", kind)
	}
	return err
}

func testSaleRequests(t *testing.T, b *browser) {
	buyer := seeded(t, "carol")
	type reqCase struct {
		chainID         string
		sale            uint64
		quantity        uint32
		nonce           uint64
		stamps          []sale.Stamp
		cases           []map[string]any
		name            string
		wantJSRefusesIt bool
	}
	cases := []reqCase{
		{name: "plain", chainID: "web-sale", sale: 1, quantity: 1, stamps: fakeStamps(3)},
		{name: "u64 above 2^53, the largest quantity", chainID: "web-sale", sale: 1<<63 + 11, quantity: 1<<32 - 1, nonce: 1<<53 + 1, stamps: fakeStamps(7)},
		{name: "MaxStamps stamps, a chain ID of 64 bytes", chainID: strings.Repeat("链", 21) + "z", sale: 9, quantity: 2, nonce: 1<<64 - 1, stamps: fakeStamps(sale.MaxStamps)},
		{name: "no stamps (JS refuses to build it)", chainID: "web-sale", sale: 1, quantity: 1, wantJSRefusesIt: true},
		{name: "quantity 0 (JS refuses to build it)", chainID: "web-sale", sale: 1, quantity: 0, stamps: fakeStamps(1), wantJSRefusesIt: true},
	}
	for _, c := range cases {
		var out []struct{ Ask, Hash, Tx, TxHash, Error string }
		in := []map[string]any{{"sale": s10(c.sale), "quantity": c.quantity, "nonce": s10(c.nonce), "stamps": stampsValue(c.stamps)}}
		b.callModule(t, "/test/sale.js", "buildRequests", map[string]any{"chainID": c.chainID, "seed": hexOf(buyer.Seed()), "cases": in}, &out)
		if len(out) != 1 {
			t.Fatalf("%s: %d answers", c.name, len(out))
		}
		js := out[0]
		if c.wantJSRefusesIt {
			if js.Error == "" {
				t.Errorf("%s: JS builds it", c.name)
			}
			continue
		}
		if js.Error != "" {
			t.Errorf("%s: JS refuses: %s", c.name, js.Error)
			continue
		}
		q := sale.Request{Sale: c.sale, Buyer: buyer.Public(), Quantity: c.quantity, Nonce: c.nonce, Stamps: c.stamps}
		ask := sale.SignAsk(buyer, c.chainID, &q)
		h := q.Hash(c.chainID)
		if js.Ask != hexOf(ask.Marshal()) || js.Hash != hexOf(h[:]) {
			t.Errorf("%s: the ask:\nJS %s %s\nGo %s %s", c.name, js.Ask, js.Hash, hexOf(ask.Marshal()), hexOf(h[:]))
		}
		raw, _ := hex.DecodeString(js.Ask)
		if a, err := sale.UnmarshalAsk(raw); err != nil || a.Verify(c.chainID) != nil {
			t.Errorf("%s: Go refuses the JS ask: %v", c.name, err)
		}
		g := tx.New(buyer.Public(), 0, &tx.SaleRequest{Request: q})
		if err := g.Sign(c.chainID, buyer); err != nil {
			t.Fatal(err)
		}
		gh := g.Hash()
		if js.Tx != hexOf(g.Marshal()) || js.TxHash != hexOf(gh[:]) {
			t.Errorf("%s: the transaction:\nJS %s…\nGo %s…", c.name, short(js.Tx), short(hexOf(g.Marshal())))
		}
		raw, _ = hex.DecodeString(js.Tx)
		if got, err := tx.Unmarshal(raw); err != nil || got.Verify(c.chainID) != nil {
			t.Errorf("%s: Go refuses the JS transaction: %v", c.name, err)
		}
	}
}

func testSaleOpens(t *testing.T, b *browser) {
	alice := seeded(t, "alice")
	p := saleParams()
	params := map[string]any{"item": p.Item, "supply": s10(p.Supply), "perRequest": s10(p.PerRequest), "start": s10(p.Start),
		"window": s10(p.Window), "maxAge": s10(p.MaxAge), "difficulty": s10(p.Difficulty), "price": s10(p.Price), "maxRequests": s10(p.MaxRequests)}
	bad := map[string]any{}
	for k, v := range params {
		bad[k] = v
	}
	bad["maxAge"] = "999"
	var out []struct{ Tx, Error string }
	b.callModule(t, "/test/sale.js", "buildOpens", map[string]any{"chainID": "web-sale", "seed": hexOf(alice.Seed()),
		"cases": []any{map[string]any{"nonce": s10(uint64(1<<53 + 3)), "params": params}, map[string]any{"nonce": "0", "params": bad}}}, &out)
	g := tx.New(alice.Public(), 1<<53+3, &tx.SaleOpen{Params: p})
	if err := g.Sign("web-sale", alice); err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || out[0].Tx != hexOf(g.Marshal()) {
		t.Fatalf("sale_open: JS %+v\nGo %s", out, hexOf(g.Marshal()))
	}
	if out[1].Error == "" {
		t.Error("JS builds a sale_open with a max age of 999 ms")
	}
}

func testSaleKeys(t *testing.T, b *browser) {
	id := seeded(t, "bob").Public().ID()
	var out map[string]string
	b.callModule(t, "/test/sale.js", "keys", map[string]any{"id": s10(uint64(1<<60 + 5)), "identity": hexOf(id[:])}, &out)
	var seed [32]byte
	for i := range seed {
		seed[i] = 7
	}
	tie := sale.Tie(seed, id)
	sk, rk := sale.SaleKey(1<<60+5), sale.RequestKey(1<<60+5, id)
	want := map[string]string{"registry": hexOf(sale.RegistryKey[:]), "sale": hexOf(sk[:]), "request": hexOf(rk[:]),
		"result": func() string { k := sale.ResultKey(1<<60+5, id); return hexOf(k[:]) }(), "tie": hexOf(tie[:])}
	if !reflect.DeepEqual(out, want) {
		t.Errorf("keys:\nJS %v\nGo %v", out, want)
	}
}

func testFairTime(t *testing.T, b *browser) {
	lists := [][]int64{{5}, {3, 1, 2}, {1<<62 + 1, -1 << 62, 1<<62 + 3, 7, 1<<53 + 1}, {9, 9, 1, 1, 9, 1, 5}, {-3, -1, -2}}
	var in [][]string
	for _, l := range lists {
		var s []string
		for _, v := range l {
			s = append(s, s10(v))
		}
		in = append(in, s)
	}
	var out []string
	b.callModule(t, "/test/sale.js", "fairTimes", in, &out)
	for i, l := range lists {
		if want := s10(sale.FairTime(l)); i >= len(out) || out[i] != want {
			t.Errorf("FairTime(%v): JS %v, Go %s", l, out, want)
		}
	}
	// The planted bug the rule is there against: the minimum is not the median.
	if out[1] == "1" {
		t.Error("JS's fair time is the minimum")
	}
}

// chooseCase is a sale of n real node keys, the buyer's request hash and
// the stamps it gathered.
type chooseCase struct {
	name   string
	sale   *sale.Sale
	hash   [32]byte
	stamps []sale.Stamp
}

func testChoose(t *testing.T, b *browser) {
	const chainID = "web-sale"
	mk := func(n int) (*sale.Sale, []*crypto.PrivateKey) {
		var keys []*crypto.PrivateKey
		for i := range n {
			keys = append(keys, seeded(t, fmt.Sprint("stamp-node", i)))
		}
		slices.SortFunc(keys, func(a, b *crypto.PrivateKey) int {
			pa, pb := a.Public(), b.Public()
			return bytes.Compare(pa[:], pb[:])
		})
		s := &sale.Sale{ID: 1<<53 + 2, Params: saleParams(), Opens: 1000, Closes: 2000, State: sale.StateOpen}
		for _, k := range keys {
			s.Nodes = append(s.Nodes, k.Public())
		}
		return s, keys
	}
	q := sale.Request{Sale: 1<<53 + 2, Buyer: seeded(t, "bob").Public(), Quantity: 1}
	h := q.Hash(chainID)
	s4, k4 := mk(4)
	s7, k7 := mk(7)
	st := func(k *crypto.PrivateKey, tm int64) sale.Stamp { return sale.SignStamp(k, chainID, q.Sale, h, tm) }
	forged := st(k4[0], 1001)
	forged.Sig[5] ^= 1
	other := seeded(t, "not-a-node")
	var otherHash [32]byte
	otherHash[0] = 1
	cases := []chooseCase{
		{"honest, 4 nodes", s4, h, []sale.Stamp{st(k4[3], 1500), st(k4[1], 1200), st(k4[0], 1300), st(k4[2], 1100)}},
		{"a forged early stamp, a non-node's, out of the window, another request's", s4, h, []sale.Stamp{
			forged, sale.SignStamp(other, chainID, q.Sale, h, 1000), st(k4[1], 999), st(k4[2], 2000),
			sale.SignStamp(k4[3], chainID, q.Sale, otherHash, 1001), st(k4[0], 1400), st(k4[1], 1401), st(k4[2], 1402), st(k4[3], 1403)}},
		{"a node's second stamp (earlier) is ignored", s4, h, []sale.Stamp{st(k4[0], 1900), st(k4[1], 1500), st(k4[2], 1600), st(k4[0], 1001), st(k4[3], 1700)}},
		{"a forged stamp of a node, then its valid one", s4, h, []sale.Stamp{forged, st(k4[0], 1950), st(k4[1], 1500), st(k4[2], 1600)}},
		{"equal times: by node key", s7, h, []sale.Stamp{st(k7[6], 1500), st(k7[5], 1500), st(k7[4], 1500), st(k7[3], 1500), st(k7[2], 1500), st(k7[1], 1500), st(k7[0], 1500)}},
		{"7 nodes, 5 of 7 earliest", s7, h, []sale.Stamp{st(k7[0], 1700), st(k7[1], 1100), st(k7[2], 1600), st(k7[3], 1200), st(k7[4], 1300), st(k7[5], 1400), st(k7[6], 1500)}},
		{"too few valid stamps", s4, h, []sale.Stamp{st(k4[0], 1500), forged, st(k4[1], 2500), st(k4[1], 1600)}},
	}
	var in []map[string]any
	for _, c := range cases {
		in = append(in, map[string]any{"sale": hexOf(c.sale.Marshal()), "chainID": chainID, "hash": hexOf(c.hash[:]), "stamps": stampsValue(c.stamps)})
	}
	var out []struct {
		Stamps []any
		Error  string
	}
	b.callModule(t, "/test/sale.js", "chooseStamps", in, &out)
	for i, c := range cases {
		want, err := sale.Choose(c.sale, chainID, c.hash, c.stamps)
		js := out[i]
		if err != nil {
			if js.Error == "" {
				t.Errorf("%s: Go refuses (%v), JS chooses %v", c.name, err, js.Stamps)
			}
			continue
		}
		if js.Error != "" || !reflect.DeepEqual(js.Stamps, roundTrip(t, stampsValue(want))) {
			t.Errorf("%s:\nJS %v %s\nGo %v", c.name, js.Stamps, js.Error, stampsValue(want))
		}
	}
}

func testPoW(t *testing.T, b *browser) {
	key := seeded(t, "dora").Public()
	type powCase struct {
		chainID              string
		sale                 uint64
		difficulty           uint8
		start, limit         uint64
		cancel               bool
		wantErr, wantCancels bool
	}
	cases := []powCase{
		{chainID: "web-sale", sale: 1, difficulty: 8, limit: 1 << 16},
		{chainID: "web-sale", sale: 1<<60 + 1, difficulty: 10, start: 1<<53 + 3, limit: 1 << 16},
		{chainID: "web-sale", sale: 2, difficulty: 0, start: 5, limit: 1},
		{chainID: "web-sale", sale: 3, difficulty: 30, limit: 100, wantErr: true},
		{chainID: "web-sale", sale: 3, difficulty: 8, limit: 1 << 16, cancel: true, wantErr: true, wantCancels: true},
	}
	var in []map[string]any
	for _, c := range cases {
		in = append(in, map[string]any{"chainID": c.chainID, "sale": s10(c.sale), "key": hexOf(key[:]), "difficulty": c.difficulty,
			"start": s10(c.start), "limit": s10(c.limit), "cancel": c.cancel})
	}
	var out []struct {
		Nonce, Zeros, Calls, Error string
		Cancelled                  string
	}
	b.callModule(t, "/test/sale.js", "solve", in, &out)
	for i, c := range cases {
		js := out[i]
		if c.cancel {
			if js.Error == "" || js.Cancelled != "true" {
				t.Errorf("cancelled: %+v", js)
			}
			continue
		}
		nonce, err := sale.SolvePoW(c.chainID, c.sale, key, c.difficulty, c.start, c.limit)
		if c.wantErr {
			if err == nil || js.Error == "" {
				t.Errorf("%+v: Go %v, JS %+v", c, err, js)
			}
			continue
		}
		if err != nil || js.Nonce != s10(nonce) {
			t.Errorf("%+v: Go %d %v, JS %+v", c, nonce, err, js)
			continue
		}
		zeros := sale.LeadingZeros(sale.PoWHash(c.chainID, c.sale, key, nonce))
		if js.Zeros != s10(zeros) || !sale.CheckPoW(c.chainID, c.sale, key, nonce, c.difficulty) {
			t.Errorf("%+v: zeros JS %s Go %d", c, js.Zeros, zeros)
		}
		if c.limit > 64 && js.Calls == "0" && nonce-c.start >= 64 {
			t.Errorf("%+v: no progress reported", c)
		}
	}
}

// outcomeCase is one buyer's three records in a state, proven at the
// header of its own height, and how the proofs are tampered with.
type outcomeCase struct {
	name    string
	id      uint64
	buyer   crypto.ID
	records map[state.Key][]byte
	tamper  func(ps []apijson.Leaf) // of the three proofs, after proving
	refused bool                    // by Go's VerifySaleOutcome (and so by JS)
}

func testOutcomes(t *testing.T, b *browser) {
	const chainID = "web-sale-outcome"
	var nodes []*crypto.PrivateKey
	var set chain.NodeSet
	for i := range 4 {
		k := seeded(t, fmt.Sprint("outcome-node", i))
		nodes = append(nodes, k)
		set.Keys = append(set.Keys, k.Public())
	}
	gen := &genesis.Genesis{ChainID: chainID, Time: genesisTime, App: json.RawMessage(`{"organization":"Web","policy":"supervisor","accounts":[]}`)}
	for i, k := range nodes {
		gen.Nodes = append(gen.Nodes, genesis.Node{Key: k.Public().String(), Addrs: []string{fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", 9100+i)}})
	}
	genText := mustJSON(t, gen)

	// The stamps of the buyers' requests, by real keys of a sale's set.
	buyer, rival := seeded(t, "outcome-buyer"), seeded(t, "outcome-rival")
	bid, rid := buyer.Public().ID(), rival.Public().ID()
	const id = 1<<53 + 9
	var seed [32]byte
	seed[3] = 9
	sl := &sale.Sale{ID: id, Params: saleParams(), Opens: 1000, Closes: 5000, State: sale.StateOpen, Kept: 2, Accepted: 2}
	for _, k := range nodes {
		sl.Nodes = append(sl.Nodes, k.Public())
	}
	slices.SortFunc(sl.Nodes, func(a, b crypto.PublicKey) int { return bytes.Compare(a[:], b[:]) })
	keptOf := func(k *crypto.PrivateKey, times []int64) *sale.Kept {
		q := sale.Request{Sale: id, Buyer: k.Public(), Quantity: 2}
		h := q.Hash(chainID)
		byKey := map[crypto.PublicKey]*crypto.PrivateKey{}
		for _, n := range nodes {
			byKey[n.Public()] = n
		}
		for i, pk := range sl.Nodes[:3] {
			q.Stamps = append(q.Stamps, sale.SignStamp(byKey[pk], chainID, id, h, times[i]))
		}
		return &sale.Kept{Request: q, Member: true, Fair: sale.FairTime(times)}
	}
	mine := keptOf(buyer, []int64{2000, 2100, 2050})
	theirs := keptOf(rival, []int64{1500, 1600, 1550})
	myKey := sale.OrderKey{Fair: mine.Fair, Tie: sale.Tie(seed, bid)}
	theirKey := sale.OrderKey{Fair: theirs.Fair, Tie: sale.Tie(seed, rid)}
	closed := func(mod func(s *sale.Sale)) []byte {
		s := *sl
		s.State, s.Seed, s.Sold, s.Winners = sale.StateClosed, seed, s.Params.Supply, 1
		s.Cut = myKey
		if mod != nil {
			mod(&s)
		}
		return s.Marshal()
	}
	sk, qk, rk := sale.SaleKey(id), sale.RequestKey(id, bid), sale.ResultKey(id, bid)
	won := (&sale.Result{Rank: 2, Granted: 2, Paid: 6, Key: myKey}).Marshal()
	recs := func(kv ...any) map[state.Key][]byte {
		m := map[state.Key][]byte{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(state.Key)] = kv[i+1].([]byte)
		}
		// Another buyer's records beside, so that the proofs have siblings.
		m[sale.RequestKey(id, rid)] = theirs.Marshal()
		return m
	}
	cutEarly := func(s *sale.Sale) { s.Cut = theirKey }
	cases := []outcomeCase{
		{name: "open, my request kept", id: id, buyer: bid, records: recs(sk, sl.Marshal(), qk, mine.Marshal())},
		{name: "open, no request", id: id, buyer: bid, records: recs(sk, sl.Marshal())},
		{name: "won", id: id, buyer: bid, records: recs(sk, closed(nil), qk, mine.Marshal(), rk, won)},
		{name: "unpaid", id: id, buyer: bid, records: recs(sk, closed(nil), qk, mine.Marshal(), rk, (&sale.Result{Rank: 2, Key: myKey}).Marshal())},
		{name: "lost, kept, after the cut-off of a sold-out sale", id: id, buyer: bid, records: recs(sk, closed(cutEarly), qk, mine.Marshal())},
		{name: "lost, not kept", id: id, buyer: bid, records: recs(sk, closed(nil))},
		{name: "won without a kept request (evicted after?)", id: id, buyer: bid, records: recs(sk, closed(nil), rk, won)},
		// Lies, each refused by Go.
		{name: "a result of another's tie", id: id, buyer: bid, refused: true,
			records: recs(sk, closed(nil), qk, mine.Marshal(), rk, (&sale.Result{Rank: 1, Granted: 2, Key: sale.OrderKey{Fair: mine.Fair, Tie: theirKey.Tie}}).Marshal())},
		{name: "a win after the cut-off", id: id, buyer: bid, refused: true, records: recs(sk, closed(cutEarly), qk, mine.Marshal(), rk, won)},
		{name: "a result of another fair time", id: id, buyer: bid, refused: true,
			records: recs(sk, closed(nil), qk, mine.Marshal(), rk, (&sale.Result{Rank: 1, Granted: 1, Key: sale.OrderKey{Fair: mine.Fair - 1, Tie: myKey.Tie}}).Marshal())},
		{name: "a result while open", id: id, buyer: bid, refused: true, records: recs(sk, sl.Marshal(), qk, mine.Marshal(), rk, won)},
		{name: "kept, no result, not sold out", id: id, buyer: bid, refused: true,
			records: recs(sk, closed(func(s *sale.Sale) { s.Cut, s.Sold = theirKey, 1 }), qk, mine.Marshal())},
		{name: "kept, no result, before the cut-off", id: id, buyer: bid, refused: true, records: recs(sk, closed(nil), qk, mine.Marshal())},
		{name: "a kept request whose fair time is not the median", id: id, buyer: bid, refused: true,
			records: recs(sk, sl.Marshal(), qk, (&sale.Kept{Request: mine.Request, Member: true, Fair: 2000}).Marshal())},
		{name: "another buyer's request at my key", id: id, buyer: bid, refused: true, records: recs(sk, sl.Marshal(), qk, theirs.Marshal())},
		{name: "no sale", id: id, buyer: bid, refused: true, records: recs(qk, mine.Marshal())},
		{name: "another sale's record", id: id, buyer: bid, refused: true, records: recs(sk, func() []byte { s := *sl; s.ID = 4; return s.Marshal() }())},
		{name: "a malformed result", id: id, buyer: bid, refused: true, records: recs(sk, closed(nil), qk, mine.Marshal(), rk, append(won, 0))},
		{name: "a proof's sibling flipped", id: id, buyer: bid, refused: true, records: recs(sk, closed(nil), qk, mine.Marshal(), rk, won),
			tamper: func(ps []apijson.Leaf) { ps[2].Proof = flipSibling(t, ps[2].Proof) }},
		{name: "the result proven absent by the request's proof", id: id, buyer: bid, refused: true, records: recs(sk, closed(nil), qk, mine.Marshal(), rk, won),
			tamper: func(ps []apijson.Leaf) { ps[2] = ps[1] }},
		{name: "the result hidden (found false)", id: id, buyer: bid, refused: true, records: recs(sk, closed(cutEarly), qk, mine.Marshal(), rk, won),
			tamper: func(ps []apijson.Leaf) { ps[2].Found, ps[2].Value, ps[2].Sum = false, "", 0 }},
		{name: "proofs of different heights", id: id, buyer: bid, refused: true, records: recs(sk, closed(nil), qk, mine.Marshal(), rk, won),
			tamper: func(ps []apijson.Leaf) { ps[1].Height++ }},
	}
	// One header per case, each with its state's root, certified.
	var headers []chain.Header
	certs := map[uint64]*chain.Certificate{}
	var proofs [][]apijson.Leaf
	for i, c := range cases {
		tree, err := smt.Open(mem.New(), smt.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var ups []smt.Update
		for k, v := range c.records {
			ups = append(ups, smt.Update{Key: smt.Key(k), Value: v})
		}
		root, _, err := tree.Commit(1, ups, nil)
		if err != nil {
			t.Fatal(err)
		}
		h := chain.Header{ChainID: chainID, Height: uint64(i + 1), Time: blockTime(uint64(i + 1)), BatchHash: chain.BatchHash(nil),
			StateRoot: chain.Hash(root), NextNodes: set.Hash()}
		if i > 0 {
			h.Prev = headers[i-1].Hash()
		}
		headers = append(headers, h)
		cert := &chain.Certificate{Height: h.Height, BlockHash: h.Hash()}
		for _, j := range []int{0, 1, 2} {
			cert.Votes = append(cert.Votes, chain.SignHeader(nodes[j], j, &h))
		}
		certs[h.Height] = cert
		var ps []apijson.Leaf
		for _, k := range []state.Key{sale.SaleKey(c.id), sale.RequestKey(c.id, c.buyer), sale.ResultKey(c.id, c.buyer)} {
			p, err := tree.Prove(1, smt.Key(k))
			if err != nil {
				t.Fatal(err)
			}
			v, sum, err := tree.Get(1, smt.Key(k))
			l := &orgapp.Leaf{Height: h.Height, Key: k, Proof: p, Root: root}
			if err == nil {
				l.Found, l.Value, l.Sum = true, v, sum
			}
			ps = append(ps, apijson.LeafOf(l, &headers[i], cert))
		}
		if c.tamper != nil {
			c.tamper(ps)
		}
		proofs = append(proofs, ps)
	}
	seg := segmentOf(t, headers, certs, nil)

	// Go.
	gc, err := light.New([]byte(genText))
	if err != nil {
		t.Fatal(err)
	}
	var gseg light.Segment
	if err := json.Unmarshal([]byte(seg), &gseg); err != nil {
		t.Fatal(err)
	}
	if err := gc.Verify(&gseg); err != nil {
		t.Fatal(err)
	}
	var in []map[string]any
	for i, c := range cases {
		in = append(in, map[string]any{"id": s10(c.id), "buyer": hexOf(c.buyer[:]), "proofs": mustJSON(t, proofs[i])})
	}
	var out []struct {
		Outcome, Closed, Won, Unpaid, Rank, Granted, Paid, Kept, Quantity, Fair, Tie, Height string
		Stamps                                                                               []map[string]string
		Error, Check                                                                         string
	}
	b.callModule(t, "/test/sale.js", "outcomes", map[string]any{"genesis": genText, "segment": seg, "cases": in}, &out)
	if len(out) != len(cases) {
		t.Fatalf("%d answers for %d cases", len(out), len(cases))
	}
	for i, c := range cases {
		var ls [3]*light.Leaf
		for j := range ls {
			ls[j] = new(light.Leaf)
			if err := json.Unmarshal([]byte(mustJSON(t, proofs[i][j])), ls[j]); err != nil {
				ls[j] = nil
			}
		}
		var o *light.SaleOutcome
		err := fmt.Errorf("a proof does not decode")
		if ls[0] != nil && ls[1] != nil && ls[2] != nil {
			o, err = gc.VerifySaleOutcome(c.id, light.AccountID(c.buyer), ls[0], ls[1], ls[2])
		}
		js := out[i]
		if c.refused {
			if err == nil {
				t.Errorf("%s: Go accepts it: the case is wrong", c.name)
			}
			if js.Error == "" {
				t.Errorf("%s: JS accepts what Go refuses (%v): %+v", c.name, err, js)
			} else {
				t.Logf("%s: JS %s (%s); Go %v", c.name, js.Check, js.Error, err)
			}
			continue
		}
		if err != nil || js.Error != "" {
			t.Errorf("%s: Go %v, JS %s", c.name, err, js.Error)
			continue
		}
		outcome := "open"
		switch {
		case o.Won:
			outcome = "won"
		case o.Unpaid:
			outcome = "unpaid"
		case o.Closed:
			outcome = "lost"
		}
		stamps := []map[string]string{}
		for _, s := range o.Stamps {
			stamps = append(stamps, map[string]string{"node": hexOf(s.Node[:]), "time": s10(s.Time)})
		}
		got := []string{js.Outcome, js.Closed, js.Won, js.Unpaid, js.Rank, js.Granted, js.Paid, js.Kept, js.Quantity, js.Fair, js.Tie, js.Height}
		want := []string{outcome, fmt.Sprint(o.Closed), fmt.Sprint(o.Won), fmt.Sprint(o.Unpaid), s10(o.Rank), s10(o.Granted), s10(o.Paid),
			fmt.Sprint(o.Kept), s10(o.Quantity), s10(o.Fair), hexOf(o.Tie[:]), s10(o.Record.Height)}
		if !slices.Equal(got, want) || !reflect.DeepEqual(js.Stamps, stamps) {
			t.Errorf("%s:\nJS %v %v\nGo %v %v", c.name, got, js.Stamps, want, stamps)
		}
	}
}

// flipSibling flips a bit of a proof's first sibling (hex in, hex out).
func flipSibling(t *testing.T, proofHex string) string {
	t.Helper()
	raw, err := hex.DecodeString(proofHex)
	if err != nil {
		t.Fatal(err)
	}
	p, err := smt.UnmarshalProof(raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Siblings) == 0 {
		t.Fatal("a proof without siblings")
	}
	p.Siblings[0].Hash[0] ^= 1
	return hex.EncodeToString(p.Marshal())
}
