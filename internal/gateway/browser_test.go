package gateway

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mass-consensus/mass/internal/app/tx"
	"github.com/mass-consensus/mass/internal/client"
	"github.com/mass-consensus/mass/internal/web/browsertest"
)

// TestAppThroughGatewayInBrowser opens the members' app from a gateway in
// front of four real nodes, in headless Chromium: alice's account is
// verified in the browser through the gateway; then one of the four
// nodes stops (the first the gateway lists), and the app keeps working:
// a transfer submitted through the gateway commits, a new page load
// verifies alice's account again at a newer height with the new balance,
// and the organization and a proposal read through the gateway verify.
func TestAppThroughGatewayInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four nodes and a browser")
	}
	n := startNetwork(t)
	g, err := New(Config{Genesis: n.genesis, Nodes: n.apis, Poll: 100 * time.Millisecond, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	srv := httptest.NewServer(g) // on 127.0.0.1
	defer srv.Close()
	gw, err := client.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	alice, bob := n.keys["alice"].Public(), n.keys["bob"].Public()
	p := &browsertest.Page{TB: t, Ctx: browsertest.Start(t, 5*time.Minute), Wait: 60 * time.Second}
	verified := func(min uint64, balance string) string {
		return fmt.Sprintf(`document.querySelector('#account')?.dataset.state === 'verified' && Number(document.querySelector('#account').dataset.height) >= %d && document.querySelector('#balance')?.dataset.value === %q`, min, balance)
	}
	badge := func() {
		t.Helper()
		want := fmt.Sprintf("✓ verified at height %s by nodes [", p.Attr("#account", "data-height"))
		if got := p.Text("#badge"); !strings.HasPrefix(got, want) || !strings.HasSuffix(got, "] of 4") {
			t.Errorf("the badge says %q, want %q…] of 4", got, want)
		}
	}

	// Alice's account, verified in the browser through the gateway.
	p.Do(chromedp.EmulateViewport(1100, 860))
	p.Load(srv.URL + "/#/account/" + alice.String())
	p.WaitFor(verified(1, "10000"))
	badge()
	if got := p.Text("#name"); got != "alice" {
		t.Errorf("the name shown is %q", got)
	}
	before := uint64(browsertest.Eval[int](p, `Number(document.querySelector('#account').dataset.height)`))

	// A proposal, made through the gateway while the four nodes run.
	d := tx.Desire{Meeting: 600_000, Publicity: 60_000, Capacity: 10}
	st := submit(t, gw, srv.URL, "/v1/proposals", n.sign("alice", &tx.Create{Domain: "general", Title: "Seen through the gateway",
		Body: "Read in the browser.", Options: []tx.Option{{Title: "Yes"}, {Title: "No"}}, Desire: d}))
	id := st.Proposal
	if id == 0 {
		t.Fatalf("the create made no proposal: %+v", st)
	}

	// One of the four nodes stops; a transfer goes through the gateway
	// and commits.
	n.stop(0)
	st = submit(t, gw, srv.URL, "/v1/txs", n.sign("alice", &tx.Transfer{To: bob, Amount: 25}))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := g.WaitHeight(ctx, st.Height); err != nil {
		t.Fatal(err)
	}
	if st.Height <= before {
		t.Fatalf("the transfer is at height %d, the account was verified at %d", st.Height, before)
	}

	// A new page load: alice's account verified again, at the transfer's
	// height or later, from the genesis, with a node down.
	p.Load(srv.URL + "/#/account/" + alice.String())
	p.WaitFor(verified(st.Height, "9975"))
	badge()
	t.Logf("with node 0 down: %s", p.Text("#badge"))

	// The organization and the proposal, read through the gateway and
	// verified in the browser.
	p.Visit("#/org")
	p.WaitFor(`['verified', 'failed', 'unreachable'].includes(document.querySelector('#org-card')?.dataset.state)`)
	if state := p.Attr("#org-card", "data-state"); state != "verified" {
		t.Fatalf("the organization is %s: %s", state, p.Text("#org-card"))
	}
	if got := p.Text("#org-members"); got != "3" {
		t.Errorf("the organization has %q members, want 3", got)
	}
	// The proposal page (the proposal, its comments and the governance
	// answer, every view rebuilt from proven records), through the gateway.
	p.Visit(fmt.Sprintf("#/proposal/%d", id))
	p.WaitFor(`['verified', 'failed', 'unreachable'].includes(document.querySelector('#proposal')?.dataset.state)`)
	if state := p.Attr("#proposal", "data-state"); state != "verified" {
		t.Fatalf("the proposal page is %s: %s", state, p.Text("#proposal"))
	}
	if got := p.Text("#proposal-title"); got != "Seen through the gateway" {
		t.Errorf("the proposal's title is %q", got)
	}
	if got := p.Text("#proposal"); !strings.Contains(got, "alice") || !strings.Contains(got, "of 4") {
		t.Errorf("the proposal page names no author or no badge: %s", got)
	}
	t.Logf("proposal %d verified in the browser through the gateway: %s", id, p.Text("#badge"))
}
