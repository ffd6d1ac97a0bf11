// Package smt owns the versioned sparse Merkle sum tree of the application
// state: a map from 160-bit keys to (value, sum) leaves whose root commits
// to every leaf and to the total of their sums, stored in a store.KV, with
// every recent version readable and provable.
//
// # Tree and hashing
//
// A key is 20 bytes; bit i (0..159) is (key[i/8] >> (7 - i%8)) & 1, most
// significant bit first. Bit i chooses the child at depth i: 0 left, 1 right.
// Hashes are SHA-256 and sums are uint64, encoded as 8 bytes big-endian:
//
//	empty subtree: SHA-256(0x00), sum 0
//	leaf:          SHA-256(0x01 ‖ key(20) ‖ sum(8) ‖ SHA-256(value)), its sum
//	inner node:    SHA-256(0x02 ‖ leftHash(32) ‖ leftSum(8) ‖ rightHash(32) ‖ rightSum(8)),
//	               sum leftSum + rightSum
//
// Paths are compressed: a subtree holding exactly one leaf is that leaf, so a
// leaf sits at the highest position whose subtree holds only it, and an inner
// node always has at least two leaves beneath it (it may have an empty
// child). The empty tree's root is the empty hash with sum 0; a one-leaf
// tree's root is that leaf's hash. A sum overflowing uint64 anywhere in the
// tree is an error (ErrOverflow). Values are 1 to MaxValue bytes; deletion
// is explicit.
//
// # Storage
//
// Nodes are immutable and keyed, in the manner of the Jellyfish Merkle Tree,
// by the version that wrote them and their position. As the Jellyfish tree
// stores four binary levels in one 16-ary node, the inner nodes at depths p
// to p+3 (p a multiple of 4) are stored together, in the page of the inner
// node at depth p; a leaf is stored on its own, at depth 160 under its key,
// so that it never moves in the store when it moves in the tree. All keys of
// the tree in its store.KV begin with Options.Prefix (empty by default) and
// then one tag byte:
//
//	'n' ‖ version(8) ‖ depth(1) ‖ path(20)   a node: a page at its depth
//	                                         (a multiple of 4) and path (the
//	                                         first depth bits of its keys,
//	                                         the other bits zero), or a leaf
//	                                         at depth 160 and its key
//	'r' ‖ version(8)                         the root reference of a version
//	's' ‖ stale(8) ‖ version(8) ‖ depth(1) ‖ path(20)
//	                                         marker: the node 'n' ‖ version ‖
//	                                         depth ‖ path is unreachable from
//	                                         version stale on
//	'm'                                      metadata: 0x01 ‖ latest(8) ‖ pruned(8)
//
// A reference (a root record, or a position of a page) is a kind byte and
// what the kind needs to find and check the node: 0x00 for the empty
// subtree; 0x01 ‖ version(8) ‖ key(20) ‖ hash(32) ‖ sum(8) for a leaf;
// 0x02 ‖ version(8) ‖ hash(32) ‖ sum(8) for the page of an inner node. A page
// record is 0x02 followed by its root position in pre-order, where a
// position is a reference, or, above the page's boundary (four levels
// below its depth), 0x02 followed by the positions of the left and the
// right child of an inner node of the page; the hashes and sums of a page's
// inner nodes are computed from its references. A leaf record is
// 0x01 ‖ key(20) ‖ sum(8) ‖ len(4) ‖ value. Records read from the store are
// decoded strictly and checked against the reference that led to them
// (hash, sum, position), so corrupt data is an error (ErrCorrupt), never a
// wrong answer or a panic.
//
// # Versions and pruning
//
// Version v is the state after block v; version 0 is the empty tree.
// Commit sorts a version's updates by key and rebuilds the touched paths
// once, writing each new page and leaf once and a stale marker for each
// page or leaf it makes unreachable; these, the pruning, the root record,
// the metadata and the caller's extra writes go in one batch applied with
// sync. Readers see the new version only after that batch is durable, and a
// crash leaves the tree at the last version whose batch was applied.
//
// With Options.Retain = k > 0 the versions from Version()-k+1 on are
// readable and older ones answer ErrPruned. Pruning to keep the versions
// from p on deletes the nodes whose stale markers are at versions up to p,
// those markers, and the root records below p. It happens inside the
// commit batches, a bounded number of nodes per commit (at least twice as
// many as the commit makes stale, so that it keeps up), and the store keeps
// at least one version below Oldest (a commit cannot prune the markers it
// is writing).
//
// Decoded pages are kept in a bounded cache of Options.CacheNodes entries
// (see DefaultCacheNodes).
//
// # Proofs
//
// A Proof holds the siblings along a key's path from the root down to where
// the path ends, and what it ends at: the key's own leaf (inclusion), an
// empty subtree, or another leaf whose key shares the path (exclusion). Its
// compact, canonical encoding is:
//
//	0x01                            format version
//	kind(1)                         0 empty, 1 the key's leaf, 2 another leaf
//	D(1)                            number of siblings, 0..160
//	bitmap(ceil(D/8))               bit i (MSB first, as for keys) set when the
//	                                sibling at depth i is not the empty
//	                                subtree; bits from D on are zero
//	(hash(32) ‖ sum(8))*            each non-empty sibling, by increasing depth
//	key(20) ‖ sum(8) ‖ valueHash(32)  the other leaf, for kind 2 only
//
// A sibling written out whose hash is the empty hash with sum 0, a bit set
// beyond D, an unknown version or kind, D > 160 and trailing bytes are all
// rejected. Verification starts from the terminal's hash and sum at depth D
// and folds upward for i = D-1 down to 0: when bit i of the key is 0 the
// parent is InnerHash(cur, sibling), otherwise InnerHash(sibling, cur), sums
// adding with an overflow check; the result must equal the root.
//
// # Walking
//
// Walk visits a version's leaves in key order from a start key, reading
// only the leaves it visits and the pages on their paths, and stops after
// a limit of leaves: a caller pages through the tree (after the last key
// it saw) at a bounded cost per page. Whether more leaves follow is known
// without reading them: a subtree that is not empty holds at least one.
//
// The package imports only store, wire and the standard library; never the
// application, chain, protocol or node packages.
package smt
