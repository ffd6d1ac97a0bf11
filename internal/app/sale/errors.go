package sale

import (
	"errors"
	"fmt"
)

// ErrMalformed is wrapped by every decoding error.
var ErrMalformed = errors.New("sale: malformed")

// ErrCorrupt is wrapped when the tree holds a sale record that does not
// decode or lacks one an index names: a bug or a broken store, never a
// buyer's mistake; the block cannot be applied.
var ErrCorrupt = errors.New("sale: corrupt state")

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// ErrNotFound is wrapped by the readers when a record is absent.
var ErrNotFound = errors.New("sale: not found")

// The refusal reasons of a request or an opening: every refusal wraps one,
// so that a caller (the node's route, a test) tells them apart with
// errors.Is.
var (
	ErrNoSale       = errors.New("sale: no such sale")
	ErrClosed       = errors.New("sale: the sale is closed")
	ErrQuantity     = errors.New("sale: quantity out of range")
	ErrNotMember    = errors.New("sale: the sale admits members only")
	ErrBadPoW       = errors.New("sale: the proof of work does not meet the difficulty")
	ErrStampCount   = errors.New("sale: not exactly 2f+1 stamps")
	ErrNotNode      = errors.New("sale: a stamp by a key not in the sale's node set")
	ErrDupSigner    = errors.New("sale: two stamps by the same node")
	ErrUnordered    = errors.New("sale: stamps not in increasing order of node key")
	ErrWindow       = errors.New("sale: a stamp outside the request window")
	ErrStale        = errors.New("sale: a stamp too far from the block time")
	ErrBadSignature = errors.New("sale: a stamp's signature does not verify")
	ErrDuplicate    = errors.New("sale: the identity has a request already")
	ErrFull         = errors.New("sale: full, and the request is not earlier than the latest kept")
	ErrFunds        = errors.New("sale: the balance does not cover the price")
	ErrNotPermitted = errors.New("sale: not permitted")
	ErrTooMany      = errors.New("sale: too many sales open")
)

// Result codes: orgapp's, the same numbers (as package gov's).
const (
	CodeBadSignature = 2
	CodeFunds        = 4
	CodeNotPermitted = 5
	CodeInvalid      = 6
	CodePhase        = 7
	CodeLimit        = 8
)

// Refusal is a request or an opening refused: a reason (one of the Err…
// values above, which it unwraps to), the result code of the transaction
// and the detail shown to the client.
type Refusal struct {
	Reason error
	Code   uint32
	Msg    string
}

func (r *Refusal) Error() string { return r.Reason.Error() + ": " + r.Msg }

// Unwrap returns the reason.
func (r *Refusal) Unwrap() error { return r.Reason }

func refuse(reason error, format string, args ...any) error {
	return &Refusal{Reason: reason, Code: codeOf(reason), Msg: fmt.Sprintf(format, args...)}
}

func codeOf(reason error) uint32 {
	switch reason {
	case ErrBadSignature:
		return CodeBadSignature
	case ErrFunds:
		return CodeFunds
	case ErrNotMember, ErrNotPermitted:
		return CodeNotPermitted
	case ErrClosed:
		return CodePhase
	case ErrFull, ErrTooMany:
		return CodeLimit
	}
	return CodeInvalid
}
