package rbc

import (
	"bytes"
	"fmt"

	"github.com/mass-consensus/mass/internal/protocol"
	"github.com/mass-consensus/mass/internal/wire"
)

// Kind is the kind of a message.
type Kind uint8

// The message kinds.
const (
	// KindVal carries the proposer's shard for the recipient.
	KindVal Kind = 1
	// KindEcho carries the sender's own shard, to all.
	KindEcho Kind = 2
	// KindReady says the sender is ready to deliver the value with this root.
	KindReady Kind = 3
)

func (k Kind) String() string {
	switch k {
	case KindVal:
		return "VAL"
	case KindEcho:
		return "ECHO"
	case KindReady:
		return "READY"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Message is a message of the broadcast. VAL and ECHO carry a shard of the
// commitment with root Root, its index and its Merkle branch; READY carries
// the root only.
//
// A protocol instance keeps the messages it is given and hands out messages
// that share its state: neither side may modify a message once passed on.
type Message struct {
	Kind   Kind
	Root   [32]byte
	Index  uint16     // shard index (Val, Echo)
	Shard  []byte     // (Val, Echo)
	Branch [][32]byte // (Val, Echo)
}

// MarshalTo appends the canonical encoding of m: the kind and the root; for
// VAL and ECHO then the index, the length-prefixed shard, and the branch as a
// uint32 count followed by the 32-byte hashes.
func (m *Message) MarshalTo(w *wire.Writer) {
	w.U8(uint8(m.Kind))
	w.Raw(m.Root[:])
	if m.Kind != KindVal && m.Kind != KindEcho {
		return
	}
	w.U16(m.Index)
	w.Bytes(m.Shard)
	w.U32(uint32(len(m.Branch)))
	for i := range m.Branch {
		w.Raw(m.Branch[i][:])
	}
}

// Unmarshal reads one message from r for a node set of size p and values of
// at most maxValueSize bytes (0 means DefaultMaxValueSize). It leaves any
// bytes after the message in r: a caller that expects nothing more checks
// r.Done. It rejects an unknown kind, an index ≥ N, a shard over the size
// limit and a branch whose length is not the tree depth for N; the shard is
// copied, so the message does not alias r's buffer. On error, r's sticky
// error is set too.
func Unmarshal(r *wire.Reader, p protocol.Params, maxValueSize int) (*Message, error) {
	if err := checkParams(p); err != nil {
		return nil, err
	}
	maxValueSize, err := resolveMaxValueSize(maxValueSize)
	if err != nil {
		return nil, err
	}
	m := &Message{Kind: Kind(r.U8("rbc kind"))}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("rbc: %w", err)
	}
	switch m.Kind {
	case KindVal, KindEcho, KindReady:
	default:
		r.Fail("rbc kind")
		return nil, fmt.Errorf("%w %d", ErrUnknownKind, uint8(m.Kind))
	}
	copy(m.Root[:], r.Raw(32, "rbc root"))
	if m.Kind == KindReady {
		if err := r.Err(); err != nil {
			return nil, fmt.Errorf("rbc: %w", err)
		}
		return m, nil
	}
	m.Index = r.U16("rbc index")
	m.Shard = bytes.Clone(r.Bytes(shardSize(p, maxValueSize), "rbc shard"))
	depth := treeDepth(p.N)
	count := r.Count(depth, "rbc branch length")
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("rbc: %w", err)
	}
	if int(m.Index) >= p.N {
		r.Fail("rbc index")
		return nil, fmt.Errorf("%w: index %d with %d nodes", ErrInvalidMessage, m.Index, p.N)
	}
	if count != depth {
		r.Fail("rbc branch length")
		return nil, fmt.Errorf("%w: branch of %d hashes, tree depth %d", ErrInvalidMessage, count, depth)
	}
	if m.Shard == nil {
		m.Shard = []byte{}
	}
	m.Branch = make([][32]byte, depth)
	for i := range m.Branch {
		copy(m.Branch[i][:], r.Raw(32, "rbc branch"))
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("rbc: %w", err)
	}
	return m, nil
}
