package dkg

import (
	"bytes"
	"crypto/ecdh"
	"encoding/binary"
	"fmt"
	"io"

	"go.dedis.ch/kyber/v4"
)

// Part is a dealer's contribution: the commitment to its symmetric
// bivariate polynomial and each node's row, sealed to that node. A Part
// does not change once made or decoded.
type Part struct {
	tag    [TagSize]byte
	dealer int
	eph    [KeySize]byte // the ephemeral X25519 key sealing the rows
	commit *commitment
	points []byte   // the commitment's points c[i][j], i <= j, encoded
	rows   [][]byte // the sealed rows by recipient
}

// Dealer is the index of the node whose Part this is.
func (p *Part) Dealer() int { return p.dealer }

// rowSize is the size of a sealed row: F+1 scalars and the AEAD tag.
func rowSize(f int) int { return (f+1)*ScalarSize + sealOverhead }

// PartSize is the encoded size of a Part for n nodes and f faulty: the tag,
// the dealer (2 bytes), the ephemeral key, the (f+1)(f+2)/2 commitment
// points and n sealed rows.
func PartSize(n, f int) int {
	return TagSize + 2 + KeySize + triangle(f)*PointSize + n*rowSize(f)
}

// NewPart makes Self's Part, reading (F+1)(F+2)/2 × 64 bytes for the
// coefficients, then 32 for the ephemeral key, from rand.
func NewPart(cfg Config, rand io.Reader) (*Part, error) {
	p, err := cfg.setup()
	if err != nil {
		return nil, err
	}
	if p.self < 0 {
		return nil, fmt.Errorf("%w: an observer deals no part", ErrConfig)
	}
	poly, err := randomBivar(p.f, rand)
	if err != nil {
		return nil, err
	}
	var ephBytes [32]byte
	if _, err := io.ReadFull(rand, ephBytes[:]); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRandomness, err)
	}
	eph, err := ecdh.X25519().NewPrivateKey(ephBytes[:])
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRandomness, err)
	}
	return newPart(p, poly.commit(), eph, poly.row), nil
}

// newPart seals to each node m its row rowOf(m+1) under eph. (Tests give
// rows that are not the polynomial's.)
func newPart(p *params, c *commitment, eph *ecdh.PrivateKey, rowOf func(x int) []kyber.Scalar) *Part {
	part := &Part{tag: p.tag, dealer: p.self, commit: c, points: encodeCommitment(c)}
	copy(part.eph[:], eph.PublicKey().Bytes())
	part.rows = make([][]byte, p.n)
	for m := range part.rows {
		l := &label{tag: p.tag, kind: kindRow, dealer: p.self, sender: p.self, recipient: m}
		part.rows[m] = seal(eph, p.keys[m], l, encodeScalars(rowOf(m+1)))
	}
	return part
}

// MarshalBinary writes the Part as PartSize(N, F) bytes: the tag, the
// dealer as a big-endian uint16, the ephemeral key, the commitment points
// c[i][j] for i <= j in row order (compressed G2), then the sealed rows of
// nodes 0..N-1.
func (p *Part) MarshalBinary() ([]byte, error) {
	if p.commit == nil {
		return nil, fmt.Errorf("%w: an empty part", ErrEncoding)
	}
	b := make([]byte, 0, PartSize(len(p.rows), p.commit.deg))
	b = append(b, p.tag[:]...)
	b = binary.BigEndian.AppendUint16(b, uint16(p.dealer))
	b = append(b, p.eph[:]...)
	b = append(b, p.points...)
	for _, r := range p.rows {
		b = append(b, r...)
	}
	return b, nil
}

// UnmarshalPart reads what MarshalBinary writes for the key generation of
// cfg (only N, F, Keys and Context are used). It refuses any other length,
// another key generation's tag (ErrContext), a dealer out of range, an
// ephemeral key not canonical, and a commitment point not canonical, not in
// G2, or, for c[0][0], the identity. The sealed rows are not opened here.
// Decoding costs one point decompression and subgroup check per commitment
// point: about 18 ms for F=10 (N=31) on one core of the test machine.
func UnmarshalPart(cfg Config, b []byte) (*Part, error) {
	prm, err := cfg.shape()
	if err != nil {
		return nil, err
	}
	n, f := prm.n, prm.f
	if len(b) != PartSize(n, f) {
		return nil, fmt.Errorf("%w: part of %d bytes, want %d for n=%d f=%d", ErrEncoding, len(b), PartSize(n, f), n, f)
	}
	p := &Part{}
	rest, err := decodeHeader(prm, b, &p.tag, &p.dealer, &p.eph)
	if err != nil {
		return nil, fmt.Errorf("part: %w", err)
	}
	p.points = bytes.Clone(rest[:triangle(f)*PointSize])
	if p.commit, err = decodeCommitment(f, p.points); err != nil {
		return nil, err
	}
	rest = rest[len(p.points):]
	p.rows = make([][]byte, n)
	for m := range p.rows {
		p.rows[m] = bytes.Clone(rest[m*rowSize(f) : (m+1)*rowSize(f)])
	}
	return p, nil
}

// decodeHeader reads the head shared by Parts and Acks: the tag, which must
// be prm's, the dealer, which must be a node, and a canonical ephemeral key.
// It returns the bytes after it.
func decodeHeader(prm *params, b []byte, tag *[TagSize]byte, dealer *int, eph *[KeySize]byte) ([]byte, error) {
	copy(tag[:], b)
	if *tag != prm.tag {
		return nil, fmt.Errorf("%w: tag %x, want %x", ErrContext, tag[:8], prm.tag[:8])
	}
	*dealer = int(binary.BigEndian.Uint16(b[TagSize:]))
	if *dealer >= prm.n {
		return nil, fmt.Errorf("%w: dealer %d of n=%d", ErrEncoding, *dealer, prm.n)
	}
	copy(eph[:], b[TagSize+2:])
	if !canonicalU(eph[:]) {
		return nil, fmt.Errorf("%w: ephemeral key not canonical", ErrEncoding)
	}
	return b[TagSize+2+KeySize:], nil
}

// encodeCommitment writes c[i][j], i <= j, in row order.
func encodeCommitment(c *commitment) []byte {
	b := make([]byte, 0, triangle(c.deg)*PointSize)
	for i := 0; i <= c.deg; i++ {
		for j := i; j <= c.deg; j++ {
			pb, err := c.c[i][j].MarshalBinary()
			if err != nil || len(pb) != PointSize {
				panic(fmt.Sprintf("dkg: G2 point of %d bytes: %v", len(pb), err))
			}
			b = append(b, pb...)
		}
	}
	return b
}

// decodeCommitment reads what encodeCommitment writes, refusing points that
// are not canonical or not in G2, and an identity c[0][0].
func decodeCommitment(f int, b []byte) (*commitment, error) {
	c := &commitment{deg: f, c: square[kyber.Point](f)}
	for i := 0; i <= f; i++ {
		for j := i; j <= f; j++ {
			pt, err := decodePoint(b[:PointSize])
			if err != nil {
				return nil, fmt.Errorf("commitment point (%d, %d): %w", i, j, err)
			}
			c.c[i][j], c.c[j][i] = pt, pt
			b = b[PointSize:]
		}
	}
	if c.c[0][0].Equal(g2().Point().Null()) {
		return nil, fmt.Errorf("%w: commitment to a zero secret", ErrEncoding)
	}
	return c, nil
}

// decodePoint reads a canonical compressed point of G2 (circl checks that
// it is on the curve and in the subgroup).
func decodePoint(b []byte) (kyber.Point, error) {
	p := g2().Point()
	if err := p.UnmarshalBinary(b); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEncoding, err)
	}
	if again, _ := p.MarshalBinary(); !bytes.Equal(again, b) {
		return nil, fmt.Errorf("%w: point not canonical", ErrEncoding)
	}
	return p, nil
}

// encodeScalars writes scalars as ScalarSize big-endian bytes each.
func encodeScalars(s []kyber.Scalar) []byte {
	b := make([]byte, 0, len(s)*ScalarSize)
	for _, x := range s {
		xb, err := x.MarshalBinary()
		if err != nil || len(xb) != ScalarSize {
			panic(fmt.Sprintf("dkg: scalar of %d bytes: %v", len(xb), err))
		}
		b = append(b, xb...)
	}
	return b
}

// decodeScalars reads what encodeScalars writes, refusing a length that is
// not count scalars and a scalar not below the group order.
func decodeScalars(b []byte, count int) ([]kyber.Scalar, error) {
	if len(b) != count*ScalarSize {
		return nil, fmt.Errorf("%w: %d bytes of scalars, want %d", ErrEncoding, len(b), count*ScalarSize)
	}
	s := make([]kyber.Scalar, count)
	for i := range s {
		s[i] = g2().Scalar()
		if err := s[i].UnmarshalBinary(b[i*ScalarSize : (i+1)*ScalarSize]); err != nil {
			return nil, fmt.Errorf("%w: scalar %d: %v", ErrEncoding, i, err)
		}
	}
	return s, nil
}
