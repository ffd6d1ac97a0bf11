package dkg

import (
	"errors"
	"fmt"
)

// errBadPiece is why a piece that opened was refused: it does not match the
// commitment.
var errBadPiece = errors.New("dkg: piece does not match the commitment")

// FaultKind says what a faulty node sent this node.
type FaultKind int

const (
	// FaultRow: a dealer's row to this node did not open, or did not match
	// the dealer's commitment; the node did not ack.
	FaultRow FaultKind = iota + 1
	// FaultValue: an acker's value to this node did not open, or did not
	// match the dealer's commitment; the node skipped it.
	FaultValue
)

func (k FaultKind) String() string {
	switch k {
	case FaultRow:
		return "bad row"
	case FaultValue:
		return "bad value"
	}
	return fmt.Sprintf("FaultKind(%d)", int(k))
}

// Fault is evidence, seen by this node only, that a node is faulty. It is
// not public: another node cannot check it, and it changes no public
// decision. Values are checked only until a Part has T good ones, so a bad
// value after those is not seen.
type Fault struct {
	Kind   FaultKind
	Node   int   // the faulty node: the dealer of a bad row, the acker of a bad value
	Dealer int   // the Part concerned
	Err    error // why the piece was refused
}

func (f Fault) String() string {
	return fmt.Sprintf("%v from node %d (part of dealer %d): %v", f.Kind, f.Node, f.Dealer, f.Err)
}
