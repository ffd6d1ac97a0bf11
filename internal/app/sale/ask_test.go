package sale

import (
	"errors"
	"testing"

	"github.com/mass-consensus/mass/internal/crypto"
)

// TestAsk: an ask round-trips, verifies for its chain only, and a
// changed field, a short or long encoding or a quantity of 0 is refused.
func TestAsk(t *testing.T) {
	seed := make([]byte, crypto.SeedSize)
	seed[0] = 7
	k, _ := crypto.KeyFromSeed(seed)
	q := Request{Sale: 3, Buyer: k.Public(), Quantity: 2, Nonce: 99}
	a := SignAsk(k, "c", &q)
	back, err := UnmarshalAsk(a.Marshal())
	if err != nil || *back != a || len(a.Marshal()) != AskSize {
		t.Fatalf("round trip: %v %+v", err, back)
	}
	if err := back.Verify("c"); err != nil {
		t.Fatal(err)
	}
	if err := back.Verify("other"); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("another chain: %v", err)
	}
	changed := *back
	changed.Quantity = 1
	if err := changed.Verify("c"); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("changed quantity: %v", err)
	}
	raw := a.Marshal()
	for name, b := range map[string][]byte{"short": raw[:AskSize-1], "long": append(raw, 0)} {
		if _, err := UnmarshalAsk(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
	zero := a
	zero.Quantity = 0
	if _, err := UnmarshalAsk(zero.Marshal()); !errors.Is(err, ErrMalformed) {
		t.Errorf("quantity 0: %v", err)
	}
}
