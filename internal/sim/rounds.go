package sim

import (
	"math"

	"github.com/mass-consensus/mass/internal/protocol/aba"
	"github.com/mass-consensus/mass/internal/protocol/epoch"
	"github.com/mass-consensus/mass/internal/protocol/raba"
)

// RoundBuckets is the size of the decision-round histogram: rounds 1 to
// RoundBuckets−1, then the tail (RoundBuckets and later).
const RoundBuckets = 16

// Rounds is the distribution of the decision rounds of agreement instances.
//
// The decision round of an instance (an epoch and a proposer) is the round
// in which the first honest node decided it, by its own votes: the first
// decision announcement (TERM) an honest node sends for the instance is
// always its own decision, since adopting one needs F+1 announcements, one
// of them honest; and it is sent before anything of the next round, so the
// round of the last step message the node sent (Bracha's VAL; the quadratic
// agreement's Aux, Conf or Final, never relayed) is the decision round.
// The other honest nodes decide in that round or the next.
type Rounds struct {
	Hist      [RoundBuckets]uint64 // Hist[r-1]: instances decided in round r; the last bucket: in that round or later
	Instances uint64
	Sum       uint64 // of the decision rounds
	Max       uint32
}

// Add counts an instance decided in round r.
func (d *Rounds) Add(r uint32) {
	d.Hist[min(int(r), RoundBuckets)-1]++
	d.Instances++
	d.Sum += uint64(r)
	d.Max = max(d.Max, r)
}

// Merge adds the instances of o.
func (d *Rounds) Merge(o Rounds) {
	for i, c := range o.Hist {
		d.Hist[i] += c
	}
	d.Instances += o.Instances
	d.Sum += o.Sum
	d.Max = max(d.Max, o.Max)
}

// Mean is the mean decision round.
func (d *Rounds) Mean() float64 {
	if d.Instances == 0 {
		return 0
	}
	return float64(d.Sum) / float64(d.Instances)
}

// Quantile is the least round by which a fraction q of the instances were
// decided: RoundBuckets means that round or later; 0 if there is none.
func (d *Rounds) Quantile(q float64) uint32 {
	if d.Instances == 0 {
		return 0
	}
	// The tolerance keeps q·n from rounding up past an integer.
	need := uint64(math.Ceil(q*float64(d.Instances) - 1e-9))
	var seen uint64
	for i, c := range d.Hist {
		seen += c
		if seen >= max(need, 1) {
			return uint32(i + 1)
		}
	}
	return RoundBuckets
}

// roundWatch follows, from the honest nodes' messages, each instance until
// its first honest decision.
type roundWatch struct {
	inst    map[instKey]*instRounds
	retired uint64 // epochs below are output by every honest node
}

type instRounds struct {
	round   []uint32 // per node: the round of its last own step message
	decided bool
}

// note learns from a message honest node n sends.
func (rw *roundWatch) note(s *sim, n *node, m *epoch.Message) {
	if m.ACS == nil || (m.ACS.ABA == nil && m.ACS.RABA == nil) || m.Epoch < rw.retired {
		return
	}
	var round uint32
	term := false
	switch a, q := m.ACS.ABA, m.ACS.RABA; {
	case a != nil && a.Kind == aba.KindTerm, q != nil && q.Kind == raba.KindTerm:
		term = true
	case a != nil && a.Kind == aba.KindVal && a.Origin == n.id:
		round = a.Round
	case q != nil && q.Kind >= raba.KindAux && q.Kind <= raba.KindFinal:
		round = q.Round
	default:
		return
	}
	if rw.inst == nil {
		rw.inst = make(map[instKey]*instRounds)
	}
	k := instKey{m.Epoch, m.ACS.Proposer}
	ir := rw.inst[k]
	if ir == nil {
		ir = &instRounds{round: make([]uint32, s.cfg.N)}
		rw.inst[k] = ir
	}
	switch {
	case ir.decided:
	case term:
		ir.decided = true
		s.res.Rounds.Add(max(ir.round[n.id], 1))
		ir.round = nil
	default:
		ir.round[n.id] = max(ir.round[n.id], round)
	}
}

// retire forgets the instances of the epochs below ep, which every honest
// node has output (so each has had its first decision).
func (rw *roundWatch) retire(ep uint64) {
	if ep <= rw.retired {
		return
	}
	rw.retired = ep
	forgetBelow(rw.inst, ep)
}

// forgetBelow deletes the instances of the epochs below ep.
func forgetBelow[V any](m map[instKey]V, ep uint64) {
	for k := range m {
		if k.ep < ep {
			delete(m, k)
		}
	}
}
