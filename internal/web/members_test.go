package web

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mass-consensus/mass/internal/app/tx"
	"github.com/mass-consensus/mass/internal/client"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/localport"
)

// waitApplying waits until the node's latest certified state shows the
// account of id with a pending application.
func (n *network) waitApplying(t *testing.T, id crypto.ID) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		a, err := n.api.Account(context.Background(), id, client.At{})
		if err == nil && a.Found && a.Account.Applying {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the application of %s not committed after 60 s: %+v %v", id, a, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestMembersInBrowser: the organization page lists the members and the
// applicant with their names and roles, every record verified, and says
// the list is complete; the supervisor accepts the applicant from its row
// and the list shows four members; a node that hides a member is caught:
// "proof failed: members_incomplete".
func TestMembersInBrowser(t *testing.T) {
	n := newNetwork(t)
	// dora, a new key, applies to join.
	dora, err := crypto.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	apply := tx.New(dora.Public(), 0, &tx.Apply{Name: "dora"})
	if err := apply.Sign(networkChainID, dora); err != nil {
		t.Fatal(err)
	}
	if _, err := n.api.Submit(context.Background(), apply.Marshal()); err != nil {
		t.Fatal(err)
	}
	doraID := dora.Public().ID().String()
	n.waitApplying(t, dora.Public().ID())

	b := newBrowser(t, n.base)
	u := &ui{t: t, b: b, base: n.base}
	u.do(chromedp.EmulateViewport(1100, 900))
	u.waitFor(`document.body.dataset.app === 'ready'`)
	createWallet(u)
	u.do(chromedp.SetUploadFiles(chromedp.CSS("#import-file"), []string{n.keyFile("founder")}))
	u.click("#import")
	u.waitFor(fmt.Sprintf(`!!document.querySelector('li.account[data-public="%s"]')`, n.key(t, "founder").Public()))

	u.visit("#/org")
	u.waitFor(`document.querySelector('#org-members-card')?.dataset.state === 'complete'`)
	if got := u.attr("#org-members-card", "data-members") + " " + u.attr("#org-members-card", "data-applicants"); got != "3 1" {
		t.Fatalf("the list counts %q members and applicants, want 3 1", got)
	}
	if got := u.text("#org-members-complete"); got != "✓ complete: 3 members and 1 applicant, as many as the proven organization record counts" {
		t.Errorf("the completeness line says %q", got)
	}
	if got := u.text("#org-members-card #badge"); !strings.HasPrefix(got, "✓ verified at height ") {
		t.Errorf("the list's badge says %q", got)
	}
	rows := eval[string](u, `[...document.querySelectorAll('#org-member-list tbody tr')].map((r) => r.querySelector('.member-name').textContent + ':' + r.dataset.role + (r.dataset.applying === 'yes' ? '+' : '')).sort().join(' ')`)
	if rows != "alice:member bob:member dora:guest+ founder:supervisor" {
		t.Errorf("the rows are %q", rows)
	}
	// In ID order.
	ids := eval[string](u, `[...document.querySelectorAll('#org-member-list tbody tr')].map((r) => r.dataset.id).join(' ')`)
	if list := strings.Fields(ids); len(list) != 4 || !sortedStrings(list) {
		t.Errorf("the rows' IDs %q are not in order", ids)
	}

	// The founder, a supervisor, accepts dora from her row.
	row := "#member-" + doraID
	u.waitFor(`document.querySelector('#my-role')?.dataset.value === 'supervisor' && !!document.querySelector('` + row + ` .decide-accept')`)
	if u.exists("#org-member-list tr[data-applying='no'] .decide-accept") {
		t.Error("a member's row has a decision button")
	}
	u.waitFor(`document.querySelector('#org-card')?.dataset.state === 'verified'`)
	u.screenshot("org")
	u.click(row + " .decide-accept")
	u.waitFor(`['committed', 'failed', 'refused', 'invalid', 'timeout'].includes(document.querySelector('#decide-status')?.dataset.state)`)
	if st := u.attr("#decide-status", "data-state"); st != "committed" {
		t.Fatalf("the decision is %s: %s", st, u.text("#decide-status"))
	}
	u.visit("#/org")
	u.waitFor(`document.querySelector('#org-members-card')?.dataset.state === 'complete' && document.querySelector('#org-members-card').dataset.members === '4'`)
	if got := u.attr(row, "data-role") + " " + u.attr(row, "data-applying"); got != "member no" {
		t.Errorf("dora's row: %q", got)
	}
	u.click("#lang-switch")
	u.waitFor(`document.querySelector('#org-members-complete')?.textContent.startsWith('✓ 完整：4 名成员')`)
	u.waitFor(`document.querySelector('#org-card')?.dataset.state === 'verified' && document.querySelector('#my-role')?.dataset.value === 'supervisor'`)
	u.screenshot("org-zh")
	u.click("#lang-switch")

	// A node that hides a member.
	n.hideMember.Store(true)
	u.visit("#/org")
	u.waitFor(`document.querySelector('#org-members-card')?.dataset.state === 'failed'`)
	if got := u.text("#org-members-card #badge"); got != "✗ proof failed: members_incomplete" {
		t.Errorf("with a member hidden, the badge says %q", got)
	}
	if got := u.text("#org-members-error"); !strings.Contains(got, "the list holds 3 members and 0 applicants; the proven organization record counts 4 and 0") {
		t.Errorf("with a member hidden, the page says %q", got)
	}
	if u.exists("#org-member-list") {
		t.Error("a list that failed its check is shown")
	}
	n.hideMember.Store(false)
}

func sortedStrings(s []string) bool {
	for i := 1; i < len(s); i++ {
		if s[i] <= s[i-1] {
			return false
		}
	}
	return true
}

// TestNetworkPageReadsEveryNode: the page is served by an origin whose own
// API is down, with a genesis of two nodes: the real node, whose status
// the page reads from its API address across origins (CORS), and a node
// whose address nothing listens on. The first shows its heights, the
// second shows unreachable.
func TestNetworkPageReadsEveryNode(t *testing.T) {
	n := newNetwork(t)
	n.waitCertified(t, 2)
	var g map[string]any
	if err := json.Unmarshal(n.genesis, &g); err != nil {
		t.Fatal(err)
	}
	nodes, _ := g["nodes"].([]any)
	if len(nodes) != 1 {
		t.Fatalf("the network has %d nodes", len(nodes))
	}
	realNode, _ := nodes[0].(map[string]any)
	if realNode["api"] != n.daemon.APIAddr() {
		t.Fatalf("the genesis gives the node's API as %v, it listens on %s", realNode["api"], n.daemon.APIAddr())
	}
	down, err := crypto.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	port, err := localport.Free(1, nil)
	if err != nil {
		t.Fatal(err)
	}
	g["nodes"] = append(nodes, map[string]any{"key": down.Public().String(), "api": "127.0.0.1:" + strconv.Itoa(port)})
	gen, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/", http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) }))
	mux.Handle("/", Handler(WithGenesis(gen)))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)

	b := newBrowser(t, srv.URL)
	u := &ui{t: t, b: b, base: srv.URL}
	u.waitFor(`document.body.dataset.app === 'ready'`)
	u.visit("#/network")
	u.waitFor(`document.querySelector('#node-0')?.dataset.reachable === 'yes' && Number(document.querySelector('#node-0').dataset.height) >= 2 && document.querySelector('#node-1')?.dataset.reachable === 'no'`)
	if got := u.attr("#net-self", "data-reachable"); got != "no" {
		t.Errorf("this page's node (down) is %q", got)
	}
	if got := u.attr("#node-0", "data-self"); got != "no" {
		t.Errorf("node 0 is taken for this page's node: %q", got)
	}
	certified, _ := strconv.Atoi(u.attr("#node-0", "data-certified"))
	if certified < 2 || u.attr("#node-0", "data-era") != "0" {
		t.Errorf("node 0: certified %q, era %q", u.attr("#node-0", "data-certified"), u.attr("#node-0", "data-era"))
	}
	if got := u.text("#node-0 td.height"); got != u.attr("#node-0", "data-height") {
		t.Errorf("node 0's height cell says %q", got)
	}
	if got := u.text("#node-1 td.height"); got != "—" {
		t.Errorf("the unreachable node's height cell says %q", got)
	}
	if got := u.text("#node-1 td.reach"); got != "no" {
		t.Errorf("the unreachable node's cell says %q", got)
	}
	// The heights move on as the node's do: an application makes a block.
	h0, _ := strconv.Atoi(u.attr("#node-0", "data-height"))
	k, err := crypto.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	apply := tx.New(k.Public(), 0, &tx.Apply{Name: "erin"})
	if err := apply.Sign(networkChainID, k); err != nil {
		t.Fatal(err)
	}
	if _, err := n.api.Submit(context.Background(), apply.Marshal()); err != nil {
		t.Fatal(err)
	}
	n.waitCertified(t, uint64(h0+1))
	u.waitFor(fmt.Sprintf(`Number(document.querySelector('#node-0')?.dataset.height) > %d`, h0))
}
