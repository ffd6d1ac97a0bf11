package tbls

import (
	"encoding/binary"
	"fmt"

	"go.dedis.ch/kyber/v4"
)

// MarshalBinary writes sh as SigShareSize bytes: the index as a big-endian
// uint16, then the compressed G1 point.
func (sh SigShare) MarshalBinary() ([]byte, error) {
	b := make([]byte, SigShareSize)
	binary.BigEndian.PutUint16(b, sh.Index)
	copy(b[2:], sh.Sig[:])
	return b, nil
}

// UnmarshalBinary reads what MarshalBinary writes: exactly SigShareSize
// bytes whose point is a canonical point of G1. Whether the index is in
// range and the share valid is for VerifyShare to say.
func (sh *SigShare) UnmarshalBinary(b []byte) error {
	if len(b) != SigShareSize {
		return fmt.Errorf("%w: signature share of %d bytes, want %d", ErrEncoding, len(b), SigShareSize)
	}
	if _, err := decodeG1(b[2:]); err != nil {
		return err
	}
	sh.Index = binary.BigEndian.Uint16(b)
	copy(sh.Sig[:], b[2:])
	return nil
}

// MarshalBinary writes pk as N and T, each a big-endian uint16, then the T
// commitments as compressed G2 points: 4 + T*PointSize bytes. The key shares
// are not written; they are derived again on reading.
func (pk *PublicKey) MarshalBinary() ([]byte, error) {
	b := make([]byte, 4, 4+pk.t*PointSize)
	binary.BigEndian.PutUint16(b, uint16(pk.n))
	binary.BigEndian.PutUint16(b[2:], uint16(pk.t))
	for _, c := range pk.commits {
		cb, err := c.MarshalBinary()
		if err != nil || len(cb) != PointSize {
			return nil, fmt.Errorf("%w: key point: %v", ErrEncoding, err)
		}
		b = append(b, cb...)
	}
	return b, nil
}

// UnmarshalPublicKey reads what PublicKey.MarshalBinary writes, rejecting
// any other length, 1 <= T <= N <= MaxNodes not holding, a point not
// canonical or not in G2, and an identity group key. It derives the N key
// shares, which costs N*T multiplications in G2 (a few milliseconds for
// N=16, T=6); read a key once and keep it.
func UnmarshalPublicKey(b []byte) (*PublicKey, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("%w: public key of %d bytes", ErrEncoding, len(b))
	}
	n := int(binary.BigEndian.Uint16(b))
	t := int(binary.BigEndian.Uint16(b[2:]))
	if t < 1 || t > n || n > MaxNodes {
		return nil, fmt.Errorf("%w: public key with n=%d t=%d", ErrEncoding, n, t)
	}
	if len(b) != 4+t*PointSize {
		return nil, fmt.Errorf("%w: public key of %d bytes, want %d for t=%d", ErrEncoding, len(b), 4+t*PointSize, t)
	}
	commits := make([]kyber.Point, t)
	for j := range commits {
		cb := b[4+j*PointSize : 4+(j+1)*PointSize]
		p := suite.G2().Point()
		if err := p.UnmarshalBinary(cb); err != nil {
			return nil, fmt.Errorf("%w: key point %d: %v", ErrEncoding, j, err)
		}
		if again, _ := p.MarshalBinary(); string(again) != string(cb) {
			return nil, fmt.Errorf("%w: key point %d not canonical", ErrEncoding, j)
		}
		commits[j] = p
	}
	pk, err := newPublicKey(n, commits)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrEncoding, err)
	}
	return pk, nil
}
