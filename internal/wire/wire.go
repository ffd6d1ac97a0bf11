// Package wire is the canonical binary encoding of Mass: fixed-width
// big-endian integers, length-prefixed byte strings, and decoders that reject
// truncated, oversized, non-canonical and trailing bytes.
//
// Everything that is hashed, signed or sent between nodes is encoded with a
// Writer and decoded with a Reader. The package imports nothing of Mass.
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Errors a Reader reports; each is wrapped with the place it occurred.
var (
	ErrTruncated    = errors.New("wire: truncated input")
	ErrTrailing     = errors.New("wire: trailing bytes")
	ErrTooLarge     = errors.New("wire: length over limit")
	ErrNonCanonical = errors.New("wire: non-canonical encoding")
)

// Writer appends canonical encodings to a buffer.
type Writer struct {
	buf []byte
}

// NewWriter returns a writer with room for size bytes.
func NewWriter(size int) *Writer { return &Writer{buf: make([]byte, 0, size)} }

// U8 appends one byte.
func (w *Writer) U8(v uint8) { w.buf = append(w.buf, v) }

// Bool appends 1 for true and 0 for false.
func (w *Writer) Bool(v bool) {
	if v {
		w.U8(1)
	} else {
		w.U8(0)
	}
}

// U16 appends a big-endian uint16.
func (w *Writer) U16(v uint16) { w.buf = binary.BigEndian.AppendUint16(w.buf, v) }

// U32 appends a big-endian uint32.
func (w *Writer) U32(v uint32) { w.buf = binary.BigEndian.AppendUint32(w.buf, v) }

// U64 appends a big-endian uint64.
func (w *Writer) U64(v uint64) { w.buf = binary.BigEndian.AppendUint64(w.buf, v) }

// I64 appends a big-endian two's-complement int64.
func (w *Writer) I64(v int64) { w.U64(uint64(v)) }

// Raw appends bytes with no length prefix (fixed-size fields such as hashes).
func (w *Writer) Raw(b []byte) { w.buf = append(w.buf, b...) }

// Bytes appends a uint32 length prefix and the bytes.
func (w *Writer) Bytes(b []byte) {
	w.U32(uint32(len(b)))
	w.buf = append(w.buf, b...)
}

// Len returns the number of bytes written so far.
func (w *Writer) Len() int { return len(w.buf) }

// Finish returns the encoding.
func (w *Writer) Finish() []byte { return w.buf }

// Reader decodes a canonical encoding. The first error sticks: later reads
// return zero values, and Done reports the error.
type Reader struct {
	buf []byte
	off int
	err error
}

// NewReader returns a reader over b. The reader does not copy b: byte
// strings it returns alias b.
func NewReader(b []byte) *Reader { return &Reader{buf: b} }

// NewRecordReader reads a record whose first byte is its kind: it reads
// that byte and fails the reader (naming what) if it is not kind.
func NewRecordReader(b []byte, kind uint8, what string) *Reader {
	r := NewReader(b)
	if k := r.U8("kind"); r.Err() == nil && k != kind {
		r.Fail("kind is not " + what)
	}
	return r
}

func (r *Reader) fail(err error, what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w at offset %d (%s)", err, r.off, what)
	}
}

func (r *Reader) take(n int, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || len(r.buf)-r.off < n {
		r.fail(ErrTruncated, what)
		return nil
	}
	b := r.buf[r.off : r.off+n]
	r.off += n
	return b
}

// U8 reads one byte.
func (r *Reader) U8(what string) uint8 {
	b := r.take(1, what)
	if b == nil {
		return 0
	}
	return b[0]
}

// Bool reads a byte that must be 0 or 1.
func (r *Reader) Bool(what string) bool {
	v := r.U8(what)
	if v > 1 {
		r.fail(ErrNonCanonical, what)
		return false
	}
	return v == 1
}

// U16 reads a big-endian uint16.
func (r *Reader) U16(what string) uint16 {
	b := r.take(2, what)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint16(b)
}

// U32 reads a big-endian uint32.
func (r *Reader) U32(what string) uint32 {
	b := r.take(4, what)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint32(b)
}

// U64 reads a big-endian uint64.
func (r *Reader) U64(what string) uint64 {
	b := r.take(8, what)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

// I64 reads a big-endian two's-complement int64.
func (r *Reader) I64(what string) int64 { return int64(r.U64(what)) }

// Raw reads exactly n bytes.
func (r *Reader) Raw(n int, what string) []byte { return r.take(n, what) }

// Bytes reads a length-prefixed byte string of at most max bytes.
func (r *Reader) Bytes(max int, what string) []byte {
	n := r.U32(what)
	if r.err != nil {
		return nil
	}
	if uint64(n) > uint64(max) {
		r.fail(ErrTooLarge, what)
		return nil
	}
	return r.take(int(n), what)
}

// Count reads a uint32 element count of at most max.
func (r *Reader) Count(max int, what string) int {
	n := r.U32(what)
	if r.err != nil {
		return 0
	}
	if uint64(n) > uint64(max) {
		r.fail(ErrTooLarge, what)
		return 0
	}
	return int(n)
}

// Remaining returns the number of unread bytes.
func (r *Reader) Remaining() int { return len(r.buf) - r.off }

// Fail records a decoding error found by the caller (a value out of range,
// say), wrapped as non-canonical.
func (r *Reader) Fail(what string) { r.fail(ErrNonCanonical, what) }

// Err returns the first error met so far.
func (r *Reader) Err() error { return r.err }

// Done returns the first error met, or ErrTrailing if bytes are left unread.
func (r *Reader) Done() error {
	if r.err != nil {
		return r.err
	}
	if r.off != len(r.buf) {
		return fmt.Errorf("%w: %d bytes", ErrTrailing, len(r.buf)-r.off)
	}
	return nil
}
