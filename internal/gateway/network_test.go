package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mass-consensus/mass/internal/apijson"
	"github.com/mass-consensus/mass/internal/app/orgapp"
	"github.com/mass-consensus/mass/internal/app/tx"
	"github.com/mass-consensus/mass/internal/client"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/daemon"
	"github.com/mass-consensus/mass/internal/home"
	"github.com/mass-consensus/mass/internal/localport"
	"github.com/mass-consensus/mass/light"
)

// network is four real nodes in this process (the daemons of mass start:
// Pebble, libp2p on 127.0.0.1, the HTTP API) running the organization
// with the devnet's accounts and the fast governance profile.
type network struct {
	t       *testing.T
	dir     string
	chainID string
	genesis []byte
	daemons []*daemon.Daemon
	stopped []bool
	apis    []string // base URLs
	keys    map[string]*crypto.PrivateKey
	nonces  map[string]uint64
	log     *os.File
}

func startNetwork(t *testing.T) *network {
	t.Helper()
	n := &network{t: t, dir: t.TempDir(), chainID: "gateway-net", keys: map[string]*crypto.PrivateKey{}, nonces: map[string]uint64{}}
	p2p, err := localport.Free(4, nil)
	if err != nil {
		t.Fatal(err)
	}
	apiPort, err := localport.Free(4, func(p int) bool { return p >= p2p && p < p2p+4 })
	if err != nil {
		t.Fatal(err)
	}
	fast := orgapp.GovernanceProfiles["fast"]
	homes, err := home.Init(n.dir, home.InitOptions{Nodes: 4, ChainID: n.chainID, Host: "127.0.0.1", P2PPort: p2p, APIPort: apiPort, Governance: &fast})
	if err != nil {
		t.Fatal(err)
	}
	if n.genesis, err = os.ReadFile(filepath.Join(homes[0], "genesis.json")); err != nil {
		t.Fatal(err)
	}
	for _, a := range home.DevAccounts {
		if n.keys[a.Name], err = home.LoadKey(home.KeyPath(n.dir, a.Name)); err != nil {
			t.Fatal(err)
		}
	}
	if n.log, err = os.Create(filepath.Join(n.dir, "nodes.log")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.stopAll)
	for i, hd := range homes {
		h, err := home.Load(hd)
		if err != nil {
			t.Fatal(err)
		}
		logger := slog.New(slog.NewTextHandler(n.log, &slog.HandlerOptions{Level: slog.LevelInfo})).With("node", i)
		d, err := daemon.Start(h, logger)
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		n.daemons = append(n.daemons, d)
		n.stopped = append(n.stopped, false)
		n.apis = append(n.apis, "http://"+d.APIAddr())
	}
	return n
}

func (n *network) stop(i int) {
	if !n.stopped[i] {
		n.stopped[i] = true
		if err := n.daemons[i].Stop(); err != nil {
			n.t.Errorf("stopping node %d: %v", i, err)
		}
	}
}

func (n *network) stopAll() {
	for i := range n.daemons {
		n.stop(i)
	}
	if n.t.Failed() && n.log != nil {
		raw, _ := os.ReadFile(n.log.Name())
		if len(raw) > 4000 {
			raw = raw[len(raw)-4000:]
		}
		n.t.Logf("the nodes' log ends:\n%s", raw)
	}
	if n.log != nil {
		n.log.Close()
	}
}

// sign signs a transaction of a devnet account (and, for a transfer, its
// recipient's cosignature).
func (n *network) sign(who string, body tx.Body) []byte {
	t := tx.New(n.keys[who].Public(), n.nonces[who], body)
	n.nonces[who]++
	if err := t.Sign(n.chainID, n.keys[who]); err != nil {
		n.t.Fatal(err)
	}
	if tr, ok := body.(*tx.Transfer); ok {
		for _, k := range n.keys {
			if k.Public() == tr.To {
				if err := t.Sign(n.chainID, k); err != nil {
					n.t.Fatal(err)
				}
			}
		}
	}
	return t.Marshal()
}

// submit posts a transaction to the gateway on path and waits, through
// the gateway, until it is committed; it returns its status.
func submit(t *testing.T, gw *client.Client, base, path string, raw []byte) *apijson.TxStatus {
	t.Helper()
	resp, err := httpClient.Post(base+path, "application/octet-stream", strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST %s through the gateway: %d %s", path, resp.StatusCode, body)
	}
	var sub apijson.Submitted
	if err := json.Unmarshal(body, &sub); err != nil {
		t.Fatal(err)
	}
	var st *apijson.TxStatus
	waitFor(t, 90*time.Second, "transaction "+sub.Hash+" committed", func() bool {
		st, err = gw.Tx(context.Background(), sub.Hash)
		return err == nil && st.Status == apijson.TxCommitted
	})
	if st.Code == nil || *st.Code != 0 {
		t.Fatalf("transaction %s failed in block %d: %s", sub.Hash, st.Height, st.Log)
	}
	return st
}

// sameAsANode checks that the gateway's answer to path at its height is
// byte for byte a node's at that height.
func sameAsANode(t *testing.T, gwURL string, n *network, path string) string {
	t.Helper()
	code, got := getURL(t, gwURL+path)
	if code != http.StatusOK {
		t.Fatalf("%s through the gateway: %d %s", path, code, got)
	}
	var at struct{ Height uint64 }
	if err := json.Unmarshal([]byte(got), &at); err != nil || at.Height == 0 {
		t.Fatalf("%s: %s", path, got)
	}
	for i, base := range n.apis {
		if n.stopped[i] {
			continue
		}
		code, want := getURL(t, base+withQuery(path, fmt.Sprint("height=", at.Height)))
		if code == http.StatusNotFound {
			continue // this node is not at that height yet
		}
		if code != http.StatusOK || got != want {
			t.Fatalf("%s at height %d: the gateway answered\n%s\nnode %d\n%s", path, at.Height, got, i, want)
		}
		return got
	}
	t.Fatalf("%s: no node has height %d", path, at.Height)
	return ""
}

// TestGatewayOverFourNodes runs the gateway over a real network of four
// nodes: its reads equal a node's and their proofs verify; a transfer and
// a proposal submitted through it commit; the proposal, read back through
// it, is the node's view, names and all; and with one of the four nodes
// stopped it keeps serving reads and submissions.
func TestGatewayOverFourNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four nodes")
	}
	n := startNetwork(t)
	g, err := New(Config{Genesis: n.genesis, Nodes: n.apis, Poll: 100 * time.Millisecond, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	srv := httptest.NewServer(g)
	defer srv.Close()
	gw, err := client.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	alice, bob := n.keys["alice"].Public(), n.keys["bob"].Public()

	// A transfer through the gateway commits, and the gateway verifies
	// its block.
	st := submit(t, gw, srv.URL, "/v1/txs", n.sign("alice", &tx.Transfer{To: bob, Amount: 25}))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := g.WaitHeight(ctx, st.Height); err != nil {
		t.Fatal(err)
	}
	got := sameAsANode(t, srv.URL, n, "/v1/accounts/"+bob.ID().String())
	if !strings.Contains(got, `"balance":10025`) {
		t.Fatalf("bob after the transfer: %s", got)
	}
	for _, p := range []string{"/v1/organization", "/v1/treasury", "/v1/governance", "/v1/executors", "/v1/proposals?domain=general"} {
		sameAsANode(t, srv.URL, n, p)
	}

	// A light client (light.Remote, as `mass verify` uses it) and the
	// API's client work against the gateway unchanged.
	lc, err := light.New(n.genesis)
	if err != nil {
		t.Fatal(err)
	}
	acct, rec, err := lc.ProveAccount(ctx, &light.Remote{Base: srv.URL}, light.AccountID(bob.ID()), 0)
	if err != nil || acct == nil || acct.Balance != 10025 || acct.Name != "bob" {
		t.Fatalf("proving bob through the gateway: %+v %v", acct, err)
	}
	t.Logf("bob verified through the gateway at height %d by nodes %v of %d", rec.Height, rec.Signers, rec.Nodes)

	// A proposal created through the gateway, joined through it, read
	// back through it with names: the node's view, rebuilt from proofs.
	d := tx.Desire{Meeting: 60_000, Publicity: 60_000, Capacity: 10}
	st = submit(t, gw, srv.URL, "/v1/proposals", n.sign("alice", &tx.Create{Domain: "general", Title: "Through the gateway",
		Body: "Made without a node of our own.", Options: []tx.Option{{Title: "Yes"}, {Title: "No"}}, Desire: d}))
	id := st.Proposal
	if id == 0 {
		t.Fatalf("the create made no proposal: %+v", st)
	}
	// As a member's app would, act on the proposal once the gateway has
	// verified it: a node that has not applied its block yet would refuse
	// the join.
	if err := g.WaitHeight(ctx, st.Height); err != nil {
		t.Fatal(err)
	}
	st = submit(t, gw, srv.URL, fmt.Sprintf("/v1/proposals/%d/join", id), n.sign("bob", &tx.Join{Proposal: id, Desire: d}))
	if err := g.WaitHeight(ctx, st.Height); err != nil {
		t.Fatal(err)
	}
	view := sameAsANode(t, srv.URL, n, fmt.Sprintf("/v1/proposals/%d", id))
	var pv apijson.Proposal
	if err := json.Unmarshal([]byte(view), &pv); err != nil {
		t.Fatal(err)
	}
	if p := pv.Proposal; p.Title != "Through the gateway" || p.AuthorName != "alice" || len(p.Roster) != 2 || p.Roster[1].Name != "bob" {
		t.Fatalf("the proposal through the gateway: %s", view)
	}
	proven, err := gw.Proposal(ctx, id, client.At{Height: pv.Height, Prove: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := lc.Sync(ctx, &light.Remote{Base: srv.URL}, pv.Height); err != nil {
		t.Fatal(err)
	}
	for i := range proven.Proofs {
		l, err := leafOf(&proven.Proofs[i])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := lc.VerifyLeaf(l); err != nil {
			t.Fatalf("proof %d of the proposal: %v", i, err)
		}
	}
	if code, body := getURL(t, srv.URL+"/"); code != http.StatusOK || !strings.Contains(body, "<html") {
		t.Fatalf("the app at /: %d %.200s", code, body)
	}

	// One of the four nodes stops (the first the gateway lists): reads
	// and submissions go on.
	n.stop(0)
	before := g.Height()
	st = submit(t, gw, srv.URL, "/v1/txs", n.sign("bob", &tx.Transfer{To: alice, Amount: 5}))
	if err := g.WaitHeight(ctx, st.Height); err != nil {
		t.Fatal(err)
	}
	if g.Height() <= before {
		t.Fatalf("the gateway stayed at height %d", before)
	}
	got = sameAsANode(t, srv.URL, n, "/v1/accounts/"+alice.ID().String())
	if !strings.Contains(got, `"balance":9980`) { // 10,000 − 25 + 5
		t.Fatalf("alice after the second transfer: %s", got)
	}
	for _, p := range []string{"/v1/organization", "/v1/governance", fmt.Sprintf("/v1/proposals/%d", id)} {
		sameAsANode(t, srv.URL, n, p)
	}
	waitFor(t, 10*time.Second, "the stopped node shown unreachable", func() bool {
		return g.Status().Gateway.Nodes[0].State == stateUnreachable
	})
	var status Status
	if _, body := getURL(t, srv.URL+"/v1/status"); json.Unmarshal([]byte(body), &status) != nil || status.Peers != 3 {
		t.Fatalf("status with a node down: %s", body)
	}
}
