package gov

import (
	"crypto/sha256"
	"encoding/binary"
	"math/bits"
	"slices"

	"github.com/mass-consensus/mass/internal/wire"
)

// BlockSeed is the seed of a block: SHA-256("mass/gov/seed/v1" ‖ 0x00 ‖
// height:u64 ‖ batch_hash), where batch_hash is the block header's hash of
// its transactions, SHA-256("mass/batch/v1" ‖ 0x00 ‖ count:u32 ‖
// (len:u32 ‖ tx) × count). The transactions come out of the common subset
// of at least n−f nodes' proposals, so no single node chooses them; a light
// client recomputes the seed from a certified header.
func BlockSeed(height uint64, txs [][]byte) [32]byte {
	b := sha256.New()
	b.Write([]byte("mass/batch/v1\x00"))
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(txs)))
	b.Write(n[:])
	for _, t := range txs {
		binary.BigEndian.PutUint32(n[:], uint32(len(t)))
		b.Write(n[:])
		b.Write(t)
	}
	w := wire.NewWriter(64)
	w.Raw([]byte("mass/gov/seed/v1\x00"))
	w.U64(height)
	w.Raw(b.Sum(nil))
	return sha256.Sum256(w.Finish())
}

// RoundSeed is the seed of round r of proposal id, drawn in the block of
// seed block: SHA-256("mass/gov/round/v1" ‖ 0x00 ‖ block ‖ id:u64 ‖ r:u8).
func RoundSeed(block [32]byte, id uint64, r uint8) [32]byte {
	w := wire.NewWriter(64)
	w.Raw([]byte("mass/gov/round/v1\x00"))
	w.Raw(block[:])
	w.U64(id)
	w.U8(r)
	return sha256.Sum256(w.Finish())
}

// stream is a deterministic generator: the concatenation of
// SHA-256(seed ‖ counter:u64) for counter 0, 1, …, read as big-endian u64s.
type stream struct {
	seed    [32]byte
	counter uint64
	buf     [32]byte
	off     int
}

func newStream(seed [32]byte) *stream { return &stream{seed: seed, off: 32} }

func (s *stream) next() uint64 {
	if s.off == 32 {
		var in [40]byte
		copy(in[:], s.seed[:])
		binary.BigEndian.PutUint64(in[32:], s.counter)
		s.buf = sha256.Sum256(in[:])
		s.counter++
		s.off = 0
	}
	v := binary.BigEndian.Uint64(s.buf[s.off:])
	s.off += 8
	return v
}

// uniform returns a uniform integer in [0, n), n > 0, rejecting the draws
// below 2^64 mod n so that no value is favoured.
func (s *stream) uniform(n uint64) uint64 {
	threshold := -n % n
	for {
		if x := s.next(); x >= threshold {
			return x % n
		}
	}
}

// Shuffle returns a permutation of 0 … n−1: Fisher–Yates from the last
// position down, position i swapped with uniform(i+1) of the seed's stream.
func Shuffle(seed [32]byte, n int) []int {
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	s := newStream(seed)
	for i := n - 1; i > 0; i-- {
		j := int(s.uniform(uint64(i + 1)))
		perm[i], perm[j] = perm[j], perm[i]
	}
	return perm
}

// Split divides n participants (roster positions) into k = ⌈n/capacity⌉
// sub-meetings whose sizes differ by at most one (the first n mod k have
// one more): the shuffled positions are dealt in order, the first block to
// sub-meeting 0 and so on. It returns each position's sub-meeting and each
// sub-meeting's members in ascending order. No sub-meeting exceeds the
// capacity.
func Split(seed [32]byte, n, capacity int) (assign []uint16, meetings [][]uint16) {
	k := (n + capacity - 1) / capacity
	if k < 1 {
		k = 1
	}
	perm := Shuffle(seed, n)
	assign = make([]uint16, n)
	meetings = make([][]uint16, k)
	base, extra, off := n/k, n%k, 0
	for m := 0; m < k; m++ {
		size := base
		if m < extra {
			size++
		}
		for _, pos := range perm[off : off+size] {
			assign[pos] = uint16(m)
			meetings[m] = append(meetings[m], uint16(pos))
		}
		slices.Sort(meetings[m])
		off += size
	}
	return assign, meetings
}

// LowerMedian is the median of the values, the lower of the two middle
// ones for an even count: the element at (n−1)/2 once sorted.
func LowerMedian(vals []uint64) uint64 {
	if len(vals) == 0 {
		return 0
	}
	s := slices.Clone(vals)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}

// Mean is the mean of the values rounded down, ⌊sum / n⌋, exact for any
// values: the sum is kept in 128 bits, and the quotient, at most the
// largest value, fits in 64.
func Mean(vals []uint64) uint64 {
	if len(vals) == 0 {
		return 0
	}
	var hi, lo uint64
	for _, v := range vals {
		var carry uint64
		lo, carry = bits.Add64(lo, v, 0)
		hi += carry
	}
	q, _ := bits.Div64(hi, lo, uint64(len(vals)))
	return q
}
