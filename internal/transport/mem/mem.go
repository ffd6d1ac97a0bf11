// Package mem is the in-memory twin of transport/p2p: a Network to which
// nodes attach by key, with the same links, limits and delivery semantics
// (it runs the same transport.Endpoint over in-memory pipes instead of
// libp2p streams). A stream's remote key is whatever key the dialing node
// joined with, so authentication is by construction.
//
// Tests control the network: Partition cuts the links between two nodes
// (closing their connections and failing dials) until Heal, and Drop closes
// their connections once, forcing the links through reconnection and
// re-sending.
//
// It imports only the standard library and transport.
package mem

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/mass-consensus/mass/internal/transport"
)

// Errors of dialing on the network; a link retries after them.
var (
	ErrNoNode      = errors.New("mem: no node with that key on the network")
	ErrPartitioned = errors.New("mem: nodes partitioned")
)

// Network is a set of in-memory nodes and the connections between them.
type Network struct {
	mu    sync.Mutex
	nodes map[transport.NodeKey]*Transport
	cut   map[pair]bool
	conns map[pair]map[*conn]struct{}
}

// pair names the link between two nodes, in either direction.
type pair struct{ a, b transport.NodeKey }

func pairOf(x, y transport.NodeKey) pair {
	for i := range x {
		if x[i] != y[i] {
			if x[i] > y[i] {
				x, y = y, x
			}
			break
		}
	}
	return pair{x, y}
}

// NewNetwork returns an empty network.
func NewNetwork() *Network {
	return &Network{
		nodes: make(map[transport.NodeKey]*Transport),
		cut:   make(map[pair]bool),
		conns: make(map[pair]map[*conn]struct{}),
	}
}

// Transport is one node's transport on a Network.
type Transport struct {
	net *Network
	key transport.NodeKey
	ep  *transport.Endpoint
}

var _ transport.Transport = (*Transport)(nil)

// Join attaches a node with the given key to the network and returns its
// transport, with an empty node set.
func (n *Network) Join(key transport.NodeKey, cfg transport.Config) (*Transport, error) {
	t := &Transport{net: n, key: key}
	ep, err := transport.NewEndpoint(key, cfg, t.dial)
	if err != nil {
		return nil, fmt.Errorf("mem: %w", err)
	}
	t.ep = ep
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, dup := n.nodes[key]; dup {
		_ = ep.Close()
		return nil, fmt.Errorf("mem: a node with key %v already joined", key)
	}
	n.nodes[key] = t
	return t, nil
}

// Partition cuts the links between a and b: their connections close and
// dials between them fail until Heal.
func (n *Network) Partition(a, b transport.NodeKey) {
	n.mu.Lock()
	n.cut[pairOf(a, b)] = true
	n.mu.Unlock()
	n.Drop(a, b)
}

// Heal undoes Partition.
func (n *Network) Heal(a, b transport.NodeKey) {
	n.mu.Lock()
	delete(n.cut, pairOf(a, b))
	n.mu.Unlock()
}

// Drop closes every connection between a and b, in both directions. The
// links reconnect by themselves.
func (n *Network) Drop(a, b transport.NodeKey) {
	n.mu.Lock()
	var cs []*conn
	for c := range n.conns[pairOf(a, b)] {
		cs = append(cs, c)
	}
	n.mu.Unlock()
	for _, c := range cs {
		_ = c.Close()
	}
}

// Connections returns the number of open connections between a and b.
func (n *Network) Connections(a, b transport.NodeKey) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.conns[pairOf(a, b)]) / 2
}

// dial connects from to p: a pipe whose far end the remote node serves.
func (t *Transport) dial(ctx context.Context, p transport.Peer) (transport.Stream, error) {
	n := t.net
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	n.mu.Lock()
	if n.nodes[t.key] != t {
		n.mu.Unlock()
		return nil, fmt.Errorf("mem: dialing from a node that left: %w", transport.ErrClosed)
	}
	remote, ok := n.nodes[p.Key]
	if !ok {
		n.mu.Unlock()
		return nil, fmt.Errorf("%w: %v", ErrNoNode, p.Key)
	}
	if n.cut[pairOf(t.key, p.Key)] {
		n.mu.Unlock()
		return nil, fmt.Errorf("%w: %v and %v", ErrPartitioned, t.key, p.Key)
	}
	near, far := net.Pipe()
	k := pairOf(t.key, p.Key)
	cn, cf := &conn{Conn: near, net: n, pair: k}, &conn{Conn: far, net: n, pair: k}
	cn.peer, cf.peer = cf, cn
	if n.conns[k] == nil {
		n.conns[k] = make(map[*conn]struct{})
	}
	n.conns[k][cn] = struct{}{}
	n.conns[k][cf] = struct{}{}
	n.mu.Unlock()
	go remote.ep.Serve(t.key, cf)
	return cn, nil
}

// conn is one end of an in-memory connection; closing either end closes
// both.
type conn struct {
	net.Conn
	net  *Network
	pair pair
	peer *conn
	once sync.Once
}

func (c *conn) Close() error {
	c.once.Do(func() {
		c.net.mu.Lock()
		delete(c.net.conns[c.pair], c)
		delete(c.net.conns[c.pair], c.peer)
		if len(c.net.conns[c.pair]) == 0 {
			delete(c.net.conns, c.pair)
		}
		c.net.mu.Unlock()
		_ = c.Conn.Close()
		_ = c.peer.Conn.Close()
	})
	return nil
}

// Key returns the node's key.
func (t *Transport) Key() transport.NodeKey { return t.key }

// SetPeers replaces the node set; see transport.Transport.
func (t *Transport) SetPeers(peers []transport.Peer) error {
	if err := t.ep.SetPeers(peers); err != nil {
		return fmt.Errorf("mem: %w", err)
	}
	return nil
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

// Close stops the node's links, closes its connections and detaches it
// from the network.
func (t *Transport) Close() error {
	n := t.net
	n.mu.Lock()
	if n.nodes[t.key] == t {
		delete(n.nodes, t.key)
	}
	n.mu.Unlock()
	return t.ep.Close()
}
