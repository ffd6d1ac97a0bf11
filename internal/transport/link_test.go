package transport

import (
	"errors"
	"math/rand/v2"
	"testing"
)

func mustPush(t *testing.T, w *sendWindow, tag uint64) uint64 {
	t.Helper()
	seq, err := w.push(tag, []byte{byte(tag)})
	if err != nil {
		t.Fatalf("push tag %d: %v", tag, err)
	}
	return seq
}

// drain writes every due frame and returns their sequence numbers and how
// many were re-sends.
func drain(w *sendWindow) (seqs []uint64, resent int) {
	for {
		f, resend, ok := w.next()
		if !ok {
			return seqs, resent
		}
		seqs = append(seqs, f.seq)
		if resend {
			resent++
		}
	}
}

func equalSeqs(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSendWindowLimit(t *testing.T) {
	w := newSendWindow(3)
	for i := range 3 {
		if seq := mustPush(t, &w, 1); seq != uint64(i+1) {
			t.Fatalf("push %d got seq %d, want %d", i, seq, i+1)
		}
	}
	if _, err := w.push(1, nil); !errors.Is(err, errWindowFull) {
		t.Fatalf("push into a full window: %v, want errWindowFull", err)
	}
	drain(&w)
	if _, err := w.ack(2); err != nil {
		t.Fatal(err)
	}
	if w.len() != 1 {
		t.Fatalf("len after ack 2 = %d, want 1", w.len())
	}
	if seq := mustPush(t, &w, 1); seq != 4 {
		t.Fatalf("seq after ack = %d, want 4", seq)
	}
}

func TestSendWindowRewindResends(t *testing.T) {
	w := newSendWindow(10)
	for range 5 {
		mustPush(t, &w, 1)
	}
	seqs, resent := drain(&w)
	if !equalSeqs(seqs, []uint64{1, 2, 3, 4, 5}) || resent != 0 {
		t.Fatalf("first connection wrote %v (%d re-sent)", seqs, resent)
	}
	if _, err := w.ack(2); err != nil {
		t.Fatal(err)
	}
	if w.pending() {
		t.Fatal("frames due before the connection was lost")
	}
	w.rewind()
	mustPush(t, &w, 1)
	seqs, resent = drain(&w)
	if !equalSeqs(seqs, []uint64{3, 4, 5, 6}) || resent != 3 {
		t.Fatalf("after rewind wrote %v (%d re-sent), want [3 4 5 6] (3 re-sent)", seqs, resent)
	}
}

func TestSendWindowAckOfUnsentAfterRewind(t *testing.T) {
	w := newSendWindow(10)
	for range 4 {
		mustPush(t, &w, 1)
	}
	drain(&w)
	w.rewind()
	// The receiver tells the new connection it already has 1..3: those are
	// dropped although not written on this connection.
	if n, err := w.ack(3); err != nil || n != 3 {
		t.Fatalf("ack 3 = %d, %v; want 3 dropped", n, err)
	}
	seqs, _ := drain(&w)
	if !equalSeqs(seqs, []uint64{4}) {
		t.Fatalf("wrote %v, want [4]", seqs)
	}
	// An ack in the middle of a connection keeps the written count right.
	mustPush(t, &w, 1)
	mustPush(t, &w, 1)
	f, _, _ := w.next() // 5
	if f.seq != 5 {
		t.Fatalf("next = %d, want 5", f.seq)
	}
	if _, err := w.ack(4); err != nil {
		t.Fatal(err)
	}
	seqs, _ = drain(&w)
	if !equalSeqs(seqs, []uint64{6}) {
		t.Fatalf("wrote %v, want [6]", seqs)
	}
}

func TestSendWindowAckBeyondSent(t *testing.T) {
	w := newSendWindow(10)
	mustPush(t, &w, 1)
	mustPush(t, &w, 1)
	w.next()
	if _, err := w.ack(2); !errors.Is(err, errAckBeyondSent) {
		t.Fatalf("ack of an unsent frame: %v, want errAckBeyondSent", err)
	}
	if w.len() != 2 {
		t.Fatalf("a refused ack dropped frames: len %d", w.len())
	}
}

func TestSendWindowForget(t *testing.T) {
	w := newSendWindow(10)
	tags := []uint64{1, 2, 1, 3, 2, 1} // seqs 1..6
	for _, tag := range tags {
		mustPush(t, &w, tag)
	}
	// Write 1..4, then forget tags < 2: drops seqs 1, 3 (written) and 6 (not).
	for range 4 {
		w.next()
	}
	if n := w.forget(2); n != 3 {
		t.Fatalf("forget dropped %d, want 3", n)
	}
	if w.len() != 3 {
		t.Fatalf("len = %d, want 3", w.len())
	}
	seqs, _ := drain(&w)
	if !equalSeqs(seqs, []uint64{5}) {
		t.Fatalf("after forget wrote %v, want [5]", seqs)
	}
	w.rewind()
	seqs, _ = drain(&w)
	if !equalSeqs(seqs, []uint64{2, 4, 5}) {
		t.Fatalf("after rewind wrote %v, want [2 4 5]", seqs)
	}
	if n := w.forget(10); n != 3 || w.len() != 0 || w.pending() {
		t.Fatalf("forget all dropped %d, len %d, pending %v", n, w.len(), w.pending())
	}
}

func TestRecvWindow(t *testing.T) {
	var r recvWindow
	if last := r.begin(7); last != 0 {
		t.Fatalf("new session last = %d", last)
	}
	for _, seq := range []uint64{1, 2, 5} { // 3 and 4 were forgotten by the sender
		if !r.fresh(7, seq) {
			t.Fatalf("seq %d not fresh", seq)
		}
		r.delivered(7, seq)
	}
	for _, seq := range []uint64{1, 4, 5} {
		if r.fresh(7, seq) {
			t.Fatalf("seq %d fresh after 5 was delivered", seq)
		}
	}
	if r.fresh(8, 6) {
		t.Fatal("a frame of another session is fresh before that session begins")
	}
	if last := r.begin(7); last != 5 {
		t.Fatalf("reconnect in the same session: last = %d, want 5", last)
	}
	if last := r.begin(8); last != 0 || !r.fresh(8, 1) {
		t.Fatalf("new session: last = %d, fresh(1) = %v", last, r.fresh(8, 1))
	}
	r.delivered(7, 100) // a late delivery from the old session changes nothing
	if !r.fresh(8, 2) {
		t.Fatal("old session's delivery moved the new session")
	}
}

// TestLinkModel runs a sender and a receiver through random connections,
// losses, acknowledgements and forgets, and checks the link's promises:
// delivery in sequence order, at most once, and every message not forgotten
// delivered once the link stays up.
func TestLinkModel(t *testing.T) {
	for seed := range uint64(200) {
		rng := rand.New(rand.NewPCG(seed, 1))
		w := newSendWindow(16)
		var r recvWindow
		const session = 42
		var delivered []uint64
		forgotten := map[uint64]bool{}
		tags := map[uint64]uint64{}
		var inFlight []outFrame // written on the current connection, not yet read
		r.begin(session)
		acked := uint64(0)
		tag := uint64(1)
		for step := 0; step < 400; step++ {
			switch rng.IntN(7) {
			case 0, 1: // queue a message
				if seq, err := w.push(tag, nil); err == nil {
					tags[seq] = tag
				}
				if rng.IntN(5) == 0 {
					tag++
				}
			case 2: // write a frame
				if f, _, ok := w.next(); ok {
					inFlight = append(inFlight, f)
				}
			case 3: // the receiver reads a frame
				if len(inFlight) > 0 {
					f := inFlight[0]
					inFlight = inFlight[1:]
					if r.fresh(session, f.seq) {
						r.delivered(session, f.seq)
						delivered = append(delivered, f.seq)
					}
				}
			case 4: // an acknowledgement arrives
				acked = r.last
				if _, err := w.ack(acked); err != nil {
					t.Fatalf("seed %d: %v", seed, err)
				}
			case 5: // the connection drops: frames in flight are lost
				inFlight = nil
				w.rewind()
				if _, err := w.ack(r.begin(session)); err != nil {
					t.Fatalf("seed %d: %v", seed, err)
				}
			case 6: // an epoch closes
				if rng.IntN(4) == 0 && tag > 1 {
					below := tag - 1
					for _, f := range w.frames {
						if f.tag < below {
							forgotten[f.seq] = true
						}
					}
					w.forget(below)
				}
			}
		}
		// Heal: a fresh connection, everything written and read.
		inFlight = nil
		w.rewind()
		if _, err := w.ack(r.begin(session)); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		for {
			f, _, ok := w.next()
			if !ok {
				break
			}
			if r.fresh(session, f.seq) {
				r.delivered(session, f.seq)
				delivered = append(delivered, f.seq)
			}
		}
		seen := map[uint64]bool{}
		for i, seq := range delivered {
			if i > 0 && seq <= delivered[i-1] {
				t.Fatalf("seed %d: delivered %d after %d", seed, seq, delivered[i-1])
			}
			seen[seq] = true
		}
		for seq := uint64(1); seq <= w.lastSeq; seq++ {
			if !seen[seq] && !forgotten[seq] {
				t.Fatalf("seed %d: message %d (tag %d) neither delivered nor forgotten", seed, seq, tags[seq])
			}
		}
	}
}
