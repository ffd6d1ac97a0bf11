package transport

import (
	"bufio"
	"context"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// These tests play the remote end of a link by hand, to check what the
// conformance suite cannot make a well-behaved transport do.

const testTimeout = 20 * time.Second

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func newTestEndpoint(t *testing.T, dial DialFunc, peers ...NodeKey) *Endpoint {
	t.Helper()
	if dial == nil {
		dial = func(ctx context.Context, p Peer) (Stream, error) { <-ctx.Done(); return nil, ctx.Err() }
	}
	e, err := NewEndpoint(NodeKey{0}, Config{ReconnectMin: time.Millisecond, ReconnectMax: 10 * time.Millisecond}, dial)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	var set []Peer
	for _, k := range peers {
		set = append(set, Peer{Key: k})
	}
	if err := e.SetPeers(set); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestServeRefusesUnknownAndMalformed(t *testing.T) {
	member := NodeKey{1}
	e := newTestEndpoint(t, nil, member)

	near, far := net.Pipe()
	e.Serve(NodeKey{9}, far) // returns at once
	if _, err := near.Write([]byte{0}); err == nil {
		t.Error("stream of an unknown peer left open")
	}
	if n := e.Stats().Rejected[RejectUnknownPeer]; n != 1 {
		t.Errorf("rejected unknown-peer = %d, want 1", n)
	}

	near, far = net.Pipe()
	done := make(chan struct{})
	go func() { defer close(done); e.Serve(member, far) }()
	go func() { _, _ = near.Write([]byte("HTTP/1.1 200")) }()
	select {
	case <-done:
	case <-time.After(testTimeout):
		t.Fatal("Serve did not end on a bad header")
	}
	if n := e.Stats().Rejected[RejectMalformed]; n != 1 {
		t.Errorf("rejected malformed = %d, want 1", n)
	}
}

func TestServeDeliversAndAcknowledges(t *testing.T) {
	member := NodeKey{1}
	e := newTestEndpoint(t, nil, member)
	near, far := net.Pipe()
	go e.Serve(member, far)
	w := bufio.NewWriter(near)
	if err := writeStreamHeader(w, 5); err != nil {
		t.Fatal(err)
	}
	for _, seq := range []uint64{1, 2, 2, 1, 4} { // duplicates, and 3 forgotten
		if err := writeFrame(w, outFrame{seq: seq, tag: 7, data: []byte{byte(seq)}}); err != nil {
			t.Fatal(err)
		}
	}
	go func() { _ = w.Flush() }()
	for _, want := range []byte{1, 2, 4} {
		select {
		case m := <-e.Receive():
			if m.From != member || m.Tag != 7 || len(m.Data) != 1 || m.Data[0] != want {
				t.Fatalf("got %+v, want message %d", m, want)
			}
		case <-time.After(testTimeout):
			t.Fatal("no message")
		}
	}
	// Acknowledgements are cumulative; the last one covers everything.
	for {
		seq, err := readAck(near)
		if err != nil {
			t.Fatal(err)
		}
		if seq == 4 {
			break
		}
		if seq > 4 {
			t.Fatalf("ack %d beyond the last delivered", seq)
		}
	}
	if d := e.Stats().Duplicates; d != 2 {
		t.Errorf("duplicates = %d, want 2", d)
	}
	// A new stream in the same session is told at once what was delivered.
	near2, far2 := net.Pipe()
	go e.Serve(member, far2)
	if err := writeStreamHeader(near2, 5); err != nil {
		t.Fatal(err)
	}
	if seq, err := readAck(near2); err != nil || seq != 4 {
		t.Fatalf("first ack on a new stream: %d, %v; want 4", seq, err)
	}
	// The old stream was replaced: it is closed.
	if _, err := readAck(near); err == nil {
		t.Fatal("the replaced stream is still open")
	}
}

func TestAckBeyondSentIsMalformed(t *testing.T) {
	member := NodeKey{1}
	remote := make(chan net.Conn, 10)
	dial := func(ctx context.Context, p Peer) (Stream, error) {
		near, far := net.Pipe()
		remote <- far
		return near, nil
	}
	e := newTestEndpoint(t, dial, member)
	if err := e.Send(member, 1, []byte("x")); err != nil {
		t.Fatal(err)
	}
	c := <-remote
	r := bufio.NewReader(c)
	if session, err := readStreamHeader(r); err != nil || session == 0 {
		t.Fatalf("header: %d, %v", session, err)
	}
	if f, err := readFrame(r, 10); err != nil || f.seq != 1 {
		t.Fatalf("frame: %+v, %v", f, err)
	}
	if err := writeAck(c, 2); err != nil { // frame 2 was never sent
		t.Fatal(err)
	}
	waitFor(t, "the bad ack to be refused", func() bool { return e.Stats().Rejected[RejectMalformed] == 1 })
	if q := e.Stats().Peers[member].Queued; q != 1 {
		t.Fatalf("queued %d after a refused ack, want 1", q)
	}
	// The link reconnects and re-sends frame 1.
	c = <-remote
	r = bufio.NewReader(c)
	if _, err := readStreamHeader(r); err != nil {
		t.Fatal(err)
	}
	if f, err := readFrame(r, 10); err != nil || f.seq != 1 {
		t.Fatalf("re-sent frame: %+v, %v", f, err)
	}
	if err := writeAck(c, 1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the queue to empty", func() bool { return e.Stats().Peers[member].Queued == 0 })
	if s := e.Stats(); s.Resent != 1 || s.MessagesSent != 2 {
		t.Fatalf("resent %d, sent %d; want 1 and 2", s.Resent, s.MessagesSent)
	}
}

func TestConfigDefaultsAndLimits(t *testing.T) {
	c, err := Config{}.WithDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxMessageSize != 16<<20 || c.QueueSize != 4096 || c.InboundBuffer != 1024 || c.ReconnectMax != 5*time.Second {
		t.Fatalf("defaults: %+v", c)
	}
	for _, bad := range []Config{
		{MaxMessageSize: -1},
		{MaxMessageSize: MaxMessageSizeLimit + 1},
		{QueueSize: -1},
		{InboundBuffer: -1},
		{ReconnectMin: time.Second, ReconnectMax: time.Millisecond},
		{DialTimeout: -1},
	} {
		if _, err := bad.WithDefaults(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// TestRejectLogIsBounded: refusals are logged at most once per reason per
// period, the next line counting those in between.
func TestRejectLogIsBounded(t *testing.T) {
	var l rejectLog
	t0 := time.Unix(1000, 0)
	const every = 10 * time.Second
	type step struct {
		reason     RejectReason
		at         time.Duration
		write      bool
		suppressed uint64
	}
	for i, s := range []step{
		{RejectGarbage, 0, true, 0},
		{RejectGarbage, time.Second, false, 0},
		{RejectHandshake, time.Second, true, 0}, // another reason has its own line
		{RejectGarbage, 9 * time.Second, false, 0},
		{RejectGarbage, every, true, 2},
		{RejectGarbage, every + time.Second, false, 0},
		{RejectGarbage, 3 * every, true, 1},
		{RejectHandshake, 3 * every, true, 0},
	} {
		write, suppressed := l.note(s.reason, t0.Add(s.at), every)
		if write != s.write || suppressed != s.suppressed {
			t.Fatalf("step %d (%s at %v): write %v suppressed %d, want %v %d", i, s.reason, s.at, write, suppressed, s.write, s.suppressed)
		}
	}
}

// countLines counts the records logged.
type countLines struct{ n atomic.Int64 }

func (c *countLines) Enabled(context.Context, slog.Level) bool { return true }
func (c *countLines) Handle(context.Context, slog.Record) error {
	c.n.Add(1)
	return nil
}
func (c *countLines) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *countLines) WithGroup(string) slog.Handler      { return c }

// TestRejectFloodLogsOnce: a thousand refusals are all counted, and logged
// once.
func TestRejectFloodLogsOnce(t *testing.T) {
	lines := &countLines{}
	e, err := NewEndpoint(NodeKey{0}, Config{Logger: slog.New(lines), RejectLogEvery: time.Hour}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for _, r := range RejectReasons {
		if n, ok := e.Stats().Rejected[r]; !ok || n != 0 {
			t.Fatalf("a fresh endpoint's count of %s: %d, %v", r, n, ok)
		}
	}
	for range 1000 {
		e.Reject(RejectGarbage, "127.0.0.1:1")
	}
	if n := e.Stats().Rejected[RejectGarbage]; n != 1000 {
		t.Fatalf("counted %d, want 1000", n)
	}
	if n := lines.n.Load(); n != 1 {
		t.Fatalf("%d lines logged, want 1", n)
	}
}
