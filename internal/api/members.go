package api

import (
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"

	"github.com/mass-consensus/mass/internal/apijson"
	"github.com/mass-consensus/mass/internal/app/orgapp"
	"github.com/mass-consensus/mass/internal/app/state"
)

// Members is what GET /v1/members reads; *orgapp.App satisfies it.
type Members interface {
	Members(height uint64, after *state.Key, limit int) (*orgapp.MemberList, error)
	Organization(height uint64) (*state.Organization, error)
}

var _ Members = (*orgapp.App)(nil)

// members answers GET /v1/members?after=ID&limit=N (?height, ?prove): a
// page of the members and applicants in ID order, with the organization
// record; with ?prove=1 the proof of the organization's record and of
// each member's.
func (s *Server) members(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var after *state.Key
	if as := q.Get("after"); as != "" {
		raw, err := hex.DecodeString(as)
		if err != nil || len(raw) != len(state.Key{}) {
			s.fail(w, http.StatusBadRequest, codeBadRequest, "after is an account ID: 40 hex digits", nil)
			return
		}
		k := state.Key(raw)
		after = &k
	}
	limit := apijson.DefaultMembers
	if ls := q.Get("limit"); ls != "" {
		n, err := strconv.Atoi(ls)
		if err != nil || n < 1 || n > apijson.MaxMembers {
			s.fail(w, http.StatusBadRequest, codeBadRequest, fmt.Sprintf("limit is a number from 1 to %d", apijson.MaxMembers), nil)
			return
		}
		limit = n
	}
	height, prove, ok := s.heightOf(w, r)
	if !ok {
		return
	}
	m, ok := s.state.(Members)
	if !ok {
		s.fail(w, http.StatusNotFound, codeNotFound, "this node serves no organization", nil)
		return
	}
	l, err := m.Members(height, after, limit)
	if err != nil {
		s.stateErr(w, err)
		return
	}
	o, err := m.Organization(height)
	if err != nil {
		s.stateErr(w, err)
		return
	}
	v := orgapp.OrganizationJSON(o)
	out := apijson.Members{Height: height, Organization: &v, Members: l.Members, Next: l.Next}
	if prove {
		if out.Proofs, ok = s.proofsOf(w, height, l.Records); !ok {
			return
		}
	}
	writeJSON(w, http.StatusOK, out)
}
