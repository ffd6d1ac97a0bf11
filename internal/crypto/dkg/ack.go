package dkg

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"go.dedis.ch/kyber/v4"
)

// Ack is a node's acknowledgement of a dealer's Part, made only after its
// row checked: for each node k, the value p(acker+1, k+1) sealed to k. The
// acker is not written: it is the node that posted the Ack. An Ack does
// not change once made or decoded.
type Ack struct {
	tag    [TagSize]byte
	dealer int
	eph    [KeySize]byte
	values [][]byte // sealed values by recipient
}

// Dealer is the index of the node whose Part this Ack acknowledges.
func (a *Ack) Dealer() int { return a.dealer }

// valueSize is the size of a sealed value.
const valueSize = ScalarSize + sealOverhead

// AckSize is the encoded size of an Ack for n nodes: the tag, the dealer
// (2 bytes), the ephemeral key and n sealed values.
func AckSize(n int) int { return TagSize + 2 + KeySize + n*valueSize }

// newAck makes our Ack of the Part p, given our checked row of it.
func newAck(prm *params, p *Part, row []kyber.Scalar) *Ack {
	return sealAck(prm, p, func(x int) kyber.Scalar {
		return evalScalars(row, g2().Scalar().SetInt64(int64(x)))
	})
}

// sealAck seals to each node k the value valueOf(k+1). (Tests give values
// that are not the row's.)
func sealAck(prm *params, p *Part, valueOf func(x int) kyber.Scalar) *Ack {
	eph := ackKey(prm.secret, prm.tag, p.digest())
	a := &Ack{tag: prm.tag, dealer: p.dealer, values: make([][]byte, prm.n)}
	copy(a.eph[:], eph.PublicKey().Bytes())
	for k := range a.values {
		l := &label{tag: prm.tag, kind: kindValue, dealer: p.dealer, sender: prm.self, recipient: k}
		a.values[k] = seal(eph, prm.keys[k], l, encodeScalars([]kyber.Scalar{valueOf(k + 1)}))
	}
	return a
}

// digest is SHA-256 of the Part's encoding.
func (p *Part) digest() [sha256.Size]byte {
	b, _ := p.MarshalBinary()
	return sha256.Sum256(b)
}

// MarshalBinary writes the Ack as AckSize(N) bytes: the tag, the dealer as
// a big-endian uint16, the ephemeral key, then the sealed values of nodes
// 0..N-1.
func (a *Ack) MarshalBinary() ([]byte, error) {
	if a.values == nil {
		return nil, fmt.Errorf("%w: an empty ack", ErrEncoding)
	}
	b := make([]byte, 0, AckSize(len(a.values)))
	b = append(b, a.tag[:]...)
	b = binary.BigEndian.AppendUint16(b, uint16(a.dealer))
	b = append(b, a.eph[:]...)
	for _, v := range a.values {
		b = append(b, v...)
	}
	return b, nil
}

// UnmarshalAck reads what MarshalBinary writes for the key generation of
// cfg (only N, F, Keys and Context are used), refusing any other length,
// another key generation's tag (ErrContext), a dealer out of range and an
// ephemeral key not canonical. The sealed values are not opened here.
func UnmarshalAck(cfg Config, b []byte) (*Ack, error) {
	prm, err := cfg.shape()
	if err != nil {
		return nil, err
	}
	if len(b) != AckSize(prm.n) {
		return nil, fmt.Errorf("%w: ack of %d bytes, want %d for n=%d", ErrEncoding, len(b), AckSize(prm.n), prm.n)
	}
	a := &Ack{}
	rest, err := decodeHeader(prm, b, &a.tag, &a.dealer, &a.eph)
	if err != nil {
		return nil, fmt.Errorf("ack: %w", err)
	}
	a.values = make([][]byte, prm.n)
	for k := range a.values {
		a.values[k] = bytes.Clone(rest[k*valueSize : (k+1)*valueSize])
	}
	return a, nil
}
