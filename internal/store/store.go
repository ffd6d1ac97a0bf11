// Package store owns the node's storage contract: KV, an ordered byte-key
// store whose writes are atomic batches, durable (fsynced) before Apply
// returns when asked, with limits on key, value and batch sizes.
//
// Two implementations satisfy it: store/mem, an in-memory twin with a crash
// model for tests and the simulator, and store/pebble, on disk. Both run the
// same conformance suite, store/storetest.
//
// The package knows nothing of what is stored in it: it must never import the
// protocol, chain, application or node packages (or anything of Mass).
package store

import (
	"errors"
)

// Errors of the store package and of every KV; implementations return them
// bare or wrapped, so compare with errors.Is.
var (
	// ErrNotFound is returned by Get and Last when there is no such key.
	ErrNotFound = errors.New("store: not found")
	// ErrClosed is returned by every method of a KV after Close.
	ErrClosed = errors.New("store: closed")
	// ErrEmptyKey is returned by Apply for a batch that writes or deletes an
	// empty key, and by Get and Has when asked for one.
	ErrEmptyKey = errors.New("store: empty key")
	// ErrTooLarge is wrapped by Apply's error for a batch with a key, a value
	// or a total size over MaxKeySize, MaxValueSize or MaxBatchSize; the
	// message names the limit.
	ErrTooLarge = errors.New("store: too large")
)

// Size limits, checked by Apply before it writes anything.
const (
	// MaxKeySize is the largest key, in bytes.
	MaxKeySize = 4 << 10
	// MaxValueSize is the largest value, in bytes.
	MaxValueSize = 64 << 20
	// MaxBatchSize is the largest batch: the sum of the lengths of every key,
	// value and range bound in it.
	MaxBatchSize = 256 << 20
)

// KV is an ordered byte-key store. Keys are compared as byte strings
// (bytes.Compare). Keys and values are copied on the way in and out: a
// caller may reuse or modify its buffers after a call returns, and may keep
// and modify what a call returns.
//
// A KV is safe for concurrent use. Apply is atomic for readers: a Get, Has
// or Last sees all of a batch or none of it; a Scan sees each key as it is
// when Scan reaches it, so a batch applied while a Scan runs may be seen in
// part.
type KV interface {
	// Get returns the value of key, or ErrNotFound if it is absent.
	Get(key []byte) ([]byte, error)
	// Has reports whether key is present.
	Has(key []byte) (bool, error)
	// Apply writes a batch atomically: all of it, or on error none of it. If
	// sync, the batch and every batch applied before it are durable (fsynced)
	// before Apply returns; otherwise a crash may lose the batch, but never
	// part of it. A nil or empty batch writes nothing (and with sync, still
	// makes earlier batches durable).
	Apply(b *Batch, sync bool) error
	// Scan calls fn for each key in [start, end) in ascending order; a nil
	// start is the first key and a nil end means no upper bound. fn returning
	// false stops the scan. fn may read the store (Get, Has, Last, Scan) but
	// must not call Apply or Close.
	Scan(start, end []byte, fn func(key, value []byte) bool) error
	// Last returns the greatest key with the given prefix and its value, or
	// ErrNotFound. Every key has the empty prefix.
	Last(prefix []byte) (key, value []byte, err error)
	// Close releases the store; it is idempotent. Every batch applied before
	// Close is durable after it. Every other method returns ErrClosed after
	// Close.
	Close() error
}

// PrefixEnd returns the smallest key greater than every key with the prefix,
// for use as Scan's end: Scan(p, PrefixEnd(p), fn) visits exactly the keys
// with prefix p. It returns nil (no upper bound) when there is no such key:
// for the empty prefix and for a prefix of 0xFF bytes only.
func PrefixEnd(prefix []byte) []byte {
	for i := len(prefix) - 1; i >= 0; i-- {
		if prefix[i] != 0xFF {
			end := make([]byte, i+1)
			copy(end, prefix[:i+1])
			end[i]++
			return end
		}
	}
	return nil
}
