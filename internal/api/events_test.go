package api

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mass-consensus/mass/internal/apijson"
	"github.com/mass-consensus/mass/internal/app"
	"github.com/mass-consensus/mass/internal/chain"
	"github.com/mass-consensus/mass/internal/node"
	"github.com/mass-consensus/mass/internal/protocol/epoch"
)

// openStream starts GET /v1/events and waits until the server subscribed.
func openStream(t *testing.T, ctx context.Context, f *fakeBackend, url string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "GET", url+"/v1/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		resp.Body.Close()
		t.Fatalf("status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	select {
	case <-f.subscribed:
	case <-time.After(5 * time.Second):
		t.Fatal("the server did not subscribe")
	}
	return resp
}

// sseEvent is one event of the stream.
type sseEvent struct {
	name, data string
}

// readEvent reads up to the next blank line; comments are returned as
// events named ":".
func readEvent(t *testing.T, r *bufio.Reader) sseEvent {
	t.Helper()
	var ev sseEvent
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the stream: %v (so far %+v)", err, ev)
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			return ev
		case strings.HasPrefix(line, ":"):
			ev.name, ev.data = ":", strings.TrimSpace(line[1:])
		case strings.HasPrefix(line, "event: "):
			ev.name = line[len("event: "):]
		case strings.HasPrefix(line, "data: "):
			if ev.data != "" {
				t.Fatalf("two data lines in one event: %q", line)
			}
			ev.data = line[len("data: "):]
		default:
			t.Fatalf("unexpected line %q", line)
		}
	}
}

// waitCancelled waits until the server released its subscription.
func waitCancelled(t *testing.T, f *fakeBackend) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		open, cancelled := f.subscriptions()
		if open == 0 && cancelled == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("subscription not released: %d open, %d cancelled", open, cancelled)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestEventsDeliverCommitsInOrder(t *testing.T) {
	f := newFake()
	s, ts := startServer(t, f, nil)
	s.pingEvery = time.Hour // no pings in between
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp := openStream(t, ctx, f, ts.URL)
	defer resp.Body.Close()

	tx1, tx2 := epoch.HashTx([]byte("a=1")), epoch.HashTx([]byte("b"))
	commits := []node.Commit{
		{Height: 5, Hash: chain.Hash{5}, Time: 1000, TxHashes: []epoch.TxHash{tx1, tx2},
			Results: []app.TxResult{{Code: 0}, {Code: 3, Log: "want key=value", Events: []app.Event{{Type: "x"}}}}},
		{Height: 6, Hash: chain.Hash{6}, Time: 1001}, // empty block, no results
	}
	for _, c := range commits {
		f.publish(c)
	}
	r := bufio.NewReader(resp.Body)
	for i, c := range commits {
		ev := readEvent(t, r)
		if ev.name != "commit" {
			t.Fatalf("event %d: name %q, want commit", i, ev.name)
		}
		var got apijson.CommitEvent
		dec := json.NewDecoder(strings.NewReader(ev.data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&got); err != nil {
			t.Fatalf("event %d: %v in %s", i, err, ev.data)
		}
		if got.Height != c.Height || got.Hash != c.Hash.String() || got.TimeMs != c.Time {
			t.Fatalf("event %d: got %s, want commit %d", i, ev.data, c.Height)
		}
		if len(got.Txs) != len(c.TxHashes) || len(got.Results) != len(c.Results) {
			t.Fatalf("event %d: %s has %d txs and %d results", i, ev.data, len(c.TxHashes), len(c.Results))
		}
		for j, h := range c.TxHashes {
			if got.Txs[j] != hex.EncodeToString(h[:]) {
				t.Fatalf("event %d: tx %d is %s", i, j, got.Txs[j])
			}
		}
		for j, res := range c.Results {
			if got.Results[j] != (apijson.TxResult{Code: res.Code, Log: res.Log}) {
				t.Fatalf("event %d: result %d is %+v", i, j, got.Results[j])
			}
		}
		if c.TxHashes == nil && !strings.Contains(ev.data, `"txs":[]`) {
			t.Fatalf("event %d: an empty block should have txs [], got %s", i, ev.data)
		}
	}

	// The client goes away: the handler ends and releases its subscription.
	cancel()
	waitCancelled(t, f)
}

func TestEventsPing(t *testing.T) {
	f := newFake()
	s, ts := startServer(t, f, nil)
	s.pingEvery = 10 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp := openStream(t, ctx, f, ts.URL)
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	for range 2 {
		if ev := readEvent(t, r); ev != (sseEvent{name: ":", data: "ping"}) {
			t.Fatalf("got %+v, want a ping comment", ev)
		}
	}
	cancel()
	waitCancelled(t, f)
}

// The node closes the subscription (it stopped): the stream ends.
func TestEventsEndWhenSubscriptionCloses(t *testing.T) {
	f := newFake()
	_, ts := startServer(t, f, nil)
	resp := openStream(t, context.Background(), f, ts.URL)
	defer resp.Body.Close()
	f.mu.Lock()
	for ch := range f.subs {
		close(ch)
		delete(f.subs, ch)
	}
	f.mu.Unlock()
	done := make(chan error, 1)
	go func() {
		_, err := io.ReadAll(resp.Body)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("stream ended with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the stream did not end")
	}
}

// Shutdown ends open streams, so http.Server.Shutdown does not wait on them,
// and refuses new ones.
func TestEventsEndOnShutdown(t *testing.T) {
	f := newFake()
	s := New(f, nil, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: time.Second, WriteTimeout: time.Minute}
	srv.RegisterOnShutdown(s.Shutdown)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	resp := openStream(t, context.Background(), f, "http://"+ln.Addr().String())
	defer resp.Body.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("http.Server.Shutdown: %v", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		t.Fatalf("Serve: %v", err)
	}
	if _, err := io.ReadAll(resp.Body); err != nil {
		t.Fatalf("the stream ended with %v", err)
	}
	waitCancelled(t, f)

	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/events", nil))
	resp2 := rec.Result()
	wantError(t, resp2, rec.Body.Bytes(), 503, "stopped")
	if open, cancelled := f.subscriptions(); open != 0 || cancelled != 1 {
		t.Fatalf("after shutdown: %d open, %d cancelled subscriptions", open, cancelled)
	}
}
