package smt

import (
	"bytes"
	"testing"
)

// FuzzUnmarshalProof decodes arbitrary bytes: a decoded proof must encode
// back to exactly the same bytes (the encoding is canonical), and verifying
// it must not panic.
func FuzzUnmarshalProof(f *testing.F) {
	f.Add([]byte{1, 0, 0})
	f.Add([]byte{1, 1, 0})
	f.Add(append([]byte{1, 2, 0}, make([]byte, 60)...))
	f.Add(append([]byte{1, 0, 2, 0x40}, make([]byte, 40)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := UnmarshalProof(b)
		if err != nil {
			return
		}
		if enc := p.Marshal(); !bytes.Equal(enc, b) {
			t.Fatalf("round trip changed %x into %x", b, enc)
		}
		var k Key
		if len(b) >= 20 {
			copy(k[:], b[len(b)-20:])
		}
		p.Verify(k, nil, 0)
		p.Verify(k, []byte{1}, 1)
		p.VerifyExclusion(EmptyHash, p.OtherKey)
	})
}

// FuzzDecodeNode decodes arbitrary bytes as a stored node: a decoded node
// must encode back to the same bytes, and checking it against a reference
// must not panic.
func FuzzDecodeNode(f *testing.F) {
	f.Add(encodeLeaf(Key{1}, 5, []byte("value")))
	f.Add(encodeInner(ref{kind: kindLeaf, version: 1, hash: Hash{1}, sum: 2}, ref{kind: kindInner, version: 2, hash: Hash{2}, sum: 3}))
	f.Add(encodeInner(emptyRef, ref{kind: kindInner, version: 2, hash: Hash{2}, sum: 3}))
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, err := decodeRecord(b)
		if err != nil {
			return
		}
		if enc := rec.encode(); !bytes.Equal(enc, b) {
			t.Fatalf("round trip changed %x into %x", b, enc)
		}
		for depth := range []int{0, 7, KeyBits} {
			nk := nodeKey{version: 2, depth: uint8(depth), path: prefixOf(rec.key, depth)}
			rec.check(nk, ref{kind: rec.kind, version: 2, hash: Hash{3}, sum: rec.sum})
		}
	})
}
