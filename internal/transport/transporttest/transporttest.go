// Package transporttest is the conformance suite every transport.Transport
// must pass (transport/mem and transport/p2p run it): ordered delivery
// between two and three nodes, the errors of Send, refusal of keys outside
// the node set, re-sending after a dropped connection, Forget, oversized
// frames, and a Close that stops every goroutine.
//
// Tests wait on channels and counters with a generous timeout that only
// fails the test; none sleeps and hopes.
package transporttest

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"os"
	"runtime"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/mass-consensus/mass/internal/transport"
)

// Timeout bounds every wait of the suite. It is generous: a wait that times
// out fails the test, and a passing test never waits for it.
const Timeout = 20 * time.Second

// Node is a transport under test and its entry in a node set.
type Node struct {
	transport.Transport
	Peer transport.Peer
}

// Key returns the node's key.
func (n Node) Key() transport.NodeKey { return n.Peer.Key }

// Network makes nodes of one kind of transport and cuts their connections.
type Network interface {
	// NewNode starts a node with a fresh key and the given limits, with an
	// empty node set. The network closes it when the test ends.
	NewNode(t testing.TB, cfg transport.Config) Node
	// Drop closes every connection between a and b at once; the links must
	// reconnect by themselves.
	Drop(t testing.TB, a, b Node)
}

// NewKey returns a fresh ed25519 key pair as a node key and private key.
func NewKey(t testing.TB) (transport.NodeKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return transport.NodeKey(pub), priv
}

// TestConfig is a Config with short reconnection delays, for tests.
func TestConfig() transport.Config {
	return transport.Config{ReconnectMin: 5 * time.Millisecond, ReconnectMax: 100 * time.Millisecond}
}

// Run runs the conformance suite; newNetwork makes an empty network for one
// test.
func Run(t *testing.T, newNetwork func(t *testing.T) Network) {
	tests := []struct {
		name string
		run  func(t *testing.T, net Network)
	}{
		{"TwoNodesInOrder", testTwoNodesInOrder},
		{"ThreeNodesInOrder", testThreeNodesInOrder},
		{"SendErrors", testSendErrors},
		{"QueueFull", testQueueFull},
		{"OutsiderNeverDelivered", testOutsiderNeverDelivered},
		{"RemovedPeer", testRemovedPeer},
		{"ResendAfterDrop", testResendAfterDrop},
		{"Forget", testForget},
		{"OversizedFrame", testOversizedFrame},
		{"Backpressure", testBackpressure},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newNetwork(t)) })
	}
	t.Run("CloseStopsEverything", func(t *testing.T) { testCloseStopsEverything(t, newNetwork) })
}

// SetPeers gives each node the node set made of all of them.
func SetPeers(t testing.TB, nodes ...Node) {
	t.Helper()
	var set []transport.Peer
	for _, n := range nodes {
		set = append(set, n.Peer)
	}
	for _, n := range nodes {
		if err := n.SetPeers(set); err != nil {
			t.Fatalf("SetPeers: %v", err)
		}
	}
}

// Message returns the i-th test message from a sender: its index, then
// filler so that sizes vary.
func Message(from transport.NodeKey, i int) []byte {
	b := make([]byte, 12+(i*37)%300)
	copy(b, from[:4])
	binary.BigEndian.PutUint64(b[4:], uint64(i))
	for j := 12; j < len(b); j++ {
		b[j] = byte(i + j)
	}
	return b
}

// Recv returns the next inbound message of n, failing the test after
// Timeout or if the channel is closed.
func Recv(t testing.TB, n Node) transport.Inbound {
	t.Helper()
	select {
	case m, ok := <-n.Receive():
		if !ok {
			t.Fatal("Receive channel closed")
		}
		return m
	case <-time.After(Timeout):
		t.Fatalf("no message within %v", Timeout)
	}
	panic("unreachable")
}

// Eventually polls cond until it holds, failing the test after Timeout.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", Timeout, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func mustSend(t testing.TB, from Node, to Node, tag uint64, msg []byte) {
	t.Helper()
	if err := from.Send(to.Key(), tag, msg); err != nil {
		t.Fatalf("Send: %v", err)
	}
}

// expectFrom receives count messages at n and checks that, per sender, they
// are that sender's messages first, first+1, … in order.
func expectFrom(t testing.TB, n Node, first map[transport.NodeKey]int, count int) {
	t.Helper()
	next := make(map[transport.NodeKey]int, len(first))
	for k, i := range first {
		next[k] = i
	}
	for range count {
		m := Recv(t, n)
		i, ok := next[m.From]
		if !ok {
			t.Fatalf("message from unexpected sender %v", m.From)
		}
		if want := Message(m.From, i); !bytes.Equal(m.Data, want) {
			t.Fatalf("from %v: got message %x…, want message %d", m.From, m.Data[:min(12, len(m.Data))], i)
		}
		next[m.From] = i + 1
	}
}

func testTwoNodesInOrder(t *testing.T, net Network) {
	a, b := net.NewNode(t, TestConfig()), net.NewNode(t, TestConfig())
	SetPeers(t, a, b)
	const n = 500
	total := uint64(0)
	for i := range n {
		total += uint64(len(Message(a.Key(), i)))
		mustSend(t, a, b, uint64(i/50), Message(a.Key(), i))
		mustSend(t, b, a, uint64(i/50), Message(b.Key(), i))
	}
	expectFrom(t, b, map[transport.NodeKey]int{a.Key(): 0}, n)
	expectFrom(t, a, map[transport.NodeKey]int{b.Key(): 0}, n)

	// A message of the largest allowed size, and an empty one.
	big := bytes.Repeat([]byte{0xab}, 1<<20)
	total += uint64(len(big))
	mustSend(t, a, b, 99, big)
	mustSend(t, a, b, 100, nil)
	if m := Recv(t, b); !bytes.Equal(m.Data, big) || m.Tag != 99 || m.From != a.Key() {
		t.Fatalf("1 MiB message: got %d bytes, tag %d", len(m.Data), m.Tag)
	}
	if m := Recv(t, b); len(m.Data) != 0 || m.Tag != 100 {
		t.Fatalf("empty message: got %d bytes, tag %d", len(m.Data), m.Tag)
	}

	Eventually(t, "acknowledgement of every message", func() bool {
		return a.Stats().Peers[b.Key()].Queued == 0 && b.Stats().Peers[a.Key()].Queued == 0
	})
	sa, sb := a.Stats(), b.Stats()
	if sb.MessagesReceived != n+2 || sb.Peers[a.Key()].MessagesReceived != n+2 {
		t.Errorf("b received %d messages (%d from a), want %d", sb.MessagesReceived, sb.Peers[a.Key()].MessagesReceived, n+2)
	}
	if sa.MessagesSent < n+2 || sa.BytesSent < total || sb.BytesReceived != total {
		t.Errorf("a sent %d messages, %d bytes; b received %d bytes; want %d bytes", sa.MessagesSent, sa.BytesSent, sb.BytesReceived, total)
	}
	if !sa.Peers[b.Key()].Connected {
		t.Errorf("a's link to b not connected after traffic")
	}
}

func testThreeNodesInOrder(t *testing.T, net Network) {
	nodes := []Node{net.NewNode(t, TestConfig()), net.NewNode(t, TestConfig()), net.NewNode(t, TestConfig())}
	SetPeers(t, nodes...)
	const n = 200
	for i := range n {
		for _, from := range nodes {
			for _, to := range nodes {
				if from.Key() != to.Key() {
					mustSend(t, from, to, uint64(i/20), Message(from.Key(), i))
				}
			}
		}
	}
	for _, to := range nodes {
		first := map[transport.NodeKey]int{}
		for _, from := range nodes {
			if from.Key() != to.Key() {
				first[from.Key()] = 0
			}
		}
		expectFrom(t, to, first, 2*n)
	}
}

func testSendErrors(t *testing.T, net Network) {
	cfg := TestConfig()
	cfg.MaxMessageSize = 1024
	a, b := net.NewNode(t, cfg), net.NewNode(t, cfg)
	SetPeers(t, a, b)
	stranger, _ := NewKey(t)
	if err := a.Send(stranger, 1, []byte("x")); !errors.Is(err, transport.ErrUnknownPeer) {
		t.Errorf("Send to a key outside the set: %v, want ErrUnknownPeer", err)
	}
	if err := a.Send(a.Key(), 1, []byte("x")); !errors.Is(err, transport.ErrUnknownPeer) {
		t.Errorf("Send to self: %v, want ErrUnknownPeer", err)
	}
	if err := a.Send(b.Key(), 1, make([]byte, 1025)); !errors.Is(err, transport.ErrTooLarge) {
		t.Errorf("Send of 1025 bytes over a 1024 limit: %v, want ErrTooLarge", err)
	}
	mustSend(t, a, b, 1, make([]byte, 1024))
	if m := Recv(t, b); len(m.Data) != 1024 {
		t.Errorf("received %d bytes, want 1024", len(m.Data))
	}
	dup := []transport.Peer{a.Peer, b.Peer, a.Peer}
	if err := a.SetPeers(dup); err == nil {
		t.Errorf("SetPeers with a key twice: no error")
	}
}

func testQueueFull(t *testing.T, net Network) {
	cfg := TestConfig()
	cfg.QueueSize = 8
	a, b := net.NewNode(t, cfg), net.NewNode(t, cfg)
	// a knows b; b does not know a, so nothing a sends is acknowledged.
	if err := a.SetPeers([]transport.Peer{a.Peer, b.Peer}); err != nil {
		t.Fatal(err)
	}
	for i := range 8 {
		mustSend(t, a, b, 1, Message(a.Key(), i))
	}
	if err := a.Send(b.Key(), 2, []byte("one too many")); !errors.Is(err, transport.ErrQueueFull) {
		t.Fatalf("Send into a full queue: %v, want ErrQueueFull", err)
	}
	if q := a.Stats().Peers[b.Key()].Queued; q != 8 {
		t.Fatalf("queued %d, want 8", q)
	}
	a.Forget(2)
	if q := a.Stats().Peers[b.Key()].Queued; q != 0 {
		t.Fatalf("queued %d after Forget, want 0", q)
	}
	mustSend(t, a, b, 2, []byte("fits again"))
	// Once b admits a, only the message sent after Forget arrives.
	SetPeers(t, a, b)
	if m := Recv(t, b); string(m.Data) != "fits again" || m.Tag != 2 {
		t.Fatalf("got %q tag %d, want the message sent after Forget", m.Data, m.Tag)
	}
}

func testOutsiderNeverDelivered(t *testing.T, net Network) {
	a, b, c := net.NewNode(t, TestConfig()), net.NewNode(t, TestConfig()), net.NewNode(t, TestConfig())
	SetPeers(t, a, b)
	// c thinks it belongs; b does not.
	if err := c.SetPeers([]transport.Peer{a.Peer, b.Peer, c.Peer}); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		mustSend(t, c, b, 1, Message(c.Key(), i))
	}
	Eventually(t, "b to refuse c", func() bool { return b.Stats().Rejected[transport.RejectUnknownPeer] > 0 })
	if err := b.Send(c.Key(), 1, []byte("x")); !errors.Is(err, transport.ErrUnknownPeer) {
		t.Errorf("b sending to the outsider: %v, want ErrUnknownPeer", err)
	}
	mustSend(t, a, b, 1, Message(a.Key(), 0))
	if m := Recv(t, b); m.From != a.Key() || !bytes.Equal(m.Data, Message(a.Key(), 0)) {
		t.Fatalf("b received %x from %v, want a's message", m.Data, m.From)
	}
	if q := c.Stats().Peers[b.Key()].Queued; q != 5 {
		t.Errorf("c's messages to b: %d queued, want all 5 unacknowledged", q)
	}
	if _, ok := b.Stats().Peers[c.Key()]; ok {
		t.Errorf("b has stats for the outsider")
	}
}

func testRemovedPeer(t *testing.T, net Network) {
	a, b := net.NewNode(t, TestConfig()), net.NewNode(t, TestConfig())
	SetPeers(t, a, b)
	mustSend(t, a, b, 1, Message(a.Key(), 0))
	expectFrom(t, b, map[transport.NodeKey]int{a.Key(): 0}, 1)
	// b drops a from its set: a's link breaks and a's messages stay queued.
	rejected := b.Stats().Rejected[transport.RejectUnknownPeer]
	if err := b.SetPeers([]transport.Peer{b.Peer}); err != nil {
		t.Fatal(err)
	}
	if err := b.Send(a.Key(), 1, []byte("x")); !errors.Is(err, transport.ErrUnknownPeer) {
		t.Fatalf("Send to a removed peer: %v, want ErrUnknownPeer", err)
	}
	for i := 1; i < 4; i++ {
		mustSend(t, a, b, 1, Message(a.Key(), i))
	}
	Eventually(t, "b to refuse the removed peer", func() bool {
		return b.Stats().Rejected[transport.RejectUnknownPeer] > rejected
	})
	// 3, or 4 if b's acknowledgement of the first message was cut off.
	if q := a.Stats().Peers[b.Key()].Queued; q != 3 && q != 4 {
		t.Fatalf("a has %d queued for b, want 3 or 4", q)
	}
	// Admitted again, a's queued messages arrive, in order, once (b
	// remembers what it delivered before it removed a).
	SetPeers(t, a, b)
	mustSend(t, a, b, 1, Message(a.Key(), 4))
	expectFrom(t, b, map[transport.NodeKey]int{a.Key(): 1}, 4)
}

func testResendAfterDrop(t *testing.T, net Network) {
	slow := TestConfig()
	slow.InboundBuffer = 4
	a, b := net.NewNode(t, TestConfig()), net.NewNode(t, slow)
	SetPeers(t, a, b)
	// b does not read: it delivers 4 messages, holds the 5th, and a keeps
	// the rest unacknowledged.
	const n = 50
	for i := range n {
		mustSend(t, a, b, 1, Message(a.Key(), i))
	}
	// Once a has written a 5th frame, some frame written on this connection
	// is unacknowledged, and will be written again after the drop.
	Eventually(t, "b's inbound channel to fill", func() bool {
		return b.Stats().MessagesReceived == 4 && a.Stats().MessagesSent >= 5
	})
	if !a.Stats().Peers[b.Key()].Connected {
		t.Fatal("a's link to b is not up")
	}
	if q := a.Stats().Peers[b.Key()].Queued; q < n-5 {
		t.Fatalf("only %d of %d messages unacknowledged before the drop", q, n)
	}
	net.Drop(t, a, b)
	Eventually(t, "a to re-send after reconnecting", func() bool { return a.Stats().Resent > 0 })
	mustSend(t, a, b, 1, Message(a.Key(), n))
	// Every message exactly once, in order: a duplicate would show up
	// before the last one.
	expectFrom(t, b, map[transport.NodeKey]int{a.Key(): 0}, n+1)
	Eventually(t, "a's queue to empty", func() bool { return a.Stats().Peers[b.Key()].Queued == 0 })
	if got := b.Stats().MessagesReceived; got != n+1 {
		t.Fatalf("b delivered %d messages, want %d", got, n+1)
	}
}

func testForget(t *testing.T, net Network) {
	a, b := net.NewNode(t, TestConfig()), net.NewNode(t, TestConfig())
	// b does not admit a yet: whatever a sends stays unacknowledged.
	if err := a.SetPeers([]transport.Peer{a.Peer, b.Peer}); err != nil {
		t.Fatal(err)
	}
	tags := []uint64{1, 2, 1, 3, 2, 1}
	for i, tag := range tags {
		mustSend(t, a, b, tag, Message(a.Key(), i))
	}
	Eventually(t, "b to refuse a", func() bool { return b.Stats().Rejected[transport.RejectUnknownPeer] > 0 })
	a.Forget(2)
	if q := a.Stats().Peers[b.Key()].Queued; q != 3 {
		t.Fatalf("queued after Forget(2): %d, want 3", q)
	}
	SetPeers(t, a, b)
	mustSend(t, a, b, 4, Message(a.Key(), 6))
	for _, i := range []int{1, 3, 4, 6} {
		m := Recv(t, b)
		if !bytes.Equal(m.Data, Message(a.Key(), i)) {
			t.Fatalf("got %x, want message %d (tags < 2 forgotten)", m.Data[:12], i)
		}
		if i < len(tags) && m.Tag != tags[i] {
			t.Fatalf("message %d has tag %d, want %d", i, m.Tag, tags[i])
		}
	}
}

func testOversizedFrame(t *testing.T, net Network) {
	// a may send up to 4 KiB, b accepts 1 KiB: b must refuse the frame.
	big, small := TestConfig(), TestConfig()
	big.MaxMessageSize, small.MaxMessageSize = 4096, 1024
	a, b := net.NewNode(t, big), net.NewNode(t, small)
	SetPeers(t, a, b)
	mustSend(t, a, b, 1, make([]byte, 2000))
	Eventually(t, "b to refuse the oversized frame", func() bool {
		return b.Stats().Rejected[transport.RejectTooLarge] > 0
	})
	a.Forget(2)
	mustSend(t, a, b, 2, []byte("small"))
	if m := Recv(t, b); string(m.Data) != "small" {
		t.Fatalf("got %d bytes, want the small message", len(m.Data))
	}
}

func testBackpressure(t *testing.T, net Network) {
	slow := TestConfig()
	slow.InboundBuffer = 2
	a, b := net.NewNode(t, TestConfig()), net.NewNode(t, slow)
	SetPeers(t, a, b)
	const n = 300
	for i := range n {
		mustSend(t, a, b, 1, Message(a.Key(), i))
	}
	Eventually(t, "b's channel to fill", func() bool { return b.Stats().MessagesReceived == 2 })
	// b stops reading from the network rather than dropping: the messages
	// wait at a, unacknowledged.
	if q := a.Stats().Peers[b.Key()].Queued; q < n-3 {
		t.Fatalf("a has %d unacknowledged with b's channel full, want ≥ %d", q, n-3)
	}
	expectFrom(t, b, map[transport.NodeKey]int{a.Key(): 0}, n)
}

// testCloseStopsEverything closes nodes in every state (idle, retrying a
// refused peer, blocked on a full Receive channel) and checks that Close
// stops them all: closed channels, ErrClosed, and no goroutine left.
func testCloseStopsEverything(t *testing.T, newNetwork func(t *testing.T) Network) {
	// A first round starts whatever the transport's libraries start once per
	// process, so the count below is of this round's goroutines only.
	round := func(t *testing.T) []Node {
		net := newNetwork(t)
		cfg := TestConfig()
		cfg.InboundBuffer = 2
		a, b, c := net.NewNode(t, TestConfig()), net.NewNode(t, cfg), net.NewNode(t, TestConfig())
		SetPeers(t, a, b)
		if err := c.SetPeers([]transport.Peer{a.Peer, b.Peer, c.Peer}); err != nil {
			t.Fatal(err)
		}
		for i := range 20 {
			mustSend(t, a, b, 1, Message(a.Key(), i))
			mustSend(t, c, b, 1, Message(c.Key(), i))
		}
		mustSend(t, b, a, 1, Message(b.Key(), 0))
		expectFrom(t, a, map[transport.NodeKey]int{b.Key(): 0}, 1)
		Eventually(t, "b's channel to fill and c to be refused", func() bool {
			s := b.Stats()
			return s.MessagesReceived == 2 && s.Rejected[transport.RejectUnknownPeer] > 0
		})
		return []Node{a, b, c}
	}
	closeAll := func(t *testing.T, nodes []Node) {
		for _, n := range nodes {
			if err := n.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
		}
	}
	closeAll(t, round(t))
	before := runtime.NumGoroutine()

	nodes := round(t)
	closeAll(t, nodes)
	for _, n := range nodes {
		if err := n.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if err := n.Send(nodes[0].Key(), 1, nil); !errors.Is(err, transport.ErrClosed) {
			t.Errorf("Send after Close: %v, want ErrClosed", err)
		}
		if err := n.SetPeers(nil); !errors.Is(err, transport.ErrClosed) {
			t.Errorf("SetPeers after Close: %v, want ErrClosed", err)
		}
		deadline := time.After(Timeout)
	drain:
		for {
			select {
			case _, ok := <-n.Receive():
				if !ok {
					break drain
				}
			case <-deadline:
				t.Fatal("Receive channel not closed by Close")
			}
		}
	}
	deadline := time.Now().Add(Timeout)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			_ = pprof.Lookup("goroutine").WriteTo(os.Stderr, 1)
			t.Fatalf("%d goroutines after Close, %d before the nodes started", runtime.NumGoroutine(), before)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
