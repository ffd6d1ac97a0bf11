package light

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/mass-consensus/mass/internal/apijson"
	"github.com/mass-consensus/mass/internal/app"
	"github.com/mass-consensus/mass/internal/app/orgapp"
	"github.com/mass-consensus/mass/internal/app/state"
	"github.com/mass-consensus/mass/internal/app/tx"
	"github.com/mass-consensus/mass/internal/chain"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/genesis"
	"github.com/mass-consensus/mass/internal/smt"
	"github.com/mass-consensus/mass/internal/store/mem"
)

const chainID = "light-test"

func key(t testing.TB, tag string, i int) *crypto.PrivateKey {
	t.Helper()
	seed := make([]byte, crypto.SeedSize)
	copy(seed, fmt.Sprintf("%s-%d", tag, i))
	k, err := crypto.KeyFromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// chainFixture is a chain of real application blocks certified by node
// sets that change: heights 1..changeAt by the genesis set of 4 nodes, the
// rest by a set of 5 (one node replaced, two added).
type chainFixture struct {
	gen      *genesis.Genesis
	app      *orgapp.App
	nodes    [][]*crypto.PrivateKey // the set in force, by era
	sets     []chain.NodeSet
	headers  []*chain.Header
	certs    []*chain.Certificate
	alice    *crypto.PrivateKey
	bob      *crypto.PrivateKey
	changeAt uint64
}

func newChain(t *testing.T, heights int, changeAt uint64) *chainFixture {
	f := &chainFixture{changeAt: changeAt, alice: key(t, "alice", 0), bob: key(t, "bob", 0)}
	var era0, era1 []*crypto.PrivateKey
	for i := 0; i < 4; i++ {
		era0 = append(era0, key(t, "node", i))
	}
	era1 = append(append(era1, era0[1:]...), key(t, "node", 4), key(t, "node", 5))
	f.nodes = [][]*crypto.PrivateKey{era0, era1}
	for _, keys := range f.nodes {
		var s chain.NodeSet
		for _, k := range keys {
			s.Keys = append(s.Keys, k.Public())
		}
		f.sets = append(f.sets, s)
	}
	appGen, _ := json.Marshal(orgapp.Genesis{Organization: "Light", Policy: "supervisor", Accounts: []orgapp.GenesisAccount{
		{Key: f.alice.Public().String(), Name: "alice", Role: "supervisor", Balance: 1000},
		{Key: f.bob.Public().String(), Name: "bob", Role: "member", Balance: 10},
	}})
	f.gen = &genesis.Genesis{ChainID: chainID, Time: 1, App: appGen}
	for _, k := range era0 {
		f.gen.Nodes = append(f.gen.Nodes, genesis.Node{Key: k.Public().String()})
	}
	var err error
	if f.app, err = orgapp.New(mem.New(), f.gen, orgapp.Options{}); err != nil {
		t.Fatal(err)
	}

	var prev *chain.Header
	for h := uint64(1); h <= uint64(heights); h++ {
		tr := tx.New(f.alice.Public(), h-1, &tx.Transfer{To: f.bob.Public(), Amount: h})
		_ = tr.Sign(chainID, f.alice)
		_ = tr.Sign(chainID, f.bob)
		res, err := f.app.ApplyBlock(app.Block{Height: h, Time: int64(h), Txs: [][]byte{tr.Marshal()}})
		if err != nil || res.Txs[0].Code != 0 {
			t.Fatalf("block %d: %v %+v", h, err, res.Txs)
		}
		era := f.eraOf(h)
		next := f.eraOf(h + 1)
		hdr := &chain.Header{ChainID: chainID, Height: h, Epoch: h - 1, Time: int64(h),
			BatchHash: chain.BatchHash(nil), StateRoot: res.StateRoot, NextNodes: f.sets[next].Hash()}
		if prev != nil {
			hdr.Prev = prev.Hash()
		}
		f.headers = append(f.headers, hdr)
		f.certs = append(f.certs, f.certify(hdr, era, f.quorum(era)))
		prev = hdr
	}
	return f
}

func (f *chainFixture) eraOf(h uint64) int {
	if f.changeAt > 0 && h > f.changeAt {
		return 1
	}
	return 0
}

func (f *chainFixture) quorum(era int) []int {
	var signers []int
	for i := 0; i < f.sets[era].Quorum(); i++ {
		signers = append(signers, i)
	}
	return signers
}

// certify signs a header by the given signers of an era's set.
func (f *chainFixture) certify(h *chain.Header, era int, signers []int) *chain.Certificate {
	c := &chain.Certificate{Height: h.Height, BlockHash: h.Hash()}
	for _, i := range signers {
		c.Votes = append(c.Votes, chain.SignHeader(f.nodes[era][i], i, h))
	}
	return c
}

// segment is what a node would send for heights from..to.
func (f *chainFixture) segment(from, to uint64) *Segment {
	s := &Segment{Certificates: map[uint64][]byte{}, NodeSets: map[Hash]NodeSet{}}
	for h := from; h <= to; h++ {
		s.Headers = append(s.Headers, f.headers[h-1].Marshal())
		if f.eraOf(h) != f.eraOf(h+1) || h == to {
			s.Certificates[h] = f.certs[h-1].Marshal()
		}
		if f.eraOf(h) != f.eraOf(h+1) {
			s.NodeSets[Hash(f.sets[1].Hash())] = nodeSetOf(f.sets[1])
		}
	}
	return s
}

// orgLeaf is the application's proof of a record at a height.
func (f *chainFixture) orgLeaf(t *testing.T, height uint64, key state.Key) *orgapp.Leaf {
	t.Helper()
	l, err := f.app.Prove(height, key)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// leaf is what a node would answer about a record at a height.
func (f *chainFixture) leaf(t *testing.T, height uint64, key state.Key) *Leaf {
	t.Helper()
	l := f.orgLeaf(t, height, key)
	return &Leaf{Height: height, Key: Key(l.Key), Found: l.Found, Value: l.Value, Sum: l.Sum, Proof: l.Proof.Marshal(),
		Header: f.headers[height-1].Marshal(), Certificate: f.certs[height-1].Marshal()}
}

// genesisJSON is the fixture's genesis file.
func (f *chainFixture) genesisJSON(t testing.TB) []byte {
	t.Helper()
	raw, err := json.Marshal(f.gen)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func newClient(t *testing.T, f *chainFixture) *Client {
	t.Helper()
	c, err := New(f.genesisJSON(t))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func accountID(k *crypto.PrivateKey) AccountID { return AccountID(k.Public().ID()) }

func TestFollowsANodeSetChange(t *testing.T) {
	f := newChain(t, 12, 5)
	c := newClient(t, f)
	// In two segments, across the change at height 5.
	if err := c.Verify(f.segment(1, 3)); err != nil {
		t.Fatal(err)
	}
	if err := c.Verify(f.segment(4, 12)); err != nil {
		t.Fatal(err)
	}
	if c.Height() != 12 {
		t.Fatalf("height %d", c.Height())
	}
	for h, want := range map[uint64]int{1: 0, 5: 0, 6: 1, 12: 1} {
		if s, _ := c.NodeSet(h); s.Hash() != Hash(f.sets[want].Hash()) {
			t.Fatalf("height %d: wrong node set", h)
		}
	}
	bob := accountID(f.bob)
	// Bob's balance at the latest height and at an old one.
	for _, h := range []uint64{12, 3} {
		acct, rec, err := c.VerifyAccount(f.leaf(t, h, bob.Key()), bob)
		want := uint64(10 + h*(h+1)/2)
		if err != nil || acct == nil || acct.Balance != want || acct.Name != "bob" || acct.Role != "member" || acct.ID != bob {
			t.Fatalf("height %d: %+v %v, want balance %d", h, acct, err, want)
		}
		if rec.Height != h || rec.Supply != 1010 || rec.Nodes != f.sets[f.eraOf(h)].N() || len(rec.Signers) != 3 || rec.StateRoot != Hash(f.headers[h-1].StateRoot) {
			t.Fatalf("height %d: record %+v", h, rec)
		}
	}
	// An account that does not exist is proven absent.
	nobody := accountID(key(t, "nobody", 0))
	if acct, rec, err := c.VerifyAccount(f.leaf(t, 7, nobody.Key()), nobody); err != nil || acct != nil || rec.Found {
		t.Fatalf("absent account: %+v %v", acct, err)
	}
	// The organization, and the total supply, which never changes.
	o, rec, err := c.VerifyOrganization(f.leaf(t, 9, OrganizationKey()))
	if err != nil || o.Name != "Light" || o.Members != 2 || o.Supervisors != 1 || o.Policy != "supervisor" || rec.Supply != 1010 {
		t.Fatalf("organization %+v %+v %v", o, rec, err)
	}
	// A set handed out is a copy.
	s, _ := c.NodeSet(1)
	s.Keys[0] = PublicKey{}
	if again, _ := c.NodeSet(1); again.Keys[0] == (PublicKey{}) {
		t.Fatal("changing a node set handed out changed the client's")
	}
}

func TestNewRefusesBadGenesis(t *testing.T) {
	f := newChain(t, 1, 0)
	good := f.genesisJSON(t)
	for name, raw := range map[string][]byte{
		"not JSON":      []byte("{"),
		"no nodes":      []byte(`{"chain_id": "x", "nodes": []}`),
		"a bad key":     []byte(`{"chain_id": "x", "nodes": [{"key": "zz"}]}`),
		"no chain id":   bytes.Replace(good, []byte(`"chain_id":"light-test"`), []byte(`"chain_id":""`), 1),
		"over the size": append(bytes.Repeat([]byte(" "), MaxGenesis), good...),
	} {
		if _, err := New(raw); !errors.Is(err, ErrGenesis) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestRejectsBadSegments(t *testing.T) {
	f := newChain(t, 8, 4)
	noCert := f.segment(1, 8)
	delete(noCert.Certificates, 4) // the era change
	noSet := f.segment(1, 8)
	noSet.NodeSets = nil
	wrongSet := f.segment(1, 8)
	wrongSet.NodeSets[Hash(f.sets[1].Hash())] = nodeSetOf(f.sets[0])
	noLast := f.segment(1, 3)
	delete(noLast.Certificates, 3)
	gap := f.segment(1, 8)
	gap.Headers = append(gap.Headers[:2], gap.Headers[3:]...)
	// A header certified by the old set after the change (a forged
	// continuation signed by nodes that left).
	forged := *f.headers[5]
	forged.StateRoot[0] ^= 1
	oldSigned := f.segment(1, 6)
	oldSigned.Headers[5] = forged.Marshal()
	oldSigned.Certificates[6] = f.certify(&forged, 0, f.quorum(0)).Marshal()
	// Too few signers; a signer twice.
	few := f.segment(1, 3)
	few.Certificates[3] = f.certify(f.headers[2], 0, []int{0, 1}).Marshal()
	dup := f.segment(1, 3)
	c := f.certify(f.headers[2], 0, []int{0, 1, 2})
	c.Votes[2] = c.Votes[1]
	dup.Certificates[3] = c.Marshal()
	unsorted := f.segment(1, 3)
	unsorted.Certificates[3] = f.certify(f.headers[2], 0, []int{2, 0, 1}).Marshal()
	garbled := f.segment(1, 3)
	garbled.Headers[1] = []byte("not a header")
	for name, seg := range map[string]*Segment{
		"no certificate at the change": noCert, "no node set": noSet, "wrong node set": wrongSet,
		"no certificate at the end": noLast, "a gap": gap, "signed by the old set": oldSigned,
		"too few signers": few, "duplicate signer": dup, "unsorted signers": unsorted,
		"a malformed header": garbled, "empty": {},
	} {
		cl := newClient(t, f)
		err := cl.Verify(seg)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
		if cl.Height() != 0 {
			t.Errorf("%s: the client moved to %d", name, cl.Height())
		}
	}
}

// TestEveryByteMatters changes each byte of an answer's proof, header and
// certificate, and of a segment's header and certificate, in their JSON
// form: each change is rejected.
func TestEveryByteMatters(t *testing.T) {
	f := newChain(t, 6, 0)
	c := newClient(t, f)
	if err := c.Verify(f.segment(1, 6)); err != nil {
		t.Fatal(err)
	}
	bob := accountID(f.bob)
	good := apijson.LeafOf(f.orgLeaf(t, 4, bob.Key()), f.headers[3], f.certs[3])
	if _, err := decodeAndVerify(c, good, bob); err != nil {
		t.Fatal(err)
	}
	fields := map[string]*string{"proof": &good.Proof, "header": &good.Header, "certificate": &good.Certificate, "value": &good.Value, "key": &good.Key}
	for name, field := range fields {
		orig := *field
		raw, _ := hex.DecodeString(orig)
		for i := range raw {
			bad := bytes.Clone(raw)
			bad[i] ^= 0x01
			*field = hex.EncodeToString(bad)
			if _, err := decodeAndVerify(c, good, bob); err == nil {
				t.Fatalf("%s: changing byte %d of %d is not noticed", name, i, len(raw))
			}
		}
		*field = orig
	}
	good.Sum++
	if _, err := decodeAndVerify(c, good, bob); err == nil {
		t.Fatal("a changed balance is not noticed")
	}
	good.Sum--
	// Segments: each byte of the last header and of its certificate.
	seg := (&apijson.Segment{Headers: f.headers, Certificates: map[uint64]*chain.Certificate{6: f.certs[5]}}).JSON()
	check := func(what string, set func(string), orig string, mask byte) {
		raw, _ := hex.DecodeString(orig)
		for i := range raw {
			bad := bytes.Clone(raw)
			bad[i] ^= mask
			set(hex.EncodeToString(bad))
			s, err := segmentOf(&seg, MaxSegment)
			if err == nil {
				err = newClient(t, f).Verify(s)
			}
			if err == nil {
				t.Fatalf("segment %s: changing byte %d is not noticed", what, i)
			}
		}
		set(orig)
	}
	check("header", func(v string) { seg.Headers[5] = v }, seg.Headers[5], 0x80)
	check("certificate", func(v string) { seg.Certificates["6"] = v }, seg.Certificates["6"], 0x80)
	if s, err := segmentOf(&seg, MaxSegment); err != nil || newClient(t, f).Verify(s) != nil {
		t.Fatal("the restored segment does not verify")
	}
}

func decodeAndVerify(c *Client, j apijson.Leaf, id AccountID) (*Record, error) {
	l, err := leafOf(&j)
	if err != nil {
		return nil, err
	}
	_, rec, err := c.VerifyAccount(l, id)
	return rec, err
}

// TestJSONForms: a leaf and a segment go through their JSON forms (the
// API's) unchanged, and malformed forms are refused as invalid.
func TestJSONForms(t *testing.T) {
	f := newChain(t, 6, 3)
	bob := accountID(f.bob)
	l := f.leaf(t, 4, bob.Key())
	raw, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	// The API's form, as the server writes it.
	api, _ := json.Marshal(apijson.LeafOf(f.orgLeaf(t, 4, bob.Key()), f.headers[3], f.certs[3]))
	if !bytes.Equal(raw, api) {
		t.Fatalf("a leaf's JSON differs from the API's:\n%s\n%s", raw, api)
	}
	var back Leaf
	if err := json.Unmarshal(raw, &back); err != nil || !reflect.DeepEqual(&back, l) {
		t.Fatalf("leaf round trip: %v\n%+v\n%+v", err, back, l)
	}
	seg := f.segment(1, 6)
	raw, err = json.Marshal(seg)
	if err != nil {
		t.Fatal(err)
	}
	var segBack Segment
	if err := json.Unmarshal(raw, &segBack); err != nil || !reflect.DeepEqual(&segBack, seg) {
		t.Fatalf("segment round trip: %v", err)
	}
	if err := newClient(t, f).Verify(&segBack); err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string]string{
		"key not hex":          `{"height":1,"key":"zz","found":false,"proof":"","header":"","certificate":""}`,
		"short key":            `{"height":1,"key":"00","found":false,"proof":"","header":"","certificate":""}`,
		"absent with a value":  `{"height":1,"key":"` + strings.Repeat("00", 20) + `","found":false,"value":"01","proof":"","header":"","certificate":""}`,
		"absent with a sum":    `{"height":1,"key":"` + strings.Repeat("00", 20) + `","found":false,"sum":3,"proof":"","header":"","certificate":""}`,
		"proof not hex":        `{"height":1,"key":"` + strings.Repeat("00", 20) + `","found":false,"proof":"x","header":"","certificate":""}`,
		"a proof over the max": `{"height":1,"key":"` + strings.Repeat("00", 20) + `","found":false,"proof":"` + strings.Repeat("00", smt.MaxProofSize+1) + `","header":"","certificate":""}`,
		"not an object":        `[1]`,
	} {
		if err := json.Unmarshal([]byte(bad), new(Leaf)); !errors.Is(err, ErrInvalid) {
			t.Errorf("leaf, %s: %v", name, err)
		}
	}
	many := `{"headers":[` + strings.TrimSuffix(strings.Repeat(`"00",`, MaxSegment+1), ",") + `],"certificates":{}}`
	for name, bad := range map[string]string{
		"header not hex":         `{"headers":["zz"],"certificates":{}}`,
		"certificate height":     `{"headers":["00"],"certificates":{"x":"00"}}`,
		"more certificates":      `{"headers":["00"],"certificates":{"1":"00","2":"00"}}`,
		"node set hash":          `{"headers":["00"],"certificates":{},"node_sets":{"00":[]}}`,
		"node set key":           `{"headers":["00"],"certificates":{},"node_sets":{"` + strings.Repeat("00", 32) + `":["zz"]}}`,
		"over the segment limit": many,
	} {
		if err := json.Unmarshal([]byte(bad), new(Segment)); !errors.Is(err, ErrInvalid) {
			t.Errorf("segment, %s: %v", name, err)
		}
	}
}

func TestProofOfAnUnverifiedHeight(t *testing.T) {
	f := newChain(t, 5, 0)
	c := newClient(t, f)
	if err := c.Verify(f.segment(1, 3)); err != nil {
		t.Fatal(err)
	}
	bob := accountID(f.bob)
	if _, err := c.VerifyLeaf(f.leaf(t, 5, bob.Key())); !errors.Is(err, ErrUnknownHeight) {
		t.Fatalf("height beyond the verified chain: %v", err)
	}
	// A proof against another height's root.
	l := f.leaf(t, 2, bob.Key())
	other := f.leaf(t, 3, bob.Key())
	l.Proof = other.Proof
	l.Value, l.Sum = other.Value, other.Sum
	if _, err := c.VerifyLeaf(l); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a proof of height 3 passed for height 2: %v", err)
	}
	// An answer about another account, or another record.
	alice := accountID(f.alice)
	if _, _, err := c.VerifyAccount(f.leaf(t, 2, alice.Key()), bob); !errors.Is(err, ErrInvalid) {
		t.Fatalf("alice's record passed for bob: %v", err)
	}
	if _, _, err := c.VerifyOrganization(f.leaf(t, 2, alice.Key())); !errors.Is(err, ErrInvalid) {
		t.Fatalf("alice's record passed for the organization: %v", err)
	}
}

func TestParseAccountID(t *testing.T) {
	k := key(t, "alice", 0).Public()
	want := AccountID(k.ID())
	for _, s := range []string{k.ID().String(), k.String(), strings.ToUpper(k.ID().String())} {
		if got, err := ParseAccountID(s); err != nil || got != want {
			t.Errorf("%s: %s %v", s, got, err)
		}
	}
	if PublicKey(k).AccountID() != want || want.Key() != Key(state.AccountKey(k.ID())) {
		t.Error("a key's account differs from the state's")
	}
	for _, s := range []string{"", "zz", k.ID().String()[2:], k.String() + "00"} {
		if _, err := ParseAccountID(s); err == nil {
			t.Errorf("%q parsed", s)
		}
	}
}
