package light

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/mass-consensus/mass/internal/apijson"
	"github.com/mass-consensus/mass/internal/client"
	"github.com/mass-consensus/mass/internal/crypto"
)

// PageSize is the number of headers Sync asks a node for at once: the
// most the API gives in one answer.
const PageSize = apijson.MaxHeaders

// Remote asks a node's HTTP API for headers and proofs. It trusts nothing
// it reads: every answer goes through a Client. Errors of the node or of
// the network are returned as they are; an answer that is not what the
// API sends is ErrInvalid.
type Remote struct {
	// Base is the API's address: http://127.0.0.1:8080, or 127.0.0.1:8080.
	Base string
	// HTTP is the client to send with; nil means one with a 30 s timeout.
	HTTP *http.Client
}

func (r *Remote) client() (*client.Client, error) {
	c, err := client.New(r.Base, client.WithHTTP(r.HTTP))
	if err != nil {
		return nil, fmt.Errorf("light: %w", err)
	}
	return c, nil
}

// remoteErr marks an answer the node should not have sent as invalid.
func remoteErr(err error) error {
	if errors.Is(err, client.ErrMalformed) || errors.Is(err, client.ErrTooLarge) {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return fmt.Errorf("light: %w", err)
}

// Segment returns the headers from..to (at most PageSize) with what
// verifying them needs.
func (r *Remote) Segment(ctx context.Context, from, to uint64) (*Segment, error) {
	c, err := r.client()
	if err != nil {
		return nil, err
	}
	j, err := c.Headers(ctx, from, to)
	if err != nil {
		return nil, remoteErr(err)
	}
	return segmentOf(j, PageSize)
}

// Account returns a node's answer about an account with its proof, at a
// height (0: the latest the node has certified).
func (r *Remote) Account(ctx context.Context, id AccountID, height uint64) (*Leaf, error) {
	c, err := r.client()
	if err != nil {
		return nil, err
	}
	a, err := c.Account(ctx, crypto.ID(id), client.At{Height: height, Prove: true})
	if err != nil {
		return nil, remoteErr(err)
	}
	return leafOf(a.Proof)
}

// Organization returns a node's answer about the organization record,
// with its proof, at a height (0: the latest the node has certified).
func (r *Remote) Organization(ctx context.Context, height uint64) (*Leaf, error) {
	c, err := r.client()
	if err != nil {
		return nil, err
	}
	o, err := c.Organization(ctx, client.At{Height: height, Prove: true})
	if err != nil {
		return nil, remoteErr(err)
	}
	return leafOf(o.Proof)
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

// ProveAccount asks a node for an account at a height (0: the latest the
// node has certified), verifies the chain up to that height if the client
// has not yet, then the proof. The account is nil if the proof shows it
// absent.
func (c *Client) ProveAccount(ctx context.Context, r *Remote, id AccountID, height uint64) (*Account, *Record, error) {
	l, err := r.Account(ctx, id, height)
	if err != nil {
		return nil, nil, err
	}
	if err := c.Sync(ctx, r, l.Height); err != nil {
		return nil, nil, fmt.Errorf("verifying the chain to height %d: %w", l.Height, err)
	}
	return c.VerifyAccount(l, id)
}

// ProveOrganization asks a node for the organization record at a height
// (0: the latest the node has certified), verifies the chain up to that
// height if the client has not yet, then the proof.
func (c *Client) ProveOrganization(ctx context.Context, r *Remote, height uint64) (*Organization, *Record, error) {
	l, err := r.Organization(ctx, height)
	if err != nil {
		return nil, nil, err
	}
	if err := c.Sync(ctx, r, l.Height); err != nil {
		return nil, nil, fmt.Errorf("verifying the chain to height %d: %w", l.Height, err)
	}
	return c.VerifyOrganization(l)
}
