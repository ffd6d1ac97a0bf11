package wal

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// entry is a record a test appended, with what the model knows of it.
type entry struct {
	rec Record
	// synced: a Sync returned nil after it was appended, or an Open
	// returned it; a crash must keep it.
	synced bool
	// dropBelow is the largest DropBelow argument since it was appended: if
	// its epoch is below, it may be gone.
	dropBelow uint64
}

func (e entry) droppable() bool { return e.rec.Epoch < e.dropBelow }

func sameRecord(a, b Record) bool { return a.Epoch == b.Epoch && bytes.Equal(a.Data, b.Data) }

// checkRecovered checks the records an Open returned against the entries of
// the log before the crash (whose records are all distinct): they are
// appended records, in order; every synced one is there unless DropBelow
// may have dropped it; and the unsynced ones that survived are a prefix of
// the unsynced ones. A partial or garbled record is not an appended one.
func checkRecovered(entries []entry, got []Record) error {
	next := 0               // the entry to look for got[i] from
	firstLostUnsynced := -1 // no entry after it may survive
	for i, g := range got {
		k := next
		for k < len(entries) && !sameRecord(entries[k].rec, g) {
			k++
		}
		if k == len(entries) {
			return fmt.Errorf("recovered record %d (epoch %d, %d bytes) was never appended, or is out of order", i, g.Epoch, len(g.Data))
		}
		for ; next < k; next++ {
			if err := checkMissing(entries, next, &firstLostUnsynced); err != nil {
				return err
			}
		}
		if firstLostUnsynced >= 0 {
			return fmt.Errorf("unsynced record %d survived but unsynced record %d before it was lost", k, firstLostUnsynced)
		}
		next = k + 1
	}
	for ; next < len(entries); next++ {
		if err := checkMissing(entries, next, &firstLostUnsynced); err != nil {
			return err
		}
	}
	return nil
}

// checkMissing checks that entries[i] may be missing after a crash.
func checkMissing(entries []entry, i int, firstLostUnsynced *int) error {
	e := entries[i]
	switch {
	case e.droppable():
		return nil
	case e.synced:
		return fmt.Errorf("synced record %d (epoch %d, %d bytes) was lost", i, e.rec.Epoch, len(e.rec.Data))
	case *firstLostUnsynced < 0:
		*firstLostUnsynced = i
	}
	return nil
}

func TestCheckRecoveredRejects(t *testing.T) {
	a, b, c, d := record(1, 5, 10), record(2, 6, 10), record(3, 5, 10), record(4, 7, 10)
	entries := []entry{{rec: a, synced: true}, {rec: b, synced: true}, {rec: c}, {rec: d}}
	dropped := []entry{{rec: a, synced: true, dropBelow: 6}, {rec: b, synced: true, dropBelow: 6}, {rec: c}}
	partial := Record{Epoch: c.Epoch, Data: c.Data[:9]}
	for _, tc := range []struct {
		entries []entry
		got     []Record
		want    string // in the error; "" for none
	}{
		{entries, []Record{a, b, c, d}, ""},
		{entries, []Record{a, b, c}, ""},
		{entries, []Record{a, b}, ""},
		{dropped, []Record{b}, ""},
		{dropped, []Record{a, b}, ""},
		{entries, []Record{a}, "synced record 1"},
		{entries, []Record{b}, "synced record 0"},
		{dropped, []Record{}, "synced record 1"},
		{entries, []Record{b, a, c}, "synced record 0"},
		{dropped, []Record{b, a}, "out of order"},
		{entries, []Record{a, b, d}, "before it was lost"},
		{entries, []Record{a, b, partial}, "never appended"},
		{entries, []Record{a, b, c, c}, "never appended"},
		{entries, []Record{a, b, c, d, record(5, 5, 1)}, "never appended"},
	} {
		err := checkRecovered(tc.entries, tc.got)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("checkRecovered(%d entries, %d records) = %v, want %q", len(tc.entries), len(tc.got), err, tc.want)
		}
	}
}

// crashRun drives a log on a MemFS through random appends, syncs, drops,
// injected faults and crashes, checking every Open against the model.
type crashRun struct {
	rng     *rand.Rand
	fs      *MemFS
	opts    Options
	entries []entry
	nextID  uint64
	low     uint64 // the oldest open epoch; records are of epochs low to low+3
	tally   *crashTally
}

// crashTally counts what crash runs exercised, to check they are not vacuous.
type crashTally struct {
	opens, torn, faults, maxSegments    int
	unsyncedKept, unsyncedLost, dropped int
}

// count adds to the tally what an Open that passed checkRecovered returned.
func (c *crashTally) count(entries []entry, got []Record, rec Recovery) {
	c.opens++
	c.maxSegments = max(c.maxSegments, rec.Segments)
	if rec.TornBytes > 0 {
		c.torn++
	}
	present := map[string]bool{}
	for _, g := range got {
		present[string(g.Data)] = true
	}
	for _, e := range entries {
		switch kept := present[string(e.rec.Data)]; {
		case !e.synced && kept:
			c.unsyncedKept++
		case !e.synced:
			c.unsyncedLost++
		case !kept:
			c.dropped++
		}
	}
}

const crashDir = "/node/wal"

// runCrashes runs one seed; a nil error means the log kept every promise.
func runCrashes(seed uint64, planted plantedBug, tally *crashTally) error {
	r := &crashRun{rng: rand.New(rand.NewPCG(seed, 7)), fs: NewMemFS(seed), tally: tally}
	r.opts = Options{FS: r.fs, SegmentSize: 64 + r.rng.Int64N(2048), MaxRecord: 1500, planted: planted}
	for cycle := range 6 {
		l, err := r.open(true)
		if err != nil {
			return fmt.Errorf("seed %d, cycle %d: %w", seed, cycle, err)
		}
		if err := r.work(l); err != nil {
			return fmt.Errorf("seed %d, cycle %d: %w", seed, cycle, err)
		}
		r.crash()
	}
	if err := r.finish(); err != nil {
		return fmt.Errorf("seed %d, last open: %w", seed, err)
	}
	return nil
}

// open opens the log, with faults injected into Open if faults (each
// failed Open is followed by a crash), and checks what it returns.
func (r *crashRun) open(faults bool) (*Log, error) {
	for {
		if faults && r.rng.IntN(4) == 0 {
			r.fs.FailAfter(r.rng.IntN(4))
		}
		l, got, rec, err := Open(crashDir, r.opts)
		r.fs.FailAfter(-1)
		if errors.Is(err, ErrInjected) {
			r.crash()
			continue
		}
		if err != nil {
			return nil, err
		}
		if err := checkRecovered(r.entries, got); err != nil {
			return nil, err
		}
		r.tally.count(r.entries, got, rec)
		r.entries = r.entries[:0]
		for _, rec := range got {
			r.entries = append(r.entries, entry{rec: rec, synced: true})
		}
		return l, nil
	}
}

// work runs random operations until a crash point: an injected fault, or
// a random stop.
func (r *crashRun) work(l *Log) error {
	for range 80 {
		var err error
		switch n := r.rng.IntN(20); {
		case n < 12:
			err = r.appendSome(l)
		case n < 17:
			err = r.sync(l)
		case n < 19:
			err = r.dropBelow(l)
		default:
			return nil
		}
		if errors.Is(err, ErrInjected) {
			r.tally.faults++
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (r *crashRun) appendSome(l *Log) error {
	for range 1 + r.rng.IntN(6) {
		size := 8 + r.rng.IntN(200) // 8 bytes at least: records are distinct
		if r.rng.IntN(20) == 0 {
			size = r.opts.MaxRecord - r.rng.IntN(10) // larger than many segments
		}
		rec := record(r.nextID, r.low+r.rng.Uint64N(4), size)
		r.nextID++
		if err := l.Append(rec.Epoch, rec.Data); err != nil {
			return err
		}
		r.entries = append(r.entries, entry{rec: rec})
	}
	return nil
}

func (r *crashRun) sync(l *Log) error {
	r.maybeFault()
	if err := l.Sync(); err != nil {
		return err
	}
	for i := range r.entries {
		r.entries[i].synced = true
	}
	return nil
}

// dropBelow closes an epoch now and then, and drops the segments of closed
// epochs (or, now and then, of one more or one less).
func (r *crashRun) dropBelow(l *Log) error {
	r.low += r.rng.Uint64N(2)
	epoch := r.low + r.rng.Uint64N(3)
	epoch -= min(epoch, 1)
	for i := range r.entries {
		r.entries[i].dropBelow = max(r.entries[i].dropBelow, epoch)
	}
	r.maybeFault()
	return l.DropBelow(epoch)
}

// maybeFault arms an injected fault, now and then, a few operations ahead.
func (r *crashRun) maybeFault() {
	if r.rng.IntN(6) == 0 {
		r.fs.FailAfter(r.rng.IntN(12))
	}
}

// crash is a power cut, or the death of the process alone (what it wrote
// stays in the page cache).
func (r *crashRun) crash() {
	if r.rng.IntN(3) == 0 {
		r.fs.FailAfter(-1)
		return
	}
	r.fs.Crash()
}

// finish opens the log without faults, checks it, then checks that appends
// after the crashes come back exactly.
func (r *crashRun) finish() error {
	l, err := r.open(false)
	if err != nil {
		return err
	}
	if err := r.appendSome(l); err != nil {
		return err
	}
	if err := l.Close(); err != nil {
		return err
	}
	_, got, _, err := Open(crashDir, r.opts)
	if err != nil {
		return err
	}
	want := make([]Record, len(r.entries))
	for i, e := range r.entries {
		want[i] = e.rec
	}
	if d := diffRecords(got, want); d != "" {
		return fmt.Errorf("after Close and reopen: %s", d)
	}
	return nil
}

func TestCrashModel(t *testing.T) {
	seeds := 500
	if testing.Short() {
		seeds = 50
	}
	var tally crashTally
	for seed := range uint64(seeds) {
		if err := runCrashes(seed, 0, &tally); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%+v", tally)
	// Each case the model tells apart happened, in a fair share of opens.
	for name, n := range map[string]int{
		"torn tails": tally.torn, "injected faults": tally.faults,
		"unsynced records kept": tally.unsyncedKept, "unsynced records lost": tally.unsyncedLost,
		"records dropped": tally.dropped,
	} {
		if n < tally.opens/20 {
			t.Errorf("%s: %d in %d opens, want at least %d", name, n, tally.opens, tally.opens/20)
		}
	}
	if tally.maxSegments < 10 {
		t.Errorf("at most %d segments in a log, want 10 or more", tally.maxSegments)
	}
}

// TestCrashModelCatchesPlantedBugs shows the crash model is not vacuous: a
// log that skips its fsyncs, or its directory fsyncs, is caught losing
// synced records (or with a damaged segment that was meant to be synced).
func TestCrashModelCatchesPlantedBugs(t *testing.T) {
	for name, bug := range map[string]plantedBug{"skip fsync": skipFsync, "skip directory fsync": skipSyncDir} {
		t.Run(name, func(t *testing.T) {
			caught := 0
			for seed := range uint64(100) {
				err := runCrashes(seed, bug, &crashTally{})
				if err == nil {
					continue
				}
				if !strings.Contains(err.Error(), "was lost") && !errors.Is(err, ErrCorrupt) {
					t.Fatalf("planted bug caught with an unexpected error: %v", err)
				}
				caught++
			}
			t.Logf("caught in %d of 100 seeds", caught)
			if caught < 10 {
				t.Fatalf("planted bug caught in %d of 100 seeds, want at least 10", caught)
			}
		})
	}
}

// TestCrashAtEveryStepOfRollingSync crashes at each I/O operation of a
// Sync that rolls over several segments, a power cut or the process's death.
func TestCrashAtEveryStepOfRollingSync(t *testing.T) {
	for seed := range uint64(40) {
		steps := 0
		for ; ; steps++ {
			fsys := NewMemFS(seed)
			l, _, _ := open(t, "/wal", Options{FS: fsys, SegmentSize: 200})
			var entries []entry
			for i := range 11 {
				size := 50
				if i >= 3 {
					size = 90 // two of these fill a segment
				}
				rec := record(uint64(i), uint64(i%3), size)
				appendAll(t, l, rec)
				entries = append(entries, entry{rec: rec})
				if i == 2 {
					mustSync(t, l) // the first segment is full
					for j := range entries {
						entries[j].synced = true
					}
				}
			}
			fsys.FailAfter(steps)
			err := l.Sync()
			if err != nil && !errors.Is(err, ErrInjected) {
				t.Fatalf("seed %d, crash at step %d: Sync: %v", seed, steps, err)
			}
			if seed%2 == 0 {
				fsys.Crash()
			} else {
				fsys.FailAfter(-1)
			}
			_, got, _ := open(t, "/wal", Options{FS: fsys})
			if err := checkRecovered(entries, got); err != nil {
				t.Fatalf("seed %d, crash at step %d: %v", seed, steps, err)
			}
			if err == nil {
				break // the Sync did every step
			}
		}
		if steps < 15 { // 4 writes, an fsync and 3 rolls of 4 operations
			t.Fatalf("seed %d: the Sync had %d steps, want at least 15", seed, steps)
		}
	}
}
