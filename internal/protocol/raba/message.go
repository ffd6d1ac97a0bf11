package raba

import (
	"errors"
	"fmt"

	"github.com/mass-consensus/mass/internal/wire"
)

// Kind is the kind of an agreement message.
type Kind uint8

// The kinds of agreement messages. Every kind but KindTerm belongs to a round.
const (
	// KindBVal is a binary value of the round's first step: the sender's
	// estimate, or a value it relays after F+1 others sent it.
	KindBVal Kind = 1
	// KindAux is the first value that entered the sender's bin_values.
	KindAux Kind = 2
	// KindConf is the set of values of the first N−F valid Aux messages the
	// sender collected: SetZero, SetOne or SetBoth.
	KindConf Kind = 3
	// KindFinal is the value w whose Conf({w}) made up all of the first N−F
	// valid Conf messages the sender collected, or Bottom.
	KindFinal Kind = 4
	// KindTerm announces a decision.
	KindTerm Kind = 5
	// KindCoin carries a coin message of a round.
	KindCoin Kind = 6
)

// Values of a Conf message: a non-empty set of binary values as a bit mask.
const (
	SetZero uint8 = 1
	SetOne  uint8 = 2
	SetBoth uint8 = 3
)

// Bottom is the value ⊥ of a Final message (the others carry 0 or 1).
const Bottom uint8 = 2

// MaxCoinMessage bounds a coin message.
const MaxCoinMessage = 4096

// Message is a binary agreement message.
type Message struct {
	Kind  Kind
	Round uint32 // every kind but Term: from 1
	Value uint8  // every kind but Coin
	Coin  []byte // Coin
}

func (m *Message) String() string {
	names := map[Kind]string{KindBVal: "BVAL", KindAux: "AUX", KindConf: "CONF", KindFinal: "FINAL", KindTerm: "TERM", KindCoin: "COIN"}
	if m.Kind == KindCoin {
		return fmt.Sprintf("COIN(r%d, %d bytes)", m.Round, len(m.Coin))
	}
	return fmt.Sprintf("%s(r%d, %d)", names[m.Kind], m.Round, m.Value)
}

// ErrBadMessage is wrapped by the decoding errors found by this package's own
// checks; truncation and oversized fields are wire errors.
var ErrBadMessage = errors.New("raba: bad message")

// MarshalTo appends the canonical encoding of m.
func (m *Message) MarshalTo(w *wire.Writer) {
	w.U8(uint8(m.Kind))
	switch m.Kind {
	case KindTerm:
		w.U8(m.Value)
	case KindCoin:
		w.U32(m.Round)
		w.Bytes(m.Coin)
	default:
		w.U32(m.Round)
		w.U8(m.Value)
	}
}

// Unmarshal reads one message from r, checking every field.
func Unmarshal(r *wire.Reader) (*Message, error) {
	m := &Message{Kind: Kind(r.U8("raba kind"))}
	switch m.Kind {
	case KindTerm:
		m.Value = r.U8("raba value")
	case KindCoin:
		m.Round = r.U32("raba round")
		m.Coin = r.Bytes(MaxCoinMessage, "raba coin")
	case KindBVal, KindAux, KindConf, KindFinal:
		m.Round = r.U32("raba round")
		m.Value = r.U8("raba value")
	default:
		if err := r.Err(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: kind %d", ErrBadMessage, m.Kind)
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	return m, nil
}

// check reports whether m's fields are within the bounds of its kind.
func (m *Message) check() error {
	if m.Kind != KindTerm && m.Round == 0 {
		return fmt.Errorf("%w: %v in round 0", ErrBadMessage, m.Kind)
	}
	if !validValue(m.Kind, m.Value) {
		return fmt.Errorf("%w: value %d for kind %d", ErrBadMessage, m.Value, m.Kind)
	}
	return nil
}

func validValue(k Kind, v uint8) bool {
	switch k {
	case KindBVal, KindAux, KindTerm:
		return v <= 1
	case KindConf:
		return v >= SetZero && v <= SetBoth
	case KindFinal:
		return v <= Bottom
	case KindCoin:
		return v == 0
	}
	return false
}
