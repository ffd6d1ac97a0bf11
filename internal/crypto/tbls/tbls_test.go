package tbls

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"go.dedis.ch/kyber/v4/share"
	"go.dedis.ch/kyber/v4/sign/bls"
	kybertbls "go.dedis.ch/kyber/v4/sign/tbls"
)

// seeded is a deterministic io.Reader for the dealer.
func seeded(seed uint64) *rand.ChaCha8 {
	var s [32]byte
	for i := range 8 {
		s[i] = byte(seed >> (8 * i))
	}
	return rand.NewChaCha8(s)
}

func deal(t *testing.T, n, th int, seed uint64) (*PublicKey, []SecretShare) {
	t.Helper()
	pk, sks, err := Deal(n, th, seeded(seed))
	if err != nil {
		t.Fatalf("Deal(%d, %d): %v", n, th, err)
	}
	return pk, sks
}

func signAll(t testing.TB, sks []SecretShare, name []byte) []SigShare {
	t.Helper()
	out := make([]SigShare, len(sks))
	for i := range sks {
		sh, err := sks[i].Sign(name)
		if err != nil {
			t.Fatalf("Sign %d: %v", i, err)
		}
		out[i] = sh
	}
	return out
}

// subsets calls f with every k-subset of 0..n-1, as sorted indices.
func subsets(n, k int, f func([]int)) {
	idx := make([]int, 0, k)
	var rec func(start int)
	rec = func(start int) {
		if len(idx) == k {
			f(idx)
			return
		}
		for i := start; i < n; i++ {
			idx = append(idx, i)
			rec(i + 1)
			idx = idx[:len(idx)-1]
		}
	}
	rec(0)
}

func pick(all []SigShare, idx []int) []SigShare {
	out := make([]SigShare, len(idx))
	for j, i := range idx {
		out[j] = all[i]
	}
	return out
}

// Any T of N shares, in any order, give one signature, one bit; T-1 give none.
func TestAnyThresholdSubsetCombinesToTheSameSignature(t *testing.T) {
	for _, c := range []struct {
		n, t   int
		random int // 0: every t-subset; else that many random subsets
	}{{4, 2, 0}, {7, 3, 0}, {16, 6, 12}} {
		t.Run(fmt.Sprintf("n=%d,t=%d", c.n, c.t), func(t *testing.T) {
			pk, sks := deal(t, c.n, c.t, 1)
			name := []byte("era 1 epoch 2 instance 3 round 4")
			all := signAll(t, sks, name)
			for _, sh := range all {
				if err := pk.VerifyShare(name, sh); err != nil {
					t.Fatalf("VerifyShare(%d): %v", sh.Index, err)
				}
			}
			want, err := pk.Combine(name, all)
			if err != nil {
				t.Fatalf("Combine(all): %v", err)
			}
			if err := pk.Verify(name, want); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			count := 0
			try := func(idx []int) {
				count++
				got, err := pk.Combine(name, pick(all, idx))
				if err != nil {
					t.Fatalf("Combine(%v): %v", idx, err)
				}
				if string(got) != string(want) || CoinBit(got) != CoinBit(want) {
					t.Fatalf("Combine(%v) = %x, want %x", idx, got, want)
				}
			}
			if c.random == 0 {
				subsets(c.n, c.t, try)
			} else {
				r := rand.New(rand.NewPCG(7, 7))
				for range c.random {
					try(r.Perm(c.n)[:c.t]) // unsorted on purpose
				}
			}
			t.Logf("%d subsets agree; coin %v", count, CoinBit(want))

			// T-1 shares are refused, whichever they are.
			subsets(c.n, c.t-1, func(idx []int) {
				if c.n > 7 && idx[0] > 0 {
					return
				}
				if _, err := pk.Combine(name, pick(all, idx)); !errors.Is(err, ErrNotEnoughShares) {
					t.Fatalf("Combine(%v) with t-1 shares: err = %v, want ErrNotEnoughShares", idx, err)
				}
			})

			// Another name gives another signature.
			other, err := pk.Combine([]byte("another name"), signAll(t, sks[:c.t], []byte("another name")))
			if err != nil {
				t.Fatal(err)
			}
			if string(other) == string(want) {
				t.Fatal("two names gave one signature")
			}
			if err := pk.Verify(name, other); !errors.Is(err, ErrInvalidSignature) {
				t.Fatalf("Verify(other name's signature) = %v, want ErrInvalidSignature", err)
			}
		})
	}
}

// Bad shares fail VerifyShare, and Combine refuses them naming the index.
func TestBadSharesAreRefusedByIndex(t *testing.T) {
	const n, th = 7, 3
	pk, sks := deal(t, n, th, 2)
	name := []byte("coin")
	good := signAll(t, sks, name)
	onOther := signAll(t, sks, []byte("coin'"))

	flip := func(sh SigShare, byteAt int, mask byte) SigShare {
		sh.Sig[byteAt] ^= mask
		return sh
	}
	identity := SigShare{Index: 4}
	identity.Sig[0] = 0xC0 // compressed point at infinity
	wrongIndex := good[5]
	wrongIndex.Index = 4

	for _, c := range []struct {
		what string
		sh   SigShare
		want error
	}{
		{"share of node 5 labelled 4", wrongIndex, ErrInvalidShare},
		{"share on another name", onOther[4], ErrInvalidShare},
		{"sign bit flipped (the negated point)", flip(good[4], 0, 0x20), ErrInvalidShare},
		{"last byte flipped", flip(good[4], SignatureSize-1, 0x01), ErrInvalidShare},
		{"compression flag cleared", flip(good[4], 0, 0x80), ErrInvalidShare},
		{"point at infinity", identity, ErrInvalidShare},
		{"index out of range", SigShare{Index: n, Sig: good[4].Sig}, ErrIndex},
		{"index far out of range", SigShare{Index: 0xFFFF, Sig: good[4].Sig}, ErrIndex},
	} {
		t.Run(c.what, func(t *testing.T) {
			err := pk.VerifyShare(name, c.sh)
			if !errors.Is(err, c.want) {
				t.Fatalf("VerifyShare = %v, want %v", err, c.want)
			}
			// T good shares plus the bad one: refused, not skipped.
			shares := append(append([]SigShare{}, good[:th]...), c.sh)
			_, err = pk.Combine(name, shares)
			if !errors.Is(err, c.want) {
				t.Fatalf("Combine = %v, want %v", err, c.want)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("index %d", c.sh.Index)) {
				t.Fatalf("Combine error %q does not name index %d", err, c.sh.Index)
			}
		})
	}

	t.Run("duplicate index", func(t *testing.T) {
		// Two copies of one share are one share: with T-1 others, refused.
		shares := []SigShare{good[0], good[1], good[1]}
		_, err := pk.Combine(name, shares)
		if !errors.Is(err, ErrDuplicateShare) || !strings.Contains(err.Error(), "index 1") {
			t.Fatalf("Combine = %v, want ErrDuplicateShare naming index 1", err)
		}
		// Even a duplicate beside T distinct good shares is refused.
		_, err = pk.Combine(name, append(append([]SigShare{}, good[:th]...), good[0]))
		if !errors.Is(err, ErrDuplicateShare) {
			t.Fatalf("Combine = %v, want ErrDuplicateShare", err)
		}
	})

	t.Run("signature that is a share", func(t *testing.T) {
		if err := pk.Verify(name, good[0].Sig[:]); !errors.Is(err, ErrInvalidSignature) {
			t.Fatalf("Verify(a share) = %v, want ErrInvalidSignature", err)
		}
		sig, err := pk.Combine(name, good[:th])
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range [][]byte{nil, sig[:SignatureSize-1], append(append([]byte{}, sig...), 0)} {
			if err := pk.Verify(name, bad); !errors.Is(err, ErrInvalidSignature) {
				t.Fatalf("Verify(%d bytes) = %v, want ErrInvalidSignature", len(bad), err)
			}
		}
	})

	t.Run("another dealing's key", func(t *testing.T) {
		pk2, _ := deal(t, n, th, 3)
		if err := pk2.VerifyShare(name, good[0]); !errors.Is(err, ErrInvalidShare) {
			t.Fatalf("VerifyShare under another key = %v", err)
		}
	})
}

// The shares and signature are kyber's BLS and TBLS on Domain||name: an
// independent check of the hashing, the interpolation and the domain.
func TestAgreesWithKyberBLS(t *testing.T) {
	const n, th = 5, 3
	pk, sks := deal(t, n, th, 4)
	name := []byte("name")
	all := signAll(t, sks, name)
	sig, err := pk.Combine(name, all[1:1+th])
	if err != nil {
		t.Fatal(err)
	}
	scheme := bls.NewSchemeOnG1(suite)
	if err := scheme.Verify(pk.commits[0], message(name), sig); err != nil {
		t.Fatalf("kyber bls rejects the signature on Domain||name: %v", err)
	}
	if err := scheme.Verify(pk.commits[0], name, sig); err == nil {
		t.Fatal("the signature is valid on the bare name: no domain separation")
	}
	share0, err := scheme.Sign(sks[0].v, message(name))
	if err != nil || string(share0) != string(all[0].Sig[:]) {
		t.Fatalf("kyber bls share = %x, %v; ours %x", share0, err, all[0].Sig)
	}

	ts := kybertbls.NewThresholdSchemeOnG1(suite)
	raw := make([][]byte, 0, n)
	for _, sh := range all[2:] {
		b, _ := sh.MarshalBinary()
		raw = append(raw, b)
	}
	pub := share.NewPubPoly(suite.G2(), nil, pk.commits)
	got, err := ts.Recover(pub, message(name), raw, th, n)
	if err != nil || string(got) != string(sig) {
		t.Fatalf("kyber tbls Recover = %x, %v; ours %x", got, err, sig)
	}
}

// The coin is balanced over names, and the dealer is deterministic.
func TestCoinBitsAreBalancedAndDeterministic(t *testing.T) {
	names := 1000
	if testing.Short() {
		names = 200
	}
	const n, th = 4, 2
	pk, sks := deal(t, n, th, 5)
	pkAgain, sksAgain := deal(t, n, th, 5)
	ones := 0
	for i := range names {
		name := fmt.Appendf(nil, "era 0 epoch %d instance 0 round %d", i/10, i%10)
		shares := signAll(t, sks[:th], name)
		sig, err := pk.Combine(name, shares)
		if err != nil {
			t.Fatal(err)
		}
		if CoinBit(sig) {
			ones++
		}
		if i < 3 { // same seed, same keys, same coin
			again, err := pkAgain.Combine(name, signAll(t, sksAgain[th:], name))
			if err != nil || string(again) != string(sig) {
				t.Fatalf("redealt with the same seed: %x, %v; want %x", again, err, sig)
			}
		}
	}
	lo, hi := names*2/5, names*3/5
	t.Logf("%d ones of %d", ones, names)
	if ones < lo || ones > hi {
		t.Fatalf("%d ones of %d coins, want within [%d, %d]", ones, names, lo, hi)
	}
}

func TestDealRefusesBadParameters(t *testing.T) {
	for _, c := range []struct{ n, t int }{{0, 0}, {3, 0}, {3, 4}, {-1, 1}, {MaxNodes + 1, 2}} {
		if _, _, err := Deal(c.n, c.t, seeded(1)); !errors.Is(err, ErrParams) {
			t.Errorf("Deal(%d, %d) = %v, want ErrParams", c.n, c.t, err)
		}
	}
	if _, _, err := Deal(4, 2, strings.NewReader("too short")); !errors.Is(err, ErrParams) {
		t.Errorf("Deal with short randomness = %v, want ErrParams", err)
	}
	var zero SecretShare
	if _, err := zero.Sign([]byte("x")); !errors.Is(err, ErrParams) {
		t.Errorf("Sign with a zero SecretShare = %v, want ErrParams", err)
	}
}
