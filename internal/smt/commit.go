package smt

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/mass-consensus/mass/internal/store"
)

// maxPruneVersions bounds the versions one commit prunes, so that a commit
// does bounded work even when pruning falls behind (after Retain was
// lowered, say); in the steady state a commit prunes one version.
const maxPruneVersions = 4

// Update is one change of a Commit: set Key to (Value, Sum), or delete it.
type Update struct {
	Key    Key
	Value  []byte // 1 to MaxValue bytes; nil or empty with Delete
	Sum    uint64
	Delete bool
}

// Commit applies updates as version, which must be Version()+1, and returns
// the new root hash and sum. Updates may come in any order; when a key
// appears twice the last update wins; deleting an absent key does nothing.
// An empty list still makes a new version, with the same root.
//
// The new nodes, their stale markers, the pruning of old versions, the root
// record, the metadata and whatever extra adds (extra may be nil) go into one
// store.Batch, applied with sync=true; only then do readers see the new
// version. On any error (a bad value, ErrOverflow, the store's) nothing is
// written and the tree is unchanged.
func (t *Tree) Commit(version uint64, updates []Update, extra func(*store.Batch)) (Hash, uint64, error) {
	t.commitMu.Lock()
	defer t.commitMu.Unlock()
	t.mu.RLock()
	latest, pruned, root := t.latest, t.pruned, t.root
	t.mu.RUnlock()
	if version != latest+1 {
		return Hash{}, 0, fmt.Errorf("smt: commit of version %d: %w (want %d)", version, ErrUnknownVersion, latest+1)
	}
	ups, err := normalize(updates)
	if err != nil {
		return Hash{}, 0, fmt.Errorf("smt: commit of version %d: %w", version, err)
	}
	c := &committer{t: t, v: version, batch: new(store.Batch)}
	res, err := c.update(0, Key{}, root, ups)
	if err != nil {
		return Hash{}, 0, fmt.Errorf("smt: commit of version %d: %w", version, err)
	}
	newRoot, err := c.place(0, res)
	if err != nil {
		return Hash{}, 0, fmt.Errorf("smt: commit of version %d: %w", version, err)
	}
	newPruned, err := c.prune(pruned, retainBound(version, t.retain))
	if err != nil {
		return Hash{}, 0, fmt.Errorf("smt: commit of version %d: pruning: %w", version, err)
	}
	c.batch.Put(t.rootStoreKey(version), encodeRootRecord(newRoot))
	c.batch.Put(t.key(prefixMeta), meta{latest: version, pruned: newPruned}.encode())
	if extra != nil {
		extra(c.batch)
	}
	t.mu.Lock()
	t.pruning = newPruned
	t.mu.Unlock()
	if err := t.kv.Apply(c.batch, true); err != nil {
		t.mu.Lock()
		t.pruning = pruned
		t.mu.Unlock()
		return Hash{}, 0, fmt.Errorf("smt: commit of version %d: %w", version, err)
	}
	for _, p := range c.written {
		t.cache.put(p.key, p.node)
	}
	t.mu.Lock()
	t.latest, t.pruned, t.root = version, newPruned, newRoot
	t.oldest = t.oldestFor(version, newPruned)
	t.mu.Unlock()
	return newRoot.hash, newRoot.sum, nil
}

// normalize checks the updates and returns them sorted by key, one per key
// (the last one given), in a new slice.
func normalize(updates []Update) ([]Update, error) {
	for i, u := range updates {
		if u.Delete {
			if len(u.Value) != 0 {
				return nil, fmt.Errorf("%w: update %d deletes key %v but has a value", ErrBadValue, i, u.Key)
			}
		} else if len(u.Value) == 0 || len(u.Value) > MaxValue {
			return nil, fmt.Errorf("%w: update %d sets key %v to %d bytes (1 to %d allowed)",
				ErrBadValue, i, u.Key, len(u.Value), MaxValue)
		}
	}
	ups := slices.Clone(updates)
	slices.SortStableFunc(ups, func(a, b Update) int { return compareKeys(a.Key, b.Key) })
	out := ups[:0]
	for i, u := range ups {
		if i+1 < len(ups) && ups[i+1].Key == u.Key {
			continue // a later update of the same key wins
		}
		out = append(out, u)
	}
	return out, nil
}

// committer holds the state of one Commit.
type committer struct {
	t       *Tree
	v       uint64
	batch   *store.Batch
	written []written // nodes to cache once the batch is applied
}

type written struct {
	key  nodeKey
	node *cnode
}

// item is a leaf to be placed in the new tree: a new one (key, value), or
// one already stored (at version, depth, path; its key and value are loaded
// only if it must move).
type item struct {
	key       Key
	keyKnown  bool
	sum       uint64
	hash      Hash
	value     []byte // a new leaf's value
	valueHash Hash

	stored  bool
	version uint64
	depth   int
	path    Key
}

func (it *item) ref() ref {
	return ref{kind: kindLeaf, version: it.version, hash: it.hash, sum: it.sum}
}

// sub is a rebuilt subtree: empty, an inner node (already written at its
// position), or a leaf not placed yet, since a leaf rises to the highest
// position where it is alone and only the caller knows where that is.
type sub struct {
	ref  ref
	leaf *item
}

func (s sub) empty() bool { return s.leaf == nil && s.ref.kind == kindEmpty }

// update rebuilds the subtree n at (depth, path) with ups, sorted updates
// whose keys all lie under path.
func (c *committer) update(depth int, path Key, n ref, ups []Update) (sub, error) {
	if len(ups) == 0 {
		return keep(depth, path, n), nil
	}
	nk := nodeKey{version: n.version, depth: uint8(depth), path: path}
	switch n.kind {
	case kindEmpty:
		var items []*item
		for _, u := range ups {
			if !u.Delete {
				items = append(items, newItem(u))
			}
		}
		return c.build(depth, path, items)
	case kindLeaf:
		cur, err := c.t.node(nk, n)
		if err != nil {
			return sub{}, err
		}
		keepCur := true
		var items []*item
		for _, u := range ups {
			switch {
			case u.Key != cur.key:
				if !u.Delete {
					items = append(items, newItem(u))
				}
			case u.Delete:
				keepCur = false
			default:
				it := newItem(u)
				if it.hash != n.hash {
					keepCur = false
					items = append(items, it)
				}
			}
		}
		if !keepCur {
			c.stale(nk)
			return c.build(depth, path, items)
		}
		if len(items) == 0 {
			return keep(depth, path, n), nil
		}
		it := &item{key: cur.key, keyKnown: true, sum: n.sum, hash: n.hash,
			stored: true, version: n.version, depth: depth, path: path}
		i := sort.Search(len(items), func(i int) bool { return compareKeys(items[i].key, cur.key) > 0 })
		items = slices.Insert(items, i, it)
		return c.build(depth, path, items)
	case kindInner:
		if depth >= KeyBits {
			return sub{}, fmt.Errorf("%w: inner node below the last depth", ErrCorrupt)
		}
		cur, err := c.t.node(nk, n)
		if err != nil {
			return sub{}, err
		}
		i := sort.Search(len(ups), func(i int) bool { return bit(&ups[i].Key, depth) == 1 })
		l, err := c.update(depth+1, childPath(path, depth, 0), cur.child[0], ups[:i])
		if err != nil {
			return sub{}, err
		}
		r, err := c.update(depth+1, childPath(path, depth, 1), cur.child[1], ups[i:])
		if err != nil {
			return sub{}, err
		}
		res, err := c.join(depth, path, l, r, &n, &cur.child)
		if err != nil {
			return sub{}, err
		}
		if res.ref != n {
			c.stale(nk)
		}
		return res, nil
	}
	return sub{}, fmt.Errorf("%w: reference of kind %d", ErrCorrupt, n.kind)
}

// keep returns the unchanged subtree n at (depth, path).
func keep(depth int, path Key, n ref) sub {
	if n.kind != kindLeaf {
		return sub{ref: n}
	}
	return sub{ref: n, leaf: &item{sum: n.sum, hash: n.hash, stored: true, version: n.version, depth: depth, path: path}}
}

func newItem(u Update) *item {
	vh := Hash(sha256.Sum256(u.Value))
	return &item{key: u.Key, keyKnown: true, sum: u.Sum, value: u.Value, valueHash: vh, hash: leafHashOf(u.Key, u.Sum, vh)}
}

// build makes the subtree at (depth, path) holding exactly items, sorted by
// key and distinct.
func (c *committer) build(depth int, path Key, items []*item) (sub, error) {
	switch len(items) {
	case 0:
		return sub{ref: emptyRef}, nil
	case 1:
		return sub{ref: items[0].ref(), leaf: items[0]}, nil
	}
	if depth >= KeyBits {
		return sub{}, fmt.Errorf("smt: %d leaves share all %d bits of a key", len(items), KeyBits)
	}
	i := sort.Search(len(items), func(i int) bool { return bit(&items[i].key, depth) == 1 })
	l, err := c.build(depth+1, childPath(path, depth, 0), items[:i])
	if err != nil {
		return sub{}, err
	}
	r, err := c.build(depth+1, childPath(path, depth, 1), items[i:])
	if err != nil {
		return sub{}, err
	}
	return c.join(depth, path, l, r, nil, nil)
}

// join makes the subtree at (depth, path) from its rebuilt halves. A lone
// leaf beside an empty half rises: it is returned unplaced. If old (the
// inner node there before) has the same children, it is returned as is.
func (c *committer) join(depth int, path Key, l, r sub, old *ref, oldChildren *[2]ref) (sub, error) {
	switch {
	case l.empty() && r.empty():
		return sub{ref: emptyRef}, nil
	case r.empty() && l.leaf != nil:
		return l, nil
	case l.empty() && r.leaf != nil:
		return r, nil
	}
	lr, err := c.place(depth+1, l)
	if err != nil {
		return sub{}, err
	}
	rr, err := c.place(depth+1, r)
	if err != nil {
		return sub{}, err
	}
	if old != nil && lr == oldChildren[0] && rr == oldChildren[1] {
		return sub{ref: *old}, nil
	}
	sum, ok := addSums(lr.sum, rr.sum)
	if !ok {
		return sub{}, fmt.Errorf("%w: %d + %d at depth %d under path %x", ErrOverflow, lr.sum, rr.sum, depth, path[:])
	}
	nk := nodeKey{version: c.v, depth: uint8(depth), path: path}
	c.batch.Put(c.t.nodeStoreKey(nk), encodeInner(lr, rr))
	c.written = append(c.written, written{key: nk, node: &cnode{kind: kindInner, child: [2]ref{lr, rr}}})
	return sub{ref: ref{kind: kindInner, version: c.v, hash: InnerHash(lr.hash, lr.sum, rr.hash, rr.sum), sum: sum}}, nil
}

// place returns the reference to s placed at depth: a leaf is written there
// unless it is stored there already; one stored elsewhere moves (it is
// read, rewritten, and its old node marked stale).
func (c *committer) place(depth int, s sub) (ref, error) {
	it := s.leaf
	if it == nil {
		return s.ref, nil
	}
	if it.stored && it.depth == depth {
		return s.ref, nil
	}
	if it.stored {
		old := nodeKey{version: it.version, depth: uint8(it.depth), path: it.path}
		n, rec, err := c.t.load(old, s.ref)
		if err != nil {
			return ref{}, err
		}
		it.key, it.keyKnown, it.value, it.valueHash = rec.key, true, rec.value, n.valueHash
		c.stale(old)
	}
	if !it.keyKnown {
		return ref{}, errors.New("smt: internal error: placing a leaf of unknown key")
	}
	nk := nodeKey{version: c.v, depth: uint8(depth), path: prefixOf(it.key, depth)}
	c.batch.Put(c.t.nodeStoreKey(nk), encodeLeaf(it.key, it.sum, it.value))
	c.written = append(c.written, written{key: nk, node: &cnode{kind: kindLeaf, key: it.key, sum: it.sum, valueHash: it.valueHash}})
	return ref{kind: kindLeaf, version: c.v, hash: it.hash, sum: it.sum}, nil
}

// stale records that the node nk is unreachable from this version on.
func (c *committer) stale(nk nodeKey) {
	k := appendStaleKey(append(make([]byte, 0, len(c.t.prefix)+staleKeySize), c.t.prefix...), c.v, nk)
	c.batch.Put(k, []byte{})
}

// prune adds to the batch the pruning of the versions below target, from
// where the previous commits left off (pruned), at most maxPruneVersions of
// them, and returns how far it got. Markers of version s name nodes that
// only versions below s use; they are pruned with s, except those of this
// commit's version, which are not in the store yet.
func (c *committer) prune(pruned, target uint64) (uint64, error) {
	to := min(target, pruned+maxPruneVersions, c.v-1)
	if to <= pruned {
		return pruned, nil
	}
	t := c.t
	start := appendVersionKey(append([]byte(nil), t.prefix...), prefixStale, pruned+1)
	end := appendVersionKey(append([]byte(nil), t.prefix...), prefixStale, to+1)
	var bad error
	err := t.kv.Scan(start, end, func(k, _ []byte) bool {
		_, nk, err := parseStaleKey(k[len(t.prefix):])
		if err != nil {
			bad = err
			return false
		}
		c.batch.Delete(t.nodeStoreKey(nk))
		return true
	})
	if err == nil {
		err = bad
	}
	if err != nil {
		return 0, err
	}
	c.batch.DeleteRange(start, end)
	c.batch.DeleteRange(t.rootStoreKey(pruned), t.rootStoreKey(to))
	return to, nil
}
