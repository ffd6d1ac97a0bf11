package raba

import (
	"fmt"

	"github.com/mass-consensus/mass/internal/protocol"
	"github.com/mass-consensus/mass/internal/protocol/coin"
)

// Fault kinds of the agreement.
const (
	FaultEquivocation protocol.FaultKind = "raba: two different messages for one slot"
	FaultBadMessage   protocol.FaultKind = "raba: message out of bounds"
)

// DefaultSlack is the default number of rounds beyond the node's own (or
// beyond what F+1 senders have reached) whose messages are accepted now.
const DefaultSlack = 4

// Config configures one agreement instance.
type Config struct {
	Params protocol.Params
	Self   protocol.NodeID
	// Coin yields the coin of each round that needs one; required. A
	// common coin (coin.Coin.Common) switches the agreement to its
	// common-coin rounds (see the package doc).
	Coin coin.Coin
	// Slack bounds how far ahead messages are accepted (see Admit); 0 means
	// DefaultSlack.
	Slack uint32
}

// Step is what one call into an agreement produces; the output is the
// decision.
type Step = protocol.Step[*Message, bool]

// phase is what the node waits for in its current round.
type phase uint8

const (
	waitBin   phase = iota // a value in bin_values, to send Aux
	waitAux                // N−F valid Aux, to send Conf
	waitConf               // N−F valid Conf, to send Final
	waitFinal              // N−F valid Final, to end the round
	waitCoin               // the coin of the round
	stopped                // the round after its own decision is done
)

// Agreement is one instance of the quadratic binary agreement.
type Agreement struct {
	p    protocol.Params
	self protocol.NodeID
	coin coin.Coin
	// common: the coin is common, and rounds end after Conf (see the
	// package doc).
	common bool
	slack  uint32
	// decideQuorum is the number of Final(w) that decide w: N−F. Only a
	// test changes it, to plant a bug the checkers must catch.
	decideQuorum int
	// looseFinal makes Final(w) valid as soon as w ∈ bin_values, the rule
	// of the published WaterBear code (see the package doc). Only a test
	// sets it, to plant the bug the exhaustive check must catch.
	looseFinal bool
	// eagerDecide makes a common-coin round decide w as soon as the
	// node's values are {w}, whatever the coin. Only a test sets it, to
	// plant the bug the exhaustive check must catch.
	eagerDecide bool

	started   bool
	firstIn   bool
	round     uint32
	est       bool
	phase     phase
	values    uint8 // common-coin rounds: what the round's Conf confirmed (w or Bottom)
	rounds    map[uint32]*round
	decided   bool
	decision  bool
	decidedAt uint32 // the round of the node's own decision, 0 if none

	term       []uint8 // per sender: 0 none, else value+1
	termCount  [2]int
	sentTerm   bool
	terminated bool

	reached *protocol.Reached // the highest round each sender was seen in
	dropped uint64
}

var _ protocol.Protocol[bool, *Message, bool] = (*Agreement)(nil)

// New returns an agreement instance.
func New(cfg Config) (*Agreement, error) {
	if cfg.Params.N < 1 || 3*cfg.Params.F >= cfg.Params.N {
		return nil, fmt.Errorf("raba: bad params N=%d F=%d", cfg.Params.N, cfg.Params.F)
	}
	if !cfg.Params.Valid(cfg.Self) {
		return nil, fmt.Errorf("raba: self %d out of range", cfg.Self)
	}
	if cfg.Coin == nil {
		return nil, fmt.Errorf("raba: no coin")
	}
	slack := cfg.Slack
	if slack == 0 {
		slack = DefaultSlack
	}
	return &Agreement{
		p: cfg.Params, self: cfg.Self, coin: cfg.Coin, common: cfg.Coin.Common(), slack: slack,
		decideQuorum: cfg.Params.Quorum(),
		round:        1, rounds: make(map[uint32]*round),
		term: make([]uint8, cfg.Params.N), reached: protocol.NewReached(cfg.Params),
	}, nil
}

// Terminated reports whether the agreement has decided and needs no further
// messages: 2F+1 nodes announced the decision, so every honest node will
// learn it without this one.
func (a *Agreement) Terminated() bool { return a.terminated }

// Decision returns the decided value and whether there is one.
func (a *Agreement) Decision() (value, ok bool) { return a.decision, a.decided }

// DecisionRound returns the round in which the node decided by its own votes,
// or 0 if it decided through Term messages or has not decided.
func (a *Agreement) DecisionRound() uint32 { return a.decidedAt }

// Round returns the node's current round.
func (a *Agreement) Round() uint32 { return a.round }

// Started reports whether the node has its input.
func (a *Agreement) Started() bool { return a.started }

// Dropped returns how many messages were refused for being too far ahead.
func (a *Agreement) Dropped() uint64 { return a.dropped }

// HandleInput gives the node its input bit.
func (a *Agreement) HandleInput(v bool) (Step, error) {
	var s Step
	if a.started {
		return s, fmt.Errorf("raba: input given twice")
	}
	a.started, a.firstIn = true, v
	if a.terminated {
		return s, nil
	}
	a.est = v
	a.sendBVal(&s, 1, b2u(v))
	a.advance(&s)
	return s, nil
}

// Repropose turns an input of 0 into 1, for a node whose reason to vote 1
// (a broadcast delivering) came after it input 0. It takes effect only while
// the node is in round 1: the node then also sends BVal(1) there. Later it
// changes nothing: from round 2 on, every honest estimate is justified by
// the previous round, and a value entering then could undo a decision.
// Round 1 ends on the side of 1 when no value was confirmed (see the package
// doc), so a late reproposal is still counted.
func (a *Agreement) Repropose() Step {
	var s Step
	if !a.started || a.terminated || a.round != 1 || a.firstIn {
		return s
	}
	a.sendBVal(&s, 1, 1)
	a.advance(&s)
	return s
}

// Admit reports whether a message from node from would be handled now; false
// means later: a transport should keep it and offer it again. A message for
// a round beyond max(own round, R) + Slack is refused for later, where R is
// the (F+1)-th highest round the senders were seen in: F Byzantine nodes
// cannot raise R, and an honest node sends a message of round r+1 only after
// F+1 honest nodes sent theirs of round r, so R keeps up with the honest
// nodes. Admit changes nothing: the rounds are noted by HandleMessage, so a
// node that replays the messages it handled, in order, after a restart comes
// back to the same answers.
func (a *Agreement) Admit(from protocol.NodeID, msg *Message) bool {
	if msg == nil || !a.p.Valid(from) || msg.Kind == KindTerm || a.terminated {
		return true
	}
	return msg.Round <= a.limit()
}

func (a *Agreement) limit() uint32 { return max(a.round, a.reached.Round()) + a.slack }

// note records that from was seen sending a message of round r.
func (a *Agreement) note(from protocol.NodeID, r uint32) { a.reached.Note(from, r) }

// HandleMessage handles a message from node from.
func (a *Agreement) HandleMessage(from protocol.NodeID, msg *Message) Step {
	var s Step
	if !a.p.Valid(from) || msg == nil || a.terminated {
		return s
	}
	if msg.check() != nil {
		s.Fault(from, FaultBadMessage)
		return s
	}
	if msg.Kind != KindTerm {
		a.note(from, msg.Round)
		if !a.Admit(from, msg) {
			a.dropped++
			return s
		}
	}
	a.handle(&s, from, msg)
	a.advance(&s)
	return s
}

func (a *Agreement) handle(s *Step, from protocol.NodeID, msg *Message) {
	switch msg.Kind {
	case KindTerm:
		a.handleTerm(s, from, msg.Value)
		return
	case KindCoin:
		a.absorbCoin(s, a.coin.HandleMessage(from, msg.Round, msg.Coin))
		return
	}
	rs := a.roundState(msg.Round)
	switch msg.Kind {
	case KindBVal:
		a.handleBVal(s, rs, from, msg.Round, msg.Value)
	case KindAux:
		if first(s, rs.aux, from, msg.Value) {
			a.validate(rs)
		}
	case KindConf:
		if first(s, rs.conf, from, msg.Value) {
			a.validate(rs)
		}
	case KindFinal:
		if first(s, rs.final, from, msg.Value) {
			a.validate(rs)
		}
	}
}

// handleBVal runs the binary-value broadcast: relay a value F+1 nodes sent
// (one of them is honest), and admit it to bin_values once 2F+1 sent it.
func (a *Agreement) handleBVal(s *Step, rs *round, from protocol.NodeID, r uint32, v uint8) {
	if rs.bval[v][from] {
		return // a node may send both values, each once
	}
	rs.bval[v][from] = true
	rs.bvalCount[v]++
	if rs.bvalCount[v] >= a.p.F+1 {
		a.sendBVal(s, r, v)
	}
	if rs.bvalCount[v] >= 2*a.p.F+1 && !rs.bin[v] {
		rs.bin[v] = true
		if rs.firstBin == 0 {
			rs.firstBin = v + 1
		}
		a.validate(rs)
	}
}

// first records value v from a sender in its slot (0 means none yet, else the
// value plus one) and reports whether it is the sender's first message there;
// a repeat with another value is a fault, an identical one is ignored.
func first(s *Step, slots []uint8, from protocol.NodeID, v uint8) bool {
	if slots[from] != 0 {
		if slots[from] != v+1 {
			s.Fault(from, FaultEquivocation)
		}
		return false
	}
	slots[from] = v + 1
	return true
}

func (a *Agreement) sendBVal(s *Step, r uint32, v uint8) {
	rs := a.roundState(r)
	if rs.bvalSent[v] {
		return
	}
	rs.bvalSent[v] = true
	a.broadcast(s, &Message{Kind: KindBVal, Round: r, Value: v})
}

// broadcast sends msg to every other node and handles it at once.
func (a *Agreement) broadcast(s *Step, msg *Message) {
	s.Broadcast(msg)
	a.handle(s, a.self, msg)
}

func (a *Agreement) handleTerm(s *Step, from protocol.NodeID, v uint8) {
	if !first(s, a.term, from, v) {
		return
	}
	a.termCount[v]++
	if a.termCount[v] >= a.p.F+1 {
		a.decide(s, v == 1, 0) // one of them is honest
	}
	if a.termCount[v] >= 2*a.p.F+1 {
		a.terminated = true // F+1 honest nodes sent it: everyone decides
		a.rounds = nil
	}
}

func (a *Agreement) decide(s *Step, v bool, r uint32) {
	if r > 0 && a.decidedAt == 0 {
		a.decidedAt = r
	}
	if a.decided {
		if a.decision != v {
			panic(fmt.Sprintf("raba: node %d decided %v then %v", a.self, a.decision, v))
		}
		return
	}
	a.decided, a.decision = true, v
	s.Emit(v)
	if !a.sentTerm {
		a.sentTerm = true
		a.broadcast(s, &Message{Kind: KindTerm, Value: b2u(v)})
	}
}

func (a *Agreement) roundState(r uint32) *round {
	rs := a.rounds[r]
	if rs == nil {
		rs = newRound(a.p.N)
		a.rounds[r] = rs
	}
	return rs
}

// advance moves the node through as many steps as its valid messages allow.
func (a *Agreement) advance(s *Step) {
	for a.started && !a.terminated {
		rs := a.roundState(a.round)
		q := a.p.Quorum()
		switch a.phase {
		case waitBin:
			if rs.firstBin == 0 {
				return
			}
			a.phase = waitAux
			a.broadcast(s, &Message{Kind: KindAux, Round: a.round, Value: rs.firstBin - 1})
		case waitAux:
			if len(rs.auxValid) < q {
				return
			}
			a.phase = waitConf
			a.broadcast(s, &Message{Kind: KindConf, Round: a.round, Value: rs.auxSet(q)})
		case waitConf:
			if len(rs.confValid) < q {
				return
			}
			if a.common {
				a.values = rs.confirmed(q)
				a.tossCommon(s)
				continue
			}
			a.phase = waitFinal
			a.broadcast(s, &Message{Kind: KindFinal, Round: a.round, Value: rs.confirmed(q)})
		case waitFinal:
			if len(rs.finalValid) < q {
				return
			}
			a.endRound(s, rs.finalCounts(q))
		default:
			return // waitCoin, stopped
		}
	}
}

// endRound sets the estimate from the first N−F valid Final messages of the
// round: N−F of w decide w; some of w (never of both values: see the package
// doc) adopt w; none: the coin (1 in round 1).
func (a *Agreement) endRound(s *Step, c [3]int) {
	if c[0] > 0 && c[1] > 0 {
		panic(fmt.Sprintf("raba: node %d saw valid Final(0) and Final(1) in round %d", a.self, a.round))
	}
	for w := range 2 {
		if c[w] == 0 {
			continue
		}
		a.est = w == 1
		if c[w] >= a.decideQuorum {
			a.decide(s, a.est, a.round)
		}
		a.nextRound(s)
		return
	}
	if a.round == 1 {
		a.est = true
		a.nextRound(s)
		return
	}
	a.phase = waitCoin
	a.absorbCoin(s, a.coin.Toss(a.round))
}

func (a *Agreement) absorbCoin(s *Step, cs coin.Step) {
	for _, toss := range protocol.Absorb(s, cs, func(b []byte) *Message {
		return &Message{Kind: KindCoin, Round: a.round, Coin: b}
	}) {
		if a.phase != waitCoin || toss.Round != a.round {
			continue
		}
		if a.common {
			a.endCommonRound(s, toss.Value)
		} else {
			a.est = toss.Value
			a.nextRound(s)
		}
	}
}

// ScheduledCoin is the coin of the rounds of a common-coin agreement that
// toss none (ok false for a round that tosses): round 1's is 1, as the local-coin rounds end on 1, so that
// unanimous inputs of 1 (the common case inside the common subset) decide
// in round 1 without a share. Every later round tosses: a scheduled coin is
// known to the adversary, which can keep a split through its round, and
// under the splitting scheduler a scheduled 0 in round 2 as well put the
// 99th percentile of decision rounds at 11 from n = 10 (10 or less with
// round 2 tossed), for one round saved when all inputs are 0.
func ScheduledCoin(round uint32) (value, ok bool) {
	return true, round == 1
}

// tossCommon ends the Conf step of a common-coin round: the scheduled coin
// of round 1, the common coin after.
func (a *Agreement) tossCommon(s *Step) {
	a.phase = waitCoin
	if v, ok := ScheduledCoin(a.round); ok {
		a.endCommonRound(s, v)
		return
	}
	a.absorbCoin(s, a.coin.Toss(a.round))
}

// endCommonRound ends a common-coin round given its coin c: a node whose
// first N−F valid Conf were all Conf({w}) keeps w and decides it if w = c;
// the others take c.
func (a *Agreement) endCommonRound(s *Step, c bool) {
	if a.values == Bottom {
		a.est = c
	} else {
		a.est = a.values == 1
		if a.est == c || a.eagerDecide {
			a.decide(s, a.est, a.round)
		}
	}
	a.nextRound(s)
}

// nextRound starts the next round with the node's estimate, unless the node
// decided by its own votes before the round just ended: with a local coin
// every honest node decides by the round after the first decision, so nobody
// needs it later. With a common coin the others decide when the coin agrees,
// so a node runs on until it terminates.
func (a *Agreement) nextRound(s *Step) {
	if a.terminated {
		return
	}
	if !a.common && a.decidedAt > 0 && a.round > a.decidedAt {
		a.phase = stopped
		return
	}
	a.round++
	a.phase = waitBin
	a.sendBVal(s, a.round, b2u(a.est))
}

func b2u(v bool) uint8 {
	if v {
		return 1
	}
	return 0
}
