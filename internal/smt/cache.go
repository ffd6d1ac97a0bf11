package smt

import (
	"encoding/binary"
	"sync"
)

// DefaultCacheNodes is the node cache's size when Options.CacheNodes is 0:
// 32768 pages of at most about 2 KiB each (a page holds up to 31 positions
// of 56 bytes and 16 keys), some 70 MiB at most. At 10^6 keys it holds the
// top 16 levels of the tree and part of the next four.
const DefaultCacheNodes = 1 << 15

// cacheShards splits the cache so that concurrent readers rarely wait on
// each other; a power of two.
const cacheShards = 16

// nodeCache is a bounded cache of verified nodes, keyed by their store key.
// Each shard evicts with the CLOCK algorithm: a hit sets an entry's
// reference bit; eviction sweeps a hand over the entries, clearing set bits
// and replacing the first entry whose bit is clear. Nodes are immutable, so
// an entry never goes stale; a pruned node merely ages out.
type nodeCache struct {
	shards [cacheShards]cacheShard
}

type cacheShard struct {
	mu    sync.Mutex
	index map[nodeKey]int
	ents  []cacheEntry
	limit int
	hand  int
}

type cacheEntry struct {
	key  nodeKey
	node *cnode
	used bool
}

func newNodeCache(size int) *nodeCache {
	per := max(size/cacheShards, 1)
	c := &nodeCache{}
	for i := range c.shards {
		c.shards[i].index = make(map[nodeKey]int, per)
		c.shards[i].limit = per
	}
	return c
}

func (c *nodeCache) shard(k nodeKey) *cacheShard {
	h := k.version*0x9E3779B97F4A7C15 ^ binary.BigEndian.Uint64(k.path[:8]) ^ uint64(k.depth)<<56
	h ^= h >> 29
	h *= 0xBF58476D1CE4E5B9
	h ^= h >> 32
	return &c.shards[h&(cacheShards-1)]
}

func (c *nodeCache) get(k nodeKey) *cnode {
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.index[k]
	if !ok {
		return nil
	}
	s.ents[i].used = true
	return s.ents[i].node
}

func (c *nodeCache) put(k nodeKey, n *cnode) {
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if i, ok := s.index[k]; ok {
		s.ents[i].node = n
		return
	}
	if len(s.ents) < s.limit {
		s.index[k] = len(s.ents)
		s.ents = append(s.ents, cacheEntry{key: k, node: n})
		return
	}
	for s.ents[s.hand].used {
		s.ents[s.hand].used = false
		s.hand = (s.hand + 1) % len(s.ents)
	}
	delete(s.index, s.ents[s.hand].key)
	s.ents[s.hand] = cacheEntry{key: k, node: n}
	s.index[k] = s.hand
	s.hand = (s.hand + 1) % len(s.ents)
}

// len returns the number of cached nodes.
func (c *nodeCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += len(s.ents)
		s.mu.Unlock()
	}
	return n
}
