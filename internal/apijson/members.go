package apijson

import (
	"fmt"
	"strings"

	"github.com/mass-consensus/mass/internal/app/orgapp"
	"github.com/mass-consensus/mass/internal/app/state"
)

// Bounds of GET /v1/members: the members of a page when the request names
// no limit, and the most it may name.
const (
	DefaultMembers = orgapp.DefaultMembers
	MaxMembers     = orgapp.MaxMembers
)

// Members answers GET /v1/members: one page of the organization's
// members (role member or supervisor) and applicants, in the order of
// their account IDs. A client that lists every page (after=Next until
// Next is empty, all at Height) and counts the distinct proven records
// has the whole list when its counts equal the organization record's
// (members, applicants).
type Members struct {
	Height uint64 `json:"height"`
	// Organization is the organization's record at Height, whose counts
	// the whole list must match.
	Organization *orgapp.OrganizationView `json:"organization"`
	Members      []orgapp.AccountView     `json:"members"`
	// Next, when set, is the account ID (hex) to ask after for the next
	// page; empty, the list ends with this page.
	Next string `json:"next,omitempty"`
	// Proofs, with ?prove=1: the organization record's first, then one
	// per member, in order, all at Height.
	Proofs []Leaf `json:"proofs,omitempty"`
}

// Check refuses a page without the organization, with more members than
// a page holds, members not in strictly increasing ID order, a Next
// before the last member, or proofs that are not the organization's and
// one per member at the page's height.
func (m *Members) Check() error {
	if m.Organization == nil {
		return fmt.Errorf("%w: a page of members without the organization", ErrMalformed)
	}
	if len(m.Members) > MaxMembers {
		return fmt.Errorf("%w: a page of %d members, limit %d", ErrMalformed, len(m.Members), MaxMembers)
	}
	prev := ""
	for i, a := range m.Members {
		if err := checkHex(fmt.Sprintf("member %d's id", i), a.ID, 20); err != nil {
			return err
		}
		id := strings.ToLower(a.ID)
		if i > 0 && id <= prev {
			return fmt.Errorf("%w: member %d (%s) does not follow %s", ErrMalformed, i, id, prev)
		}
		prev = id
	}
	if m.Next != "" {
		if err := checkHex("next", m.Next, 20); err != nil {
			return err
		}
		if prev != "" && strings.ToLower(m.Next) < prev {
			return fmt.Errorf("%w: next %s is before the last member %s", ErrMalformed, m.Next, prev)
		}
	}
	if len(m.Proofs) == 0 {
		return nil
	}
	if len(m.Proofs) != len(m.Members)+1 {
		return fmt.Errorf("%w: %d proofs for the organization and %d members", ErrMalformed, len(m.Proofs), len(m.Members))
	}
	if !strings.EqualFold(m.Proofs[0].Key, keyHex(state.OrgKey)) {
		return fmt.Errorf("%w: the first proof is of %s, not the organization", ErrMalformed, m.Proofs[0].Key)
	}
	for i, a := range m.Members {
		if !strings.EqualFold(m.Proofs[i+1].Key, a.ID) {
			return fmt.Errorf("%w: proof %d is of %s, member %d is %s", ErrMalformed, i+1, m.Proofs[i+1].Key, i, a.ID)
		}
	}
	return checkProofs(m.Height, m.Proofs)
}
