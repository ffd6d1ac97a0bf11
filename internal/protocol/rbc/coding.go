package rbc

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/klauspost/reedsolomon"

	"github.com/mass-consensus/mass/internal/protocol"
)

// Coding is a value cut into n shards and the Merkle commitment to them: the
// root, and for every shard the branch that proves it under the root.
type Coding struct {
	Root     [32]byte
	Shards   [][]byte
	Branches [][][32]byte
}

// Message returns the VAL, ECHO or READY message for shard index of the
// coding. READY carries the root only, and index is then ignored. The message
// shares the coding's slices. It panics on an unknown kind or an index out of
// range, both programming errors.
func (c *Coding) Message(kind Kind, index int) *Message {
	switch kind {
	case KindReady:
		return &Message{Kind: KindReady, Root: c.Root}
	case KindVal, KindEcho:
	default:
		panic(fmt.Sprintf("rbc: Coding.Message: unknown kind %d", kind))
	}
	if index < 0 || index >= len(c.Shards) {
		panic(fmt.Sprintf("rbc: Coding.Message: index %d out of range [0, %d)", index, len(c.Shards)))
	}
	return &Message{
		Kind:   kind,
		Root:   c.Root,
		Index:  uint16(index),
		Shard:  c.Shards[index],
		Branch: c.Branches[index],
	}
}

// Encode is the honest encoding of value for a node set of size p.N: the
// prefixed, padded value cut into k = N−2F data shards, N−k Reed–Solomon
// parity shards, and the Merkle commitment to all N shards.
func Encode(p protocol.Params, value []byte) (*Coding, error) {
	if err := checkParams(p); err != nil {
		return nil, err
	}
	enc, err := newCodec(p)
	if err != nil {
		return nil, err
	}
	return encode(p, enc, value)
}

// encode is Encode with a codec built once by the caller (nil when there are
// no parity shards).
func encode(p protocol.Params, enc reedsolomon.Encoder, value []byte) (*Coding, error) {
	if uint64(len(value)) > maxValueLimit {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrValueTooLarge, len(value), uint64(maxValueLimit))
	}
	n, k := p.N, dataShards(p)
	size := shardSize(p, len(value))
	buf := make([]byte, n*size)
	binary.BigEndian.PutUint32(buf, uint32(len(value)))
	copy(buf[4:], value)
	shards := make([][]byte, n)
	for i := range shards {
		shards[i] = buf[i*size : (i+1)*size : (i+1)*size]
	}
	if n > k {
		if err := enc.Encode(shards); err != nil {
			// The shards are well formed by construction.
			panic(fmt.Sprintf("rbc: reed-solomon encode: %v", err))
		}
	}
	return Commit(shards), nil
}

// Commit builds the Merkle commitment to arbitrary shards, which need not be
// an encoding of anything (a Byzantine proposer's shards, say). The coding
// holds the given shard slices, not copies. It panics on more than 65536
// shards, whose indices would not fit the leaf encoding.
func Commit(shards [][]byte) *Coding {
	n := len(shards)
	if n > 1<<16 {
		panic(fmt.Sprintf("rbc: Commit: %d shards, at most %d", n, 1<<16))
	}
	depth := treeDepth(n)
	level := make([][32]byte, 1<<depth)
	for i := range level {
		if i < n {
			level[i] = leafHash(i, shards[i])
		} else {
			level[i] = emptyLeaf
		}
	}
	backing := make([][32]byte, n*depth)
	branches := make([][][32]byte, n)
	for i := range branches {
		branches[i] = backing[i*depth : (i+1)*depth : (i+1)*depth]
	}
	for d := range depth {
		for i := range n {
			branches[i][d] = level[(i>>d)^1]
		}
		next := make([][32]byte, len(level)/2)
		for j := range next {
			next[j] = innerHash(level[2*j], level[2*j+1])
		}
		level = next
	}
	return &Coding{Root: level[0], Shards: shards, Branches: branches}
}

// decode rebuilds the value committed by root from shards, where shards[i]
// is shard i or nil, and at least k are present, all with valid branches for
// root. It re-encodes the value and succeeds only if the encoding commits to
// root: then the committed shards are exactly the honest encoding of the
// value, and every set of k of them yields the same value.
func decode(p protocol.Params, enc reedsolomon.Encoder, maxValueSize int, root [32]byte, shards [][]byte) ([]byte, bool) {
	n, k := p.N, dataShards(p)
	have := make([][]byte, n)
	size, count := -1, 0
	for i, s := range shards {
		if s == nil || count == k {
			continue
		}
		if size >= 0 && len(s) != size {
			return nil, false
		}
		size = len(s)
		have[i] = s
		count++
	}
	if count < k || size <= 0 {
		return nil, false
	}
	if n > k {
		if err := enc.ReconstructData(have); err != nil {
			return nil, false
		}
	}
	if k*size < 4 {
		return nil, false
	}
	data := make([]byte, 0, k*size)
	for i := range k {
		data = append(data, have[i]...)
	}
	length := uint64(binary.BigEndian.Uint32(data))
	if length > uint64(len(data)-4) || length > uint64(maxValueSize) {
		return nil, false
	}
	value := data[4 : 4+int(length) : 4+int(length)]
	c, err := encode(p, enc, value)
	if err != nil || c.Root != root {
		return nil, false
	}
	return value, true
}

// verifyBranch reports whether shard is shard index of a commitment to n
// shards with the given root.
func verifyBranch(root [32]byte, n, index int, shard []byte, branch [][32]byte) bool {
	if index < 0 || index >= n || len(branch) != treeDepth(n) {
		return false
	}
	h := leafHash(index, shard)
	for _, sib := range branch {
		if index&1 == 0 {
			h = innerHash(h, sib)
		} else {
			h = innerHash(sib, h)
		}
		index >>= 1
	}
	return h == root
}

// emptyLeaf pads the leaf layer of a Merkle tree to a power of two.
var emptyLeaf = sha256.Sum256([]byte{0x02})

func leafHash(index int, shard []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte{0x00, byte(index >> 8), byte(index)})
	h.Write(shard)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

func innerHash(left, right [32]byte) [32]byte {
	var buf [65]byte
	buf[0] = 0x01
	copy(buf[1:33], left[:])
	copy(buf[33:], right[:])
	return sha256.Sum256(buf[:])
}

// treeDepth is log2 of the padded leaf count of a tree over n shards: the
// length of every branch.
func treeDepth(n int) int {
	d := 0
	for 1<<d < n {
		d++
	}
	return d
}

// dataShards is k = N − 2F.
func dataShards(p protocol.Params) int { return p.N - 2*p.F }

// shardSize is S = max(1, ceil((4+valueLen)/k)), rounded up to a multiple of
// 64 when N > 256: beyond 256 shards the Reed–Solomon code works over
// GF(2^16) (leopard), which processes shards in 64-byte units.
func shardSize(p protocol.Params, valueLen int) int {
	k := dataShards(p)
	s := max(1, (4+valueLen+k-1)/k)
	if p.N > 256 {
		s = (s + 63) &^ 63
	}
	return s
}

// maxValueLimit is the largest value whose length fits the uint32 prefix.
const maxValueLimit = math.MaxUint32 - 4

func checkParams(p protocol.Params) error {
	if p.N < 1 || p.N > protocol.MaxNodes || p.F < 0 || p.N < 3*p.F+1 {
		return fmt.Errorf("%w: N=%d F=%d", ErrInvalidParams, p.N, p.F)
	}
	return nil
}

// newCodec returns the Reed–Solomon codec for p, or nil when there are no
// parity shards (F = 0), where the data shards are the whole encoding. The
// codec runs on the calling goroutine only.
func newCodec(p protocol.Params) (reedsolomon.Encoder, error) {
	k := dataShards(p)
	if p.N == k {
		return nil, nil
	}
	enc, err := reedsolomon.New(k, p.N-k, reedsolomon.WithMaxGoroutines(1))
	if err != nil {
		return nil, fmt.Errorf("rbc: reed-solomon codec for N=%d F=%d: %w", p.N, p.F, err)
	}
	return enc, nil
}

// resolveMaxValueSize applies the default and checks the bound.
func resolveMaxValueSize(m int) (int, error) {
	switch {
	case m == 0:
		return DefaultMaxValueSize, nil
	case m < 0 || uint64(m) > maxValueLimit:
		return 0, fmt.Errorf("%w: MaxValueSize %d", ErrInvalidConfig, m)
	}
	return m, nil
}

// Errors.
var (
	ErrInvalidParams  = errors.New("rbc: invalid parameters")
	ErrInvalidConfig  = errors.New("rbc: invalid configuration")
	ErrNotProposer    = errors.New("rbc: input at a node that is not the proposer")
	ErrInputTwice     = errors.New("rbc: second input")
	ErrValueTooLarge  = errors.New("rbc: value too large")
	ErrUnknownKind    = errors.New("rbc: unknown message kind")
	ErrInvalidMessage = errors.New("rbc: invalid message")
)
