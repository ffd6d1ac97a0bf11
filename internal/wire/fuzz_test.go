package wire

import (
	"bytes"
	"errors"
	"testing"
)

// A schema is a small structure described by bytes: each byte is a field,
// its kind (byte % fieldKinds) and a size or limit (byte / fieldKinds).
const (
	fieldU8 = iota
	fieldBool
	fieldU16
	fieldU32
	fieldU64
	fieldI64
	fieldRaw   // exactly size bytes
	fieldBytes // a byte string of at most size bytes
	fieldList  // a count of at most size, then that many uint16
	fieldKinds
)

// value is one decoded field.
type value struct {
	n    uint64
	b    []byte
	list []uint16
}

// decodeSchema reads the fields of schema from data, checking each within
// its bounds as it goes, and that an error sticks.
func decodeSchema(t *testing.T, schema, data []byte) ([]value, error) {
	r := NewReader(data)
	var vs []value
	for _, f := range schema {
		kind, size := int(f%fieldKinds), int(f/fieldKinds)
		var v value
		switch kind {
		case fieldU8:
			v.n = uint64(r.U8("u8"))
		case fieldBool:
			if r.Bool("bool") {
				v.n = 1
			}
		case fieldU16:
			v.n = uint64(r.U16("u16"))
		case fieldU32:
			v.n = uint64(r.U32("u32"))
		case fieldU64:
			v.n = r.U64("u64")
		case fieldI64:
			v.n = uint64(r.I64("i64"))
		case fieldRaw:
			v.b = r.Raw(size, "raw")
			if r.Err() == nil && len(v.b) != size {
				t.Fatalf("Raw(%d) gave %d bytes", size, len(v.b))
			}
		case fieldBytes:
			v.b = r.Bytes(size, "bytes")
			if len(v.b) > size {
				t.Fatalf("Bytes(%d) gave %d bytes", size, len(v.b))
			}
		case fieldList:
			c := r.Count(size, "count")
			if c > size {
				t.Fatalf("Count(%d) gave %d", size, c)
			}
			for i := 0; i < c && r.Err() == nil; i++ {
				v.list = append(v.list, r.U16("item"))
			}
		}
		if r.Remaining() < 0 || r.Remaining() > len(data) {
			t.Fatalf("%d bytes remaining of %d", r.Remaining(), len(data))
		}
		vs = append(vs, v)
	}
	if first := r.Err(); first != nil {
		if r.U64("after") != 0 || r.Bytes(8, "after") != nil || r.Err() != first || r.Done() != first {
			t.Fatalf("the first error %v does not stick", first)
		}
	}
	return vs, r.Done()
}

func encodeSchema(schema []byte, vs []value) []byte {
	w := NewWriter(0)
	for i, f := range schema {
		v := vs[i]
		switch int(f % fieldKinds) {
		case fieldU8:
			w.U8(uint8(v.n))
		case fieldBool:
			w.Bool(v.n == 1)
		case fieldU16:
			w.U16(uint16(v.n))
		case fieldU32:
			w.U32(uint32(v.n))
		case fieldU64:
			w.U64(v.n)
		case fieldI64:
			w.I64(int64(v.n))
		case fieldRaw:
			w.Raw(v.b)
		case fieldBytes:
			w.Bytes(v.b)
		case fieldList:
			w.U32(uint32(len(v.list)))
			for _, x := range v.list {
				w.U16(x)
			}
		}
	}
	return w.Finish()
}

// FuzzReader decodes a structure described by the fuzzer (a schema of up to
// 16 fields) from any bytes. No input may panic; every error is one of the
// package's; and whatever decodes re-encodes, field by field with a Writer,
// to exactly the input: the Reader accepts canonical encodings only.
func FuzzReader(f *testing.F) {
	schema := []byte{fieldU8, fieldBool, fieldU16, fieldU32, fieldU64, fieldI64, fieldRaw + 3*fieldKinds, fieldBytes + 8*fieldKinds, fieldList + 2*fieldKinds}
	vs := []value{{n: 7}, {n: 1}, {n: 0xbeef}, {n: 1 << 30}, {n: 1 << 60}, {n: uint64(1<<64 - 3)}, {b: []byte("abc")}, {b: []byte("hello")}, {list: []uint16{1, 0xffff}}}
	f.Add(schema, encodeSchema(schema, vs))
	f.Add(schema[:3], []byte{1, 2, 0, 0})
	f.Add([]byte{fieldBytes + 2*fieldKinds}, []byte{0, 0, 0, 3, 1, 2, 3})
	f.Fuzz(func(t *testing.T, schema, data []byte) {
		if len(schema) > 16 {
			return
		}
		vs, err := decodeSchema(t, schema, data)
		if err != nil {
			if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrTrailing) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrNonCanonical) {
				t.Fatalf("error of no kind of the package: %v", err)
			}
			return
		}
		if got := encodeSchema(schema, vs); !bytes.Equal(got, data) {
			t.Fatalf("re-encoding differs:\n read %x\n  got %x", data, got)
		}
	})
}
