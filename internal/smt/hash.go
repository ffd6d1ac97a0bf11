package smt

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math/bits"
)

// KeyBits is the length of a key in bits, and the greatest depth of a leaf.
const KeyBits = 160

// MaxValue is the largest value of a leaf, in bytes.
const MaxValue = 64 << 10

// Key is the 160-bit key of a leaf.
type Key [20]byte

// Hash is a SHA-256 digest.
type Hash [32]byte

// String renders the key in hex.
func (k Key) String() string { return hex.EncodeToString(k[:]) }

// String renders the hash in hex.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// Domain-separation tags of the three kinds of subtree.
const (
	tagEmpty = 0x00
	tagLeaf  = 0x01
	tagInner = 0x02
)

// EmptyHash is the hash of the empty subtree: SHA-256(0x00).
var EmptyHash = Hash(sha256.Sum256([]byte{tagEmpty}))

// LeafHash returns the hash of a leaf: SHA-256(0x01 ‖ k ‖ sum ‖ SHA-256(value)).
func LeafHash(k Key, sum uint64, value []byte) Hash {
	return leafHashOf(k, sum, sha256.Sum256(value))
}

// leafHashOf is LeafHash given the hash of the value.
func leafHashOf(k Key, sum uint64, valueHash Hash) Hash {
	var b [1 + 20 + 8 + 32]byte
	b[0] = tagLeaf
	copy(b[1:21], k[:])
	binary.BigEndian.PutUint64(b[21:29], sum)
	copy(b[29:], valueHash[:])
	return sha256.Sum256(b[:])
}

// InnerHash returns the hash of an inner node:
// SHA-256(0x02 ‖ left ‖ leftSum ‖ right ‖ rightSum).
func InnerHash(left Hash, leftSum uint64, right Hash, rightSum uint64) Hash {
	var b [1 + 32 + 8 + 32 + 8]byte
	b[0] = tagInner
	copy(b[1:33], left[:])
	binary.BigEndian.PutUint64(b[33:41], leftSum)
	copy(b[41:73], right[:])
	binary.BigEndian.PutUint64(b[73:81], rightSum)
	return sha256.Sum256(b[:])
}

// addSums returns a+b and whether it did not overflow.
func addSums(a, b uint64) (uint64, bool) {
	s, carry := bits.Add64(a, b, 0)
	return s, carry == 0
}

// bit returns bit i of k, most significant first.
func bit(k *Key, i int) int {
	return int(k[i>>3]>>(7-uint(i&7))) & 1
}

// prefixOf returns k with every bit from depth on set to zero: the path of
// the position at depth on k's way down.
func prefixOf(k Key, depth int) Key {
	var p Key
	full := depth >> 3
	copy(p[:full], k[:full])
	if r := depth & 7; r != 0 {
		p[full] = k[full] & (0xFF << (8 - uint(r)))
	}
	return p
}

// childPath returns the path of the child b of the position (depth, path).
func childPath(path Key, depth, b int) Key {
	if b == 1 {
		path[depth>>3] |= 0x80 >> uint(depth&7)
	}
	return path
}

// sharesPrefix reports whether a and b agree on their first n bits.
func sharesPrefix(a, b Key, n int) bool {
	return prefixOf(a, n) == prefixOf(b, n)
}

func compareKeys(a, b Key) int { return bytes.Compare(a[:], b[:]) }
