package dkg

import (
	"fmt"

	"go.dedis.ch/kyber/v4"

	"github.com/mass-consensus/mass/internal/crypto/tbls"
)

// Complete is the number of complete Parts: Parts acked by at least N-F
// distinct nodes.
func (kg *KeyGen) Complete() int {
	return len(kg.completeDealers())
}

// PartComplete reports whether dealer's Part is complete.
func (kg *KeyGen) PartComplete(dealer int) bool {
	if dealer < 0 || dealer >= kg.prm.n {
		return false
	}
	d := kg.parts[dealer]
	return d != nil && d.acks >= kg.prm.quorum()
}

// Ready reports whether at least N-F Parts are complete, and so whether
// Generate gives a key.
func (kg *KeyGen) Ready() bool { return kg.Complete() >= kg.prm.quorum() }

// Faults returns the faults this node has seen, in the order seen.
func (kg *KeyGen) Faults() []Fault {
	return append([]Fault(nil), kg.faults...)
}

// completeDealers lists the dealers of complete Parts, in index order.
func (kg *KeyGen) completeDealers() []int {
	var ds []int
	for dealer := range kg.parts {
		if kg.PartComplete(dealer) {
			ds = append(ds, dealer)
		}
	}
	return ds
}

// Generate gives the key of the Parts complete now (Parts completing later
// are not included), once Ready (ErrNotReady before): the public key of
// the sum of p_d(x, 0) over complete Parts d, with T = F+1, the same at
// every node and observer that handled the same messages in the same
// order; and, for a node, its secret share, the sum of p_d(Self+1, 0).
// An observer gets a nil share. If a complete Part has fewer than T
// checked values for this node (only possible with more than F faulty
// nodes), the public key is returned with a nil share and an error
// wrapping ErrNoShare. Generate changes nothing: called again it gives the
// same result.
func (kg *KeyGen) Generate() (*tbls.PublicKey, *tbls.SecretShare, error) {
	if !kg.Ready() {
		return nil, nil, fmt.Errorf("%w: %d complete, need %d", ErrNotReady, kg.Complete(), kg.prm.quorum())
	}
	dealers := kg.completeDealers()
	pk, err := kg.publicKey(dealers)
	if err != nil {
		return nil, nil, err
	}
	if kg.prm.secret == nil {
		return pk, nil, nil
	}
	sh, err := kg.secretShare(dealers)
	if err != nil {
		return pk, nil, err
	}
	if err := pk.CheckSecretShare(sh); err != nil { // an assertion
		return pk, nil, fmt.Errorf("dkg: our share does not match the key: %w", err)
	}
	return pk, &sh, nil
}

// publicKey sums the commitments c[i][0] of the dealers' Parts.
func (kg *KeyGen) publicKey(dealers []int) (*tbls.PublicKey, error) {
	commits := make([]kyber.Point, kg.prm.threshold())
	for i := range commits {
		commits[i] = g2().Point().Null()
		for _, d := range dealers {
			commits[i].Add(commits[i], kg.parts[d].commit.c[i][0])
		}
	}
	pk, err := tbls.NewPublicKeyFromCommits(kg.prm.n, commits)
	if err != nil { // a sum of commitments to random polynomials is not the identity
		return nil, fmt.Errorf("dkg: the key: %w", err)
	}
	return pk, nil
}

// secretShare sums our values p_d(Self+1, 0), each interpolated from the
// T checked values of our row of d.
func (kg *KeyGen) secretShare(dealers []int) (tbls.SecretShare, error) {
	t, n := kg.prm.threshold(), kg.prm.n
	s := g2().Scalar().Zero()
	for _, d := range dealers {
		values := kg.parts[d].values
		if len(values) < t {
			return tbls.SecretShare{}, fmt.Errorf("%w: %d of part %d, need %d", ErrNoShare, len(values), d, t)
		}
		v, err := interpolateAtZero(values, t, n)
		if err != nil {
			return tbls.SecretShare{}, fmt.Errorf("%w: part %d: %v", ErrNoShare, d, err)
		}
		s.Add(s, v)
	}
	return tbls.NewSecretShare(kg.prm.self, s)
}
