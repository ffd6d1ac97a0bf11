// Package tbls holds threshold BLS signatures for a common coin (issue #15):
// for a coin's name, every node signs a share, every share is checked against
// that node's public key share, and any T valid shares combine into the one
// group signature on the name, whose hash gives the same unpredictable bit at
// every honest node.
//
// The curve is BLS12-381 through go.dedis.ch/kyber/v4's circl suite
// (pairing/bls12381/circl): signatures and signature shares are compressed G1
// points (48 bytes), keys are compressed G2 points (96 bytes). Shares are the
// values at x = index+1 of a polynomial of degree T-1 whose value at 0 is the
// group secret; combining is Lagrange interpolation in the exponent
// (kyber/share). Every signed message is "mass/coin/v1" followed by the
// caller's name bytes, so a coin signature is never valid for anything else.
//
// Key generation is not here: Deal is a trusted dealer for tests and tools,
// and a node must never use it.
//
// It imports nothing of Mass.
package tbls

import (
	"crypto/sha256"
	"errors"
	"fmt"

	"go.dedis.ch/kyber/v4"
	"go.dedis.ch/kyber/v4/pairing/bls12381/circl"
	"go.dedis.ch/kyber/v4/share"
)

// Sizes and limits.
const (
	SignatureSize = 48                   // compressed G1 point
	PointSize     = 96                   // compressed G2 point (a key)
	SigShareSize  = 2 + SignatureSize    // big-endian uint16 index, then the point
	MaxNodes      = 1024                 // largest n a PublicKey may have
	Domain        = "mass/coin/v1"       // prefix of every signed message
	_             = uint16(MaxNodes - 1) // compile-time: indices fit a uint16
)

// Errors of the package; the functions wrap them with the details.
var (
	ErrEncoding         = errors.New("tbls: malformed encoding")
	ErrParams           = errors.New("tbls: invalid parameters")
	ErrIndex            = errors.New("tbls: share index out of range")
	ErrDuplicateShare   = errors.New("tbls: duplicate share index")
	ErrInvalidShare     = errors.New("tbls: invalid signature share")
	ErrNotEnoughShares  = errors.New("tbls: not enough signature shares")
	ErrInvalidSignature = errors.New("tbls: invalid signature")
)

var suite = circl.NewSuite()

// PublicKey is the public side of a (T, N) sharing: the commitments to the
// sharing polynomial (kyber's share.PubPoly, whose value at 0 is the group
// key), and, derived from them, the public key share of each node 0..N-1.
// Being derived, the shares always lie on one polynomial, so any T valid
// signature shares combine to the same signature. No method changes a
// PublicKey once made (concurrent use is not yet tested under -race).
type PublicKey struct {
	n, t    int
	commits []kyber.Point // T points of G2; commits[0] is the group key
	shares  []kyber.Point // N points of G2; shares[i] is node i's key share
}

// SecretShare is node Index's share of the group secret. It must stay secret.
type SecretShare struct {
	Index int
	v     kyber.Scalar
}

// SigShare is node Index's signature share on a name: a compressed G1 point.
// It is a fixed-size value, comparable with ==.
type SigShare struct {
	Index uint16
	Sig   [SignatureSize]byte
}

// newPublicKey derives the public key shares of n nodes from the T
// commitments of a sharing polynomial.
func newPublicKey(n int, commits []kyber.Point) (*PublicKey, error) {
	t := len(commits)
	if t < 1 || t > n || n > MaxNodes {
		return nil, fmt.Errorf("%w: n=%d t=%d (want 1 <= t <= n <= %d)", ErrParams, n, t, MaxNodes)
	}
	if isNull(commits[0]) {
		return nil, fmt.Errorf("%w: group key is the identity", ErrParams)
	}
	pk := &PublicKey{n: n, t: t, commits: commits, shares: make([]kyber.Point, n)}
	for i := range n {
		pk.shares[i] = EvalPoints(commits, i+1)
		if isNull(pk.shares[i]) {
			return nil, fmt.Errorf("%w: key share %d is the identity", ErrParams, i)
		}
	}
	return pk, nil
}

// N is the number of nodes holding shares.
func (pk *PublicKey) N() int { return pk.n }

// T is the threshold: any T valid signature shares make the group signature,
// and fewer reveal nothing of it.
func (pk *PublicKey) T() int { return pk.t }

// message is what is signed for a name: Domain, then the name. Domain has a
// fixed length, so different names always give different messages.
func message(name []byte) []byte {
	m := make([]byte, 0, len(Domain)+len(name))
	return append(append(m, Domain...), name...)
}

// hashName maps a name to G1 (RFC 9380 hash-to-curve, kyber's default tag).
func hashName(name []byte) kyber.Point {
	return suite.G1().Point().(kyber.HashablePoint).Hash(message(name))
}

// Sign makes this node's signature share on name.
func (s *SecretShare) Sign(name []byte) (SigShare, error) {
	if s.v == nil || s.Index < 0 || s.Index >= MaxNodes {
		return SigShare{}, fmt.Errorf("%w: secret share %d is not set", ErrParams, s.Index)
	}
	p := suite.G1().Point().Mul(s.v, hashName(name))
	b, err := p.MarshalBinary()
	if err != nil || len(b) != SignatureSize {
		return SigShare{}, fmt.Errorf("%w: signature point: %v", ErrEncoding, err)
	}
	sh := SigShare{Index: uint16(s.Index)}
	copy(sh.Sig[:], b)
	return sh, nil
}

// decodeG1 reads a canonical compressed G1 point: exactly SignatureSize
// bytes, in the subgroup, the bytes it would be written as, and not the
// identity (which is never an honest signature; see check).
func decodeG1(b []byte) (kyber.Point, error) {
	if len(b) != SignatureSize {
		return nil, fmt.Errorf("%w: signature of %d bytes, want %d", ErrEncoding, len(b), SignatureSize)
	}
	p := suite.G1().Point()
	if err := p.UnmarshalBinary(b); err != nil {
		return nil, fmt.Errorf("%w: signature point: %v", ErrEncoding, err)
	}
	if again, _ := p.MarshalBinary(); string(again) != string(b) {
		return nil, fmt.Errorf("%w: signature point not canonical", ErrEncoding)
	}
	if isNull(p) {
		return nil, fmt.Errorf("%w: signature point is the identity", ErrEncoding)
	}
	return p, nil
}

// check reports whether sig is key's signature on the hashed name h:
// e(h, key) == e(sig, g2).
//
// The identity is refused for every argument before the pairing: circl's
// ProdPairFrac (v1.6.3, behind kyber's ValidatePairing) reports the
// identity of G1 as a valid signature on any message under any key, since
// its batch conversion to affine coordinates inverts the identity's zero Z.
// A key share or group key is never the identity (newPublicKey refuses it),
// and neither is a hashed name, but the check stays here so that no path
// reaches the pairing without it.
func check(h, key, sig kyber.Point) bool {
	if isNull(h) || isNull(key) || isNull(sig) {
		return false
	}
	return suite.ValidatePairing(h, key, sig, suite.G2().Point().Base())
}

// isNull reports whether p is the identity of its group.
func isNull(p kyber.Point) bool {
	return p.Equal(p.Clone().Null())
}

// verifyShare checks sh against its node's key share, h being the hashed
// name, and returns the share's point.
func (pk *PublicKey) verifyShare(h kyber.Point, sh SigShare) (kyber.Point, error) {
	i := int(sh.Index)
	if i >= pk.n {
		return nil, fmt.Errorf("%w: index %d, n=%d", ErrIndex, i, pk.n)
	}
	p, err := decodeG1(sh.Sig[:])
	if err != nil {
		return nil, fmt.Errorf("%w: index %d: %w", ErrInvalidShare, i, err)
	}
	if !check(h, pk.shares[i], p) {
		return nil, fmt.Errorf("%w: index %d: pairing check failed", ErrInvalidShare, i)
	}
	return p, nil
}

// VerifyShare checks that sh is node sh.Index's signature share on name.
func (pk *PublicKey) VerifyShare(name []byte, sh SigShare) error {
	_, err := pk.verifyShare(hashName(name), sh)
	return err
}

// Combine makes the group signature on name from signature shares. Every
// share given is checked: an index out of range, an index given twice, or a
// share that does not verify makes Combine fail with an error naming the
// first such index in the order given (ErrIndex, ErrDuplicateShare,
// ErrInvalidShare); it never skips a bad share silently, so a caller that
// must tolerate bad shares filters them with VerifyShare first. Fewer than T
// shares fail with ErrNotEnoughShares before any pairing. Of more than T
// valid shares, the T lowest indices are interpolated; every choice gives
// the same signature. The result is checked against the group key.
func (pk *PublicKey) Combine(name []byte, shares []SigShare) ([]byte, error) {
	seen := make(map[uint16]bool, len(shares))
	for _, sh := range shares {
		if int(sh.Index) >= pk.n {
			return nil, fmt.Errorf("%w: index %d, n=%d", ErrIndex, sh.Index, pk.n)
		}
		if seen[sh.Index] {
			return nil, fmt.Errorf("%w: index %d", ErrDuplicateShare, sh.Index)
		}
		seen[sh.Index] = true
	}
	if len(shares) < pk.t {
		return nil, fmt.Errorf("%w: %d given, need %d", ErrNotEnoughShares, len(shares), pk.t)
	}
	h := hashName(name)
	pub := make([]*share.PubShare, 0, len(shares))
	for _, sh := range shares {
		p, err := pk.verifyShare(h, sh)
		if err != nil {
			return nil, err
		}
		pub = append(pub, &share.PubShare{I: uint32(sh.Index), V: p})
	}
	// RecoverCommit sorts by index and takes the first T.
	sigPoint, err := share.RecoverCommit(suite.G1(), pub, uint32(pk.t), uint32(pk.n))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotEnoughShares, err)
	}
	if !check(h, pk.commits[0], sigPoint) {
		// Cannot happen with a consistent PublicKey: each share verified.
		return nil, fmt.Errorf("%w: combined signature does not verify", ErrInvalidSignature)
	}
	sig, err := sigPoint.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("%w: signature point: %v", ErrEncoding, err)
	}
	return sig, nil
}

// Verify checks that sig is the group signature on name.
func (pk *PublicKey) Verify(name []byte, sig []byte) error {
	p, err := decodeG1(sig)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidSignature, err)
	}
	if !check(hashName(name), pk.commits[0], p) {
		return fmt.Errorf("%w: pairing check failed", ErrInvalidSignature)
	}
	return nil
}

// CoinBit is the coin's value given its group signature: the low bit of the
// last byte of SHA-256(sig). The signature is unique for a name and key, so
// every node that has it gets the same bit; callers verify sig first.
func CoinBit(sig []byte) bool {
	h := sha256.Sum256(sig)
	return h[len(h)-1]&1 == 1
}
