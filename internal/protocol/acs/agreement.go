package acs

import (
	"fmt"

	"github.com/mass-consensus/mass/internal/protocol"
	"github.com/mass-consensus/mass/internal/protocol/aba"
	"github.com/mass-consensus/mass/internal/protocol/coin"
	"github.com/mass-consensus/mass/internal/protocol/raba"
)

// Agreement names the binary agreement a subset runs for each proposer.
type Agreement uint8

// The agreements.
const (
	// Quadratic is package raba: O(N²) messages per round, reproposable.
	// The default.
	Quadratic Agreement = iota
	// Bracha is package aba: every step reliably broadcast, O(N³) messages
	// per round.
	Bracha
)

// Agreements lists every agreement by name.
var Agreements = map[string]Agreement{"quadratic": Quadratic, "bracha": Bracha}

func (a Agreement) String() string {
	for name, v := range Agreements {
		if v == a {
			return name
		}
	}
	return fmt.Sprintf("agreement(%d)", uint8(a))
}

// ParseAgreement returns the agreement of a name in Agreements.
func ParseAgreement(name string) (Agreement, error) {
	a, ok := Agreements[name]
	if !ok {
		return 0, fmt.Errorf("acs: unknown agreement %q (quadratic or bracha)", name)
	}
	return a, nil
}

// agreementStep is an agreement's step with its messages already wrapped
// (without the proposer, which the subset fills in).
type agreementStep = protocol.Step[*Message, bool]

// agreement is one binary agreement as the subset drives it.
type agreement interface {
	input(v bool) (agreementStep, error)
	// repropose votes 1 after an input of 0, where the agreement allows it.
	repropose() agreementStep
	handle(from protocol.NodeID, m *Message) agreementStep
	// admit reports whether m would be handled now (false: later).
	admit(from protocol.NodeID, m *Message) bool
	started() bool
	terminated() bool
	decision() (value, ok bool)
	decisionRound() uint32
}

func newAgreement(kind Agreement, p protocol.Params, self protocol.NodeID, c coin.Coin) (agreement, error) {
	switch kind {
	case Quadratic:
		a, err := raba.New(raba.Config{Params: p, Self: self, Coin: c})
		return quadratic{a}, err
	case Bracha:
		a, err := aba.New(aba.Config{Params: p, Self: self, Coin: c})
		return bracha{a}, err
	}
	return nil, fmt.Errorf("acs: unknown agreement %d", kind)
}

type quadratic struct{ a *raba.Agreement }

func wrapRABA(s raba.Step) agreementStep {
	var out agreementStep
	out.Output = protocol.Absorb(&out, s, func(m *raba.Message) *Message { return &Message{RABA: m} })
	return out
}

func (q quadratic) input(v bool) (agreementStep, error) {
	s, err := q.a.HandleInput(v)
	return wrapRABA(s), err
}
func (q quadratic) repropose() agreementStep { return wrapRABA(q.a.Repropose()) }
func (q quadratic) handle(from protocol.NodeID, m *Message) agreementStep {
	if m.RABA == nil {
		return agreementStep{}
	}
	return wrapRABA(q.a.HandleMessage(from, m.RABA))
}
func (q quadratic) admit(from protocol.NodeID, m *Message) bool {
	return m.RABA == nil || q.a.Admit(from, m.RABA)
}
func (q quadratic) started() bool              { return q.a.Started() }
func (q quadratic) terminated() bool           { return q.a.Terminated() }
func (q quadratic) decision() (value, ok bool) { return q.a.Decision() }
func (q quadratic) decisionRound() uint32      { return q.a.DecisionRound() }

type bracha struct{ a *aba.Agreement }

func wrapABA(s aba.Step) agreementStep {
	var out agreementStep
	out.Output = protocol.Absorb(&out, s, func(m *aba.Message) *Message { return &Message{ABA: m} })
	return out
}

func (b bracha) input(v bool) (agreementStep, error) {
	s, err := b.a.HandleInput(v)
	return wrapABA(s), err
}
func (b bracha) repropose() agreementStep { return agreementStep{} }
func (b bracha) handle(from protocol.NodeID, m *Message) agreementStep {
	if m.ABA == nil {
		return agreementStep{}
	}
	return wrapABA(b.a.HandleMessage(from, m.ABA))
}
func (b bracha) admit(from protocol.NodeID, m *Message) bool {
	return m.ABA == nil || b.a.Admit(from, m.ABA)
}
func (b bracha) started() bool              { return b.a.Started() }
func (b bracha) terminated() bool           { return b.a.Terminated() }
func (b bracha) decision() (value, ok bool) { return b.a.Decision() }
func (b bracha) decisionRound() uint32      { return b.a.DecisionRound() }
