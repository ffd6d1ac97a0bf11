// Package coin defines the coin that binary agreement tosses when the votes
// of a round leave it undecided, and provides the local coin.
//
// A Coin is itself a small protocol: Toss asks for the value of a round, and
// the value arrives in a Step, at once (the local coin) or after shares have
// been exchanged through HandleMessage (the threshold coin).
//
// The local coin needs no setup and no messages: each node flips its own coin
// from the random source it was given. Binary agreement must be safe with it
// (see packages raba and aba), and it serves until threshold keys exist.
//
// The threshold coin (Threshold) is common: every honest node gets the same
// value for a round, and nobody can predict it before F+1 nodes have tossed
// it, one of them honest. It needs keys from a distributed key generation
// (package crypto/dkg); see Threshold for the coin's name and its cost.
//
// This package must never import anything that does I/O, reads a clock or
// draws global randomness.
package coin

import (
	"github.com/mass-consensus/mass/internal/protocol"
)

// Toss is the value of the coin of one round.
type Toss struct {
	Round uint32
	Value bool
}

// Step is what a coin call produces: share messages to send and coin values.
type Step = protocol.Step[[]byte, Toss]

// Coin yields the coin of each round of one binary agreement instance.
type Coin interface {
	// Toss asks for the coin of round. Its value is in the returned step's
	// Output or in that of a later HandleMessage.
	Toss(round uint32) Step
	// HandleMessage gives the coin a share message of a round from another
	// node.
	HandleMessage(from protocol.NodeID, round uint32, msg []byte) Step
	// Common reports whether every honest node gets the same value for a
	// round (a threshold coin), which binary agreement may rely on.
	Common() bool
}

// Source is a source of random bits, such as a seeded math/rand/v2 PCG.
type Source interface {
	Uint64() uint64
}

// FaultUnexpectedMessage marks a coin message sent to a coin that takes none.
const FaultUnexpectedMessage protocol.FaultKind = "coin: message for a local coin"

// Local is the local coin: a fair coin drawn from the node's own source.
type Local struct {
	src Source
}

var _ Coin = (*Local)(nil)

// NewLocal returns a local coin drawing from src.
func NewLocal(src Source) *Local { return &Local{src: src} }

// Toss flips the coin of round at once.
func (c *Local) Toss(round uint32) Step {
	return Step{Output: []Toss{{Round: round, Value: c.src.Uint64()&1 == 1}}}
}

// Common is false: each node draws its own value.
func (c *Local) Common() bool { return false }

// HandleMessage reports a fault: a local coin exchanges no messages.
func (c *Local) HandleMessage(from protocol.NodeID, _ uint32, _ []byte) Step {
	var s Step
	s.Fault(from, FaultUnexpectedMessage)
	return s
}
