// Package transport owns the point-to-point links between the nodes of a node
// set: authenticated, bounded, ordered and retrying. A Transport sends opaque
// messages to the members of the current node set and hands back the messages
// they send; it knows nothing of what the messages mean.
//
// Every link from this node to a peer keeps the messages the peer has not yet
// acknowledged (at most Config.QueueSize of them) and re-sends them, from the
// first unacknowledged one, whenever the link reconnects; the receiver drops
// what it already delivered, so each message is delivered at most once and in
// the order it was sent. Forget drops messages of closed epochs, which is how
// a sender to a dead or Byzantine peer frees its queue. The receiving side
// never drops a message to make room: when the Receive channel is full it stops
// reading from the network, and the sender's queue fills up instead.
//
// The sequencing and acknowledgement rules are in link.go, the stream format
// in frame.go, and the engine that runs links over any reliable byte stream is
// Endpoint. Two transports share that engine: transport/mem (an in-memory
// network for tests, with partitions and dropped connections) and
// transport/p2p (go-libp2p with Noise, yamux, TCP and QUIC). The conformance
// suite both must pass is transport/transporttest.
//
// This package and its children never import the consensus protocol packages
// (internal/protocol/...), and the consensus core never imports them: the node
// runtime connects the two.
package transport

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// NodeKey is a node's ed25519 public key (32 bytes): its identity on the
// network.
type NodeKey [32]byte

// String returns the first eight bytes of the key in hex, for logs.
func (k NodeKey) String() string { return fmt.Sprintf("%x", k[:8]) }

// Peer is a member of the current node set.
type Peer struct {
	Key NodeKey
	// Addrs are where the peer listens: multiaddrs for p2p, free-form (and
	// ignored) for mem.
	Addrs []string
}

// Inbound is a message received from an authenticated member of the node set.
type Inbound struct {
	From NodeKey
	// Tag is the sequence tag the sender gave the message (its epoch).
	Tag  uint64
	Data []byte
}

// Transport sends opaque messages to members of the node set.
type Transport interface {
	// SetPeers replaces the node set: only these keys may send or receive;
	// connections to others are closed. The node's own key may be in the
	// set; it is ignored (a node delivers its own messages itself). Messages
	// queued for a peer that leaves the set are dropped.
	SetPeers(peers []Peer) error
	// Send queues msg for peer to, tagged with a sequence tag (the consensus
	// epoch). It never blocks: a full per-peer queue returns ErrQueueFull; an
	// unknown peer ErrUnknownPeer; an oversized message ErrTooLarge. The
	// transport keeps msg until it is acknowledged: the caller must not
	// modify it after Send.
	//
	// Messages are delivered in order per peer, at most once; a message not
	// yet acknowledged by the receiver is re-sent after a reconnect, until
	// Forget drops it.
	Send(to NodeKey, tag uint64, msg []byte) error
	// Forget drops unacknowledged messages with tag < below (their epochs
	// are closed), to every peer.
	Forget(below uint64)
	// Receive returns the channel of inbound messages. It is bounded: when
	// it is full the transport stops reading from the network
	// (backpressure) rather than dropping. Close closes it.
	Receive() <-chan Inbound
	// Stats returns a snapshot of the counters.
	Stats() Stats
	// Close stops every link and goroutine, and closes the Receive channel.
	// Calling it again returns nil.
	Close() error
}

// Errors of Send, SetPeers and Close; each is returned wrapped with details.
var (
	ErrQueueFull   = errors.New("transport: peer queue full")
	ErrUnknownPeer = errors.New("transport: unknown peer")
	ErrTooLarge    = errors.New("transport: message too large")
	ErrClosed      = errors.New("transport: closed")
)

// Config holds the limits of a transport. The zero value of a field means its
// default.
type Config struct {
	// MaxMessageSize bounds one message, on send and on receive (default
	// 16 MiB, at most MaxMessageSizeLimit).
	MaxMessageSize int
	// QueueSize bounds the unacknowledged messages kept for one peer
	// (default 4096).
	QueueSize int
	// InboundBuffer is the capacity of the Receive channel (default 1024).
	InboundBuffer int
	// ReconnectMin and ReconnectMax bound the exponential backoff between
	// attempts to reach a peer (defaults 50 ms and 5 s).
	ReconnectMin time.Duration
	ReconnectMax time.Duration
	// DialTimeout bounds one attempt to open a link (default 10 s).
	DialTimeout time.Duration
	// Logger receives a line for what remotes send that is refused (see
	// RejectReason); nil discards. At most one line per reason per
	// RejectLogEvery (default 10 s) is written, with the count of those
	// not logged since the last one: a flood of garbage costs a line, not
	// a line each.
	Logger         *slog.Logger
	RejectLogEvery time.Duration
}

// Defaults of Config.
const (
	DefaultMaxMessageSize = 16 << 20
	DefaultQueueSize      = 4096
	DefaultInboundBuffer  = 1024
	DefaultReconnectMin   = 50 * time.Millisecond
	DefaultReconnectMax   = 5 * time.Second
	DefaultDialTimeout    = 10 * time.Second
	DefaultRejectLogEvery = 10 * time.Second

	// MaxMessageSizeLimit is the largest MaxMessageSize accepted: a frame's
	// length field must fit in 32 bits.
	MaxMessageSizeLimit = 1 << 30
)

// WithDefaults returns c with every zero field set to its default, or an
// error if a field is negative or out of range.
func (c Config) WithDefaults() (Config, error) {
	setInt := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	setDur := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	setInt(&c.MaxMessageSize, DefaultMaxMessageSize)
	setInt(&c.QueueSize, DefaultQueueSize)
	setInt(&c.InboundBuffer, DefaultInboundBuffer)
	setDur(&c.ReconnectMin, DefaultReconnectMin)
	setDur(&c.ReconnectMax, DefaultReconnectMax)
	setDur(&c.DialTimeout, DefaultDialTimeout)
	setDur(&c.RejectLogEvery, DefaultRejectLogEvery)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case c.MaxMessageSize < 0 || c.MaxMessageSize > MaxMessageSizeLimit:
		return c, fmt.Errorf("transport: MaxMessageSize %d out of range [1, %d]", c.MaxMessageSize, MaxMessageSizeLimit)
	case c.QueueSize < 0:
		return c, fmt.Errorf("transport: negative QueueSize %d", c.QueueSize)
	case c.InboundBuffer < 0:
		return c, fmt.Errorf("transport: negative InboundBuffer %d", c.InboundBuffer)
	case c.ReconnectMin < 0 || c.ReconnectMax < c.ReconnectMin:
		return c, fmt.Errorf("transport: reconnect backoff [%v, %v] is not a range", c.ReconnectMin, c.ReconnectMax)
	case c.DialTimeout < 0:
		return c, fmt.Errorf("transport: negative DialTimeout %v", c.DialTimeout)
	case c.RejectLogEvery < 0:
		return c, fmt.Errorf("transport: negative RejectLogEvery %v", c.RejectLogEvery)
	}
	return c, nil
}

// RejectReason says why the transport refused something a remote sent.
type RejectReason string

// Reasons counted in Stats.Rejected.
const (
	// RejectUnknownPeer: a connection or stream from a key outside the node
	// set (or one that is not an ed25519 key).
	RejectUnknownPeer RejectReason = "unknown-peer"
	// RejectTooLarge: a frame longer than MaxMessageSize; its stream is
	// closed.
	RejectTooLarge RejectReason = "too-large"
	// RejectMalformed: a stream that does not follow the frame format, or an
	// acknowledgement of a message never sent; its stream is closed.
	RejectMalformed RejectReason = "malformed"
	// RejectGarbage: an inbound connection that ended before it agreed on
	// a security protocol: raw bytes, an HTTP request, a port scan, a
	// client offering no protocol this node speaks, or silence until the
	// handshake timeout (transport/p2p, TCP).
	RejectGarbage RejectReason = "garbage"
	// RejectHandshake: an inbound connection that agreed on a security
	// protocol but whose handshake failed or timed out (transport/p2p,
	// TCP with Noise).
	RejectHandshake RejectReason = "handshake"
)

// RejectReasons are all the reasons, so that counters can be shown from
// the start, at zero.
var RejectReasons = []RejectReason{
	RejectUnknownPeer, RejectTooLarge, RejectMalformed, RejectGarbage, RejectHandshake,
}

// Stats is a snapshot of a transport's counters. Bytes count message
// payloads, not framing.
type Stats struct {
	// Peers has an entry for every member of the node set.
	Peers map[NodeKey]PeerStats
	// Totals since the transport started, including peers that have left.
	MessagesSent     uint64 // frames written, re-sends included
	BytesSent        uint64
	MessagesReceived uint64 // messages delivered to Receive
	BytesReceived    uint64
	Resent           uint64 // frames written again after a reconnect
	Duplicates       uint64 // frames received again and dropped
	// Rejected counts what remotes sent that was refused, by reason: every
	// reason of RejectReasons, at zero if none.
	Rejected map[RejectReason]uint64
}

// PeerStats are the counters of the links with one peer.
type PeerStats struct {
	// Queued is the number of messages to this peer not yet acknowledged
	// (sent or not).
	Queued int
	// Connected reports whether the link to this peer is up.
	Connected        bool
	MessagesSent     uint64
	BytesSent        uint64
	MessagesReceived uint64
	BytesReceived    uint64
	Resent           uint64
	Duplicates       uint64
}
