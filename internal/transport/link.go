package transport

import (
	"errors"
	"fmt"
)

// This file holds the sequencing rules of a link, from a sender to a
// receiver, with no I/O:
//
//   - The sender numbers its messages 1, 2, 3, … within a session (a random
//     number chosen when the link is created, so that a new sender is never
//     mistaken for an old one) and keeps every message until the receiver
//     acknowledges it (sendWindow).
//   - On each new connection the sender starts again from its first
//     unacknowledged message.
//   - The receiver delivers a frame only if its sequence number is above the
//     last one it delivered in that session, and acknowledges the highest
//     delivered number, cumulatively (recvWindow). Sequence numbers may skip:
//     the sender forgets messages of closed epochs.

// errWindowFull is returned by sendWindow.push when the window holds its
// limit of unacknowledged frames.
var errWindowFull = errors.New("window full")

// errAckBeyondSent is returned by sendWindow.ack for an acknowledgement of a
// frame never sent.
var errAckBeyondSent = errors.New("acknowledgement of a frame never sent")

// outFrame is one message in a sender's window.
type outFrame struct {
	seq  uint64
	tag  uint64
	data []byte
}

// sendWindow is the sender's side of a link: the frames not yet acknowledged,
// in sequence order, and how many of them were written on the current
// connection.
type sendWindow struct {
	limit       int
	lastSeq     uint64     // the sequence number of the last pushed frame
	frames      []outFrame // unacknowledged, ascending seq
	sent        int        // frames[:sent] were written on this connection
	highestSent uint64     // the highest seq ever written, on any connection
}

func newSendWindow(limit int) sendWindow { return sendWindow{limit: limit} }

// push appends a message and returns its sequence number.
func (w *sendWindow) push(tag uint64, data []byte) (uint64, error) {
	if len(w.frames) >= w.limit {
		return 0, errWindowFull
	}
	w.lastSeq++
	w.frames = append(w.frames, outFrame{seq: w.lastSeq, tag: tag, data: data})
	return w.lastSeq, nil
}

// next returns the next frame to write on the current connection and marks
// it written; resend reports that it was written before, on an earlier
// connection. ok is false when every frame has been written.
func (w *sendWindow) next() (f outFrame, resend, ok bool) {
	if w.sent == len(w.frames) {
		return outFrame{}, false, false
	}
	f = w.frames[w.sent]
	w.sent++
	resend = f.seq <= w.highestSent
	if f.seq > w.highestSent {
		w.highestSent = f.seq
	}
	return f, resend, true
}

// pending reports whether a frame is waiting to be written.
func (w *sendWindow) pending() bool { return w.sent < len(w.frames) }

// ack drops the frames with seq ≤ upTo: the receiver has delivered them. It
// returns how many were dropped.
func (w *sendWindow) ack(upTo uint64) (int, error) {
	if upTo > w.highestSent {
		return 0, fmt.Errorf("%w: ack %d, highest sent %d", errAckBeyondSent, upTo, w.highestSent)
	}
	n := 0
	for n < len(w.frames) && w.frames[n].seq <= upTo {
		n++
	}
	w.drop(n)
	return n, nil
}

// drop removes the first n frames.
func (w *sendWindow) drop(n int) {
	if n == 0 {
		return
	}
	clear(w.frames[:n]) // release the payloads
	w.frames = w.frames[n:]
	w.sent = max(0, w.sent-n)
	if len(w.frames) == 0 {
		w.frames = nil
	}
}

// rewind makes every unacknowledged frame due again: the connection was lost,
// and the next one starts from the first unacknowledged frame.
func (w *sendWindow) rewind() { w.sent = 0 }

// forget drops the frames with tag < below, written or not, and returns how
// many were dropped.
func (w *sendWindow) forget(below uint64) int {
	kept := w.frames[:0]
	sent := 0
	for i, f := range w.frames {
		if f.tag < below {
			continue
		}
		if i < w.sent {
			sent++
		}
		kept = append(kept, f)
	}
	n := len(w.frames) - len(kept)
	clear(w.frames[len(kept):])
	w.frames = kept
	w.sent = sent
	return n
}

// len returns the number of unacknowledged frames.
func (w *sendWindow) len() int { return len(w.frames) }

// recvWindow is the receiver's side of a link: the session of the sender and
// the last sequence number delivered in it.
type recvWindow struct {
	session uint64
	last    uint64
}

// begin starts reading a connection of the given session and returns the
// last sequence number delivered in it (0 for a new session), which the
// receiver acknowledges at once so the sender need not re-send it.
func (w *recvWindow) begin(session uint64) uint64 {
	if session != w.session {
		w.session, w.last = session, 0
	}
	return w.last
}

// fresh reports whether a frame is new: of the current session and after the
// last delivered.
func (w *recvWindow) fresh(session, seq uint64) bool {
	return session == w.session && seq > w.last
}

// delivered records that a frame reached the receiver's consumer.
func (w *recvWindow) delivered(session, seq uint64) {
	if session == w.session && seq > w.last {
		w.last = seq
	}
}
