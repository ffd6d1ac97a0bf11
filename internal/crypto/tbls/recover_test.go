package tbls

import (
	"bytes"
	"errors"
	"testing"
)

func TestRecoverMatchesCombine(t *testing.T) {
	pk, sks, err := Deal(7, 3, seeded(5))
	if err != nil {
		t.Fatal(err)
	}
	name := []byte("recover")
	shares := signAll(t, sks, name)
	want, err := pk.Combine(name, shares[:3])
	if err != nil {
		t.Fatal(err)
	}
	got, err := pk.Recover(name, shares[4:])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("Recover and Combine give different signatures")
	}
	if _, err := pk.Recover(name, shares[:2]); !errors.Is(err, ErrNotEnoughShares) {
		t.Fatalf("two shares of three: %v", err)
	}
	if _, err := pk.Recover(name, []SigShare{shares[0], shares[0], shares[1]}); !errors.Is(err, ErrDuplicateShare) {
		t.Fatalf("a share twice: %v", err)
	}
}

// A share signed on another name interpolates to a wrong signature, which
// Recover refuses rather than returning it.
func TestRecoverRefusesABadShare(t *testing.T) {
	pk, sks, err := Deal(4, 2, seeded(6))
	if err != nil {
		t.Fatal(err)
	}
	name := []byte("coin")
	good := signAll(t, sks, name)
	other := signAll(t, sks, []byte("another coin"))
	if _, err := pk.Recover(name, []SigShare{good[0], other[1]}); !errors.Is(err, ErrInvalidSignature) {
		t.Fatalf("a share of another name: %v", err)
	}
}
