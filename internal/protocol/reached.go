package protocol

import "slices"

// Reached tracks, per sender, the highest round it was seen sending, and the
// (F+1)-th highest of them: F Byzantine senders alone cannot raise it, so
// at least one honest node has reached it.
type Reached struct {
	f     int
	seen  []uint32
	round uint32
}

// NewReached returns a tracker for the senders of p.
func NewReached(p Params) *Reached { return &Reached{f: p.F, seen: make([]uint32, p.N)} }

// Round is the (F+1)-th highest round seen.
func (r *Reached) Round() uint32 { return r.round }

// Note records that from was seen sending a message of round.
func (r *Reached) Note(from NodeID, round uint32) {
	old := r.seen[from]
	if round <= old {
		return
	}
	r.seen[from] = round
	if old > r.round || round <= r.round {
		return // the (F+1)-th highest cannot have changed
	}
	sorted := slices.Clone(r.seen)
	slices.Sort(sorted)
	r.round = sorted[len(sorted)-1-r.f]
}

// Seen returns the highest round of each sender, indexed by NodeID; the
// caller must not change it.
func (r *Reached) Seen() []uint32 { return r.seen }
