package client

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/mass-consensus/mass/internal/apijson"
	"github.com/mass-consensus/mass/internal/crypto"
)

// At says which state a read is of: Height 0 is the latest height the
// node has both applied and certified; Prove asks for the proof of each
// record the answer is built from.
type At struct {
	Height uint64
	Prove  bool
}

func (a At) query() url.Values {
	q := url.Values{}
	if a.Height > 0 {
		q.Set("height", strconv.FormatUint(a.Height, 10))
	}
	if a.Prove {
		q.Set("prove", "1")
	}
	return q
}

// Status returns the node's status.
func (c *Client) Status(ctx context.Context) (*apijson.Status, error) {
	var out apijson.Status
	if err := c.call(ctx, request{method: http.MethodGet, path: "/v1/status"}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Account returns an account.
func (c *Client) Account(ctx context.Context, id crypto.ID, at At) (*apijson.Account, error) {
	return c.account(ctx, "/v1/accounts/"+id.String(), at)
}

// Treasury returns the organization's account (its record is an account's).
func (c *Client) Treasury(ctx context.Context, at At) (*apijson.Account, error) {
	return c.account(ctx, "/v1/treasury", at)
}

func (c *Client) account(ctx context.Context, path string, at At) (*apijson.Account, error) {
	var out apijson.Account
	r := request{method: http.MethodGet, path: path, query: at.query()}
	if err := c.call(ctx, r, &out); err != nil {
		return nil, err
	}
	if at.Prove && out.Proof == nil {
		return nil, fmt.Errorf("%w: the answer to %s has no proof", ErrMalformed, r.path)
	}
	if at.Height > 0 && out.Height != at.Height {
		return nil, fmt.Errorf("%w: asked for height %d, answered for %d", ErrMalformed, at.Height, out.Height)
	}
	return &out, nil
}

// Organization returns the organization record.
func (c *Client) Organization(ctx context.Context, at At) (*apijson.Organization, error) {
	var out apijson.Organization
	r := request{method: http.MethodGet, path: "/v1/organization", query: at.query()}
	if err := c.call(ctx, r, &out); err != nil {
		return nil, err
	}
	if at.Prove && out.Proof == nil {
		return nil, fmt.Errorf("%w: the answer to %s has no proof", ErrMalformed, r.path)
	}
	if at.Height > 0 && out.Height != at.Height {
		return nil, fmt.Errorf("%w: asked for height %d, answered for %d", ErrMalformed, at.Height, out.Height)
	}
	return &out, nil
}

// Headers returns the headers from..to (at most apijson.MaxHeaders) with
// the certificates and node sets a light client needs to verify them.
func (c *Client) Headers(ctx context.Context, from, to uint64) (*apijson.Headers, error) {
	if from == 0 || from > to || to-from >= apijson.MaxHeaders {
		return nil, fmt.Errorf("%w: headers %d to %d: want 1 ≤ from ≤ to, at most %d", ErrArgument, from, to, apijson.MaxHeaders)
	}
	var out apijson.Headers
	q := url.Values{"from": {strconv.FormatUint(from, 10)}, "to": {strconv.FormatUint(to, 10)}}
	if err := c.call(ctx, request{method: http.MethodGet, path: "/v1/headers", query: q}, &out); err != nil {
		return nil, err
	}
	if uint64(len(out.Headers)) != to-from+1 {
		return nil, fmt.Errorf("%w: %d headers for heights %d to %d", ErrMalformed, len(out.Headers), from, to)
	}
	return &out, nil
}

// Block returns the certified block of a height.
func (c *Client) Block(ctx context.Context, height uint64) (*apijson.Block, error) {
	if height == 0 {
		return nil, fmt.Errorf("%w: blocks start at height 1", ErrArgument)
	}
	out, err := c.block(ctx, strconv.FormatUint(height, 10))
	if err == nil && out.Height != height {
		return nil, fmt.Errorf("%w: asked for block %d, answered with %d", ErrMalformed, height, out.Height)
	}
	return out, err
}

// LatestBlock returns the last certified block.
func (c *Client) LatestBlock(ctx context.Context) (*apijson.Block, error) {
	return c.block(ctx, "latest")
}

func (c *Client) block(ctx context.Context, which string) (*apijson.Block, error) {
	var out apijson.Block
	if err := c.call(ctx, request{method: http.MethodGet, path: "/v1/blocks/" + which}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Tx returns whether a transaction (its hash, 64 hex digits) is committed
// or pending; a node that has neither answers not_found.
func (c *Client) Tx(ctx context.Context, hash string) (*apijson.TxStatus, error) {
	if b, err := hex.DecodeString(hash); err != nil || len(b) != apijson.HashSize {
		return nil, fmt.Errorf("%w: transaction hash %q: want 64 hex digits", ErrArgument, hash)
	}
	var out apijson.TxStatus
	r := request{method: http.MethodGet, path: "/v1/txs/" + hash}
	if err := c.call(ctx, r, &out); err != nil {
		return nil, err
	}
	if !hexEqual(out.Hash, hash) {
		return nil, fmt.Errorf("%w: asked about %s, answered about %s", ErrMalformed, hash, out.Hash)
	}
	return &out, nil
}

// Submit hands a signed transaction to the node. The answer (202) means the
// node holds it as pending; an *Error with code apijson.CodeDuplicate means
// it had it already, apijson.CodeRejected that the application refuses it.
func (c *Client) Submit(ctx context.Context, tx []byte) (*apijson.Submitted, error) {
	if len(tx) == 0 {
		return nil, fmt.Errorf("%w: an empty transaction", ErrArgument)
	}
	var out apijson.Submitted
	r := request{method: http.MethodPost, path: "/v1/txs", body: tx, accept: http.StatusAccepted}
	if err := c.call(ctx, r, &out); err != nil {
		return nil, err
	}
	if h := sha256.Sum256(tx); !hexEqual(out.Hash, hex.EncodeToString(h[:])) {
		return nil, fmt.Errorf("%w: the node took the transaction as %s, its hash is %x", ErrMalformed, out.Hash, h)
	}
	return &out, nil
}

// SubmitBatch hands many transactions to the node in one request. The
// answer accounts for each: accepted, or rejected with its code (a
// duplicate is one the node had already; busy and unavailable may be
// submitted again). A node with no room for any answers an *Error with
// status 503.
func (c *Client) SubmitBatch(ctx context.Context, txs [][]byte) (*apijson.BatchResult, error) {
	body, err := EncodeBatch(txs)
	if err != nil {
		return nil, err
	}
	var out apijson.BatchResult
	r := request{method: http.MethodPost, path: "/v1/txs/batch", body: body}
	if err := c.call(ctx, r, &out); err != nil {
		return nil, err
	}
	if err := out.CheckCount(len(txs)); err != nil {
		return nil, fmt.Errorf("%w: the answer to %s %s: %w", ErrMalformed, r.method, r.path, err)
	}
	return &out, nil
}

// EncodeBatch is the body of POST /v1/txs/batch: count:u32 ‖ (len:u32 ‖
// tx) × count, big-endian, within the API's limits.
func EncodeBatch(txs [][]byte) ([]byte, error) {
	if len(txs) == 0 || len(txs) > apijson.MaxBatchTxs {
		return nil, fmt.Errorf("%w: a batch of %d transactions, want 1 to %d", ErrArgument, len(txs), apijson.MaxBatchTxs)
	}
	n := 4
	for i, t := range txs {
		if len(t) == 0 {
			return nil, fmt.Errorf("%w: transaction %d of the batch is empty", ErrArgument, i)
		}
		n += 4 + len(t)
	}
	if n > apijson.MaxBatchBody {
		return nil, fmt.Errorf("%w: a batch of %d bytes, limit %d", ErrArgument, n, apijson.MaxBatchBody)
	}
	b := make([]byte, 0, n)
	b = binary.BigEndian.AppendUint32(b, uint32(len(txs)))
	for _, t := range txs {
		b = binary.BigEndian.AppendUint32(b, uint32(len(t)))
		b = append(b, t...)
	}
	return b, nil
}

// Proposal returns a proposal's view.
func (c *Client) Proposal(ctx context.Context, id uint64, at At) (*apijson.Proposal, error) {
	var out apijson.Proposal
	r := request{method: http.MethodGet, path: "/v1/proposals/" + strconv.FormatUint(id, 10), query: at.query()}
	if err := c.call(ctx, r, &out); err != nil {
		return nil, err
	}
	if out.Proposal.ID != id {
		return nil, fmt.Errorf("%w: asked for proposal %d, answered with %d", ErrMalformed, id, out.Proposal.ID)
	}
	return &out, nil
}

// Proposals returns one page (from 0) of a domain's proposals.
func (c *Client) Proposals(ctx context.Context, domain string, page uint32, at At) (*apijson.ProposalList, error) {
	var out apijson.ProposalList
	q := at.query()
	q.Set("domain", domain)
	q.Set("page", strconv.FormatUint(uint64(page), 10))
	if err := c.call(ctx, request{method: http.MethodGet, path: "/v1/proposals", query: q}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Governance returns the registry, the domains with their parameters, and
// the executors.
func (c *Client) Governance(ctx context.Context, at At) (*apijson.Governance, error) {
	var out apijson.Governance
	if err := c.call(ctx, request{method: http.MethodGet, path: "/v1/governance", query: at.query()}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Executors returns who holds which role, by which election, until when.
func (c *Client) Executors(ctx context.Context, at At) (*apijson.Executors, error) {
	var out apijson.Executors
	r := request{method: http.MethodGet, path: "/v1/executors", query: at.query()}
	if err := c.call(ctx, r, &out); err != nil {
		return nil, err
	}
	if at.Prove && len(out.Proofs) == 0 {
		return nil, fmt.Errorf("%w: the answer to %s has no proof", ErrMalformed, r.path)
	}
	return &out, nil
}

// Comments returns a proposal's comments from number from on (a page of
// at most the node's limit), at a height, with the proofs of the records
// they are read from if asked.
func (c *Client) Comments(ctx context.Context, id uint64, from uint32, at At) (*apijson.Comments, error) {
	var out apijson.Comments
	q := at.query()
	q.Set("from", strconv.FormatUint(uint64(from), 10))
	r := request{method: http.MethodGet, path: "/v1/proposals/" + strconv.FormatUint(id, 10) + "/comments", query: q}
	if err := c.call(ctx, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Metrics returns the node's Prometheus metrics, in the text exposition
// format.
func (c *Client) Metrics(ctx context.Context) ([]byte, error) {
	return c.send(ctx, request{method: http.MethodGet, path: "/metrics"})
}

// hexEqual compares hex strings regardless of case.
func hexEqual(a, b string) bool {
	x, err1 := hex.DecodeString(a)
	y, err2 := hex.DecodeString(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}
