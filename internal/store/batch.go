package store

import (
	"fmt"
)

// OpKind is the kind of one operation of a Batch.
type OpKind uint8

// The operations of a Batch.
const (
	OpPut         OpKind = iota + 1 // set Key to Value
	OpDelete                        // remove Key
	OpDeleteRange                   // remove every key in [Key, End)
)

// Op is one operation of a Batch, as implementations of KV read it.
type Op struct {
	Kind  OpKind
	Key   []byte // OpPut, OpDelete: the key; OpDeleteRange: the start, empty for the first key
	Value []byte // OpPut: the value, never nil
	End   []byte // OpDeleteRange: the end, nil for no upper bound
}

// largeCopy is the length from which Batch copies a key or value into an
// allocation of its own instead of its shared buffer, so that large values
// are copied once and not again when the buffer grows.
const largeCopy = 64 << 10

// Batch is a list of puts and deletes, applied in order and atomically by
// KV.Apply. Its methods copy their arguments, so callers may reuse buffers.
// A zero Batch is empty and ready to use; a Batch may be reused after Reset.
// A Batch is not safe for concurrent use.
//
// Size limits are checked as operations are added; the first violation is
// kept and returned by Check and Apply, and the batch then copies no more
// data (it will never be written).
type Batch struct {
	ops  []Op
	buf  []byte // shared buffer holding copies of small keys and values
	size int    // sum of the lengths of every key, value and bound
	err  error  // first limit violation, or nil
}

// Put sets key to value; a nil value is stored as an empty one.
func (b *Batch) Put(key, value []byte) {
	b.size += len(key) + len(value)
	b.checkKey("key", key)
	if b.err == nil && len(value) > MaxValueSize {
		b.err = fmt.Errorf("%w: value of %d bytes for key %s is over MaxValueSize (%d bytes)",
			ErrTooLarge, len(value), showKey(key), MaxValueSize)
	}
	b.checkSize()
	if b.err != nil {
		b.ops = append(b.ops, Op{Kind: OpPut})
		return
	}
	b.ops = append(b.ops, Op{Kind: OpPut, Key: b.copy(key), Value: b.copy(value)})
}

// Delete removes key; deleting an absent key is not an error.
func (b *Batch) Delete(key []byte) {
	b.size += len(key)
	b.checkKey("key", key)
	b.checkSize()
	if b.err != nil {
		b.ops = append(b.ops, Op{Kind: OpDelete})
		return
	}
	b.ops = append(b.ops, Op{Kind: OpDelete, Key: b.copy(key)})
}

// DeleteRange removes every key in [start, end). A nil or empty start is the
// first key and a nil end means no upper bound, as in KV.Scan; a range with
// end <= start removes nothing.
func (b *Batch) DeleteRange(start, end []byte) {
	b.size += len(start) + len(end)
	if b.err == nil && len(start) > MaxKeySize {
		b.err = fmt.Errorf("%w: range start of %d bytes is over MaxKeySize (%d bytes)",
			ErrTooLarge, len(start), MaxKeySize)
	}
	if b.err == nil && len(end) > MaxKeySize {
		b.err = fmt.Errorf("%w: range end of %d bytes is over MaxKeySize (%d bytes)",
			ErrTooLarge, len(end), MaxKeySize)
	}
	b.checkSize()
	if b.err != nil {
		b.ops = append(b.ops, Op{Kind: OpDeleteRange})
		return
	}
	op := Op{Kind: OpDeleteRange, Key: b.copy(start)}
	if end != nil {
		op.End = b.copy(end)
	}
	b.ops = append(b.ops, op)
}

// Len returns the number of operations in the batch.
func (b *Batch) Len() int {
	if b == nil {
		return 0
	}
	return len(b.ops)
}

// Reset empties the batch, keeping its memory for reuse.
func (b *Batch) Reset() {
	clear(b.ops) // drop references to large copies
	b.ops = b.ops[:0]
	b.buf = b.buf[:0]
	b.size = 0
	b.err = nil
}

// Check returns the first limit violation of the batch (wrapping
// ErrEmptyKey or ErrTooLarge), or nil. Implementations of KV call it before
// writing anything.
func (b *Batch) Check() error {
	if b == nil {
		return nil
	}
	return b.err
}

// Ops returns the operations of the batch in order, for implementations of
// KV. The slice and the bytes it points to belong to the batch: they must not
// be modified, and are valid only until the batch is next changed or Reset.
// Ops is meaningful only when Check returns nil.
func (b *Batch) Ops() []Op {
	if b == nil {
		return nil
	}
	return b.ops
}

func (b *Batch) checkKey(what string, key []byte) {
	switch {
	case b.err != nil:
	case len(key) == 0:
		b.err = fmt.Errorf("%w (operation %d of the batch)", ErrEmptyKey, len(b.ops))
	case len(key) > MaxKeySize:
		b.err = fmt.Errorf("%w: %s %s of %d bytes is over MaxKeySize (%d bytes)",
			ErrTooLarge, what, showKey(key), len(key), MaxKeySize)
	}
}

func (b *Batch) checkSize() {
	if b.err == nil && b.size > MaxBatchSize {
		b.err = fmt.Errorf("%w: batch of %d operations and at least %d bytes is over MaxBatchSize (%d bytes)",
			ErrTooLarge, len(b.ops)+1, b.size, MaxBatchSize)
	}
}

// copy returns a copy of p that the batch owns; it is never nil.
func (b *Batch) copy(p []byte) []byte {
	if len(p) == 0 {
		return []byte{}
	}
	if len(p) >= largeCopy {
		return append([]byte(nil), p...)
	}
	n := len(b.buf)
	b.buf = append(b.buf, p...)
	return b.buf[n:len(b.buf):len(b.buf)]
}

// showKey renders a key for an error message: hex, cut after 16 bytes.
func showKey(key []byte) string {
	if len(key) > 16 {
		return fmt.Sprintf("%x…", key[:16])
	}
	return fmt.Sprintf("%x", key)
}
