package api

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/mass-consensus/mass/internal/node"
	"github.com/mass-consensus/mass/internal/protocol/epoch"
	"github.com/mass-consensus/mass/internal/wire"
)

// The tests of this file attack a server set up as the daemon sets it up
// (HTTPServer, Listener), with short limits, on 127.0.0.1.

// startLimited serves the API of f with the limits; it returns the server
// and its address.
func startLimited(t *testing.T, f *fakeBackend, l Limits) (*Server, string) {
	t.Helper()
	s := New(f, nil, nil)
	if err := s.SetLimits(l); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := s.HTTPServer()
	go srv.Serve(s.Listener(ln))
	t.Cleanup(func() { _ = srv.Close() })
	return s, ln.Addr().String()
}

// dial opens a raw connection to addr, closed at the end of the test.
func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitClosed waits, until deadline, for the server to close c: a read that
// ends in EOF or an error other than the client's own timeout. What the
// server wrote before closing is skipped.
func waitClosed(c net.Conn, deadline time.Time) error {
	_ = c.SetReadDeadline(deadline)
	_, err := io.Copy(io.Discard, c)
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		return errors.New("still open")
	}
	return nil
}

// waitUntil polls cond until it holds, or fails the test after 10 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// closedWithin checks that the server closes every connection before
// deadline.
func closedWithin(t *testing.T, conns []net.Conn, deadline time.Time) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, len(conns))
	for i, c := range conns {
		wg.Go(func() { errs[i] = waitClosed(c, deadline) })
	}
	wg.Wait()
	open := 0
	for _, err := range errs {
		if err != nil {
			open++
		}
	}
	if open > 0 {
		t.Fatalf("%d of %d connections still open", open, len(conns))
	}
}

// TestSlowBodiesAreCut: 50 clients drip a 1,000,000-byte body at a byte
// every 50 ms; the server closes every connection once its read timeout
// has passed.
func TestSlowBodiesAreCut(t *testing.T) {
	s, addr := startLimited(t, newFake(), Limits{ReadHeaderTimeout: 200 * time.Millisecond, ReadTimeout: 300 * time.Millisecond})
	var conns []net.Conn
	for range 50 {
		c := dial(t, addr)
		fmt.Fprintf(c, "POST /v1/txs/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000000\r\n\r\n")
		conns = append(conns, c)
		go func() {
			for {
				if _, err := c.Write([]byte{0}); err != nil {
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
		}()
	}
	closedWithin(t, conns, time.Now().Add(10*time.Second))
	waitUntil(t, "the server to release the connections", func() bool { return s.Usage().Conns == 0 })
}

// TestSlowHeadersAreCut: clients that never finish their headers are cut
// off after the header timeout.
func TestSlowHeadersAreCut(t *testing.T) {
	_, addr := startLimited(t, newFake(), Limits{ReadHeaderTimeout: 200 * time.Millisecond})
	var conns []net.Conn
	for range 50 {
		c := dial(t, addr)
		fmt.Fprintf(c, "GET /v1/status HTTP/1.1\r\nHost: x\r\n")
		conns = append(conns, c)
	}
	closedWithin(t, conns, time.Now().Add(10*time.Second))
}

// TestIdleKeepAlivesAreClosed: 50 clients make one request each and keep
// the connection idle; the server closes them after its idle timeout.
func TestIdleKeepAlivesAreClosed(t *testing.T) {
	_, addr := startLimited(t, newFake(), Limits{IdleTimeout: 200 * time.Millisecond})
	var conns []net.Conn
	for range 50 {
		c := dial(t, addr)
		fmt.Fprintf(c, "GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Close {
			t.Fatalf("status %d, close %v: not a kept-alive connection", resp.StatusCode, resp.Close)
		}
		conns = append(conns, c)
	}
	closedWithin(t, conns, time.Now().Add(10*time.Second))
}

// TestConnectionsBeyondMaxAreRefused: with 8 connections open, a ninth is
// answered 503 with Retry-After and closed; once one of the 8 closes, a
// new one is served.
func TestConnectionsBeyondMaxAreRefused(t *testing.T) {
	const max = 8
	s, addr := startLimited(t, newFake(), Limits{MaxConns: max})
	var conns []net.Conn
	for range max {
		c := dial(t, addr)
		fmt.Fprintf(c, "GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("connection %d: %v %v", len(conns), resp, err)
		}
		resp.Body.Close()
		conns = append(conns, c)
	}
	extra := dial(t, addr)
	resp, err := http.ReadResponse(bufio.NewReader(extra), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), `"busy"`) {
		t.Fatalf("connection beyond the limit: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	if err := waitClosed(extra, time.Now().Add(5*time.Second)); err != nil {
		t.Fatal("the refused connection stays open")
	}
	if u := s.Usage(); u.Conns != max || u.ConnsRefused != 1 {
		t.Fatalf("usage %+v, want %d open and 1 refused", u, max)
	}
	conns[0].Close()
	waitUntil(t, "the closed connection's slot", func() bool { return s.Usage().Conns == max-1 })
	c := dial(t, addr)
	fmt.Fprintf(c, "GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("a connection after one closed: %v %v", resp, err)
	}
}

// batchBody is a POST /v1/txs/batch body of exactly size bytes: one
// transaction.
func batchBody(size int) []byte {
	w := wire.NewWriter(size)
	w.U32(1)
	w.Bytes(bytes.Repeat([]byte{'x'}, size-8))
	return w.Finish()
}

// TestBodyBudget: 16 clients each send half of a 1 MiB batch and stall,
// which fills a 16 MiB budget; a 17th batch, with or without
// Content-Length, is refused at once with 503 and Retry-After, without
// the bytes held ever passing the budget. Once the 16 finish, the budget
// is free again.
func TestBodyBudget(t *testing.T) {
	const size, budgetSize = 1 << 20, 16 << 20
	f := newFake()
	s, addr := startLimited(t, f, Limits{BodyBudget: budgetSize})
	body := batchBody(size)
	var stalled []net.Conn
	for range budgetSize / size {
		c := dial(t, addr)
		fmt.Fprintf(c, "POST /v1/txs/batch HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", size)
		if _, err := c.Write(body[:size/2]); err != nil {
			t.Fatal(err)
		}
		stalled = append(stalled, c)
	}
	waitUntil(t, "the stalled bodies to hold the budget", func() bool { return s.Usage().BodyBytes == budgetSize })

	url := "http://" + addr + "/v1/txs/batch"
	resp, answer := do(t, "POST", url, "application/octet-stream", body)
	wantError(t, resp, answer, http.StatusServiceUnavailable, codeBusy)
	if resp.Header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
	// Without Content-Length (a chunked body).
	resp, err := http.Post(url, "application/octet-stream", io.MultiReader(bytes.NewReader(body)))
	if err != nil {
		t.Fatal(err)
	}
	answer, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("chunked batch with the budget spent: %d %s", resp.StatusCode, answer)
	}
	// So is a single transaction.
	resp, answer = do(t, "POST", "http://"+addr+"/v1/txs", "", []byte("a=1"))
	wantError(t, resp, answer, http.StatusServiceUnavailable, codeBusy)

	for _, c := range stalled {
		if _, err := c.Write(body[size/2:]); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("a stalled batch, finished: %v %v", resp, err)
		}
		resp.Body.Close()
	}
	waitUntil(t, "the budget to be free", func() bool { return s.Usage().BodyBytes == 0 })
	if _, peak := s.budget.usage(); peak > budgetSize {
		t.Fatalf("the bodies held %d bytes at once, over the budget of %d", peak, budgetSize)
	}
	if n := f.submitCount(); n != budgetSize/size {
		t.Fatalf("%d transactions submitted, want %d", n, budgetSize/size)
	}
	// With the budget free, a chunked batch goes through.
	resp, err = http.Post(url, "application/octet-stream", io.MultiReader(bytes.NewReader(body)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("chunked batch: %d", resp.StatusCode)
	}
}

// TestBodyLimits: a body over the route's limit is refused (413), before it
// is read when its Content-Length says so, and as it is read otherwise; a
// body shorter than its Content-Length is malformed; none of them keeps
// budget.
func TestBodyLimits(t *testing.T) {
	s, addr := startLimited(t, newFake(), Limits{})
	url := "http://" + addr
	big := bytes.Repeat([]byte{'x'}, MaxBodySize+1)
	resp, answer := do(t, "POST", url+"/v1/txs", "", big)
	wantError(t, resp, answer, http.StatusRequestEntityTooLarge, codeTooLarge)
	resp, err := http.Post(url+"/v1/txs", "", io.MultiReader(bytes.NewReader(big)))
	if err != nil {
		t.Fatal(err)
	}
	answer, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	wantError(t, resp, answer, http.StatusRequestEntityTooLarge, codeTooLarge)
	// A Content-Length over the batch limit: refused with nothing read.
	c := dial(t, addr)
	fmt.Fprintf(c, "POST /v1/txs/batch HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", MaxBatchBody+1)
	r, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || r.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("Content-Length over the limit: %v %v", r, err)
	}
	// A body shorter than it says.
	c = dial(t, addr)
	fmt.Fprintf(c, "POST /v1/txs HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
	c.(*net.TCPConn).CloseWrite()
	r, err = http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || r.StatusCode != http.StatusBadRequest {
		t.Fatalf("short body: %v %v", r, err)
	}
	waitUntil(t, "the budget to be free", func() bool { return s.Usage().BodyBytes == 0 })
}

// TestEventStreamOutlivesTimeouts: a subscriber that reads keeps its
// stream well past the server's read and write timeouts.
func TestEventStreamOutlivesTimeouts(t *testing.T) {
	f := newFake()
	const timeout = 100 * time.Millisecond
	s, addr := startLimited(t, f, Limits{ReadTimeout: timeout, WriteTimeout: timeout, ReadHeaderTimeout: timeout})
	s.pingEvery = 10 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp := openStream(t, ctx, f, "http://"+addr)
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	start := time.Now()
	for time.Since(start) < 5*timeout {
		if ev := readEvent(t, r); ev.name != ":" {
			t.Fatalf("got %+v, want a ping", ev)
		}
	}
	f.publish(node.Commit{Height: 7, TxHashes: []epoch.TxHash{{1}}})
	for {
		ev := readEvent(t, r)
		if ev.name == "commit" {
			if !strings.Contains(ev.data, `"height":7`) {
				t.Fatalf("commit %s", ev.data)
			}
			break
		}
	}
}

// TestStalledEventReaderIsCut: a subscriber that stops reading while
// commits flow is cut off once a write has waited the event write timeout.
func TestStalledEventReaderIsCut(t *testing.T) {
	f := newFake()
	s, addr := startLimited(t, f, Limits{EventWriteTimeout: 200 * time.Millisecond})
	c := dial(t, addr)
	_ = c.(*net.TCPConn).SetReadBuffer(4 << 10)
	fmt.Fprintf(c, "GET /v1/events HTTP/1.1\r\nHost: x\r\n\r\n")
	select {
	case <-f.subscribed:
	case <-time.After(5 * time.Second):
		t.Fatal("the server did not subscribe")
	}
	big := node.Commit{TxHashes: make([]epoch.TxHash, 1000)} // about 66 kB of JSON each
	deadline := time.Now().Add(20 * time.Second)
	for h := uint64(1); ; h++ {
		if _, cancelled := f.subscriptions(); cancelled > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the stalled subscriber is still served")
		}
		big.Height = h
		f.publish(big)
		time.Sleep(time.Millisecond)
	}
	// The server closed its end: the connection's slot is free (the
	// client, which reads nothing, may not see it for a while).
	waitUntil(t, "the stalled subscriber's connection to close", func() bool { return s.Usage().Conns == 0 })
}

func TestLimitsValidated(t *testing.T) {
	for _, l := range []Limits{
		{ReadTimeout: -1}, {EventWriteTimeout: -time.Second}, {MaxConns: -1}, {BodyBudget: MaxBodySize - 1},
	} {
		if _, err := l.WithDefaults(); err == nil {
			t.Errorf("%+v accepted", l)
		}
	}
	l, err := Limits{}.WithDefaults()
	if err != nil || l.MaxConns != DefaultMaxConns || l.BodyBudget != DefaultBodyBudget || l.IdleTimeout != DefaultIdleTimeout {
		t.Fatalf("defaults %+v %v", l, err)
	}
}

// retainer is a backend that keeps the transactions it is given, as the
// node keeps those it takes.
type retainer struct {
	*fakeBackend
	kept [][]byte
}

func (r *retainer) SubmitBatch(ctx context.Context, txs [][]byte) []error {
	r.kept = append(r.kept, txs...)
	return make([]error, len(txs))
}

// TestBatchTransactionsDoNotPinTheBody: each transaction of a batch the
// node takes is a copy of its own, not a slice of the request's body
// (which would keep all of it in memory, out of the budget, until the
// last of them is committed).
func TestBatchTransactionsDoNotPinTheBody(t *testing.T) {
	b := &retainer{fakeBackend: newFake()}
	srv := httptest.NewServer(New(b, nil, nil))
	defer srv.Close()
	w := wire.NewWriter(64)
	w.U32(3)
	for _, tx := range []string{"a=1", "b=2", "c=3"} {
		w.Bytes([]byte(tx))
	}
	resp, err := http.Post(srv.URL+"/v1/txs/batch", "application/octet-stream", bytes.NewReader(w.Finish()))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(b.kept) != 3 {
		t.Fatalf("%d transactions submitted", len(b.kept))
	}
	// A slice of the body reaches, through its capacity, the
	// transactions after it.
	for i, tx := range b.kept[:2] {
		start := uintptr(unsafe.Pointer(unsafe.SliceData(tx)))
		next := uintptr(unsafe.Pointer(unsafe.SliceData(b.kept[i+1])))
		if next >= start && next < start+uintptr(cap(tx)) {
			t.Fatalf("transaction %d shares its memory with the next: a slice of the body", i)
		}
	}
}

// TestLargeHeadersRefused: headers over MaxHeaderBytes are refused (431)
// before any handler runs.
func TestLargeHeadersRefused(t *testing.T) {
	_, addr := startLimited(t, newFake(), Limits{})
	c := dial(t, addr)
	fmt.Fprintf(c, "GET /v1/status HTTP/1.1\r\nHost: x\r\nX-Junk: %s\r\n\r\n", strings.Repeat("j", 2*MaxHeaderBytes))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("headers of %d bytes: %v %v", 2*MaxHeaderBytes, resp, err)
	}
}
