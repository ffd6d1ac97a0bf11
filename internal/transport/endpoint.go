package transport

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Stream is a reliable, ordered, full-duplex byte stream between this node
// and one peer, whose remote end has already been authenticated by whoever
// made it. If it has a Reset method, the endpoint aborts it with Reset rather
// than Close.
type Stream interface {
	io.Reader
	io.Writer
	io.Closer
}

// DialFunc opens a stream to p. The link that sends to p calls it, with a
// context cancelled when the link stops or after Config.DialTimeout.
type DialFunc func(ctx context.Context, p Peer) (Stream, error)

const (
	readBufferSize  = 64 << 10
	writeBufferSize = 64 << 10
	// ackEvery bounds the frames a receiver delivers before it acknowledges
	// them, when frames keep arriving back to back.
	ackEvery = 64
)

// Endpoint implements Transport over any network that can open and accept
// authenticated streams: it runs this node's links, one outgoing and one
// incoming per member of the node set. The network-specific transport gives
// it a DialFunc and hands it every inbound stream with Serve.
//
// For every member it keeps an outgoing link: a goroutine that, while the
// member's window holds frames not yet written, dials it (with exponential
// backoff between failures), writes the stream header and the frames, and
// reads acknowledgements back. For every inbound stream, Serve reads frames,
// delivers the fresh ones to the Receive channel and writes acknowledgements
// back. A member has at most one inbound stream: a new one replaces the old.
type Endpoint struct {
	self    NodeKey
	cfg     Config
	dial    DialFunc
	inbound chan Inbound
	ctx     context.Context // cancelled by Close
	cancel  context.CancelFunc

	mu     sync.RWMutex
	closed bool
	peers  map[NodeKey]*peerLinks
	wg     sync.WaitGroup // every goroutine of the endpoint

	// departed remembers, for each member that left the set, what its
	// inbound link had delivered, so that a member admitted again cannot
	// make this node deliver a message twice. It grows by one small entry
	// per key ever removed.
	departed map[NodeKey]recvWindow

	totals    linkCounters
	rejectMu  sync.Mutex
	rejected  map[RejectReason]uint64
	rejectLog rejectLog
}

var _ Transport = (*Endpoint)(nil)

// NewEndpoint returns an endpoint for the node with key self that opens
// streams with dial. It starts with an empty node set.
func NewEndpoint(self NodeKey, cfg Config, dial DialFunc) (*Endpoint, error) {
	cfg, err := cfg.WithDefaults()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	rejected := make(map[RejectReason]uint64, len(RejectReasons))
	for _, r := range RejectReasons {
		rejected[r] = 0
	}
	return &Endpoint{
		self:     self,
		cfg:      cfg,
		dial:     dial,
		inbound:  make(chan Inbound, cfg.InboundBuffer),
		ctx:      ctx,
		cancel:   cancel,
		peers:    make(map[NodeKey]*peerLinks),
		departed: make(map[NodeKey]recvWindow),
		rejected: rejected,
	}, nil
}

// linkCounters count what crossed a link (or all links).
type linkCounters struct {
	msgsSent, bytesSent, msgsRecv, bytesRecv, resent, dups atomic.Uint64
}

// peerLinks are the two links with one member.
type peerLinks struct {
	out *outLink
	in  *inLink
}

// SetPeers replaces the node set. Links to new members start; links to
// members that left stop, their queues dropped and their streams closed.
func (e *Endpoint) SetPeers(peers []Peer) error {
	next := make(map[NodeKey]Peer, len(peers))
	for _, p := range peers {
		if _, dup := next[p.Key]; dup {
			return fmt.Errorf("transport: peer %v listed twice", p.Key)
		}
		next[p.Key] = Peer{Key: p.Key, Addrs: slices.Clone(p.Addrs)}
	}
	delete(next, e.self)

	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return ErrClosed
	}
	var left []*peerLinks
	for k, pl := range e.peers {
		if _, ok := next[k]; !ok {
			left = append(left, pl)
			delete(e.peers, k)
			e.departed[k] = pl.in.stop()
		}
	}
	for k, p := range next {
		if pl, ok := e.peers[k]; ok {
			pl.out.setPeer(p)
			continue
		}
		pl := &peerLinks{out: e.newOutLink(p), in: &inLink{window: e.departed[k]}}
		delete(e.departed, k)
		e.peers[k] = pl
		e.wg.Add(1)
		go pl.out.run()
	}
	e.mu.Unlock()

	for _, pl := range left {
		pl.out.cancel()
	}
	return nil
}

// Send queues msg for peer to; see Transport.
func (e *Endpoint) Send(to NodeKey, tag uint64, msg []byte) error {
	if len(msg) > e.cfg.MaxMessageSize {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(msg), e.cfg.MaxMessageSize)
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return ErrClosed
	}
	pl, ok := e.peers[to]
	if !ok {
		if to == e.self {
			return fmt.Errorf("%w: %v is this node's own key", ErrUnknownPeer, to)
		}
		return fmt.Errorf("%w: %v", ErrUnknownPeer, to)
	}
	l := pl.out
	l.mu.Lock()
	_, err := l.window.push(tag, msg)
	l.mu.Unlock()
	if err != nil {
		return fmt.Errorf("%w: %d messages unacknowledged by %v", ErrQueueFull, e.cfg.QueueSize, to)
	}
	l.poke()
	return nil
}

// Forget drops unacknowledged messages with tag < below, to every peer.
func (e *Endpoint) Forget(below uint64) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	for _, pl := range e.peers {
		pl.out.mu.Lock()
		pl.out.window.forget(below)
		pl.out.mu.Unlock()
	}
}

// Receive returns the channel of inbound messages; Close closes it.
func (e *Endpoint) Receive() <-chan Inbound { return e.inbound }

// Reject counts something a remote sent that was refused, inside the
// endpoint or outside it (a connection gater, say), and logs it at a
// bounded rate (Config.Logger). from says who sent it, as well as it is
// known (a key, an address).
func (e *Endpoint) Reject(reason RejectReason, from string) {
	e.rejectMu.Lock()
	e.rejected[reason]++
	write, suppressed := e.rejectLog.note(reason, time.Now(), e.cfg.RejectLogEvery)
	e.rejectMu.Unlock()
	if write {
		e.cfg.Logger.Warn("transport: refused what a remote sent", "reason", string(reason), "from", from,
			"suppressed", suppressed, "log_every", e.cfg.RejectLogEvery)
	}
}

// RejectQuiet counts a refusal as Reject does but logs it only at debug
// level: a refusal that is expected, such as a member dialling a node
// that does not know its set yet (it listens before it is told it).
func (e *Endpoint) RejectQuiet(reason RejectReason, from string) {
	e.rejectMu.Lock()
	e.rejected[reason]++
	e.rejectMu.Unlock()
	e.cfg.Logger.Debug("transport: refused what a remote sent, before the node set is known", "reason", string(reason), "from", from)
}

// rejectLog decides which refusals are logged: at most one per reason per
// period, the others counted until the next line.
type rejectLog struct {
	last       map[RejectReason]time.Time
	suppressed map[RejectReason]uint64
}

// note records a refusal at now: it reports whether to log it, and how
// many of that reason went unlogged since the last line.
func (l *rejectLog) note(reason RejectReason, now time.Time, every time.Duration) (write bool, suppressed uint64) {
	if l.last == nil {
		l.last, l.suppressed = map[RejectReason]time.Time{}, map[RejectReason]uint64{}
	}
	if last, ok := l.last[reason]; ok && now.Sub(last) < every {
		l.suppressed[reason]++
		return false, 0
	}
	suppressed = l.suppressed[reason]
	l.last[reason], l.suppressed[reason] = now, 0
	return true, suppressed
}

// Stats returns a snapshot of the counters.
func (e *Endpoint) Stats() Stats {
	s := Stats{
		MessagesSent:     e.totals.msgsSent.Load(),
		BytesSent:        e.totals.bytesSent.Load(),
		MessagesReceived: e.totals.msgsRecv.Load(),
		BytesReceived:    e.totals.bytesRecv.Load(),
		Resent:           e.totals.resent.Load(),
		Duplicates:       e.totals.dups.Load(),
		Peers:            make(map[NodeKey]PeerStats),
		Rejected:         make(map[RejectReason]uint64),
	}
	e.rejectMu.Lock()
	for r, n := range e.rejected {
		s.Rejected[r] = n
	}
	e.rejectMu.Unlock()
	e.mu.RLock()
	defer e.mu.RUnlock()
	for k, pl := range e.peers {
		pl.out.mu.Lock()
		ps := PeerStats{Queued: pl.out.window.len(), Connected: pl.out.connected}
		pl.out.mu.Unlock()
		ps.MessagesSent = pl.out.counters.msgsSent.Load()
		ps.BytesSent = pl.out.counters.bytesSent.Load()
		ps.Resent = pl.out.counters.resent.Load()
		ps.MessagesReceived = pl.in.counters.msgsRecv.Load()
		ps.BytesReceived = pl.in.counters.bytesRecv.Load()
		ps.Duplicates = pl.in.counters.dups.Load()
		s.Peers[k] = ps
	}
	return s
}

// Close stops every link, waits for every goroutine of the endpoint to end,
// and closes the Receive channel. Calling it again returns nil.
func (e *Endpoint) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	ins := make([]*inLink, 0, len(e.peers))
	for _, pl := range e.peers {
		ins = append(ins, pl.in)
	}
	e.mu.Unlock()

	e.cancel() // stops the outgoing links, their dials and streams
	for _, in := range ins {
		in.stop()
	}
	e.wg.Wait()
	close(e.inbound)
	return nil
}

// abort ends a stream at once, with Reset if it has one.
func abort(s Stream) {
	if r, ok := s.(interface{ Reset() error }); ok {
		_ = r.Reset()
		return
	}
	_ = s.Close()
}

// outLink is the link from this node to one member: its window of
// unacknowledged frames and the goroutine that keeps a stream to the member
// open while there is something to send.
type outLink struct {
	e       *Endpoint
	ctx     context.Context // cancelled when the member leaves or the endpoint closes
	cancel  context.CancelFunc
	session uint64
	wake    chan struct{} // poked when frames are queued

	mu        sync.Mutex
	peer      Peer
	window    sendWindow
	connected bool

	counters linkCounters
}

func (e *Endpoint) newOutLink(p Peer) *outLink {
	ctx, cancel := context.WithCancel(e.ctx)
	return &outLink{
		e:       e,
		ctx:     ctx,
		cancel:  cancel,
		session: rand.Uint64(),
		wake:    make(chan struct{}, 1),
		peer:    p,
		window:  newSendWindow(e.cfg.QueueSize),
	}
}

func (l *outLink) setPeer(p Peer) {
	l.mu.Lock()
	l.peer = p
	l.mu.Unlock()
}

func (l *outLink) poke() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// run keeps the link going until its context ends: while frames wait to be
// written it opens a stream and serves it; after a failed dial, or a stream
// that ended before any acknowledgement came back, it waits with exponential
// backoff.
func (l *outLink) run() {
	defer l.e.wg.Done()
	delay := l.e.cfg.ReconnectMin
	for {
		if !l.awaitFrames() {
			return
		}
		if s, err := l.open(); err == nil && l.serve(s) {
			delay = l.e.cfg.ReconnectMin
			continue
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-l.ctx.Done():
			t.Stop()
			return
		}
		delay = min(2*delay, l.e.cfg.ReconnectMax)
	}
}

// awaitFrames waits until a frame is due; false means the link stopped.
func (l *outLink) awaitFrames() bool {
	for {
		if l.ctx.Err() != nil {
			return false
		}
		l.mu.Lock()
		due := l.window.pending()
		l.mu.Unlock()
		if due {
			return true
		}
		select {
		case <-l.wake:
		case <-l.ctx.Done():
			return false
		}
	}
}

func (l *outLink) open() (Stream, error) {
	ctx, cancel := context.WithTimeout(l.ctx, l.e.cfg.DialTimeout)
	defer cancel()
	l.mu.Lock()
	p := Peer{Key: l.peer.Key, Addrs: slices.Clone(l.peer.Addrs)}
	l.mu.Unlock()
	s, err := l.e.dial(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("transport: dialing %v: %w", p.Key, err)
	}
	return s, nil
}

// serve writes frames on s, from the first unacknowledged one, and reads
// acknowledgements, until the stream fails or the link stops. It reports
// whether the stream worked: an acknowledgement came back, and none was
// malformed.
func (l *outLink) serve(s Stream) bool {
	stop := sync.OnceFunc(func() { abort(s) })
	unwatch := context.AfterFunc(l.ctx, stop)
	defer unwatch()

	l.mu.Lock()
	l.connected = true
	l.window.rewind()
	l.mu.Unlock()

	var acked, malformed atomic.Bool
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		defer stop()
		l.readAcks(s, &acked, &malformed)
	}()
	l.writeFrames(s, readerDone)
	stop()
	<-readerDone

	l.mu.Lock()
	l.connected = false
	l.window.rewind()
	l.mu.Unlock()
	return acked.Load() && !malformed.Load()
}

// writeFrames writes the stream header and then every due frame, flushing
// whenever it runs out of frames, until a write fails, the acknowledgement
// reader ends or the link stops.
func (l *outLink) writeFrames(s Stream, readerDone <-chan struct{}) {
	w := bufio.NewWriterSize(s, writeBufferSize)
	if err := writeStreamHeader(w, l.session); err != nil {
		return
	}
	for {
		l.mu.Lock()
		f, resend, ok := l.window.next()
		l.mu.Unlock()
		if ok {
			if err := writeFrame(w, f); err != nil {
				return
			}
			l.countSent(len(f.data), resend)
			continue
		}
		if w.Buffered() > 0 {
			if err := w.Flush(); err != nil {
				return
			}
			continue
		}
		select {
		case <-l.wake:
		case <-readerDone:
			return
		case <-l.ctx.Done():
			return
		}
	}
}

// readAcks applies the acknowledgements read from s until it fails.
func (l *outLink) readAcks(s Stream, acked, malformed *atomic.Bool) {
	for {
		seq, err := readAck(s)
		if err != nil {
			return
		}
		l.mu.Lock()
		_, err = l.window.ack(seq)
		from := l.peer.Key
		l.mu.Unlock()
		if err != nil {
			l.e.Reject(RejectMalformed, fmt.Sprintf("%v: %v", from, err))
			malformed.Store(true)
			return
		}
		acked.Store(true)
	}
}

func (l *outLink) countSent(n int, resend bool) {
	for _, c := range []*linkCounters{&l.counters, &l.e.totals} {
		c.msgsSent.Add(1)
		c.bytesSent.Add(uint64(n))
		if resend {
			c.resent.Add(1)
		}
	}
}

// inLink is the link from one member to this node: what was delivered, and
// the one inbound stream currently allowed to deliver.
type inLink struct {
	deliverMu sync.Mutex // held by the one reader delivering a frame

	mu      sync.Mutex
	window  recvWindow
	current *inStream

	counters linkCounters
}

// stop ends the current inbound stream (a later one finds the member gone),
// waits for a delivery in progress to finish, and returns what the link
// delivered.
func (in *inLink) stop() recvWindow {
	in.mu.Lock()
	cur := in.current
	in.current = nil
	in.mu.Unlock()
	if cur != nil {
		cur.end() // a delivery waiting for room gives up
	}
	in.deliverMu.Lock()
	defer in.deliverMu.Unlock()
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.window
}

// inStream is one inbound stream and its acknowledgement writer's state.
type inStream struct {
	s       Stream
	gone    chan struct{} // closed by end
	end     func()        // aborts the stream and closes gone, once
	ackSeq  atomic.Uint64 // the highest sequence number to acknowledge
	ackWake chan struct{}
}

func newInStream(s Stream) *inStream {
	st := &inStream{s: s, gone: make(chan struct{}), ackWake: make(chan struct{}, 1)}
	st.end = sync.OnceFunc(func() {
		close(st.gone)
		abort(s)
	})
	return st
}

func (st *inStream) pokeAck() {
	select {
	case st.ackWake <- struct{}{}:
	default:
	}
}

// Serve reads the link stream s that the member with key from opened, until
// it ends: it delivers fresh frames to Receive and acknowledges them. The
// caller must have authenticated from. A stream from a key outside the node
// set is refused and counted. Serve returns when the stream ends, is replaced
// by a newer stream from the same member, or the endpoint closes; the caller
// runs it in a goroutine of its own.
func (e *Endpoint) Serve(from NodeKey, s Stream) {
	e.mu.RLock()
	if e.closed {
		e.mu.RUnlock()
		abort(s)
		return
	}
	pl, ok := e.peers[from]
	if !ok {
		e.mu.RUnlock()
		e.Reject(RejectUnknownPeer, from.String())
		abort(s)
		return
	}
	in := pl.in
	st := newInStream(s)
	in.mu.Lock()
	prev := in.current
	in.current = st
	in.mu.Unlock()
	e.wg.Add(1)
	e.mu.RUnlock()
	defer e.wg.Done()
	if prev != nil {
		prev.end()
	}
	defer st.end()
	e.readFrames(from, in, st)
}

// readFrames runs one inbound stream: header, then frames.
func (e *Endpoint) readFrames(from NodeKey, in *inLink, st *inStream) {
	r := bufio.NewReaderSize(st.s, readBufferSize)
	session, err := readStreamHeader(r)
	if err != nil {
		if errors.Is(err, errBadMagic) {
			e.Reject(RejectMalformed, fmt.Sprintf("%v: %v", from, err))
		}
		return
	}
	in.mu.Lock()
	if in.current != st {
		in.mu.Unlock()
		return
	}
	last := in.window.begin(session)
	in.mu.Unlock()

	ackDone := make(chan struct{})
	go func() {
		defer close(ackDone)
		writeAcks(st)
	}()
	defer func() {
		st.end()
		<-ackDone
	}()
	if last > 0 {
		st.ackSeq.Store(last)
		st.pokeAck()
	}

	unacked := 0
	for {
		f, err := readFrame(r, e.cfg.MaxMessageSize)
		if err != nil {
			if errors.Is(err, errFrameTooLarge) {
				e.Reject(RejectTooLarge, fmt.Sprintf("%v: %v", from, err))
			}
			return
		}
		ack, ok := e.deliver(from, in, st, session, f)
		if !ok {
			return
		}
		if ack {
			unacked++
		}
		if unacked > 0 && (r.Buffered() == 0 || unacked >= ackEvery) {
			st.pokeAck()
			unacked = 0
		}
	}
}

// deliver hands a frame to Receive if it is fresh, and raises the stream's
// acknowledgement. It reports whether there is something new to
// acknowledge, and ok false when the stream must stop (replaced, or the
// endpoint closed).
func (e *Endpoint) deliver(from NodeKey, in *inLink, st *inStream, session uint64, f outFrame) (ack, ok bool) {
	in.deliverMu.Lock()
	defer in.deliverMu.Unlock()
	in.mu.Lock()
	current := in.current == st
	fresh := in.window.fresh(session, f.seq)
	last := in.window.last
	in.mu.Unlock()
	if !current {
		return false, false
	}
	if !fresh {
		in.counters.dups.Add(1)
		e.totals.dups.Add(1)
		// A duplicate may be a frame an earlier stream delivered after this
		// one began: acknowledge it, or the sender would keep it.
		if last > st.ackSeq.Load() && f.seq <= last {
			st.ackSeq.Store(last)
			return true, true
		}
		return false, true
	}
	msg := Inbound{From: from, Tag: f.tag, Data: f.data}
	select {
	case e.inbound <- msg:
	default:
		// The consumer is behind: acknowledge what got through, then wait
		// for room without reading further (backpressure).
		st.pokeAck()
		select {
		case e.inbound <- msg:
		case <-st.gone:
			return false, false
		case <-e.ctx.Done():
			return false, false
		}
	}
	in.mu.Lock()
	in.window.delivered(session, f.seq)
	in.mu.Unlock()
	st.ackSeq.Store(f.seq)
	for _, c := range []*linkCounters{&in.counters, &e.totals} {
		c.msgsRecv.Add(1)
		c.bytesRecv.Add(uint64(len(f.data)))
	}
	return true, true
}

// writeAcks writes the acknowledgements of one inbound stream whenever it is
// poked, coalescing pokes, until the stream ends.
func writeAcks(st *inStream) {
	var sent uint64
	for {
		select {
		case <-st.ackWake:
		case <-st.gone:
			return
		}
		seq := st.ackSeq.Load()
		if seq <= sent {
			continue
		}
		if err := writeAck(st.s, seq); err != nil {
			st.end()
			return
		}
		sent = seq
	}
}
