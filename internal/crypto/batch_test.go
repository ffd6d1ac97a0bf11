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

// signed is a batch's worth of signatures: keys, messages, signatures.
type signed struct {
	keys []PublicKey
	msgs [][]byte
	sigs []Signature
}

// sign returns n signatures by distinct keys of messages of size bytes,
// each message signed by per consecutive keys.
func sign(t testing.TB, n, per, size int) signed {
	s := signed{keys: make([]PublicKey, n), msgs: make([][]byte, n), sigs: make([]Signature, n)}
	for i, k := range keys(t, n) {
		s.keys[i] = k.Public()
		if i%per == 0 {
			s.msgs[i] = make([]byte, size)
			copy(s.msgs[i], fmt.Sprint("message ", i/per))
		} else {
			s.msgs[i] = s.msgs[i-1]
		}
		s.sigs[i] = k.Sign(DomainTx, s.msgs[i])
	}
	return s
}

// spoiled returns sig made invalid in one of three ways, by kind: a valid
// signature of another message, a changed S, a changed R (which may no
// longer be a point, making the batch fail before its equation).
func spoiled(sig Signature, kind int) Signature {
	switch kind % 3 {
	case 0:
		sig[10] ^= 0x01
	case 1:
		sig[40] ^= 0x10
	default:
		sig[0] ^= 0x80
	}
	return sig
}

// The batch cut into chunks verified concurrently says exactly what one
// sequential batch and the single verifications say, wherever the bad
// signatures are, for sizes around the chunk threshold and large: the same
// valid, in the order added, and the same error.
func TestParallelMatchesSequential(t *testing.T) {
	const most = 4096
	all := sign(t, most, 1, 64)
	honest := make([]bool, most) // each signature verified alone
	for i := range most {
		honest[i] = all.keys[i].Verify(DomainTx, all.msgs[i], all.sigs[i]) == nil
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 63, 64, 65, 127, 128, 129, 1000, most} {
		several := map[int]bool{}
		for range 5 {
			several[rng.IntN(n)] = true
		}
		patterns := map[string]func(i int) bool{
			"none":    func(int) bool { return false },
			"first":   func(i int) bool { return i == 0 },
			"last":    func(i int) bool { return i == n-1 },
			"several": func(i int) bool { return several[i] },
			"all":     func(int) bool { return true },
		}
		for name, isBad := range patterns {
			b := NewBatch(n)
			want := make([]bool, n)
			bad, first := 0, -1
			for i := range n {
				sig, ok := all.sigs[i], honest[i]
				if isBad(i) {
					sig = spoiled(sig, i)
					ok = all.keys[i].Verify(DomainTx, all.msgs[i], sig) == nil
				}
				b.Add(all.keys[i], DomainTx, all.msgs[i], sig)
				want[i] = ok
				if !want[i] {
					bad++
					if first < 0 {
						first = i
					}
				}
			}
			wantErr := ""
			if bad > 0 {
				wantErr = fmt.Sprintf("%v: %d of %d in the batch, the first at %d", ErrBadSignature, bad, n, first)
			}
			check := func(how string, valid []bool, err error) {
				t.Helper()
				gotErr := ""
				if err != nil {
					gotErr = err.Error()
				}
				if !slices.Equal(valid, want) || gotErr != wantErr || (bad > 0) != errors.Is(err, ErrBadSignature) {
					t.Errorf("size %d, %s bad, %s: error %q, want %q; valid differs: %v", n, name, how, gotErr, wantErr, !slices.Equal(valid, want))
				}
			}
			valid, err := b.Verify()
			check("Verify", valid, err)
			for _, chunks := range []int{1, 2, 3, 8} {
				valid, err := b.verify(chunks)
				check(fmt.Sprint(chunks, " chunks"), valid, err)
			}
		}
	}
}

// The ZIP-215 edge cases are decided the same in every chunk: small-order
// vectors accepted, keys and R off the curve and non-canonical S refused.
func TestParallelEdges(t *testing.T) {
	es := edges(t)
	es = append(es, edges(t)...) // past 2×minChunk whatever edges holds
	rand.New(rand.NewPCG(5, 6)).Shuffle(len(es), func(i, j int) { es[i], es[j] = es[j], es[i] })
	b := NewBatch(len(es))
	want := make([]bool, len(es))
	for i, e := range es {
		b.Add(e.key, DomainBlock, e.msg, e.sig)
		want[i] = e.valid
	}
	for _, chunks := range []int{1, 2, 3, 8} {
		valid, err := b.verify(chunks)
		if !errors.Is(err, ErrBadSignature) {
			t.Fatalf("%d chunks: %v", chunks, err)
		}
		for i := range want {
			if valid[i] != want[i] {
				t.Errorf("%d chunks, %s: valid=%v", chunks, es[i].name, valid[i])
			}
		}
	}
}

// BenchmarkBatchVerifyParallel4096 verifies 4096 signatures by distinct
// keys of 250-byte messages, in one batch on one core (sequential) and cut
// over every core as Verify does (parallel). ns/sig is the time per
// signature, adding included.
func BenchmarkBatchVerifyParallel4096(b *testing.B) {
	const n = 4096
	s := sign(b, n, 1, 250)
	for _, c := range []struct {
		name   string
		verify func(*Batch) ([]bool, error)
	}{
		{"sequential", func(batch *Batch) ([]bool, error) { return batch.verify(1) }},
		{"parallel", (*Batch).Verify},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				batch := NewBatch(n)
				for i := range n {
					batch.Add(s.keys[i], DomainTx, s.msgs[i], s.sigs[i])
				}
				if _, err := c.verify(batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/sig")
		})
	}
}

// BenchmarkVerificationCeiling measures the one-machine verification
// ceiling of signed transfers: how many transfers per second n = 4 nodes
// sharing this machine could commit if they did nothing but verify
// signatures.
//
// It verifies, on every core (Verify's parallel batch), blocks shaped like
// a block of 1,000 transfers: two signatures per transfer (the sender's
// and the recipient's, by distinct keys, of the same ~250-byte signed
// bytes). sigs/s is the signatures verified per second by the whole
// machine, adding included. Every node verifies every signature of every
// block once, so
//
//	transfers/s@n4 = sigs/s / (2 signatures per transfer × 4 nodes)
//
// is the most transfers per second the 4 nodes can commit together on
// this machine; the full application's throughput is measured against it.
func BenchmarkVerificationCeiling(b *testing.B) {
	const transfers, nodes = 1000, 4
	const n = 2 * transfers
	s := sign(b, n, 2, 250)
	for b.Loop() {
		batch := NewBatch(n)
		for i := range n {
			batch.Add(s.keys[i], DomainTx, s.msgs[i], s.sigs[i])
		}
		if _, err := batch.Verify(); err != nil {
			b.Fatal(err)
		}
	}
	sigs := float64(b.N*n) / b.Elapsed().Seconds()
	b.ReportMetric(sigs, "sigs/s")
	b.ReportMetric(sigs/(2*nodes), "transfers/s@n4")
}

// TestRepeatedKeysAgree: a key that signs minRepeat times in a batch is
// expanded once (repeatedKeys); every edge case signed so is decided as it
// is alone — ZIP-215's small-order and non-canonical keys included — and a
// bad signature among a repeated key's good ones is the one found.
func TestRepeatedKeysAgree(t *testing.T) {
	expanded := 0
	es := edges(t)
	for _, e := range es {
		b := NewBatch(minRepeat)
		for range minRepeat {
			b.Add(e.key, DomainBlock, e.msg, e.sig)
		}
		if repeatedKeys(b.entries)[e.key] != nil {
			expanded++
		}
		valid, err := b.Verify()
		if (err == nil) != e.valid || slices.Contains(valid, !e.valid) {
			t.Errorf("%s repeated %d times: %v %v, want valid=%v", e.name, minRepeat, valid, err, e.valid)
		}
	}
	if expanded < len(es)/2 {
		t.Fatalf("only %d of %d edge cases took the expanded path", expanded, len(es))
	}
	k := keys(t, 1)[0]
	b := NewBatch(4 * minRepeat)
	for i := range 4 * minRepeat {
		msg := []byte{byte(i)}
		sig := k.Sign(DomainBlock, msg)
		if i == 17 {
			sig[0] ^= 1
		}
		b.Add(k.Public(), DomainBlock, msg, sig)
	}
	valid, err := b.Verify()
	if !errors.Is(err, ErrBadSignature) || slices.Index(valid, false) != 17 || slices.Contains(valid[18:], false) {
		t.Fatalf("one bad signature of 32 by one key: %v %v", valid, err)
	}
}

// BenchmarkBatchRepeatedKeys: 1,024 signatures by 4 keys (a block's sale
// stamps), in one batch.
func BenchmarkBatchRepeatedKeys(b *testing.B) {
	ks := keys(b, 4)
	batch := NewBatch(1024)
	for i := range 1024 {
		msg := []byte{byte(i), byte(i >> 8)}
		k := ks[i%4]
		batch.Add(k.Public(), DomainBlock, msg, k.Sign(DomainBlock, msg))
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := batch.verify(1); err != nil {
			b.Fatal(err)
		}
	}
}
