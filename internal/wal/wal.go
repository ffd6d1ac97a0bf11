// Package wal owns the node's write-ahead log: an append-only journal of
// short-lived records, each tagged with the epoch it belongs to, made
// durable by one fsync per Sync (group commit) and dropped a whole segment
// at a time once every epoch in the segment is closed.
//
// # On-disk format
//
// A log is a directory of segment files named by a sequence number, 16
// lowercase hex digits, and ".wal" (0000000000000001.wal, ...); other files
// in the directory are ignored. A segment starts with a 12-byte header, the
// magic "MASSWAL1" then the format version (u32 little endian, 1), followed
// by records, each:
//
//	length  u32 LE  length of data
//	epoch   u64 LE
//	crc     u32 LE  CRC-32C (Castagnoli) of epoch (its 8 encoded bytes), then data
//	data    length bytes
//
// Records are written to the last segment; once it holds Options.SegmentSize
// bytes the next record starts a new one. A torn length field is caught by
// the checksum, which then covers other bytes than the writer's.
//
// # Crash model
//
// Power may fail at any point; a process may die at any point. When Sync
// returns nil, every record appended before it is durable. Of the records
// appended after the last successful Sync, a crash keeps a prefix, possibly
// cut inside a record: Open cuts such a torn tail (a short header, short
// data, or a bad checksum) off the last segment and reports it in Recovery.
// Damage in the last segment looks like a torn write and is cut the same
// way (records after it are lost with it). Segments other than the last are
// fsynced before the next one is created, so damage in them is not a
// crash's doing: Open fails with ErrCorrupt.
// Creating and removing segments fsyncs the directory. Open fsyncs what it
// returns, so records it returned survive a later crash even if the process
// that wrote them died before syncing them.
//
// After an I/O error the log state on disk is unknown (a failed fsync may
// have dropped dirty pages): the Log refuses every later call, and the
// caller reopens it.
//
// One Log at a time may use a directory; the package takes no lock on it.
//
// The package knows nothing of what the records mean: it must never import
// the protocol, node or application packages (or anything of Mass).
package wal

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
)

// Errors of the package; compare with errors.Is.
var (
	// ErrCorrupt is wrapped by Open's error when a segment that is not the
	// last is damaged, or a segment is in a format this code cannot read;
	// the message names the file and the offset.
	ErrCorrupt = errors.New("wal: corrupt segment")
	// ErrClosed is returned by every method of a Log but Close after Close.
	ErrClosed = errors.New("wal: closed")
	// ErrTooLarge is wrapped by Append's error for data over MaxRecord.
	ErrTooLarge = errors.New("wal: record too large")
)

// Defaults and limits of Options.
const (
	DefaultSegmentSize = 16 << 20
	DefaultMaxRecord   = 64 << 20
	// MaxRecordLimit is the largest MaxRecord accepted.
	MaxRecordLimit = 1 << 30
)

// Options configure a Log; the zero value gives the defaults.
type Options struct {
	// FS is the file system of the log; nil means OSFS().
	FS FS
	// SegmentSize is the size in bytes at which a segment is closed and the
	// next record starts a new one; 0 means DefaultSegmentSize. A segment
	// holds at least one record, so it may exceed this by a record.
	SegmentSize int64
	// MaxRecord is the largest record's data in bytes; 0 means
	// DefaultMaxRecord. Append refuses larger records. Open takes a length
	// field over it in the last segment for a torn one, unless the record's
	// checksum holds: that is an error (MaxRecord was lowered), not a cut.
	MaxRecord int

	planted plantedBug // test knob: bugs that the crash tests must catch
}

// plantedBug is a set of bugs a test plants in a Log to show that the crash
// tests catch them.
type plantedBug uint8

const (
	skipFsync   plantedBug = 1 << iota // never fsync a segment file
	skipSyncDir                        // never fsync the directory
)

// withDefaults fills in the defaults and checks the limits.
func (o Options) withDefaults() (Options, error) {
	if o.FS == nil {
		o.FS = OSFS()
	}
	if o.SegmentSize == 0 {
		o.SegmentSize = DefaultSegmentSize
	}
	if o.MaxRecord == 0 {
		o.MaxRecord = DefaultMaxRecord
	}
	if o.SegmentSize < 0 {
		return o, fmt.Errorf("wal: SegmentSize %d is negative", o.SegmentSize)
	}
	if o.MaxRecord < 0 || o.MaxRecord > MaxRecordLimit {
		return o, fmt.Errorf("wal: MaxRecord %d is outside [0, %d]", o.MaxRecord, MaxRecordLimit)
	}
	return o, nil
}

// Record is one entry of the log.
type Record struct {
	Epoch uint64
	Data  []byte
}

// Recovery is what Open found on disk.
type Recovery struct {
	Segments  int    // segment files read
	Records   int    // records recovered
	TornBytes int64  // bytes cut from the tail of the last segment
	Torn      string // why the tail was cut (file, offset, reason), or ""
}

// Stats are a Log's sizes, for metrics.
type Stats struct {
	Size     int64 // bytes in segment files (written, synced or not)
	Segments int   // segment files
	Buffered int64 // bytes appended and not yet written (the next Sync writes them)
}

// Log is an open write-ahead log, safe for concurrent use; Sync and
// DropBelow hold it for their I/O.
type Log struct {
	mu      sync.Mutex
	fs      FS
	dir     string
	opts    Options
	segs    []segment // oldest first; the last is the current one, open as cur
	cur     File
	buf     []byte    // records appended since the last Sync, encoded
	pending []pending // one per record in buf
	err     error     // the I/O error that broke the log, or nil
	closed  bool
}

// segment is what the log keeps in memory of a segment file.
type segment struct {
	seq      uint64
	size     int64 // bytes written
	records  int
	maxEpoch uint64 // of its records; 0 if it has none
}

// pending is a record in the Log's buffer.
type pending struct {
	size  int // encoded
	epoch uint64
}

// bufRetain is the largest buffer a Log keeps for reuse after Sync.
const bufRetain = 4 << 20

// Append buffers one record, copying data; it does no I/O (Sync writes it).
func (l *Log) Append(epoch uint64, data []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(); err != nil {
		return err
	}
	if len(data) > l.opts.MaxRecord {
		return fmt.Errorf("%w: %d bytes of data, over MaxRecord (%d bytes)", ErrTooLarge, len(data), l.opts.MaxRecord)
	}
	l.buf = appendRecord(l.buf, epoch, data)
	l.pending = append(l.pending, pending{size: recordHeaderSize + len(data), epoch: epoch})
	return nil
}

// Sync writes every buffered record, rolling to new segments as they fill,
// and fsyncs once; when it returns nil, every record appended before it is
// durable. An error breaks the log: every later call fails; reopen it.
func (l *Log) Sync() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(); err != nil {
		return err
	}
	return l.flush()
}

// flush is Sync with l.mu held; it breaks the log on error.
func (l *Log) flush() error {
	if len(l.pending) == 0 {
		return nil // every earlier record was fsynced by an earlier Sync
	}
	if err := l.writePending(); err != nil {
		l.err = err
		return err
	}
	if err := l.fsync(); err != nil {
		l.err = err
		return err
	}
	l.pending = l.pending[:0]
	l.buf = l.buf[:0]
	if cap(l.buf) > bufRetain {
		l.buf = nil
	}
	return nil
}

// writePending writes the buffered records, one Write per segment.
func (l *Log) writePending() error {
	off := 0
	for i := 0; i < len(l.pending); {
		if l.full() {
			if err := l.roll(); err != nil {
				return err
			}
		}
		n, size := l.fit(l.pending[i:])
		if err := l.write(l.buf[off:off+size], l.pending[i:i+n]); err != nil {
			return err
		}
		i += n
		off += size
	}
	return nil
}

// full reports whether the current segment is closed to new records.
func (l *Log) full() bool { return l.closes(*l.current()) }

// closes reports whether a segment is closed to new records: it reached
// SegmentSize, and holds a record (so that every segment makes progress).
func (l *Log) closes(s segment) bool {
	return s.records > 0 && s.size >= l.opts.SegmentSize
}

// fit returns how many of recs, and how many bytes, go to the current
// segment: records until it reaches SegmentSize, and at least one.
func (l *Log) fit(recs []pending) (n, size int) {
	s := *l.current()
	for _, r := range recs {
		if l.closes(s) {
			break
		}
		s.size += int64(r.size)
		s.records++
		n++
		size += r.size
	}
	return n, size
}

// write writes the encoding b of recs to the current segment.
func (l *Log) write(b []byte, recs []pending) error {
	s := l.current()
	if _, err := l.cur.Write(b); err != nil {
		return fmt.Errorf("wal: write %s: %w", l.path(s.seq), err)
	}
	s.size += int64(len(b))
	s.records += len(recs)
	for _, r := range recs {
		s.maxEpoch = max(s.maxEpoch, r.epoch)
	}
	return nil
}

// roll closes the current segment, fsynced (segments before the last are
// never torn), and starts the next one.
func (l *Log) roll() error {
	if err := l.fsync(); err != nil {
		return err
	}
	s := l.current()
	err := l.cur.Close()
	l.cur = nil
	if err != nil {
		return fmt.Errorf("wal: close %s: %w", l.path(s.seq), err)
	}
	if err := l.startSegment(s.seq + 1); err != nil {
		return err
	}
	return l.syncDir()
}

// startSegment creates segment seq, writes its header and makes it current;
// the caller syncs the directory and the file.
func (l *Log) startSegment(seq uint64) error {
	name := l.path(seq)
	f, err := l.fs.Create(name)
	if err != nil {
		return fmt.Errorf("wal: create segment: %w", err)
	}
	if _, err := f.Write(segmentHeader()); err != nil {
		return errors.Join(fmt.Errorf("wal: write header of %s: %w", name, err), f.Close())
	}
	l.cur = f
	l.segs = append(l.segs, segment{seq: seq, size: headerSize})
	return nil
}

// DropBelow removes every segment but the current one whose records are
// all of epochs below epoch, then fsyncs the directory. Segments holding a
// record of epoch or above stay, whatever else they hold.
func (l *Log) DropBelow(epoch uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(); err != nil {
		return err
	}
	last := len(l.segs) - 1
	kept := make([]segment, 0, len(l.segs))
	for i, s := range l.segs {
		if i == last || (s.records > 0 && s.maxEpoch >= epoch) {
			kept = append(kept, s)
			continue
		}
		if err := l.fs.Remove(l.path(s.seq)); err != nil {
			l.segs = append(kept, l.segs[i:]...)
			l.err = fmt.Errorf("wal: remove segment: %w", err)
			return l.err
		}
	}
	removed := len(kept) < len(l.segs)
	l.segs = kept
	if !removed {
		return nil
	}
	if err := l.syncDir(); err != nil {
		l.err = err
		return err
	}
	return nil
}

// Stats returns the log's sizes.
func (l *Log) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := Stats{Segments: len(l.segs), Buffered: int64(len(l.buf))}
	for _, s := range l.segs {
		st.Size += s.size
	}
	return st
}

// Close syncs the buffered records and closes the log. It is idempotent;
// every other method returns ErrClosed after it.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	err := l.err
	if err == nil {
		err = l.flush()
	} else {
		err = l.broken()
	}
	if l.cur != nil {
		if cerr := l.cur.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("wal: close %s: %w", l.path(l.current().seq), cerr)
		}
		l.cur = nil
	}
	return err
}

// usable returns why the log refuses calls, or nil.
func (l *Log) usable() error {
	switch {
	case l.closed:
		return ErrClosed
	case l.err != nil:
		return l.broken()
	}
	return nil
}

func (l *Log) broken() error {
	return fmt.Errorf("wal: log unusable after an I/O error, reopen it: %w", l.err)
}

func (l *Log) current() *segment { return &l.segs[len(l.segs)-1] }

func (l *Log) path(seq uint64) string { return filepath.Join(l.dir, segmentName(seq)) }

// fsync makes the current segment durable.
func (l *Log) fsync() error {
	if l.opts.planted&skipFsync != 0 {
		return nil
	}
	if err := l.cur.Sync(); err != nil {
		return fmt.Errorf("wal: fsync %s: %w", l.path(l.current().seq), err)
	}
	return nil
}

func (l *Log) syncDir() error {
	if l.opts.planted&skipSyncDir != 0 {
		return nil
	}
	if err := l.fs.SyncDir(l.dir); err != nil {
		return fmt.Errorf("wal: fsync directory %s: %w", l.dir, err)
	}
	return nil
}
