package wal

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
)

// diskSegment is a segment file as read back from the FS.
type diskSegment struct {
	seq uint64
	parsed
}

// readSegments parses every segment file of the log in dir.
func readSegments(t *testing.T, fsys FS, dir string) []diskSegment {
	t.Helper()
	names, err := fsys.List(dir)
	if err != nil {
		t.Fatal(err)
	}
	var segs []diskSegment
	for _, name := range names {
		seq, ok := parseSegmentName(name)
		if !ok {
			continue
		}
		b, err := fsys.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		p := parseSegment(b, MaxRecordLimit)
		if p.flaw != nil {
			t.Fatalf("%s: flaw at %d: %s", name, p.flaw.off, p.flaw.why)
		}
		segs = append(segs, diskSegment{seq: seq, parsed: p})
	}
	return segs
}

// memorySegments describes what a Log keeps of its segments, for comparing.
func memorySegments(l *Log) []string {
	var out []string
	for _, s := range l.segs {
		out = append(out, fmt.Sprintf("%d: %d bytes, %d records, max epoch %d", s.seq, s.size, s.records, s.maxEpoch))
	}
	return out
}

// diskSegmentsLike describes segments read back from disk as memorySegments does.
func diskSegmentsLike(segs []diskSegment) []string {
	var out []string
	for _, s := range segs {
		out = append(out, fmt.Sprintf("%d: %d bytes, %d records, max epoch %d", s.seq, s.end, len(s.records), s.maxEpoch))
	}
	return out
}

func TestDropBelow(t *testing.T) {
	fsys := NewMemFS(1)
	opts := Options{FS: fsys, SegmentSize: 1} // one record a segment
	l, _, _ := open(t, "/wal", opts)
	epochs := []uint64{3, 1, 2, 5, 1, 4}
	var all []Record
	for i, e := range epochs {
		all = append(all, record(uint64(i), e, 10))
	}
	appendAll(t, l, all...)
	mustSync(t, l)

	seqs := func() []uint64 {
		var out []uint64
		for _, s := range readSegments(t, fsys, "/wal") {
			out = append(out, s.seq)
		}
		return out
	}
	for _, step := range []struct {
		below uint64
		want  []uint64 // the segments left
	}{
		{0, []uint64{1, 2, 3, 4, 5, 6}},
		{1, []uint64{1, 2, 3, 4, 5, 6}},
		{3, []uint64{1, 4, 6}}, // epochs 1, 2, 1 go
		{5, []uint64{4, 6}},    // epoch 3 goes
		{100, []uint64{6}},     // never the current segment
		{100, []uint64{6}},
	} {
		if err := l.DropBelow(step.below); err != nil {
			t.Fatal(err)
		}
		if got := seqs(); !slices.Equal(got, step.want) {
			t.Fatalf("DropBelow(%d) left segments %v, want %v", step.below, got, step.want)
		}
		if st := l.Stats(); st.Segments != len(step.want) || st.Size != int64(len(step.want))*(headerSize+recordHeaderSize+10) {
			t.Fatalf("DropBelow(%d): Stats %+v, want %d segments", step.below, st, len(step.want))
		}
	}
	mustClose(t, l)
	if _, got, _ := open(t, "/wal", opts); diffRecords(got, all[5:]) != "" {
		t.Fatalf("reopen after drops: %s", diffRecords(got, all[5:]))
	}
}

func TestDropBelowKeepsSegmentWithAnyLaterEpoch(t *testing.T) {
	fsys := NewMemFS(1)
	l, _, _ := open(t, "/wal", Options{FS: fsys, SegmentSize: 100})
	// Three records of 36 bytes fill a segment; the first holds epochs 1, 5, 2.
	appendAll(t, l, record(1, 1, 20), record(2, 5, 20), record(3, 2, 20), record(4, 9, 20))
	mustSync(t, l)
	if err := l.DropBelow(5); err != nil {
		t.Fatal(err)
	}
	if n := len(readSegments(t, fsys, "/wal")); n != 2 {
		t.Fatalf("DropBelow(5) left %d segments, want 2: the first holds epoch 5", n)
	}
	if err := l.DropBelow(6); err != nil {
		t.Fatal(err)
	}
	if n := len(readSegments(t, fsys, "/wal")); n != 1 {
		t.Fatalf("DropBelow(6) left %d segments, want 1", n)
	}
}

// TestDropBelowModel drops at random over interleaved epochs and checks,
// after every drop, that the files hold every record the model says must
// stay, that every closed segment left holds an epoch at or above the
// argument (so the drop dropped all it could), and that the log's memory
// of its segments matches the files, before and after reopening.
func TestDropBelowModel(t *testing.T) {
	for seed := range uint64(100) {
		rng := rand.New(rand.NewPCG(seed, 3))
		fsys := NewMemFS(seed)
		opts := Options{FS: fsys, SegmentSize: 100 + rng.Int64N(1000)}
		l, _, _ := open(t, "/wal", opts)
		var entries []entry
		low := uint64(0)
		for id := range uint64(400) {
			rec := record(id, low+rng.Uint64N(4), 8+rng.IntN(100))
			appendAll(t, l, rec)
			entries = append(entries, entry{rec: rec, synced: true})
			if rng.IntN(8) > 0 {
				continue
			}
			mustSync(t, l)
			low += rng.Uint64N(3)
			below := low + rng.Uint64N(3) - 1
			for i := range entries {
				entries[i].dropBelow = max(entries[i].dropBelow, below)
			}
			if err := l.DropBelow(below); err != nil {
				t.Fatal(err)
			}
			checkDropped(t, fmt.Sprintf("seed %d, DropBelow(%d)", seed, below), l, entries, below)
		}
		mustSync(t, l)
		before := memorySegments(l)
		mustClose(t, l)
		l, _, _ = open(t, "/wal", opts)
		if after := memorySegments(l); !slices.Equal(before, after) {
			t.Fatalf("seed %d: segments before Close\n%v\nafter Open\n%v", seed, before, after)
		}
	}
}

// checkDropped checks a log's files after DropBelow(below).
func checkDropped(t *testing.T, what string, l *Log, entries []entry, below uint64) {
	t.Helper()
	segs := readSegments(t, l.fs, l.dir)
	var onDisk []Record
	for i, s := range segs {
		onDisk = append(onDisk, s.records...)
		if i < len(segs)-1 && s.maxEpoch < below {
			t.Fatalf("%s: closed segment %d has epochs below %d only, and was kept", what, s.seq, below)
		}
	}
	if err := checkRecovered(entries, onDisk); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if mem, disk := memorySegments(l), diskSegmentsLike(segs); !slices.Equal(mem, disk) {
		t.Fatalf("%s: segments in memory\n%v\non disk\n%v", what, mem, disk)
	}
}
