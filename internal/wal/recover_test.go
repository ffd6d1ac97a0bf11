package wal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// starts returns the offset of each record of a segment holding recs, and
// the segment's size.
func starts(recs []Record) ([]int64, int64) {
	var offs []int64
	off := int64(headerSize)
	for _, r := range recs {
		offs = append(offs, off)
		off += int64(recordHeaderSize + len(r.Data))
	}
	return offs, off
}

// recordAt returns the index of the record of recs whose bytes hold off, or
// -1 if off is in the header.
func recordAt(recs []Record, off int64) int {
	offs, _ := starts(recs)
	i := -1
	for i+1 < len(offs) && offs[i+1] <= off {
		i++
	}
	return i
}

// twoSegments are the records of a test log: the first segment's, then the
// last one's.
var twoSegments = [2][]Record{
	{record(1, 7, 20), record(2, 5, 0), record(3, 9, 33)},
	{record(4, 8, 40), record(5, 6, 9), record(6, 9, 25)},
}

func TestTornTailCutAtEveryOffset(t *testing.T) {
	root := t.TempDir()
	first, last := encodeSegment(twoSegments[0]...), encodeSegment(twoSegments[1]...)
	for cut := range int64(len(last)) {
		dir := filepath.Join(root, fmt.Sprint(cut))
		writeFile(t, OSFS(), filepath.Join(dir, segmentName(1)), first)
		writeFile(t, OSFS(), filepath.Join(dir, segmentName(2)), last[:cut])

		// The records before the one the cut is in survive; the rest is cut.
		kept := max(recordAt(twoSegments[1], cut), 0)
		want := append(twoSegments[0][:3:3], twoSegments[1][:kept]...)
		good := int64(0) // the valid prefix: none if the header is short
		if offs, _ := starts(twoSegments[1]); cut >= headerSize {
			good = offs[kept]
		}
		l, got, rec := open(t, dir, Options{})
		if d := diffRecords(got, want); d != "" {
			t.Fatalf("cut at %d: %s", cut, d)
		}
		if rec.TornBytes != cut-good || (cut > good) != (rec.Torn != "") {
			t.Fatalf("cut at %d: Recovery %+v, want %d torn bytes", cut, rec, cut-good)
		}
		if info, err := os.Stat(filepath.Join(dir, segmentName(2))); err != nil || info.Size() != max(good, headerSize) {
			t.Fatalf("cut at %d: last segment is %d bytes (%v), want %d", cut, info.Size(), err, max(good, headerSize))
		}
		appendAll(t, l, record(99, 1, 5))
		mustClose(t, l)
		_, got, rec = open(t, dir, Options{})
		if d := diffRecords(got, append(want, record(99, 1, 5))); d != "" || rec.TornBytes != 0 {
			t.Fatalf("cut at %d, then append and reopen: %s, Recovery %+v", cut, d, rec)
		}
	}
}

// twoSegmentFS returns a MemFS holding the log of twoSegments in /wal.
func twoSegmentFS(t *testing.T) *MemFS {
	fsys := NewMemFS(1)
	writeFile(t, fsys, "/wal/"+segmentName(1), encodeSegment(twoSegments[0]...))
	writeFile(t, fsys, "/wal/"+segmentName(2), encodeSegment(twoSegments[1]...))
	return fsys
}

func TestCorruptLastSegmentIsCut(t *testing.T) {
	_, size := starts(twoSegments[1])
	for off := range size {
		fsys := twoSegmentFS(t)
		if err := fsys.Corrupt("/wal/"+segmentName(2), off); err != nil {
			t.Fatal(err)
		}
		l, got, rec, err := Open("/wal", Options{FS: fsys})
		if off >= 8 && off < headerSize { // the version: a format this code cannot read
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "version") {
				t.Fatalf("version byte %d flipped: Open error %v, want ErrCorrupt naming the version", off, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("byte %d flipped: %v", off, err)
		}
		kept := max(recordAt(twoSegments[1], off), 0)
		want := append(twoSegments[0][:3:3], twoSegments[1][:kept]...)
		if d := diffRecords(got, want); d != "" || rec.TornBytes == 0 {
			t.Fatalf("byte %d flipped: %s, Recovery %+v", off, d, rec)
		}
		appendAll(t, l, record(99, 1, 5))
		mustClose(t, l)
		if _, got, _ = open(t, "/wal", Options{FS: fsys}); diffRecords(got, append(want, record(99, 1, 5))) != "" {
			t.Fatalf("byte %d flipped, then append and reopen: %s", off, diffRecords(got, append(want, record(99, 1, 5))))
		}
	}
}

func TestCorruptEarlierSegmentFailsOpen(t *testing.T) {
	offs, size := starts(twoSegments[0])
	name := "/wal/" + segmentName(1)
	for off := range size {
		fsys := twoSegmentFS(t)
		if err := fsys.Corrupt(name, off); err != nil {
			t.Fatal(err)
		}
		_, _, _, err := Open("/wal", Options{FS: fsys})
		at := int64(0) // where the damage is reported: its record, or the header
		if i := recordAt(twoSegments[0], off); i >= 0 {
			at = offs[i]
		}
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), fmt.Sprintf("%s at offset %d", name, at)) {
			t.Fatalf("byte %d flipped: Open error %v, want ErrCorrupt naming %s at offset %d", off, err, name, at)
		}
	}
}

func TestTruncatedEarlierSegmentFailsOpen(t *testing.T) {
	fsys := NewMemFS(1)
	first := encodeSegment(twoSegments[0]...)
	writeFile(t, fsys, "/wal/"+segmentName(1), first[:len(first)-1])
	writeFile(t, fsys, "/wal/"+segmentName(2), encodeSegment(twoSegments[1]...))
	if _, _, _, err := Open("/wal", Options{FS: fsys}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open: %v, want ErrCorrupt", err)
	}
}

func TestOverMaxRecord(t *testing.T) {
	big := record(1, 1, 200)
	t.Run("valid checksum is an error, not a cut", func(t *testing.T) {
		// MaxRecord was lowered since the record was written: cutting it
		// would lose a record that was synced.
		fsys := NewMemFS(1)
		writeFile(t, fsys, "/wal/"+segmentName(1), encodeSegment(record(0, 1, 5), big))
		_, _, _, err := Open("/wal", Options{FS: fsys, MaxRecord: 100})
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "MaxRecord") {
			t.Fatalf("Open: %v, want ErrCorrupt naming MaxRecord", err)
		}
		if _, got, _ := open(t, "/wal", Options{FS: fsys, MaxRecord: 200}); len(got) != 2 {
			t.Fatalf("reopen with the old MaxRecord: %d records, want 2", len(got))
		}
	})
	t.Run("bad checksum is a torn tail", func(t *testing.T) {
		fsys := NewMemFS(1)
		seg := encodeSegment(record(0, 1, 5), big)
		seg[len(seg)-1] ^= 1
		writeFile(t, fsys, "/wal/"+segmentName(1), seg)
		_, got, rec := open(t, "/wal", Options{FS: fsys, MaxRecord: 100})
		if d := diffRecords(got, []Record{record(0, 1, 5)}); d != "" || rec.TornBytes != recordHeaderSize+200 {
			t.Fatalf("Open: %s, Recovery %+v", d, rec)
		}
	})
}

func TestTornHeaderOfNewSegment(t *testing.T) {
	// A crash while creating a segment leaves a prefix of its header.
	hdr := segmentHeader()
	for n := 1; n < headerSize; n++ {
		fsys := NewMemFS(1)
		writeFile(t, fsys, "/wal/"+segmentName(1), encodeSegment(twoSegments[0]...))
		writeFile(t, fsys, "/wal/"+segmentName(2), hdr[:n])
		l, got, rec := open(t, "/wal", Options{FS: fsys})
		if d := diffRecords(got, twoSegments[0]); d != "" || rec.TornBytes != int64(n) {
			t.Fatalf("header of %d bytes: %s, Recovery %+v", n, d, rec)
		}
		appendAll(t, l, record(9, 9, 9))
		mustClose(t, l)
		if _, got, _ := open(t, "/wal", Options{FS: fsys}); len(got) != len(twoSegments[0])+1 {
			t.Fatalf("header of %d bytes, then append and reopen: %d records", n, len(got))
		}
	}
}
