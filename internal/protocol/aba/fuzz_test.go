package aba

import (
	"bytes"
	"testing"

	"github.com/mass-consensus/mass/internal/protocol"
	"github.com/mass-consensus/mass/internal/wire"
)

// FuzzUnmarshal decodes one message from any input, for a node count chosen
// by the fuzzer. No input may panic. A message that decodes has its fields
// within the bounds of its kind and of p, and re-encodes to exactly the
// bytes it was read from.
func FuzzUnmarshal(f *testing.F) {
	for _, m := range []*Message{
		{Kind: KindVal, Origin: 3, Round: 1, Step: 1, Value: 1},
		{Kind: KindEcho, Origin: 0, Round: 7, Step: 2, Value: 0},
		{Kind: KindReady, Origin: 2, Round: 2, Step: 3, Value: Undecided},
		{Kind: KindTerm, Value: 1},
		{Kind: KindCoin, Round: 4, Coin: []byte("coin share")},
	} {
		f.Add(uint16(4), encode(m))
	}
	f.Add(uint16(1), append(encode(&Message{Kind: KindTerm, Value: 0}), 0xee))
	f.Fuzz(func(t *testing.T, n uint16, data []byte) {
		p, err := protocol.NewParams(int(n))
		if err != nil {
			return
		}
		r := wire.NewReader(data)
		m, err := Unmarshal(r, p)
		if err != nil {
			return
		}
		used := len(data) - r.Remaining()
		if got := encode(m); !bytes.Equal(got, data[:used]) {
			t.Fatalf("re-encoding differs:\n read %x\n  got %x", data[:used], got)
		}
		switch m.Kind {
		case KindVal, KindEcho, KindReady:
			if !p.Valid(m.Origin) || m.Round == 0 || m.Step < 1 || m.Step > 3 || !validValue(m.Step, m.Value) {
				t.Fatalf("out of bounds for N=%d: %v", p.N, m)
			}
		case KindTerm:
			if m.Value > 1 {
				t.Fatalf("term value %d", m.Value)
			}
		case KindCoin:
			if len(m.Coin) > MaxCoinMessage {
				t.Fatalf("coin message of %d bytes", len(m.Coin))
			}
		default:
			t.Fatalf("decoded kind %d", m.Kind)
		}
	})
}
