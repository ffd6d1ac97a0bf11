package smt

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/mass-consensus/mass/internal/wire"
)

// kind is the kind of a subtree, as stored in references.
type kind uint8

const (
	kindEmpty kind = 0
	kindLeaf  kind = 1
	kindInner kind = 2
)

// pageLevels is the height of a page: the inner nodes at depths p to
// p+pageLevels-1, p a multiple of pageLevels, are stored together in the
// page of the inner node at depth p (as the Jellyfish Merkle Tree stores
// four binary levels in one 16-ary node).
const pageLevels = 4

// maxPageDepth is the depth of the deepest page: inner nodes lie above
// depth KeyBits.
const maxPageDepth = KeyBits - pageLevels

// ref is a reference to a subtree: what a page (or the root record) knows
// of a leaf or of the page of an inner node at a page depth. An empty
// subtree has kind empty, the empty hash and zero otherwise, so refs compare
// with ==.
type ref struct {
	kind    kind
	version uint64 // leaf or page: the version it was written under
	key     Key    // leaf: its key
	hash    Hash
	sum     uint64
}

var emptyRef = ref{kind: kindEmpty, hash: EmptyHash}

// Sizes of the stored encodings.
const (
	leafRefSize   = 1 + 8 + 20 + 32 + 8
	leafFixedSize = 1 + 20 + 8 + 4
	nodeKeySize   = 1 + 8 + 1 + 20
	staleKeySize  = 1 + 8 + 8 + 1 + 20
	metaSize      = 1 + 8 + 8
	metaFormat    = 0x01
	// maxPageNodes is the most positions a page holds: a full binary tree
	// of pageLevels levels and its boundary.
	maxPageNodes = 1<<(pageLevels+1) - 1
)

// Tag bytes of the tree's keys in the store.
const (
	prefixNode  = 'n'
	prefixRoot  = 'r'
	prefixStale = 's'
	prefixMeta  = 'm'
)

// nodeKey names a stored node: the version that wrote it and its position.
// A page is at its depth and path; a leaf is at depth KeyBits under its key.
type nodeKey struct {
	version uint64
	depth   uint8
	path    Key
}

func leafNodeKey(version uint64, k Key) nodeKey {
	return nodeKey{version: version, depth: KeyBits, path: k}
}

// appendBytes appends 'n' ‖ version ‖ depth ‖ path.
func (nk nodeKey) appendBytes(b []byte) []byte {
	b = append(b, prefixNode)
	b = binary.BigEndian.AppendUint64(b, nk.version)
	b = append(b, nk.depth)
	return append(b, nk.path[:]...)
}

func (nk nodeKey) String() string {
	if nk.depth == KeyBits {
		return fmt.Sprintf("leaf(version %d, key %x)", nk.version, nk.path[:])
	}
	return fmt.Sprintf("page(version %d, depth %d, path %x)", nk.version, nk.depth, nk.path[:])
}

// valid reports whether nk can name a node: a leaf, or a page at a page
// depth with its path cut to its depth.
func (nk nodeKey) valid() bool {
	if nk.version == 0 {
		return false
	}
	if nk.depth == KeyBits {
		return true
	}
	return nk.depth <= maxPageDepth && nk.depth%pageLevels == 0 && prefixOf(nk.path, int(nk.depth)) == nk.path
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
	if !nk.valid() || nk.version >= stale {
		return 0, nk, fmt.Errorf("%w: stale marker key %x", ErrCorrupt, k)
	}
	return stale, nk, nil
}

// appendVersionKey appends tag ‖ version (root records, and scan bounds).
func appendVersionKey(b []byte, tag byte, version uint64) []byte {
	return binary.BigEndian.AppendUint64(append(b, tag), version)
}

// appendRef appends a reference: its kind, then for a leaf version ‖ key ‖
// hash ‖ sum, for a page version ‖ hash ‖ sum.
func appendRef(b []byte, r ref) []byte {
	b = append(b, byte(r.kind))
	if r.kind == kindEmpty {
		return b
	}
	b = binary.BigEndian.AppendUint64(b, r.version)
	if r.kind == kindLeaf {
		b = append(b, r.key[:]...)
	}
	b = append(b, r.hash[:]...)
	return binary.BigEndian.AppendUint64(b, r.sum)
}

// decodeRefBody reads what follows the kind byte of a reference.
func decodeRefBody(rd *wire.Reader, k kind) ref {
	r := ref{kind: k, version: rd.U64("version")}
	if k == kindLeaf {
		copy(r.key[:], rd.Raw(20, "key"))
	}
	copy(r.hash[:], rd.Raw(32, "hash"))
	r.sum = rd.U64("sum")
	if rd.Err() == nil && r.version == 0 {
		rd.Fail("version 0")
	}
	return r
}

// pnode is a position of a page: an inner node of the page (whose hash
// and sum are computed from its children), or a reference to what lies
// there: empty, a leaf, or (at the page's boundary) the next page.
type pnode struct {
	hash    Hash
	sum     uint64
	version uint64 // a leaf or the next page: the version that wrote it
	kind    kind
	inner   bool     // an inner node of this page; its children are child
	child   [2]uint8 // indexes in page.nodes
	key     uint8    // a leaf: the index of its key in page.keys
}

// page is a decoded page: its positions in pre-order, nodes[0] the inner
// node at the page's depth, and the keys of its leaves.
type page struct {
	nodes []pnode
	keys  []Key
}

// ref returns the reference to the position i.
func (pg *page) ref(i uint8) ref {
	n := &pg.nodes[i]
	r := ref{kind: n.kind, version: n.version, hash: n.hash, sum: n.sum}
	if n.kind == kindLeaf {
		r.key = pg.keys[n.key]
	}
	return r
}

// add appends a position holding r (not an inner node of the page) and
// returns its index.
func (pg *page) add(r ref) uint8 {
	n := pnode{kind: r.kind, version: r.version, hash: r.hash, sum: r.sum}
	if r.kind == kindLeaf {
		n.key = uint8(len(pg.keys))
		pg.keys = append(pg.keys, r.key)
	}
	pg.nodes = append(pg.nodes, n)
	return uint8(len(pg.nodes) - 1)
}

// clone returns a copy of pg in memory of its own, of exactly its size.
func (pg *page) clone() *page {
	return &page{nodes: slices.Clone(pg.nodes), keys: slices.Clone(pg.keys)}
}

// appendPage appends the record of a page:
//
//	0x02 ‖ position(root)
//	position = 0x00                                   empty
//	         | 0x01 ‖ version ‖ key ‖ hash ‖ sum      a leaf
//	         | 0x02 ‖ position(left) ‖ position(right)  an inner node of the page
//	         | 0x02 ‖ version ‖ hash ‖ sum             at the boundary: the next page
func appendPage(b []byte, pg *page) []byte {
	b = append(b, tagInner)
	var pos func(i uint8)
	pos = func(i uint8) {
		n := &pg.nodes[i]
		if n.inner {
			b = append(b, byte(kindInner))
			pos(n.child[0])
			pos(n.child[1])
			return
		}
		b = appendRef(b, pg.ref(i))
	}
	pos(0)
	return b
}

// appendLeaf appends the record of a leaf: 0x01 ‖ key ‖ sum ‖ len(4) ‖ value.
func appendLeaf(b []byte, k Key, sum uint64, value []byte) []byte {
	b = append(b, tagLeaf)
	b = append(b, k[:]...)
	b = binary.BigEndian.AppendUint64(b, sum)
	b = binary.BigEndian.AppendUint32(b, uint32(len(value)))
	return append(b, value...)
}

// record is a decoded stored node: a page, or a leaf's key, sum and value.
type record struct {
	kind  kind // kindLeaf or kindInner (a page)
	page  page
	key   Key
	sum   uint64
	value []byte
}

// encode returns the stored form of r.
func (r *record) encode() []byte {
	if r.kind == kindInner {
		return appendPage(nil, &r.page)
	}
	return appendLeaf(nil, r.key, r.sum, r.value)
}

// decodeRecord decodes a stored node strictly: it rejects unknown tags and
// kinds, truncated and trailing bytes, empty and oversized values, a page
// whose root is not an inner node, and inner nodes that break the
// compression invariant (two empty children, or an empty child beside a
// leaf). The value aliases b. The hashes of a page's inner nodes are left
// for check to compute.
func decodeRecord(b []byte) (record, error) {
	rd := wire.NewReader(b)
	var r record
	switch tag := rd.U8("tag"); {
	case rd.Err() != nil:
	case tag == tagInner:
		r.kind = kindInner
		// Decode into scratch space (a page holds at most maxPageNodes
		// positions and half as many leaves), then copy it out.
		var nodes [maxPageNodes]pnode
		var keys [maxPageNodes/2 + 1]Key
		scratch := page{nodes: nodes[:0], keys: keys[:0]}
		decodePosition(rd, &scratch, 0)
		if rd.Err() == nil && !scratch.nodes[0].inner {
			rd.Fail("page root is not an inner node")
		}
		if rd.Err() == nil {
			r.page = *scratch.clone()
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

// decodePosition decodes the position at relative depth rel of a page and
// returns its index.
func decodePosition(rd *wire.Reader, pg *page, rel int) uint8 {
	k := kind(rd.U8("kind"))
	switch {
	case rd.Err() != nil:
		return 0
	case k == kindEmpty:
		return pg.add(emptyRef)
	case k == kindLeaf || (k == kindInner && rel == pageLevels):
		return pg.add(decodeRefBody(rd, k))
	case k == kindInner:
		pg.nodes = append(pg.nodes, pnode{kind: kindInner, inner: true})
		i := len(pg.nodes) - 1
		l := decodePosition(rd, pg, rel+1)
		r := decodePosition(rd, pg, rel+1)
		if rd.Err() != nil {
			return 0
		}
		pg.nodes[i].child = [2]uint8{l, r}
		lk, rk := pg.nodes[l].kind, pg.nodes[r].kind
		if (lk == kindEmpty && rk != kindInner) || (rk == kindEmpty && lk != kindInner) {
			rd.Fail("inner node with fewer than two leaves")
		}
		return uint8(i)
	default:
		rd.Fail("kind")
		return 0
	}
}

// cnode is a node as the cache holds it: a page with the hashes of its
// inner nodes computed, or a leaf's key, sum and value hash (never the
// value, so that the cache's size is bounded by its count of nodes).
type cnode struct {
	page      *page
	key       Key
	sum       uint64
	valueHash Hash
}

// check verifies a decoded record against the reference that led to it and
// the position it is stored at, fills in the hashes of a page's inner
// nodes, and returns the node's cached form.
func (r *record) check(nk nodeKey, want ref) (*cnode, error) {
	if !nk.valid() {
		return nil, fmt.Errorf("%w: %v is not a node position", ErrCorrupt, nk)
	}
	if r.kind != want.kind || (r.kind == kindLeaf) != (nk.depth == KeyBits) {
		return nil, fmt.Errorf("%w: %v holds a node of kind %d, referenced as kind %d", ErrCorrupt, nk, r.kind, want.kind)
	}
	if r.kind == kindLeaf {
		vh := Hash(sha256.Sum256(r.value))
		if r.key != nk.path || r.key != want.key || r.sum != want.sum || leafHashOf(r.key, r.sum, vh) != want.hash {
			return nil, fmt.Errorf("%w: %v does not match its reference", ErrCorrupt, nk)
		}
		return &cnode{key: r.key, sum: r.sum, valueHash: vh}, nil
	}
	pg := &r.page
	if err := pg.fill(0, int(nk.depth), nk.path, nk.version); err != nil {
		return nil, fmt.Errorf("%w: %v: %w", ErrCorrupt, nk, err)
	}
	if root := &pg.nodes[0]; root.hash != want.hash || root.sum != want.sum {
		return nil, fmt.Errorf("%w: %v does not match its reference", ErrCorrupt, nk)
	}
	return &cnode{page: pg}, nil
}

// fill computes the hash and sum of the position i of the page, at depth
// under path, and of the inner nodes under it; it checks that references
// lie where they can: leaves on their key's path, pages only at the
// boundary and above the last depth, versions no later than the page's.
func (pg *page) fill(i uint8, depth int, path Key, version uint64) error {
	n := &pg.nodes[i]
	if !n.inner {
		switch {
		case n.kind != kindEmpty && n.version > version:
			return fmt.Errorf("reference at depth %d to the later version %d", depth, n.version)
		case n.kind == kindLeaf && prefixOf(pg.keys[n.key], depth) != path:
			return fmt.Errorf("leaf %v off its path at depth %d", pg.keys[n.key], depth)
		case n.kind == kindInner && depth > maxPageDepth:
			return fmt.Errorf("page below the last depth")
		}
		return nil
	}
	if depth >= KeyBits {
		return fmt.Errorf("inner node at depth %d", depth)
	}
	for b, c := range n.child {
		if err := pg.fill(c, depth+1, childPath(path, depth, b), version); err != nil {
			return err
		}
	}
	l, r := &pg.nodes[n.child[0]], &pg.nodes[n.child[1]]
	sum, ok := addSums(l.sum, r.sum)
	if !ok {
		return fmt.Errorf("sum overflow at depth %d", depth)
	}
	n.hash, n.sum, n.version = InnerHash(l.hash, l.sum, r.hash, r.sum), sum, version
	return nil
}

// encodeRootRecord and decodeRootRecord are the forms of the 'r' records.
func encodeRootRecord(r ref) []byte { return appendRef(make([]byte, 0, leafRefSize), r) }

func decodeRootRecord(b []byte, version uint64) (ref, error) {
	rd := wire.NewReader(b)
	r := emptyRef
	switch k := kind(rd.U8("kind")); {
	case rd.Err() != nil, k == kindEmpty:
	case k == kindLeaf || k == kindInner:
		r = decodeRefBody(rd, k)
	default:
		rd.Fail("kind")
	}
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
