package aba

import (
	"fmt"

	"github.com/mass-consensus/mass/internal/protocol"
	"github.com/mass-consensus/mass/internal/protocol/coin"
)

// Fault kinds of binary agreement.
const (
	FaultValNotFromOrigin protocol.FaultKind = "aba: step message sent for another node"
	FaultEquivocation     protocol.FaultKind = "aba: two different messages for one slot"
	FaultCoin             protocol.FaultKind = "aba: coin message rejected"
)

// DefaultMaxFutureRounds is the default window of rounds beyond the node's
// own (or beyond what F+1 senders have reached) whose messages are handled
// now; later ones are refused for later (see Admit).
const DefaultMaxFutureRounds = 16

// Config configures one agreement instance.
type Config struct {
	Params protocol.Params
	Self   protocol.NodeID
	// Coin yields the coin of each round; required.
	Coin coin.Coin
	// MaxFutureRounds bounds how far ahead messages are handled (see
	// Admit); 0 means DefaultMaxFutureRounds.
	MaxFutureRounds uint32
}

// Step is what one call into an agreement produces; the output is the
// decision.
type Step = protocol.Step[*Message, bool]

// Agreement is one instance of binary agreement.
type Agreement struct {
	p      protocol.Params
	self   protocol.NodeID
	coin   coin.Coin
	window uint32

	started   bool
	round     uint32 // the node's own round, from 1
	step      uint8  // the step whose outcome the node waits for
	est       bool
	coinWait  bool // waiting for the coin of round
	rounds    map[uint32]*round
	decided   bool
	decision  bool
	decidedAt uint32

	term       []uint8 // per sender: 0 none, else value+1
	termCount  [2]int
	sentTerm   bool
	terminated bool

	// reached tracks the highest round each sender was seen in.
	reached *protocol.Reached
	dropped uint64
}

var _ protocol.Protocol[bool, *Message, bool] = (*Agreement)(nil)

// broadcast is the state of one Bracha broadcast of a step message.
type broadcast struct {
	val        uint8 // 0 none, else value+1
	echo       []uint8
	ready      []uint8
	echoCount  [3]int
	readyCount [3]int
	sentReady  bool
	delivered  bool
}

type entry struct {
	origin protocol.NodeID
	value  uint8
}

// round holds the broadcasts and the validated messages of one round.
type round struct {
	bc      [3][]*broadcast
	pending [3][]entry // delivered, not yet valid
	valid   [3][]entry // valid, in the order they became so
	count   [3][3]int  // valid messages per step and value
}

// New returns an agreement instance.
func New(cfg Config) (*Agreement, error) {
	if cfg.Params.N < 1 || 3*cfg.Params.F >= cfg.Params.N {
		return nil, fmt.Errorf("aba: bad params N=%d F=%d", cfg.Params.N, cfg.Params.F)
	}
	if !cfg.Params.Valid(cfg.Self) {
		return nil, fmt.Errorf("aba: self %d out of range", cfg.Self)
	}
	if cfg.Coin == nil {
		return nil, fmt.Errorf("aba: no coin")
	}
	w := cfg.MaxFutureRounds
	if w == 0 {
		w = DefaultMaxFutureRounds
	}
	return &Agreement{
		p: cfg.Params, self: cfg.Self, coin: cfg.Coin, window: w,
		round: 1, rounds: make(map[uint32]*round),
		term: make([]uint8, cfg.Params.N), reached: protocol.NewReached(cfg.Params),
	}, nil
}

// Terminated reports whether the agreement has decided and needs no further
// messages.
func (a *Agreement) Terminated() bool { return a.terminated }

// Decision returns the decided value and whether there is one.
func (a *Agreement) Decision() (value, ok bool) { return a.decision, a.decided }

// DecisionRound returns the round in which the node decided by its own votes,
// or 0 if it decided through TERM messages or has not decided.
func (a *Agreement) DecisionRound() uint32 { return a.decidedAt }

// Round returns the node's current round.
func (a *Agreement) Round() uint32 { return a.round }

// Dropped returns how many messages HandleMessage refused for being too far
// ahead (those Admit refuses, given anyway).
func (a *Agreement) Dropped() uint64 { return a.dropped }

// Started reports whether the node has its input.
func (a *Agreement) Started() bool { return a.started }

// HandleInput gives the node its input bit.
func (a *Agreement) HandleInput(v bool) (Step, error) {
	var s Step
	if a.started {
		return s, fmt.Errorf("aba: input given twice")
	}
	a.started = true
	if a.terminated {
		return s, nil
	}
	a.est = v
	a.step = 1
	a.sendStep(&s, 1, 1, b2u(v))
	a.advance(&s)
	return s, nil
}

// Admit reports whether a message from node from would be handled now; false
// means later: a transport should keep it and offer it again once the node
// has moved. A message of a round beyond max(own round, R) + MaxFutureRounds
// is refused, where R is the (F+1)-th highest round among the rounds each
// sender was seen sending: F Byzantine nodes cannot raise R, and an honest
// node sends a message of round r+1 only after F+1 honest nodes sent theirs
// of round r, so R keeps up with the honest nodes. Admit changes nothing:
// the rounds are noted by HandleMessage, so a node replaying the messages it
// handled admits every one of them again.
func (a *Agreement) Admit(from protocol.NodeID, msg *Message) bool {
	r, ok := roundOf(msg)
	return !ok || a.terminated || r <= a.limit()
}

// limit is the last round whose messages are handled now.
func (a *Agreement) limit() uint32 { return max(a.round, a.reached.Round()) + a.window }

// roundOf returns the round of a message that has one.
func roundOf(msg *Message) (uint32, bool) {
	if msg == nil {
		return 0, false
	}
	switch msg.Kind {
	case KindVal, KindEcho, KindReady, KindCoin:
		return msg.Round, true
	}
	return 0, false
}

// note records that node from was seen sending a message of round r.
func (a *Agreement) note(from protocol.NodeID, r uint32) { a.reached.Note(from, r) }

// HandleMessage handles a message from node from. A message Admit refuses is
// refused here too (and counted in Dropped), so that a caller ignoring Admit
// cannot make the state grow.
func (a *Agreement) HandleMessage(from protocol.NodeID, msg *Message) Step {
	var s Step
	if !a.p.Valid(from) || msg == nil || a.terminated {
		return s
	}
	if r, ok := roundOf(msg); ok && r > 0 {
		a.note(from, r)
		if r > a.limit() {
			a.dropped++
			return s
		}
	}
	a.handle(&s, from, msg)
	return s
}

func (a *Agreement) handle(s *Step, from protocol.NodeID, msg *Message) {
	if a.terminated {
		return
	}
	switch msg.Kind {
	case KindTerm:
		a.handleTerm(s, from, msg.Value)
		return
	case KindCoin:
		if msg.Round == 0 {
			return
		}
		cs := a.coin.HandleMessage(from, msg.Round, msg.Coin)
		a.absorbCoin(s, cs)
		a.advance(s)
		return
	case KindVal, KindEcho, KindReady:
	default:
		return
	}
	if !a.p.Valid(msg.Origin) || msg.Round == 0 || msg.Step < 1 || msg.Step > 3 || !validValue(msg.Step, msg.Value) {
		return
	}
	// Every round's broadcasts are relayed until the agreement terminates:
	// a node rounds behind needs this node's ECHO and READY to deliver the
	// step messages it waits for.
	rs := a.roundState(msg.Round)
	bc := rs.broadcast(a.p, msg.Step, msg.Origin)
	switch msg.Kind {
	case KindVal:
		if from != msg.Origin {
			s.Fault(from, FaultValNotFromOrigin)
			return
		}
		if !first(s, &bc.val, from, msg.Value) {
			return
		}
		echo := &Message{Kind: KindEcho, Origin: msg.Origin, Round: msg.Round, Step: msg.Step, Value: msg.Value}
		s.Broadcast(echo)
		a.handle(s, a.self, echo)
	case KindEcho:
		if !first(s, &bc.echo[from], from, msg.Value) {
			return
		}
		bc.echoCount[msg.Value]++
		if bc.echoCount[msg.Value] >= a.p.Quorum() {
			a.sendReady(s, bc, msg)
		}
	case KindReady:
		if !first(s, &bc.ready[from], from, msg.Value) {
			return
		}
		bc.readyCount[msg.Value]++
		if bc.readyCount[msg.Value] >= a.p.F+1 {
			a.sendReady(s, bc, msg)
		}
		if bc.readyCount[msg.Value] >= 2*a.p.F+1 && !bc.delivered {
			bc.delivered = true
			rs.pending[msg.Step-1] = append(rs.pending[msg.Step-1], entry{origin: msg.Origin, value: msg.Value})
			a.validate(msg.Round)
			a.advance(s)
		}
	}
}

// first records value v from a sender in its slot (0 means none yet, else the
// value plus one) and reports whether it is the sender's first message there;
// a repeat with another value is a fault, an identical one is ignored.
func first(s *Step, slot *uint8, from protocol.NodeID, v uint8) bool {
	if *slot != 0 {
		if *slot != v+1 {
			s.Fault(from, FaultEquivocation)
		}
		return false
	}
	*slot = v + 1
	return true
}

func (a *Agreement) sendReady(s *Step, bc *broadcast, msg *Message) {
	if bc.sentReady {
		return
	}
	bc.sentReady = true
	ready := &Message{Kind: KindReady, Origin: msg.Origin, Round: msg.Round, Step: msg.Step, Value: msg.Value}
	s.Broadcast(ready)
	a.handle(s, a.self, ready)
}

func (a *Agreement) sendStep(s *Step, r uint32, step uint8, v uint8) {
	val := &Message{Kind: KindVal, Origin: a.self, Round: r, Step: step, Value: v}
	s.Broadcast(val)
	a.handle(s, a.self, val)
}

func (a *Agreement) handleTerm(s *Step, from protocol.NodeID, v uint8) {
	if v > 1 {
		return
	}
	if !first(s, &a.term[from], from, v) {
		return
	}
	a.termCount[v]++
	if a.termCount[v] >= a.p.F+1 {
		a.sendTerm(s, v == 1)
	}
	if a.termCount[v] >= 2*a.p.F+1 {
		a.decide(s, v == 1, 0)
		a.terminated = true
		a.rounds = nil
	}
}

func (a *Agreement) sendTerm(s *Step, v bool) {
	if a.sentTerm {
		return
	}
	a.sentTerm = true
	t := &Message{Kind: KindTerm, Value: b2u(v)}
	s.Broadcast(t)
	a.handle(s, a.self, t)
}

func (a *Agreement) decide(s *Step, v bool, r uint32) {
	if a.decided {
		if a.decision != v {
			panic(fmt.Sprintf("aba: node %d decided %v then %v", a.self, a.decision, v))
		}
		return
	}
	a.decided, a.decision, a.decidedAt = true, v, r
	s.Emit(v)
	a.sendTerm(s, v)
}

func (a *Agreement) roundState(r uint32) *round {
	rs := a.rounds[r]
	if rs == nil {
		rs = &round{}
		for i := range rs.bc {
			rs.bc[i] = make([]*broadcast, a.p.N)
		}
		a.rounds[r] = rs
	}
	return rs
}

func (rs *round) broadcast(p protocol.Params, step uint8, origin protocol.NodeID) *broadcast {
	bc := rs.bc[step-1][origin]
	if bc == nil {
		bc = &broadcast{echo: make([]uint8, p.N), ready: make([]uint8, p.N)}
		rs.bc[step-1][origin] = bc
	}
	return bc
}

// validate moves delivered messages of round r (and then of later rounds)
// whose justification is now present into the valid lists.
func (a *Agreement) validate(r uint32) {
	for ; ; r++ {
		rs := a.rounds[r]
		if rs == nil {
			return
		}
		progress := false
		for st := uint8(1); st <= 3; st++ {
			prev, ok := a.justification(r, st)
			if !ok {
				continue
			}
			kept := rs.pending[st-1][:0]
			for _, e := range rs.pending[st-1] {
				if Justified(a.p, r, st, e.value, prev) {
					rs.valid[st-1] = append(rs.valid[st-1], e)
					rs.count[st-1][e.value]++
					progress = true
				} else {
					kept = append(kept, e)
				}
			}
			rs.pending[st-1] = kept
		}
		if !progress {
			return
		}
	}
}

// justification returns the counts of valid messages of the step before
// (r, st).
func (a *Agreement) justification(r uint32, st uint8) ([3]int, bool) {
	switch {
	case st > 1:
		return a.rounds[r].count[st-2], true
	case r == 1:
		return [3]int{}, true
	default:
		prev := a.rounds[r-1]
		if prev == nil {
			return [3]int{}, false
		}
		return prev.count[2], true
	}
}

// Justified reports whether some N−F of the valid messages of the previous
// step, counted per value in prev, would lead an honest node to send value in
// step st of round r.
func Justified(p protocol.Params, r uint32, st uint8, value uint8, prev [3]int) bool {
	q := p.Quorum()
	switch st {
	case 1:
		if r == 1 {
			return value <= 1
		}
		d := prev[Decide0] + prev[Decide1]
		if d+prev[Undecided] < q {
			return false
		}
		// F+1 or more (d, value) in the chosen set sets est := value.
		if prev[value] >= p.F+1 {
			return true
		}
		// At most F decides in the chosen set: the coin may say anything.
		return prev[Undecided]+min(d, p.F) >= q
	case 2:
		// A majority of the N−F step-1 values is value (a tie goes to 1).
		c := prev[value]
		take := min(c, q)
		other := q - take
		if other > prev[1-value] {
			return false
		}
		if value == 1 {
			return take >= other
		}
		return take > other
	case 3:
		if value == Undecided {
			half := p.N / 2
			return min(prev[0], half)+min(prev[1], half) >= q
		}
		take := min(prev[value], q)
		return 2*take > p.N && q-take <= prev[1-value]
	}
	return false
}

// advance moves the node through as many steps as its valid messages allow.
func (a *Agreement) advance(s *Step) {
	for a.started && !a.terminated && !a.coinWait {
		rs := a.rounds[a.round]
		if rs == nil || len(rs.valid[a.step-1]) < a.p.Quorum() {
			return
		}
		var c [3]int
		for _, e := range rs.valid[a.step-1][:a.p.Quorum()] {
			c[e.value]++
		}
		switch a.step {
		case 1:
			v := c[1] >= c[0]
			a.step = 2
			a.sendStep(s, a.round, 2, b2u(v))
		case 2:
			out := Undecided
			if 2*c[0] > a.p.N {
				out = Decide0
			} else if 2*c[1] > a.p.N {
				out = Decide1
			}
			a.step = 3
			a.sendStep(s, a.round, 3, out)
		case 3:
			switch {
			case c[Decide0] >= 2*a.p.F+1 || c[Decide1] >= 2*a.p.F+1:
				a.est = c[Decide1] > c[Decide0]
				a.decide(s, a.est, a.round)
			case c[Decide0] >= a.p.F+1:
				a.est = false
			case c[Decide1] >= a.p.F+1:
				a.est = true
			default:
				a.coinWait = true
				a.absorbCoin(s, a.coin.Toss(a.round))
				continue
			}
			a.nextRound(s)
		}
	}
}

func (a *Agreement) absorbCoin(s *Step, cs coin.Step) {
	for _, toss := range protocol.Absorb(s, cs, func(b []byte) *Message {
		return &Message{Kind: KindCoin, Round: a.round, Coin: b}
	}) {
		if a.coinWait && toss.Round == a.round {
			a.coinWait = false
			a.est = toss.Value
			a.nextRound(s)
		}
	}
}

func (a *Agreement) nextRound(s *Step) {
	if a.terminated {
		return
	}
	// Past rounds are kept until termination: their broadcasts are still
	// relayed for the nodes behind.
	a.round++
	a.step = 1
	a.sendStep(s, a.round, 1, b2u(a.est))
	a.validate(a.round)
}

func b2u(v bool) uint8 {
	if v {
		return 1
	}
	return 0
}
