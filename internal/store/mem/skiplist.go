package mem

import "bytes"

// maxLevel bounds the height of the skip list; with a branching factor of 4
// it serves 4^maxLevel keys in O(log n).
const maxLevel = 20

// node is one key of the list. Its key and value are never modified in
// place: an overwrite replaces value.
type node struct {
	key, value []byte
	next       []*node // next[i] is the successor at level i
}

// skiplist is an ordered map from byte keys to values. It is not safe for
// concurrent use; Store guards it.
type skiplist struct {
	head   node // sentinel before the first key; head.next has maxLevel entries
	height int  // levels in use, at least 1
	len    int
	rng    uint64 // xorshift state for node heights; fixed seed, so runs are reproducible
}

func newSkiplist() *skiplist {
	l := &skiplist{height: 1, rng: 0x9E3779B97F4A7C15}
	l.head.next = make([]*node, maxLevel)
	return l
}

// randomHeight returns a height of h with probability 3/4 · (1/4)^(h-1).
func (l *skiplist) randomHeight() int {
	l.rng ^= l.rng << 13
	l.rng ^= l.rng >> 7
	l.rng ^= l.rng << 17
	r := l.rng
	h := 1
	for h < maxLevel && r&3 == 0 {
		h++
		r >>= 2
	}
	return h
}

// seek returns the first node with key >= key (nil if none). If prev is not
// nil, prev[i] is set to the last node before that position at level i.
func (l *skiplist) seek(key []byte, prev *[maxLevel]*node) *node {
	x := &l.head
	for i := l.height - 1; i >= 0; i-- {
		for next := x.next[i]; next != nil && bytes.Compare(next.key, key) < 0; next = x.next[i] {
			x = next
		}
		if prev != nil {
			prev[i] = x
		}
	}
	return x.next[0]
}

// get returns the node of key, or nil.
func (l *skiplist) get(key []byte) *node {
	if n := l.seek(key, nil); n != nil && bytes.Equal(n.key, key) {
		return n
	}
	return nil
}

// first returns the node of the smallest key, or nil.
func (l *skiplist) first() *node { return l.head.next[0] }

// before returns the node of the greatest key < key, or of the greatest key
// of all if key is nil; nil if there is none.
func (l *skiplist) before(key []byte) *node {
	x := &l.head
	for i := l.height - 1; i >= 0; i-- {
		for next := x.next[i]; next != nil && (key == nil || bytes.Compare(next.key, key) < 0); next = x.next[i] {
			x = next
		}
	}
	if x == &l.head {
		return nil
	}
	return x
}

// put sets key to value, taking ownership of both slices. It returns the
// value it replaced, if any.
func (l *skiplist) put(key, value []byte) (old []byte, existed bool) {
	var prev [maxLevel]*node
	if n := l.seek(key, &prev); n != nil && bytes.Equal(n.key, key) {
		old, n.value = n.value, value
		return old, true
	}
	h := l.randomHeight()
	for i := l.height; i < h; i++ {
		prev[i] = &l.head
	}
	if h > l.height {
		l.height = h
	}
	n := &node{key: key, value: value, next: make([]*node, h)}
	for i := range h {
		n.next[i] = prev[i].next[i]
		prev[i].next[i] = n
	}
	l.len++
	return nil, false
}

// delete removes key and returns its value, if it was present.
func (l *skiplist) delete(key []byte) (old []byte, existed bool) {
	var prev [maxLevel]*node
	n := l.seek(key, &prev)
	if n == nil || !bytes.Equal(n.key, key) {
		return nil, false
	}
	l.unlink(n, &prev)
	return n.value, true
}

// deleteRange removes every key in [start, end) (end nil: no upper bound),
// calling removed for each in ascending order.
func (l *skiplist) deleteRange(start, end []byte, removed func(key, value []byte)) {
	var prev [maxLevel]*node
	for n := l.seek(start, &prev); n != nil && (end == nil || bytes.Compare(n.key, end) < 0); n = prev[0].next[0] {
		// prev stays the predecessor of the next key to remove: unlinking n
		// makes prev[i].next[i] its successor at every level it spanned.
		l.unlink(n, &prev)
		removed(n.key, n.value)
	}
}

// unlink removes n, whose predecessors at each level are in prev.
func (l *skiplist) unlink(n *node, prev *[maxLevel]*node) {
	for i := range n.next {
		prev[i].next[i] = n.next[i]
	}
	for l.height > 1 && l.head.next[l.height-1] == nil {
		l.height--
	}
	l.len--
}
