package aba

import (
	"errors"
	"fmt"

	"github.com/mass-consensus/mass/internal/protocol"
	"github.com/mass-consensus/mass/internal/wire"
)

// Kind is the kind of an agreement message.
type Kind uint8

// The kinds of agreement messages.
const (
	// KindVal is a node's own message of a step, sent by the node itself.
	KindVal Kind = 1
	// KindEcho echoes the first Val of (origin, round, step).
	KindEcho Kind = 2
	// KindReady is Bracha's READY for (origin, round, step).
	KindReady Kind = 3
	// KindTerm announces a decision.
	KindTerm Kind = 4
	// KindCoin carries a coin message of a round.
	KindCoin Kind = 5
)

// Values of a step-3 message. Steps 1 and 2 carry 0 or 1.
const (
	// Decide0 is (d, 0): more than N/2 step-2 messages were 0.
	Decide0 uint8 = 0
	// Decide1 is (d, 1).
	Decide1 uint8 = 1
	// Undecided is ⊥.
	Undecided uint8 = 2
)

// MaxCoinMessage bounds a coin message.
const MaxCoinMessage = 4096

// Message is a binary agreement message.
type Message struct {
	Kind   Kind
	Origin protocol.NodeID // Val, Echo, Ready: the node whose step message this is
	Round  uint32          // Val, Echo, Ready, Coin
	Step   uint8           // Val, Echo, Ready: 1, 2 or 3
	Value  uint8           // Val, Echo, Ready, Term
	Coin   []byte          // Coin
}

func (m *Message) String() string {
	switch m.Kind {
	case KindTerm:
		return fmt.Sprintf("TERM(%d)", m.Value)
	case KindCoin:
		return fmt.Sprintf("COIN(r%d, %d bytes)", m.Round, len(m.Coin))
	}
	return fmt.Sprintf("%d(origin %d, r%d s%d, v%d)", m.Kind, m.Origin, m.Round, m.Step, m.Value)
}

// ErrBadMessage is wrapped by the decoding errors found by this package's own
// checks; truncation and oversized fields are wire errors.
var ErrBadMessage = errors.New("aba: bad message")

// MarshalTo appends the canonical encoding of m.
func (m *Message) MarshalTo(w *wire.Writer) {
	w.U8(uint8(m.Kind))
	switch m.Kind {
	case KindVal, KindEcho, KindReady:
		w.U16(uint16(m.Origin))
		w.U32(m.Round)
		w.U8(m.Step)
		w.U8(m.Value)
	case KindTerm:
		w.U8(m.Value)
	case KindCoin:
		w.U32(m.Round)
		w.Bytes(m.Coin)
	}
}

// Unmarshal reads one message from r, checking every field against p.
func Unmarshal(r *wire.Reader, p protocol.Params) (*Message, error) {
	m := &Message{Kind: Kind(r.U8("aba kind"))}
	switch m.Kind {
	case KindVal, KindEcho, KindReady:
		m.Origin = protocol.NodeID(r.U16("aba origin"))
		m.Round = r.U32("aba round")
		m.Step = r.U8("aba step")
		m.Value = r.U8("aba value")
		if err := r.Err(); err != nil {
			return nil, err
		}
		if !p.Valid(m.Origin) {
			return nil, fmt.Errorf("%w: origin %d of %d nodes", ErrBadMessage, m.Origin, p.N)
		}
		if m.Round == 0 || m.Step < 1 || m.Step > 3 {
			return nil, fmt.Errorf("%w: round %d step %d", ErrBadMessage, m.Round, m.Step)
		}
		if !validValue(m.Step, m.Value) {
			return nil, fmt.Errorf("%w: value %d in step %d", ErrBadMessage, m.Value, m.Step)
		}
	case KindTerm:
		m.Value = r.U8("aba value")
		if err := r.Err(); err != nil {
			return nil, err
		}
		if m.Value > 1 {
			return nil, fmt.Errorf("%w: term value %d", ErrBadMessage, m.Value)
		}
	case KindCoin:
		m.Round = r.U32("aba round")
		m.Coin = r.Bytes(MaxCoinMessage, "aba coin")
		if err := r.Err(); err != nil {
			return nil, err
		}
	default:
		if err := r.Err(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: kind %d", ErrBadMessage, m.Kind)
	}
	return m, nil
}

func validValue(step, value uint8) bool {
	if step == 3 {
		return value <= Undecided
	}
	return value <= 1
}
