// Package pebble is the node's on-disk store.KV, on Pebble
// (github.com/cockroachdb/pebble/v2). A batch applied with sync is in the
// fsynced write-ahead log before Apply returns; one applied without sync may
// be lost by a crash, whole. Close syncs the log, so a clean shutdown loses
// nothing.
//
// Only one DB may have a directory open at a time, in this process or any
// other: Open fails with ErrLocked otherwise. Open names what the disk
// refused: ErrReadOnly, ErrPermission, ErrNoSpace.
//
// After a write or sync to the disk fails (a full disk, an I/O error), the
// DB refuses every later call with ErrFailed, and tells Options.OnFailure
// once: what reached the disk is unknown, and Pebble cannot go on (it
// would panic: its Fatalf is answered with an error instead).
//
// The package imports only store and Pebble; never protocol or node packages.
package pebble

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	pebbledb "github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/mass-consensus/mass/internal/store"
)

var _ store.KV = (*DB)(nil)

// ErrLocked is wrapped by Open's error when the directory is held by another
// open DB, in this process or another.
var ErrLocked = errors.New("store/pebble: directory in use by another open store")

// MemTableSize is the size of Pebble's memtables.
const MemTableSize = 16 << 20

// DefaultCacheSize is the block cache used when Options.CacheSize is 0.
const DefaultCacheSize = 8 << 20

// Options configure Open. The zero value is ready to use.
type Options struct {
	// CacheSize is the size of Pebble's block cache in bytes; 0 means
	// DefaultCacheSize.
	CacheSize int64
	// Logger receives Pebble's messages (info and errors). Nil discards
	// them, so Pebble prints nothing. A fatal error in Pebble panics,
	// unless it follows a failed write (see ErrFailed).
	Logger *slog.Logger
	// OnFailure, if set, is called once, from whichever goroutine saw it,
	// with the first failed write or sync of the open DB (wrapping
	// ErrFailed). It must not call the DB.
	OnFailure func(error)
	// FS is the file system (nil: the operating system's); tests give an
	// in-memory one with injected faults.
	FS vfs.FS
}

// DB is a store.KV in a directory on disk. It is safe for concurrent use.
type DB struct {
	db     *pebbledb.DB
	lock   *pebbledb.Lock
	dir    string
	health *health

	mu     sync.RWMutex // guards closed against the Add of active
	closed bool
	active sync.WaitGroup // calls in progress; Close waits for them
}

// maxEnd is greater than every key a store holds (MaxKeySize bytes at most):
// the end used for a DeleteRange with no upper bound.
var maxEnd = bytes.Repeat([]byte{0xFF}, store.MaxKeySize+1)

// Open opens the store in dir, creating dir and an empty store if needed.
func Open(dir string, opts Options) (*DB, error) {
	if opts.CacheSize < 0 {
		return nil, fmt.Errorf("store/pebble: open %s: negative cache size %d", dir, opts.CacheSize)
	}
	if opts.CacheSize == 0 {
		opts.CacheSize = DefaultCacheSize
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	fsys := opts.FS
	if fsys == nil {
		fsys = vfs.Default
	}
	if err := fsys.MkdirAll(dir, 0o755); err != nil {
		return nil, openError(dir, err)
	}
	lock, err := pebbledb.LockDirectory(dir, fsys)
	if err != nil {
		return nil, lockError(dir, err)
	}
	h := &health{log: logger}
	po := &pebbledb.Options{
		FS:                 watchFS{FS: fsys, h: h},
		CacheSize:          opts.CacheSize,
		Logger:             pebbleLogger{l: logger, h: h},
		Lock:               lock,
		FormatMajorVersion: pebbledb.FormatNewest,
		// Short-lived records (the journal of open epochs, pending
		// transactions) mostly die in a memtable this large instead of
		// being flushed and compacted.
		MemTableSize: MemTableSize,
	}
	// Most lookups are of keys that are absent (is this transaction
	// committed already?): bloom filters answer them without reading tables.
	po.Levels[0].FilterPolicy = bloom.FilterPolicy(10)
	db, err := pebbledb.Open(dir, po)
	if err != nil {
		_ = lock.Close()
		return nil, openError(dir, err)
	}
	h.arm(opts.OnFailure)
	return &DB{db: db, lock: lock, dir: dir, health: h}, nil
}

// Err returns the failure that stopped the DB (wrapping ErrFailed), or nil.
func (d *DB) Err() error { return d.health.failed() }

// enter registers a call in progress, or returns why there may be none:
// the DB is closed (store.ErrClosed) or failed (ErrFailed). Every
// successful enter is matched by a call to d.active.Done.
func (d *DB) enter() error {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed {
		return store.ErrClosed
	}
	if err := d.health.failed(); err != nil {
		return err
	}
	d.active.Add(1)
	return nil
}

// Get returns a copy of the value of key, or store.ErrNotFound.
func (d *DB) Get(key []byte) ([]byte, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	defer d.active.Done()
	if len(key) == 0 {
		return nil, store.ErrEmptyKey
	}
	v, closer, err := d.db.Get(key)
	if errors.Is(err, pebbledb.ErrNotFound) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store/pebble: get %x: %w", key, err)
	}
	out := bytes.Clone(v)
	if out == nil {
		out = []byte{}
	}
	if err := closer.Close(); err != nil {
		return nil, fmt.Errorf("store/pebble: get %x: %w", key, err)
	}
	return out, nil
}

// Has reports whether key is present.
func (d *DB) Has(key []byte) (bool, error) {
	if err := d.enter(); err != nil {
		return false, err
	}
	defer d.active.Done()
	if len(key) == 0 {
		return false, store.ErrEmptyKey
	}
	_, closer, err := d.db.Get(key)
	if errors.Is(err, pebbledb.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store/pebble: has %x: %w", key, err)
	}
	if err := closer.Close(); err != nil {
		return false, fmt.Errorf("store/pebble: has %x: %w", key, err)
	}
	return true, nil
}

// Apply writes b atomically, with pebble.Sync if sync and pebble.NoSync
// otherwise.
func (d *DB) Apply(b *store.Batch, sync bool) error {
	if err := d.enter(); err != nil {
		return err
	}
	defer d.active.Done()
	if err := b.Check(); err != nil {
		return err
	}
	pb := d.db.NewBatch()
	defer pb.Close()
	for _, op := range b.Ops() {
		var err error
		switch op.Kind {
		case store.OpPut:
			err = pb.Set(op.Key, op.Value, nil)
		case store.OpDelete:
			err = pb.Delete(op.Key, nil)
		case store.OpDeleteRange:
			end := op.End
			if end == nil {
				end = maxEnd
			}
			if bytes.Compare(op.Key, end) >= 0 {
				continue
			}
			err = pb.DeleteRange(op.Key, end, nil)
		default:
			panic("store/pebble: unknown batch operation")
		}
		if err != nil {
			return fmt.Errorf("store/pebble: apply: %w", err)
		}
	}
	wo := pebbledb.NoSync
	if sync {
		wo = pebbledb.Sync
	}
	if err := d.db.Apply(pb, wo); err != nil {
		return fmt.Errorf("store/pebble: apply: %w", err)
	}
	// A failed write of the log makes Pebble's commit call Fatalf, which
	// returns here as if the commit had succeeded.
	return d.health.failed()
}

// Scan calls fn with copies of each key and value in [start, end), in
// ascending order, from a snapshot taken when Scan starts.
func (d *DB) Scan(start, end []byte, fn func(key, value []byte) bool) error {
	if err := d.enter(); err != nil {
		return err
	}
	defer d.active.Done()
	if end != nil && bytes.Compare(start, end) >= 0 {
		return nil
	}
	it, err := d.db.NewIter(&pebbledb.IterOptions{LowerBound: lowerBound(start), UpperBound: end})
	if err != nil {
		return fmt.Errorf("store/pebble: scan: %w", err)
	}
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			_ = it.Close()
			return fmt.Errorf("store/pebble: scan at %x: %w", it.Key(), err)
		}
		if !fn(copyEntry(it.Key(), v)) {
			break
		}
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("store/pebble: scan: %w", err)
	}
	return nil
}

// Last returns copies of the greatest key with the prefix and its value.
func (d *DB) Last(prefix []byte) (key, value []byte, err error) {
	if err := d.enter(); err != nil {
		return nil, nil, err
	}
	defer d.active.Done()
	it, err := d.db.NewIter(&pebbledb.IterOptions{LowerBound: lowerBound(prefix), UpperBound: store.PrefixEnd(prefix)})
	if err != nil {
		return nil, nil, fmt.Errorf("store/pebble: last: %w", err)
	}
	if it.Last() {
		var v []byte
		if v, err = it.ValueAndErr(); err == nil {
			key, value = copyEntry(it.Key(), v)
		}
	}
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	switch {
	case err != nil:
		return nil, nil, fmt.Errorf("store/pebble: last %x: %w", prefix, err)
	case key == nil:
		return nil, nil, store.ErrNotFound
	}
	return key, value, nil
}

// Close waits for the calls in progress, syncs and closes the database and
// releases the directory. It is idempotent: later calls return nil. Closing
// a failed DB returns its failure (ErrFailed), whatever Pebble says of it.
func (d *DB) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	d.mu.Unlock()
	d.active.Wait()
	err := d.db.Close()
	if lerr := d.lock.Close(); err == nil {
		err = lerr
	}
	if failure := d.health.failed(); failure != nil {
		return failure
	}
	if err != nil {
		return fmt.Errorf("store/pebble: close %s: %w", d.dir, err)
	}
	return nil
}

// lowerBound returns an iterator's lower bound: nil for an empty start.
// (Pebble's race and invariants builds index the first byte of a non-nil
// seek key, so an empty non-nil bound panics there.)
func lowerBound(start []byte) []byte {
	if len(start) == 0 {
		return nil
	}
	return start
}

// copyEntry copies a key and a value into one allocation.
func copyEntry(key, value []byte) ([]byte, []byte) {
	buf := make([]byte, len(key)+len(value))
	copy(buf, key)
	copy(buf[len(key):], value)
	return buf[:len(key):len(key)], buf[len(key):]
}

// pebbleLogger gives Pebble's messages to a slog.Logger. Pebble calls
// Fatalf when it cannot go on (a failed commit, a corrupt log). After a
// failed write (recorded in h) that is expected: Fatalf logs it and
// returns, and the DB refuses every later call. Otherwise it logs and then
// panics: going on would lose data silently.
type pebbleLogger struct {
	l *slog.Logger
	h *health
}

func (p pebbleLogger) Infof(format string, args ...any) {
	p.log(slog.LevelInfo, format, args)
}

func (p pebbleLogger) Errorf(format string, args ...any) {
	p.log(slog.LevelError, format, args)
}

func (p pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if p.h != nil && p.h.failed() != nil {
		p.l.Debug(msg, "component", "pebble", "after", "a failed write")
		return
	}
	p.l.Error(msg, "component", "pebble", "fatal", true)
	panic("store/pebble: fatal: " + msg)
}

func (p pebbleLogger) log(level slog.Level, format string, args []any) {
	if p.l.Enabled(context.Background(), level) {
		p.l.Log(context.Background(), level, fmt.Sprintf(format, args...), "component", "pebble")
	}
}
