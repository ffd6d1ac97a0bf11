package gateway

import (
	"container/list"
	"context"
	"sync"
)

// answer is a verified answer, encoded: with its proofs (for ?prove=1)
// and without.
type answer struct {
	status int // 200, or 404 for a proven absence
	full   []byte
	bare   []byte
}

func (a *answer) size() int64 { return int64(len(a.full) + len(a.bare) + 64) }

// cache keeps verified answers by key (route, parameters and height), the
// least recently used dropped first, within a bound in bytes. An answer
// larger than an eighth of the bound is not kept.
type cache struct {
	mu     sync.Mutex
	max    int64
	size   int64
	ll     *list.List // of *cached, the most recent first
	byKey  map[string]*list.Element
	hits   uint64
	misses uint64
}

type cached struct {
	key  string
	a    *answer
	size int64
}

// newCache returns a cache of at most max bytes; max ≤ 0 keeps nothing.
func newCache(max int64) *cache {
	return &cache{max: max, ll: list.New(), byKey: map[string]*list.Element{}}
}

func (c *cache) get(key string) (*answer, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byKey[key]
	if !ok {
		c.misses++
		return nil, false
	}
	c.hits++
	c.ll.MoveToFront(e)
	return e.Value.(*cached).a, true
}

func (c *cache) put(key string, a *answer) {
	size := a.size() + int64(len(key))
	if size > c.max/8 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[key]; ok {
		old := e.Value.(*cached)
		c.size += size - old.size
		old.a, old.size = a, size
		c.ll.MoveToFront(e)
	} else {
		c.byKey[key] = c.ll.PushFront(&cached{key: key, a: a, size: size})
		c.size += size
	}
	for c.size > c.max {
		e := c.ll.Back()
		v := e.Value.(*cached)
		c.ll.Remove(e)
		delete(c.byKey, v.key)
		c.size -= v.size
	}
}

// CacheInfo is the state of the cache, in the gateway's /v1/status.
type CacheInfo struct {
	Entries  int    `json:"entries"`
	Bytes    int64  `json:"bytes"`
	MaxBytes int64  `json:"max_bytes"`
	Hits     uint64 `json:"hits"`
	Misses   uint64 `json:"misses"`
}

func (c *cache) info() CacheInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	return CacheInfo{Entries: c.ll.Len(), Bytes: c.size, MaxBytes: max(c.max, 0), Hits: c.hits, Misses: c.misses}
}

// flights makes concurrent requests for one key share one fetch.
type flights struct {
	mu sync.Mutex
	m  map[string]*flight
}

type flight struct {
	done chan struct{}
	a    *answer
	err  error
}

// do runs fetch for key, or waits for the run already in flight; a
// waiter gives up when its ctx ends.
func (f *flights) do(ctx context.Context, key string, fetch func() (*answer, error)) (*answer, error) {
	f.mu.Lock()
	if f.m == nil {
		f.m = map[string]*flight{}
	}
	if fl, ok := f.m[key]; ok {
		f.mu.Unlock()
		select {
		case <-fl.done:
			return fl.a, fl.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	fl := &flight{done: make(chan struct{})}
	f.m[key] = fl
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.m, key)
		f.mu.Unlock()
		close(fl.done)
	}()
	fl.a, fl.err = fetch()
	return fl.a, fl.err
}
