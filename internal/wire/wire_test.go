package wire

import (
	"bytes"
	"errors"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	w := NewWriter(0)
	w.U8(7)
	w.Bool(true)
	w.U16(0xBEEF)
	w.U32(1 << 30)
	w.U64(1 << 60)
	w.I64(-3)
	w.Raw([]byte{1, 2})
	w.Bytes([]byte("hello"))
	b := w.Finish()
	r := NewReader(b)
	if r.U8("a") != 7 || !r.Bool("b") || r.U16("c") != 0xBEEF || r.U32("d") != 1<<30 ||
		r.U64("e") != 1<<60 || r.I64("f") != -3 || !bytes.Equal(r.Raw(2, "g"), []byte{1, 2}) ||
		string(r.Bytes(5, "h")) != "hello" {
		t.Fatal("values changed in a round trip")
	}
	if err := r.Done(); err != nil {
		t.Fatal(err)
	}
	for cut := 0; cut < len(b); cut++ {
		r := NewReader(b[:cut])
		r.U8("a")
		r.Bool("b")
		r.U16("c")
		r.U32("d")
		r.U64("e")
		r.I64("f")
		r.Raw(2, "g")
		r.Bytes(5, "h")
		if err := r.Done(); !errors.Is(err, ErrTruncated) {
			t.Fatalf("cut at %d: %v", cut, err)
		}
	}
}

func TestRejects(t *testing.T) {
	w := NewWriter(0)
	w.Bytes([]byte("toolong"))
	r := NewReader(w.Finish())
	if r.Bytes(6, "x"); !errors.Is(r.Done(), ErrTooLarge) {
		t.Errorf("oversized string: %v", r.Done())
	}
	r = NewReader([]byte{2})
	if r.Bool("x"); !errors.Is(r.Done(), ErrNonCanonical) {
		t.Errorf("bool 2: %v", r.Done())
	}
	r = NewReader([]byte{0, 0, 0, 9})
	if r.Count(8, "x"); !errors.Is(r.Done(), ErrTooLarge) {
		t.Errorf("count over limit: %v", r.Done())
	}
	r = NewReader([]byte{1, 2})
	if r.U8("x"); !errors.Is(r.Done(), ErrTrailing) {
		t.Errorf("trailing byte: %v", r.Done())
	}
	// The first error sticks.
	r = NewReader([]byte{5})
	r.U16("x")
	r.Fail("y")
	if err := r.Err(); !errors.Is(err, ErrTruncated) {
		t.Errorf("first error lost: %v", err)
	}
}
