package client

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/mass-consensus/mass/internal/apijson"
	"github.com/mass-consensus/mass/internal/crypto"
)

// Members returns one page of the organization's members and applicants
// in ID order: those after the account ID after (nil: from the first), at
// most limit (0: the node's default, else 1 to apijson.MaxMembers). The
// next page is after the answer's Next, at the answer's height, until
// Next is empty.
func (c *Client) Members(ctx context.Context, after *crypto.ID, limit int, at At) (*apijson.Members, error) {
	if limit < 0 || limit > apijson.MaxMembers {
		return nil, fmt.Errorf("%w: a page of %d members, want 1 to %d (0: the default)", ErrArgument, limit, apijson.MaxMembers)
	}
	q := at.query()
	if after != nil {
		q.Set("after", after.String())
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out apijson.Members
	r := request{method: http.MethodGet, path: "/v1/members", query: q}
	if err := c.call(ctx, r, &out); err != nil {
		return nil, err
	}
	switch {
	case at.Prove && len(out.Proofs) == 0:
		return nil, fmt.Errorf("%w: the answer to %s has no proof", ErrMalformed, r.path)
	case at.Height > 0 && out.Height != at.Height:
		return nil, fmt.Errorf("%w: asked for height %d, answered for %d", ErrMalformed, at.Height, out.Height)
	case limit > 0 && len(out.Members) > limit:
		return nil, fmt.Errorf("%w: asked for %d members, answered with %d", ErrMalformed, limit, len(out.Members))
	}
	if after != nil {
		a := after.String()
		if len(out.Members) > 0 && strings.ToLower(out.Members[0].ID) <= a {
			return nil, fmt.Errorf("%w: asked for members after %s, answered with %s", ErrMalformed, a, out.Members[0].ID)
		}
		if out.Next != "" && strings.ToLower(out.Next) <= a {
			return nil, fmt.Errorf("%w: asked for members after %s, answered next %s: no progress", ErrMalformed, a, out.Next)
		}
	}
	return &out, nil
}
