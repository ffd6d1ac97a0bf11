package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mass-consensus/mass/internal/app"
	"github.com/mass-consensus/mass/internal/app/orgapp"
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
	client, err := light.New(f.gen)
	if err != nil {
		t.Fatal(err)
	}
	remote := &light.Remote{Base: f.srv.URL}
	ctx := context.Background()
	if err := client.Sync(ctx, remote, 3); err != nil {
		t.Fatal(err)
	}
	for h := uint64(1); h <= 3; h++ {
		leaf, err := remote.Account(ctx, f.bob.Public().ID(), h)
		if err != nil {
			t.Fatal(err)
		}
		acct, bal, err := client.VerifyAccount(leaf, f.bob.Public().ID())
		if err != nil || acct == nil || bal != 7*h {
			t.Fatalf("height %d: %+v %d %v", h, acct, bal, err)
		}
	}
	// The latest, by public key, without a proof.
	code, body := f.get(t, "/v1/accounts/"+f.bob.Public().String())
	if code != http.StatusOK || !strings.Contains(body, `"balance":21`) || strings.Contains(body, `"proof"`) {
		t.Fatalf("%d %s", code, body)
	}
	// An account nobody has: absent, and proven so.
	nobody := seededKey(t, "nobody").Public().ID()
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
	if o, err := client.VerifyOrganization(org); err != nil || o.Members != 2 {
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

func TestCommittedFailureShowsItsReason(t *testing.T) {
	f := newLedger(t)
	code, body := f.get(t, "/v1/txs/"+hex.EncodeToString(f.failedTx[:]))
	if code != http.StatusOK || !strings.Contains(body, fmt.Sprintf(`"code":%d`, orgapp.CodeFunds)) || !strings.Contains(body, "less than 1000") {
		t.Fatalf("%d %s", code, body)
	}
	var h epoch.TxHash
	f.fake.txs[h] = fakeTx{height: 1, committed: true}
	if code, body := f.get(t, "/v1/txs/"+hex.EncodeToString(h[:])); code != http.StatusOK || !strings.Contains(body, `"code":0`) {
		t.Fatalf("success: %d %s", code, body)
	}
}
