package tx

import (
	"bytes"
	"errors"
	"testing"

	"github.com/mass-consensus/mass/internal/crypto"
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
	for _, name := range []string{"", " Alice", "Alice ", "a\nb", string([]byte{0xff}), string(bytes.Repeat([]byte("x"), MaxName+1))} {
		if CheckName(name) == nil {
			t.Errorf("name %q accepted", name)
		}
	}
}

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
