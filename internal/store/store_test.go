package store

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestPrefixEnd(t *testing.T) {
	for _, c := range []struct{ prefix, end []byte }{
		{nil, nil},
		{[]byte{}, nil},
		{[]byte{0xFF}, nil},
		{[]byte{0xFF, 0xFF, 0xFF}, nil},
		{[]byte("a"), []byte("b")},
		{[]byte("ab"), []byte("ac")},
		{[]byte{0x00}, []byte{0x01}},
		{[]byte{'a', 0xFF}, []byte("b")},
		{[]byte{'a', 0xFF, 0xFF}, []byte("b")},
		{[]byte{0x01, 0xFE, 0xFF}, []byte{0x01, 0xFF}},
		{[]byte{0xFE}, []byte{0xFF}},
	} {
		in := bytes.Clone(c.prefix)
		got := PrefixEnd(in)
		if !bytes.Equal(got, c.end) || (got == nil) != (c.end == nil) {
			t.Errorf("PrefixEnd(%x) = %x (nil %v), want %x (nil %v)", c.prefix, got, got == nil, c.end, c.end == nil)
		}
		if !bytes.Equal(in, c.prefix) {
			t.Errorf("PrefixEnd(%x) modified its argument to %x", c.prefix, in)
		}
		if got != nil && len(in) > 0 && &got[0] == &in[0] {
			t.Errorf("PrefixEnd(%x) returned its argument's memory", c.prefix)
		}
	}
}

func TestBatchCopiesAndOrder(t *testing.T) {
	var b Batch
	key, value := []byte("k1"), []byte("v1")
	b.Put(key, value)
	key[1], value[1] = '9', '9'
	b.Delete(key)
	b.DeleteRange(nil, nil)
	b.DeleteRange([]byte("a"), []byte{})
	b.Put([]byte("k3"), nil)
	if b.Len() != 5 || b.Check() != nil {
		t.Fatalf("Len %d, Check %v", b.Len(), b.Check())
	}
	ops := b.Ops()
	want := []Op{
		{Kind: OpPut, Key: []byte("k1"), Value: []byte("v1")},
		{Kind: OpDelete, Key: []byte("k9")},
		{Kind: OpDeleteRange, Key: []byte{}, End: nil},
		{Kind: OpDeleteRange, Key: []byte("a"), End: []byte{}},
		{Kind: OpPut, Key: []byte("k3"), Value: []byte{}},
	}
	for i, w := range want {
		o := ops[i]
		if o.Kind != w.Kind || !bytes.Equal(o.Key, w.Key) || !bytes.Equal(o.Value, w.Value) ||
			!bytes.Equal(o.End, w.End) || (o.End == nil) != (w.End == nil) {
			t.Errorf("op %d = %+v, want %+v", i, o, w)
		}
	}
	if ops[4].Value == nil {
		t.Error("a nil value became a nil Op.Value")
	}
	b.Reset()
	if b.Len() != 0 || len(b.Ops()) != 0 || b.Check() != nil {
		t.Fatalf("after Reset: Len %d, Check %v", b.Len(), b.Check())
	}
	b.Put([]byte("x"), []byte("y"))
	if b.Len() != 1 || string(b.Ops()[0].Key) != "x" {
		t.Fatal("a reset batch does not take new operations")
	}
	var nilBatch *Batch
	if nilBatch.Len() != 0 || nilBatch.Check() != nil || nilBatch.Ops() != nil {
		t.Fatal("a nil batch is not empty")
	}
}

func TestBatchLimits(t *testing.T) {
	check := func(name string, build func(b *Batch), target error, limit string) {
		t.Helper()
		var b Batch
		build(&b)
		err := b.Check()
		if target == nil {
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			return
		}
		if !errors.Is(err, target) || !strings.Contains(err.Error(), limit) {
			t.Errorf("%s: error %v, want %v naming %q", name, err, target, limit)
		}
	}
	maxKey := bytes.Repeat([]byte{0xFF}, MaxKeySize)
	bigKey := bytes.Repeat([]byte{'k'}, MaxKeySize+1)
	check("key at MaxKeySize", func(b *Batch) { b.Put(maxKey, nil) }, nil, "")
	check("key over MaxKeySize", func(b *Batch) { b.Put(bigKey, nil) }, ErrTooLarge, "MaxKeySize")
	check("deleted key over MaxKeySize", func(b *Batch) { b.Delete(bigKey) }, ErrTooLarge, "MaxKeySize")
	check("range start over MaxKeySize", func(b *Batch) { b.DeleteRange(bigKey, nil) }, ErrTooLarge, "MaxKeySize")
	check("range end over MaxKeySize", func(b *Batch) { b.DeleteRange(nil, bigKey) }, ErrTooLarge, "MaxKeySize")
	check("empty key", func(b *Batch) { b.Put(nil, []byte("v")) }, ErrEmptyKey, "empty key")
	check("empty deleted key", func(b *Batch) { b.Delete([]byte{}) }, ErrEmptyKey, "empty key")
	check("first error kept", func(b *Batch) {
		b.Put([]byte("a"), nil)
		b.Delete(nil)
		b.Put(bigKey, nil)
	}, ErrEmptyKey, "operation 1")

	value := make([]byte, MaxValueSize+1)
	check("value over MaxValueSize", func(b *Batch) { b.Put([]byte("k"), value) }, ErrTooLarge, "MaxValueSize")
	check("value at MaxValueSize", func(b *Batch) { b.Put([]byte("k"), value[:MaxValueSize]) }, nil, "")

	// Four puts of one-byte keys and values of MaxValueSize-1 bytes fill a
	// batch exactly; one more byte is over MaxBatchSize.
	var b Batch
	for i := range 4 {
		b.Put([]byte{byte(i)}, value[:MaxValueSize-1])
	}
	if err := b.Check(); err != nil {
		t.Errorf("batch at MaxBatchSize: %v", err)
	}
	b.Delete([]byte("x"))
	if err := b.Check(); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "MaxBatchSize") {
		t.Errorf("batch over MaxBatchSize: %v, want ErrTooLarge naming MaxBatchSize", err)
	}
	if b.Len() != 5 {
		t.Errorf("Len = %d after 5 operations", b.Len())
	}
	b.Reset()
	if b.Check() != nil {
		t.Errorf("Reset kept the error %v", b.Check())
	}
}
