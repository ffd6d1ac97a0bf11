package tbls

import "testing"

const benchN, benchT = 16, 6

func benchSetup(b *testing.B) (*PublicKey, []SecretShare, []byte, []SigShare) {
	b.Helper()
	pk, sks, err := Deal(benchN, benchT, seeded(11))
	if err != nil {
		b.Fatal(err)
	}
	name := []byte("era 1 epoch 2 instance 3 round 4")
	return pk, sks, name, signAll(b, sks[:benchT], name)
}

func BenchmarkSignShare(b *testing.B) {
	_, sks, name, _ := benchSetup(b)
	for b.Loop() {
		if _, err := sks[0].Sign(name); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyShare(b *testing.B) {
	pk, _, name, shares := benchSetup(b)
	for b.Loop() {
		if err := pk.VerifyShare(name, shares[0]); err != nil {
			b.Fatal(err)
		}
	}
}

// Combine of T=6 shares of N=16: 6 share checks, interpolation, 1 check.
func BenchmarkCombine(b *testing.B) {
	pk, _, name, shares := benchSetup(b)
	for b.Loop() {
		if _, err := pk.Combine(name, shares); err != nil {
			b.Fatal(err)
		}
	}
}

// Recover of T=6 shares of N=16: interpolation and one check of the result
// (what the threshold coin does when no share is bad).
func BenchmarkRecover(b *testing.B) {
	pk, _, name, shares := benchSetup(b)
	for b.Loop() {
		if _, err := pk.Recover(name, shares); err != nil {
			b.Fatal(err)
		}
	}
}
