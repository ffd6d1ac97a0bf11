package gov

import (
	"errors"
	"fmt"
	"math"

	"github.com/mass-consensus/mass/internal/app"
	"github.com/mass-consensus/mass/internal/app/state"
)

// Store is the state tree as governance sees it: records by key, each with
// a value and a sum. A record that cannot be read (a broken store) reads as
// absent; the caller keeps the error and drops the block.
type Store interface {
	Get(k state.Key) (value []byte, sum uint64, ok bool)
	Put(k state.Key, value []byte, sum uint64)
	Delete(k state.Key)
}

// Env is what a block gives governance: its height, its time (Unix
// milliseconds, the median of the nodes' clocks) and its seed (BlockSeed).
// At submission (CheckTx), Height is the next height and Time the last
// block's time.
type Env struct {
	Height uint64
	Time   int64
	Seed   [32]byte
}

// Result codes of governance failures; they are orgapp's codes, the same
// numbers.
const (
	CodeFunds        = 4 // the treasury or a balance is too low
	CodeNotPermitted = 5 // the sender's role or state does not allow it (guest, frozen, suspended, not a participant …)
	CodeInvalid      = 6 // otherwise invalid (unknown proposal, option or domain; voted already …)
	CodePhase        = 7 // the proposal is not in a phase that allows it (closed, not voting, round over …)
	CodeLimit        = 8 // a bound is reached (queue full, too many participants, options, comments …)
)

// Error is a transaction's failure with its result code: the
// application's one error type.
type Error = app.TxError

var fail = app.Fail

// ErrCorrupt is wrapped when the tree holds a record that does not decode
// or lacks one an index names: a bug or a broken store, never a user's
// mistake.
var ErrCorrupt = errors.New("gov: corrupt state")

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// ErrNotFound is wrapped by the readers (ReadProposal …) when a record is
// absent.
var ErrNotFound = errors.New("gov: not found")

// buffer holds writes over a Store until flush, so that the actions of an
// option apply all or none.
type buffer struct {
	s      Store
	writes map[state.Key]bufLeaf
}

type bufLeaf struct {
	value []byte // nil: deleted
	sum   uint64
}

func newBuffer(s Store) *buffer { return &buffer{s: s, writes: make(map[state.Key]bufLeaf)} }

func (b *buffer) Get(k state.Key) ([]byte, uint64, bool) {
	if l, ok := b.writes[k]; ok {
		return l.value, l.sum, l.value != nil
	}
	return b.s.Get(k)
}

func (b *buffer) Put(k state.Key, v []byte, sum uint64) { b.writes[k] = bufLeaf{value: v, sum: sum} }

func (b *buffer) Delete(k state.Key) { b.writes[k] = bufLeaf{} }

func (b *buffer) flush() {
	for k, l := range b.writes {
		if l.value == nil {
			b.s.Delete(k)
		} else {
			b.s.Put(k, l.value, l.sum)
		}
	}
}

// addTime is t + d milliseconds, saturating.
func addTime(t int64, d uint64) int64 {
	if d > math.MaxInt64 || t > math.MaxInt64-int64(d) {
		return math.MaxInt64
	}
	return t + int64(d)
}
