package gateway

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestCacheIsBounded: the cache never holds more bytes than its bound,
// drops the least recently used first, and keeps no answer over an
// eighth of the bound.
func TestCacheIsBounded(t *testing.T) {
	c := newCache(4000)
	ans := func(n int) *answer { return &answer{status: 200, full: make([]byte, n), bare: make([]byte, n)} }
	for i := range 200 {
		c.put(fmt.Sprint("k", i), ans(100))
		if _, ok := c.get("k0"); !ok && i < 10 {
			t.Fatalf("k0 dropped after %d puts although used", i)
		}
		if info := c.info(); info.Bytes > 4000 {
			t.Fatalf("%d bytes in a cache of 4000", info.Bytes)
		}
	}
	if _, ok := c.get("k0"); !ok {
		t.Fatal("the most used entry was dropped")
	}
	if _, ok := c.get("k1"); ok {
		t.Fatal("an old, unused entry was kept")
	}
	if _, ok := c.get("k199"); !ok {
		t.Fatal("the newest entry was dropped")
	}
	c.put("big", ans(400))
	if _, ok := c.get("big"); ok {
		t.Fatal("an answer over an eighth of the bound was kept")
	}
	if off := newCache(-1); true {
		off.put("x", ans(1))
		if _, ok := off.get("x"); ok {
			t.Fatal("a disabled cache kept an answer")
		}
	}
}

// counting counts the requests a handler serves, by path.
type counting struct {
	next http.Handler
	mu   sync.Mutex
	n    map[string]int
}

func (c *counting) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	c.n[r.URL.Path]++
	c.mu.Unlock()
	c.next.ServeHTTP(w, r)
}

func (c *counting) count(path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[path]
}

// TestCachedAnswers: a verified answer is served again from the cache
// without asking a node, with or without its proofs; concurrent reads of
// one answer ask once; the cache stays within its bound.
func TestCachedAnswers(t *testing.T) {
	f := newFixture(t, "honest")
	cnt := &counting{next: f.node().Config.Handler, n: map[string]int{}}
	srv := httptest.NewServer(cnt)
	defer srv.Close()
	const bound = 256 << 10
	g, err := New(Config{Genesis: f.genesis, Nodes: []string{srv.URL}, Poll: time.Hour, CacheBytes: bound, App: http.NotFoundHandler()})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	waitHeight(t, g, 4)
	var wg sync.WaitGroup
	var bad atomic.Int32
	for range 8 {
		wg.Go(func() {
			if code, _ := get(t, g, "/v1/proposals/1"); code != http.StatusOK {
				bad.Add(1)
			}
		})
	}
	wg.Wait()
	if bad.Load() > 0 {
		t.Fatal("a concurrent read failed")
	}
	_, bare := get(t, g, "/v1/proposals/1")
	_, full := get(t, g, "/v1/proposals/1?prove=1")
	if n := cnt.count("/v1/proposals/1"); n != 1 {
		t.Fatalf("the node was asked %d times for one answer", n)
	}
	if strings.Contains(bare, `"proofs"`) || !strings.Contains(full, `"proofs"`) {
		t.Fatalf("bare %s\nfull %s", bare, full)
	}
	for _, p := range append(accountPaths(f), readPaths...) {
		for h := 1; h <= 4; h++ {
			get(t, g, withQuery(p, fmt.Sprint("height=", h)))
		}
	}
	if info := g.Status().Gateway.Cache; info.Bytes > bound || info.Entries == 0 || info.Hits == 0 {
		t.Fatalf("cache %+v", info)
	}
}

// TestCloseStopsEverything: Close ends the following, cancels the reads
// in flight (a node that never answers does not hold it) and leaves no
// goroutine of the gateway behind.
func TestCloseStopsEverything(t *testing.T) {
	f := newFixture(t, "honest")
	api := f.node().Config.Handler
	entered := make(chan struct{}, 1)
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/status" || r.URL.Path == "/v1/headers" {
			api.ServeHTTP(w, r)
			return
		}
		select {
		case entered <- struct{}{}:
		default:
		}
		<-r.Context().Done()
	}))
	defer hang.Close()
	dead := deadAddress(t)
	before := runtime.NumGoroutine()

	g, err := New(Config{Genesis: f.genesis, Nodes: []string{hang.URL, dead}, Poll: 5 * time.Millisecond, Timeout: 30 * time.Second, App: http.NotFoundHandler()})
	if err != nil {
		t.Fatal(err)
	}
	waitHeight(t, g, 4)
	done := make(chan int)
	go func() {
		code, _ := get(t, g, "/v1/organization")
		done <- code
	}()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the read never reached the node")
	}
	start := time.Now()
	g.Close()
	select {
	case code := <-done:
		if code == http.StatusOK {
			t.Fatal("a read answered 200 from a node that never answers")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end the read in flight")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Close took %v", d)
	}
	if code, body := get(t, g, "/v1/status"); code != http.StatusServiceUnavailable {
		t.Fatalf("after Close: %d %s", code, body)
	}
	if n := goroutines(before); n > before {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines before the gateway, %d after Close:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}
