package dkg

import (
	"bytes"
	"crypto/ecdh"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"slices"
	"testing"
)

// encodingSetup is one Part of dealer 0 and node 1's Ack of it, for n = 4.
func encodingSetup(t testing.TB) (*cluster, []byte, []byte) {
	t.Helper()
	c := newCluster(t, 4, "encoding", 40)
	p := c.part(t, 0, 41)
	kg, _ := New(c.cfg(1))
	a, err := kg.HandlePart(0, p)
	if err != nil || a == nil {
		t.Fatalf("HandlePart: %v, %v", a, err)
	}
	pb, _ := p.MarshalBinary()
	ab, _ := a.MarshalBinary()
	return c, pb, ab
}

func TestRoundTrips(t *testing.T) {
	for _, n := range []int{4, 7} {
		c := newCluster(t, n, "round trip", uint64(42+n))
		p := c.part(t, 2, 43)
		pb, _ := p.MarshalBinary()
		if len(pb) != PartSize(n, c.f) {
			t.Fatalf("part of %d bytes, want %d", len(pb), PartSize(n, c.f))
		}
		p2, err := UnmarshalPart(c.cfg(-1), pb)
		if err != nil {
			t.Fatal(err)
		}
		if pb2, _ := p2.MarshalBinary(); !bytes.Equal(pb, pb2) || p2.Dealer() != 2 {
			t.Fatal("part round trip changed it")
		}
		kg, _ := New(c.cfg(0))
		a, err := kg.HandlePart(2, p2)
		if err != nil || a == nil {
			t.Fatalf("decoded part not acked: %v", err)
		}
		ab, _ := a.MarshalBinary()
		if len(ab) != AckSize(n) {
			t.Fatalf("ack of %d bytes, want %d", len(ab), AckSize(n))
		}
		a2, err := UnmarshalAck(c.cfg(3), ab)
		if err != nil {
			t.Fatal(err)
		}
		if ab2, _ := a2.MarshalBinary(); !bytes.Equal(ab, ab2) || a2.Dealer() != 2 {
			t.Fatal("ack round trip changed it")
		}
		if err := kg.HandleAck(0, a2); err != nil || len(kg.parts[2].values) != 1 {
			t.Fatalf("decoded ack: %v, %d values", err, len(kg.parts[2].values))
		}
	}
}

// An on-curve point of the twist outside G2: ethereum/bls12-381-tests
// deserialization_G2/deserialization_fails_not_in_G2.
const notInG2 = "8123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestUnmarshalRefuses(t *testing.T) {
	c, pb, ab := encodingSetup(t)
	cfg := c.cfg(-1)
	const points = TagSize + 2 + KeySize // where the commitment starts
	set := func(b []byte, at int, with []byte) []byte {
		b = bytes.Clone(b)
		copy(b[at:], with)
		return b
	}
	identity := append([]byte{0xC0}, make([]byte, PointSize-1)...)
	notIn, _ := hex.DecodeString(notInG2)
	pMinus := bytes.Repeat([]byte{0xff}, 32) // 2^256-1: top bit set
	p := append([]byte{0xed}, bytes.Repeat([]byte{0xff}, 30)...)
	p = append(p, 0x7f) // 2^255-19 itself
	dealerN := binary.BigEndian.AppendUint16(nil, uint16(c.n))
	flag := func(b []byte, at int, mask byte) []byte { b = bytes.Clone(b); b[at] ^= mask; return b }

	for what, b := range map[string][]byte{
		"nil":                        nil,
		"one byte short":             pb[:len(pb)-1],
		"one byte long":              append(bytes.Clone(pb), 0),
		"dealer n":                   set(pb, TagSize, dealerN),
		"ephemeral key = p":          set(pb, TagSize+2, p),
		"ephemeral key, top bit":     set(pb, TagSize+2, pMinus),
		"identity secret commitment": set(pb, points, identity),
		"point not in G2":            set(pb, points+PointSize, notIn),
		"compression flag cleared":   flag(pb, points+PointSize, 0x80),
		"infinity flag with x":       flag(pb, points+PointSize, 0x40),
		"x not on the curve":         flag(pb, points+2*PointSize-1, 0x01),
	} {
		if _, err := UnmarshalPart(cfg, b); !errors.Is(err, ErrEncoding) {
			t.Errorf("UnmarshalPart(%s) = %v, want ErrEncoding", what, err)
		}
	}
	for what, b := range map[string][]byte{
		"nil":                    nil,
		"one byte short":         ab[:len(ab)-1],
		"one byte long":          append(bytes.Clone(ab), 0),
		"dealer n":               set(ab, TagSize, dealerN),
		"dealer 0xffff":          set(ab, TagSize, []byte{0xff, 0xff}),
		"ephemeral key = p":      set(ab, TagSize+2, p),
		"ephemeral key, top bit": set(ab, TagSize+2, pMinus),
	} {
		if _, err := UnmarshalAck(cfg, b); !errors.Is(err, ErrEncoding) {
			t.Errorf("UnmarshalAck(%s) = %v, want ErrEncoding", what, err)
		}
	}

	// Another context, another node set, another F: another tag.
	otherCtx := newCluster(t, 4, "encoding'", 40)
	otherKeys := newCluster(t, 4, "encoding", 99)
	otherF := c.cfg(-1)
	otherF.F = 0
	for what, cfg := range map[string]Config{"context": otherCtx.cfg(-1), "keys": otherKeys.cfg(-1), "f": otherF} {
		if _, err := UnmarshalPart(cfg, pb); !errors.Is(err, ErrContext) && !errors.Is(err, ErrEncoding) {
			t.Errorf("UnmarshalPart under another %s = %v", what, err)
		}
		if _, err := UnmarshalAck(cfg, ab); !errors.Is(err, ErrContext) {
			t.Errorf("UnmarshalAck under another %s = %v, want ErrContext", what, err)
		}
	}
	if _, err := UnmarshalPart(otherCtx.cfg(-1), pb); !errors.Is(err, ErrContext) {
		t.Errorf("UnmarshalPart under another context = %v, want ErrContext", err)
	}
}

// A row or value that opens but holds a scalar not below the group order
// is a bad row or value.
func TestNonCanonicalScalarsInPieces(t *testing.T) {
	c := newCluster(t, 4, "scalars", 44)
	part := c.part(t, 0, 45)
	over := bytes.Repeat([]byte{0xff}, ScalarSize)
	if _, err := decodeScalars(over, 1); !errors.Is(err, ErrEncoding) {
		t.Fatalf("decodeScalars(2^256-1) = %v", err)
	}
	order := []byte{0x73, 0xed, 0xa7, 0x53, 0x29, 0x9d, 0x7d, 0x48, 0x33, 0x39, 0xd8, 0x08, 0x09, 0xa1, 0xd8, 0x05,
		0x53, 0xbd, 0xa4, 0x02, 0xff, 0xfe, 0x5b, 0xfe, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01}
	if _, err := decodeScalars(order, 1); !errors.Is(err, ErrEncoding) {
		t.Fatalf("decodeScalars(r) = %v", err)
	}
	below := bytes.Clone(order)
	below[31]--
	if _, err := decodeScalars(below, 1); err != nil {
		t.Fatalf("decodeScalars(r-1) = %v", err)
	}

	// Dealer 0's row to node 2 is r repeated, sealed properly.
	prm0, _ := c.cfg(0).setup()
	poly, _ := randomBivar(c.f, seeded(46))
	eph0, _ := ecdh.X25519().NewPrivateKey(bytes.Repeat([]byte{3}, 32))
	bad := newPart(prm0, poly.commit(), eph0, poly.row)
	l := &label{tag: prm0.tag, kind: kindRow, dealer: 0, sender: 0, recipient: 2}
	bad.rows[2] = seal(eph0, prm0.keys[2], l, bytes.Repeat(order, c.f+1))
	kg, _ := New(c.cfg(2))
	if ack, err := kg.HandlePart(0, bad); err != nil || ack != nil {
		t.Fatalf("a row of scalars r: %v, %v", ack, err)
	}
	if f := kg.Faults(); len(f) != 1 || f[0].Kind != FaultRow || !errors.Is(f[0].Err, ErrEncoding) {
		t.Fatalf("faults %v", f)
	}

	// Node 1 acks with every value replaced by r, sealed properly.
	kg1, _ := New(c.cfg(1))
	if _, err := kg1.HandlePart(0, part); err != nil {
		t.Fatal(err)
	}
	eph := ackKey(kg1.prm.secret, kg1.prm.tag, part.digest())
	a := &Ack{tag: kg1.prm.tag, dealer: 0, values: make([][]byte, c.n)}
	copy(a.eph[:], eph.PublicKey().Bytes())
	for k := range a.values {
		l := &label{tag: kg1.prm.tag, kind: kindValue, dealer: 0, sender: 1, recipient: k}
		a.values[k] = seal(eph, kg1.prm.keys[k], l, order)
	}
	kg2, _ := New(c.cfg(2))
	if _, err := kg2.HandlePart(0, part); err != nil {
		t.Fatal(err)
	}
	if err := kg2.HandleAck(1, a); err != nil {
		t.Fatal(err)
	}
	if f := kg2.Faults(); len(f) != 1 || f[0].Kind != FaultValue || !errors.Is(f[0].Err, ErrEncoding) {
		t.Fatalf("faults %v", f)
	}
}

// Every single-byte change of a Part or an Ack is refused, at decoding or
// by the KeyGen, or leaves the node it concerns without an ack (a Part) or
// without the value (an Ack); none panics.
func TestByteFlips(t *testing.T) {
	c, pb, ab := encodingSetup(t)
	rowsAt := PartSize(c.n, c.f) - c.n*rowSize(c.f)
	valuesAt := AckSize(c.n) - c.n*valueSize
	var parts, acks [3]int // by outcome
	for _, mask := range []byte{0x01, 0x80} {
		for i := range pb {
			b := bytes.Clone(pb)
			b[i] ^= mask
			node := 0
			if i >= rowsAt {
				node = (i - rowsAt) / rowSize(c.f)
			}
			parts[checkFlippedPart(t, c, b, i, node)]++
		}
		for i := range ab {
			b := bytes.Clone(ab)
			b[i] ^= mask
			node := 0
			if i >= valuesAt {
				node = (i - valuesAt) / valueSize
			}
			acks[checkFlippedAck(t, c, pb, b, i, node)]++
		}
	}
	t.Logf("parts: %d refused at decoding, %d by the KeyGen, %d accepted without an ack", parts[0], parts[1], parts[2])
	t.Logf("acks: %d refused at decoding, %d by the KeyGen, %d accepted, value skipped", acks[0], acks[1], acks[2])
	if slices.Contains(parts[:], 0) || slices.Contains(acks[:], 0) {
		t.Fatal("an outcome never happened: the test lost its reach")
	}
}

// Outcomes of a changed message.
const (
	refusedDecoding = iota
	refusedKeyGen
	acceptedBad
)

func checkFlippedPart(t *testing.T, c *cluster, b []byte, at, node int) int {
	t.Helper()
	p, err := UnmarshalPart(c.cfg(node), b)
	if err != nil {
		if !errors.Is(err, ErrEncoding) && !errors.Is(err, ErrContext) {
			t.Fatalf("byte %d: %v wraps no sentinel", at, err)
		}
		return refusedDecoding
	}
	kg, _ := New(c.cfg(node))
	ack, err := kg.HandlePart(0, p)
	if err != nil {
		if !errors.Is(err, ErrSender) {
			t.Fatalf("byte %d: HandlePart: %v", at, err)
		}
		return refusedKeyGen
	}
	if ack != nil || rowFaults(kg, 0) != 1 {
		t.Fatalf("byte %d: node %d acked a changed part", at, node)
	}
	return acceptedBad
}

func checkFlippedAck(t *testing.T, c *cluster, pb, b []byte, at, node int) int {
	t.Helper()
	a, err := UnmarshalAck(c.cfg(node), b)
	if err != nil {
		if !errors.Is(err, ErrEncoding) && !errors.Is(err, ErrContext) {
			t.Fatalf("byte %d: %v wraps no sentinel", at, err)
		}
		return refusedDecoding
	}
	p, _ := UnmarshalPart(c.cfg(node), pb)
	kg, _ := New(c.cfg(node))
	if _, err := kg.HandlePart(0, p); err != nil {
		t.Fatal(err)
	}
	if err := kg.HandleAck(1, a); err != nil {
		if !errors.Is(err, ErrUnknownPart) {
			t.Fatalf("byte %d: HandleAck: %v", at, err)
		}
		return refusedKeyGen
	}
	if len(kg.parts[0].values) != 0 || len(kg.Faults()) != 1 {
		t.Fatalf("byte %d: node %d kept a changed value", at, node)
	}
	return acceptedBad
}

func FuzzUnmarshalPart(f *testing.F) {
	c, pb, _ := encodingSetup(f)
	f.Add(pb)
	f.Add([]byte{})
	f.Add(pb[:TagSize+2])
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := UnmarshalPart(c.cfg(-1), b)
		if err != nil {
			if !errors.Is(err, ErrEncoding) && !errors.Is(err, ErrContext) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		if again, _ := p.MarshalBinary(); !bytes.Equal(again, b) {
			t.Fatalf("accepted a non-canonical part")
		}
		kg, _ := New(c.cfg(2))
		if _, err := kg.HandlePart(p.Dealer(), p); err != nil {
			t.Fatalf("a decoded part refused by a fresh KeyGen: %v", err)
		}
	})
}

func FuzzUnmarshalAck(f *testing.F) {
	c, pb, ab := encodingSetup(f)
	p, _ := UnmarshalPart(c.cfg(-1), pb)
	f.Add(ab)
	f.Add([]byte{})
	f.Add(ab[:TagSize+2+KeySize])
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := UnmarshalAck(c.cfg(-1), b)
		if err != nil {
			if !errors.Is(err, ErrEncoding) && !errors.Is(err, ErrContext) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		if again, _ := a.MarshalBinary(); !bytes.Equal(again, b) {
			t.Fatalf("accepted a non-canonical ack")
		}
		kg, _ := New(c.cfg(3))
		if _, err := kg.HandlePart(0, p); err != nil {
			t.Fatal(err)
		}
		if err := kg.HandleAck(1, a); err != nil && !errors.Is(err, ErrUnknownPart) {
			t.Fatalf("HandleAck: %v", err)
		}
	})
}

// Zero values are refused, never a panic.
func TestZeroMessages(t *testing.T) {
	if _, err := new(Part).MarshalBinary(); !errors.Is(err, ErrEncoding) {
		t.Errorf("empty Part: %v", err)
	}
	if _, err := new(Ack).MarshalBinary(); !errors.Is(err, ErrEncoding) {
		t.Errorf("empty Ack: %v", err)
	}
	c := newCluster(t, 4, "zero", 47)
	kg, _ := New(c.cfg(0))
	if _, err := kg.HandlePart(0, new(Part)); !errors.Is(err, ErrContext) {
		t.Errorf("HandlePart(empty) = %v", err)
	}
	if err := kg.HandleAck(0, new(Ack)); !errors.Is(err, ErrContext) {
		t.Errorf("HandleAck(empty) = %v", err)
	}
	if err := kg.HandleAck(0, nil); !errors.Is(err, ErrEncoding) {
		t.Errorf("HandleAck(nil) = %v", err)
	}
}
