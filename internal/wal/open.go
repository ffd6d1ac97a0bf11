package wal

import (
	"fmt"
	"slices"
)

// Open opens the log in dir, creating it if needed, and returns it with
// every record that survived, in append order (their Data share buffers of
// the log's reading, which the caller may keep). A torn or damaged tail of
// the last segment is cut off on disk, so that later records follow the
// good prefix, and reported in Recovery; damage anywhere else is an error
// wrapping ErrCorrupt. What Open returns is durable when it returns.
func Open(dir string, opts Options) (*Log, []Record, Recovery, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, nil, Recovery{}, err
	}
	l := &Log{fs: opts.FS, dir: dir, opts: opts}
	recs, rec, err := l.recover()
	if err != nil {
		if l.cur != nil {
			_ = l.cur.Close() // err says what went wrong; Close's error would not
		}
		return nil, nil, Recovery{}, err
	}
	return l, recs, rec, nil
}

// recover reads the segments, repairs the last one (or creates the first)
// and makes all of it durable.
func (l *Log) recover() ([]Record, Recovery, error) {
	if err := l.fs.MkdirAll(l.dir); err != nil {
		return nil, Recovery{}, fmt.Errorf("wal: create directory: %w", err)
	}
	seqs, err := l.listSegments()
	if err != nil {
		return nil, Recovery{}, err
	}
	var recs []Record
	rec := Recovery{Segments: len(seqs)}
	for i, seq := range seqs {
		p, err := l.readSegment(seq, i == len(seqs)-1, &rec)
		if err != nil {
			return nil, Recovery{}, err
		}
		recs = append(recs, p.records...)
		l.segs = append(l.segs, segment{seq: seq, size: p.end, records: len(p.records), maxEpoch: p.maxEpoch})
	}
	rec.Records = len(recs)
	if len(seqs) == 0 {
		err = l.startSegment(1)
	} else {
		err = l.reopenLast(rec.TornBytes > 0)
	}
	if err == nil {
		err = l.fsync()
	}
	if err == nil {
		err = l.syncDir()
	}
	return recs, rec, err
}

// listSegments returns the sequence numbers of the segments in the
// directory, in increasing order.
func (l *Log) listSegments() ([]uint64, error) {
	names, err := l.fs.List(l.dir)
	if err != nil {
		return nil, fmt.Errorf("wal: list %s: %w", l.dir, err)
	}
	var seqs []uint64
	for _, name := range names {
		if seq, ok := parseSegmentName(name); ok {
			seqs = append(seqs, seq)
		}
	}
	slices.Sort(seqs)
	return seqs, nil
}

// readSegment reads and parses a segment. A flaw in the last segment is a
// torn tail, recorded in rec (unless fatal); anywhere else it is an error.
func (l *Log) readSegment(seq uint64, last bool, rec *Recovery) (parsed, error) {
	name := l.path(seq)
	b, err := l.fs.ReadFile(name)
	if err != nil {
		return parsed{}, fmt.Errorf("wal: read segment: %w", err)
	}
	if last && len(b) == 0 {
		return parsed{}, nil // created, then a crash came before its header was written
	}
	p := parseSegment(b, l.opts.MaxRecord)
	if p.flaw == nil {
		return p, nil
	}
	if !last || p.flaw.fatal {
		return parsed{}, fmt.Errorf("%w: %s at offset %d: %s", ErrCorrupt, name, p.flaw.off, p.flaw.why)
	}
	rec.TornBytes = int64(len(b)) - p.end
	rec.Torn = fmt.Sprintf("%s at offset %d: %s", name, p.flaw.off, p.flaw.why)
	return p, nil
}

// reopenLast opens the last segment for appending, cuts it to its valid
// prefix if torn, and writes its header if it has none.
func (l *Log) reopenLast(torn bool) error {
	s := l.current()
	name := l.path(s.seq)
	f, err := l.fs.OpenAppend(name)
	if err != nil {
		return fmt.Errorf("wal: open last segment: %w", err)
	}
	l.cur = f
	if torn {
		if err := f.Truncate(s.size); err != nil {
			return fmt.Errorf("wal: cut torn tail of %s at offset %d: %w", name, s.size, err)
		}
	}
	if s.size > 0 {
		return nil
	}
	if _, err := f.Write(segmentHeader()); err != nil {
		return fmt.Errorf("wal: write header of %s: %w", name, err)
	}
	s.size = headerSize
	return nil
}
