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
	f.Add(appendLeaf(nil, Key{1}, 5, []byte("value")))
	leaf := ref{kind: kindLeaf, version: 1, key: Key{0x40}, hash: Hash{1}, sum: 2}
	pg := &page{nodes: []pnode{{kind: kindInner, inner: true}}}
	pg.nodes[0].child = [2]uint8{pg.add(leaf), pg.add(leaf)}
	f.Add(appendPage(nil, pg))
	// Four levels down the left to the boundary, where the next page is.
	pg = &page{}
	var down func(rel int) uint8
	down = func(rel int) uint8 {
		if rel == pageLevels {
			return pg.add(ref{kind: kindInner, version: 2, hash: Hash{2}, sum: 3})
		}
		pg.nodes = append(pg.nodes, pnode{kind: kindInner, inner: true})
		i := len(pg.nodes) - 1
		l := down(rel + 1)
		r := pg.add(leaf)
		pg.nodes[i].child = [2]uint8{l, r}
		return uint8(i)
	}
	down(0)
	f.Add(appendPage(nil, pg))
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, err := decodeRecord(b)
		if err != nil {
			return
		}
		if enc := rec.encode(); !bytes.Equal(enc, b) {
			t.Fatalf("round trip changed %x into %x", b, enc)
		}
		for _, depth := range []int{0, 8, maxPageDepth, KeyBits} {
			nk := nodeKey{version: 2, depth: uint8(depth), path: prefixOf(rec.key, depth)}
			rec.check(nk, ref{kind: rec.kind, version: 2, key: rec.key, hash: Hash{3}, sum: rec.sum})
		}
	})
}
