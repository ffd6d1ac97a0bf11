package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/mass-consensus/mass/internal/apijson"
	"github.com/mass-consensus/mass/internal/app"
	"github.com/mass-consensus/mass/internal/app/gov"
	"github.com/mass-consensus/mass/internal/app/orgapp"
	"github.com/mass-consensus/mass/internal/app/state"
	"github.com/mass-consensus/mass/internal/app/tx"
	"github.com/mass-consensus/mass/internal/chain"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/genesis"
	"github.com/mass-consensus/mass/internal/protocol/epoch"
	"github.com/mass-consensus/mass/internal/store/mem"
	"github.com/mass-consensus/mass/light"
)

func seededKey(t *testing.T, tag string) *crypto.PrivateKey {
	seed := sha256.Sum256([]byte(tag))
	k, err := crypto.KeyFromSeed(seed[:])
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// ledgerFixture is an API over a real application with three certified
// blocks, each a transfer of 7 from alice to bob.
type ledgerFixture struct {
	srv      *httptest.Server
	fake     *fakeBackend
	gen      *genesis.Genesis
	bob      *crypto.PrivateKey
	failedTx [32]byte
	createTx [32]byte // created proposal 1 in block 3
}

func newLedger(t *testing.T) *ledgerFixture {
	const chainID = "api-test"
	alice, bob := seededKey(t, "alice"), seededKey(t, "bob")
	appGen, _ := json.Marshal(orgapp.Genesis{Organization: "API", Policy: "supervisor", Accounts: []orgapp.GenesisAccount{
		{Key: alice.Public().String(), Name: "alice", Role: "supervisor", Balance: 100},
		{Key: bob.Public().String(), Name: "bob", Role: "member"},
	}})
	f := &ledgerFixture{fake: newFake(), bob: bob, gen: &genesis.Genesis{ChainID: chainID, App: appGen}}
	var nodes []*crypto.PrivateKey
	for i := 0; i < 4; i++ {
		k := seededKey(t, fmt.Sprint("node", i))
		nodes = append(nodes, k)
		f.fake.set.Keys = append(f.fake.set.Keys, k.Public())
		f.gen.Nodes = append(f.gen.Nodes, genesis.Node{Key: k.Public().String()})
	}
	a, err := orgapp.New(mem.New(), f.gen, orgapp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var prev *chain.Header
	for h := uint64(1); h <= 3; h++ {
		tr := tx.New(alice.Public(), h, &tx.Transfer{To: bob.Public(), Amount: 7})
		_ = tr.Sign(chainID, alice)
		_ = tr.Sign(chainID, bob)
		txs := [][]byte{tr.Marshal()}
		if h == 3 {
			create := tx.New(alice.Public(), 50, &tx.Create{Domain: "general", Title: "Paint the hall",
				Options: []tx.Option{{Title: "Blue"}, {Title: "Green"}},
				Desire:  tx.Desire{Meeting: 3_600_000, Publicity: 3_600_000, Capacity: 10}})
			_ = create.Sign(chainID, alice)
			comment := tx.New(alice.Public(), 51, &tx.Comment{Proposal: 1, Text: "蓝色，当然"})
			_ = comment.Sign(chainID, alice)
			txs = append(txs, create.Marshal(), comment.Marshal())
			f.createTx = sha256.Sum256(create.Marshal())
			f.fake.txs[f.createTx] = fakeTx{height: 3, committed: true}
		}
		if h == 2 {
			overdraft := tx.New(alice.Public(), 40, &tx.Transfer{To: bob.Public(), Amount: 1000})
			_ = overdraft.Sign(chainID, alice)
			_ = overdraft.Sign(chainID, bob)
			txs = append(txs, overdraft.Marshal())
			f.failedTx = sha256.Sum256(overdraft.Marshal())
			f.fake.txs[f.failedTx] = fakeTx{height: 2, committed: true}
		}
		res, err := a.ApplyBlock(app.Block{Height: h, Time: int64(h), Txs: txs})
		if err != nil {
			t.Fatal(err)
		}
		hdr := chain.Header{ChainID: chainID, Height: h, Time: int64(h), BatchHash: chain.BatchHash(txs),
			StateRoot: res.StateRoot, NextNodes: f.fake.set.Hash()}
		if prev != nil {
			hdr.Prev = prev.Hash()
		}
		col := chain.NewCollector(hdr, f.fake.set)
		var cert *chain.Certificate
		for i := 0; i < 3; i++ {
			if cert, err = col.Add(chain.SignHeader(nodes[i], i, &hdr)); err != nil {
				t.Fatal(err)
			}
		}
		f.fake.blocks[h] = &chain.Block{Header: hdr, Txs: txs}
		f.fake.certs[h] = cert
		prev = &hdr
	}
	f.fake.status.Certified = 3
	s := New(f.fake, nil, nil)
	s.SetState(a)
	f.srv = httptest.NewServer(s)
	t.Cleanup(f.srv.Close)
	return f
}

// genesisJSON is the fixture's genesis file.
func (f *ledgerFixture) genesisJSON(t *testing.T) []byte {
	t.Helper()
	raw, err := json.Marshal(f.gen)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func (f *ledgerFixture) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(f.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, b.String()
}

// TestProvenAccountsVerify reads bob's account with its proof at each
// height through the API and checks it with the light client.
func TestProvenAccountsVerify(t *testing.T) {
	f := newLedger(t)
	client, err := light.New(f.genesisJSON(t))
	if err != nil {
		t.Fatal(err)
	}
	remote := &light.Remote{Base: f.srv.URL}
	bob := light.AccountID(f.bob.Public().ID())
	ctx := context.Background()
	if err := client.Sync(ctx, remote, 3); err != nil {
		t.Fatal(err)
	}
	for h := uint64(1); h <= 3; h++ {
		leaf, err := remote.Account(ctx, bob, h)
		if err != nil {
			t.Fatal(err)
		}
		acct, _, err := client.VerifyAccount(leaf, bob)
		if err != nil || acct == nil || acct.Balance != 7*h {
			t.Fatalf("height %d: %+v %v", h, acct, err)
		}
	}
	// The latest, by public key, without a proof.
	code, body := f.get(t, "/v1/accounts/"+f.bob.Public().String())
	if code != http.StatusOK || !strings.Contains(body, `"balance":21`) || strings.Contains(body, `"proof"`) {
		t.Fatalf("%d %s", code, body)
	}
	// An account nobody has: absent, and proven so.
	nobody := light.AccountID(seededKey(t, "nobody").Public().ID())
	leaf, err := remote.Account(ctx, nobody, 0)
	if err != nil {
		t.Fatal(err)
	}
	if acct, _, err := client.VerifyAccount(leaf, nobody); err != nil || acct != nil {
		t.Fatalf("absent account: %+v %v", acct, err)
	}
	org, err := remote.Organization(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if o, _, err := client.VerifyOrganization(org); err != nil || o.Members != 2 {
		t.Fatalf("organization: %+v %v", o, err)
	}
}

func TestStateRequestsRejected(t *testing.T) {
	f := newLedger(t)
	bob := f.bob.Public().ID().String()
	for path, want := range map[string]int{
		"/v1/accounts/zz":                           http.StatusBadRequest,
		"/v1/accounts/" + bob + "?height=4":         http.StatusNotFound,
		"/v1/accounts/" + bob + "?height=x":         http.StatusBadRequest,
		"/v1/accounts/" + bob + "?prove=maybe":      http.StatusBadRequest,
		"/v1/accounts/" + bob + "?height=0&prove=1": http.StatusNotFound,
		"/v1/headers?from=0&to=2":                   http.StatusBadRequest,
		"/v1/headers?from=3&to=2":                   http.StatusBadRequest,
		"/v1/headers?from=1&to=4":                   http.StatusNotFound,
		"/v1/headers?from=1&to=1001":                http.StatusBadRequest,
		"/v1/headers":                               http.StatusBadRequest,
	} {
		if code, body := f.get(t, path); code != want || !strings.Contains(body, `"error"`) {
			t.Errorf("%s: %d %s, want %d", path, code, body, want)
		}
	}
	// A node without application state says so.
	plain := httptest.NewServer(New(newFake(), nil, nil))
	defer plain.Close()
	resp, err := http.Get(plain.URL + "/v1/accounts/" + bob)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("no state: %d", resp.StatusCode)
	}
}

// TestAccountAtAnotherRecordsKey asks for accounts whose IDs are the keys
// of other records: each answer is 404 saying what the key holds, not a
// 500.
func TestAccountAtAnotherRecordsKey(t *testing.T) {
	f := newLedger(t)
	for key, want := range map[state.Key]string{
		state.OrgKey:     "the organization record",
		state.NodesKey:   "the node set",
		gov.RegistryKey:  "the governance registry",
		gov.ExecutorsKey: "the executors record",
	} {
		code, body := f.get(t, "/v1/accounts/"+hex.EncodeToString(key[:]))
		if code != http.StatusNotFound || !strings.Contains(body, `"not_found"`) || !strings.Contains(body, want) {
			t.Errorf("account at the key of %s: %d %s", want, code, body)
		}
	}
	// The treasury is an account record under a named key: it reads.
	if code, body := f.get(t, "/v1/accounts/"+hex.EncodeToString(state.TreasuryKey[:])); code != http.StatusOK || !strings.Contains(body, `"found":true`) {
		t.Errorf("the treasury: %d %s", code, body)
	}
}

func TestCommittedFailureShowsItsReason(t *testing.T) {
	f := newLedger(t)
	code, body := f.get(t, "/v1/txs/"+hex.EncodeToString(f.failedTx[:]))
	if code != http.StatusOK || !strings.Contains(body, fmt.Sprintf(`"code":%d`, orgapp.CodeFunds)) || !strings.Contains(body, "less than 1000") {
		t.Fatalf("%d %s", code, body)
	}
	var h epoch.TxHash
	f.fake.txs[h] = fakeTx{height: 1, committed: true}
	if code, body := f.get(t, "/v1/txs/"+hex.EncodeToString(h[:])); code != http.StatusOK || !strings.Contains(body, `"code":0`) || strings.Contains(body, "proposal") {
		t.Fatalf("success: %d %s", code, body)
	}
	if code, body := f.get(t, "/v1/txs/"+hex.EncodeToString(f.createTx[:])); code != http.StatusOK || !strings.Contains(body, `"proposal":1`) {
		t.Fatalf("a create: %d %s, want the proposal it made", code, body)
	}
}

// TestCommentsProven: GET /v1/proposals/{id}/comments?prove=1 lists the
// records the comments are read from (the proposal's, its text's, each
// comment's, each author's account) with one proof each, which the light
// client verifies and whose values are the comments shown; without
// ?prove=1 the records are listed without proofs.
func TestCommentsProven(t *testing.T) {
	f := newLedger(t)
	client, err := light.New(f.genesisJSON(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Sync(context.Background(), &light.Remote{Base: f.srv.URL}, 3); err != nil {
		t.Fatal(err)
	}
	var out struct {
		Height   uint64               `json:"height"`
		Comments []orgapp.CommentView `json:"comments"`
		Records  []string             `json:"records"`
		Proofs   []light.Leaf         `json:"proofs"`
	}
	code, body := f.get(t, "/v1/proposals/1/comments?prove=1")
	if err := json.Unmarshal([]byte(body), &out); code != http.StatusOK || err != nil {
		t.Fatalf("%d %s (%v)", code, body, err)
	}
	alice := seededKey(t, "alice").Public().ID()
	if len(out.Comments) != 1 || out.Comments[0].Text != "蓝色，当然" || out.Comments[0].Name != "alice" {
		t.Fatalf("comments %+v", out.Comments)
	}
	want, err := apijson.CommentRecords(1, out.Comments)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(out.Records, want) || len(want) != 4 || want[3] != hex.EncodeToString(alice[:]) {
		t.Fatalf("records %v, want %v", out.Records, want)
	}
	if len(out.Proofs) != len(out.Records) {
		t.Fatalf("%d proofs for %d records", len(out.Proofs), len(out.Records))
	}
	for i, l := range out.Proofs {
		rec, err := client.VerifyLeaf(&l)
		if err != nil || !rec.Found || l.Key.String() != out.Records[i] || l.Height != out.Height {
			t.Fatalf("proof %d (%s): %v", i, l.Key, err)
		}
	}
	c, err := gov.UnmarshalComment(out.Proofs[2].Value)
	if err != nil || c.Text != out.Comments[0].Text || c.Author != alice {
		t.Fatalf("the proven comment %+v (%v)", c, err)
	}
	pk := gov.ProposalKey(1)
	code, body = f.get(t, "/v1/proposals/1/comments?from=1")
	if code != http.StatusOK || strings.Contains(body, `"proofs"`) || !strings.Contains(body, `"comments":[]`) ||
		!strings.Contains(body, hex.EncodeToString(pk[:])) {
		t.Fatalf("from 1, unproven: %d %s", code, body)
	}
}

// TestProposalRoutes reads a proposal, the list and the domains, checks the
// proofs of every record with the light client, and the typed submission
// routes.
func TestProposalRoutes(t *testing.T) {
	f := newLedger(t)
	client, err := light.New(f.genesisJSON(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := client.Sync(ctx, &light.Remote{Base: f.srv.URL}, 3); err != nil {
		t.Fatal(err)
	}
	var p struct {
		Height   uint64 `json:"height"`
		Proposal struct {
			ID      uint64 `json:"id"`
			Title   string `json:"title"`
			State   string `json:"state"`
			Options []struct {
				Title string `json:"title"`
			} `json:"options"`
			Records []string `json:"records"`
		} `json:"proposal"`
		Proofs []light.Leaf `json:"proofs"`
	}
	code, body := f.get(t, "/v1/proposals/1?prove=1")
	if code != http.StatusOK {
		t.Fatalf("%d %s", code, body)
	}
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatal(err)
	}
	if p.Proposal.Title != "Paint the hall" || len(p.Proposal.Options) != 2 || p.Proposal.State == "" {
		t.Fatalf("proposal %+v", p.Proposal)
	}
	if len(p.Proofs) != len(p.Proposal.Records) || len(p.Proofs) == 0 {
		t.Fatalf("%d proofs for %d records", len(p.Proofs), len(p.Proposal.Records))
	}
	for i, l := range p.Proofs {
		if l.Key.String() != p.Proposal.Records[i] || !l.Found {
			t.Fatalf("proof %d is of %s, found %v", i, l.Key, l.Found)
		}
		if _, err := client.VerifyLeaf(&l); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
	if code, body := f.get(t, "/v1/proposals?domain=general&prove=1"); code != http.StatusOK || !strings.Contains(body, "Paint the hall") {
		t.Fatalf("list: %d %s", code, body)
	}
	if code, body := f.get(t, "/v1/governance"); code != http.StatusOK || !strings.Contains(body, `"general"`) {
		t.Fatalf("governance: %d %s", code, body)
	}
	// The executors and the treasury, each proven.
	for path, want := range map[string]string{"/v1/executors?prove=1": `"executors":[]`, "/v1/treasury?prove=1": `"name":"treasury"`} {
		code, body := f.get(t, path)
		var out struct {
			Proof  *light.Leaf  `json:"proof"`
			Proofs []light.Leaf `json:"proofs"`
		}
		if err := json.Unmarshal([]byte(body), &out); code != http.StatusOK || err != nil || !strings.Contains(body, want) {
			t.Fatalf("%s: %d %s (%v)", path, code, body, err)
		}
		if out.Proof != nil {
			out.Proofs = append(out.Proofs, *out.Proof)
		}
		if len(out.Proofs) != 1 {
			t.Fatalf("%s: %d proofs", path, len(out.Proofs))
		}
		if _, err := client.VerifyLeaf(&out.Proofs[0]); err != nil || !out.Proofs[0].Found {
			t.Fatalf("%s: the proof does not verify: %v", path, err)
		}
	}
	for path, want := range map[string]int{
		"/v1/proposals/99/comments":       http.StatusNotFound,
		"/v1/proposals/1/comments?from=x": http.StatusBadRequest,
		"/v1/proposals/99":                http.StatusNotFound,
		"/v1/proposals/x":                 http.StatusBadRequest,
		"/v1/proposals?domain=nowhere":    http.StatusNotFound,
		"/v1/proposals?page=x":            http.StatusBadRequest,
	} {
		if code, body := f.get(t, path); code != want {
			t.Errorf("%s: %d %s, want %d", path, code, body, want)
		}
	}
	// The typed routes take only their own type, about their proposal.
	alice := seededKey(t, "alice")
	join := tx.New(alice.Public(), 60, &tx.Join{Proposal: 1, Desire: tx.Desire{Meeting: 60_000, Publicity: 60_000, Capacity: 2}})
	_ = join.Sign("api-test", alice)
	post := func(path string, raw []byte) int {
		resp, err := http.Post(f.srv.URL+path, "application/octet-stream", strings.NewReader(string(raw)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("/v1/proposals/2/join", join.Marshal()); code != http.StatusBadRequest {
		t.Fatalf("a join of proposal 1 posted to proposal 2: %d", code)
	}
	if code := post("/v1/proposals", join.Marshal()); code != http.StatusBadRequest {
		t.Fatalf("a join posted as a creation: %d", code)
	}
	if code := post("/v1/proposals/1/join", join.Marshal()); code != http.StatusAccepted {
		t.Fatalf("a join: %d", code)
	}
	if got := f.fake.lastSubmitted(); string(got) != string(join.Marshal()) {
		t.Fatal("the join did not reach the node")
	}
}
