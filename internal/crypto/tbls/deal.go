package tbls

import (
	"fmt"
	"io"

	"go.dedis.ch/kyber/v4"
	"go.dedis.ch/kyber/v4/share"
)

// Deal is a trusted dealer, for tests and tools only: it picks a random
// polynomial of degree t-1 from rand, and returns the public key and the
// secret shares of nodes 0..n-1, any t of which sign. Whoever runs it knows
// the group secret, so a node must never use it; nodes get their shares
// from a distributed key generation. Given the same bytes from rand, Deal
// gives the same keys.
func Deal(n, t int, rand io.Reader) (*PublicKey, []SecretShare, error) {
	if t < 1 || t > n || n > MaxNodes {
		return nil, nil, fmt.Errorf("%w: n=%d t=%d (want 1 <= t <= n <= %d)", ErrParams, n, t, MaxNodes)
	}
	g := suite.G2()
	coeffs := make([]kyber.Scalar, t)
	var buf [64]byte // 512 bits reduced mod the 255-bit order: negligible bias
	for j := range coeffs {
		if _, err := io.ReadFull(rand, buf[:]); err != nil {
			return nil, nil, fmt.Errorf("%w: reading randomness: %w", ErrParams, err)
		}
		coeffs[j] = g.Scalar().SetBytes(buf[:])
	}
	if coeffs[0].Equal(g.Scalar().Zero()) {
		return nil, nil, fmt.Errorf("%w: zero group secret", ErrParams)
	}
	poly := share.CoefficientsToPriPoly(g, coeffs)
	_, commits := poly.Commit(g.Point().Base()).Info()
	pk, err := newPublicKey(n, commits)
	if err != nil {
		return nil, nil, err
	}
	secrets := make([]SecretShare, n)
	for i := range secrets {
		secrets[i] = SecretShare{Index: i, v: poly.Eval(uint32(i)).V}
	}
	return pk, secrets, nil
}
