package nodesim

import (
	"fmt"

	"github.com/mass-consensus/mass/internal/ledger"
	"github.com/mass-consensus/mass/internal/transport"
)

// queueSize is a link's bound of unacknowledged messages, as the real
// transport's default.
const queueSize = transport.DefaultQueueSize

// packet is a message on a link.
type packet struct {
	tag  uint64
	data []byte
}

// link is the messages from one node to another not yet delivered: the
// real transport keeps them until the receiver acknowledges them, and
// re-sends them after a reconnect; a crash of the sender loses them.
type link struct {
	queue     []packet
	scheduled bool // a delivery of the head is in the event queue
}

// endpoint is a simulated node's transport: it implements
// transport.Transport over the simulator's links.
type endpoint struct {
	sim   *Sim
	self  int
	peers map[transport.NodeKey]bool
	// cut, when not negative, is how many more sends go out before the
	// node crashes in the middle of its sends.
	cut    int
	closed bool
	recv   chan transport.Inbound
	// liar claims a certified height far beyond its own and never answers
	// a request for certified blocks.
	liar bool
}

var _ transport.Transport = (*endpoint)(nil)

func (e *endpoint) SetPeers(peers []transport.Peer) error {
	e.peers = map[transport.NodeKey]bool{}
	for _, p := range peers {
		e.peers[p.Key] = true
	}
	e.sim.unblock()
	return nil
}

func (e *endpoint) Send(to transport.NodeKey, tag uint64, msg []byte) error {
	if e.closed || e.cut == 0 {
		return fmt.Errorf("%w: the node is down", transport.ErrClosed)
	}
	if e.cut > 0 {
		e.cut--
	}
	if e.liar {
		switch ledger.MessageKind(msg) {
		case ledger.KindStatus:
			msg = ledger.EncodeStatus(1 << 40)
		case ledger.KindSyncResponse:
			return nil
		}
	}
	if !e.peers[to] {
		return fmt.Errorf("%w: %s", transport.ErrUnknownPeer, to)
	}
	j, ok := e.sim.byKey[to]
	if !ok || j == e.self {
		return fmt.Errorf("%w: %s", transport.ErrUnknownPeer, to)
	}
	l := e.sim.links[e.self][j]
	if len(l.queue) >= queueSize {
		return fmt.Errorf("%w: to %s", transport.ErrQueueFull, to)
	}
	l.queue = append(l.queue, packet{tag: tag, data: msg})
	e.sim.observeSend(e.self, j, msg)
	e.sim.schedule(e.self, j)
	return nil
}

func (e *endpoint) Forget(below uint64) {
	for _, l := range e.sim.links[e.self] {
		if l == nil {
			continue
		}
		kept := l.queue[:0]
		for _, p := range l.queue {
			if p.tag >= below {
				kept = append(kept, p)
			}
		}
		clear(l.queue[len(kept):])
		l.queue = kept
	}
}

func (e *endpoint) Receive() <-chan transport.Inbound { return e.recv }

func (e *endpoint) Stats() transport.Stats { return transport.Stats{} }

func (e *endpoint) Close() error {
	e.closed = true
	return nil
}
