package tbls

import (
	"fmt"
	"math/bits"

	"go.dedis.ch/kyber/v4"
	"go.dedis.ch/kyber/v4/share"
)

// Recover makes the group signature on name from at least T signature shares
// without checking each share first: it interpolates the T lowest indices
// and checks only the result against the group key, one pairing check
// instead of T+1. If some share used was bad the result fails with
// ErrInvalidSignature, and the caller finds the bad shares with VerifyShare
// and tries again without them. Indices out of range or given twice fail as
// in Combine.
func (pk *PublicKey) Recover(name []byte, shares []SigShare) ([]byte, error) {
	if len(shares) < pk.t {
		return nil, fmt.Errorf("%w: %d given, need %d", ErrNotEnoughShares, len(shares), pk.t)
	}
	seen := make(map[uint16]bool, len(shares))
	pub := make([]*share.PubShare, 0, len(shares))
	for _, sh := range shares {
		if int(sh.Index) >= pk.n {
			return nil, fmt.Errorf("%w: index %d, n=%d", ErrIndex, sh.Index, pk.n)
		}
		if seen[sh.Index] {
			return nil, fmt.Errorf("%w: index %d", ErrDuplicateShare, sh.Index)
		}
		seen[sh.Index] = true
		p, err := decodeG1(sh.Sig[:])
		if err != nil {
			return nil, fmt.Errorf("%w: index %d: %w", ErrInvalidShare, sh.Index, err)
		}
		pub = append(pub, &share.PubShare{I: uint32(sh.Index), V: p})
	}
	sigPoint, err := share.RecoverCommit(suite.G1(), pub, uint32(pk.t), uint32(pk.n))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotEnoughShares, err)
	}
	if isNull(sigPoint) || !check(hashName(name), pk.commits[0], sigPoint) {
		return nil, fmt.Errorf("%w: interpolated signature does not verify", ErrInvalidSignature)
	}
	sig, err := sigPoint.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("%w: signature point: %v", ErrEncoding, err)
	}
	return sig, nil
}

// EvalPoints is Σ coeffs[j]·x^j for a small public x ≥ 0 (Horner's rule,
// multiplying by x with additions): the value at x of a polynomial given by
// its commitments, such as a node's public key share at x = index+1.
func EvalPoints(coeffs []kyber.Point, x int) kyber.Point {
	v := coeffs[0].Clone().Null()
	for j := len(coeffs) - 1; j >= 0; j-- {
		m := mulSmall(v, x)
		v = m.Add(m, coeffs[j])
	}
	return v
}

// mulSmall is k·p for a small public k ≥ 0, by double-and-add: about 20
// additions for k near MaxNodes, where a full multiplication costs as much
// as 250. It is not constant-time, and need not be.
func mulSmall(p kyber.Point, k int) kyber.Point {
	acc := p.Clone().Null()
	for b := bits.Len(uint(k)) - 1; b >= 0; b-- {
		acc.Add(acc, acc)
		if k>>b&1 == 1 {
			acc.Add(acc, p)
		}
	}
	return acc
}
