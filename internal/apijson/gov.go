package apijson

import (
	"encoding/hex"
	"fmt"

	"github.com/mass-consensus/mass/internal/app/gov"
	"github.com/mass-consensus/mass/internal/app/orgapp"
	"github.com/mass-consensus/mass/internal/app/state"
	"github.com/mass-consensus/mass/internal/crypto"
)

// Proposal answers GET /v1/proposals/{id}.
type Proposal struct {
	Height   uint64               `json:"height"`
	Proposal *orgapp.ProposalView `json:"proposal"`
	// Proofs, with ?prove=1: one per record the view is built from, all at
	// Height, with the header and certificate.
	Proofs []Leaf `json:"proofs,omitempty"`
}

// Check refuses an answer without the proposal, or with proofs that are
// not one per record at its height.
func (p *Proposal) Check() error {
	if p.Proposal == nil {
		return fmt.Errorf("%w: an answer without the proposal", ErrMalformed)
	}
	if len(p.Proofs) > 0 && len(p.Proofs) != len(p.Proposal.Records) {
		return fmt.Errorf("%w: %d proofs for %d records", ErrMalformed, len(p.Proofs), len(p.Proposal.Records))
	}
	return checkProofs(p.Height, p.Proofs)
}

// ProposalList answers GET /v1/proposals: one page of a domain's
// proposals.
type ProposalList struct {
	Height uint64               `json:"height"`
	List   *orgapp.ProposalList `json:"list"`
	Proofs []Leaf               `json:"proofs,omitempty"`
}

// Check refuses an answer without the list, or with proofs of another
// height.
func (l *ProposalList) Check() error {
	if l.List == nil {
		return fmt.Errorf("%w: an answer without the list", ErrMalformed)
	}
	return checkProofs(l.Height, l.Proofs)
}

// Governance answers GET /v1/governance: the registry, the domains with
// their parameters, and the executors.
type Governance struct {
	Height     uint64                 `json:"height"`
	Governance *orgapp.GovernanceView `json:"governance"`
	Executors  []orgapp.ExecutorView  `json:"executors"`
	Proofs     []Leaf                 `json:"proofs,omitempty"`
}

// Check refuses an answer without the governance view, or with proofs of
// another height.
func (g *Governance) Check() error {
	if g.Governance == nil {
		return fmt.Errorf("%w: an answer without the governance view", ErrMalformed)
	}
	return checkProofs(g.Height, g.Proofs)
}

// Executors answers GET /v1/executors: who holds which role.
type Executors struct {
	Height    uint64                `json:"height"`
	Executors []orgapp.ExecutorView `json:"executors"`
	// Proofs, with ?prove=1: the executors' record and the accounts whose
	// names the list shows.
	Proofs []Leaf `json:"proofs,omitempty"`
}

// Check refuses proofs of another height.
func (e *Executors) Check() error { return checkProofs(e.Height, e.Proofs) }

// MaxComments bounds the comments of one answer of
// GET /v1/proposals/{id}/comments: the node's page, which a verifier
// rebuilds to the same length.
const MaxComments = 100

// Comments answers GET /v1/proposals/{id}/comments?from=N: at most
// MaxComments comments from number N on.
type Comments struct {
	Height   uint64               `json:"height"`
	Comments []orgapp.CommentView `json:"comments"`
	// Records are the keys (hex) of the records the comments are read
	// from (CommentRecords).
	Records []string `json:"records,omitempty"`
	// Proofs, with ?prove=1: one per record, in the order of Records,
	// all at Height.
	Proofs []Leaf `json:"proofs,omitempty"`
}

// Check refuses proofs that are not one per record at the answer's
// height.
func (c *Comments) Check() error {
	if len(c.Proofs) > 0 && len(c.Proofs) != len(c.Records) {
		return fmt.Errorf("%w: %d proofs for %d records", ErrMalformed, len(c.Proofs), len(c.Records))
	}
	return checkProofs(c.Height, c.Proofs)
}

// CommentRecords lists the keys (hex) of the records a page of a
// proposal's comments is read from (orgapp.CommentsOf): the proposal's
// record and its text (which give the count), each comment's, then the
// account of each author, once, in the order they first appear — proven
// present (its name) or absent (no name).
func CommentRecords(id uint64, cs []orgapp.CommentView) ([]string, error) {
	out := []string{keyHex(gov.ProposalKey(id)), keyHex(gov.TextKey(id))}
	var authors []string
	seen := map[string]bool{}
	for _, c := range cs {
		out = append(out, keyHex(gov.CommentKey(id, c.Index)))
		a, err := crypto.ParseID(c.Author)
		if err != nil {
			return nil, fmt.Errorf("apijson: comment %d's author: %w", c.Index, err)
		}
		if k := keyHex(state.AccountKey(a)); !seen[k] {
			seen[k] = true
			authors = append(authors, k)
		}
	}
	return append(out, authors...), nil
}

func keyHex(k state.Key) string { return hex.EncodeToString(k[:]) }
