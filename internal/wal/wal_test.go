package wal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
)

// record returns a record whose data is unique by id: id's 8 bytes, then
// n-8 bytes derived from it (n < 8 keeps a prefix of the id).
func record(id, epoch uint64, n int) Record {
	data := make([]byte, max(n, 8))
	binary.LittleEndian.PutUint64(data, id)
	for i := 8; i < len(data); i++ {
		data[i] = byte(id*31 + uint64(i)*7)
	}
	return Record{Epoch: epoch, Data: data[:n]}
}

// diffRecords describes the first difference between two record lists, or
// returns "" if they are equal.
func diffRecords(got, want []Record) string {
	for i := range min(len(got), len(want)) {
		if got[i].Epoch != want[i].Epoch || !bytes.Equal(got[i].Data, want[i].Data) {
			return fmt.Sprintf("record %d: got epoch %d, %d bytes; want epoch %d, %d bytes",
				i, got[i].Epoch, len(got[i].Data), want[i].Epoch, len(want[i].Data))
		}
	}
	if len(got) != len(want) {
		return fmt.Sprintf("got %d records, want %d", len(got), len(want))
	}
	return ""
}

func open(t testing.TB, dir string, opts Options) (*Log, []Record, Recovery) {
	t.Helper()
	l, recs, rec, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return l, recs, rec
}

func appendAll(t testing.TB, l *Log, recs ...Record) {
	t.Helper()
	for _, r := range recs {
		if err := l.Append(r.Epoch, r.Data); err != nil {
			t.Fatalf("Append: %v", err)
		}
	}
}

func mustSync(t testing.TB, l *Log) {
	t.Helper()
	if err := l.Sync(); err != nil {
		t.Fatalf("Sync: %v", err)
	}
}

func mustClose(t testing.TB, l *Log) {
	t.Helper()
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// fileSystems are the FS implementations every FS-generic test runs on.
func fileSystems(t *testing.T) map[string]func() (FS, string) {
	return map[string]func() (FS, string){
		"os":  func() (FS, string) { return OSFS(), filepath.Join(t.TempDir(), "wal") },
		"mem": func() (FS, string) { return NewMemFS(1), "/wal" },
	}
}

// segmentSizes returns the size of every segment file of the log in dir.
func segmentSizes(t *testing.T, fsys FS, dir string) []int {
	t.Helper()
	names, err := fsys.List(dir)
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for _, name := range names {
		if _, ok := parseSegmentName(name); ok {
			b, err := fsys.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			sizes = append(sizes, len(b))
		}
	}
	return sizes
}

func TestRoundTripAcrossSegments(t *testing.T) {
	for name, newFS := range fileSystems(t) {
		t.Run(name, func(t *testing.T) {
			fsys, dir := newFS()
			opts := Options{FS: fsys, SegmentSize: 1000, MaxRecord: 400}
			rng := rand.New(rand.NewPCG(1, 2))
			var want []Record
			add := func(l *Log, n int) {
				for range n {
					r := record(uint64(len(want)), rng.Uint64N(5), rng.IntN(401))
					appendAll(t, l, r)
					want = append(want, r)
					if rng.IntN(10) == 0 {
						mustSync(t, l)
					}
				}
			}
			l, got, _ := open(t, dir, opts)
			if len(got) != 0 {
				t.Fatalf("new log returned %d records", len(got))
			}
			add(l, 500)
			mustClose(t, l)

			l, got, rec := open(t, dir, opts)
			if d := diffRecords(got, want); d != "" {
				t.Fatalf("after reopen: %s", d)
			}
			if rec.Records != len(want) || rec.TornBytes != 0 || rec.Segments < 20 {
				t.Fatalf("Recovery = %+v, want %d records over >= 20 segments, none torn", rec, len(want))
			}
			add(l, 300)
			mustClose(t, l)
			_, got, _ = open(t, dir, opts)
			if d := diffRecords(got, want); d != "" {
				t.Fatalf("after append and reopen: %s", d)
			}
			checkSegmentSizes(t, segmentSizes(t, fsys, dir), opts)
		})
	}
}

// checkSegmentSizes checks that every segment but the last was closed once
// it reached SegmentSize and not before.
func checkSegmentSizes(t *testing.T, sizes []int, opts Options) {
	t.Helper()
	maxEncoded := recordHeaderSize + opts.MaxRecord
	for i, size := range sizes[:len(sizes)-1] {
		if int64(size) < opts.SegmentSize || int64(size-maxEncoded) >= opts.SegmentSize {
			t.Errorf("segment %d of %d is %d bytes; want [%d, %d + a record)", i, len(sizes), size, opts.SegmentSize, opts.SegmentSize)
		}
	}
}

func TestReopenAppendsToLastSegment(t *testing.T) {
	fsys := NewMemFS(1)
	opts := Options{FS: fsys, SegmentSize: 1 << 20}
	for i := range 5 {
		l, got, _ := open(t, "/wal", opts)
		if len(got) != i {
			t.Fatalf("open %d: %d records, want %d", i, len(got), i)
		}
		appendAll(t, l, record(uint64(i), 1, 10))
		mustClose(t, l)
	}
	if sizes := segmentSizes(t, fsys, "/wal"); len(sizes) != 1 || sizes[0] != headerSize+5*(recordHeaderSize+10) {
		t.Fatalf("segment sizes %v, want one of %d bytes", sizes, headerSize+5*(recordHeaderSize+10))
	}
}

func TestSegmentHoldsAtLeastOneRecord(t *testing.T) {
	// A SegmentSize below the header's still makes progress: one record each.
	fsys := NewMemFS(1)
	opts := Options{FS: fsys, SegmentSize: 1}
	l, _, _ := open(t, "/wal", opts)
	want := []Record{record(1, 1, 30), record(2, 2, 0), record(3, 3, 100)}
	appendAll(t, l, want...)
	mustSync(t, l)
	if st := l.Stats(); st.Segments != 3 {
		t.Fatalf("Stats = %+v, want 3 segments", st)
	}
	mustClose(t, l)
	_, got, _ := open(t, "/wal", opts)
	if d := diffRecords(got, want); d != "" {
		t.Fatal(d)
	}
}

func TestStats(t *testing.T) {
	l, _, _ := open(t, "/wal", Options{FS: NewMemFS(1), SegmentSize: 100})
	if st := l.Stats(); st != (Stats{Size: headerSize, Segments: 1}) {
		t.Fatalf("new log: Stats = %+v", st)
	}
	appendAll(t, l, record(1, 1, 84), record(2, 1, 84))
	if st := l.Stats(); st != (Stats{Size: headerSize, Segments: 1, Buffered: 200}) {
		t.Fatalf("after Append: Stats = %+v", st)
	}
	mustSync(t, l)
	if st := l.Stats(); st != (Stats{Size: 2*headerSize + 200, Segments: 2}) {
		t.Fatalf("after Sync: Stats = %+v", st)
	}
}

func TestOptionsRejected(t *testing.T) {
	for _, opts := range []Options{
		{SegmentSize: -1},
		{MaxRecord: -1},
		{MaxRecord: MaxRecordLimit + 1},
	} {
		opts.FS = NewMemFS(1)
		if _, _, _, err := Open("/wal", opts); err == nil {
			t.Errorf("Open with %+v succeeded", opts)
		}
	}
}

func TestAppendTooLarge(t *testing.T) {
	fsys := NewMemFS(1)
	opts := Options{FS: fsys, MaxRecord: 100}
	l, _, _ := open(t, "/wal", opts)
	appendAll(t, l, record(1, 1, 100))
	before := l.Stats()
	err := l.Append(2, make([]byte, 101))
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "101") || !strings.Contains(err.Error(), "100") {
		t.Fatalf("Append of 101 bytes: %v, want ErrTooLarge naming 101 and 100", err)
	}
	if after := l.Stats(); after != before {
		t.Fatalf("refused Append changed Stats from %+v to %+v", before, after)
	}
	appendAll(t, l, record(3, 3, 0)) // the log is still usable
	mustClose(t, l)
	_, got, _ := open(t, "/wal", opts)
	if d := diffRecords(got, []Record{record(1, 1, 100), record(3, 3, 0)}); d != "" {
		t.Fatal(d)
	}
}

func TestClose(t *testing.T) {
	fsys := NewMemFS(1)
	l, _, _ := open(t, "/wal", Options{FS: fsys})
	appendAll(t, l, record(1, 1, 10))
	mustClose(t, l)
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	for name, err := range map[string]error{
		"Append":    l.Append(1, nil),
		"Sync":      l.Sync(),
		"DropBelow": l.DropBelow(1),
	} {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
	fsys.Crash() // Close synced the buffered record
	_, got, _ := open(t, "/wal", Options{FS: fsys})
	if d := diffRecords(got, []Record{record(1, 1, 10)}); d != "" {
		t.Fatal(d)
	}
}

func TestSyncWithNothingBufferedDoesNoIO(t *testing.T) {
	fsys := NewMemFS(1)
	l, _, _ := open(t, "/wal", Options{FS: fsys})
	fsys.FailAfter(0)
	if err := l.Sync(); err != nil {
		t.Fatalf("Sync with nothing buffered: %v", err)
	}
	if err := l.DropBelow(100); err != nil {
		t.Fatalf("DropBelow with nothing to drop: %v", err)
	}
}

func TestBrokenAfterIOError(t *testing.T) {
	fsys := NewMemFS(1)
	l, _, _ := open(t, "/wal", Options{FS: fsys})
	appendAll(t, l, record(1, 1, 10))
	fsys.FailAfter(1) // the Write succeeds, the fsync fails
	if err := l.Sync(); !errors.Is(err, ErrInjected) {
		t.Fatalf("Sync: %v, want ErrInjected", err)
	}
	fsys.FailAfter(-1)
	for name, err := range map[string]error{
		"Append":    l.Append(1, nil),
		"Sync":      l.Sync(),
		"DropBelow": l.DropBelow(1),
		"Close":     l.Close(),
	} {
		if !errors.Is(err, ErrInjected) || !strings.Contains(err.Error(), "reopen") {
			t.Errorf("%s after a failed fsync: %v, want the fsync's error and advice to reopen", name, err)
		}
	}
	l, got, _ := open(t, "/wal", Options{FS: fsys})
	if len(got) > 1 {
		t.Fatalf("reopen: %d records, want at most 1", len(got))
	}
	mustClose(t, l)
}

func TestIgnoresOtherFiles(t *testing.T) {
	fsys := NewMemFS(1)
	for _, name := range []string{"LOCK", "1.wal", "000000000000000A.wal", "0000000000000001.wal.tmp", "00000000000000001.wal", "000000000000000g.wal"} {
		writeFile(t, fsys, "/wal/"+name, []byte("not a segment"))
	}
	writeFile(t, fsys, "/other/0000000000000001.wal", []byte("another directory"))
	l, got, rec := open(t, "/wal", Options{FS: fsys})
	if len(got) != 0 || rec.Segments != 0 {
		t.Fatalf("Open read %d records from %d segments among files that are not segments", len(got), rec.Segments)
	}
	appendAll(t, l, record(1, 1, 10))
	mustClose(t, l)
	_, got, _ = open(t, "/wal", Options{FS: fsys})
	if d := diffRecords(got, []Record{record(1, 1, 10)}); d != "" {
		t.Fatal(d)
	}
}

// writeFile writes a durable file.
func writeFile(t testing.TB, fsys FS, name string, b []byte) {
	t.Helper()
	if err := fsys.MkdirAll(filepath.Dir(name)); err != nil {
		t.Fatal(err)
	}
	f, err := fsys.Create(name)
	if err == nil {
		_, err = f.Write(b)
	}
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = f.Close()
	}
	if err == nil {
		err = fsys.SyncDir(filepath.Dir(name))
	}
	if err != nil {
		t.Fatal(err)
	}
}

// encodeSegment returns a segment holding recs.
func encodeSegment(recs ...Record) []byte {
	b := segmentHeader()
	for _, r := range recs {
		b = appendRecord(b, r.Epoch, r.Data)
	}
	return b
}

func TestEmptyOrHeaderOnlyLastSegment(t *testing.T) {
	for name, last := range map[string][]byte{
		"empty":       nil,
		"header only": segmentHeader(),
	} {
		t.Run(name, func(t *testing.T) {
			fsys := NewMemFS(1)
			first := []Record{record(1, 1, 10)}
			writeFile(t, fsys, "/wal/0000000000000001.wal", encodeSegment(first...))
			writeFile(t, fsys, "/wal/0000000000000002.wal", last)
			l, got, rec := open(t, "/wal", Options{FS: fsys})
			if d := diffRecords(got, first); d != "" || rec.TornBytes != 0 || rec.Torn != "" {
				t.Fatalf("Open: %s, Recovery %+v", d, rec)
			}
			appendAll(t, l, record(2, 2, 10))
			mustClose(t, l)
			_, got, _ = open(t, "/wal", Options{FS: fsys})
			if d := diffRecords(got, append(first, record(2, 2, 10))); d != "" {
				t.Fatal(d)
			}
		})
	}
}

func TestSegmentNames(t *testing.T) {
	for _, seq := range []uint64{0, 1, 0xabc, 1<<64 - 1} {
		name := segmentName(seq)
		if got, ok := parseSegmentName(name); !ok || got != seq || len(name) != segmentNameLen {
			t.Errorf("parseSegmentName(%q) = %d, %v; want %d", name, got, ok, seq)
		}
	}
	if segmentName(1) != "0000000000000001.wal" {
		t.Errorf("segmentName(1) = %q", segmentName(1))
	}
}

func TestConcurrentUse(t *testing.T) {
	fsys := NewMemFS(1)
	opts := Options{FS: fsys, SegmentSize: 500}
	l, _, _ := open(t, "/wal", opts)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 200 {
			_ = l.Stats()
			if err := l.Append(uint64(i), []byte("from another goroutine")); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for i := range 200 {
		appendAll(t, l, record(uint64(i), uint64(i), 30))
		mustSync(t, l)
		if err := l.DropBelow(uint64(i) / 2); err != nil {
			t.Fatal(err)
		}
	}
	<-done
	mustClose(t, l)
	if _, got, _ := open(t, "/wal", opts); len(got) == 0 {
		t.Fatal("no records after concurrent use")
	}
}
