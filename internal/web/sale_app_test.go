package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mass-consensus/mass/internal/app/sale"
	"github.com/mass-consensus/mass/internal/app/tx"
	"github.com/mass-consensus/mass/internal/client"
	"github.com/mass-consensus/mass/internal/crypto"
)

// Ways the sale test's proxy lies in GET /v1/sales/{id}/buyers/… answers.
const (
	saleTruth      = iota
	saleFlipResult // a bit of a sibling of the result's proof
	saleLieOutcome // the outcome "lost" over genuine records
)

// newSaleNetwork is newNetwork (one real node, the devnet's accounts)
// with a proxy in front of the node's API that lies about a buyer's
// answers as lie says; the genesis gives the node's own API address, at
// which the page asks for stamps (cross-origin).
func newSaleNetwork(t *testing.T, lie *atomic.Int32) *network {
	t.Helper()
	n := startNetwork(t, nil)
	n.serveProxied(t, func(resp *http.Response) error {
		if !strings.Contains(resp.Request.URL.Path, "/buyers/") || resp.StatusCode != http.StatusOK {
			return nil
		}
		switch lie.Load() {
		case saleFlipResult:
			return rewriteAnswer(resp, func(a map[string]any) {
				ps, _ := a["proofs"].([]any)
				if len(ps) == 3 {
					p := ps[2].(map[string]any)
					p["proof"] = flipSibling(t, p["proof"].(string))
				}
			})
		case saleLieOutcome:
			return rewriteAnswer(resp, func(a map[string]any) { a["outcome"] = "lost" })
		}
		return nil
	})
	n.waitCertified(t, 1)
	return n
}

// openSale has the founder open a sale through the API and waits for its
// commit; it returns the sale as the node's latest certified state has it.
func (n *network) openSale(t *testing.T, p sale.Params) *sale.Sale {
	t.Helper()
	founder := n.key(t, "founder")
	ctx := context.Background()
	acct, err := n.api.Account(ctx, founder.Public().ID(), client.At{})
	if err != nil {
		t.Fatal(err)
	}
	open := tx.New(founder.Public(), acct.Account.Nonce, &tx.SaleOpen{Params: p})
	if err := open.Sign(networkChainID, founder); err != nil {
		t.Fatal(err)
	}
	sub, err := n.api.Submit(ctx, open.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, err := n.api.Tx(ctx, sub.Hash)
		if err == nil && st.Status == "committed" {
			if st.Code != nil && *st.Code != 0 {
				t.Fatalf("the sale_open failed: %d %s", *st.Code, st.Log)
			}
			n.waitCertified(t, st.Height)
			got, err := n.api.Sales(ctx, client.At{Height: st.Height})
			if err != nil || len(got.Open) == 0 {
				t.Fatalf("no open sale after the sale_open: %+v %v", got, err)
			}
			id := got.Open[len(got.Open)-1].ID
			v, err := n.api.Sale(ctx, id, client.At{Height: st.Height})
			if err != nil {
				t.Fatal(err)
			}
			s, err := v.Sale.Sale()
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sale_open not committed after 60 s: %+v %v", st, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitSaleClosed waits until the node's certified state has the sale closed.
func (n *network) waitSaleClosed(t *testing.T, id uint64, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		v, err := n.api.Sale(context.Background(), id, client.At{})
		if err == nil && v.Sale.State == "closed" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("sale %d not closed after %v: %+v %v", id, d, v, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestSaleInBrowser runs a sale in headless Chromium on a real one-node
// network: the founder opens a sale of one item (Go, through the API) with
// a short window; in the browser the sales list shows it verified; alice
// (a member) requests from the sale's page — her ask signed, the node's
// stamp shown and chosen, the request committed — and her kept request
// appears, proven; dora, a key that is no member, solves the proof of work
// (4 bits), is stamped and committed after her. After the close, alice
// sees "won" and dora "lost", each verified; a result proof with a
// flipped bit shows "proof failed" and no outcome, and so does an answer
// whose outcome lies over genuine records.
func TestSaleInBrowser(t *testing.T) {
	var lie atomic.Int32
	n := newSaleNetwork(t, &lie)
	b := newBrowser(t, n.base)
	u := &ui{t: t, b: b, base: n.base}
	u.do(chromedp.EmulateViewport(1100, 900))
	u.waitFor(`document.body.dataset.app === 'ready'`)
	alice := n.key(t, "alice").Public().String()
	dora, err := crypto.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	doraPub := dora.Public().String()

	// The wallet: alice's key and dora's, before the sale, whose window is short.
	setUpWallet(u, n)
	doraFile, err := json.Marshal(map[string]string{"seed": hex.EncodeToString(dora.Seed()), "public": doraPub})
	if err != nil {
		t.Fatal(err)
	}
	u.set("#import-text", string(doraFile))
	u.set("#import-label", "dora")
	u.click("#import")
	u.waitFor(fmt.Sprintf(`!!document.querySelector('li.account[data-public="%s"]')`, doraPub))

	const window = 20 * time.Second
	s := n.openSale(t, sale.Params{Item: "Concert · 音乐会", Supply: 1, PerRequest: 1, Start: 0, Window: uint64(window.Milliseconds()),
		MaxAge: 5000, Difficulty: 4, Price: 0, MaxRequests: 10})
	id := fmt.Sprint(s.ID)

	// The list, verified.
	u.visit("#/sales")
	u.waitFor(fmt.Sprintf(`document.querySelector('#sales')?.dataset.state === 'verified' && !!document.querySelector('#sale-row-%s')`, id))
	if got := u.text(fmt.Sprintf("#sale-row-%s .sale-item", id)); got != "Concert · 音乐会" {
		t.Errorf("the list shows the item %q", got)
	}
	if !strings.HasPrefix(u.text("#sales #badge"), "✓ verified at height") {
		t.Errorf("the list's badge: %q", u.text("#sales #badge"))
	}

	// alice requests.
	request := func(who string) {
		t.Helper()
		eval[bool](u, fmt.Sprintf(`(localStorage.setItem('mass.current', %q), true)`, who))
		u.visit("#/wallet")
		u.visit("#/sale/" + id)
		u.waitFor(`document.querySelector('#sale')?.dataset.state === 'verified' && !!document.querySelector('#sale-request-button')`)
		u.click("#sale-request-button")
		u.waitLong(`['committed', 'failed', 'refused', 'invalid', 'timeout'].includes(document.querySelector('#sale-status')?.dataset.state)`, 60*time.Second)
		if st := u.attr("#sale-status", "data-state"); st != "committed" {
			t.Fatalf("%s's request is %s: %s (stamps: %s)", who, st, u.text("#sale-status"), u.text("#sale-stamps"))
		}
	}
	request(alice)
	if got := eval[int](u, `document.querySelectorAll('#sale-stamps tr[data-state="stamped"][data-chosen="yes"]').length`); got != 1 {
		t.Errorf("%d stamps stamped and chosen: %s", got, u.text("#sale-stamps"))
	}
	if !strings.HasPrefix(u.text("#sale-status"), "committed at height") {
		t.Errorf("the status says %q", u.text("#sale-status"))
	}
	// Her request, kept and proven: its stamp is the node's.
	u.waitFor(`document.querySelector('#sale-mine')?.dataset.kept === 'yes'`)
	if got := u.attr("#sale-outcome", "data-value"); got != "open" {
		t.Errorf("alice's outcome before the close: %q", got)
	}
	if got := eval[int](u, `document.querySelectorAll('#sale-kept-stamps tbody tr').length`); got != 1 {
		t.Errorf("alice's kept request shows %d stamps", got)
	}

	// dora, no member: the proof of work first.
	request(doraPub)
	if got := u.attr("#sale-pow", "data-state"); got != "solved" {
		t.Errorf("dora's proof of work: %q %s", got, u.text("#sale-pow"))
	}
	u.waitFor(`document.querySelector('#sale-mine')?.dataset.kept === 'yes'`)

	// After the close: dora lost (the one item went to alice, earlier).
	n.waitSaleClosed(t, s.ID, window+60*time.Second)
	u.waitLong(`document.querySelector('#sale')?.dataset.phase === 'closed' && document.querySelector('#sale-mine')?.dataset.outcome === 'lost'`, 30*time.Second)
	if !strings.HasPrefix(u.text("#mine-badge"), "✓ verified at height") {
		t.Errorf("dora's badge: %q", u.text("#mine-badge"))
	}
	// alice won, verified.
	eval[bool](u, fmt.Sprintf(`(localStorage.setItem('mass.current', %q), true)`, alice))
	u.visit("#/sales")
	u.visit("#/sale/" + id)
	u.waitFor(`document.querySelector('#sale-mine')?.dataset.outcome === 'won'`)
	if got := u.text("#sale-outcome"); !strings.HasPrefix(got, "Won: 1 item (rank 1") {
		t.Errorf("alice's outcome reads %q", got)
	}
	u.screenshot("sale")
	if got := u.attr("#sale-sold", "data-value"); got != "1" {
		t.Errorf("sold %q", got)
	}
	height := u.attr("#sale-mine", "data-height")
	if want := fmt.Sprintf("✓ verified at height %s by nodes [0] of 1", height); u.text("#mine-badge") != want {
		t.Errorf("the badge says %q, want %q", u.text("#mine-badge"), want)
	}

	// The lies: no outcome, "proof failed".
	for _, c := range []struct {
		name  string
		mode  int32
		check string
	}{{"a result proof with a bit flipped", saleFlipResult, "state_root"}, {"an outcome that lies", saleLieOutcome, "record"}} {
		t.Run(c.name, func(t *testing.T) {
			u := u.with(t)
			lie.Store(c.mode)
			defer lie.Store(saleTruth)
			u.visit("#/sales")
			u.visit("#/sale/" + id)
			u.waitFor(`document.querySelector('#sale')?.dataset.state === 'failed'`)
			if got := u.text("#sale #badge"); got != "✗ proof failed: "+c.check {
				t.Errorf("the badge says %q", got)
			}
			if u.exists("#sale-outcome") || u.exists("#sale-item") || eval[bool](u, `!document.querySelector('#sale-mine').hidden`) {
				t.Error("the page shows the sale or an outcome")
			}
		})
	}
	// The truth again.
	u.visit("#/sales")
	u.visit("#/sale/" + id)
	u.waitFor(`document.querySelector('#sale-mine')?.dataset.outcome === 'won'`)

	// The founder (a supervisor) opens a sale from the sales page: the
	// sale_open signed in the browser, committed, and the page opens the
	// new sale, verified.
	founder, err := os.ReadFile(n.keyFile("founder"))
	if err != nil {
		t.Fatal(err)
	}
	founderPub := n.key(t, "founder").Public().String()
	u.visit("#/wallet")
	u.set("#import-text", string(founder))
	u.set("#import-label", "founder")
	u.click("#import")
	u.waitFor(fmt.Sprintf(`!!document.querySelector('li.account[data-public="%s"]')`, founderPub))
	eval[bool](u, fmt.Sprintf(`(localStorage.setItem('mass.current', %q), true)`, founderPub))
	u.visit("#/sales")
	u.waitFor(`!!document.querySelector('#open-form') && document.querySelector('#open-actor')?.value === '` + founderPub + `'`)
	u.set("#open-item", "Stall 2")
	u.set("#open-window", "1m")
	u.click("#open-sale")
	u.waitLong(`['committed', 'failed', 'refused', 'invalid', 'timeout'].includes(document.querySelector('#open-status')?.dataset.state)`, 60*time.Second)
	if st := u.attr("#open-status", "data-state"); st != "committed" {
		t.Fatalf("opening a sale from the page: %s: %s", st, u.text("#open-status"))
	}
	u.waitFor(`location.hash === '#/sale/2' && document.querySelector('#sale')?.dataset.state === 'verified'`)
	if got := u.text("#sale-item"); got != "Stall 2" {
		t.Errorf("the opened sale's item is %q", got)
	}
}
