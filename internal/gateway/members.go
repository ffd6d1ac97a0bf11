package gateway

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/mass-consensus/mass/internal/apijson"
	"github.com/mass-consensus/mass/internal/app/orgapp"
	"github.com/mass-consensus/mass/internal/app/state"
	"github.com/mass-consensus/mass/internal/client"
	"github.com/mass-consensus/mass/internal/crypto"
)

// maxMemberPages bounds the pages of a node's member list the gateway
// reads to verify one: a node's page reads at most orgapp.MaxMemberScan
// records, so this is room for half a million records of state.
const maxMemberPages = 64

// members answers GET /v1/members?after=ID&limit=N. A node's page cannot
// show that it left no member out, so the gateway reads the node's whole
// list at the height (every page, with proofs), verifies each record,
// refuses a node that lists a record that is no member's or applicant's
// or lists one twice, checks that the list has as many members and
// applicants as the proven organization record counts (a node that left
// one out is refused), and answers the page asked for from the verified
// list. Its Next is the last member of the page when more follow.
func (g *Gateway) members(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	after := ""
	if as := q.Get("after"); as != "" {
		raw, err := hex.DecodeString(as)
		if err != nil || len(raw) != len(state.Key{}) {
			fail(w, http.StatusBadRequest, apijson.CodeBadRequest, "after is an account ID: 40 hex digits")
			return
		}
		after = hex.EncodeToString(raw)
	}
	limit := apijson.DefaultMembers
	if ls := q.Get("limit"); ls != "" {
		n, err := strconv.Atoi(ls)
		if err != nil || n < 1 || n > apijson.MaxMembers {
			fail(w, http.StatusBadRequest, apijson.CodeBadRequest, fmt.Sprintf("limit is a number from 1 to %d", apijson.MaxMembers))
			return
		}
		limit = n
	}
	height, prove, ok := g.at(w, r)
	if !ok {
		return
	}
	route := "/v1/members?after=" + after + "&limit=" + strconv.Itoa(limit)
	g.serve(w, r, route, height, prove, func(ctx context.Context, u *upstream) (*answer, error) {
		s, org, list, err := g.memberList(ctx, u, height)
		if err != nil {
			return nil, err
		}
		i, _ := slices.BinarySearchFunc(list, after, func(m orgapp.AccountView, a string) int { return strings.Compare(m.ID, a) })
		if i < len(list) && list[i].ID == after {
			i++
		}
		page := list[i:min(len(list), i+limit)]
		out := apijson.Members{Height: height, Organization: org, Members: page}
		if i+limit < len(list) {
			out.Next = page[len(page)-1].ID
		}
		keys := []string{hex.EncodeToString(state.OrgKey[:])}
		for _, m := range page {
			keys = append(keys, m.ID)
		}
		proofs, err := proofsOf(s, keys)
		if err != nil {
			return nil, err
		}
		full := out
		full.Proofs = proofs
		return encode(http.StatusOK, full, out)
	})
}

// memberList reads a node's whole member list at height, every record
// verified, and checks it against the proven organization record: it
// returns the verified records, the organization and the list in ID
// order (IDs in lowercase hex).
func (g *Gateway) memberList(ctx context.Context, u *upstream, height uint64) (*records, *orgapp.OrganizationView, []orgapp.AccountView, error) {
	s := newRecords(height)
	var list []orgapp.AccountView
	var after *crypto.ID
	for pages := 0; ; pages++ {
		if pages == maxMemberPages {
			return nil, nil, nil, fmt.Errorf("the member list takes more than %d pages of the node's", maxMemberPages)
		}
		m, err := u.c.Members(ctx, after, apijson.MaxMembers, client.At{Height: height, Prove: true})
		if err != nil {
			return nil, nil, nil, err
		}
		if len(m.Proofs) != len(m.Members)+1 {
			return nil, nil, nil, faulty("a page of %d members with %d proofs", len(m.Members), len(m.Proofs))
		}
		if err := g.addProofs(s, m.Proofs); err != nil {
			return nil, nil, nil, err
		}
		for _, p := range m.Proofs[1:] {
			raw, _ := hex.DecodeString(p.Key) // checked by addProofs
			k := state.Key(raw)
			rec := s.recs[k]
			if !rec.Found {
				return nil, nil, nil, faulty("it lists %x as a member, and its proof says there is no such record", k[:])
			}
			v, ok := orgapp.ListedMember(k, rec.Value, rec.Sum)
			if !ok {
				return nil, nil, nil, faulty("it lists %x as a member, and its proven record is no member's or applicant's", k[:])
			}
			if n := len(list); n > 0 && v.ID <= list[n-1].ID {
				return nil, nil, nil, faulty("it lists %s after %s: not in ID order, or twice", v.ID, list[n-1].ID)
			}
			list = append(list, v)
		}
		if m.Next == "" {
			break
		}
		id, err := crypto.ParseID(m.Next)
		if err != nil {
			return nil, nil, nil, faulty("next %q: %v", m.Next, err)
		}
		after = &id // the client checked it makes progress
	}
	rec := s.recs[state.OrgKey]
	if rec == nil || !rec.Found {
		return nil, nil, nil, faulty("the organization record is not proven")
	}
	o, err := state.UnmarshalOrganization(rec.Value)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("the proven organization record: %w", err)
	}
	var members, applicants uint64
	for _, m := range list {
		if m.Role != state.Guest.String() {
			members++
		}
		if m.Applying {
			applicants++
		}
	}
	if members != o.Members || applicants != o.Applicants {
		return nil, nil, nil, faulty("it lists %d members and %d applicants; the proven organization record counts %d and %d",
			members, applicants, o.Members, o.Applicants)
	}
	v := orgapp.OrganizationJSON(o)
	return s, &v, list, nil
}
