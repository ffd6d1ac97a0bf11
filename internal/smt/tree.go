package smt

import (
	"bytes"
	"errors"
	"fmt"
	"sync"

	"github.com/mass-consensus/mass/internal/store"
)

// Errors of the package; they are returned wrapped with context, so compare
// with errors.Is.
var (
	// ErrNotFound is returned by Get for a key absent at that version.
	ErrNotFound = errors.New("smt: key not found")
	// ErrPruned is returned for a version older than Oldest.
	ErrPruned = errors.New("smt: version pruned")
	// ErrUnknownVersion is returned for a version newer than Version, and by
	// Commit for a version other than Version()+1.
	ErrUnknownVersion = errors.New("smt: unknown version")
	// ErrOverflow is returned by Commit when a sum would overflow uint64,
	// and by proof verification when the proof's sums do.
	ErrOverflow = errors.New("smt: sum overflow")
	// ErrBadProof is returned when a proof does not decode or verify.
	ErrBadProof = errors.New("smt: bad proof")
	// ErrBadValue is returned for a value that is empty or over MaxValue
	// where one is required, or present with Delete.
	ErrBadValue = errors.New("smt: bad value")
	// ErrCorrupt is returned when the store holds data the tree did not
	// write: a record that does not decode, a node missing or not matching
	// the reference to it.
	ErrCorrupt = errors.New("smt: corrupt store")
)

// Options configure Open. The zero value keeps every version with the
// default cache.
type Options struct {
	// Retain is how many of the latest versions stay readable; older ones
	// are pruned at commit. 0 keeps every version.
	Retain uint64
	// CacheNodes bounds the in-memory node cache, in nodes: decoded pages
	// (four levels of inner nodes) and a few leaf headers (0 =
	// DefaultCacheNodes).
	CacheNodes int
	// DeferSync applies commits without syncing: the caller makes them
	// durable by a later synced write to the same store (which makes every
	// earlier batch durable). A crash before it loses the commit whole.
	DeferSync bool
	// Prefix is put before every key the tree writes or reads in the KV.
	// Empty, the tree owns the keys beginning with 'm', 'n', 'r' and 's'
	// (see the package doc); Commit's extra writes must keep clear of the
	// tree's keys either way.
	Prefix string
}

// Tree is a versioned sparse Merkle sum tree stored in a store.KV. It is
// safe for concurrent use: any number of readers (Root, Get, Prove on any
// retained version) run while one Commit runs; Commits are serialized.
type Tree struct {
	kv        store.KV
	prefix    []byte
	retain    uint64
	deferSync bool
	cache     *nodeCache
	// minPrune is minPruneNodes; tests lower it.
	minPrune int

	commitMu sync.Mutex   // serializes Commit
	spare    *store.Batch // the last commit's batch, reset, for the next; under commitMu

	mu     sync.RWMutex // guards the fields below
	latest uint64       // latest committed version
	pruned uint64       // every version below it is pruned in the store
	oldest uint64       // oldest readable version: max(pruned, the Retain bound)
	// pruning bounds the versions whose nodes the commit being applied may
	// delete, set before its batch deletes anything: a reader that finds a
	// node of a version below it missing knows the version was pruned
	// under it (such versions are below the new oldest).
	pruning uint64
	root    ref // root of latest
}

// Open opens the tree stored in kv, which should be a view the tree owns
// (store.WithPrefix) or be shared through Options.Prefix. A new tree is at
// version 0, the empty tree, until the first commit.
func Open(kv store.KV, opts Options) (*Tree, error) {
	if opts.CacheNodes < 0 {
		return nil, fmt.Errorf("smt: open: negative CacheNodes %d", opts.CacheNodes)
	}
	if opts.CacheNodes == 0 {
		opts.CacheNodes = DefaultCacheNodes
	}
	t := &Tree{
		kv:        kv,
		prefix:    []byte(opts.Prefix),
		retain:    opts.Retain,
		deferSync: opts.DeferSync,
		cache:     newNodeCache(opts.CacheNodes),
		minPrune:  minPruneNodes,
		root:      emptyRef,
	}
	b, err := kv.Get(t.key(prefixMeta))
	switch {
	case errors.Is(err, store.ErrNotFound):
		// A new tree, unless it has root records without metadata.
		_, _, err := kv.Last(t.key(prefixRoot))
		if err == nil {
			return nil, fmt.Errorf("smt: open: %w: root records without metadata", ErrCorrupt)
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("smt: open: %w", err)
		}
		return t, nil
	case err != nil:
		return nil, fmt.Errorf("smt: open: reading metadata: %w", err)
	}
	m, err := decodeMeta(b)
	if err != nil {
		return nil, fmt.Errorf("smt: open: %w", err)
	}
	t.latest, t.pruned, t.pruning = m.latest, m.pruned, m.pruned
	t.oldest = t.oldestFor(m.latest, m.pruned)
	if m.latest > 0 {
		if t.root, err = t.readRoot(m.latest); err != nil {
			return nil, fmt.Errorf("smt: open: %w", err)
		}
	}
	return t, nil
}

// oldestFor returns the oldest readable version when latest is the latest
// and every version below pruned is pruned.
func (t *Tree) oldestFor(latest, pruned uint64) uint64 {
	return max(pruned, retainBound(latest, t.retain))
}

// retainBound returns the oldest version that Retain keeps readable.
func retainBound(latest, retain uint64) uint64 {
	if retain == 0 || latest+1 <= retain {
		return 0
	}
	return latest + 1 - retain
}

// key returns the tree's store key of a tag alone: the prefix and the tag.
func (t *Tree) key(tag byte) []byte {
	return append(append(make([]byte, 0, len(t.prefix)+1), t.prefix...), tag)
}

func (t *Tree) nodeStoreKey(nk nodeKey) []byte {
	return nk.appendBytes(append(make([]byte, 0, len(t.prefix)+nodeKeySize), t.prefix...))
}

func (t *Tree) rootStoreKey(version uint64) []byte {
	return appendVersionKey(append(make([]byte, 0, len(t.prefix)+9), t.prefix...), prefixRoot, version)
}

// Version returns the latest committed version (0 before the first commit).
func (t *Tree) Version() uint64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.latest
}

// Oldest returns the oldest version still readable.
func (t *Tree) Oldest() uint64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.oldest
}

// Root returns the root hash and sum of a version.
func (t *Tree) Root(version uint64) (Hash, uint64, error) {
	r, err := t.rootAt(version)
	if err != nil {
		return Hash{}, 0, err
	}
	return r.hash, r.sum, nil
}

// rootAt returns the root reference of a readable version.
func (t *Tree) rootAt(version uint64) (ref, error) {
	t.mu.RLock()
	latest, oldest, root := t.latest, t.oldest, t.root
	t.mu.RUnlock()
	switch {
	case version > latest:
		return ref{}, fmt.Errorf("smt: version %d: %w (latest is %d)", version, ErrUnknownVersion, latest)
	case version < oldest:
		return ref{}, fmt.Errorf("smt: version %d: %w (oldest is %d)", version, ErrPruned, oldest)
	case version == latest:
		return root, nil
	case version == 0:
		return emptyRef, nil
	}
	r, err := t.readRoot(version)
	if err != nil {
		return ref{}, t.missing(version, err)
	}
	return r, nil
}

// readRoot reads the root record of a version from the store.
func (t *Tree) readRoot(version uint64) (ref, error) {
	b, err := t.kv.Get(t.rootStoreKey(version))
	if errors.Is(err, store.ErrNotFound) {
		return ref{}, fmt.Errorf("%w: no root record for version %d", ErrCorrupt, version)
	}
	if err != nil {
		return ref{}, fmt.Errorf("smt: reading the root of version %d: %w", version, err)
	}
	return decodeRootRecord(b, version)
}

// missing turns an error met reading version into ErrPruned if the version
// was pruned meanwhile (a commit pruned what a reader was walking).
func (t *Tree) missing(version uint64, err error) error {
	t.mu.RLock()
	oldest := max(t.oldest, t.pruning)
	t.mu.RUnlock()
	if version < oldest && errors.Is(err, ErrCorrupt) {
		return fmt.Errorf("smt: version %d: %w (oldest is %d)", version, ErrPruned, oldest)
	}
	return err
}

// node returns the node that r references at nk, from the cache or the
// store, checked against r.
func (t *Tree) node(nk nodeKey, r ref) (*cnode, error) {
	if n := t.cache.get(nk); n != nil {
		return n, nil
	}
	n, _, err := t.load(nk, r, true)
	return n, err
}

// page returns the page of the inner node r references at depth on the
// path of k.
func (t *Tree) page(depth int, k Key, r ref) (*page, error) {
	if depth > maxPageDepth || depth%pageLevels != 0 {
		return nil, fmt.Errorf("%w: inner node at depth %d referenced as a page", ErrCorrupt, depth)
	}
	n, err := t.node(nodeKey{version: r.version, depth: uint8(depth), path: prefixOf(k, depth)}, r)
	if err != nil {
		return nil, err
	}
	return n.page, nil
}

// load reads, decodes and checks the node r references at nk from the
// store, caches it if asked, and returns it with its record (a leaf's
// value).
func (t *Tree) load(nk nodeKey, r ref, cache bool) (*cnode, record, error) {
	b, err := t.kv.Get(t.nodeStoreKey(nk))
	if errors.Is(err, store.ErrNotFound) {
		return nil, record{}, fmt.Errorf("%w: %v is missing", ErrCorrupt, nk)
	}
	if err != nil {
		return nil, record{}, fmt.Errorf("smt: reading %v: %w", nk, err)
	}
	rec, err := decodeRecord(b)
	if err != nil {
		return nil, record{}, fmt.Errorf("%v: %w", nk, err)
	}
	n, err := rec.check(nk, r)
	if err != nil {
		return nil, record{}, err
	}
	if cache {
		t.cache.put(nk, n)
	}
	return n, rec, nil
}

// descend follows the path of k from the root r down to where it ends (an
// empty subtree or a leaf), calling sibling, if not nil, with the subtree
// beside the path at each depth. It returns the reference it ends at and
// its depth.
func (t *Tree) descend(r ref, k Key, sibling func(ref)) (ref, int, error) {
	depth := 0
	for r.kind == kindInner {
		pg, err := t.page(depth, k, r)
		if err != nil {
			return ref{}, 0, err
		}
		i := uint8(0)
		for pg.nodes[i].inner {
			n := &pg.nodes[i]
			b := bit(&k, depth)
			if sibling != nil {
				sibling(pg.ref(n.child[1-b]))
			}
			i = n.child[b]
			depth++
		}
		r = pg.ref(i)
	}
	return r, depth, nil
}

// Get returns the value and sum of k at a version, or ErrNotFound.
func (t *Tree) Get(version uint64, k Key) (value []byte, sum uint64, err error) {
	value, sum, err = t.get(version, k)
	if err != nil {
		return nil, 0, t.missing(version, err)
	}
	return value, sum, nil
}

func (t *Tree) get(version uint64, k Key) ([]byte, uint64, error) {
	r, err := t.rootAt(version)
	if err != nil {
		return nil, 0, err
	}
	if r, _, err = t.descend(r, k, nil); err != nil {
		return nil, 0, err
	}
	if r.kind != kindLeaf || r.key != k {
		return nil, 0, fmt.Errorf("smt: key %v at version %d: %w", k, version, ErrNotFound)
	}
	// Get reads the value from the store anyway: caching the leaf's header
	// would only push pages out.
	_, rec, err := t.load(leafNodeKey(r.version, k), r, false)
	if err != nil {
		return nil, 0, err
	}
	return bytes.Clone(rec.value), rec.sum, nil
}

// Prove returns a proof of k at a version: of inclusion if k is present,
// of exclusion otherwise.
func (t *Tree) Prove(version uint64, k Key) (*Proof, error) {
	p, err := t.prove(version, k)
	if err != nil {
		return nil, t.missing(version, err)
	}
	return p, nil
}

func (t *Tree) prove(version uint64, k Key) (*Proof, error) {
	r, err := t.rootAt(version)
	if err != nil {
		return nil, err
	}
	p := &Proof{Siblings: make([]Sibling, 0, 32)}
	r, _, err = t.descend(r, k, func(s ref) {
		p.Siblings = append(p.Siblings, Sibling{Hash: s.hash, Sum: s.sum})
	})
	if err != nil {
		return nil, err
	}
	switch {
	case r.kind == kindEmpty:
		p.Terminal = TerminalEmpty
	case r.key == k:
		p.Terminal = TerminalLeaf
	default:
		n, err := t.node(leafNodeKey(r.version, r.key), r)
		if err != nil {
			return nil, err
		}
		p.Terminal = TerminalOther
		p.OtherKey, p.OtherSum, p.OtherValueHash = r.key, r.sum, n.valueHash
	}
	return p, nil
}
