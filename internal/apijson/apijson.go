// Package apijson holds the JSON shapes of the node's HTTP API (/v1): the
// answers the server (internal/api) encodes and the clients
// (internal/client, and through it the light client and the CLI) decode,
// declared once so that the two sides cannot drift apart. Each answer has a
// Check method that a client runs on what it decoded: a node's answer is
// input from outside, and a malformed one must be refused with a clear
// error rather than half used.
//
// It owns no behaviour beyond shapes, their checks and the conversions from
// the chain's and the application's types. It imports chain, smt and the
// application's views (orgapp); it must never import node, api or client,
// so that a light client built on it stays free of the node runtime.
package apijson

import (
	"errors"
	"fmt"
)

// ErrMalformed is wrapped by every failed Check.
var ErrMalformed = errors.New("apijson: malformed answer")

// Error codes: the "code" of an error answer.
const (
	CodeBadRequest       = "bad_request"
	CodeTooLarge         = "too_large"
	CodeUnsupportedMedia = "unsupported_media_type"
	CodeRejected         = "rejected"
	CodeDuplicate        = "duplicate"
	CodeBusy             = "busy"
	CodeTimeout          = "timeout"
	CodeUnavailable      = "unavailable"
	CodeStopped          = "stopped"
	CodeNotFound         = "not_found"
	CodePruned           = "pruned"
	CodeMethodNotAllowed = "method_not_allowed"
	CodeInternal         = "internal"
)

// ErrorBody is the shape of every error answer:
// {"error": {"code": "<snake_case>", "message": "<text>"}}.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the code and message of an error answer.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Check refuses an error answer without a code.
func (e *ErrorBody) Check() error {
	if e.Error.Code == "" {
		return fmt.Errorf("%w: an error answer without a code", ErrMalformed)
	}
	return nil
}

// Status answers GET /v1/status: the node's view of the chain and of its
// peers. The server fills it from node.Status, field by field.
type Status struct {
	ChainID   string `json:"chain_id"`
	Node      int    `json:"node"`
	Key       string `json:"key"`
	Height    uint64 `json:"height"`
	Certified uint64 `json:"certified"`
	Epoch     uint64 `json:"epoch"`
	Pending   int    `json:"pending"`
	Peers     int    `json:"peers"`
	Synced    uint64 `json:"blocks_fetched"`
	// TxRate is the transactions committed per second over the last ten
	// seconds.
	TxRate float64 `json:"tx_per_second"`
	// Member says whether the node is in the current node set (Node is its
	// index there, -1 if not); Nodes is the set's size and Era its number
	// (0: the genesis set).
	Member bool `json:"member"`
	Nodes  int  `json:"nodes"`
	Era    int  `json:"era"`
	// Coin is the coin the node's agreements toss now: "local", or
	// "threshold" once the era's threshold keys exist. KeysAt is the block
	// the keys came with (0: not yet), CoinFrom the first epoch of the
	// threshold coin, KeyParts the complete key generation parts, GroupKey
	// the SHA-256 of the era's threshold public key (hex).
	Coin       string `json:"coin"`
	KeysAt     uint64 `json:"keys_at,omitempty"`
	CoinFrom   uint64 `json:"coin_from_epoch,omitempty"`
	KeyParts   int    `json:"key_parts"`
	KeyDealers []int  `json:"key_dealers,omitempty"`
	GroupKey   string `json:"group_key,omitempty"`
}

// Check refuses a status without a chain ID or with a negative count.
func (s *Status) Check() error {
	switch {
	case s.ChainID == "":
		return fmt.Errorf("%w: a status without a chain id", ErrMalformed)
	case s.Pending < 0 || s.Peers < 0 || s.Nodes < 0 || s.KeyParts < 0:
		return fmt.Errorf("%w: a status with a negative count", ErrMalformed)
	}
	return nil
}

// checkHex refuses a field that is not size bytes of hex (size −1: any).
func checkHex(what, s string, size int) error {
	if size >= 0 && len(s) != 2*size {
		return fmt.Errorf("%w: %s has %d hex digits, want %d", ErrMalformed, what, len(s), 2*size)
	}
	if len(s)%2 != 0 {
		return fmt.Errorf("%w: %s has an odd number of hex digits", ErrMalformed, what)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return fmt.Errorf("%w: %s is not hex", ErrMalformed, what)
		}
	}
	return nil
}
