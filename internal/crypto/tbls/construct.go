package tbls

import (
	"fmt"

	"go.dedis.ch/kyber/v4"
	"go.dedis.ch/kyber/v4/pairing/bls12381/circl"
)

// NewPublicKeyFromCommits makes the public key of n nodes from the T
// commitments of a sharing polynomial of degree T-1 (points of G2, the
// first being the group key), as a distributed key generation computes
// them. It refuses what UnmarshalPublicKey refuses: 1 <= T <= n <=
// MaxNodes not holding, a point not of this suite's G2, an identity group
// key or key share. It copies commits, and derives the N key shares (N*T
// multiplications in G2).
func NewPublicKeyFromCommits(n int, commits []kyber.Point) (*PublicKey, error) {
	own := make([]kyber.Point, len(commits))
	for j, c := range commits {
		p, ok := c.(*circl.G2Elt)
		if !ok || p == nil {
			return nil, fmt.Errorf("%w: commitment %d is not a point of G2", ErrParams, j)
		}
		own[j] = p.Clone()
	}
	return newPublicKey(n, own)
}

// NewSecretShare makes node index's secret share from its value v of the
// sharing polynomial (at x = index+1), as a distributed key generation
// computes it. It refuses an index out of [0, MaxNodes) and a scalar not of
// this suite; it copies v. Whether v matches a public key is for
// PublicKey.CheckSecretShare to say.
func NewSecretShare(index int, v kyber.Scalar) (SecretShare, error) {
	s, ok := v.(*circl.Scalar)
	if !ok || s == nil || index < 0 || index >= MaxNodes {
		return SecretShare{}, fmt.Errorf("%w: secret share %d (scalar %T)", ErrParams, index, v)
	}
	return SecretShare{Index: index, v: s.Clone()}, nil
}

// CheckSecretShare reports whether s is the secret share of node s.Index
// under pk: its value times the base point of G2 is that node's key share.
// It costs one multiplication in G2, no pairing.
func (pk *PublicKey) CheckSecretShare(s SecretShare) error {
	if s.v == nil || s.Index < 0 || s.Index >= pk.n {
		return fmt.Errorf("%w: secret share %d of n=%d", ErrIndex, s.Index, pk.n)
	}
	if !suite.G2().Point().Mul(s.v, nil).Equal(pk.shares[s.Index]) {
		return fmt.Errorf("%w: secret share %d does not match its key share", ErrInvalidShare, s.Index)
	}
	return nil
}
