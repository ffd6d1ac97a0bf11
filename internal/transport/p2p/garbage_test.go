package p2p_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/mass-consensus/mass/internal/transport"
	"github.com/mass-consensus/mass/internal/transport/p2p"
	"github.com/mass-consensus/mass/internal/transport/transporttest"
)

// lines records the log lines of a test.
type lines struct {
	mu   sync.Mutex
	msgs []string
}

func (l *lines) Enabled(context.Context, slog.Level) bool { return true }
func (l *lines) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.String())
		return true
	})
	l.mu.Lock()
	l.msgs = append(l.msgs, b.String())
	l.mu.Unlock()
	return nil
}
func (l *lines) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *lines) WithGroup(string) slog.Handler      { return l }

func (l *lines) containing(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.msgs {
		if strings.Contains(m, s) {
			n++
		}
	}
	return n
}

// tcpAddr is the host:port of the transport's TCP listener.
func tcpAddr(t *testing.T, tr *p2p.Transport) string {
	t.Helper()
	for _, a := range tr.Host().Addrs() {
		if _, err := a.ValueForProtocol(ma.P_TCP); err != nil {
			continue
		}
		na, err := manet.ToNetAddr(a)
		if err != nil {
			t.Fatal(err)
		}
		return na.String()
	}
	t.Fatal("no TCP address")
	return ""
}

// delimited is a multistream-select message: its length as a uvarint,
// then the text and a newline.
func delimited(s string) []byte {
	return append(binary.AppendUvarint(nil, uint64(len(s)+1)), s+"\n"...)
}

// attacked starts a transport on 127.0.0.1 (TCP) that logs its refusals,
// and returns it with its log and its TCP address.
func attacked(t *testing.T) (*p2p.Transport, *lines, string) {
	t.Helper()
	log := &lines{}
	cfg := transporttest.TestConfig()
	cfg.Logger, cfg.RejectLogEvery = slog.New(log), time.Hour
	tr := newTransport(t, cfg, listenTCP)
	return tr, log, tcpAddr(t, tr)
}

func dialRaw(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, transporttest.Timeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(transporttest.Timeout))
	return c
}

// TestGarbageIsCounted writes raw bytes (an HTTP request and some more,
// enough for the node to read a whole first message of what it takes for
// multistream-select) to the p2p port, many times: each is counted as
// garbage, and logged once.
func TestGarbageIsCounted(t *testing.T) {
	tr, log, addr := attacked(t)
	const attempts = 5
	for range attempts {
		c := dialRaw(t, addr)
		if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n" + strings.Repeat("x", 200))); err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, c) // until the node hangs up
	}
	transporttest.Eventually(t, "the garbage to be counted", func() bool {
		return tr.Stats().Rejected[transport.RejectGarbage] == attempts
	})
	if n := log.containing("reason=garbage"); n != 1 {
		t.Fatalf("%d log lines for %d pieces of garbage, want 1", n, attempts)
	}
	if n := tr.Stats().Rejected[transport.RejectHandshake]; n != 0 {
		t.Fatalf("garbage counted as %d failed handshakes", n)
	}
}

// TestBadHandshakeIsCounted agrees on Noise, then sends a handshake
// message too short to hold a key.
func TestBadHandshakeIsCounted(t *testing.T) {
	tr, log, addr := attacked(t)
	c := dialRaw(t, addr)
	var hello []byte
	hello = append(hello, delimited("/multistream/1.0.0")...)
	hello = append(hello, delimited("/noise")...)
	if _, err := c.Write(hello); err != nil {
		t.Fatal(err)
	}
	// The node answers with the same two messages once it agrees.
	answer := make([]byte, len(hello))
	if _, err := io.ReadFull(c, answer); err != nil || !bytes.Equal(answer, hello) {
		t.Fatalf("negotiation answered %q, %v", answer, err)
	}
	if _, err := c.Write([]byte{0, 5, 1, 2, 3, 4, 5}); err != nil { // a 5-byte Noise message
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, c)
	transporttest.Eventually(t, "the bad handshake to be counted", func() bool {
		return tr.Stats().Rejected[transport.RejectHandshake] == 1
	})
	if n := log.containing("reason=handshake"); n != 1 {
		t.Fatalf("%d log lines for the bad handshake, want 1", n)
	}
	if n := tr.Stats().Rejected[transport.RejectGarbage]; n != 0 {
		t.Fatalf("a bad handshake counted as %d pieces of garbage", n)
	}
}

// TestGoodConnectionsAreNotCounted: links between members, and an
// outsider's connection that the gater refuses after a good handshake,
// count as neither garbage nor failed handshakes.
func TestGoodConnectionsAreNotCounted(t *testing.T) {
	net := newNetwork(listenTCP)
	a, b := net.NewNode(t, transporttest.TestConfig()), net.NewNode(t, transporttest.TestConfig())
	transporttest.SetPeers(t, a, b)
	for i := range 2 {
		if err := a.Send(b.Key(), 1, []byte("hi")); err != nil {
			t.Fatal(err)
		}
		if err := b.Send(a.Key(), 1, []byte("hi")); err != nil {
			t.Fatal(err)
		}
		transporttest.Recv(t, a)
		transporttest.Recv(t, b)
		if i == 0 {
			net.Drop(t, a, b) // and reconnect
		}
	}
	for _, n := range []transporttest.Node{a, b} {
		st := n.Stats()
		if st.Rejected[transport.RejectGarbage]+st.Rejected[transport.RejectHandshake] != 0 {
			t.Fatalf("%v counted %v", n.Key(), st.Rejected)
		}
	}
}
