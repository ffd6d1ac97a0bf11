// Package protocol holds the contract every consensus protocol of Mass
// follows, and the helpers that compose protocols.
//
// A protocol is a value with no I/O: HandleInput and HandleMessage feed it,
// and each returns a Step holding the messages to send, the outputs produced
// and the faults observed. Randomness and time reach a protocol only as
// arguments. A peer's misbehaviour is a Fault in the step, never an error or
// a panic; an error means local misuse; a broken invariant panics.
//
// Messages a protocol broadcasts to all nodes are also handled by the protocol
// itself at once: a Step's Messages are for the other nodes only.
//
// This package must never import anything that does I/O, reads a clock or
// draws randomness, and nothing else under internal/ except wire.
package protocol

import "fmt"

// NodeID is a node's index in the node set of an era: 0 ≤ NodeID < N.
type NodeID uint16

// Params are the sizes of a node set: N nodes, of which at most F are
// faulty, with N ≥ 3F+1.
type Params struct {
	N int
	F int
}

// NewParams returns the parameters for n nodes, tolerating the largest F
// with n ≥ 3F+1.
func NewParams(n int) (Params, error) {
	if n < 1 || n > MaxNodes {
		return Params{}, fmt.Errorf("protocol: node count %d out of range [1, %d]", n, MaxNodes)
	}
	return Params{N: n, F: (n - 1) / 3}, nil
}

// MaxNodes bounds the size of a node set.
const MaxNodes = 1024

// Quorum is N−F: the number of nodes an honest node can wait for.
func (p Params) Quorum() int { return p.N - p.F }

// Valid reports whether id names a node of the set.
func (p Params) Valid(id NodeID) bool { return int(id) < p.N }

// Target says who a message is for.
type Target struct {
	// All means every node except the sender.
	All bool
	// Node is the single recipient when All is false.
	Node NodeID
}

// ToAll addresses every other node.
func ToAll() Target { return Target{All: true} }

// To addresses one node.
func To(id NodeID) Target { return Target{Node: id} }

// Includes reports whether the target addresses node id, for a message sent by
// node from.
func (t Target) Includes(from, id NodeID) bool {
	if t.All {
		return id != from
	}
	return t.Node == id
}

// Message is a message and the nodes it is for.
type Message[M any] struct {
	To   Target
	Body M
}

// FaultKind names a kind of misbehaviour.
type FaultKind string

// Fault records that a node misbehaved.
type Fault struct {
	Node NodeID
	Kind FaultKind
}

func (f Fault) String() string { return fmt.Sprintf("node %d: %s", f.Node, f.Kind) }

// Step is what one call into a protocol produces.
type Step[M, O any] struct {
	Messages []Message[M]
	Output   []O
	Faults   []Fault
}

// Broadcast appends a message for every other node.
func (s *Step[M, O]) Broadcast(m M) {
	s.Messages = append(s.Messages, Message[M]{To: ToAll(), Body: m})
}

// Send appends a message for one node.
func (s *Step[M, O]) Send(to NodeID, m M) {
	s.Messages = append(s.Messages, Message[M]{To: To(to), Body: m})
}

// Fault appends a fault.
func (s *Step[M, O]) Fault(node NodeID, kind FaultKind) {
	s.Faults = append(s.Faults, Fault{Node: node, Kind: kind})
}

// Emit appends an output.
func (s *Step[M, O]) Emit(o O) { s.Output = append(s.Output, o) }

// Merge appends another step of the same protocol.
func (s *Step[M, O]) Merge(o Step[M, O]) {
	s.Messages = append(s.Messages, o.Messages...)
	s.Output = append(s.Output, o.Output...)
	s.Faults = append(s.Faults, o.Faults...)
}

// Empty reports whether the step carries nothing.
func (s *Step[M, O]) Empty() bool {
	return len(s.Messages) == 0 && len(s.Output) == 0 && len(s.Faults) == 0
}

// Absorb moves a child protocol's step into its parent's: each child message
// is wrapped into a parent message, faults are lifted unchanged, and the
// child's outputs are returned for the parent to act on.
func Absorb[PM, PO, CM, CO any](parent *Step[PM, PO], child Step[CM, CO], wrap func(CM) PM) []CO {
	for _, m := range child.Messages {
		parent.Messages = append(parent.Messages, Message[PM]{To: m.To, Body: wrap(m.Body)})
	}
	parent.Faults = append(parent.Faults, child.Faults...)
	return child.Output
}

// Protocol is the contract of every consensus protocol: inputs and messages
// in, steps out.
type Protocol[I, M, O any] interface {
	// HandleInput gives the protocol its local input. An error means the
	// caller misused the protocol (an input twice, say); nothing changed.
	HandleInput(in I) (Step[M, O], error)
	// HandleMessage gives the protocol a message from another node.
	HandleMessage(from NodeID, msg M) Step[M, O]
	// Terminated reports whether the protocol will produce nothing more.
	Terminated() bool
}
