package p2p

import (
	"context"
	"net"
	"sync"
	"sync/atomic"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/core/sec"
	tpt "github.com/libp2p/go-libp2p/core/transport"
	"github.com/libp2p/go-libp2p/p2p/net/upgrader"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/mass-consensus/mass/internal/transport"
)

// What comes to the TCP port and is not a libp2p peer (raw bytes, a bad
// handshake) never reaches the node: libp2p's upgrader drops it with a
// debug line. The transport watches each inbound TCP connection through
// its upgrade instead, and counts one that closes before it is secured:
// as garbage if it never agreed on a security protocol, as a failed
// handshake if it agreed on Noise and went no further. A connection that
// is secured (whether the gater then admits its peer or not) is not
// counted here.

// Stages of an inbound connection's upgrade.
const (
	stageAccepted   = iota // nothing agreed yet
	stageNegotiated        // Noise agreed, its handshake under way
	stageSecured           // the handshake done: the gater decides
)

// newTCP is the TCP transport's constructor for libp2p, with the upgrader
// wrapped so that the connections it accepts are watched.
func (t *Transport) newTCP(u tpt.Upgrader, rcmgr network.ResourceManager) (*tcp.TcpTransport, error) {
	return tcp.NewTCPTransport(watchUpgrader{Upgrader: u, t: t}, rcmgr, nil)
}

// newNoise is Noise's constructor for libp2p, wrapped so that a watched
// connection records that it agreed on Noise.
func newNoise(id protocol.ID, key crypto.PrivKey, muxers []upgrader.StreamMuxer) (*watchedNoise, error) {
	n, err := noise.New(id, key, muxers)
	if err != nil {
		return nil, err
	}
	return &watchedNoise{Transport: n}, nil
}

// watchUpgrader is libp2p's upgrader, with the listeners it upgrades
// handing out watched connections.
type watchUpgrader struct {
	tpt.Upgrader
	t *Transport
}

func (u watchUpgrader) UpgradeGatedMaListener(t tpt.Transport, l tpt.GatedMaListener) tpt.Listener {
	return u.Upgrader.UpgradeGatedMaListener(t, watchListener{GatedMaListener: l, t: u.t})
}

// watchListener hands out its connections wrapped in watchedConn.
type watchListener struct {
	tpt.GatedMaListener
	t *Transport
}

func (l watchListener) Accept() (manet.Conn, network.ConnManagementScope, error) {
	c, scope, err := l.GatedMaListener.Accept()
	if err != nil {
		return c, scope, err
	}
	return &watchedConn{Conn: c, t: l.t}, scope, nil
}

// watchedConn is an inbound TCP connection being upgraded, or upgraded.
// Closed before it is secured, it counts as refused.
type watchedConn struct {
	manet.Conn
	t     *Transport
	stage atomic.Int32
	once  sync.Once
}

// negotiated records that the connection agreed on Noise.
func (c *watchedConn) negotiated() { c.stage.CompareAndSwap(stageAccepted, stageNegotiated) }

// secured records that the connection's handshake succeeded.
func (c *watchedConn) secured() { c.stage.Store(stageSecured) }

func (c *watchedConn) Close() error {
	c.once.Do(func() {
		switch c.stage.Load() {
		case stageAccepted:
			c.t.ep.Reject(transport.RejectGarbage, c.RemoteMultiaddr().String())
		case stageNegotiated:
			c.t.ep.Reject(transport.RejectHandshake, c.RemoteMultiaddr().String())
		}
	})
	return c.Conn.Close()
}

// watchedNoise is Noise, telling a watched connection that it got as far
// as its handshake.
type watchedNoise struct {
	*noise.Transport
}

var _ sec.SecureTransport = (*watchedNoise)(nil)

func (n *watchedNoise) SecureInbound(ctx context.Context, insecure net.Conn, p peer.ID) (sec.SecureConn, error) {
	if c, ok := insecure.(*watchedConn); ok {
		c.negotiated()
	}
	return n.Transport.SecureInbound(ctx, insecure, p)
}
