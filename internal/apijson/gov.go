package apijson

import (
	"fmt"

	"github.com/mass-consensus/mass/internal/app/orgapp"
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

// Comments answers GET /v1/proposals/{id}/comments.
type Comments struct {
	Height   uint64               `json:"height"`
	Comments []orgapp.CommentView `json:"comments"`
}

// Check accepts any list of comments: there is nothing in it a client
// relies on beyond its shape.
func (c *Comments) Check() error { return nil }
