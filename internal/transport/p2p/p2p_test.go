package p2p_test

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/mass-consensus/mass/internal/transport"
	"github.com/mass-consensus/mass/internal/transport/p2p"
	"github.com/mass-consensus/mass/internal/transport/transporttest"
)

const (
	listenTCP  = "/ip4/127.0.0.1/tcp/0"
	listenQUIC = "/ip4/127.0.0.1/udp/0/quic-v1"
)

// network adapts p2p transports listening on the given addresses to the
// conformance suite.
type network struct {
	listen []string
	mu     sync.Mutex
	nodes  map[transport.NodeKey]*p2p.Transport
}

func newNetwork(listen ...string) *network {
	return &network{listen: listen, nodes: make(map[transport.NodeKey]*p2p.Transport)}
}

func (n *network) NewNode(t testing.TB, cfg transport.Config) transporttest.Node {
	t.Helper()
	tr := newTransport(t, cfg, n.listen...)
	n.mu.Lock()
	n.nodes[tr.Key()] = tr
	n.mu.Unlock()
	return transporttest.Node{Transport: tr, Peer: tr.Peer()}
}

func (n *network) Drop(t testing.TB, a, b transporttest.Node) {
	n.mu.Lock()
	ta, tb := n.nodes[a.Key()], n.nodes[b.Key()]
	n.mu.Unlock()
	net := ta.Host().Network()
	if len(net.ConnsToPeer(tb.ID())) == 0 {
		t.Fatalf("no connection between %v and %v to drop", a.Key(), b.Key())
	}
	if err := net.ClosePeer(tb.ID()); err != nil {
		t.Fatalf("closing connections: %v", err)
	}
}

func newTransport(t testing.TB, cfg transport.Config, listen ...string) *p2p.Transport {
	t.Helper()
	_, priv := transporttest.NewKey(t)
	tr, err := p2p.New(context.Background(), priv, listen, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

// Each conformance run forces one kind of address, so both are proven.
func TestConformanceTCP(t *testing.T) {
	transporttest.Run(t, func(t *testing.T) transporttest.Network { return newNetwork(listenTCP) })
}

func TestConformanceQUIC(t *testing.T) {
	transporttest.Run(t, func(t *testing.T) transporttest.Network { return newNetwork(listenQUIC) })
}

// TestAddressKinds checks that a node listening on one kind of address is
// reached over that kind, and that connections actually use it.
func TestAddressKinds(t *testing.T) {
	for _, tc := range []struct {
		listen string
		proto  int
	}{{listenTCP, ma.P_TCP}, {listenQUIC, ma.P_QUIC_V1}} {
		t.Run(ma.ProtocolWithCode(tc.proto).Name, func(t *testing.T) {
			net := newNetwork(tc.listen)
			a, b := net.NewNode(t, transporttest.TestConfig()), net.NewNode(t, transporttest.TestConfig())
			transporttest.SetPeers(t, a, b)
			if err := a.Send(b.Key(), 1, []byte("hi")); err != nil {
				t.Fatal(err)
			}
			if m := transporttest.Recv(t, b); string(m.Data) != "hi" {
				t.Fatalf("got %q", m.Data)
			}
			ta := net.nodes[a.Key()]
			conns := ta.Host().Network().ConnsToPeer(net.nodes[b.Key()].ID())
			if len(conns) == 0 {
				t.Fatal("no connection")
			}
			for _, c := range conns {
				if _, err := c.RemoteMultiaddr().ValueForProtocol(tc.proto); err != nil {
					t.Errorf("connection over %v, want %s", c.RemoteMultiaddr(), ma.ProtocolWithCode(tc.proto).Name)
				}
				ip, _ := c.RemoteMultiaddr().ValueForProtocol(ma.P_IP4)
				if ip != "127.0.0.1" {
					t.Errorf("connection to %v, not loopback", c.RemoteMultiaddr())
				}
			}
		})
	}
}

func TestPeerIDIsDerivedFromKey(t *testing.T) {
	tr := newTransport(t, transport.Config{}, listenTCP)
	id, err := p2p.PeerIDFromKey(tr.Key())
	if err != nil {
		t.Fatal(err)
	}
	if tr.ID() != id || tr.Host().ID() != id {
		t.Fatalf("transport ID %v, host ID %v, derived %v", tr.ID(), tr.Host().ID(), id)
	}
	key, err := p2p.KeyFromPeerID(id)
	if err != nil || key != tr.Key() {
		t.Fatalf("key from peer ID: %v, %v; want %v", key, err, tr.Key())
	}
	// A peer ID of another key type is not a node.
	sk, _, err := crypto.GenerateSecp256k1Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := peer.IDFromPrivateKey(sk)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p2p.KeyFromPeerID(other); !errors.Is(err, p2p.ErrNotEd25519) {
		t.Fatalf("secp256k1 peer ID: %v, want ErrNotEd25519", err)
	}
}

// rawHost starts a bare libp2p host (TCP, Noise, yamux) with the given key,
// to speak to a transport without the transport's own sender.
func rawHost(t *testing.T, sk crypto.PrivKey) host.Host {
	t.Helper()
	h, err := libp2p.New(
		libp2p.Identity(sk),
		libp2p.NoListenAddrs,
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.DisableRelay(),
		libp2p.DisableMetrics(),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

func addrInfo(t *testing.T, tr *p2p.Transport) peer.AddrInfo {
	t.Helper()
	return peer.AddrInfo{ID: tr.ID(), Addrs: tr.Host().Addrs()}
}

func TestOversizedFrameRejectedBeforeAllocation(t *testing.T) {
	key, priv := transporttest.NewKey(t)
	sk, err := crypto.UnmarshalEd25519PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	b := newTransport(t, transporttest.TestConfig(), listenTCP)
	if err := b.SetPeers([]transport.Peer{{Key: key}, b.Peer()}); err != nil {
		t.Fatal(err)
	}
	// A member that claims a 4 GiB frame: b must refuse it from the length
	// alone, count it and reset the stream.
	h := rawHost(t, sk)
	ctx, cancel := context.WithTimeout(context.Background(), transporttest.Timeout)
	defer cancel()
	if err := h.Connect(ctx, addrInfo(t, b)); err != nil {
		t.Fatal(err)
	}
	s, err := h.NewStream(ctx, b.ID(), p2p.ProtocolID)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("MSL1")
	msg = binary.BigEndian.AppendUint64(msg, 1)          // session
	msg = binary.BigEndian.AppendUint64(msg, 1)          // seq
	msg = binary.BigEndian.AppendUint64(msg, 1)          // tag
	msg = binary.BigEndian.AppendUint32(msg, 0xFFFFFFFF) // length
	if _, err := s.Write(msg); err != nil {
		t.Fatal(err)
	}
	_ = s.SetReadDeadline(time.Now().Add(transporttest.Timeout))
	if _, err := io.ReadAll(s); err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("stream not reset after an oversized frame: %v", err)
	}
	if n := b.Stats().Rejected[transport.RejectTooLarge]; n != 1 {
		t.Fatalf("rejected too-large = %d, want 1", n)
	}
	if n := b.Stats().MessagesReceived; n != 0 {
		t.Fatalf("%d messages delivered", n)
	}
}

// dialAsOutsider connects to b with a new key outside its set, fails to
// open a stream, and waits until b has counted want unknown-peer refusals.
func dialAsOutsider(t *testing.T, b *p2p.Transport, want uint64) {
	t.Helper()
	sk, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	h := rawHost(t, sk)
	ctx, cancel := context.WithTimeout(context.Background(), transporttest.Timeout)
	defer cancel()
	if err := h.Connect(ctx, addrInfo(t, b)); err == nil {
		// The gater refuses after the handshake; the dialer may see the
		// connection close rather than a failed dial.
		if _, err := h.NewStream(ctx, b.ID(), p2p.ProtocolID); err == nil {
			t.Fatal("an outsider opened a stream")
		}
	}
	transporttest.Eventually(t, "the refusal to be counted", func() bool {
		return b.Stats().Rejected[transport.RejectUnknownPeer] >= want
	})
}

func TestOutsiderConnectionRefused(t *testing.T) {
	b := newTransport(t, transporttest.TestConfig(), listenTCP)
	member, _ := transporttest.NewKey(t)
	if err := b.SetPeers([]transport.Peer{{Key: member}, b.Peer()}); err != nil {
		t.Fatal(err)
	}
	dialAsOutsider(t, b, 1)
	if len(b.Host().Network().Peers()) != 0 {
		t.Fatalf("b is connected to %v", b.Host().Network().Peers())
	}
}

// warnings counts the warnings a logger writes.
type warnings struct {
	mu sync.Mutex
	n  int
}

func (w *warnings) Enabled(_ context.Context, l slog.Level) bool { return true }
func (w *warnings) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		w.mu.Lock()
		w.n++
		w.mu.Unlock()
	}
	return nil
}
func (w *warnings) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w *warnings) WithGroup(string) slog.Handler      { return w }
func (w *warnings) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

// TestEarlyPeerIsRefusedQuietly: a node listens before it is told its set
// (a member that dials it that early is turned away and retries): the
// refusal is counted, but not logged as a warning; once the set is known,
// an outsider's refusal is counted and logged as one.
func TestEarlyPeerIsRefusedQuietly(t *testing.T) {
	logs := &warnings{}
	cfg := transporttest.TestConfig()
	cfg.Logger = slog.New(logs)
	b := newTransport(t, cfg, listenTCP)
	dialAsOutsider(t, b, 1)
	if n := logs.count(); n != 0 {
		t.Fatalf("%d warnings for a peer refused before the set was known", n)
	}
	member, _ := transporttest.NewKey(t)
	if err := b.SetPeers([]transport.Peer{{Key: member}, b.Peer()}); err != nil {
		t.Fatal(err)
	}
	dialAsOutsider(t, b, 2)
	transporttest.Eventually(t, "the outsider's refusal to be logged", func() bool { return logs.count() == 1 })
}

func TestNewAndSetPeersErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := p2p.New(ctx, make([]byte, 10), nil, transport.Config{}); err == nil {
		t.Error("a 10-byte private key was accepted")
	}
	_, priv := transporttest.NewKey(t)
	if _, err := p2p.New(ctx, priv, []string{"not a multiaddr"}, transport.Config{}); err == nil {
		t.Error("a bad listen address was accepted")
	}
	if _, err := p2p.New(ctx, priv, nil, transport.Config{MaxMessageSize: -1}); err == nil {
		t.Error("a negative message size was accepted")
	}
	tr := newTransport(t, transport.Config{}, listenTCP)
	k, _ := transporttest.NewKey(t)
	if err := tr.SetPeers([]transport.Peer{{Key: k, Addrs: []string{"/ip4/1.2.3"}}}); err == nil {
		t.Error("a bad peer address was accepted")
	}
	if err := tr.SetPeers([]transport.Peer{{Key: k, Addrs: []string{"/ip4/127.0.0.1/tcp/1/p2p/" + tr.ID().String()}}}); err == nil {
		t.Error("an address naming another peer was accepted")
	}
}

func TestClosedByContext(t *testing.T) {
	_, priv := transporttest.NewKey(t)
	ctx, cancel := context.WithCancel(context.Background())
	tr, err := p2p.New(ctx, priv, []string{listenTCP}, transport.Config{})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case _, ok := <-tr.Receive():
		if ok {
			t.Fatal("a message on an idle transport")
		}
	case <-time.After(transporttest.Timeout):
		t.Fatal("cancelling the context did not close the transport")
	}
	if err := tr.Send(tr.Key(), 1, nil); !errors.Is(err, transport.ErrClosed) {
		t.Fatalf("Send after the context ended: %v, want ErrClosed", err)
	}
}
