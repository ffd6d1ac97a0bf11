package rbc

import (
	"bytes"
	"errors"
	"testing"

	"github.com/mass-consensus/mass/internal/protocol"
	"github.com/mass-consensus/mass/internal/wire"
)

// FuzzUnmarshal decodes one message from any input, for a node count and a
// value limit also chosen by the fuzzer. No input may panic. A message that
// decodes is within the bounds of p (kind, index, shard size, branch
// length), does not alias the input, and re-encodes to exactly the bytes it
// was read from; a failure also sets the reader's sticky error, as
// documented.
func FuzzUnmarshal(f *testing.F) {
	for _, n := range []uint16{1, 4, 7, 300} {
		p := mustParams(f, int(n))
		c, err := Encode(p, []byte("fuzz seed value"))
		if err != nil {
			f.Fatal(err)
		}
		for _, kind := range []Kind{KindVal, KindEcho, KindReady} {
			f.Add(n, uint32(0), marshal(c.Message(kind, int(n)-1)))
		}
		f.Add(n, uint32(20), append(marshal(c.Message(KindEcho, 0)), 0xee))
	}
	f.Fuzz(func(t *testing.T, n uint16, maxValueSize uint32, data []byte) {
		p, err := protocol.NewParams(int(n))
		if err != nil {
			return
		}
		in := bytes.Clone(data)
		r := wire.NewReader(in)
		m, err := Unmarshal(r, p, int(maxValueSize))
		if err != nil {
			if errors.Is(err, ErrInvalidConfig) {
				return
			}
			if r.Err() == nil {
				t.Fatalf("error %v without the reader's error set", err)
			}
			return
		}
		used := len(in) - r.Remaining()
		if got := marshal(m); !bytes.Equal(got, data[:used]) {
			t.Fatalf("re-encoding differs:\n read %x\n  got %x", data[:used], got)
		}
		switch m.Kind {
		case KindReady:
			if m.Shard != nil || m.Branch != nil || m.Index != 0 {
				t.Fatal("READY with shard fields")
			}
			return
		case KindVal, KindEcho:
		default:
			t.Fatalf("decoded kind %v", m.Kind)
		}
		max := int(maxValueSize)
		if max == 0 {
			max = DefaultMaxValueSize
		}
		if int(m.Index) >= p.N || len(m.Branch) != treeDepth(p.N) || len(m.Shard) > shardSize(p, max) || m.Shard == nil {
			t.Fatalf("out of bounds for N=%d: index %d, branch %d, shard %d", p.N, m.Index, len(m.Branch), len(m.Shard))
		}
		if len(m.Shard) > 0 {
			before := m.Shard[0]
			in[1+32+2+4] ^= 0xff
			if m.Shard[0] != before {
				t.Fatal("the shard aliases the input")
			}
		}
	})
}
