// Package mem is the in-memory twin of store/pebble: a store.KV held in an
// ordered skip list, safe for concurrent use, with a crash model so that
// tests and the simulator can kill a node and restart it from exactly what a
// disk would have kept.
//
// The crash model follows a write-ahead log. Batches reach the "disk" in the
// order they are applied; Apply with sync=true makes that batch and every
// batch applied before it durable (as an fsync of a log does); Close makes
// every applied batch durable (as Pebble's Close syncs its log). Crash keeps
// exactly the durable batches and loses the rest, each batch whole or not at
// all. Real disks may also keep some unsynced batches; the model always loses
// them, the worst case that a node must survive.
//
// The package imports only store; never protocol or node packages.
package mem

import (
	"bytes"
	"sync"

	"github.com/mass-consensus/mass/internal/store"
)

var _ store.KV = (*Store)(nil)

// scanChunk is how many entries Scan copies under one hold of the read lock;
// fn is called with the lock released, so it may read the store.
const scanChunk = 128

// Store is an in-memory store.KV. The zero value is not usable; call New.
type Store struct {
	mu      sync.RWMutex
	data    *skiplist // nil once Crash moved it to the new store
	closed  bool
	crashed bool
	// undo restores the durable state: one entry per key changed by the
	// batches applied without sync since the last sync, in the order of the
	// changes. Crash applies it backwards; a sync or Close drops it.
	undo []change
}

// change is the previous state of one key.
type change struct {
	key, old []byte
	existed  bool
}

// New returns an empty store.
func New() *Store {
	return &Store{data: newSkiplist()}
}

// Get returns a copy of the value of key, or store.ErrNotFound.
func (s *Store) Get(key []byte) ([]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, store.ErrClosed
	}
	if len(key) == 0 {
		return nil, store.ErrEmptyKey
	}
	n := s.data.get(key)
	if n == nil {
		return nil, store.ErrNotFound
	}
	return bytes.Clone(n.value), nil
}

// Has reports whether key is present.
func (s *Store) Has(key []byte) (bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return false, store.ErrClosed
	}
	if len(key) == 0 {
		return false, store.ErrEmptyKey
	}
	return s.data.get(key) != nil, nil
}

// Apply writes b atomically. With sync=false the batch is kept for Crash to
// undo until a later batch is applied with sync=true (or the store closed).
func (s *Store) Apply(b *store.Batch, sync bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.ErrClosed
	}
	if err := b.Check(); err != nil {
		return err
	}
	// Keys and values are copied: the batch's memory is reused after Reset.
	// Stored slices are never modified in place, so undo may share them.
	record := func(key, old []byte, existed bool) {
		if !sync {
			s.undo = append(s.undo, change{key: key, old: old, existed: existed})
		}
	}
	for _, op := range b.Ops() {
		switch op.Kind {
		case store.OpPut:
			key := bytes.Clone(op.Key)
			old, existed := s.data.put(key, bytes.Clone(op.Value))
			record(key, old, existed)
		case store.OpDelete:
			if old, existed := s.data.delete(op.Key); existed {
				record(bytes.Clone(op.Key), old, true)
			}
		case store.OpDeleteRange:
			if op.End != nil && bytes.Compare(op.Key, op.End) >= 0 {
				continue
			}
			s.data.deleteRange(op.Key, op.End, func(key, value []byte) { record(key, value, true) })
		default:
			panic("mem: unknown batch operation")
		}
	}
	if sync {
		s.undo = nil
	}
	return nil
}

// Scan calls fn with copies of each key and value in [start, end), in
// ascending order. It reads scanChunk entries at a time under the read lock
// and calls fn without it.
func (s *Store) Scan(start, end []byte, fn func(key, value []byte) bool) error {
	if end != nil && bytes.Compare(start, end) >= 0 {
		s.mu.RLock()
		defer s.mu.RUnlock()
		if s.closed {
			return store.ErrClosed
		}
		return nil
	}
	var chunk [][2][]byte
	cursor := start
	for {
		chunk = chunk[:0]
		s.mu.RLock()
		if s.closed {
			s.mu.RUnlock()
			return store.ErrClosed
		}
		for n := s.data.seek(cursor, nil); n != nil && len(chunk) < scanChunk; n = n.next[0] {
			if end != nil && bytes.Compare(n.key, end) >= 0 {
				break
			}
			chunk = append(chunk, copyEntry(n.key, n.value))
		}
		s.mu.RUnlock()
		for _, e := range chunk {
			if !fn(e[0], e[1]) {
				return nil
			}
		}
		if len(chunk) < scanChunk {
			return nil
		}
		// The next chunk starts just after the last key seen.
		last := chunk[len(chunk)-1][0]
		cursor = append(bytes.Clone(last), 0)
	}
}

// Last returns copies of the greatest key with the prefix and its value.
func (s *Store) Last(prefix []byte) (key, value []byte, err error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, nil, store.ErrClosed
	}
	n := s.data.before(store.PrefixEnd(prefix))
	if n == nil || !bytes.HasPrefix(n.key, prefix) {
		return nil, nil, store.ErrNotFound
	}
	e := copyEntry(n.key, n.value)
	return e[0], e[1], nil
}

// Close closes the store; it makes every applied batch durable, so a later
// Crash keeps them all (a clean shutdown and restart). It is idempotent.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.undo = nil
	return nil
}

// Crash simulates a crash of the process and a restart: it returns a new
// open store holding exactly what a write-ahead log would have kept, and
// closes s (every later call on s returns store.ErrClosed, as a dead
// process's handle would).
//
// The new store holds every batch applied with sync=true, every batch
// applied with sync=false before one applied with sync=true, and, if s was
// closed, every batch applied before Close. It loses the batches applied
// with sync=false after the last sync (the trailing unsynced batches), each
// one whole. Crashing a store that was already crashed panics.
func (s *Store) Crash() *Store {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.crashed {
		panic("mem: Crash of a store that already crashed")
	}
	for i := len(s.undo) - 1; i >= 0; i-- {
		c := s.undo[i]
		if c.existed {
			s.data.put(c.key, c.old)
		} else {
			s.data.delete(c.key)
		}
	}
	restarted := &Store{data: s.data}
	s.data, s.undo, s.closed, s.crashed = nil, nil, true, true
	return restarted
}

// copyEntry copies a key and a value into one allocation.
func copyEntry(key, value []byte) [2][]byte {
	buf := make([]byte, len(key)+len(value))
	copy(buf, key)
	copy(buf[len(key):], value)
	return [2][]byte{buf[:len(key):len(key)], buf[len(key):]}
}
