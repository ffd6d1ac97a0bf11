package protocol

import "testing"

// F senders alone cannot raise the (F+1)-th highest round; F+1 can, and a
// sender's round never goes back.
func TestReached(t *testing.T) {
	p, _ := NewParams(7) // F = 2
	r := NewReached(p)
	r.Note(0, 1_000_000)
	r.Note(1, 900_000)
	if r.Round() != 0 {
		t.Fatalf("two senders raised it to %d", r.Round())
	}
	r.Note(2, 5)
	if r.Round() != 5 {
		t.Fatalf("third highest of {1e6, 9e5, 5}: got %d", r.Round())
	}
	r.Note(3, 7)
	if r.Round() != 7 {
		t.Fatalf("third highest of {1e6, 9e5, 7, 5}: got %d", r.Round())
	}
	r.Note(3, 2) // lower than seen: ignored
	r.Note(2, 8)
	if r.Round() != 8 || r.Seen()[3] != 7 {
		t.Fatalf("round %d, seen %v", r.Round(), r.Seen())
	}
}
