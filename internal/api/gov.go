package api

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/mass-consensus/mass/internal/apijson"
	"github.com/mass-consensus/mass/internal/app"
	"github.com/mass-consensus/mass/internal/app/orgapp"
	"github.com/mass-consensus/mass/internal/app/state"
	"github.com/mass-consensus/mass/internal/app/tx"
	"github.com/mass-consensus/mass/internal/crypto"
)

// Governance is what the governance routes read; *orgapp.App satisfies it.
type Governance interface {
	Proposal(height, id uint64) (*orgapp.ProposalView, error)
	Proposals(height uint64, domain string, page uint32) (*orgapp.ProposalList, error)
	Governance(height uint64) (*orgapp.GovernanceView, error)
	Executors(height uint64) (*orgapp.ExecutorsView, error)
	Comments(height, id uint64, from uint32, limit int) ([]orgapp.CommentView, error)
}

var _ Governance = (*orgapp.App)(nil)

// MaxComments bounds the comments of one answer.
const MaxComments = apijson.MaxComments

// registerGovernance adds the governance routes. The actions are signed
// transactions: POST /v1/txs takes them all; the routes below take only
// their own type (and proposal), so a client cannot post one action where
// it meant another.
func (s *Server) registerGovernance() {
	s.mux.HandleFunc("GET /v1/proposals", s.proposals)
	s.mux.HandleFunc("GET /v1/proposals/{id}", s.proposal)
	s.mux.HandleFunc("GET /v1/proposals/{id}/comments", s.comments)
	s.mux.HandleFunc("GET /v1/governance", s.governance)
	s.mux.HandleFunc("GET /v1/executors", s.executors)
	s.mux.HandleFunc("GET /v1/treasury", s.treasury)
	s.mux.HandleFunc("POST /v1/proposals", s.submitTyped(tx.TypeCreate, false))
	s.mux.HandleFunc("POST /v1/proposals/{id}/join", s.submitTyped(tx.TypeJoin, true))
	s.mux.HandleFunc("POST /v1/proposals/{id}/options", s.submitTyped(tx.TypeOption, true))
	s.mux.HandleFunc("POST /v1/proposals/{id}/comments", s.submitTyped(tx.TypeComment, true))
	s.mux.HandleFunc("POST /v1/proposals/{id}/votes", s.submitTyped(tx.TypeVote, true))
	s.mux.HandleFunc("POST /v1/proposals/{id}/freeze", s.submitTyped(tx.TypeFreeze, true))
	s.mux.HandleFunc("POST /v1/proposals/{id}/review", s.submitTyped(tx.TypeReview, true))
	s.mux.HandleFunc("POST /v1/challenges", s.submitTyped(tx.TypeChallenge, false))
}

// proposalOf returns the proposal a governance transaction is about.
func proposalOf(b tx.Body) (uint64, bool) {
	switch b := b.(type) {
	case *tx.Join:
		return b.Proposal, true
	case *tx.AddOption:
		return b.Proposal, true
	case *tx.Comment:
		return b.Proposal, true
	case *tx.Vote:
		return b.Proposal, true
	case *tx.Freeze:
		return b.Proposal, true
	case *tx.Review:
		return b.Proposal, true
	}
	return 0, false
}

// submitTyped takes a signed transaction of one type (about the proposal
// in the path, if withID) and submits it like POST /v1/txs.
func (s *Server) submitTyped(want tx.Type, withID bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodySize)
		raw, ok := s.readTx(w, r)
		if !ok {
			return
		}
		t, err := tx.Unmarshal(raw)
		if err != nil {
			s.fail(w, http.StatusBadRequest, codeRejected, err.Error(), nil)
			return
		}
		if t.Body.Type() != want {
			s.fail(w, http.StatusBadRequest, codeBadRequest, fmt.Sprintf("this route takes a %s transaction, not a %s", want, t.Body.Type()), nil)
			return
		}
		if withID {
			id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
			if err != nil {
				s.fail(w, http.StatusBadRequest, codeBadRequest, "malformed proposal id", nil)
				return
			}
			if got, _ := proposalOf(t.Body); got != id {
				s.fail(w, http.StatusBadRequest, codeBadRequest, fmt.Sprintf("the transaction is about proposal %d, the path names %d", got, id), nil)
				return
			}
		}
		s.submitRaw(w, r, raw)
	}
}

// govAt resolves ?height and ?prove (heightOf) and returns the governance
// state; on failure it has answered.
func (s *Server) govAt(w http.ResponseWriter, r *http.Request) (g Governance, height uint64, prove, ok bool) {
	if height, prove, ok = s.heightOf(w, r); !ok {
		return nil, 0, false, false
	}
	if g, ok = s.state.(Governance); !ok {
		s.fail(w, http.StatusNotFound, codeNotFound, "this node serves no governance state", nil)
	}
	return g, height, prove, ok
}

// heightOf resolves ?height (default: the latest height both applied and
// certified) and ?prove.
func (s *Server) heightOf(w http.ResponseWriter, r *http.Request) (height uint64, prove, ok bool) {
	if s.state == nil {
		s.fail(w, http.StatusNotFound, codeNotFound, "this node serves no application state", nil)
		return 0, false, false
	}
	q := r.URL.Query()
	switch q.Get("prove") {
	case "", "0", "false":
	case "1", "true":
		prove = true
	default:
		s.fail(w, http.StatusBadRequest, codeBadRequest, "prove is 1 or 0", nil)
		return 0, false, false
	}
	latest := min(s.b.Status().Certified, s.state.Height())
	height = latest
	if hs := q.Get("height"); hs != "" && hs != "latest" {
		h, err := strconv.ParseUint(hs, 10, 64)
		if err != nil {
			s.fail(w, http.StatusBadRequest, codeBadRequest, "malformed height: want a decimal number or \"latest\"", nil)
			return 0, false, false
		}
		if h > latest {
			s.fail(w, http.StatusNotFound, codeNotFound, fmt.Sprintf("height %d is not certified here yet (the latest is %d)", h, latest), nil)
			return 0, false, false
		}
		height = h
	}
	if prove && height == 0 {
		s.fail(w, http.StatusNotFound, codeNotFound, "no certified block yet: proofs start at height 1", nil)
		return 0, false, false
	}
	return height, prove, true
}

// stateErr answers a read error of the application.
func (s *Server) stateErr(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, orgapp.ErrPruned):
		s.fail(w, http.StatusGone, codePruned, err.Error(), nil)
	case errors.Is(err, orgapp.ErrFuture), errors.Is(err, app.ErrNotFound):
		s.fail(w, http.StatusNotFound, codeNotFound, err.Error(), nil)
	default:
		s.internal(w, err)
	}
}

// proofsOf proves each record (keys in hex, as the views list them) at a
// height; on failure it has answered.
func (s *Server) proofsOf(w http.ResponseWriter, height uint64, records []string) ([]apijson.Leaf, bool) {
	b, c, err := s.b.Block(height)
	if err != nil {
		s.internal(w, fmt.Errorf("reading certified block %d: %w", height, err))
		return nil, false
	}
	out := make([]apijson.Leaf, 0, len(records))
	for _, rec := range records {
		raw, err := hex.DecodeString(rec)
		if err != nil || len(raw) != 20 {
			s.internal(w, fmt.Errorf("a view names record %q", rec))
			return nil, false
		}
		leaf, err := s.state.Prove(height, state.Key(raw))
		if err != nil {
			s.stateErr(w, err)
			return nil, false
		}
		if [32]byte(leaf.Root) != b.StateRoot {
			s.internal(w, fmt.Errorf("the state root at height %d differs from the certified one", height))
			return nil, false
		}
		out = append(out, apijson.LeafOf(leaf, &b.Header, c))
	}
	return out, true
}

// proposal answers GET /v1/proposals/{id}.
func (s *Server) proposal(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil {
		s.fail(w, http.StatusBadRequest, codeBadRequest, "malformed proposal id", nil)
		return
	}
	g, height, prove, ok := s.govAt(w, r)
	if !ok {
		return
	}
	v, err := g.Proposal(height, id)
	if err != nil {
		s.stateErr(w, err)
		return
	}
	out := apijson.Proposal{Height: height, Proposal: v}
	if prove {
		if out.Proofs, ok = s.proofsOf(w, height, v.Records); !ok {
			return
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// proposals answers GET /v1/proposals?domain=D&page=N.
func (s *Server) proposals(w http.ResponseWriter, r *http.Request) {
	g, height, prove, ok := s.govAt(w, r)
	if !ok {
		return
	}
	domain := r.URL.Query().Get("domain")
	if domain == "" {
		domain = "general"
	}
	var page uint64
	if ps := r.URL.Query().Get("page"); ps != "" {
		var err error
		if page, err = strconv.ParseUint(ps, 10, 32); err != nil {
			s.fail(w, http.StatusBadRequest, codeBadRequest, "malformed page", nil)
			return
		}
	}
	l, err := g.Proposals(height, domain, uint32(page))
	if err != nil {
		s.stateErr(w, err)
		return
	}
	out := apijson.ProposalList{Height: height, List: l}
	if prove {
		if out.Proofs, ok = s.proofsOf(w, height, l.Records); !ok {
			return
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// governance answers GET /v1/governance: the registry, the domains with
// their parameters, and the executors.
func (s *Server) governance(w http.ResponseWriter, r *http.Request) {
	g, height, prove, ok := s.govAt(w, r)
	if !ok {
		return
	}
	v, err := g.Governance(height)
	if err != nil {
		s.stateErr(w, err)
		return
	}
	ex, err := g.Executors(height)
	if err != nil {
		s.stateErr(w, err)
		return
	}
	out := apijson.Governance{Height: height, Governance: v, Executors: ex.List}
	if prove {
		// Every record the answer is built from, once each: the
		// registry, the domains, then the executors' record and the
		// accounts it names (as a gateway rebuilds it).
		records := []string{v.Record}
		for _, d := range v.Domains {
			records = append(records, d.Record)
		}
		for _, k := range ex.Records {
			if !slices.Contains(records, k) {
				records = append(records, k)
			}
		}
		if out.Proofs, ok = s.proofsOf(w, height, records); !ok {
			return
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// executors answers GET /v1/executors: who holds which role, by which
// election, until when.
func (s *Server) executors(w http.ResponseWriter, r *http.Request) {
	g, height, prove, ok := s.govAt(w, r)
	if !ok {
		return
	}
	ex, err := g.Executors(height)
	if err != nil {
		s.stateErr(w, err)
		return
	}
	out := apijson.Executors{Height: height, Executors: ex.List}
	if prove {
		if out.Proofs, ok = s.proofsOf(w, height, ex.Records); !ok {
			return
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// treasury answers GET /v1/treasury: the organization's account, as
// GET /v1/accounts/{id} answers an account.
func (s *Server) treasury(w http.ResponseWriter, r *http.Request) {
	s.answerAccount(w, r, crypto.ID(state.TreasuryKey))
}

// comments answers GET /v1/proposals/{id}/comments?from=N: with
// ?prove=1, a proof of each record the comments are read from
// (apijson.CommentRecords) at the answer's height.
func (s *Server) comments(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil {
		s.fail(w, http.StatusBadRequest, codeBadRequest, "malformed proposal id", nil)
		return
	}
	var from uint64
	if fs := r.URL.Query().Get("from"); fs != "" {
		if from, err = strconv.ParseUint(fs, 10, 32); err != nil {
			s.fail(w, http.StatusBadRequest, codeBadRequest, "malformed from", nil)
			return
		}
	}
	g, height, prove, ok := s.govAt(w, r)
	if !ok {
		return
	}
	cs, err := g.Comments(height, id, uint32(from), MaxComments)
	if err != nil {
		s.stateErr(w, err)
		return
	}
	records, err := apijson.CommentRecords(id, cs)
	if err != nil {
		s.internal(w, err)
		return
	}
	out := apijson.Comments{Height: height, Comments: cs, Records: records}
	if prove {
		if out.Proofs, ok = s.proofsOf(w, height, records); !ok {
			return
		}
	}
	writeJSON(w, http.StatusOK, out)
}
