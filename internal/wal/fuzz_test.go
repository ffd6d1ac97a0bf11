package wal

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzOpen opens a log whose first segment holds arbitrary bytes, as its
// only segment or before a valid one. Open never panics; it fails only with
// ErrCorrupt (the MemFS has no I/O errors); when it succeeds, the records
// it returns re-encode to exactly the bytes left on disk, and the log
// appends after them.
func FuzzOpen(f *testing.F) {
	valid := encodeSegment(record(1, 7, 20), record(2, 0, 0), record(3, 1<<63, 300))
	f.Add(valid, true)
	f.Add(valid, false)
	f.Add(valid[:len(valid)-7], true)
	f.Add(valid[:headerSize+3], true)
	f.Add(segmentHeader(), true)
	f.Add(segmentHeader()[:5], true)
	f.Add([]byte{}, true)
	f.Add(append(segmentHeader(), 0xff, 0xff, 0xff, 0x7f, 1, 2, 3), true)
	f.Add([]byte("MASSWAL1\x02\x00\x00\x00"), true)
	f.Fuzz(func(t *testing.T, data []byte, last bool) {
		fsys := NewMemFS(1)
		writeFile(t, fsys, "/wal/"+segmentName(1), data)
		next := []Record{record(9, 9, 9)}
		if !last {
			writeFile(t, fsys, "/wal/"+segmentName(2), encodeSegment(next...))
		}
		opts := Options{FS: fsys, MaxRecord: 1 << 10}
		l, got, _, err := Open("/wal", opts)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open: %v, want nil or ErrCorrupt", err)
			}
			return
		}
		fromData := got
		if !last {
			if len(got) == 0 || diffRecords(got[len(got)-1:], next) != "" {
				t.Fatalf("the valid last segment's record is not the last recovered")
			}
			fromData = got[:len(got)-1]
		}
		onDisk, err := fsys.ReadFile("/wal/" + segmentName(1))
		if err != nil {
			t.Fatal(err)
		}
		if want := encodeSegment(fromData...); !bytes.Equal(onDisk, want) {
			t.Fatalf("%d records recovered re-encode to %d bytes, but %d bytes are on disk", len(fromData), len(want), len(onDisk))
		}
		if !last && !bytes.Equal(onDisk, data) {
			t.Fatal("Open changed a segment that is not the last")
		}
		appendAll(t, l, record(10, 10, 10))
		mustClose(t, l)
		_, again, _ := open(t, "/wal", opts)
		if d := diffRecords(again, append(got, record(10, 10, 10))); d != "" {
			t.Fatalf("append and reopen: %s", d)
		}
	})
}
