package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/mass-consensus/mass/internal/apijson"
	"github.com/mass-consensus/mass/internal/app/gov"
	"github.com/mass-consensus/mass/internal/app/orgapp"
	"github.com/mass-consensus/mass/internal/app/state"
	"github.com/mass-consensus/mass/internal/client"
	"github.com/mass-consensus/mass/internal/crypto"
)

// account answers GET /v1/accounts/{id}: id is an account ID (40 hex
// digits) or a public key (64).
func (g *Gateway) account(w http.ResponseWriter, r *http.Request) {
	raw := r.PathValue("id")
	var id crypto.ID
	if len(raw) == 2*crypto.PublicKeySize {
		k, err := crypto.ParsePublicKey(raw)
		if err != nil {
			fail(w, http.StatusBadRequest, apijson.CodeBadRequest, err.Error())
			return
		}
		id = k.ID()
	} else {
		var err error
		if id, err = crypto.ParseID(raw); err != nil {
			fail(w, http.StatusBadRequest, apijson.CodeBadRequest, "an account is an ID (40 hex digits) or a public key (64 hex digits)")
			return
		}
	}
	g.serveAccount(w, r, "/v1/accounts/"+id.String(), id, func(ctx context.Context, u *upstream, at client.At) (*apijson.Account, error) {
		return u.c.Account(ctx, id, at)
	})
}

// treasury answers GET /v1/treasury: the organization's account.
func (g *Gateway) treasury(w http.ResponseWriter, r *http.Request) {
	g.serveAccount(w, r, "/v1/treasury", crypto.ID(state.TreasuryKey), func(ctx context.Context, u *upstream, at client.At) (*apijson.Account, error) {
		return u.c.Treasury(ctx, at)
	})
}

// serveAccount answers an account: the node's proof verified, the
// account decoded from the proven record.
func (g *Gateway) serveAccount(w http.ResponseWriter, r *http.Request, route string, id crypto.ID,
	ask func(context.Context, *upstream, client.At) (*apijson.Account, error)) {
	height, prove, ok := g.at(w, r)
	if !ok {
		return
	}
	g.serve(w, r, route, height, prove, func(ctx context.Context, u *upstream) (*answer, error) {
		a, err := ask(ctx, u, client.At{Height: height, Prove: true})
		if err != nil {
			return nil, err
		}
		s := newRecords(height)
		l, err := leafOf(a.Proof)
		if err != nil {
			return nil, err
		}
		if state.Key(l.Key) != state.AccountKey(id) {
			return nil, faulty("asked for account %s, sent the proof of record %x", id, l.Key[:])
		}
		if err := g.addLeaf(s, l); err != nil {
			return nil, err
		}
		rec := s.recs[state.Key(l.Key)]
		out := apijson.Account{Height: height, Found: rec.Found}
		if rec.Found {
			acct, err := state.UnmarshalAccount(rec.Value)
			if err != nil {
				return nil, fmt.Errorf("the proven record of %s is not an account: %w", id, err)
			}
			v := orgapp.AccountJSON(id, acct, rec.Sum)
			out.Account = &v
		}
		full := out
		proof := leafJSON(l)
		full.Proof = &proof
		return encode(http.StatusOK, full, out)
	})
}

// organization answers GET /v1/organization.
func (g *Gateway) organization(w http.ResponseWriter, r *http.Request) {
	height, prove, ok := g.at(w, r)
	if !ok {
		return
	}
	g.serve(w, r, "/v1/organization", height, prove, func(ctx context.Context, u *upstream) (*answer, error) {
		o, err := u.c.Organization(ctx, client.At{Height: height, Prove: true})
		if err != nil {
			return nil, err
		}
		s := newRecords(height)
		l, err := leafOf(o.Proof)
		if err != nil {
			return nil, err
		}
		if state.Key(l.Key) != state.OrgKey {
			return nil, faulty("asked for the organization, sent the proof of record %x", l.Key[:])
		}
		if err := g.addLeaf(s, l); err != nil {
			return nil, err
		}
		rec := s.recs[state.OrgKey]
		if !rec.Found {
			return nil, errors.New("the organization record is proven absent")
		}
		org, err := state.UnmarshalOrganization(rec.Value)
		if err != nil {
			return nil, fmt.Errorf("the proven organization record: %w", err)
		}
		v := orgapp.OrganizationJSON(org)
		out := apijson.Organization{Height: height, Organization: &v}
		full := out
		proof := leafJSON(l)
		full.Proof = &proof
		return encode(http.StatusOK, full, out)
	})
}

// proposal answers GET /v1/proposals/{id}: the view built from the
// proven records.
func (g *Gateway) proposal(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil {
		fail(w, http.StatusBadRequest, apijson.CodeBadRequest, "malformed proposal id")
		return
	}
	height, prove, ok := g.at(w, r)
	if !ok {
		return
	}
	g.serve(w, r, "/v1/proposals/"+strconv.FormatUint(id, 10), height, prove, func(ctx context.Context, u *upstream) (*answer, error) {
		s := newRecords(height)
		what := fmt.Sprintf("no proposal %d", id)
		p, err := u.c.Proposal(ctx, id, client.At{Height: height, Prove: true})
		if client.IsCode(err, apijson.CodeNotFound) {
			return g.absent(ctx, u, s, gov.ProposalKey(id), what)
		}
		if err != nil {
			return nil, err
		}
		if err := g.addProofs(s, p.Proofs); err != nil {
			return nil, err
		}
		v, err := build(ctx, g, u, s, func(rr orgapp.RecordReader) (*orgapp.ProposalView, error) { return orgapp.ProposalViewOf(rr, id) })
		if errors.Is(err, gov.ErrNotFound) {
			return notFound(fmt.Sprintf("%s at height %d (proven absent)", what, height))
		}
		if err != nil {
			return nil, viewErr(err)
		}
		proofs, err := proofsOf(s, v.Records)
		if err != nil {
			return nil, err
		}
		return encode(http.StatusOK, apijson.Proposal{Height: height, Proposal: v, Proofs: proofs}, apijson.Proposal{Height: height, Proposal: v})
	})
}

// proposals answers GET /v1/proposals?domain=D&page=N.
func (g *Gateway) proposals(w http.ResponseWriter, r *http.Request) {
	domain := r.URL.Query().Get("domain")
	if domain == "" {
		domain = "general"
	}
	var page uint64
	if ps := r.URL.Query().Get("page"); ps != "" {
		var err error
		if page, err = strconv.ParseUint(ps, 10, 32); err != nil {
			fail(w, http.StatusBadRequest, apijson.CodeBadRequest, "malformed page")
			return
		}
	}
	height, prove, ok := g.at(w, r)
	if !ok {
		return
	}
	route := "/v1/proposals?domain=" + strconv.Quote(domain) + "&page=" + strconv.FormatUint(page, 10)
	g.serve(w, r, route, height, prove, func(ctx context.Context, u *upstream) (*answer, error) {
		s := newRecords(height)
		what := fmt.Sprintf("no domain %q", domain)
		l, err := u.c.Proposals(ctx, domain, uint32(page), client.At{Height: height, Prove: true})
		if client.IsCode(err, apijson.CodeNotFound) {
			return g.absent(ctx, u, s, gov.DomainKey(domain), what)
		}
		if err != nil {
			return nil, err
		}
		if err := g.addProofs(s, l.Proofs); err != nil {
			return nil, err
		}
		v, err := build(ctx, g, u, s, func(rr orgapp.RecordReader) (*orgapp.ProposalList, error) {
			return orgapp.ProposalListOf(rr, domain, uint32(page))
		})
		if errors.Is(err, gov.ErrNotFound) {
			return notFound(fmt.Sprintf("%s at height %d (proven absent)", what, height))
		}
		if err != nil {
			return nil, viewErr(err)
		}
		proofs, err := proofsOf(s, v.Records)
		if err != nil {
			return nil, err
		}
		return encode(http.StatusOK, apijson.ProposalList{Height: height, List: v, Proofs: proofs}, apijson.ProposalList{Height: height, List: v})
	})
}

// governance answers GET /v1/governance: the registry, the domains and
// the executors, from the proofs of GET /v1/governance and
// GET /v1/executors. Its proofs are of every record it is built from.
func (g *Gateway) governance(w http.ResponseWriter, r *http.Request) {
	height, prove, ok := g.at(w, r)
	if !ok {
		return
	}
	g.serve(w, r, "/v1/governance", height, prove, func(ctx context.Context, u *upstream) (*answer, error) {
		at := client.At{Height: height, Prove: true}
		s := newRecords(height)
		gv, err := u.c.Governance(ctx, at)
		if err != nil {
			return nil, err
		}
		if err := g.addProofs(s, gv.Proofs); err != nil {
			return nil, err
		}
		ex, err := u.c.Executors(ctx, at)
		if err != nil {
			return nil, err
		}
		if err := g.addProofs(s, ex.Proofs); err != nil {
			return nil, err
		}
		v, err := build(ctx, g, u, s, orgapp.GovernanceViewOf)
		if err != nil {
			return nil, viewErr(err)
		}
		e, err := build(ctx, g, u, s, orgapp.ExecutorsViewOf)
		if err != nil {
			return nil, viewErr(err)
		}
		keys := []string{v.Record}
		for _, d := range v.Domains {
			keys = append(keys, d.Record)
		}
		keys = append(keys, e.Records...)
		proofs, err := proofsOf(s, dedup(keys))
		if err != nil {
			return nil, err
		}
		return encode(http.StatusOK, apijson.Governance{Height: height, Governance: v, Executors: e.List, Proofs: proofs},
			apijson.Governance{Height: height, Governance: v, Executors: e.List})
	})
}

// executors answers GET /v1/executors.
func (g *Gateway) executors(w http.ResponseWriter, r *http.Request) {
	height, prove, ok := g.at(w, r)
	if !ok {
		return
	}
	g.serve(w, r, "/v1/executors", height, prove, func(ctx context.Context, u *upstream) (*answer, error) {
		s := newRecords(height)
		ex, err := u.c.Executors(ctx, client.At{Height: height, Prove: true})
		if err != nil {
			return nil, err
		}
		if err := g.addProofs(s, ex.Proofs); err != nil {
			return nil, err
		}
		e, err := build(ctx, g, u, s, orgapp.ExecutorsViewOf)
		if err != nil {
			return nil, viewErr(err)
		}
		proofs, err := proofsOf(s, e.Records)
		if err != nil {
			return nil, err
		}
		return encode(http.StatusOK, apijson.Executors{Height: height, Executors: e.List, Proofs: proofs}, apijson.Executors{Height: height, Executors: e.List})
	})
}

// comments answers GET /v1/proposals/{id}/comments?from=N: the page of
// comments rebuilt from the proven records (the proposal's, its text's,
// each comment's and each author's account), at most
// apijson.MaxComments, as a node answers it.
func (g *Gateway) comments(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil {
		fail(w, http.StatusBadRequest, apijson.CodeBadRequest, "malformed proposal id")
		return
	}
	var from uint64
	if fs := r.URL.Query().Get("from"); fs != "" {
		if from, err = strconv.ParseUint(fs, 10, 32); err != nil {
			fail(w, http.StatusBadRequest, apijson.CodeBadRequest, "malformed from")
			return
		}
	}
	height, prove, ok := g.at(w, r)
	if !ok {
		return
	}
	route := "/v1/proposals/" + strconv.FormatUint(id, 10) + "/comments?from=" + strconv.FormatUint(from, 10)
	g.serve(w, r, route, height, prove, func(ctx context.Context, u *upstream) (*answer, error) {
		s := newRecords(height)
		what := fmt.Sprintf("no proposal %d", id)
		c, err := u.c.Comments(ctx, id, uint32(from), client.At{Height: height, Prove: true})
		if client.IsCode(err, apijson.CodeNotFound) {
			return g.absent(ctx, u, s, gov.ProposalKey(id), what)
		}
		if err != nil {
			return nil, err
		}
		if err := g.addProofs(s, c.Proofs); err != nil {
			return nil, err
		}
		cs, err := build(ctx, g, u, s, func(rr orgapp.RecordReader) ([]orgapp.CommentView, error) {
			return orgapp.CommentsOf(rr, id, uint32(from), apijson.MaxComments)
		})
		if errors.Is(err, gov.ErrNotFound) {
			return notFound(fmt.Sprintf("%s, or not that comment, at height %d (proven absent)", what, height))
		}
		if err != nil {
			return nil, viewErr(err)
		}
		keys, err := apijson.CommentRecords(id, cs)
		if err != nil {
			return nil, viewErr(err)
		}
		proofs, err := proofsOf(s, keys)
		if err != nil {
			return nil, err
		}
		return encode(http.StatusOK, apijson.Comments{Height: height, Comments: cs, Records: keys, Proofs: proofs},
			apijson.Comments{Height: height, Comments: cs, Records: keys})
	})
}

// viewErr says that a view could not be built from the verified records.
func viewErr(err error) error {
	return fmt.Errorf("building the view from the proven records: %w", err)
}

func dedup(keys []string) []string {
	seen := map[string]bool{}
	out := keys[:0:0]
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}
