package apijson

import (
	"encoding/json"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	iofs "io/fs"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/mass-consensus/mass/internal/app/gov"
	"github.com/mass-consensus/mass/internal/app/orgapp"
	"github.com/mass-consensus/mass/internal/app/state"
	"github.com/mass-consensus/mass/internal/chain"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/smt"
)

// shapes are the JSON shapes of the API, each as a new pointer.
var shapes = map[string]func() any{
	"ErrorBody": func() any { return new(ErrorBody) }, "ErrorDetail": func() any { return new(ErrorDetail) },
	"Status": func() any { return new(Status) }, "SubmitRequest": func() any { return new(SubmitRequest) },
	"Submitted": func() any { return new(Submitted) }, "TxStatus": func() any { return new(TxStatus) },
	"BatchRejection": func() any { return new(BatchRejection) }, "BatchResult": func() any { return new(BatchResult) },
	"Block": func() any { return new(Block) }, "Certificate": func() any { return new(Certificate) },
	"Vote": func() any { return new(Vote) }, "CommitEvent": func() any { return new(CommitEvent) },
	"TxResult": func() any { return new(TxResult) }, "Leaf": func() any { return new(Leaf) },
	"Headers": func() any { return new(Headers) }, "Account": func() any { return new(Account) },
	"Organization": func() any { return new(Organization) }, "Proposal": func() any { return new(Proposal) },
	"ProposalList": func() any { return new(ProposalList) }, "Governance": func() any { return new(Governance) },
	"Comments": func() any { return new(Comments) }, "Executors": func() any { return new(Executors) },
	"Members": func() any { return new(Members) },
}

// notShapes are the package's struct types that are not sent as JSON.
var notShapes = map[string]bool{"Segment": true}

// TestEveryShapeRoundTrips fills every field of every shape (nested views
// included) with a value that is not zero, encodes it as the server does
// and decodes it as the client does: nothing may be lost or changed.
func TestEveryShapeRoundTrips(t *testing.T) {
	for name, make := range shapes {
		v := make()
		fill(reflect.ValueOf(v).Elem(), new(int))
		raw, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		back := make()
		if err := json.Unmarshal(raw, back); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(v, back) {
			t.Errorf("%s does not survive its JSON form:\n%s\n%+v", name, raw, back)
		}
	}
}

// TestEveryShapeIsTested lists the struct types the package declares: each
// is a shape of the table above, or said not to be one.
func TestEveryShapeIsTested(t *testing.T) {
	pkgs, err := parser.ParseDir(token.NewFileSet(), ".", func(fi iofs.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkgs {
		ast.Inspect(p, func(n ast.Node) bool {
			if ts, ok := n.(*ast.TypeSpec); ok {
				if _, isStruct := ts.Type.(*ast.StructType); isStruct && ts.Name.IsExported() && shapes[ts.Name.Name] == nil && !notShapes[ts.Name.Name] {
					t.Errorf("the shape %s has no round-trip test", ts.Name.Name)
				}
			}
			return true
		})
	}
}

// fill sets every settable part of v to a value that is not zero.
func fill(v reflect.Value, n *int) {
	*n++
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), n)
			}
		}
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), n)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		fill(v.Index(0), n)
		fill(v.Index(1), n)
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k, n)
		fill(e, n)
		v.SetMapIndex(k, e)
	case reflect.String:
		v.SetString("s" + strings.Repeat("x", *n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(*n))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(*n))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(*n) + 0.5)
	default:
		panic("fill: a field of kind " + v.Kind().String())
	}
}

func hash(b byte) string { return strings.Repeat(string("0123456789abcdef"[b%16]), 64) }

// TestChecks: valid answers pass their checks; each kind of malformed one
// fails with ErrMalformed.
func TestChecks(t *testing.T) {
	one := uint32(0)
	validBlock := func() *Block {
		return &Block{Height: 3, Hash: hash(1), Prev: hash(2), BatchHash: hash(3), StateRoot: hash(4), ChainID: "c",
			Txs: []string{"AAE="}, Certificate: Certificate{Height: 3, BlockHash: hash(1), Votes: []Vote{{Signature: strings.Repeat("ab", 64)}}}}
	}
	view := &orgapp.AccountView{ID: "x"}
	proof := &Leaf{Height: 5, Found: true}
	checks := map[string]interface{ Check() error }{
		"status":           &Status{ChainID: "c"},
		"submitted":        &Submitted{Hash: hash(1)},
		"committed":        &TxStatus{Hash: hash(1), Status: TxCommitted, Height: 4, Code: &one},
		"pending":          &TxStatus{Hash: strings.ToUpper(hash(10)), Status: TxPending},
		"block":            validBlock(),
		"commit":           &CommitEvent{Height: 1, Hash: hash(1), Txs: []string{hash(2)}, Results: []TxResult{{}}},
		"commit, replay":   &CommitEvent{Height: 1, Hash: hash(1), Txs: []string{hash(2)}},
		"account":          &Account{Height: 5, Found: true, Account: view, Proof: proof},
		"absent":           &Account{Height: 5},
		"organization":     &Organization{Height: 5, Organization: &orgapp.OrganizationView{}, Proof: &Leaf{Height: 5}},
		"headers":          &Headers{Headers: []string{"00"}, Certificates: map[string]string{"1": "00"}},
		"proposal":         &Proposal{Height: 2, Proposal: &orgapp.ProposalView{Records: []string{"a"}}, Proofs: []Leaf{{Height: 2}}},
		"list":             &ProposalList{List: &orgapp.ProposalList{}},
		"governance":       &Governance{Governance: &orgapp.GovernanceView{}},
		"comments":         &Comments{},
		"comments, proven": &Comments{Height: 3, Records: []string{"a"}, Proofs: []Leaf{{Height: 3}}},
		"error":            &ErrorBody{Error: ErrorDetail{Code: CodeDuplicate}},
		"proposal, plain":  &Proposal{Proposal: &orgapp.ProposalView{Records: []string{"a"}}},
	}
	for name, c := range checks {
		if err := c.Check(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	badBlocks := map[string]func(*Block){
		"no height": func(b *Block) { b.Height = 0 }, "short hash": func(b *Block) { b.Hash = "ab" },
		"prev not hex": func(b *Block) { b.Prev = strings.Repeat("zz", 32) }, "tx not base64": func(b *Block) { b.Txs[0] = "!" },
		"certificate of another block": func(b *Block) { b.Certificate.BlockHash = hash(9) },
		"short signature":              func(b *Block) { b.Certificate.Votes[0].Signature = "ab" },
	}
	bad := map[string]interface{ Check() error }{
		"status without chain":    &Status{},
		"status, negative":        &Status{ChainID: "c", Peers: -1},
		"submitted, not hex":      &Submitted{Hash: strings.Repeat("g", 64)},
		"submitted, short":        &Submitted{Hash: "ab12"},
		"committed without":       &TxStatus{Hash: hash(1), Status: TxCommitted},
		"pending with result":     &TxStatus{Hash: hash(1), Status: TxPending, Code: &one},
		"unknown status":          &TxStatus{Hash: hash(1), Status: "lost"},
		"commit without height":   &CommitEvent{Hash: hash(1)},
		"commit, bad tx":          &CommitEvent{Height: 1, Hash: hash(1), Txs: []string{"zz"}},
		"commit, results":         &CommitEvent{Height: 1, Hash: hash(1), Txs: []string{hash(2)}, Results: []TxResult{{}, {}}},
		"found, no account":       &Account{Height: 5, Found: true},
		"absent, with account":    &Account{Height: 5, Account: view},
		"proof of another height": &Account{Height: 4, Found: true, Account: view, Proof: proof},
		"proof, not found":        &Account{Height: 5, Found: true, Account: view, Proof: &Leaf{Height: 5}},
		"no organization":         &Organization{},
		"organization proof":      &Organization{Height: 5, Organization: &orgapp.OrganizationView{}, Proof: &Leaf{Height: 4}},
		"no headers":              &Headers{},
		"too many headers":        &Headers{Headers: make([]string, MaxHeaders+1)},
		"more certificates":       &Headers{Headers: []string{"00"}, Certificates: map[string]string{"1": "", "2": ""}},
		"more node sets":          &Headers{Headers: []string{"00"}, NodeSets: map[string][]string{"a": nil, "b": nil}},
		"no proposal":             &Proposal{},
		"proofs, not one each":    &Proposal{Proposal: &orgapp.ProposalView{Records: []string{"a", "b"}}, Proofs: []Leaf{{}}},
		"proofs, other height":    &Proposal{Height: 2, Proposal: &orgapp.ProposalView{Records: []string{"a"}}, Proofs: []Leaf{{Height: 1}}},
		"no list":                 &ProposalList{},
		"list proofs":             &ProposalList{Height: 1, List: &orgapp.ProposalList{}, Proofs: []Leaf{{Height: 2}}},
		"no governance":           &Governance{},
		"governance proofs":       &Governance{Height: 1, Governance: &orgapp.GovernanceView{}, Proofs: []Leaf{{Height: 2}}},
		"error without code":      &ErrorBody{},
		"comments, not one each":  &Comments{Height: 3, Records: []string{"a", "b"}, Proofs: []Leaf{{Height: 3}}},
		"comments, other height":  &Comments{Height: 3, Records: []string{"a"}, Proofs: []Leaf{{Height: 2}}},
	}
	for name, change := range badBlocks {
		b := validBlock()
		change(b)
		bad["block, "+name] = b
	}
	for name, c := range bad {
		if err := c.Check(); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestBatchCount(t *testing.T) {
	ok := &BatchResult{Accepted: 1, Rejected: []BatchRejection{{Index: 0, Code: CodeBusy}, {Index: 2, Code: CodeDuplicate}}}
	if err := ok.CheckCount(3); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string]*BatchResult{
		"too few":       {Accepted: 1},
		"out of range":  {Accepted: 2, Rejected: []BatchRejection{{Index: 3, Code: CodeBusy}}},
		"negative":      {Accepted: 2, Rejected: []BatchRejection{{Index: -1, Code: CodeBusy}}},
		"twice":         {Accepted: 1, Rejected: []BatchRejection{{Index: 1, Code: CodeBusy}, {Index: 1, Code: CodeBusy}}},
		"no code":       {Accepted: 2, Rejected: []BatchRejection{{Index: 1}}},
		"more accepted": {Accepted: 4},
	} {
		if err := b.CheckCount(3); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestConversions: the answers built from the chain's and the
// application's types carry their canonical encodings, and pass their
// checks.
func TestConversions(t *testing.T) {
	k, err := crypto.KeyFromSeed(make([]byte, crypto.SeedSize))
	if err != nil {
		t.Fatal(err)
	}
	h := &chain.Header{ChainID: "c", Height: 2, Time: 9}
	b := &chain.Block{Header: *h, Txs: [][]byte{{1, 2}}}
	c := &chain.Certificate{Height: 2, BlockHash: h.Hash(), Votes: []chain.Vote{chain.SignHeader(k, 0, h)}}
	blk := BlockOf(b, c)
	if err := blk.Check(); err != nil || blk.Txs[0] != "AQI=" || blk.Hash != h.Hash().String() {
		t.Fatalf("block %+v: %v", blk, err)
	}
	l := LeafOf(&orgapp.Leaf{Height: 2, Found: true, Value: []byte{7}, Sum: 3, Proof: &smt.Proof{}}, h, c)
	if l.Value != "07" || l.Header == "" || l.Certificate == "" || l.Proof == "" || len(l.Key) != 40 {
		t.Fatalf("leaf %+v", l)
	}
	set := chain.NodeSet{Keys: []crypto.PublicKey{k.Public()}}
	seg := (&Segment{Headers: []*chain.Header{h}, Certificates: map[uint64]*chain.Certificate{2: c},
		NodeSets: map[chain.Hash]chain.NodeSet{set.Hash(): set}}).JSON()
	if err := seg.Check(); err != nil || seg.NodeSets[set.Hash().String()][0] != k.Public().String() || seg.Certificates["2"] == "" {
		t.Fatalf("segment %+v: %v", seg, err)
	}
}

// TestCommentRecords: the records of a page of comments are the
// proposal's, its text's, each comment's, then each author's account
// once, in the order they first appear; an author that is not an ID is
// refused.
func TestCommentRecords(t *testing.T) {
	a, b := strings.Repeat("aa", 20), strings.Repeat("bb", 20)
	cs := []orgapp.CommentView{{Index: 4, Author: b}, {Index: 5, Author: a}, {Index: 6, Author: b}}
	got, err := CommentRecords(9, cs)
	if err != nil {
		t.Fatal(err)
	}
	idA, _ := crypto.ParseID(a)
	idB, _ := crypto.ParseID(b)
	want := []string{keyHex(gov.ProposalKey(9)), keyHex(gov.TextKey(9)), keyHex(gov.CommentKey(9, 4)), keyHex(gov.CommentKey(9, 5)),
		keyHex(gov.CommentKey(9, 6)), keyHex(state.AccountKey(idB)), keyHex(state.AccountKey(idA))}
	if !slices.Equal(got, want) {
		t.Fatalf("records\n%v\nwant\n%v", got, want)
	}
	if _, err := CommentRecords(9, []orgapp.CommentView{{Author: "zz"}}); err == nil {
		t.Fatal("an author that is not an ID is accepted")
	}
}
