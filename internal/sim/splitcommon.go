package sim

import (
	"github.com/mass-consensus/mass/internal/protocol"
	"github.com/mass-consensus/mass/internal/protocol/acs"
	"github.com/mass-consensus/mass/internal/protocol/epoch"
	"github.com/mass-consensus/mass/internal/protocol/raba"
)

// The splitting scheduler against the common-coin rounds of the quadratic
// agreement (the threshold coin; package raba).
//
// Such a round ends right after Conf: a node whose first N−F valid Conf are
// all Conf({w}) keeps w, and decides it if w is the round's coin c; any
// other node takes c. So the best the adversary can do is to have some
// honest nodes confirm {¬c} and the others nothing (⊥): the former keep ¬c,
// the latter take c, and the next round is split again. Confirming {v}
// takes N−F Conf({v}), of which N−2F honest, which each need N−F Aux(v) as
// their first valid Aux. So in every round it shapes, the scheduler steers
// every honest node to the round's aim v: v enters bin_values first (the
// other value's BVal is held until the node has sent Aux), only Aux(v) are
// handed before the node sends Conf, and the helpers send BVal of both
// values and Aux(v). Every honest node then sends Conf({v}); what a node
// confirms is decided by the Conf it is handed: the helpers send it
// Conf({v}) (it confirms v) or Conf({0,1}) (⊥, the scheduler holding its
// (N−F)-th single-valued Conf until that one is in).
//
//   - A round with a scheduled coin (round 1: 1; raba.ScheduledCoin) tosses
//     none. The aim is ¬c; the late half of the honest nodes confirms it,
//     the early half gets ⊥.
//   - From round 2 the coin is unknown until an honest node tosses it, which
//     it does once its own Conf are in. The aim is a guess g, the first
//     estimate an honest node reveals in the round (so what was handed
//     before the round was known to be split points the same way). Until
//     the coin is known every node is headed for ⊥, and one node (the first
//     to send Conf; more if there are fewer than F faulty nodes) gets the
//     helpers' Conf({0,1}) and ends the round: its share reveals the coin
//     (coinSight). Then the others, held so far, get
//     {¬c} where that is still possible (c ≠ g), and ⊥ where it is not: a
//     node that confirmed c would decide it, while with ⊥ it takes c without
//     deciding, and the next round is unanimous but undecided until its coin
//     is c again. Confirming ¬c after the reveal is the attack on rules
//     where a late node could still adopt a value; here any N−F Conf hold an
//     honest one sent before the first toss, so with c = g it cannot work.
//   - With foresight (a test's predictable coin) every round is like round
//     1: the aim is ¬c from the start, and the split never ends during the
//     fault phase.
//
// A round is shaped while the honest estimates are split, or not all known
// yet (an undecided node has not revealed its own): round 1 of a victim
// always. The helpers never send their coin shares during the fault phase
// (transform drops their agreement messages): the honest nodes must do
// without them, and do, F+1 of them being honest.

// planFree is a node's plan when nothing it is handed in a round's Conf step
// is held: the node that ends a round first when no helper can send it
// Conf({0,1}).
const planFree uint8 = 0xff

// commonRound is the scheduler's plan for one common-coin round of an
// instance.
type commonRound struct {
	aim    uint8 // the guess g of a round whose coin is unknown at first
	aimSet bool
	// plan is, per node, the Conf the helpers sent it (SetZero or SetOne:
	// it is to confirm that value; SetBoth: ⊥), planFree, or 0 while
	// undecided (headed for ⊥, without the helpers' Conf).
	plan     []uint8
	early    int  // the nodes let end the round before the coin is known
	revealed bool // the coin's reveal was acted on
}

func (sp *splitter) commonRound(w *watch, r uint32) *commonRound {
	if w.common == nil {
		w.common = make(map[uint32]*commonRound)
	}
	cr := w.common[r]
	if cr == nil {
		cr = &commonRound{plan: make([]uint8, len(w.pos))}
		w.common[r] = cr
	}
	return cr
}

// coinOf returns the coin of round r of an instance if the adversary knows
// it, and whether it knew it before anybody tossed it: the rounds package
// raba schedules a coin for toss none, and the adversary knows their coin.
func (sp *splitter) coinOf(k instKey, r uint32) (c, known, ahead bool) {
	if v, ok := raba.ScheduledCoin(r); ok {
		return v, true, true
	}
	if sp.a.coins == nil {
		return false, false, false
	}
	return sp.a.coins.value(k, r)
}

// aimOf is the value round r is steered to: ¬c when the coin is known
// ahead, else the guess.
func (sp *splitter) aimOf(k instKey, w *watch, r uint32) uint8 {
	if c, known, ahead := sp.coinOf(k, r); known && ahead {
		return 1 - b2u(c)
	}
	if cr := sp.commonRound(w, r); cr.aimSet {
		return cr.aim
	}
	return 1
}

// settled reports whether every honest node that has not decided revealed
// its estimate of round r.
func (sp *splitter) settled(w *watch, r uint32) bool {
	est := values(w.est, r, len(w.pos))
	for _, n := range sp.a.s.honest {
		if est[n.id] < 0 && !w.done[n.id] {
			return false
		}
	}
	return true
}

// activeCommon reports whether the scheduler shapes round r: the estimates
// are split, or may still be.
func (sp *splitter) activeCommon(k instKey, w *watch, r uint32) bool {
	if (r == 1 && sp.victim(k)) || sp.split(w, r) {
		return true
	}
	return r > 1 && !sp.settled(w, r)
}

// passCommon reports whether handing m to node i now is fine with the plan
// of a common-coin round (m is a BVal, Aux, Conf or Final of a round i has
// revealed its estimate of).
func (sp *splitter) passCommon(k instKey, w *watch, i protocol.NodeID, m *raba.Message) bool {
	r := m.Round
	if m.Kind == raba.KindFinal || w.pos[i] >= at(r, uint8(m.Kind)+1) || !sp.activeCommon(k, w, r) {
		return true // no Final in these rounds; or the step it counts for is over
	}
	if m.Kind != raba.KindConf {
		return m.Value == sp.aimOf(k, w, r)
	}
	switch p := sp.commonRound(w, r).plan[i]; p {
	case planFree:
		return true
	case raba.SetZero, raba.SetOne:
		return m.Value == p
	}
	// Headed for ⊥: never N−F single-valued Conf of one value (its own
	// counted) before a Conf({0,1}).
	d := w.recvOf(i).tally(slot{r, uint8(raba.KindConf)})
	return m.Value == raba.SetBoth || d[m.Value-1] < sp.a.s.p.Quorum()-1
}

// helpCommon sends, from every helper, what honest node i needs in round r
// once it has revealed its estimate: both BVal values, Aux of the aim, and
// its Conf if its plan is decided.
func (sp *splitter) helpCommon(w *watch, k instKey, r uint32, i protocol.NodeID) {
	sp.fromHelpers(k, i,
		&raba.Message{Kind: raba.KindBVal, Round: r, Value: 0},
		&raba.Message{Kind: raba.KindBVal, Round: r, Value: 1},
		&raba.Message{Kind: raba.KindAux, Round: r, Value: sp.aimOf(k, w, r)})
	sp.helpConf(w, k, r, i)
}

// helpConf decides what node i is to confirm in round r, once that can be
// decided, and has the helpers send it the matching Conf: when the coin is
// known, {¬c} if that is the aim (and, when known ahead, i is in the late
// half) and i was handed no other Conf, else ⊥; before, ⊥ for the first
// nodes to send their own Conf, as many as the adversary needs honest
// shares (one with F faulty nodes), so that they toss the coin.
func (sp *splitter) helpConf(w *watch, k instKey, r uint32, i protocol.NodeID) {
	cr := sp.commonRound(w, r)
	if cr.plan[i] != 0 {
		return
	}
	set := raba.SetBoth
	c, known, ahead := sp.coinOf(k, r)
	switch {
	case known:
		u := 1 - b2u(c)
		d := w.recvOf(i).tally(slot{r, uint8(raba.KindConf)})
		if u == sp.aimOf(k, w, r) && (!ahead || sp.late(i)) && d[1-u]+d[2] == 0 {
			set = 1 << u
		}
	case cr.early < sp.a.coins.needed() && w.pos[i] >= at(r, uint8(raba.KindConf)):
		cr.early++
		if len(sp.helpers) == 0 {
			set = planFree
		}
	default:
		return
	}
	cr.plan[i] = set
	sp.mark(i, k)
	if set != planFree {
		sp.fromHelpers(k, i, &raba.Message{Kind: raba.KindConf, Round: r, Value: set})
	}
}

// fromHelpers sends agreement messages of an instance from every helper to
// node i, during the fault phase.
func (sp *splitter) fromHelpers(k instKey, i protocol.NodeID, msgs ...*raba.Message) {
	s := sp.a.s
	if !sp.helping() {
		return
	}
	for _, f := range sp.helpers {
		if s.crashed(f) {
			continue
		}
		for _, m := range msgs {
			e := &epoch.Message{Epoch: k.ep, ACS: &acs.Message{Proposer: k.prop, RABA: m}}
			s.post(f, i, e.Marshal())
		}
	}
}

// markAll rechecks what is held of an instance from every honest node.
func (sp *splitter) markAll(k instKey) {
	for _, h := range sp.a.s.honest {
		sp.mark(h.id, k)
	}
}

// observeCommon learns, in a common-coin agreement, from a message honest
// node i sends; wasActive is whether its round was shaped before.
func (sp *splitter) observeCommon(k instKey, w *watch, i protocol.NodeID, m *raba.Message, wasActive bool) {
	r := m.Round
	switch m.Kind {
	case raba.KindBVal:
		if cr := sp.commonRound(w, r); !cr.aimSet {
			cr.aim, cr.aimSet = m.Value&1, true
		}
		if sp.activeCommon(k, w, r) != wasActive {
			sp.markAll(k)
		}
	case raba.KindAux, raba.KindConf:
		// Its own message counts among those it collects.
		sp.account(k, w, i, i, &acs.Message{Proposer: k.prop, RABA: m})
		if m.Kind == raba.KindConf {
			sp.helpConf(w, k, r, i)
		}
	case raba.KindCoin:
		// It tosses once its Conf are in: that step is over.
		if sp.advance(w, i, at(r, uint8(raba.KindConf)+1)) {
			sp.mark(i, k)
		}
		sp.onReveal(w, k, r)
	case raba.KindTerm:
		sp.markAll(k) // an undecided node fewer to wait for
	}
}

// onReveal acts on the coin of round r once the adversary knows it: every
// node's plan is decided now.
func (sp *splitter) onReveal(w *watch, k instKey, r uint32) {
	cr := sp.commonRound(w, r)
	if _, known, _ := sp.coinOf(k, r); cr.revealed || !known {
		return
	}
	cr.revealed = true
	for _, h := range sp.a.s.honest {
		sp.helpConf(w, k, r, h.id)
	}
	sp.markAll(k)
}

func b2u(v bool) uint8 {
	if v {
		return 1
	}
	return 0
}
