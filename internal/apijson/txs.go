package apijson

import (
	"fmt"
)

// HashSize is the size of a transaction's or a block's hash, in bytes
// (SHA-256): 64 hex digits in an answer.
const HashSize = 32

// SubmitRequest is the JSON body of POST /v1/txs (the raw body is the
// other form).
type SubmitRequest struct {
	Tx *string `json:"tx"` // standard base64, padded
}

// Submitted answers an accepted transaction (202): the node holds it
// durably as pending.
type Submitted struct {
	Hash string `json:"hash"` // hex SHA-256 of the transaction
}

// Check refuses an answer whose hash is not 64 hex digits.
func (s *Submitted) Check() error { return checkHex("hash", s.Hash, HashSize) }

// The states of a transaction in TxStatus.
const (
	TxCommitted = "committed"
	TxPending   = "pending"
)

// TxStatus answers GET /v1/txs/{hash}.
type TxStatus struct {
	Hash   string `json:"hash"`
	Status string `json:"status"`           // TxCommitted or TxPending
	Height uint64 `json:"height,omitempty"` // of the block that holds it, when committed
	// Code is the application's result when committed: 0 for success
	// (absent for the key-value test application).
	Code *uint32 `json:"code,omitempty"`
	// Log says why a committed transaction failed.
	Log string `json:"log,omitempty"`
	// Proposal is the ID of the proposal a committed create or challenge
	// made.
	Proposal uint64 `json:"proposal,omitempty"`
}

// Check refuses an unknown status, a committed transaction without its
// height, and a pending one with a result.
func (s *TxStatus) Check() error {
	if err := checkHex("hash", s.Hash, HashSize); err != nil {
		return err
	}
	switch {
	case s.Status == TxCommitted && s.Height == 0:
		return fmt.Errorf("%w: a committed transaction without its height", ErrMalformed)
	case s.Status == TxPending && (s.Height != 0 || s.Code != nil):
		return fmt.Errorf("%w: a pending transaction with a height or a result", ErrMalformed)
	case s.Status != TxCommitted && s.Status != TxPending:
		return fmt.Errorf("%w: transaction status %q", ErrMalformed, s.Status)
	}
	return nil
}

// Limits of POST /v1/txs/batch, whose body is count:u32 then, for each
// transaction, len:u32 and its bytes (big-endian).
const (
	MaxBatchBody = 16 << 20
	MaxBatchTxs  = 10_000
)

// BatchRejection is one transaction of a batch the node refused: its index
// in the batch and the error code and message it would have had alone.
type BatchRejection struct {
	Index   int    `json:"index"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// BatchResult answers POST /v1/txs/batch.
type BatchResult struct {
	Accepted int              `json:"accepted"`
	Rejected []BatchRejection `json:"rejected"`
}

// CheckCount refuses an answer that does not account for each of count
// transactions exactly once: rejections in increasing index order, within
// the batch, the rest accepted.
func (b *BatchResult) CheckCount(count int) error {
	if b.Accepted < 0 || b.Accepted+len(b.Rejected) != count {
		return fmt.Errorf("%w: %d accepted and %d rejected of a batch of %d", ErrMalformed, b.Accepted, len(b.Rejected), count)
	}
	for i, r := range b.Rejected {
		switch {
		case r.Index < 0 || r.Index >= count:
			return fmt.Errorf("%w: a rejection of index %d in a batch of %d", ErrMalformed, r.Index, count)
		case i > 0 && r.Index <= b.Rejected[i-1].Index:
			return fmt.Errorf("%w: rejections not in increasing index order", ErrMalformed)
		case r.Code == "":
			return fmt.Errorf("%w: the rejection of index %d has no code", ErrMalformed, r.Index)
		}
	}
	return nil
}

// CommitEvent is the data of one "commit" event of GET /v1/events: a
// block the node applied.
type CommitEvent struct {
	Height uint64   `json:"height"`
	Hash   string   `json:"hash"`
	TimeMs int64    `json:"time_ms"`
	Txs    []string `json:"txs"` // hex hashes, in block order
	// Results has one entry per transaction; it is empty if the node
	// applied the block before a restart.
	Results []TxResult `json:"results"`
	// ApplyMs is how long the answering node's application took to apply
	// the block, in milliseconds (absent if it applied it before a
	// restart).
	ApplyMs float64 `json:"apply_ms,omitempty"`
}

// TxResult is the application's result of one committed transaction.
type TxResult struct {
	Code uint32 `json:"code"` // 0 is success
	Log  string `json:"log"`
}

// Check refuses an event without a height, with a malformed hash, or with
// results that do not match its transactions.
func (e *CommitEvent) Check() error {
	if e.Height == 0 {
		return fmt.Errorf("%w: a commit without a height", ErrMalformed)
	}
	if err := checkHex("block hash", e.Hash, HashSize); err != nil {
		return err
	}
	for i, h := range e.Txs {
		if err := checkHex(fmt.Sprintf("transaction hash %d", i), h, HashSize); err != nil {
			return err
		}
	}
	if len(e.Results) != 0 && len(e.Results) != len(e.Txs) {
		return fmt.Errorf("%w: %d results for %d transactions", ErrMalformed, len(e.Results), len(e.Txs))
	}
	return nil
}
