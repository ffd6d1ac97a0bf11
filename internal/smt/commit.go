package smt

import (
	"crypto/sha256"
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/mass-consensus/mass/internal/store"
)

// minPruneNodes is the least number of stale nodes a commit prunes (when
// there are that many to prune). A commit prunes at most minPruneNodes plus
// twice the stale markers it writes itself: bounded work, and always more
// than it adds, so pruning that falls behind (after a burst of large
// commits, or Retain lowered) catches up.
const minPruneNodes = 1 << 14

// spareBatchOps is the largest batch (in operations) whose memory a Tree
// keeps for its next commit.
const spareBatchOps = 1 << 17

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
// version. extra's writes must keep clear of the tree's keys (see
// Options.Prefix), and extra must not keep the batch: the tree reuses it.
// On any error (a bad value, ErrOverflow, the store's) nothing is written
// and the tree is unchanged.
func (t *Tree) Commit(version uint64, updates []Update, extra func(*store.Batch)) (Hash, uint64, error) {
	t.commitMu.Lock()
	defer t.commitMu.Unlock()
	t.mu.RLock()
	latest, pruned, root := t.latest, t.pruned, t.root
	t.mu.RUnlock()
	if latest == math.MaxUint64 || version != latest+1 {
		return Hash{}, 0, fmt.Errorf("smt: commit of version %d: %w (want %d)", version, ErrUnknownVersion, latest+1)
	}
	ups, err := normalize(updates)
	if err != nil {
		return Hash{}, 0, fmt.Errorf("smt: commit of version %d: %w", version, err)
	}
	batch := t.spare
	t.spare = nil
	if batch == nil {
		batch = new(store.Batch)
	}
	batch.Reset()
	defer func() {
		// Keep the batch's memory for the next commit, unless it is large.
		if batch.Len() <= spareBatchOps {
			batch.Reset()
			t.spare = batch
		}
	}()
	c := &committer{t: t, v: version, batch: batch}
	res, err := c.update(0, Key{}, at{r: root}, ups)
	if err != nil {
		return Hash{}, 0, fmt.Errorf("smt: commit of version %d: %w", version, err)
	}
	newRoot := c.emit(0, Key{}, res)
	newPruned, affected, err := c.prune(pruned, retainBound(version, t.retain), t.minPrune+2*c.stales)
	if err != nil {
		return Hash{}, 0, fmt.Errorf("smt: commit of version %d: pruning: %w", version, err)
	}
	c.batch.Put(t.rootStoreKey(version), encodeRootRecord(newRoot))
	c.batch.Put(t.key(prefixMeta), meta{latest: version, pruned: newPruned}.encode())
	if extra != nil {
		extra(c.batch)
	}
	t.mu.Lock()
	wasPruning := t.pruning
	t.pruning = max(affected, wasPruning)
	t.mu.Unlock()
	if err := t.kv.Apply(c.batch, !t.deferSync); err != nil {
		t.mu.Lock()
		t.pruning = wasPruning
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

// change is an update ready to apply, with its hashes.
type change struct {
	key       Key
	del       bool
	sum       uint64
	value     []byte
	valueHash Hash
	leafHash  Hash
}

// normalize checks the updates and returns them as changes sorted by key,
// one per key (the last update given).
func normalize(updates []Update) ([]change, error) {
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
	order := make([]int, len(updates))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		if c := compareKeys(updates[a].Key, updates[b].Key); c != 0 {
			return c
		}
		return a - b
	})
	out := make([]change, 0, len(order))
	for j, i := range order {
		u := &updates[i]
		if j+1 < len(order) && updates[order[j+1]].Key == u.Key {
			continue // a later update of the same key wins
		}
		c := change{key: u.Key, del: u.Delete, sum: u.Sum, value: u.Value}
		if !u.Delete {
			c.valueHash = sha256.Sum256(u.Value)
			c.leafHash = leafHashOf(u.Key, u.Sum, c.valueHash)
		}
		out = append(out, c)
	}
	return out, nil
}

// committer holds the state of one Commit.
type committer struct {
	t       *Tree
	v       uint64
	batch   *store.Batch
	written []written // pages to cache once the batch is applied
	stales  int       // stale markers written
	// Scratch space for keys, values and pages: the batch copies what it
	// is given.
	kbuf, vbuf []byte
	pages      [maxPageDepth/pageLevels + 1]page
}

type written struct {
	key  nodeKey
	node *cnode
}

// nodeStoreKey returns the store key of nk in c.kbuf, valid until the next
// use of c.kbuf.
func (c *committer) nodeStoreKey(nk nodeKey) []byte {
	c.kbuf = nk.appendBytes(append(c.kbuf[:0], c.t.prefix...))
	return c.kbuf
}

// at is a subtree of the tree being updated: its reference and, for an
// inner node, the page holding it (nil for a page not loaded yet).
type at struct {
	r   ref
	pg  *page
	idx uint8
}

// sub is a rebuilt subtree: the subtree of the old tree at the same
// position, unchanged (same); or empty, a leaf (which may have moved: a
// leaf rises to the highest position where it is alone), or a new inner
// node, not written yet: the pages are laid out once the whole tree is
// rebuilt (emit).
type sub struct {
	r      ref    // kind, hash and sum; a leaf's whole reference
	same   bool   // the old subtree at this position, unchanged
	oldIdx uint8  // if same and inner: where it is in the old page oldPg
	oldPg  *page  //
	node   *mnode // a new inner node
}

// unchanged returns the sub of the old subtree n, unchanged.
func unchanged(n at) sub { return sub{r: n.r, same: true, oldPg: n.pg, oldIdx: n.idx} }

// mnode is a new inner node.
type mnode struct {
	child [2]sub
}

// update rebuilds the subtree n at (depth, path) with ups, sorted updates
// whose keys all lie under path.
func (c *committer) update(depth int, path Key, n at, ups []change) (sub, error) {
	if len(ups) == 0 {
		return unchanged(n), nil
	}
	switch n.r.kind {
	case kindEmpty:
		items := make([]ref, 0, len(ups))
		for i := range ups {
			if !ups[i].del {
				items = append(items, c.newLeaf(&ups[i]))
			}
		}
		return c.build(depth, path, items)
	case kindLeaf:
		cur := n.r
		keepCur := true
		items := make([]ref, 0, len(ups)+1)
		for i := range ups {
			u := &ups[i]
			switch {
			case u.key != cur.key:
				if !u.del {
					items = append(items, c.newLeaf(u))
				}
			case u.del:
				keepCur = false
			case u.leafHash == cur.hash:
				// Set to what it holds: the leaf stays as it is.
			default:
				keepCur = false
				items = append(items, c.newLeaf(u))
			}
		}
		if !keepCur {
			c.stale(leafNodeKey(cur.version, cur.key))
			return c.build(depth, path, items)
		}
		if len(items) == 0 {
			return unchanged(n), nil
		}
		i := sort.Search(len(items), func(i int) bool { return compareKeys(items[i].key, cur.key) > 0 })
		return c.build(depth, path, slices.Insert(items, i, cur))
	case kindInner:
	default:
		return sub{}, fmt.Errorf("%w: reference of kind %d", ErrCorrupt, n.r.kind)
	}
	pageRoot := depth%pageLevels == 0
	if pageRoot {
		pg, err := c.t.page(depth, path, n.r)
		if err != nil {
			return sub{}, err
		}
		n.pg, n.idx = pg, 0
	}
	if n.pg == nil || depth >= KeyBits {
		return sub{}, fmt.Errorf("%w: inner node at depth %d outside a page", ErrCorrupt, depth)
	}
	node := &n.pg.nodes[n.idx]
	var child [2]at
	for b, ci := range node.child {
		if n.pg.nodes[ci].inner {
			child[b] = at{r: n.pg.ref(ci), pg: n.pg, idx: ci}
		} else {
			child[b] = at{r: n.pg.ref(ci)}
		}
	}
	i := sort.Search(len(ups), func(i int) bool { return bit(&ups[i].key, depth) == 1 })
	l, err := c.update(depth+1, childPath(path, depth, 0), child[0], ups[:i])
	if err != nil {
		return sub{}, err
	}
	r, err := c.update(depth+1, childPath(path, depth, 1), child[1], ups[i:])
	if err != nil {
		return sub{}, err
	}
	res, err := c.join(depth, path, l, r, &n)
	if err != nil {
		return sub{}, err
	}
	if pageRoot && !res.same {
		c.stale(nodeKey{version: n.r.version, depth: uint8(depth), path: path})
	}
	return res, nil
}

// newLeaf writes the leaf of u, under its key at this version, and returns
// its reference.
func (c *committer) newLeaf(u *change) ref {
	nk := leafNodeKey(c.v, u.key)
	c.vbuf = appendLeaf(c.vbuf[:0], u.key, u.sum, u.value)
	c.batch.Put(c.nodeStoreKey(nk), c.vbuf)
	// A commit never reads a leaf (pages hold their keys): new leaves are
	// not cached, to leave room for pages.
	return ref{kind: kindLeaf, version: c.v, key: u.key, hash: u.leafHash, sum: u.sum}
}

// build makes the subtree at (depth, path) holding exactly the leaves
// items, sorted by key and distinct.
func (c *committer) build(depth int, path Key, items []ref) (sub, error) {
	switch len(items) {
	case 0:
		return sub{r: emptyRef}, nil
	case 1:
		return sub{r: items[0]}, nil
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
	return c.join(depth, path, l, r, nil)
}

// join makes the subtree at (depth, path) from its rebuilt halves. A lone
// leaf beside an empty half rises. If old (the inner node there before)
// has both halves unchanged, it is returned unchanged.
func (c *committer) join(depth int, path Key, l, r sub, old *at) (sub, error) {
	switch {
	case l.r.kind == kindEmpty && r.r.kind == kindEmpty:
		return sub{r: emptyRef}, nil
	case r.r.kind == kindEmpty && l.r.kind == kindLeaf:
		return sub{r: l.r}, nil
	case l.r.kind == kindEmpty && r.r.kind == kindLeaf:
		return sub{r: r.r}, nil
	case old != nil && l.same && r.same:
		return unchanged(*old), nil
	}
	sum, ok := addSums(l.r.sum, r.r.sum)
	if !ok {
		return sub{}, fmt.Errorf("%w: %d + %d at depth %d under path %x", ErrOverflow, l.r.sum, r.r.sum, depth, path[:])
	}
	h := InnerHash(l.r.hash, l.r.sum, r.r.hash, r.r.sum)
	return sub{r: ref{kind: kindInner, version: c.v, hash: h, sum: sum}, node: &mnode{child: [2]sub{l, r}}}, nil
}

// emit returns the reference to the rebuilt subtree s at the page depth
// depth, writing the pages of its new inner nodes.
func (c *committer) emit(depth int, path Key, s sub) ref {
	if s.r.kind != kindInner || s.same {
		return s.r
	}
	// Lay the page out in scratch space (one per page depth: emit recurses
	// into the next page from the boundary), then keep an exact copy.
	scratch := &c.pages[depth/pageLevels]
	scratch.nodes, scratch.keys = scratch.nodes[:0], scratch.keys[:0]
	c.region(scratch, depth, path, 0, s)
	pg := scratch.clone()
	nk := nodeKey{version: c.v, depth: uint8(depth), path: path}
	c.vbuf = appendPage(c.vbuf[:0], pg)
	c.batch.Put(c.nodeStoreKey(nk), c.vbuf)
	c.written = append(c.written, written{key: nk, node: &cnode{page: pg}})
	return s.r
}

// region lays out s at relative depth rel of the page pg and returns its
// index; at the page's boundary it emits the next page.
func (c *committer) region(pg *page, depth int, path Key, rel int, s sub) uint8 {
	switch {
	case rel == pageLevels:
		return pg.add(c.emit(depth, path, s))
	case s.r.kind != kindInner:
		return pg.add(s.r)
	case s.node == nil:
		// An unchanged inner node of the old page: copied with what lies
		// under it down to the boundary.
		return c.copyOld(pg, s.oldPg, s.oldIdx)
	}
	pg.nodes = append(pg.nodes, pnode{kind: kindInner, inner: true, hash: s.r.hash, sum: s.r.sum, version: c.v})
	i := len(pg.nodes) - 1
	l := c.region(pg, depth+1, childPath(path, depth, 0), rel+1, s.node.child[0])
	r := c.region(pg, depth+1, childPath(path, depth, 1), rel+1, s.node.child[1])
	pg.nodes[i].child = [2]uint8{l, r}
	return uint8(i)
}

// copyOld copies the position idx of the old page, with the positions under
// it, to pg and returns its index there.
func (c *committer) copyOld(pg, old *page, idx uint8) uint8 {
	n := old.nodes[idx]
	if !n.inner {
		return pg.add(old.ref(idx))
	}
	pg.nodes = append(pg.nodes, pnode{kind: kindInner, inner: true, hash: n.hash, sum: n.sum, version: c.v})
	i := len(pg.nodes) - 1
	l := c.copyOld(pg, old, n.child[0])
	r := c.copyOld(pg, old, n.child[1])
	pg.nodes[i].child = [2]uint8{l, r}
	return uint8(i)
}

// stale records that the node nk is unreachable from this version on.
func (c *committer) stale(nk nodeKey) {
	c.kbuf = appendStaleKey(append(c.kbuf[:0], c.t.prefix...), c.v, nk)
	c.batch.Put(c.kbuf, nil)
	c.stales++
}

// prune adds to the batch the pruning of the versions below target, from
// where the previous commits left off (every version below pruned is
// pruned), and returns how far it got. The markers of version s name the
// nodes that only versions below s use: pruning to p deletes the nodes (and
// markers) of the markers up to p and the root records below p. It handles
// at most limit markers, deleting each as it goes, so that the next commit
// resumes where this one stopped; markers of this commit's version are not
// in the store yet, so it prunes to c.v-1 at most. It also returns the
// version below which reads may find nodes deleted: the last marker's.
func (c *committer) prune(pruned, target uint64, limit int) (newPruned, affected uint64, err error) {
	to := min(target, c.v-1)
	if to <= pruned {
		return pruned, pruned, nil
	}
	t := c.t
	start := appendVersionKey(append([]byte(nil), t.prefix...), prefixStale, pruned+1)
	end := appendVersionKey(append([]byte(nil), t.prefix...), prefixStale, to+1)
	var bad error
	done := to // all markers up to done are handled
	n := 0
	var last []byte // the last marker handled
	affected = pruned
	err = t.kv.Scan(start, end, func(k, _ []byte) bool {
		s, nk, err := parseStaleKey(k[len(t.prefix):])
		if err != nil {
			bad = err
			return false
		}
		if n >= limit {
			done = s - 1 // version s is left in part
			return false
		}
		n++
		affected = s
		last = k
		c.batch.Delete(c.nodeStoreKey(nk))
		return true
	})
	if err == nil {
		err = bad
	}
	if err != nil {
		return 0, 0, err
	}
	if last != nil {
		// The markers handled are those from start up to last.
		c.batch.DeleteRange(start, append(last, 0))
	}
	if done <= pruned {
		return pruned, affected, nil
	}
	c.batch.DeleteRange(t.rootStoreKey(pruned), t.rootStoreKey(done))
	return done, max(affected, done), nil
}
