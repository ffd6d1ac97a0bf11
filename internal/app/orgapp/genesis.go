package orgapp

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"

	"github.com/mass-consensus/mass/internal/app/gov"
	"github.com/mass-consensus/mass/internal/app/state"
	"github.com/mass-consensus/mass/internal/app/tx"
	"github.com/mass-consensus/mass/internal/crypto"
)

// ErrBadGenesis is wrapped by every error in the application's genesis.
var ErrBadGenesis = errors.New("orgapp: bad genesis")

// MaxGenesisAccounts bounds the accounts of a genesis.
const MaxGenesisAccounts = 1 << 20

// Genesis is the application's section of the genesis file ("app"): the
// organization and its first accounts.
type Genesis struct {
	// Organization is the organization's name.
	Organization string `json:"organization"`
	// Policy says who confirms applications to join: "supervisor" (any
	// supervisor) or "vote" (the members, by governance).
	Policy string `json:"policy"`
	// Accounts are the first accounts; at least one is a supervisor.
	Accounts []GenesisAccount `json:"accounts"`
	// Treasury is the tokens the organization's account starts with.
	Treasury uint64 `json:"treasury,omitempty"`
	// Governance sets the domains and their parameters (optional: the
	// domain "general" with the default parameters otherwise).
	Governance *GenesisGovernance `json:"governance,omitempty"`
}

// GenesisGovernance is the governance at genesis.
type GenesisGovernance struct {
	// Domains are the domains besides "general", or "general" itself to
	// set its parameters; docs/GOVERNANCE.md lists the parameters, their
	// defaults and bounds.
	Domains []GenesisDomain `json:"domains,omitempty"`
}

// GenesisDomain is a domain at genesis.
type GenesisDomain struct {
	Name string `json:"name"`
	// Params are the parameters that differ from their defaults, by name.
	Params map[string]uint64 `json:"params,omitempty"`
}

// GenesisAccount is an account at genesis.
type GenesisAccount struct {
	// Key is the account's public key (hex); the account is its ID.
	Key string `json:"key"`
	// Name is the member's name (required for members and supervisors).
	Name string `json:"name,omitempty"`
	// Role is "guest", "member" or "supervisor" (default guest).
	Role string `json:"role,omitempty"`
	// Balance is the tokens the account starts with.
	Balance uint64 `json:"balance,omitempty"`
}

// genesisState is a validated genesis: the records to write at version 0.
type genesisState struct {
	org      state.Organization
	accounts map[crypto.ID]*leaf
	supply   uint64
	gov      []gov.Record // governance's records
}

// ParseGenesis decodes and validates the application's genesis section.
func ParseGenesis(raw json.RawMessage) (*Genesis, error) {
	if len(raw) == 0 {
		return nil, fmt.Errorf("%w: the genesis has no \"app\" section", ErrBadGenesis)
	}
	var g Genesis
	if err := json.Unmarshal(raw, &g); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadGenesis, err)
	}
	if _, err := g.state(); err != nil {
		return nil, err
	}
	return &g, nil
}

func (g *Genesis) state() (*genesisState, error) {
	st := &genesisState{accounts: make(map[crypto.ID]*leaf)}
	if g.Organization == "" || len(g.Organization) > state.MaxOrgName {
		return nil, fmt.Errorf("%w: an organization name has 1 to %d bytes", ErrBadGenesis, state.MaxOrgName)
	}
	policy, err := state.ParsePolicy(g.Policy)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadGenesis, err)
	}
	st.org = state.Organization{Name: g.Organization, Policy: policy}
	if len(g.Accounts) > MaxGenesisAccounts {
		return nil, fmt.Errorf("%w: %d accounts, limit %d", ErrBadGenesis, len(g.Accounts), MaxGenesisAccounts)
	}
	for i, ga := range g.Accounts {
		key, err := crypto.ParsePublicKey(ga.Key)
		if err != nil {
			return nil, fmt.Errorf("%w: account %d: %w", ErrBadGenesis, i, err)
		}
		if err := key.CheckStrong(); err != nil {
			return nil, fmt.Errorf("%w: account %d: %w", ErrBadGenesis, i, err)
		}
		id := key.ID()
		if st.accounts[id] != nil {
			return nil, fmt.Errorf("%w: account %d (%s) listed twice", ErrBadGenesis, i, id)
		}
		role := state.Guest
		if ga.Role != "" {
			if role, err = state.ParseRole(ga.Role); err != nil {
				return nil, fmt.Errorf("%w: account %d: %w", ErrBadGenesis, i, err)
			}
		}
		if role.IsMember() || ga.Name != "" {
			if err := tx.CheckName(ga.Name); err != nil {
				return nil, fmt.Errorf("%w: account %d: %w", ErrBadGenesis, i, err)
			}
		}
		var carry uint64
		if st.supply, carry = bits.Add64(st.supply, ga.Balance, 0); carry != 0 {
			return nil, fmt.Errorf("%w: the total supply overflows 2^64 at account %d", ErrBadGenesis, i)
		}
		acct := &state.Account{Role: role, Name: ga.Name}
		if role.IsMember() {
			st.org.Members++
		}
		if role == state.Supervisor {
			st.org.Supervisors++
		}
		if role == state.Guest && ga.Balance == 0 {
			return nil, fmt.Errorf("%w: account %d is a guest with nothing: leave it out", ErrBadGenesis, i)
		}
		st.accounts[id] = &leaf{value: acct.Marshal(), sum: ga.Balance}
	}
	if st.org.Supervisors == 0 {
		return nil, fmt.Errorf("%w: the organization needs at least one supervisor", ErrBadGenesis)
	}
	var carry uint64
	if st.supply, carry = bits.Add64(st.supply, g.Treasury, 0); carry != 0 {
		return nil, fmt.Errorf("%w: the total supply overflows 2^64 with the treasury", ErrBadGenesis)
	}
	var specs []gov.DomainSpec
	if g.Governance != nil {
		for _, d := range g.Governance.Domains {
			specs = append(specs, gov.DomainSpec{Name: d.Name, Params: d.Params})
		}
	}
	if st.gov, err = gov.GenesisRecords(specs, st.supply); err != nil {
		return nil, fmt.Errorf("%w: governance: %w", ErrBadGenesis, err)
	}
	treasury := &state.Account{Name: state.TreasuryName}
	st.accounts[crypto.ID(state.TreasuryKey)] = &leaf{value: treasury.Marshal(), sum: g.Treasury}
	return st, nil
}
