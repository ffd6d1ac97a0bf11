package crypto

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
)

func TestSignVerify(t *testing.T) {
	k, err := GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("height 7")
	sig := k.Sign(DomainBlock, msg)
	if err := k.Public().Verify(DomainBlock, msg, sig); err != nil {
		t.Fatal(err)
	}
	if err := k.Public().Verify(DomainTx, msg, sig); !errors.Is(err, ErrBadSignature) {
		t.Fatal("a block signature verified as a transaction signature")
	}
	bad := sig
	bad[5] ^= 1
	if err := k.Public().Verify(DomainBlock, msg, bad); !errors.Is(err, ErrBadSignature) {
		t.Fatal("a changed signature verified")
	}
	if err := k.Public().Verify(DomainBlock, []byte("height 8"), sig); !errors.Is(err, ErrBadSignature) {
		t.Fatal("a signature verified for another message")
	}
}

func TestSeedAndID(t *testing.T) {
	seed := bytes.Repeat([]byte{7}, SeedSize)
	a, _ := KeyFromSeed(seed)
	b, _ := KeyFromSeed(a.Seed())
	if a.Public() != b.Public() {
		t.Fatal("the seed does not give back the key")
	}
	if a.Public().ID() == (ID{}) || len(a.Public().ID().String()) != 2*IDSize {
		t.Fatal("bad ID")
	}
	if _, err := KeyFromSeed(seed[:5]); !errors.Is(err, ErrBadKey) {
		t.Fatal("short seed accepted")
	}
	p, err := ParsePublicKey(a.Public().String())
	if err != nil || p != a.Public() {
		t.Fatalf("parse: %v", err)
	}
	if _, err := ParsePublicKey("zz"); !errors.Is(err, ErrBadKey) {
		t.Fatal("bad hex accepted")
	}
}
