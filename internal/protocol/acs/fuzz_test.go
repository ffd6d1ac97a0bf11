package acs_test

import (
	"bytes"
	"testing"

	"github.com/mass-consensus/mass/internal/protocol"
	"github.com/mass-consensus/mass/internal/protocol/aba"
	"github.com/mass-consensus/mass/internal/protocol/acs"
	"github.com/mass-consensus/mass/internal/protocol/rbc"
	"github.com/mass-consensus/mass/internal/wire"
)

// FuzzUnmarshal decodes one message from any input, for a node count chosen
// by the fuzzer. No input may panic. A message that decodes names a
// proposer of the set, carries exactly one of a broadcast and an agreement
// message, and re-encodes to exactly the bytes it was read from.
func FuzzUnmarshal(f *testing.F) {
	for _, n := range []int{1, 4, 7} {
		p := mustParams(f, n)
		c, err := rbc.Encode(p, []byte("fuzz seed value"))
		if err != nil {
			f.Fatal(err)
		}
		last := protocol.NodeID(n - 1)
		for _, m := range []*acs.Message{
			{Proposer: last, RBC: c.Message(rbc.KindVal, n-1)},
			{Proposer: 0, RBC: c.Message(rbc.KindReady, 0)},
			{Proposer: last, ABA: &aba.Message{Kind: aba.KindVal, Origin: last, Round: 1, Step: 1, Value: 1}},
			{Proposer: 0, ABA: &aba.Message{Kind: aba.KindCoin, Round: 3, Coin: []byte("share")}},
		} {
			f.Add(uint16(n), encodeMessage(m))
		}
	}
	f.Fuzz(func(t *testing.T, n uint16, data []byte) {
		p, err := protocol.NewParams(int(n))
		if err != nil {
			return
		}
		r := wire.NewReader(data)
		m, err := acs.Unmarshal(r, p, maxValue)
		if err != nil {
			return
		}
		if set := b2i(m.RBC != nil) + b2i(m.ABA != nil) + b2i(m.RABA != nil); set != 1 {
			t.Fatalf("decoded %d bodies: RBC %v, ABA %v, RABA %v", set, m.RBC, m.ABA, m.RABA)
		}
		if !p.Valid(m.Proposer) {
			t.Fatalf("proposer %d of %d nodes", m.Proposer, p.N)
		}
		used := len(data) - r.Remaining()
		if got := encodeMessage(m); !bytes.Equal(got, data[:used]) {
			t.Fatalf("re-encoding differs:\n read %x\n  got %x", data[:used], got)
		}
	})
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
