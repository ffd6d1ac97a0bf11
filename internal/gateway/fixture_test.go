package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mass-consensus/mass/internal/api"
	"github.com/mass-consensus/mass/internal/app"
	"github.com/mass-consensus/mass/internal/app/orgapp"
	"github.com/mass-consensus/mass/internal/app/tx"
	"github.com/mass-consensus/mass/internal/chain"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/genesis"
	"github.com/mass-consensus/mass/internal/node"
	"github.com/mass-consensus/mass/internal/protocol/epoch"
	"github.com/mass-consensus/mass/internal/store/mem"
)

// testChainID is the chain ID of every fixture: two fixtures with other
// node keys are two chains under one name.
const testChainID = "gateway-test"

func seededKey(t testing.TB, tag string) *crypto.PrivateKey {
	seed := sha256.Sum256([]byte(tag))
	k, err := crypto.KeyFromSeed(seed[:])
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// fixture is a chain made in the test: the organization application over
// a memory store, each block certified by three of four node keys, and
// served by the node's real API (internal/api) over a fake backend, so
// that its answers and proofs are a node's.
type fixture struct {
	t       *testing.T
	genesis []byte
	app     *orgapp.App
	keys    []*crypto.PrivateKey // the nodes'
	set     chain.NodeSet
	alice   *crypto.PrivateKey // a supervisor
	bob     *crypto.PrivateKey // a member
	carol   *crypto.PrivateKey // a member
	nonces  map[crypto.PublicKey]uint64
	time    int64
	prev    *chain.Header
	backend *backend
}

// newFixture makes a chain whose node keys come from tag, with blocks
// holding transfers, a proposal (1, with two options, joined by bob, with
// a comment) and a second proposal.
func newFixture(t *testing.T, tag string) *fixture {
	f := &fixture{t: t, alice: seededKey(t, "alice"), bob: seededKey(t, "bob"), carol: seededKey(t, "carol"),
		nonces: map[crypto.PublicKey]uint64{}, time: 1_000_000, backend: newBackend()}
	appGen, _ := json.Marshal(orgapp.Genesis{Organization: "Gateway Co-op", Policy: "supervisor", Treasury: 5000, Accounts: []orgapp.GenesisAccount{
		{Key: f.alice.Public().String(), Name: "alice", Role: "supervisor", Balance: 1000},
		{Key: f.bob.Public().String(), Name: "bob", Role: "member", Balance: 100},
		{Key: f.carol.Public().String(), Name: "carol", Role: "member", Balance: 100},
	}})
	gen := &genesis.Genesis{ChainID: testChainID, Time: f.time, App: appGen}
	for i := range 4 {
		k := seededKey(t, fmt.Sprint(tag, "/node", i))
		f.keys = append(f.keys, k)
		f.set.Keys = append(f.set.Keys, k.Public())
		gen.Nodes = append(gen.Nodes, genesis.Node{Key: k.Public().String()})
	}
	raw, err := json.Marshal(gen)
	if err != nil {
		t.Fatal(err)
	}
	f.genesis = raw
	g, err := genesis.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if f.app, err = orgapp.New(mem.New(), g, orgapp.Options{}); err != nil {
		t.Fatal(err)
	}
	f.backend.set = f.set
	d := tx.Desire{Meeting: 3_600_000, Publicity: 3_600_000, Capacity: 10}
	f.block(f.transfer(f.alice, f.bob, 7))
	f.block(f.sign(f.alice, &tx.Create{Domain: "general", Title: "Paint the hall", Body: "Which colour?",
		Options: []tx.Option{{Title: "Blue"}, {Title: "Green"}}, Desire: d}))
	f.block(f.sign(f.bob, &tx.Join{Proposal: 1, Desire: d}), f.sign(f.bob, &tx.Comment{Proposal: 1, Text: "green, surely"}))
	f.block(f.sign(f.carol, &tx.Create{Domain: "general", Title: "A second one", Options: []tx.Option{{Title: "Yes"}}, Desire: d}),
		f.transfer(f.bob, f.carol, 3))
	return f
}

func (f *fixture) sign(from *crypto.PrivateKey, body tx.Body, cosigners ...*crypto.PrivateKey) []byte {
	t := tx.New(from.Public(), f.nonces[from.Public()], body)
	f.nonces[from.Public()]++
	for _, k := range append([]*crypto.PrivateKey{from}, cosigners...) {
		if err := t.Sign(testChainID, k); err != nil {
			f.t.Fatal(err)
		}
	}
	return t.Marshal()
}

func (f *fixture) transfer(from, to *crypto.PrivateKey, amount uint64) []byte {
	return f.sign(from, &tx.Transfer{To: to.Public(), Amount: amount}, to)
}

// block applies a block of txs and certifies it; every transaction must
// succeed.
func (f *fixture) block(txs ...[]byte) {
	f.t.Helper()
	h := f.backend.height() + 1
	f.time += 1000
	res, err := f.app.ApplyBlock(app.Block{Height: h, Time: f.time, Txs: txs})
	if err != nil {
		f.t.Fatal(err)
	}
	for i, r := range res.Txs {
		if r.Code != 0 {
			f.t.Fatalf("block %d, tx %d: %+v", h, i, r)
		}
	}
	hdr := chain.Header{ChainID: testChainID, Height: h, Time: f.time, BatchHash: chain.BatchHash(txs),
		StateRoot: res.StateRoot, NextNodes: f.set.Hash()}
	if f.prev != nil {
		hdr.Prev = f.prev.Hash()
	}
	col := chain.NewCollector(hdr, f.set)
	var cert *chain.Certificate
	for i := range 3 {
		if cert, err = col.Add(chain.SignHeader(f.keys[i], i, &hdr)); err != nil {
			f.t.Fatal(err)
		}
	}
	f.backend.add(&chain.Block{Header: hdr, Txs: txs}, cert)
	f.prev = &hdr
}

// node serves the fixture's chain through the node's API.
func (f *fixture) node() *httptest.Server {
	s := api.New(f.backend, nil, nil)
	s.SetState(f.app)
	srv := httptest.NewServer(s)
	f.t.Cleanup(srv.Close)
	return srv
}

// backend is the fake node under the API: the fixture's certified blocks.
type backend struct {
	mu        sync.Mutex
	blocks    map[uint64]*chain.Block
	certs     map[uint64]*chain.Certificate
	set       chain.NodeSet
	submitted [][]byte
	submitErr error
}

var _ api.Backend = (*backend)(nil)

func newBackend() *backend {
	return &backend{blocks: map[uint64]*chain.Block{}, certs: map[uint64]*chain.Certificate{}}
}

func (b *backend) add(blk *chain.Block, c *chain.Certificate) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.blocks[blk.Height], b.certs[blk.Height] = blk, c
}

func (b *backend) height() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return uint64(len(b.blocks))
}

func (b *backend) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.submitted)
}

func (b *backend) refuse(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.submitErr = err
}

func (b *backend) Submit(ctx context.Context, t []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.submitted = append(b.submitted, t)
	return b.submitErr
}

func (b *backend) SubmitBatch(ctx context.Context, txs [][]byte) []error {
	errs := make([]error, len(txs))
	for i, t := range txs {
		errs[i] = b.Submit(ctx, t)
	}
	return errs
}

func (b *backend) TxStatus(h epoch.TxHash) (uint64, bool, bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for height, blk := range b.blocks {
		for _, t := range blk.Txs {
			if epoch.HashTx(t) == h {
				return height, true, false, nil
			}
		}
	}
	return 0, false, false, nil
}

func (b *backend) Block(height uint64) (*chain.Block, *chain.Certificate, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	blk, ok := b.blocks[height]
	if !ok {
		return nil, nil, chain.ErrNoBlock
	}
	return blk, b.certs[height], nil
}

func (b *backend) Status() node.Status {
	h := b.height()
	return node.Status{ChainID: testChainID, Node: 0, Height: h, Certified: h, Member: true, Nodes: len(b.set.Keys), Coin: "local"}
}

func (b *backend) Subscribe(buffer int) (<-chan node.Commit, func()) {
	return make(chan node.Commit), func() {}
}

func (b *backend) NodeSet(hash chain.Hash) (chain.NodeSet, bool) {
	if hash == b.set.Hash() {
		return b.set, true
	}
	return chain.NodeSet{}, false
}

func (b *backend) GenesisNodeSet() chain.NodeSet { return b.set }

// newGateway starts a gateway over nodes (base URLs) that polls often,
// and closes it at the end of the test.
func newGateway(t *testing.T, genesisJSON []byte, nodes ...string) *Gateway {
	t.Helper()
	return newGatewayPolling(t, genesisJSON, 20*time.Millisecond, nodes...)
}

// newGatewayPolling is newGateway polling every poll.
func newGatewayPolling(t *testing.T, genesisJSON []byte, poll time.Duration, nodes ...string) *Gateway {
	t.Helper()
	g, err := New(Config{Genesis: genesisJSON, Nodes: nodes, Poll: poll, Timeout: 5 * time.Second,
		App: http.NotFoundHandler()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

// waitHeight waits, at most 10 s, until the gateway has verified height.
func waitHeight(t *testing.T, g *Gateway, height uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := g.WaitHeight(ctx, height); err != nil {
		t.Fatal(err)
	}
}

// get asks a handler (a gateway) or a server for path and returns the
// status and body.
func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code, rec.Body.String()
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

func getURL(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := httpClient.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// waitFor waits, at most d, until cond holds.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// errorCode is the API code of an error answer.
func errorCode(body string) string {
	var e struct {
		Error struct{ Code, Message string }
	}
	if json.Unmarshal([]byte(body), &e) != nil {
		return ""
	}
	return e.Error.Code
}

// goroutines waits, at most 5 s, until at most want goroutines run, and
// returns how many do.
func goroutines(want int) int {
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func contains(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}
