package tbls

import (
	"bytes"
	"errors"
	"testing"

	"go.dedis.ch/kyber/v4"
	"go.dedis.ch/kyber/v4/pairing/bls12381/circl"
)

func TestConstructorsRebuildADealtKey(t *testing.T) {
	pk, sks := deal(t, 7, 3, 12)
	pk2, err := NewPublicKeyFromCommits(7, pk.commits)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pk.MarshalBinary()
	b2, _ := pk2.MarshalBinary()
	if !bytes.Equal(b, b2) {
		t.Fatal("NewPublicKeyFromCommits gave another key")
	}
	pk2.commits[0].Null() // a copy: the dealt key is untouched
	if isNull(pk.commits[0]) {
		t.Fatal("NewPublicKeyFromCommits kept the caller's points")
	}
	name := []byte("rebuilt")
	for i, s := range sks {
		s2, err := NewSecretShare(i, s.v)
		if err != nil {
			t.Fatal(err)
		}
		if err := pk.CheckSecretShare(s2); err != nil {
			t.Fatalf("CheckSecretShare(%d): %v", i, err)
		}
		sh, err := s2.Sign(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := pk.VerifyShare(name, sh); err != nil {
			t.Fatalf("share of rebuilt secret %d: %v", i, err)
		}
	}
	wrong, _ := NewSecretShare(1, sks[2].v)
	if err := pk.CheckSecretShare(wrong); !errors.Is(err, ErrInvalidShare) {
		t.Fatalf("CheckSecretShare(node 2's value as node 1) = %v, want ErrInvalidShare", err)
	}
	if err := pk.CheckSecretShare(SecretShare{Index: 7, v: sks[0].v}); !errors.Is(err, ErrIndex) {
		t.Fatalf("CheckSecretShare(index 7 of 7) = %v, want ErrIndex", err)
	}
}

func TestConstructorsRefuse(t *testing.T) {
	pk, sks := deal(t, 4, 2, 13)
	g2 := suite.G2()
	for _, c := range []struct {
		what    string
		n       int
		commits []kyber.Point
	}{
		{"no commitments", 4, nil},
		{"t > n", 1, pk.commits},
		{"n > MaxNodes", MaxNodes + 1, pk.commits},
		{"a G1 point", 4, []kyber.Point{suite.G1().Point().Base()}},
		{"a nil point", 4, []kyber.Point{pk.commits[0], nil}},
		{"identity group key", 4, []kyber.Point{g2.Point().Null(), pk.commits[1]}},
		{"identity key share", 4, []kyber.Point{g2.Point().Base(), g2.Point().Neg(g2.Point().Base())}},
	} {
		if _, err := NewPublicKeyFromCommits(c.n, c.commits); !errors.Is(err, ErrParams) {
			t.Errorf("NewPublicKeyFromCommits(%s) = %v, want ErrParams", c.what, err)
		}
	}
	for _, c := range []struct {
		what  string
		index int
		v     kyber.Scalar
	}{
		{"negative index", -1, sks[0].v},
		{"index MaxNodes", MaxNodes, sks[0].v},
		{"nil scalar", 0, nil},
		{"typed nil scalar", 0, (*circl.Scalar)(nil)},
	} {
		if _, err := NewSecretShare(c.index, c.v); !errors.Is(err, ErrParams) {
			t.Errorf("NewSecretShare(%s) = %v, want ErrParams", c.what, err)
		}
	}
}
