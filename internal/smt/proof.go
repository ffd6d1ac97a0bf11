package smt

import (
	"encoding/binary"
	"fmt"
)

// TerminalKind says what the path of a proof's key ends at.
type TerminalKind uint8

// The terminals of a proof; the values are those of the encoding.
const (
	// TerminalEmpty: an empty subtree (the key is absent).
	TerminalEmpty TerminalKind = 0
	// TerminalLeaf: the key's own leaf (the key is present).
	TerminalLeaf TerminalKind = 1
	// TerminalOther: another leaf, whose key shares the path (the key is
	// absent).
	TerminalOther TerminalKind = 2
)

// proofFormat is the first byte of an encoded proof.
const proofFormat = 0x01

// MaxProofSize is the size of the largest encoded proof: 160 non-empty
// siblings and another leaf.
const MaxProofSize = 3 + KeyBits/8 + KeyBits*(32+8) + 20 + 8 + 32

// Sibling is the hash and sum of the subtree beside a proof's path.
type Sibling struct {
	Hash Hash
	Sum  uint64
}

func (s Sibling) empty() bool { return s.Hash == EmptyHash && s.Sum == 0 }

// Proof proves that a key is present with a given value and sum, or absent,
// under a root.
type Proof struct {
	// Siblings along the path from the root down to the terminal, for
	// depths 0..len-1; an empty sibling is {EmptyHash, 0}, omitted in the
	// compact encoding.
	Siblings []Sibling
	// Terminal is what the key's path ends at, at depth len(Siblings): the
	// key's own leaf (for inclusion; its value is given to the verifier), an
	// empty subtree, or another leaf whose key shares the first
	// len(Siblings) bits with the key (for exclusion).
	Terminal TerminalKind
	// The other leaf, for TerminalOther: its key, sum and SHA-256 of its
	// value.
	OtherKey       Key
	OtherSum       uint64
	OtherValueHash Hash
}

// Verify returns the root hash and sum that the proof implies for k holding
// value with sum, or for k absent if value is nil. It fails with
// ErrBadProof if the proof cannot prove that claim (an inclusion terminal
// for an absent key, another leaf that is k or off k's path, too many
// siblings), ErrOverflow if its sums overflow, ErrBadValue for a value that
// is empty but not nil or over MaxValue.
func (p *Proof) Verify(k Key, value []byte, sum uint64) (Hash, uint64, error) {
	d := len(p.Siblings)
	if d > KeyBits {
		return Hash{}, 0, fmt.Errorf("%w: %d siblings (at most %d)", ErrBadProof, d, KeyBits)
	}
	var cur Hash
	var curSum uint64
	switch {
	case value != nil && (len(value) == 0 || len(value) > MaxValue):
		return Hash{}, 0, fmt.Errorf("%w: %d bytes (1 to %d allowed)", ErrBadValue, len(value), MaxValue)
	case value != nil && p.Terminal != TerminalLeaf:
		return Hash{}, 0, fmt.Errorf("%w: a proof of exclusion cannot prove key %v present", ErrBadProof, k)
	case value == nil && p.Terminal == TerminalLeaf:
		return Hash{}, 0, fmt.Errorf("%w: a proof of inclusion cannot prove key %v absent", ErrBadProof, k)
	}
	switch p.Terminal {
	case TerminalLeaf:
		cur, curSum = LeafHash(k, sum, value), sum
	case TerminalEmpty:
		cur, curSum = EmptyHash, 0
	case TerminalOther:
		if p.OtherKey == k {
			return Hash{}, 0, fmt.Errorf("%w: the other leaf is key %v itself", ErrBadProof, k)
		}
		if !sharesPrefix(p.OtherKey, k, d) {
			return Hash{}, 0, fmt.Errorf("%w: the other leaf %v is off the path of key %v", ErrBadProof, p.OtherKey, k)
		}
		cur, curSum = leafHashOf(p.OtherKey, p.OtherSum, p.OtherValueHash), p.OtherSum
	default:
		return Hash{}, 0, fmt.Errorf("%w: terminal kind %d", ErrBadProof, p.Terminal)
	}
	for i := d - 1; i >= 0; i-- {
		s := p.Siblings[i]
		total, ok := addSums(curSum, s.Sum)
		if !ok {
			return Hash{}, 0, fmt.Errorf("%w: in the proof at depth %d", ErrOverflow, i)
		}
		if bit(&k, i) == 0 {
			cur = InnerHash(cur, curSum, s.Hash, s.Sum)
		} else {
			cur = InnerHash(s.Hash, s.Sum, cur, curSum)
		}
		curSum = total
	}
	return cur, curSum, nil
}

// VerifyInclusion checks that k holds value with sum under root.
func (p *Proof) VerifyInclusion(root Hash, k Key, value []byte, sum uint64) error {
	if value == nil {
		return fmt.Errorf("%w: nil value", ErrBadValue)
	}
	got, _, err := p.Verify(k, value, sum)
	if err != nil {
		return err
	}
	if got != root {
		return fmt.Errorf("%w: key %v with that value and sum is not under root %v", ErrBadProof, k, root)
	}
	return nil
}

// VerifyExclusion checks that k is absent under root.
func (p *Proof) VerifyExclusion(root Hash, k Key) error {
	got, _, err := p.Verify(k, nil, 0)
	if err != nil {
		return err
	}
	if got != root {
		return fmt.Errorf("%w: absence of key %v is not proved under root %v", ErrBadProof, k, root)
	}
	return nil
}

// Marshal returns the compact canonical encoding of the proof (see the
// package doc). A malformed proof (more than KeyBits siblings, an unknown
// terminal kind) has no encoding: Marshal returns nil.
func (p *Proof) Marshal() []byte {
	d := len(p.Siblings)
	if d > KeyBits || p.Terminal > TerminalOther {
		return nil
	}
	bitmapLen := (d + 7) / 8
	b := make([]byte, 3+bitmapLen, 3+bitmapLen+d*40+60)
	b[0], b[1], b[2] = proofFormat, byte(p.Terminal), byte(d)
	bitmap := b[3:]
	for i, s := range p.Siblings {
		if s.empty() {
			continue
		}
		bitmap[i>>3] |= 0x80 >> uint(i&7)
		b = append(b, s.Hash[:]...)
		b = binary.BigEndian.AppendUint64(b, s.Sum)
	}
	if p.Terminal == TerminalOther {
		b = append(b, p.OtherKey[:]...)
		b = binary.BigEndian.AppendUint64(b, p.OtherSum)
		b = append(b, p.OtherValueHash[:]...)
	}
	return b
}

// UnmarshalProof decodes a proof encoded by Marshal. It rejects every
// encoding that Marshal would not produce: an unknown format or terminal
// kind, more than KeyBits siblings, bitmap bits set beyond them, a written
// sibling that is the empty subtree, truncated or trailing bytes.
func UnmarshalProof(b []byte) (*Proof, error) {
	if len(b) > MaxProofSize {
		return nil, fmt.Errorf("%w: %d bytes (at most %d)", ErrBadProof, len(b), MaxProofSize)
	}
	if len(b) < 3 {
		return nil, fmt.Errorf("%w: truncated header", ErrBadProof)
	}
	if b[0] != proofFormat {
		return nil, fmt.Errorf("%w: format %d", ErrBadProof, b[0])
	}
	p := &Proof{Terminal: TerminalKind(b[1])}
	if p.Terminal > TerminalOther {
		return nil, fmt.Errorf("%w: terminal kind %d", ErrBadProof, b[1])
	}
	d := int(b[2])
	if d > KeyBits {
		return nil, fmt.Errorf("%w: %d siblings (at most %d)", ErrBadProof, d, KeyBits)
	}
	rest := b[3:]
	bitmapLen := (d + 7) / 8
	if len(rest) < bitmapLen {
		return nil, fmt.Errorf("%w: truncated bitmap", ErrBadProof)
	}
	bitmap := rest[:bitmapLen]
	rest = rest[bitmapLen:]
	if d&7 != 0 && bitmap[bitmapLen-1]&(0xFF>>uint(d&7)) != 0 {
		return nil, fmt.Errorf("%w: bitmap bits set beyond %d siblings", ErrBadProof, d)
	}
	if d > 0 {
		p.Siblings = make([]Sibling, d)
	}
	for i := range d {
		if bitmap[i>>3]&(0x80>>uint(i&7)) == 0 {
			p.Siblings[i] = Sibling{Hash: EmptyHash}
			continue
		}
		if len(rest) < 40 {
			return nil, fmt.Errorf("%w: truncated sibling at depth %d", ErrBadProof, i)
		}
		var s Sibling
		copy(s.Hash[:], rest[:32])
		s.Sum = binary.BigEndian.Uint64(rest[32:40])
		rest = rest[40:]
		if s.empty() {
			return nil, fmt.Errorf("%w: empty sibling written out at depth %d", ErrBadProof, i)
		}
		p.Siblings[i] = s
	}
	if p.Terminal == TerminalOther {
		if len(rest) < 60 {
			return nil, fmt.Errorf("%w: truncated other leaf", ErrBadProof)
		}
		copy(p.OtherKey[:], rest[:20])
		p.OtherSum = binary.BigEndian.Uint64(rest[20:28])
		copy(p.OtherValueHash[:], rest[28:60])
		rest = rest[60:]
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrBadProof, len(rest))
	}
	return p, nil
}
