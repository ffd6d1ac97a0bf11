package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/mass-consensus/mass/internal/api"
	"github.com/mass-consensus/mass/internal/apijson"
	"github.com/mass-consensus/mass/internal/app"
	"github.com/mass-consensus/mass/internal/app/orgapp"
	"github.com/mass-consensus/mass/internal/app/state"
	"github.com/mass-consensus/mass/internal/app/tx"
	"github.com/mass-consensus/mass/internal/chain"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/genesis"
	"github.com/mass-consensus/mass/internal/node"
	"github.com/mass-consensus/mass/internal/protocol/epoch"
	"github.com/mass-consensus/mass/internal/smt"
	"github.com/mass-consensus/mass/internal/store/mem"
)

// The test chain: heights 1..changeAt are certified by the genesis set of 4
// nodes, the rest by a set of 7 (one node gone, four new), which header
// changeAt names in next_nodes.
const (
	chainID      = "web-test"
	heights      = 110
	changeAt     = 50
	genesisTime  = 1_750_000_000_000 // Unix ms
	aliceBalance = 1<<60 + 7         // above 2^53: a JS Number would lose it
	bobBalance   = 10
	carolBalance = 5
)

func blockTime(h uint64) int64 { return genesisTime + int64(h)*1000 }

func seeded(tb testing.TB, tag string) *crypto.PrivateKey {
	tb.Helper()
	seed := sha256.Sum256([]byte(tag))
	k, err := crypto.KeyFromSeed(seed[:])
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// fixture is a chain of real organization blocks, certified by real node
// keys, served by a real API over a read-only backend, beside the app.
type fixture struct {
	gen         *genesis.Genesis
	genesisText string
	app         *orgapp.App
	eras        [][]*crypto.PrivateKey // the nodes of each set
	sets        []chain.NodeSet
	blocks      []*chain.Block // blocks[h-1] is height h
	certs       []*chain.Certificate
	alice, bob  *crypto.PrivateKey
	carol       *crypto.PrivateKey // a guest who applies to join in block 2
	base        string             // the test server's URL
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{alice: seeded(t, "alice"), bob: seeded(t, "bob"), carol: seeded(t, "carol")}
	var era0 []*crypto.PrivateKey
	for i := range 4 {
		era0 = append(era0, seeded(t, fmt.Sprint("node", i)))
	}
	era1 := slices.Clone(era0[1:])
	for i := 4; i < 8; i++ {
		era1 = append(era1, seeded(t, fmt.Sprint("node", i)))
	}
	f.eras = [][]*crypto.PrivateKey{era0, era1}
	for _, keys := range f.eras {
		var s chain.NodeSet
		for _, k := range keys {
			s.Keys = append(s.Keys, k.Public())
		}
		f.sets = append(f.sets, s)
	}
	appGen, err := json.Marshal(orgapp.Genesis{Organization: "Web", Policy: "supervisor", Accounts: []orgapp.GenesisAccount{
		{Key: f.alice.Public().String(), Name: "alice", Role: "supervisor", Balance: aliceBalance},
		{Key: f.bob.Public().String(), Name: "bob", Role: "member", Balance: bobBalance},
		{Key: f.carol.Public().String(), Role: "guest", Balance: carolBalance},
	}})
	if err != nil {
		t.Fatal(err)
	}
	f.gen = &genesis.Genesis{ChainID: chainID, Time: genesisTime, App: appGen}
	for i, k := range era0 {
		f.gen.Nodes = append(f.gen.Nodes, genesis.Node{Key: k.Public().String(), Addrs: []string{fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", 9000+i)}})
	}
	text, err := json.MarshalIndent(f.gen, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	f.genesisText = string(text)
	if f.app, err = orgapp.New(mem.New(), f.gen, orgapp.Options{}); err != nil {
		t.Fatal(err)
	}
	for h := uint64(1); h <= heights; h++ {
		f.addBlock(t, h)
	}
	f.serve(t)
	return f
}

// addBlock applies block h (a transfer of h from alice to bob; in block 2,
// carol's application too), then makes and certifies its header.
func (f *fixture) addBlock(t *testing.T, h uint64) {
	t.Helper()
	tr := tx.New(f.alice.Public(), h-1, &tx.Transfer{To: f.bob.Public(), Amount: h})
	_ = tr.Sign(chainID, f.alice)
	_ = tr.Sign(chainID, f.bob)
	txs := [][]byte{tr.Marshal()}
	if h == 2 {
		apply := tx.New(f.carol.Public(), 0, &tx.Apply{Name: "carol", Note: "let me in"})
		_ = apply.Sign(chainID, f.carol)
		txs = append(txs, apply.Marshal())
	}
	res, err := f.app.ApplyBlock(app.Block{Height: h, Time: blockTime(h), Txs: txs})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res.Txs {
		if r.Code != 0 {
			t.Fatalf("block %d, tx %d: %+v", h, i, r)
		}
	}
	hdr := chain.Header{ChainID: chainID, Height: h, Epoch: h - 1, Time: blockTime(h), BatchHash: chain.BatchHash(txs),
		StateRoot: res.StateRoot, NextNodes: f.sets[eraOf(h+1)].Hash()}
	if h > 1 {
		hdr.Prev = f.blocks[h-2].Hash()
	}
	f.blocks = append(f.blocks, &chain.Block{Header: hdr, Txs: txs})
	f.certs = append(f.certs, f.certify(&hdr, eraOf(h), signersOf(f.sets[eraOf(h)], h)))
}

// eraOf is the set that certifies height h.
func eraOf(h uint64) int {
	if h > changeAt {
		return 1
	}
	return 0
}

// signersOf is a quorum of the set that varies with the height: the
// indexes from h mod n on, wrapping, sorted.
func signersOf(set chain.NodeSet, h uint64) []int {
	n := set.N()
	var s []int
	for j := range set.Quorum() {
		s = append(s, (int(h)+j)%n)
	}
	slices.Sort(s)
	return s
}

// certify signs a header by the given signers of an era's set.
func (f *fixture) certify(h *chain.Header, era int, signers []int) *chain.Certificate {
	c := &chain.Certificate{Height: h.Height, BlockHash: h.Hash()}
	for _, i := range signers {
		c.Votes = append(c.Votes, chain.SignHeader(f.eras[era][i], i, h))
	}
	return c
}

// header returns a copy of the header of height h.
func (f *fixture) header(h uint64) chain.Header { return f.blocks[h-1].Header }

// serve starts, on 127.0.0.1, the API over the chain (/v1/), the app (/)
// and the test harness (/test/).
func (f *fixture) serve(t *testing.T) {
	t.Helper()
	s := api.New(backend{f}, nil, nil)
	s.SetState(f.app)
	mux := http.NewServeMux()
	mux.Handle("/v1/", s)
	mux.Handle("/test/", http.StripPrefix("/test", newHandler(os.DirFS("testdata"))))
	mux.Handle("/", Handler())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	f.base = srv.URL
}

// get returns the body of an answer of the test server, which must be 200.
func (f *fixture) get(t *testing.T, path string) string {
	t.Helper()
	resp, err := httpClient.Get(f.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %s", path, resp.Status, b)
	}
	return string(b)
}

// segment is the API's answer for the headers from..to.
func (f *fixture) segment(t *testing.T, from, to uint64) string {
	return f.get(t, fmt.Sprintf("/v1/headers?from=%d&to=%d", from, to))
}

// account is the API's answer about an account (an ID or a public key, hex)
// with its proof at height.
func (f *fixture) account(t *testing.T, who string, height uint64) string {
	return f.get(t, fmt.Sprintf("/v1/accounts/%s?prove=1&height=%d", who, height))
}

// organization is the API's answer about the organization at height.
func (f *fixture) organization(t *testing.T, height uint64) string {
	return f.get(t, fmt.Sprintf("/v1/organization?prove=1&height=%d", height))
}

// absent returns an account that does not exist whose proof of absence at
// height ends at the given terminal (an empty subtree, or another leaf).
func (f *fixture) absent(t *testing.T, height uint64, terminal smt.TerminalKind) crypto.PublicKey {
	t.Helper()
	for i := range 256 {
		k := seeded(t, fmt.Sprint("nobody", i)).Public()
		l, err := f.app.Prove(height, state.AccountKey(k.ID()))
		if err != nil {
			t.Fatal(err)
		}
		if !l.Found && l.Proof.Terminal == terminal {
			return k
		}
	}
	t.Fatalf("no absent account with terminal %d in 256 tries", terminal)
	return crypto.PublicKey{}
}

// httpClient bounds the test's own requests.
var httpClient = &http.Client{Timeout: 30 * time.Second}

// backend is a read-only node holding the fixture's chain, for api.Server.
type backend struct{ f *fixture }

var _ api.Backend = backend{}

var errReadOnly = errors.New("web test: a read-only node")

func (b backend) Submit(context.Context, []byte) error { return errReadOnly }

func (b backend) SubmitBatch(_ context.Context, txs [][]byte) []error {
	errs := make([]error, len(txs))
	for i := range errs {
		errs[i] = errReadOnly
	}
	return errs
}

func (b backend) TxStatus(epoch.TxHash) (uint64, bool, bool, error) { return 0, false, false, nil }

func (b backend) Block(h uint64) (*chain.Block, *chain.Certificate, error) {
	if h == 0 || h > uint64(len(b.f.blocks)) {
		return nil, nil, fmt.Errorf("%w: height %d", chain.ErrNoBlock, h)
	}
	return b.f.blocks[h-1], b.f.certs[h-1], nil
}

func (b backend) Status() node.Status {
	n := uint64(len(b.f.blocks))
	return node.Status{ChainID: chainID, Height: n, Certified: n, Nodes: b.f.sets[eraOf(n+1)].N(), Era: eraOf(n + 1)}
}

func (b backend) Subscribe(int) (<-chan node.Commit, func()) {
	ch := make(chan node.Commit)
	return ch, func() {}
}

func (b backend) NodeSet(hash chain.Hash) (chain.NodeSet, bool) {
	for _, s := range b.f.sets {
		if s.Hash() == hash {
			return s, true
		}
	}
	return chain.NodeSet{}, false
}

func (b backend) GenesisNodeSet() chain.NodeSet { return b.f.sets[0] }

// Editing answers, to tamper with them: each decodes the JSON (or hex) as
// the API encodes it, changes it, and encodes it again.

func editJSON[T any](t *testing.T, text string, edit func(*T)) string {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		t.Fatal(err)
	}
	edit(&v)
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func editSegment(t *testing.T, text string, edit func(*apijson.Headers)) string {
	return editJSON(t, text, edit)
}

func editAccount(t *testing.T, text string, edit func(*apijson.Account)) string {
	return editJSON(t, text, edit)
}

func editLeaf(t *testing.T, text string, edit func(*apijson.Leaf)) string {
	return editAccount(t, text, func(a *apijson.Account) { edit(a.Proof) })
}

func editCertificate(t *testing.T, h string, edit func(*chain.Certificate)) string {
	t.Helper()
	raw, err := hex.DecodeString(h)
	if err != nil {
		t.Fatal(err)
	}
	c, err := chain.UnmarshalCertificate(raw)
	if err != nil {
		t.Fatal(err)
	}
	edit(c)
	return hex.EncodeToString(c.Marshal())
}

func editProof(t *testing.T, h string, edit func(*smt.Proof)) string {
	t.Helper()
	raw, err := hex.DecodeString(h)
	if err != nil {
		t.Fatal(err)
	}
	p, err := smt.UnmarshalProof(raw)
	if err != nil {
		t.Fatal(err)
	}
	edit(p)
	return hex.EncodeToString(p.Marshal())
}

// flipByte flips the low bit of byte i of a hex string (i < 0 counts
// from the end).
func flipByte(t *testing.T, h string, i int) string {
	t.Helper()
	raw, err := hex.DecodeString(h)
	if err != nil {
		t.Fatal(err)
	}
	if i < 0 {
		i += len(raw)
	}
	raw[i] ^= 0x01
	return hex.EncodeToString(raw)
}

func headerHex(h *chain.Header) string { return hex.EncodeToString(h.Marshal()) }

func certHex(c *chain.Certificate) string { return hex.EncodeToString(c.Marshal()) }

// segmentOf encodes headers and certificates as the API does.
func segmentOf(t *testing.T, headers []chain.Header, certs map[uint64]*chain.Certificate, sets map[chain.Hash]chain.NodeSet) string {
	t.Helper()
	s := &apijson.Segment{Certificates: certs, NodeSets: sets}
	for i := range headers {
		s.Headers = append(s.Headers, &headers[i])
	}
	return mustJSON(t, s.JSON())
}

func u64s(v uint64) string { return strconv.FormatUint(v, 10) }
