package tbls

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"go.dedis.ch/kyber/v4"
)

func TestEncodingRoundTrips(t *testing.T) {
	pk, sks := deal(t, 7, 3, 6)
	b, err := pk.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 4+3*PointSize {
		t.Fatalf("public key of %d bytes", len(b))
	}
	pk2, err := UnmarshalPublicKey(b)
	if err != nil {
		t.Fatal(err)
	}
	if b2, _ := pk2.MarshalBinary(); !bytes.Equal(b, b2) || pk2.N() != 7 || pk2.T() != 3 {
		t.Fatalf("round trip changed the key: n=%d t=%d", pk2.N(), pk2.T())
	}
	for i := range pk.shares {
		if !pk.shares[i].Equal(pk2.shares[i]) {
			t.Fatalf("key share %d differs after a round trip", i)
		}
	}

	name := []byte("round trip")
	shares := signAll(t, sks, name)
	for _, sh := range shares {
		sb, _ := sh.MarshalBinary()
		if len(sb) != SigShareSize {
			t.Fatalf("share of %d bytes", len(sb))
		}
		var back SigShare
		if err := back.UnmarshalBinary(sb); err != nil || back != sh {
			t.Fatalf("share round trip: %v, %v != %v", err, back, sh)
		}
		if err := pk2.VerifyShare(name, back); err != nil {
			t.Fatalf("decoded key refuses decoded share %d: %v", sh.Index, err)
		}
	}
	sig, err := pk2.Combine(name, shares[4:])
	if err != nil {
		t.Fatal(err)
	}
	if err := pk.Verify(name, sig); err != nil {
		t.Fatal(err)
	}
}

func TestUnmarshalRefuses(t *testing.T) {
	pk, sks := deal(t, 4, 2, 7)
	good, _ := pk.MarshalBinary()
	sh, _ := sks[0].Sign([]byte("x"))
	goodShare, _ := sh.MarshalBinary()

	header := func(n, th uint16, rest []byte) []byte {
		b := binary.BigEndian.AppendUint16(nil, n)
		b = binary.BigEndian.AppendUint16(b, th)
		return append(b, rest...)
	}
	g2 := suite.G2()
	enc := func(ps ...kyber.Point) []byte {
		var b []byte
		for _, p := range ps {
			pb, _ := p.MarshalBinary()
			b = append(b, pb...)
		}
		return b
	}
	base := g2.Point().Base()
	neg := g2.Point().Neg(base)
	flipped := bytes.Clone(good)
	flipped[4+PointSize-1] ^= 1
	uncompressed := bytes.Clone(good)
	uncompressed[4] &^= 0x80

	for _, c := range []struct {
		what string
		b    []byte
	}{
		{"nil", nil},
		{"short header", good[:3]},
		{"one byte short", good[:len(good)-1]},
		{"one byte long", append(bytes.Clone(good), 0)},
		{"garbage", bytes.Repeat([]byte{0xAB}, len(good))},
		{"t = 0", header(4, 0, nil)},
		{"t > n", header(2, 3, good[4:])},
		{"n > MaxNodes", header(MaxNodes+1, 2, good[4:])},
		{"point not on the curve", flipped},
		{"compression flag cleared", uncompressed},
		{"identity group key", header(4, 2, enc(g2.Point().Null(), base))},
		// p(x) = B - B*x: node 0's key share p(1) is the identity.
		{"identity key share", header(4, 2, enc(base, neg))},
	} {
		if _, err := UnmarshalPublicKey(c.b); !errors.Is(err, ErrEncoding) {
			t.Errorf("UnmarshalPublicKey(%s) = %v, want ErrEncoding", c.what, err)
		}
	}

	identity := make([]byte, SigShareSize)
	identity[2] = 0xC0
	for _, c := range []struct {
		what string
		b    []byte
	}{
		{"nil", nil},
		{"short", goodShare[:SigShareSize-1]},
		{"long", append(bytes.Clone(goodShare), 0)},
		{"garbage", bytes.Repeat([]byte{0x5A}, SigShareSize)},
		{"identity point", identity},
	} {
		var s SigShare
		if err := s.UnmarshalBinary(c.b); !errors.Is(err, ErrEncoding) {
			t.Errorf("SigShare.UnmarshalBinary(%s) = %v, want ErrEncoding", c.what, err)
		}
		if s != (SigShare{}) {
			t.Errorf("SigShare.UnmarshalBinary(%s) wrote %v on failure", c.what, s)
		}
	}
}

// The identity of G1 passes circl's pairing check under any key (see
// check); it must never pass ours, as a share or as a signature.
func TestIdentityIsNeverASignature(t *testing.T) {
	pk, _ := deal(t, 4, 2, 8)
	name := []byte("x")
	if !suite.ValidatePairing(hashName(name), pk.commits[0], suite.G1().Point().Null(), suite.G2().Point().Base()) {
		t.Log("circl no longer accepts the identity; the guard in check stays harmless")
	}
	id := make([]byte, SignatureSize)
	id[0] = 0xC0
	if err := pk.Verify(name, id); !errors.Is(err, ErrInvalidSignature) {
		t.Fatalf("Verify(identity) = %v, want ErrInvalidSignature", err)
	}
	var sh SigShare
	copy(sh.Sig[:], id)
	if err := pk.VerifyShare(name, sh); !errors.Is(err, ErrInvalidShare) {
		t.Fatalf("VerifyShare(identity) = %v, want ErrInvalidShare", err)
	}
}

func FuzzUnmarshalSigShare(f *testing.F) {
	_, sks, _ := Deal(4, 2, seeded(9))
	sh, _ := sks[1].Sign([]byte("fuzz"))
	b, _ := sh.MarshalBinary()
	f.Add(b)
	f.Add([]byte{})
	f.Add(make([]byte, SigShareSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		var s SigShare
		if err := s.UnmarshalBinary(b); err != nil {
			if !errors.Is(err, ErrEncoding) {
				t.Fatalf("error not wrapping ErrEncoding: %v", err)
			}
			return
		}
		again, _ := s.MarshalBinary()
		if !bytes.Equal(again, b) {
			t.Fatalf("accepted a non-canonical share: %x re-encodes as %x", b, again)
		}
	})
}

func FuzzUnmarshalPublicKey(f *testing.F) {
	pk, _, _ := Deal(4, 2, seeded(10))
	b, _ := pk.MarshalBinary()
	f.Add(b)
	f.Add([]byte{})
	f.Add([]byte{0, 4, 0, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		pk, err := UnmarshalPublicKey(b)
		if err != nil {
			if !errors.Is(err, ErrEncoding) {
				t.Fatalf("error not wrapping ErrEncoding: %v", err)
			}
			return
		}
		again, _ := pk.MarshalBinary()
		if !bytes.Equal(again, b) {
			t.Fatalf("accepted a non-canonical key: %x re-encodes as %x", b, again)
		}
	})
}
