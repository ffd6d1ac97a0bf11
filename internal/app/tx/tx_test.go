package tx

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/mass-consensus/mass/internal/app/sale"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/wire"
)

const chainID = "test-chain"

func key(t testing.TB, b byte) *crypto.PrivateKey {
	t.Helper()
	k, err := crypto.KeyFromSeed(bytes.Repeat([]byte{b}, crypto.SeedSize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// samples returns one signed transaction of each type.
func samples(t testing.TB) []*Tx {
	alice, bob := key(t, 1), key(t, 2)
	var id crypto.ID
	id[0] = 7
	txs := []*Tx{
		New(alice.Public(), 3, &Transfer{To: bob.Public(), Amount: 50, Memo: []byte("rent")}),
		New(alice.Public(), 4, &Apply{Name: "Alice", Note: "hello"}),
		New(alice.Public(), 5, &Decide{Applicant: id, Accept: true}),
		New(alice.Public(), 6, &Leave{}),
		New(alice.Public(), 7, &Create{Domain: "general", Title: "Budget 2026", Body: "Line one.\nLine two.", Options: []Option{
			{Title: "Pay", Actions: everyAction(bob.Public(), id)},
			{Title: "Nothing"},
		}, Desire: Desire{Meeting: 3600_000, Publicity: 7200_000, Capacity: 12}}),
		New(alice.Public(), 8, &Join{Proposal: 3, Desire: Desire{Meeting: 1, Publicity: MaxWindow, Capacity: MaxCapacity}}),
		New(alice.Public(), 9, &AddOption{Proposal: 3, Option: Option{Title: "Elect Bob", Actions: []Action{&Appoint{Role: "treasurer", Member: id, Term: 1000}}}}),
		New(alice.Public(), 10, &Comment{Proposal: 3, Text: "I agree.\n\tMostly."}),
		New(alice.Public(), 11, &Vote{Proposal: 3, Round: 2, Meeting: 5, Approve: []uint8{0, 3, 31}}),
		New(alice.Public(), 12, &Freeze{Proposal: 3}),
		New(alice.Public(), 13, &Review{Proposal: 3, Freeze: 1, Lift: true}),
		New(alice.Public(), 14, &Challenge{Target: id, Domain: "general", Reason: "Two reports disagree.", Desire: Desire{Meeting: 60_000, Publicity: 60_000, Capacity: 2}}),
		New(alice.Public(), 15, &SaleOpen{Params: saleParams()}),
		New(alice.Public(), 0, &SaleRequest{Request: sale.Request{Sale: 1, Buyer: alice.Public(), Quantity: 2, Nonce: 77,
			Stamps: []sale.Stamp{{Node: bob.Public(), Time: 1000}, {Node: alice.Public(), Time: 1001}}}}),
	}
	for _, x := range txs {
		if err := x.Sign(chainID, alice); err != nil {
			t.Fatal(err)
		}
		if x.Body.Type() == TypeTransfer {
			if err := x.Sign(chainID, bob); err != nil {
				t.Fatal(err)
			}
		}
	}
	return txs
}

// everyAction returns the first 8 kinds' actions (8 actions is the limit
// of an option; allActions has the others).
func everyAction(node crypto.PublicKey, id crypto.ID) []Action {
	return allActions(node, id)[:MaxActions]
}

// allActions returns one action of each kind.
func allActions(node crypto.PublicKey, id crypto.ID) []Action {
	return []Action{
		&AddMember{ID: id, Name: "Eve"}, &RemoveMember{ID: id}, &ConfirmJoin{ID: id},
		&AddNode{Key: node, Addrs: []string{"/ip4/10.0.0.1/tcp/4001"}}, &RemoveNode{Key: node},
		&SetParam{Domain: "general", Param: "active_limit", Value: 2}, &AddDomain{Name: "tech"},
		&Mint{To: id, Amount: 5},
		&Pay{To: id, Amount: 7}, &SetVersion{Version: 2, Height: 100},
		&Appoint{Role: "clerk", Member: id, Term: 60_000}, &Dismiss{Role: "clerk"},
		&RemoveDomain{Name: "tech"}, &RenameDomain{Name: "tech", NewName: "engineering"},
		&OpenSale{Params: saleParams()},
	}
}

// saleParams are valid sale parameters.
func saleParams() sale.Params {
	return sale.Params{Item: "Concert, row A", Supply: 100, PerRequest: 2, Start: 60_000, Window: 600_000,
		MaxAge: 30_000, Difficulty: 12, Price: 5, MaxRequests: 1000}
}

func TestEveryAction(t *testing.T) {
	var id crypto.ID
	id[3] = 9
	seen := map[ActionKind]bool{}
	for _, a := range allActions(key(t, 2).Public(), id) {
		w := wire.NewWriter(64)
		MarshalAction(w, a)
		raw := w.Finish()
		r := wire.NewReader(raw)
		b, err := ReadAction(r)
		if err != nil || r.Done() != nil {
			t.Fatalf("%s: %v %v", a.Kind(), err, r.Done())
		}
		w2 := wire.NewWriter(64)
		MarshalAction(w2, b)
		if !bytes.Equal(w2.Finish(), raw) || b.String() != a.String() || !reflect.DeepEqual(a, b) {
			t.Fatalf("%s: round trip %s", a.Kind(), b.String())
		}
		seen[a.Kind()] = true
	}
	if len(seen) != len(ActionKinds()) {
		t.Fatalf("%d kinds tested of %d", len(seen), len(ActionKinds()))
	}
}

func TestRoundTripAndVerify(t *testing.T) {
	for _, x := range samples(t) {
		raw := x.Marshal()
		y, err := Unmarshal(raw)
		if err != nil {
			t.Fatalf("%s: %v", x.Body.Type(), err)
		}
		if !bytes.Equal(y.Marshal(), raw) {
			t.Fatalf("%s: re-encoding differs", x.Body.Type())
		}
		if err := y.Verify(chainID); err != nil {
			t.Fatalf("%s: %v", x.Body.Type(), err)
		}
		if err := y.Verify("other-chain"); err == nil {
			t.Fatalf("%s: verifies for another chain", x.Body.Type())
		}
	}
}

// TestEveryByteMatters flips each bit of each sample: the result either
// does not decode or does not verify.
func TestEveryByteMatters(t *testing.T) {
	for _, x := range samples(t) {
		raw := x.Marshal()
		for i := range raw {
			for bit := 0; bit < 8; bit++ {
				c := bytes.Clone(raw)
				c[i] ^= 1 << bit
				y, err := Unmarshal(c)
				if err != nil {
					continue
				}
				if y.Verify(chainID) == nil {
					t.Fatalf("%s: flipping bit %d of byte %d still verifies", x.Body.Type(), bit, i)
				}
			}
		}
	}
}

func TestRejects(t *testing.T) {
	alice, bob := key(t, 1), key(t, 2)
	tr := New(alice.Public(), 1, &Transfer{To: bob.Public(), Amount: 5})
	if err := tr.Sign(chainID, bob); err == nil {
		t.Fatal("the recipient signed first")
	}
	if err := tr.Sign(chainID, alice); err != nil {
		t.Fatal(err)
	}
	// One signature where two are needed.
	if _, err := Unmarshal(tr.Marshal()); !errors.Is(err, ErrMalformed) {
		t.Fatalf("transfer with one signature: %v", err)
	}
	if err := tr.Verify(chainID); err == nil {
		t.Fatal("a transfer without the recipient's signature verifies")
	}
	// A zero amount, an empty name, trailing bytes, a bad version.
	zero := New(alice.Public(), 1, &Transfer{To: bob.Public()})
	zero.Sigs = make([]crypto.Signature, 2)
	noName := New(alice.Public(), 1, &Apply{})
	noName.Sigs = make([]crypto.Signature, 1)
	good := samples(t)[1].Marshal()
	badVersion := bytes.Clone(good)
	badVersion[0] = 2
	for name, raw := range map[string][]byte{
		"zero amount": zero.Marshal(),
		"empty name":  noName.Marshal(),
		"trailing":    append(bytes.Clone(good), 0),
		"version":     badVersion,
		"truncated":   good[:len(good)-1],
		"empty":       nil,
	} {
		if _, err := Unmarshal(raw); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A transfer to a small-order key (the identity point), which anyone
	// could cosign for.
	var identity crypto.PublicKey
	identity[0] = 1
	weak := New(alice.Public(), 1, &Transfer{To: identity, Amount: 5})
	weak.Sigs = make([]crypto.Signature, 2)
	if _, err := Unmarshal(weak.Marshal()); !errors.Is(err, ErrMalformed) || !errors.Is(err, crypto.ErrBadKey) {
		t.Errorf("a small-order recipient: %v", err)
	}
	// Governance payloads that are not canonical or out of bounds.
	sign := func(b Body) []byte {
		x := New(alice.Public(), 1, b)
		x.Sigs = make([]crypto.Signature, 1)
		return x.Marshal()
	}
	d := Desire{Meeting: 1000, Publicity: 1000, Capacity: 2}
	long := string(bytes.Repeat([]byte("x"), MaxTitle+1))
	var small crypto.PublicKey
	small[0] = 1
	nine := make([]Action, MaxActions+1)
	for i := range nine {
		nine[i] = &Dismiss{Role: "x"}
	}
	many := make([]Option, MaxOptions+1)
	for i := range many {
		many[i] = Option{Title: "o"}
	}
	for name, raw := range map[string][]byte{
		"vote not increasing": sign(&Vote{Proposal: 1, Round: 1, Approve: []uint8{2, 1}}),
		"vote twice":          sign(&Vote{Proposal: 1, Round: 1, Approve: []uint8{1, 1}}),
		"vote none":           sign(&Vote{Proposal: 1, Round: 1}),
		"vote option 32":      sign(&Vote{Proposal: 1, Round: 1, Approve: []uint8{32}}),
		"vote round 0":        sign(&Vote{Proposal: 1, Approve: []uint8{0}}),
		"review freeze 0":     sign(&Review{Proposal: 1}),
		"no options":          sign(&Create{Domain: "general", Title: "t", Desire: d}),
		"33 options":          sign(&Create{Domain: "general", Title: "t", Options: many, Desire: d}),
		"9 actions":           sign(&Create{Domain: "general", Title: "t", Options: []Option{{Title: "o", Actions: nine}}, Desire: d}),
		"long title":          sign(&Create{Domain: "general", Title: long, Options: []Option{{Title: "o"}}, Desire: d}),
		"title newline":       sign(&Create{Domain: "general", Title: "a\nb", Options: []Option{{Title: "o"}}, Desire: d}),
		"bad domain":          sign(&Create{Domain: "General", Title: "t", Options: []Option{{Title: "o"}}, Desire: d}),
		"empty option":        sign(&Create{Domain: "general", Title: "t", Options: []Option{{}}, Desire: d}),
		"capacity 1":          sign(&Join{Proposal: 1, Desire: Desire{Meeting: 1, Publicity: 1, Capacity: 1}}),
		"window 0":            sign(&Join{Proposal: 1, Desire: Desire{Publicity: 1, Capacity: 2}}),
		"window too long":     sign(&Join{Proposal: 1, Desire: Desire{Meeting: MaxWindow + 1, Publicity: 1, Capacity: 2}}),
		"empty comment":       sign(&Comment{Proposal: 1}),
		"empty reason":        sign(&Challenge{Domain: "general", Desire: d}),
		"small-order node":    sign(&AddOption{Proposal: 1, Option: Option{Title: "o", Actions: []Action{&AddNode{Key: small}}}}),
		"mint 0":              sign(&AddOption{Proposal: 1, Option: Option{Title: "o", Actions: []Action{&Mint{}}}}),
		"term 0":              sign(&AddOption{Proposal: 1, Option: Option{Title: "o", Actions: []Action{&Appoint{Role: "r"}}}}),
		"version 0":           sign(&AddOption{Proposal: 1, Option: Option{Title: "o", Actions: []Action{&SetVersion{Height: 5}}}}),
		"bad member name":     sign(&AddOption{Proposal: 1, Option: Option{Title: "o", Actions: []Action{&AddMember{Name: " x"}}}}),
		"unknown action":      sign(&AddOption{Proposal: 1, Option: Option{Title: "o", Actions: []Action{&unknownAction{Dismiss{Role: "x"}}}}}),
		"rename to itself":    sign(&AddOption{Proposal: 1, Option: Option{Title: "o", Actions: []Action{&RenameDomain{Name: "tech", NewName: "tech"}}}}),
		"remove not ident":    sign(&AddOption{Proposal: 1, Option: Option{Title: "o", Actions: []Action{&RemoveDomain{Name: "Tech"}}}}),
		"param not ident":     sign(&AddOption{Proposal: 1, Option: Option{Title: "o", Actions: []Action{&SetParam{Domain: "general", Param: "Active"}}}}),
		"sale supply 0":       sign(&SaleOpen{Params: func() sale.Params { p := saleParams(); p.Supply = 0; return p }()}),
		"sale kept < supply":  sign(&SaleOpen{Params: func() sale.Params { p := saleParams(); p.MaxRequests = 99; return p }()}),
		"sale difficulty 41":  sign(&SaleOpen{Params: func() sale.Params { p := saleParams(); p.Difficulty = 41; return p }()}),
		"sale action bad age": sign(&AddOption{Proposal: 1, Option: Option{Title: "o", Actions: []Action{&OpenSale{Params: func() sale.Params { p := saleParams(); p.MaxAge = 1; return p }()}}}}),
		"request quantity 0":  sign(&SaleRequest{Request: sale.Request{Sale: 1, Stamps: []sale.Stamp{{}}}}),
		"request no stamps":   sign(&SaleRequest{Request: sale.Request{Sale: 1, Quantity: 1}}),
	} {
		if _, err := Unmarshal(raw); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, name := range []string{"", " Alice", "Alice ", "a\nb", string([]byte{0xff}), string(bytes.Repeat([]byte("x"), MaxName+1))} {
		if CheckName(name) == nil {
			t.Errorf("name %q accepted", name)
		}
	}
}

// unknownAction is an action of a kind no decoder knows.
type unknownAction struct{ Dismiss }

func (*unknownAction) Kind() ActionKind { return 99 }

func FuzzUnmarshal(f *testing.F) {
	for _, x := range samples(f) {
		f.Add(x.Marshal())
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		x, err := Unmarshal(raw)
		if err != nil {
			return
		}
		if !bytes.Equal(x.Marshal(), raw) {
			t.Fatalf("accepted a non-canonical encoding")
		}
		if len(x.Sigs) != len(x.Signers()) {
			t.Fatalf("accepted %d signatures for %d signers", len(x.Sigs), len(x.Signers()))
		}
	})
}
