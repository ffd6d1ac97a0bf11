package bench

import (
	"context"
	"errors"
	"time"
)

// txHash is a transaction's hash, SHA-256 of its bytes (epoch.TxHash).
type txHash = [32]byte

// commitEvent is one block node 0 applied.
type commitEvent struct {
	Height uint64
	Txs    []txHash
	// Failed counts the transactions the application reported as failed;
	// Failures are they.
	Failed   int
	Failures []txFailure
	// Time is the block's time (Unix ms); Apply how long node 0's
	// application took to apply it (0 if unknown).
	Time  int64
	Apply time.Duration
}

// txFailure is a committed transaction the application reported as failed.
type txFailure struct {
	Index int
	Code  uint32
	Log   string
}

// rejection is a transaction a node refused.
type rejection struct {
	Index int
	// Busy: the node had no room; the transaction may be submitted again.
	Busy    bool
	Message string
}

// sample is a reading of the network's counters.
type sample struct {
	// Committed is node 0's count of committed transactions.
	Committed uint64
	// BytesSent is the sum of the nodes' transport payload bytes sent.
	BytesSent uint64
	// CPU is the nodes' CPU time (see cluster.cpuScope).
	CPU     time.Duration
	PerNode []time.Duration // nil when the nodes share a process
	// Progress is each node's consensus counters.
	Progress []progress
}

// progress is a node's consensus counters.
type progress struct {
	// Messages are the epoch messages its engine handled.
	Messages uint64
	// Epoch is its engine's next epoch.
	Epoch uint64
}

// cluster is a running network the bench drives.
type cluster interface {
	size() int
	chainID() string
	// submit hands transactions to node i; a transaction not in the
	// rejections was accepted. An error means none was taken.
	submit(ctx context.Context, i int, txs [][]byte) ([]rejection, error)
	// commits streams node 0's commits until the cluster closes.
	commits() <-chan commitEvent
	sample() (sample, error)
	cpuScope() string
	memory() Memory
	// keys says how many nodes have the era's threshold keys, and the
	// block and the number of parts they were made at (node 0's).
	keys() (keyState, error)
	// failed is closed if a node stops by itself; failure then says why.
	failed() <-chan struct{}
	failure() error
	close() error
}

// errClusterFailed is wrapped by the error of a run whose network failed.
var errClusterFailed = errors.New("bench: a node failed")

// keyState is where the nodes' key generation stands.
type keyState struct {
	Ready int    // nodes with the keys
	Block uint64 // the block the keys came with, at node 0
	Parts int    // the parts they are made of, at node 0
}
