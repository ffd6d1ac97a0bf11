package dkg

import (
	"fmt"
	"io"

	"github.com/mass-consensus/mass/internal/crypto/tbls"
	"go.dedis.ch/kyber/v4"
	"go.dedis.ch/kyber/v4/pairing/bls12381/circl"
	"go.dedis.ch/kyber/v4/share"
)

// Sizes of the group elements, as tbls writes them.
const (
	PointSize  = 96 // a compressed G2 point
	ScalarSize = 32 // a scalar, big-endian, below the group order
)

var suite = circl.NewSuite()

// g2 is the group of keys and commitments.
func g2() kyber.Group { return suite.G2() }

// bivar is a symmetric bivariate polynomial of degree deg in each variable:
// p(x, y) = Σ a[i][j] x^i y^j with a[i][j] == a[j][i] (one scalar, shared).
type bivar struct {
	deg int
	a   [][]kyber.Scalar
}

// triangle is the number of coefficients a[i][j] with i <= j.
func triangle(deg int) int { return (deg + 1) * (deg + 2) / 2 }

// randomBivar draws the coefficients a[i][j], i <= j in row order, each from
// 64 bytes of r reduced modulo the group order (as tbls.Deal does). A zero
// secret a[0][0] is refused.
func randomBivar(deg int, r io.Reader) (*bivar, error) {
	p := &bivar{deg: deg, a: square[kyber.Scalar](deg)}
	var buf [64]byte
	for i := 0; i <= deg; i++ {
		for j := i; j <= deg; j++ {
			if _, err := io.ReadFull(r, buf[:]); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrRandomness, err)
			}
			s := g2().Scalar().SetBytes(buf[:])
			p.a[i][j], p.a[j][i] = s, s
		}
	}
	if p.a[0][0].Equal(g2().Scalar().Zero()) {
		return nil, fmt.Errorf("%w: zero secret", ErrRandomness)
	}
	return p, nil
}

// square makes a (deg+1)×(deg+1) matrix.
func square[T any](deg int) [][]T {
	m := make([][]T, deg+1)
	for i := range m {
		m[i] = make([]T, deg+1)
	}
	return m
}

// row is the polynomial y ↦ p(x, y), as its deg+1 coefficients:
// r[j] = Σ_i a[i][j] x^i.
func (p *bivar) row(x int) []kyber.Scalar {
	xs := g2().Scalar().SetInt64(int64(x))
	r := make([]kyber.Scalar, p.deg+1)
	for j := range r {
		col := make([]kyber.Scalar, p.deg+1)
		for i := range col {
			col[i] = p.a[i][j]
		}
		r[j] = evalScalars(col, xs)
	}
	return r
}

// commit is the commitment a[i][j]·G2 of every coefficient.
func (p *bivar) commit() *commitment {
	c := &commitment{deg: p.deg, c: square[kyber.Point](p.deg)}
	for i := 0; i <= p.deg; i++ {
		for j := i; j <= p.deg; j++ {
			pt := g2().Point().Mul(p.a[i][j], nil)
			c.c[i][j], c.c[j][i] = pt, pt
		}
	}
	return c
}

// evalScalars is Σ coeffs[j] x^j (Horner).
func evalScalars(coeffs []kyber.Scalar, x kyber.Scalar) kyber.Scalar {
	v := g2().Scalar().Zero()
	for j := len(coeffs) - 1; j >= 0; j-- {
		v.Mul(v, x).Add(v, coeffs[j])
	}
	return v
}

// commitment is a symmetric matrix of points of G2: c[i][j] == c[j][i].
type commitment struct {
	deg int
	c   [][]kyber.Point
}

// row is the commitment to y ↦ p(x, y): R[j] = Σ_i c[i][j] x^i.
func (c *commitment) row(x int) []kyber.Point {
	r := make([]kyber.Point, c.deg+1)
	for j := range r {
		col := make([]kyber.Point, c.deg+1)
		for i := range col {
			col[i] = c.c[i][j]
		}
		r[j] = tbls.EvalPoints(col, x)
	}
	return r
}

// checkRow reports whether the scalars r are the row committed to by R:
// r[j]·G2 == R[j] for every j.
func checkRow(r []kyber.Scalar, R []kyber.Point) bool {
	for j := range R {
		if !g2().Point().Mul(r[j], nil).Equal(R[j]) {
			return false
		}
	}
	return true
}

// checkValue reports whether v is the value at x of the row committed to
// by R.
func checkValue(v kyber.Scalar, R []kyber.Point, x int) bool {
	return g2().Point().Mul(v, nil).Equal(tbls.EvalPoints(R, x))
}

// interpolateAtZero is q(0) for the polynomial q of degree t-1 through the
// values v.V at x = v.I+1 (exactly t of them, at distinct indices).
func interpolateAtZero(values []*share.PriShare, t, n int) (kyber.Scalar, error) {
	return share.RecoverSecret(g2(), values, uint32(t), uint32(n))
}
