package smt

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/mass-consensus/mass/internal/wire"
)

// kind is the kind of a subtree, as stored in references.
type kind uint8

const (
	kindEmpty kind = 0
	kindLeaf  kind = 1
	kindInner kind = 2
)

// ref is a reference to a stored subtree: what the parent (or the root
// record) knows of a child. An empty subtree has kind empty, version 0, the
// empty hash and sum 0, so refs compare with ==.
type ref struct {
	kind    kind
	version uint64 // the version the node was written under; 0 if empty
	hash    Hash
	sum     uint64
}

var emptyRef = ref{kind: kindEmpty, hash: EmptyHash}

// Sizes of the stored encodings.
const (
	refSize       = 1 + 8 + 32 + 8
	innerSize     = 1 + 2*refSize // the largest inner record
	leafFixedSize = 1 + 20 + 8 + 4
	nodeKeySize   = 1 + 8 + 1 + 20
	staleKeySize  = 1 + 8 + 8 + 1 + 20
	metaSize      = 1 + 8 + 8
	metaFormat    = 0x01
)

// Tag bytes of the tree's keys in the store.
const (
	prefixNode  = 'n'
	prefixRoot  = 'r'
	prefixStale = 's'
	prefixMeta  = 'm'
)

// nodeKey names a stored node: the version that wrote it and its position.
type nodeKey struct {
	version uint64
	depth   uint8
	path    Key
}

// appendBytes appends 'n' ‖ version ‖ depth ‖ path.
func (nk nodeKey) appendBytes(b []byte) []byte {
	b = append(b, prefixNode)
	b = binary.BigEndian.AppendUint64(b, nk.version)
	b = append(b, nk.depth)
	return append(b, nk.path[:]...)
}

func (nk nodeKey) String() string {
	return fmt.Sprintf("node(version %d, depth %d, path %x)", nk.version, nk.depth, nk.path[:])
}

// appendStaleKey appends 's' ‖ stale ‖ version ‖ depth ‖ path.
func appendStaleKey(b []byte, stale uint64, nk nodeKey) []byte {
	b = append(b, prefixStale)
	b = binary.BigEndian.AppendUint64(b, stale)
	b = binary.BigEndian.AppendUint64(b, nk.version)
	b = append(b, nk.depth)
	return append(b, nk.path[:]...)
}

// parseStaleKey returns the node a stale marker key (without the tree's
// prefix) names.
func parseStaleKey(k []byte) (stale uint64, nk nodeKey, err error) {
	if len(k) != staleKeySize || k[0] != prefixStale {
		return 0, nk, fmt.Errorf("%w: stale marker key %x", ErrCorrupt, k)
	}
	stale = binary.BigEndian.Uint64(k[1:9])
	nk.version = binary.BigEndian.Uint64(k[9:17])
	nk.depth = k[17]
	copy(nk.path[:], k[18:])
	if nk.depth > KeyBits || prefixOf(nk.path, int(nk.depth)) != nk.path || nk.version == 0 || nk.version >= stale {
		return 0, nk, fmt.Errorf("%w: stale marker key %x", ErrCorrupt, k)
	}
	return stale, nk, nil
}

// appendVersionKey appends tag ‖ version (root records, and scan bounds).
func appendVersionKey(b []byte, tag byte, version uint64) []byte {
	return binary.BigEndian.AppendUint64(append(b, tag), version)
}

// encodeRef writes a reference: kind, then version, hash and sum unless empty.
func encodeRef(w *wire.Writer, r ref) {
	w.U8(uint8(r.kind))
	if r.kind == kindEmpty {
		return
	}
	w.U64(r.version)
	w.Raw(r.hash[:])
	w.U64(r.sum)
}

// refFields names the fields of the references of a record, for errors:
// constant strings, so that decoding allocates nothing for them.
var refFields = [3][4]string{
	{"left kind", "left version", "left hash", "left sum"},
	{"right kind", "right version", "right hash", "right sum"},
	{"root kind", "root version", "root hash", "root sum"},
}

// Indexes of refFields.
const (
	fieldLeft = iota
	fieldRight
	fieldRoot
)

// decodeRef reads a reference written by encodeRef.
func decodeRef(rd *wire.Reader, field int) ref {
	names := &refFields[field]
	k := kind(rd.U8(names[0]))
	switch k {
	case kindEmpty:
		return emptyRef
	case kindLeaf, kindInner:
	default:
		rd.Fail(names[0])
		return ref{}
	}
	r := ref{kind: k, version: rd.U64(names[1])}
	copy(r.hash[:], rd.Raw(32, names[2]))
	r.sum = rd.U64(names[3])
	if r.version == 0 {
		rd.Fail(names[1])
	}
	return r
}

// record is a decoded stored node: an inner node's two child references, or
// a leaf's key, sum and value.
type record struct {
	kind  kind // kindLeaf or kindInner
	child [2]ref
	key   Key
	sum   uint64
	value []byte
}

// encodeInner returns the record of an inner node.
func encodeInner(left, right ref) []byte {
	w := wire.NewWriter(innerSize)
	w.U8(tagInner)
	encodeRef(w, left)
	encodeRef(w, right)
	return w.Finish()
}

// encodeLeaf returns the record of a leaf.
func encodeLeaf(k Key, sum uint64, value []byte) []byte {
	w := wire.NewWriter(leafFixedSize + len(value))
	w.U8(tagLeaf)
	w.Raw(k[:])
	w.U64(sum)
	w.Bytes(value)
	return w.Finish()
}

// encode returns the stored form of r.
func (r *record) encode() []byte {
	if r.kind == kindInner {
		return encodeInner(r.child[0], r.child[1])
	}
	return encodeLeaf(r.key, r.sum, r.value)
}

// decodeRecord decodes a stored node strictly: it rejects unknown tags and
// kinds, truncated and trailing bytes, empty and oversized values, and
// inner nodes that break the compression invariant (two empty children, or
// an empty child beside a leaf). The value aliases b.
func decodeRecord(b []byte) (record, error) {
	rd := wire.NewReader(b)
	var r record
	switch tag := rd.U8("tag"); {
	case rd.Err() != nil:
	case tag == tagInner:
		r.kind = kindInner
		r.child[0] = decodeRef(rd, fieldLeft)
		r.child[1] = decodeRef(rd, fieldRight)
		if rd.Err() == nil {
			l, rt := r.child[0].kind, r.child[1].kind
			if (l == kindEmpty && rt != kindInner) || (rt == kindEmpty && l != kindInner) {
				rd.Fail("inner node with fewer than two leaves")
			}
		}
	case tag == tagLeaf:
		r.kind = kindLeaf
		copy(r.key[:], rd.Raw(20, "key"))
		r.sum = rd.U64("sum")
		r.value = rd.Bytes(MaxValue, "value")
		if rd.Err() == nil && len(r.value) == 0 {
			rd.Fail("empty value")
		}
	default:
		rd.Fail("tag")
	}
	if err := rd.Done(); err != nil {
		return record{}, fmt.Errorf("%w: node record: %w", ErrCorrupt, err)
	}
	return r, nil
}

// cnode is a node as the cache holds it: an inner node's children, or a
// leaf's key, sum and value hash (never the value, so that the cache's size
// is bounded by its count of nodes).
type cnode struct {
	kind      kind
	child     [2]ref
	key       Key
	sum       uint64
	valueHash Hash
}

// check verifies a decoded record against the reference that led to it and
// the position it is stored at, and returns its cached form.
func (r *record) check(nk nodeKey, want ref) (*cnode, error) {
	if r.kind != want.kind {
		return nil, fmt.Errorf("%w: %v is kind %d, referenced as kind %d", ErrCorrupt, nk, r.kind, want.kind)
	}
	switch r.kind {
	case kindInner:
		if nk.depth >= KeyBits {
			return nil, fmt.Errorf("%w: inner %v below the last depth", ErrCorrupt, nk)
		}
		for i, c := range r.child {
			if c.kind != kindEmpty && c.version > nk.version {
				return nil, fmt.Errorf("%w: %v has child %d of the later version %d", ErrCorrupt, nk, i, c.version)
			}
		}
		sum, ok := addSums(r.child[0].sum, r.child[1].sum)
		if !ok || sum != want.sum || InnerHash(r.child[0].hash, r.child[0].sum, r.child[1].hash, r.child[1].sum) != want.hash {
			return nil, fmt.Errorf("%w: %v does not match its reference", ErrCorrupt, nk)
		}
		return &cnode{kind: kindInner, child: r.child}, nil
	default:
		vh := Hash(sha256.Sum256(r.value))
		if prefixOf(r.key, int(nk.depth)) != nk.path || r.sum != want.sum || leafHashOf(r.key, r.sum, vh) != want.hash {
			return nil, fmt.Errorf("%w: leaf %v does not match its reference", ErrCorrupt, nk)
		}
		return &cnode{kind: kindLeaf, key: r.key, sum: r.sum, valueHash: vh}, nil
	}
}

// encodeRootRecord and decodeRootRecord are the forms of the 'r' records.
func encodeRootRecord(r ref) []byte {
	w := wire.NewWriter(refSize)
	encodeRef(w, r)
	return w.Finish()
}

func decodeRootRecord(b []byte, version uint64) (ref, error) {
	rd := wire.NewReader(b)
	r := decodeRef(rd, fieldRoot)
	if err := rd.Done(); err != nil {
		return ref{}, fmt.Errorf("%w: root record of version %d: %w", ErrCorrupt, version, err)
	}
	if r.version > version {
		return ref{}, fmt.Errorf("%w: root record of version %d names version %d", ErrCorrupt, version, r.version)
	}
	return r, nil
}

// meta is the tree's metadata: the latest committed version, and the
// version from which everything is kept (every version below pruned has
// been pruned: its root record and the nodes only it used are gone).
type meta struct {
	latest, pruned uint64
}

func (m meta) encode() []byte {
	b := make([]byte, 0, metaSize)
	b = append(b, metaFormat)
	b = binary.BigEndian.AppendUint64(b, m.latest)
	return binary.BigEndian.AppendUint64(b, m.pruned)
}

func decodeMeta(b []byte) (meta, error) {
	if len(b) != metaSize || b[0] != metaFormat {
		return meta{}, fmt.Errorf("%w: metadata record %x", ErrCorrupt, b)
	}
	m := meta{latest: binary.BigEndian.Uint64(b[1:9]), pruned: binary.BigEndian.Uint64(b[9:17])}
	if m.pruned > m.latest {
		return meta{}, fmt.Errorf("%w: metadata pruned %d above latest %d", ErrCorrupt, m.pruned, m.latest)
	}
	return m, nil
}
