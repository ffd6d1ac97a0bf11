package light

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mass-consensus/mass/internal/crypto"
)

// PageSize is the number of headers Sync asks for at once.
const PageSize = 1000

// maxAnswer bounds an answer read from a node.
const maxAnswer = 64 << 20

// Remote asks a node's HTTP API for headers and proofs. It trusts nothing
// it reads: every answer goes through a Client.
type Remote struct {
	// Base is the API's address, such as http://127.0.0.1:8080.
	Base string
	// HTTP is the client to use; nil means one with a 30 s timeout.
	HTTP *http.Client
}

// AccountAnswer is the answer of GET /v1/accounts/{id}.
type AccountAnswer struct {
	Height  uint64          `json:"height"`
	Found   bool            `json:"found"`
	Account json.RawMessage `json:"account,omitempty"`
	Proof   *LeafJSON       `json:"proof,omitempty"`
}

// Segment returns the headers from..to with what verifying them needs.
func (r *Remote) Segment(ctx context.Context, from, to uint64) (*Segment, error) {
	var j SegmentJSON
	if err := r.get(ctx, fmt.Sprintf("/v1/headers?from=%d&to=%d", from, to), &j); err != nil {
		return nil, err
	}
	return j.Decode()
}

// Account returns a node's answer about an account with its proof, at a
// height (0: the latest certified).
func (r *Remote) Account(ctx context.Context, id crypto.ID, height uint64) (*Leaf, error) {
	path := "/v1/accounts/" + id.String() + "?prove=1"
	if height > 0 {
		path += "&height=" + strconv.FormatUint(height, 10)
	}
	var a AccountAnswer
	if err := r.get(ctx, path, &a); err != nil {
		return nil, err
	}
	if a.Proof == nil {
		return nil, fmt.Errorf("%w: the answer has no proof", ErrInvalid)
	}
	return a.Proof.Decode()
}

// Organization returns a node's answer about the organization record.
func (r *Remote) Organization(ctx context.Context, height uint64) (*Leaf, error) {
	path := "/v1/organization?prove=1"
	if height > 0 {
		path += "&height=" + strconv.FormatUint(height, 10)
	}
	var a struct {
		Proof *LeafJSON `json:"proof"`
	}
	if err := r.get(ctx, path, &a); err != nil {
		return nil, err
	}
	if a.Proof == nil {
		return nil, fmt.Errorf("%w: the answer has no proof", ErrInvalid)
	}
	return a.Proof.Decode()
}

// Sync verifies the chain from the client's height up to height, asking
// the node for PageSize headers at a time.
func (c *Client) Sync(ctx context.Context, r *Remote, height uint64) error {
	for c.Height() < height {
		from := c.Height() + 1
		to := min(height, from+PageSize-1)
		seg, err := r.Segment(ctx, from, to)
		if err != nil {
			return err
		}
		if err := c.Verify(seg); err != nil {
			return err
		}
	}
	return nil
}

func (r *Remote) get(ctx context.Context, path string, into any) error {
	hc := r.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	u, err := url.JoinPath(strings.TrimRight(r.Base, "/"))
	if err != nil {
		return fmt.Errorf("light: node address %q: %w", r.Base, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u+path, nil)
	if err != nil {
		return fmt.Errorf("light: %w", err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("light: asking %s: %w", r.Base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return fmt.Errorf("light: reading %s: %w", path, err)
	}
	if len(body) > maxAnswer {
		return fmt.Errorf("light: the answer to %s is over %d bytes", path, maxAnswer)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(body, &e) == nil && e.Error.Message != "" {
			return fmt.Errorf("light: %s: %s (%s)", path, e.Error.Message, e.Error.Code)
		}
		return fmt.Errorf("light: %s: HTTP %d", path, resp.StatusCode)
	}
	if err := json.Unmarshal(body, into); err != nil {
		return errors.Join(fmt.Errorf("%w: the answer to %s is not the expected JSON", ErrInvalid, path), err)
	}
	return nil
}
