// Package p2p is the transport of Mass over go-libp2p: TCP and QUIC
// listeners, Noise security and yamux on TCP (QUIC brings its own TLS 1.3
// and streams), and the node's ed25519 key as its libp2p identity, so a peer
// ID is a node key (PeerIDFromKey, KeyFromPeerID).
//
// Each link is one long-lived stream of protocol ProtocolID, opened by the
// sending node and carrying its frames one way and acknowledgements the
// other (see transport.Endpoint, which runs the links). A connection from a
// peer outside the node set is refused by a connection gater and counted; the
// node dials only members, only at the addresses the node set lists. An
// inbound TCP connection that fails before it is secured (raw bytes, a bad
// handshake) is counted too (watch.go). Every refusal is logged, at a
// bounded rate (transport.Config.Logger). There is
// no mDNS, DHT, relay, hole punching or NAT port mapping: the host listens on
// the given addresses and nothing else.
//
// It imports go-libp2p and transport, never the consensus packages.
package p2p

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	ma "github.com/multiformats/go-multiaddr"
	madns "github.com/multiformats/go-multiaddr-dns"

	"github.com/mass-consensus/mass/internal/transport"
)

// ProtocolID names the stream protocol of a link.
const ProtocolID protocol.ID = "/mass/consensus/1"

// Transport is a node's libp2p transport.
type Transport struct {
	key  transport.NodeKey
	id   peer.ID
	host host.Host
	ep   *transport.Endpoint

	mu      sync.RWMutex
	members map[peer.ID]member // the node set, without this node
	// configured: SetPeers was called. Before, the node does not know its
	// set yet (it listens from New on), and a peer that connects early is
	// likely a member: its refusal is counted but not logged as a warning.
	configured bool
	stopWatch  func() bool // stops the watch on New's context
}

var _ transport.Transport = (*Transport)(nil)

// member is a node of the set as the gater and the dialer see it.
type member struct {
	key   transport.NodeKey
	addrs []ma.Multiaddr // without /p2p
	// resolved: some address is a DNS name, so the gater cannot match the
	// addresses the swarm actually dials against the list.
	resolved bool
}

// New starts a transport for the node whose private key is priv, listening
// on the given multiaddrs (for example /ip4/127.0.0.1/tcp/0 and
// /ip4/127.0.0.1/udp/0/quic-v1). The node set starts empty. The transport
// closes itself when ctx is done, or on Close.
func New(ctx context.Context, priv ed25519.PrivateKey, listen []string, cfg transport.Config) (*Transport, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("p2p: %w", err)
	}
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("p2p: private key of %d bytes, want %d", len(priv), ed25519.PrivateKeySize)
	}
	sk, err := crypto.UnmarshalEd25519PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("p2p: private key: %w", err)
	}
	t := &Transport{members: make(map[peer.ID]member)}
	t.key = transport.NodeKey(priv.Public().(ed25519.PublicKey))
	if t.id, err = PeerIDFromKey(t.key); err != nil {
		return nil, err
	}
	if t.ep, err = transport.NewEndpoint(t.key, cfg, t.dial); err != nil {
		return nil, fmt.Errorf("p2p: %w", err)
	}
	t.host, err = libp2p.New(
		libp2p.Identity(sk),
		libp2p.ListenAddrStrings(listen...),
		libp2p.Transport(t.newTCP),
		libp2p.Transport(quic.NewTransport),
		libp2p.Security(noise.ID, newNoise),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.ConnectionGater(gater{t}),
		libp2p.ConnectionManager(&connmgr.NullConnMgr{}),
		libp2p.DisableRelay(),
		libp2p.Ping(false),
		libp2p.DisableMetrics(),
		libp2p.DisableIdentifyAddressDiscovery(),
	)
	if err != nil {
		_ = t.ep.Close()
		return nil, fmt.Errorf("p2p: starting the libp2p host: %w", err)
	}
	if t.host.ID() != t.id {
		_ = t.Close()
		return nil, fmt.Errorf("p2p: host ID %v differs from the node key's %v", t.host.ID(), t.id)
	}
	t.host.SetStreamHandler(ProtocolID, t.handleStream)
	t.mu.Lock()
	t.stopWatch = context.AfterFunc(ctx, func() { _ = t.Close() })
	t.mu.Unlock()
	return t, nil
}

// Key returns the node's key.
func (t *Transport) Key() transport.NodeKey { return t.key }

// ID returns the node's peer ID, derived from its key.
func (t *Transport) ID() peer.ID { return t.id }

// Host returns the libp2p host, for tests and diagnostics.
func (t *Transport) Host() host.Host { return t.host }

// Addrs returns the addresses the host listens on.
func (t *Transport) Addrs() []string {
	var out []string
	for _, a := range t.host.Addrs() {
		out = append(out, a.String())
	}
	return out
}

// Peer returns this node's entry for a node set.
func (t *Transport) Peer() transport.Peer { return transport.Peer{Key: t.key, Addrs: t.Addrs()} }

func (t *Transport) member(id peer.ID) (member, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	m, ok := t.members[id]
	return m, ok
}

// knowsPeers says whether the node set was given yet (SetPeers).
func (t *Transport) knowsPeers() bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.configured
}

// SetPeers replaces the node set: the gater admits only its members, dials
// go only to the addresses listed, and connections to anyone else close.
func (t *Transport) SetPeers(peers []transport.Peer) error {
	next := make(map[peer.ID]member, len(peers))
	for _, p := range peers {
		if p.Key == t.key {
			continue
		}
		id, err := PeerIDFromKey(p.Key)
		if err != nil {
			return err
		}
		m := member{key: p.Key}
		for _, s := range p.Addrs {
			a, err := ma.NewMultiaddr(s)
			if err != nil {
				return fmt.Errorf("p2p: address %q of %v: %w", s, p.Key, err)
			}
			a, embedded := peer.SplitAddr(a)
			if embedded != "" && embedded != id {
				return fmt.Errorf("p2p: address %q names peer %v, not %v", s, embedded, id)
			}
			if len(a) == 0 {
				return fmt.Errorf("p2p: address %q of %v has no transport part", s, p.Key)
			}
			m.resolved = m.resolved || madns.Matches(a)
			m.addrs = append(m.addrs, a)
		}
		next[id] = m
	}
	t.mu.Lock()
	t.members, t.configured = next, true
	t.mu.Unlock()

	ps := t.host.Peerstore()
	for id, m := range next {
		ps.ClearAddrs(id)
		ps.AddAddrs(id, m.addrs, peerstore.PermanentAddrTTL)
	}
	if err := t.ep.SetPeers(peers); err != nil {
		return fmt.Errorf("p2p: %w", err)
	}
	for _, id := range t.host.Network().Peers() {
		if _, ok := next[id]; !ok {
			_ = t.host.Network().ClosePeer(id)
			ps.ClearAddrs(id)
		}
	}
	return nil
}

// dial opens a link stream to p, connecting first if needed. It bypasses the
// swarm's own dial backoff: the endpoint has its own.
func (t *Transport) dial(ctx context.Context, p transport.Peer) (transport.Stream, error) {
	id, err := PeerIDFromKey(p.Key)
	if err != nil {
		return nil, err
	}
	m, ok := t.member(id)
	if !ok {
		return nil, fmt.Errorf("p2p: dialing %v: %w", id, transport.ErrUnknownPeer)
	}
	ctx = network.WithForceDirectDial(ctx, "mass link")
	if err := t.host.Connect(ctx, peer.AddrInfo{ID: id, Addrs: slices.Clone(m.addrs)}); err != nil {
		return nil, fmt.Errorf("p2p: connecting to %v: %w", id, err)
	}
	s, err := t.host.NewStream(ctx, id, ProtocolID)
	if err != nil {
		return nil, fmt.Errorf("p2p: opening a stream to %v: %w", id, err)
	}
	return s, nil
}

// handleStream serves a link stream a peer opened.
func (t *Transport) handleStream(s network.Stream) {
	key, err := KeyFromPeerID(s.Conn().RemotePeer())
	if err != nil {
		t.ep.Reject(transport.RejectUnknownPeer, fmt.Sprintf("%v at %v", s.Conn().RemotePeer(), s.Conn().RemoteMultiaddr()))
		_ = s.Reset()
		return
	}
	t.ep.Serve(key, s)
}

// Send queues msg for peer to; see transport.Transport.
func (t *Transport) Send(to transport.NodeKey, tag uint64, msg []byte) error {
	return t.ep.Send(to, tag, msg)
}

// Forget drops unacknowledged messages with tag < below.
func (t *Transport) Forget(below uint64) { t.ep.Forget(below) }

// Receive returns the channel of inbound messages.
func (t *Transport) Receive() <-chan transport.Inbound { return t.ep.Receive() }

// Stats returns a snapshot of the counters.
func (t *Transport) Stats() transport.Stats { return t.ep.Stats() }

// Close stops the links, then the libp2p host and its listeners.
func (t *Transport) Close() error {
	t.mu.RLock()
	stopWatch := t.stopWatch
	t.mu.RUnlock()
	if stopWatch != nil {
		stopWatch()
	}
	epErr := t.ep.Close()
	if err := t.host.Close(); err != nil {
		return errors.Join(epErr, fmt.Errorf("p2p: closing the host: %w", err))
	}
	return epErr
}
