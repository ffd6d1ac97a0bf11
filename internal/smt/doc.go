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
// by the version that wrote them and their position. All keys of the tree in
// its store.KV begin with Options.Prefix (empty by default) and then one tag
// byte:
//
//	'n' ‖ version(8) ‖ depth(1) ‖ path(20)   a node; path is the key's first
//	                                         depth bits, the others zero
//	'r' ‖ version(8)                         the root reference of a version
//	's' ‖ stale(8) ‖ version(8) ‖ depth(1) ‖ path(20)
//	                                         marker: the node 'n' ‖ version ‖
//	                                         depth ‖ path is unreachable from
//	                                         version stale on
//	'm'                                      metadata: 0x01 ‖ latest(8) ‖ pruned(8)
//
// A reference (the root record, and each child in an inner record) is a kind
// byte (0 empty, 1 leaf, 2 inner) followed, unless empty, by the version the
// node was written under (8), its hash (32) and its sum (8). An inner record
// is 0x02 followed by the left and the right child references; a leaf record
// is 0x01 ‖ key(20) ‖ sum(8) ‖ len(4) ‖ value. Records read from the store
// are decoded strictly and checked against the reference that led to them
// (hash, sum, position), so corrupt data is an error (ErrCorrupt), never a
// wrong answer or a panic.
//
// # Versions and pruning
//
// Version v is the state after block v; version 0 is the empty tree. Commit
// sorts a version's updates by key and rebuilds the touched paths once,
// writing each new node once, a stale marker for each node it makes
// unreachable, the root record, the metadata and the caller's extra writes
// in one batch applied with sync; readers see the new version only after
// that batch is durable, and a crash leaves the tree at the last version
// whose batch was applied. With Options.Retain = k > 0 the versions from
// Version()-k+1 on are readable; older ones answer ErrPruned. Pruning to
// keep the versions from p on deletes the nodes whose stale markers are at
// versions up to p, those markers and the root records below p. It happens
// inside the commit batches, at most maxPruneVersions versions per commit,
// and trails the readable range by at most one version (a commit cannot
// prune the markers it is writing).
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
// The package imports only store and the standard library; never the
// application, chain, protocol or node packages.
package smt
