package p2p

import (
	"fmt"

	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/mass-consensus/mass/internal/transport"
)

// gater admits connections only with members of the node set, and dials
// members only at the addresses the node set gives them. It counts the
// inbound connections it refuses.
type gater struct{ t *Transport }

func (g gater) InterceptPeerDial(p peer.ID) bool {
	_, ok := g.t.member(p)
	return ok
}

func (g gater) InterceptAddrDial(p peer.ID, addr ma.Multiaddr) bool {
	m, ok := g.t.member(p)
	if !ok {
		return false
	}
	if m.resolved {
		return true // DNS addresses: the swarm dials what they resolve to
	}
	for _, a := range m.addrs {
		if a.Equal(addr) {
			return true
		}
	}
	return false
}

func (g gater) InterceptAccept(network.ConnMultiaddrs) bool { return true }

func (g gater) InterceptSecured(dir network.Direction, p peer.ID, addrs network.ConnMultiaddrs) bool {
	if c, ok := addrs.(*watchedConn); ok {
		c.secured()
	}
	if _, ok := g.t.member(p); ok {
		return true
	}
	switch from := fmt.Sprintf("%v at %v", p, addrs.RemoteMultiaddr()); {
	case dir != network.DirInbound:
	case g.t.knowsPeers():
		g.t.ep.Reject(transport.RejectUnknownPeer, from)
	default: // likely a member that dialled before this node was told its set
		g.t.ep.RejectQuiet(transport.RejectUnknownPeer, from)
	}
	return false
}

func (g gater) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }
