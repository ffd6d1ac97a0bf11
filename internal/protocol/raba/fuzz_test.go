package raba

import (
	"bytes"
	"testing"

	"github.com/mass-consensus/mass/internal/protocol"
	"github.com/mass-consensus/mass/internal/protocol/coin"
	"github.com/mass-consensus/mass/internal/wire"
)

// FuzzUnmarshal decodes one message from any input. No input may panic; a
// message that decodes has its fields within the bounds of its kind and
// re-encodes to exactly the bytes it was read from.
func FuzzUnmarshal(f *testing.F) {
	for _, m := range []*Message{
		{Kind: KindBVal, Round: 1, Value: 1},
		{Kind: KindAux, Round: 7, Value: 0},
		{Kind: KindConf, Round: 2, Value: SetBoth},
		{Kind: KindFinal, Round: 3, Value: Bottom},
		{Kind: KindTerm, Value: 1},
		{Kind: KindCoin, Round: 4, Coin: []byte("coin share")},
	} {
		f.Add(encode(m))
	}
	f.Add(append(encode(&Message{Kind: KindTerm}), 0xee))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := wire.NewReader(data)
		m, err := Unmarshal(r)
		if err != nil {
			return
		}
		used := len(data) - r.Remaining()
		if got := encode(m); !bytes.Equal(got, data[:used]) {
			t.Fatalf("re-encoding differs:\n read %x\n  got %x", data[:used], got)
		}
		if m.check() != nil || len(m.Coin) > MaxCoinMessage {
			t.Fatalf("out of bounds: %v", m)
		}
	})
}

// FuzzHandleMessage feeds one node any sequence of decodable messages from
// any senders: nothing may panic, and a message for a round far beyond what
// F+1 senders reached allocates no round state.
func FuzzHandleMessage(f *testing.F) {
	f.Add([]byte{0, 1, 0, 0, 0, 1, 1, 1, 2, 0, 0, 0, 1, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		p, _ := protocol.NewParams(4)
		a, err := New(Config{Params: p, Self: 0, Coin: coin.NewLocal(fixedSource{})})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.HandleInput(len(data) > 0 && data[0]&1 == 1); err != nil {
			t.Fatal(err)
		}
		r := wire.NewReader(data)
		for r.Remaining() > 1 {
			from := protocol.NodeID(r.U8("from") % 4)
			m, err := Unmarshal(r)
			if err != nil {
				return
			}
			a.HandleMessage(from, m)
		}
		for round := range a.rounds {
			if round > a.limit() {
				t.Fatalf("state for round %d beyond the limit %d", round, a.limit())
			}
		}
	})
}

type fixedSource struct{}

func (fixedSource) Uint64() uint64 { return 1 }
