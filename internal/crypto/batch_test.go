package crypto

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
)

// smallOrder holds the 14 encodings of the 8 points of small order that
// ZIP-215 lists: the 8 canonical ones, then 6 non-canonical (y ≥ p, or x = 0
// with the sign bit set). With S = 0, a public key and an R from this list
// make a signature that ZIP-215 accepts for every message, since
// [8](SB - kA - R) is the identity; the 196 pairs are ZIP-215's own test
// vectors (zip215.json in curve25519-voi and ed25519-zebra).
var smallOrder = []string{
	"0100000000000000000000000000000000000000000000000000000000000000",
	"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
	"0000000000000000000000000000000000000000000000000000000000000080",
	"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
	"0000000000000000000000000000000000000000000000000000000000000000",
	"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
	// Non-canonical.
	"0100000000000000000000000000000000000000000000000000000000000080",
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
}

// order is ℓ, the order of the base point, little-endian as in a signature.
var order = mustHex("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010")

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func point(s string) (p [32]byte) {
	b := mustHex(s)
	if len(b) != 32 {
		panic(fmt.Sprintf("point %s of %d bytes", s, len(b)))
	}
	copy(p[:], b)
	return p
}

// edge is a signature whose validity the rule decides at its edges.
type edge struct {
	name  string
	key   PublicKey
	msg   []byte
	sig   Signature
	valid bool
}

// edges returns the ZIP-215 vectors (valid) and, beside them, signatures
// that must be rejected: a non-canonical S (S + ℓ) on an honest signature
// and on a small-order one, a key and an R that are not points, and honest
// signatures changed or checked under another domain.
func edges(t testing.TB) []edge {
	var es []edge
	msg := []byte("Zcash")
	for i, a := range smallOrder {
		for j, r := range smallOrder {
			e := edge{name: fmt.Sprintf("zip215 A%d R%d", i, j), key: point(a), msg: msg, valid: true}
			rp := point(r)
			copy(e.sig[:32], rp[:])
			es = append(es, e)
		}
	}

	// S = ℓ instead of 0 on the identity: the same point, rejected because S
	// is not reduced.
	sLong := edge{name: "small order, S = ℓ", key: point(smallOrder[0]), msg: msg}
	copy(sLong.sig[:32], sLong.key[:])
	copy(sLong.sig[32:], order)
	es = append(es, sLong)

	k, err := KeyFromSeed(bytes.Repeat([]byte{3}, SeedSize))
	if err != nil {
		t.Fatal(err)
	}
	honest := k.Sign(DomainBlock, msg)
	es = append(es, edge{name: "honest", key: k.Public(), msg: msg, sig: honest, valid: true})
	es = append(es, edge{name: "honest, S + ℓ", key: k.Public(), msg: msg, sig: withLongS(honest)})
	flipped := honest
	flipped[40] ^= 0x10
	es = append(es, edge{name: "honest, S changed", key: k.Public(), msg: msg, sig: flipped})
	flippedR := honest
	flippedR[3] ^= 0x01
	es = append(es, edge{name: "honest, R changed", key: k.Public(), msg: msg, sig: flippedR})
	es = append(es, edge{name: "honest, other message", key: k.Public(), msg: []byte("Zcasi"), sig: honest})

	// y = 2 is not the y of a point of the curve.
	var offCurve [32]byte
	offCurve[0] = 2
	es = append(es, edge{name: "key off the curve", key: offCurve, msg: msg, sig: honest})
	rOff := honest
	copy(rOff[:32], offCurve[:])
	es = append(es, edge{name: "R off the curve", key: k.Public(), msg: msg, sig: rOff})
	return es
}

// withLongS returns sig with S replaced by S + ℓ: the same scalar, not
// reduced.
func withLongS(sig Signature) Signature {
	le := func(b []byte) *big.Int {
		be := slices.Clone(b)
		slices.Reverse(be)
		return new(big.Int).SetBytes(be)
	}
	s := new(big.Int).Add(le(sig[32:]), le(order))
	be := s.FillBytes(make([]byte, 32))
	slices.Reverse(be)
	out := sig
	copy(out[32:], be)
	return out
}

// Every edge case is decided as expected, alone and in a batch, and a batch
// mixing them points at exactly the invalid ones.
func TestEdgesSingleAndBatchAgree(t *testing.T) {
	es := edges(t)
	all := NewBatch(len(es))
	want := make([]bool, len(es))
	for i, e := range es {
		err := e.key.Verify(DomainBlock, e.msg, e.sig)
		if (err == nil) != e.valid {
			t.Errorf("%s: single verification says %v, want valid=%v", e.name, err, e.valid)
		}
		b := NewBatch(1)
		b.Add(e.key, DomainBlock, e.msg, e.sig)
		valid, berr := b.Verify()
		if (berr == nil) != e.valid || len(valid) != 1 || valid[0] != e.valid {
			t.Errorf("%s: batch of one says %v %v, want valid=%v", e.name, valid, berr, e.valid)
		}
		all.Add(e.key, DomainBlock, e.msg, e.sig)
		want[i] = e.valid
	}
	valid, err := all.Verify()
	if !errors.Is(err, ErrBadSignature) {
		t.Fatalf("a batch with invalid signatures: %v", err)
	}
	if !slices.Equal(valid, want) {
		for i := range want {
			if valid[i] != want[i] {
				t.Errorf("%s: batch says %v, want %v", es[i].name, valid[i], want[i])
			}
		}
	}
}

// A batch of only the valid edge cases (ZIP-215's small-order vectors among
// honest signatures) verifies: the batch equation is cofactored like the
// single one.
func TestBatchOfValidEdges(t *testing.T) {
	b := NewBatch(0)
	rng := rand.New(rand.NewPCG(1, 2))
	es := edges(t)
	rng.Shuffle(len(es), func(i, j int) { es[i], es[j] = es[j], es[i] })
	for _, e := range es {
		if e.valid {
			b.Add(e.key, DomainBlock, e.msg, e.sig)
		}
	}
	valid, err := b.Verify()
	if err != nil || len(valid) != b.Len() || slices.Contains(valid, false) {
		t.Fatalf("batch of %d valid signatures: %v %v", b.Len(), valid, err)
	}
}

func keys(t testing.TB, n int) []*PrivateKey {
	ks := make([]*PrivateKey, n)
	for i := range ks {
		seed := make([]byte, SeedSize)
		seed[0], seed[1] = byte(i), byte(i>>8)
		k, err := KeyFromSeed(seed)
		if err != nil {
			t.Fatal(err)
		}
		ks[i] = k
	}
	return ks
}

func TestBatchFindsTheBadOne(t *testing.T) {
	const n = 100 // past voi's cutoff for expanded keys (94)
	ks := keys(t, n)
	msg := func(i int) []byte { return fmt.Appendf(nil, "header %d", i) }
	for _, size := range []int{1, 2, 64, n} {
		for _, bad := range []int{-1, 0, size / 2, size - 1} {
			b := NewBatch(size)
			for i := range size {
				sig := ks[i].Sign(DomainBlock, msg(i))
				if i == bad {
					sig = ks[i].Sign(DomainBlock, msg(i+1))
				}
				b.Add(ks[i].Public(), DomainBlock, msg(i), sig)
			}
			if b.Len() != size {
				t.Fatalf("Len %d after %d adds", b.Len(), size)
			}
			valid, err := b.Verify()
			if len(valid) != size {
				t.Fatalf("size %d: %d results", size, len(valid))
			}
			if bad < 0 {
				if err != nil || slices.Contains(valid, false) {
					t.Fatalf("size %d, all valid: %v %v", size, valid, err)
				}
				continue
			}
			if !errors.Is(err, ErrBadSignature) {
				t.Fatalf("size %d, bad %d: %v", size, bad, err)
			}
			for i, v := range valid {
				if v != (i != bad) {
					t.Fatalf("size %d, bad %d: entry %d said valid=%v", size, bad, i, v)
				}
			}
		}
	}
}

func TestEmptyBatch(t *testing.T) {
	valid, err := NewBatch(0).Verify()
	if err != nil || len(valid) != 0 {
		t.Fatalf("empty batch: %v %v", valid, err)
	}
}

// A signature under one domain tag fails under every other, alone and in a
// batch, and the tag is separated from the message by the zero byte.
func TestDomainSeparation(t *testing.T) {
	k := keys(t, 1)[0]
	msg := []byte("pay 5")
	sig := k.Sign(DomainTx, msg)
	cases := []struct {
		domain string
		msg    []byte
		valid  bool
	}{
		{DomainTx, msg, true},
		{DomainBlock, msg, false},
		{DomainTx + "x", msg, false},
		{"mass/tx/v", append([]byte("1\x00"), msg...), false},
		{DomainTx[:len(DomainTx)-1], append([]byte{DomainTx[len(DomainTx)-1], 0}, msg...), false},
	}
	b := NewBatch(len(cases))
	for _, c := range cases {
		if err := k.Public().Verify(c.domain, c.msg, sig); (err == nil) != c.valid {
			t.Errorf("domain %q, message %q: %v, want valid=%v", c.domain, c.msg, err, c.valid)
		}
		b.Add(k.Public(), c.domain, c.msg, sig)
	}
	valid, err := b.Verify()
	if !errors.Is(err, ErrBadSignature) {
		t.Fatal(err)
	}
	for i, c := range cases {
		if valid[i] != c.valid {
			t.Errorf("batch, domain %q: valid=%v", c.domain, valid[i])
		}
	}
}

// The tagged message is tag ‖ 0x00 ‖ msg, as a standard ed25519 signature:
// any ed25519 signer (the standard library here) makes signatures Verify
// accepts.
func TestStandardSignatures(t *testing.T) {
	k := keys(t, 1)[0]
	msg := []byte("m")
	var sig Signature
	copy(sig[:], ed25519.Sign(k.Ed25519(), []byte(DomainBlock+"\x00m")))
	if sig != k.Sign(DomainBlock, msg) {
		t.Fatal("Sign differs from a standard signature of the tagged message")
	}
	if err := k.Public().Verify(DomainBlock, msg, sig); err != nil {
		t.Fatal(err)
	}
}

func TestParseID(t *testing.T) {
	id := keys(t, 1)[0].Public().ID()
	got, err := ParseID(id.String())
	if err != nil || got != id {
		t.Fatalf("ParseID(%s) = %s, %v", id, got, err)
	}
	for _, s := range []string{"", "zz", id.String()[2:], id.String() + "00"} {
		if _, err := ParseID(s); !errors.Is(err, ErrBadID) {
			t.Errorf("ParseID(%q): %v", s, err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	k := keys(b, 1)[0]
	msg := make([]byte, 200)
	sig := k.Sign(DomainBlock, msg)
	p := k.Public()
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Verify(DomainBlock, msg, sig); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBatchVerify64 verifies a certificate-sized batch: 64 nodes'
// signatures of one 200-byte header. ns/sig is the time per signature,
// adding included.
func BenchmarkBatchVerify64(b *testing.B) {
	const n = 64
	ks := keys(b, n)
	msg := make([]byte, 200)
	sigs := make([]Signature, n)
	pubs := make([]PublicKey, n)
	for i, k := range ks {
		sigs[i], pubs[i] = k.Sign(DomainBlock, msg), k.Public()
	}
	b.ReportAllocs()
	for b.Loop() {
		batch := NewBatch(n)
		for i := range n {
			batch.Add(pubs[i], DomainBlock, msg, sigs[i])
		}
		if _, err := batch.Verify(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/sig")
}

// TestWeakKeysRefused: every small-order encoding is refused, and so is a
// key off the curve; a real key passes.
func TestWeakKeysRefused(t *testing.T) {
	for i, s := range smallOrder {
		if err := PublicKey(point(s)).CheckStrong(); !errors.Is(err, ErrBadKey) {
			t.Fatalf("small-order encoding %d: %v", i, err)
		}
	}
	k, err := KeyFromSeed(make([]byte, SeedSize))
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Public().CheckStrong(); err != nil {
		t.Fatal(err)
	}
	var off PublicKey
	off[0] = 2 // y = 2 is not the y of a curve point
	if err := off.CheckStrong(); !errors.Is(err, ErrBadKey) {
		t.Fatalf("a key off the curve: %v", err)
	}
}
