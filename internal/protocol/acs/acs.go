// Package acs is the asynchronous common subset of Ben-Or, Kelmer and Rabin:
// every node proposes a value, and all honest nodes output the same set of at
// least N−F proposals, including every honest proposal that reached enough
// nodes in time.
//
// One reliable broadcast (package rbc) per proposer carries its value; one
// binary agreement per proposer decides whether the value is in the set: the
// quadratic one of package raba by default, or Bracha's of package aba
// (Config.Agreement). A node inputs 1 to agreement j when broadcast j
// delivers; once N−F agreements have decided 1 it inputs 0 to every agreement
// it has not given an input yet. A broadcast that delivers after the node
// input 0 to its agreement reproposes 1 there (package raba takes it while in
// its first round). The output is the values of the broadcasts whose agreement
// decided 1, in proposer order, given once every agreement has decided and
// every such broadcast has delivered (an agreement decides 1 only if some
// honest node input 1, so its broadcast delivered there and, by totality,
// delivers everywhere).
//
// This package must never import anything that does I/O, reads a clock or
// draws global randomness.
package acs

import (
	"errors"
	"fmt"

	"github.com/mass-consensus/mass/internal/protocol"
	"github.com/mass-consensus/mass/internal/protocol/aba"
	"github.com/mass-consensus/mass/internal/protocol/coin"
	"github.com/mass-consensus/mass/internal/protocol/raba"
	"github.com/mass-consensus/mass/internal/protocol/rbc"
	"github.com/mass-consensus/mass/internal/wire"
)

// Config configures one common subset instance.
type Config struct {
	Params protocol.Params
	Self   protocol.NodeID
	// MaxValueSize bounds a proposal; 0 means rbc.DefaultMaxValueSize.
	MaxValueSize int
	// Coin returns the coin of the agreement about proposer j's value.
	Coin func(j protocol.NodeID) coin.Coin
	// Agreement is the binary agreement to run; the zero value is
	// Quadratic.
	Agreement Agreement
}

// Contribution is one proposer's value in the output.
type Contribution struct {
	Proposer protocol.NodeID
	Value    []byte
}

// Step is what one call into the subset produces; the output, given once, is
// the agreed contributions in proposer order.
type Step = protocol.Step[*Message, []Contribution]

// Message is a message of the broadcast or the agreement about one proposer's
// value: exactly one of RBC, ABA (Bracha's agreement) and RABA (the
// quadratic one) is set.
type Message struct {
	Proposer protocol.NodeID
	RBC      *rbc.Message
	ABA      *aba.Message
	RABA     *raba.Message
}

// Subset is one instance of the common subset.
type Subset struct {
	p          protocol.Params
	self       protocol.NodeID
	broadcasts []*rbc.Broadcast
	agreements []agreement
	values     [][]byte
	delivered  []bool
	decided    int
	ones       int
	output     bool
}

var _ protocol.Protocol[[]byte, *Message, []Contribution] = (*Subset)(nil)

// New returns a common subset instance.
func New(cfg Config) (*Subset, error) {
	if cfg.Coin == nil {
		return nil, errors.New("acs: no coin")
	}
	s := &Subset{
		p: cfg.Params, self: cfg.Self,
		values: make([][]byte, cfg.Params.N), delivered: make([]bool, cfg.Params.N),
	}
	for j := 0; j < cfg.Params.N; j++ {
		id := protocol.NodeID(j)
		b, err := rbc.New(rbc.Config{Params: cfg.Params, Self: cfg.Self, Proposer: id, MaxValueSize: cfg.MaxValueSize})
		if err != nil {
			return nil, fmt.Errorf("acs: broadcast %d: %w", j, err)
		}
		a, err := newAgreement(cfg.Agreement, cfg.Params, cfg.Self, cfg.Coin(id))
		if err != nil {
			return nil, fmt.Errorf("acs: agreement %d: %w", j, err)
		}
		s.broadcasts = append(s.broadcasts, b)
		s.agreements = append(s.agreements, a)
	}
	return s, nil
}

// HandleInput proposes the node's value.
func (s *Subset) HandleInput(value []byte) (Step, error) {
	var st Step
	bs, err := s.broadcasts[s.self].HandleInput(value)
	if err != nil {
		return st, fmt.Errorf("acs: %w", err)
	}
	s.absorbRBC(&st, s.self, bs)
	return st, nil
}

// HandleMessage handles a message from node from.
func (s *Subset) HandleMessage(from protocol.NodeID, msg *Message) Step {
	var st Step
	if msg == nil || !s.p.Valid(msg.Proposer) || !s.p.Valid(from) || s.Terminated() {
		// Once terminated, every broadcast whose agreement decided 1 has
		// delivered here (after this node sent its READY), and the others
		// are not needed by anyone.
		return st
	}
	j := msg.Proposer
	switch {
	case msg.RBC != nil:
		s.absorbRBC(&st, j, s.broadcasts[j].HandleMessage(from, msg.RBC))
	case msg.ABA != nil || msg.RABA != nil:
		s.absorbABA(&st, j, s.agreements[j].handle(from, msg))
	}
	return st
}

// Terminated reports whether the output was given and every agreement has
// terminated.
func (s *Subset) Terminated() bool {
	if !s.output {
		return false
	}
	for _, a := range s.agreements {
		if !a.terminated() {
			return false
		}
	}
	return true
}

// Output reports whether the output was given.
func (s *Subset) Output() bool { return s.output }

// ABARounds returns, over the agreements decided by the node's own votes, the
// number of them and the sum of their decision rounds.
func (s *Subset) ABARounds() (count, sum int) {
	for _, a := range s.agreements {
		if r := a.decisionRound(); r > 0 {
			count++
			sum += int(r)
		}
	}
	return count, sum
}

func (s *Subset) absorbRBC(st *Step, j protocol.NodeID, bs rbc.Step) {
	out := protocol.Absorb(st, bs, func(m *rbc.Message) *Message { return &Message{Proposer: j, RBC: m} })
	for _, v := range out {
		if s.delivered[j] {
			continue
		}
		s.delivered[j] = true
		s.values[j] = v
		if !s.agreements[j].started() {
			as, err := s.agreements[j].input(true)
			if err != nil {
				panic(fmt.Sprintf("acs: agreement %d: %v", j, err))
			}
			s.absorbABA(st, j, as)
		} else {
			s.absorbABA(st, j, s.agreements[j].repropose())
		}
	}
	s.tryOutput(st)
}

func (s *Subset) absorbABA(st *Step, j protocol.NodeID, as agreementStep) {
	out := protocol.Absorb(st, as, func(m *Message) *Message { m.Proposer = j; return m })
	for _, d := range out {
		s.decided++
		if d {
			s.ones++
		}
		if s.ones == s.p.Quorum() && d {
			for k, a := range s.agreements {
				if !a.started() {
					as, err := a.input(false)
					if err != nil {
						panic(fmt.Sprintf("acs: agreement %d: %v", k, err))
					}
					s.absorbABA(st, protocol.NodeID(k), as)
				}
			}
		}
	}
	s.tryOutput(st)
}

func (s *Subset) tryOutput(st *Step) {
	if s.output || s.decided < s.p.N {
		return
	}
	var out []Contribution
	for j, a := range s.agreements {
		if d, _ := a.decision(); d {
			if !s.delivered[j] {
				return
			}
			out = append(out, Contribution{Proposer: protocol.NodeID(j), Value: s.values[j]})
		}
	}
	s.output = true
	st.Emit(out)
}

// ErrBadMessage is wrapped by the decoding errors found by this package's own
// checks; errors of the embedded messages come from their packages, and
// truncation is wire.ErrTruncated.
var ErrBadMessage = errors.New("acs: bad message")

const (
	tagRBC  = 1
	tagABA  = 2
	tagRABA = 3
)

// MarshalTo appends the canonical encoding of m, which must have exactly one
// of RBC, ABA and RABA set.
func (m *Message) MarshalTo(w *wire.Writer) {
	w.U16(uint16(m.Proposer))
	switch {
	case m.RBC != nil:
		w.U8(tagRBC)
		m.RBC.MarshalTo(w)
	case m.ABA != nil:
		w.U8(tagABA)
		m.ABA.MarshalTo(w)
	default:
		w.U8(tagRABA)
		m.RABA.MarshalTo(w)
	}
}

// Unmarshal reads one message from r.
func Unmarshal(r *wire.Reader, p protocol.Params, maxValueSize int) (*Message, error) {
	m := &Message{Proposer: protocol.NodeID(r.U16("acs proposer"))}
	tag := r.U8("acs tag")
	if err := r.Err(); err != nil {
		return nil, err
	}
	if !p.Valid(m.Proposer) {
		return nil, fmt.Errorf("%w: proposer %d of %d nodes", ErrBadMessage, m.Proposer, p.N)
	}
	var err error
	switch tag {
	case tagRBC:
		m.RBC, err = rbc.Unmarshal(r, p, maxValueSize)
	case tagABA:
		m.ABA, err = aba.Unmarshal(r, p)
	case tagRABA:
		m.RABA, err = raba.Unmarshal(r)
	default:
		err = fmt.Errorf("%w: tag %d", ErrBadMessage, tag)
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

// Admit reports whether a message from node from would be handled now; false
// means later: a transport should keep it and offer it again. A broadcast
// message is always handled; an agreement message is as its agreement says;
// anything for a terminated subset is (and ignored).
func (s *Subset) Admit(from protocol.NodeID, msg *Message) bool {
	if msg == nil || msg.RBC != nil || !s.p.Valid(msg.Proposer) || s.Terminated() {
		return true
	}
	return s.agreements[msg.Proposer].admit(from, msg)
}
