package dkg

import (
	"bytes"
	"crypto/ecdh"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/mass-consensus/mass/internal/crypto"
)

// libsodium's test/default/ed25519_convert: the X25519 keys of the ed25519
// key of this seed.
func TestConversionMatchesLibsodium(t *testing.T) {
	seed, _ := hex.DecodeString("421151a459faeade3d247115f94aedae42318124095afabe4d1451a559faedee")
	wantPub := "f1814f0e8ff1043d8a44d25babff3cedcae6c22c3edaa48f857ae70de2baae50"
	wantPriv := "8052030376d47112be7f73ed7a019293dd12ad910b654455798b4667d73de166"
	k, err := crypto.KeyFromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x25519Public(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(pub.Bytes()); got != wantPub {
		t.Fatalf("public key %s, want %s", got, wantPub)
	}
	if got := hex.EncodeToString(x25519Private(k).Bytes()); got != wantPriv {
		t.Fatalf("private key %s, want %s", got, wantPriv)
	}
}

// Both conversions agree: the converted private key's public key is the
// converted public key, and two nodes find one shared secret.
func TestConversionsAgree(t *testing.T) {
	c := newCluster(t, 8, "", 20)
	for i := range c.n {
		priv := x25519Private(c.privs[i])
		pub, err := x25519Public(c.keys[i])
		if err != nil {
			t.Fatal(err)
		}
		if !priv.PublicKey().Equal(pub) {
			t.Fatalf("key %d: the conversions disagree", i)
		}
		j := (i + 1) % c.n
		pubJ, _ := x25519Public(c.keys[j])
		ij, err1 := priv.ECDH(pubJ)
		ji, err2 := x25519Private(c.privs[j]).ECDH(pub)
		if err1 != nil || err2 != nil || !bytes.Equal(ij, ji) {
			t.Fatalf("keys %d and %d: no common secret (%v, %v)", i, j, err1, err2)
		}
	}
}

func TestConversionRefusesWeakKeys(t *testing.T) {
	identity := crypto.PublicKey{1}
	var notAPoint crypto.PublicKey
	notAPoint[0], notAPoint[31] = 2, 0 // y = 2 is not on the curve
	for _, k := range []crypto.PublicKey{identity, notAPoint} {
		if _, err := x25519Public(k); err == nil {
			t.Errorf("x25519Public(%s) accepted", k)
		}
	}
}

func TestSealOpen(t *testing.T) {
	c := newCluster(t, 2, "ctx", 21)
	prm, err := c.cfg(0).setup()
	if err != nil {
		t.Fatal(err)
	}
	eph, _ := ecdh.X25519().NewPrivateKey(bytes.Repeat([]byte{7}, 32))
	var ephPub [KeySize]byte
	copy(ephPub[:], eph.PublicKey().Bytes())
	l := label{tag: prm.tag, kind: kindRow, dealer: 0, sender: 0, recipient: 1}
	plain := []byte("thirty-two bytes of a secret row")
	sealed := seal(eph, prm.keys[1], &l, plain)
	if len(sealed) != len(plain)+sealOverhead {
		t.Fatalf("sealed %d bytes into %d", len(plain), len(sealed))
	}
	secret := x25519Private(c.privs[1])
	got, err := open(secret, ephPub, &l, sealed)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("open = %q, %v", got, err)
	}

	wrong := func(f func(*label)) *label { w := l; f(&w); return &w }
	for what, bad := range map[string]*label{
		"kind":      wrong(func(w *label) { w.kind = kindValue }),
		"dealer":    wrong(func(w *label) { w.dealer = 1 }),
		"sender":    wrong(func(w *label) { w.sender = 1 }),
		"recipient": wrong(func(w *label) { w.recipient = 0 }),
		"tag":       wrong(func(w *label) { w.tag[0] ^= 1 }),
	} {
		if _, err := open(secret, ephPub, bad, sealed); !errors.Is(err, errOpen) {
			t.Errorf("opened under another %s: %v", what, err)
		}
	}
	if _, err := open(x25519Private(c.privs[0]), ephPub, &l, sealed); !errors.Is(err, errOpen) {
		t.Errorf("opened by another node: %v", err)
	}
	flipped := bytes.Clone(sealed)
	flipped[5] ^= 1
	if _, err := open(secret, ephPub, &l, flipped); !errors.Is(err, errOpen) {
		t.Errorf("opened a tampered piece: %v", err)
	}
	otherEph := ephPub
	otherEph[0] ^= 1
	for _, e := range [][KeySize]byte{otherEph, {}, {1}} { // another key; u = 0 (small order: no shared secret); u = 1
		if _, err := open(secret, e, &l, sealed); !errors.Is(err, errOpen) {
			t.Errorf("opened under ephemeral key %x: %v", e, err)
		}
	}
}

func TestCanonicalU(t *testing.T) {
	p := [32]byte{0: 0xed, 31: 0x7f}
	for i := 1; i < 31; i++ {
		p[i] = 0xff
	}
	below, above, top := p, p, [32]byte{31: 0x80}
	below[0]--
	above[0]++
	for _, c := range []struct {
		u    [32]byte
		want bool
	}{{[32]byte{}, true}, {below, true}, {p, false}, {above, false}, {top, false}} {
		if got := canonicalU(c.u[:]); got != c.want {
			t.Errorf("canonicalU(%x) = %v, want %v", c.u, got, c.want)
		}
	}
}
