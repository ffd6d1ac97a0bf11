package smt

import (
	"bytes"
	"errors"
	"fmt"
)

// MaxWalk bounds the leaves one Walk visits.
const MaxWalk = 1 << 16

// errStop ends a walk from inside the recursion.
var errStop = errors.New("smt: walk stopped")

// Walk visits the leaves of a version in increasing key order, from the
// first key at or after start, calling fn with each leaf's key, value and
// sum (the value is fn's to keep). It stops after limit leaves (1 to
// MaxWalk) or when fn returns false, and returns how many it visited and
// whether leaves remain after the last one it visited (more is false when
// the walk reached the end of the tree). Its work is bounded by limit: it
// reads the leaves it visits and the pages on their paths, never a leaf
// before start or after the last it visits. A version that is not
// readable answers ErrPruned or ErrUnknownVersion, as Get does.
func (t *Tree) Walk(version uint64, start Key, limit int, fn func(k Key, value []byte, sum uint64) bool) (visited int, more bool, err error) {
	if limit < 1 || limit > MaxWalk {
		return 0, false, fmt.Errorf("smt: walk: limit %d out of 1 … %d", limit, MaxWalk)
	}
	r, err := t.rootAt(version)
	if err != nil {
		return 0, false, err
	}
	w := &walker{t: t, start: start, limit: limit, fn: fn}
	err = w.ref(r, 0, Key{})
	switch {
	case errors.Is(err, errStop):
		return w.visited, w.more, nil
	case err != nil:
		return w.visited, false, t.missing(version, err)
	}
	return w.visited, false, nil
}

// walker is the state of one Walk.
type walker struct {
	t       *Tree
	start   Key
	limit   int
	fn      func(Key, []byte, uint64) bool
	visited int
	// done is set once the walk has visited limit leaves or fn said stop:
	// the next subtree that holds a leaf ends it with more set.
	done bool
	more bool
}

// before says whether every key under the position (depth, path) is
// before start: the position's path is less than start's first depth
// bits.
func (w *walker) before(depth int, path Key) bool {
	p := prefixOf(w.start, depth)
	return bytes.Compare(path[:], p[:]) < 0
}

// ref walks the subtree r references at (depth, path).
func (w *walker) ref(r ref, depth int, path Key) error {
	switch r.kind {
	case kindEmpty:
		return nil
	case kindLeaf:
		if compareKeys(r.key, w.start) < 0 {
			return nil
		}
		if w.done {
			w.more = true
			return errStop
		}
		_, rec, err := w.t.load(leafNodeKey(r.version, r.key), r, false)
		if err != nil {
			return err
		}
		w.visited++
		if !w.fn(r.key, rec.value, rec.sum) || w.visited >= w.limit {
			w.done = true
		}
		return nil
	}
	if w.done {
		// An inner node has at least two leaves under it, and this one
		// lies after every key visited.
		w.more = true
		return errStop
	}
	pg, err := w.t.page(depth, path, r)
	if err != nil {
		return err
	}
	return w.pos(pg, 0, depth, path)
}

// pos walks the position i of a page, at (depth, path).
func (w *walker) pos(pg *page, i uint8, depth int, path Key) error {
	n := &pg.nodes[i]
	if !n.inner {
		return w.ref(pg.ref(i), depth, path)
	}
	if depth >= KeyBits {
		return fmt.Errorf("%w: inner node at depth %d", ErrCorrupt, depth)
	}
	for b, c := range n.child {
		cp := childPath(path, depth, b)
		if w.before(depth+1, cp) {
			continue
		}
		if err := w.pos(pg, c, depth+1, cp); err != nil {
			return err
		}
	}
	return nil
}
