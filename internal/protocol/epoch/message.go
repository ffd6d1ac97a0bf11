package epoch

import (
	"fmt"

	"github.com/mass-consensus/mass/internal/protocol"
	"github.com/mass-consensus/mass/internal/protocol/acs"
	"github.com/mass-consensus/mass/internal/wire"
)

// MarshalTo appends the canonical encoding of m.
func (m *Message) MarshalTo(w *wire.Writer) {
	w.U64(m.Epoch)
	m.ACS.MarshalTo(w)
}

// Marshal returns the canonical encoding of m.
func (m *Message) Marshal() []byte {
	size := 64
	if m.ACS.RBC != nil {
		size += len(m.ACS.RBC.Shard) + 32*len(m.ACS.RBC.Branch)
	}
	w := wire.NewWriter(size)
	m.MarshalTo(w)
	return w.Finish()
}

// UnmarshalMessage decodes a whole message: trailing bytes are an error.
func UnmarshalMessage(b []byte, p protocol.Params, maxProposalSize int) (*Message, error) {
	r := wire.NewReader(b)
	m := &Message{Epoch: r.U64("epoch")}
	if err := r.Err(); err != nil {
		return nil, err
	}
	var err error
	if m.ACS, err = acs.Unmarshal(r, p, maxProposalSize); err != nil {
		return nil, err
	}
	if err := r.Done(); err != nil {
		return nil, err
	}
	return m, nil
}

// MaxBundle bounds the messages of one bundle.
const MaxBundle = 1 << 16

// MarshalBundle encodes messages for one recipient as one packet: a count,
// then each message length-prefixed.
func MarshalBundle(msgs [][]byte) []byte {
	size := 4
	for _, m := range msgs {
		size += 4 + len(m)
	}
	w := wire.NewWriter(size)
	w.U32(uint32(len(msgs)))
	for _, m := range msgs {
		w.Bytes(m)
	}
	return w.Finish()
}

// UnmarshalBundle decodes a bundle of at most maxSize bytes in all; one bad
// message rejects the whole bundle.
func UnmarshalBundle(b []byte, p protocol.Params, maxProposalSize int) ([]*Message, error) {
	r := wire.NewReader(b)
	n := r.Count(MaxBundle, "bundle count")
	if err := r.Err(); err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, fmt.Errorf("%w: empty bundle", wire.ErrNonCanonical)
	}
	out := make([]*Message, 0, n)
	for i := 0; i < n; i++ {
		raw := r.Bytes(len(b), "bundle message")
		if err := r.Err(); err != nil {
			return nil, err
		}
		m, err := UnmarshalMessage(raw, p, maxProposalSize)
		if err != nil {
			return nil, fmt.Errorf("bundle message %d: %w", i, err)
		}
		out = append(out, m)
	}
	if err := r.Done(); err != nil {
		return nil, err
	}
	return out, nil
}
