package orgapp

import (
	"github.com/mass-consensus/mass/internal/app/state"
	"github.com/mass-consensus/mass/internal/crypto"
)

// AccountView is an account as the API shows it.
type AccountView struct {
	ID       string `json:"id"`
	Balance  uint64 `json:"balance"`
	Role     string `json:"role"`
	Name     string `json:"name,omitempty"`
	Applying bool   `json:"applying,omitempty"`
	// Frozen: it froze a proposal whose review has not ended.
	Frozen bool `json:"frozen,omitempty"`
	// Suspended: an active challenge targets it.
	Suspended bool `json:"suspended,omitempty"`
	// Nonce is the lowest unused nonce.
	Nonce uint64 `json:"nonce"`
}

// AccountJSON returns the view of an account.
func AccountJSON(id crypto.ID, a *state.Account, balance uint64) AccountView {
	return AccountView{ID: id.String(), Balance: balance, Role: a.Role.String(), Name: a.Name, Applying: a.Applying(),
		Frozen: a.Frozen(), Suspended: a.Suspended(), Nonce: a.Nonce}
}

// OrganizationView is the organization as the API shows it.
type OrganizationView struct {
	Name        string `json:"name"`
	Policy      string `json:"policy"`
	Members     uint64 `json:"members"`
	Supervisors uint64 `json:"supervisors"`
	Applicants  uint64 `json:"applicants"`
}

// OrganizationJSON returns the view of the organization.
func OrganizationJSON(o *state.Organization) OrganizationView {
	return OrganizationView{Name: o.Name, Policy: o.Policy.String(), Members: o.Members, Supervisors: o.Supervisors, Applicants: o.Applicants}
}
