// Package app is the boundary between consensus and the application, in the
// spirit of CometBFT's ABCI but in-process: the node checks each transaction
// at submission, hands every committed block to the application, and asks
// it questions; consensus knows nothing else of the application.
//
// An application is deterministic: the same blocks in the same order give
// the same state roots and results on every node. It never reads a clock
// (the block time is given) nor draws randomness.
//
// This package holds only the contract; it must never import the node or
// protocol packages.
package app

import (
	"errors"
	"fmt"
)

// ErrRejected is wrapped by CheckTx's error for a transaction that is not
// valid; the error's text is the reason shown to the client.
var ErrRejected = errors.New("rejected")

// TxError is a transaction's failure in a block, with the result code its
// TxResult carries and the reason shown to the client. Every application
// package reports failures with it, so that the code travels with the
// error however deep it was raised.
type TxError struct {
	Code uint32
	Msg  string
}

func (e *TxError) Error() string { return e.Msg }

// Fail returns a *TxError with a code and a formatted reason.
func Fail(code uint32, format string, args ...any) error {
	return &TxError{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// ErrNotFound is wrapped by Query's error when there is nothing at the path.
var ErrNotFound = errors.New("not found")

// Block is what the application applies: a committed batch at a height.
type Block struct {
	Height uint64
	Time   int64 // Unix milliseconds, the median of the nodes' clocks
	Txs    [][]byte
}

// Attribute is a key and value of an event.
type Attribute struct {
	Key, Value string
}

// Event is something a transaction did, for clients watching commits.
type Event struct {
	Type       string
	Attributes []Attribute
}

// TxResult is the outcome of one transaction of a block: Code 0 is success;
// a transaction that fails is still in the block, with its code and log.
type TxResult struct {
	Code   uint32
	Log    string
	Events []Event
	// Proposal is the proposal a governance transaction created (a create
	// or a challenge that succeeded), 0 otherwise; kept with the result so
	// a client can read it back by the transaction's hash.
	Proposal uint64
}

// Result is the outcome of applying a block.
type Result struct {
	StateRoot [32]byte
	Txs       []TxResult
	// NodeSet, when the block changed the node set (a passed proposal added
	// or removed a node), is the whole new set in order; nil otherwise. The
	// node makes it the set of a new era a fixed number of epochs later.
	NodeSet []NodeInfo
}

// NodeSetReporter is implemented by an application whose blocks may change
// the node set: NodeSetChange returns the new set if block height changed
// it (nil otherwise). The node asks it for a block the application applied
// just before a crash, whose Result it never saw.
type NodeSetReporter interface {
	NodeSetChange(height uint64) ([]NodeInfo, error)
}

// BatchChecker is implemented by an application that checks many
// transactions at once faster than one by one (their signatures as one
// batch): CheckTxs returns, for each, what CheckTx would. The node uses it
// for a client's batch of transactions.
type BatchChecker interface {
	CheckTxs(txs [][]byte) []error
}

// Deadliner is implemented by an application whose state also moves with
// time (proposal deadlines): NextDeadline is the earliest block time at
// which it has something to do with no transaction. When a node's clock
// passes it and nothing is being agreed, the node runs an epoch anyway (an
// empty block), whose block time lets the application move on.
type Deadliner interface {
	NextDeadline() (ms int64, ok bool, err error)
}

// NodeInfo is a consensus node: its ed25519 public key and its libp2p
// addresses.
type NodeInfo struct {
	Key   [32]byte
	Addrs []string
}

// Application is the deterministic state machine the log drives.
type Application interface {
	// Info returns the height of the last block applied (0 if none) and
	// the state root after it, so a restarted node knows where to resume.
	Info() (height uint64, root [32]byte, err error)
	// CheckTx says quickly whether a transaction may be submitted: nil, or
	// an error wrapping ErrRejected whose text is the reason. It changes
	// nothing, and is called concurrently with itself and with ApplyBlock
	// (by the goroutines that submit), against the latest state.
	CheckTx(tx []byte) error
	// ApplyBlock applies the block at Info's height plus one and makes the
	// new state durable before it returns — or, for an application that
	// shares the node's store and is configured so, leaves it to the
	// node's synced record of the block, which the node writes right after
	// to the same store (a synced write makes every earlier one durable),
	// before it applies another block or sends anything that depends on
	// it. A crash in between loses the block's writes whole: the node then
	// applies the block again. An error means the application
	// cannot go on (a disk failure); an invalid transaction is a TxResult.
	ApplyBlock(b Block) (Result, error)
	// Query reads the latest state at a path.
	Query(path string) ([]byte, error)
}
