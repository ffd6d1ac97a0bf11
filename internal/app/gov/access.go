package gov

import (
	"github.com/mass-consensus/mass/internal/app/state"
	"github.com/mass-consensus/mass/internal/crypto"
)

// read decodes the record at k; found is false when there is none, and a
// record that does not decode is corrupt.
func read[T any](s Store, k state.Key, dec func([]byte) (T, error), what string) (v T, found bool, err error) {
	raw, _, ok := s.Get(k)
	if !ok {
		return v, false, nil
	}
	v, err = dec(raw)
	if err != nil {
		return v, false, corrupt("%s: %v", what, err)
	}
	return v, true, nil
}

// must reads a record an index names.
func must[T any](s Store, k state.Key, dec func([]byte) (T, error), what string) (T, error) {
	v, found, err := read(s, k, dec, what)
	if err == nil && !found {
		err = corrupt("%s is missing", what)
	}
	return v, err
}

func getRegistry(s Store) (*Registry, error) {
	return must(s, RegistryKey, UnmarshalRegistry, "the registry")
}

func putRegistry(s Store, g *Registry) { s.Put(RegistryKey, g.Marshal(), 0) }

// getDomain reads a domain, failing with CodeInvalid if there is none.
func getDomain(s Store, name string) (*Domain, error) {
	d, found, err := read(s, DomainKey(name), UnmarshalDomain, "domain "+name)
	if err == nil && !found {
		return nil, fail(CodeInvalid, "there is no domain %q", name)
	}
	return d, err
}

func putDomain(s Store, d *Domain) { s.Put(DomainKey(d.Name), d.Marshal(), 0) }

// getProposal reads a proposal, failing with CodeInvalid if there is none.
func getProposal(s Store, id uint64) (*Proposal, error) {
	p, found, err := read(s, ProposalKey(id), UnmarshalProposal, "a proposal")
	if err == nil && !found {
		return nil, fail(CodeInvalid, "there is no proposal %d", id)
	}
	return p, err
}

func putProposal(s Store, p *Proposal) { s.Put(ProposalKey(p.ID), p.Marshal(), 0) }

func getText(s Store, id uint64) (*Text, error) {
	return must(s, TextKey(id), UnmarshalText, "a proposal's text")
}

func getRoster(s Store, id uint64) (*Roster, error) {
	return must(s, RosterKey(id), UnmarshalRoster, "a roster")
}

func getRound(s Store, id uint64, r uint8) (*Round, error) {
	return must(s, RoundKey(id, r), UnmarshalRound, "a round")
}

func getMeeting(s Store, id uint64, r uint8, m uint16) (*Meeting, error) {
	return must(s, MeetingKey(id, r, m), UnmarshalMeeting, "a meeting")
}

func getOption(s Store, id uint64, i uint8) (*OptionRecord, error) {
	return must(s, OptionKey(id, i), UnmarshalOption, "an option")
}

func getExecutors(s Store) (*Executors, error) {
	return must(s, ExecutorsKey, UnmarshalExecutors, "the executors")
}

// account reads an account and its balance; found is false if there is
// none (a fresh guest account is returned).
func account(s Store, id crypto.ID) (*state.Account, uint64, bool, error) {
	raw, sum, ok := s.Get(state.AccountKey(id))
	if !ok {
		return &state.Account{}, 0, false, nil
	}
	a, err := state.UnmarshalAccount(raw)
	if err != nil {
		return nil, 0, false, corrupt("account %s: %v", id, err)
	}
	return a, sum, true, nil
}

// Standing says what an account is, for messages: "is a guest", "is a
// member", or "has no account" for a key that holds nothing — no tokens,
// no name, no flag — whether or not its record exists (a transaction's
// nonce may have made an empty one).
func Standing(a *state.Account, balance uint64) string {
	if a.Role == state.Guest && balance == 0 && a.Name == "" && a.Flags == 0 {
		return "has no account"
	}
	return "is a " + a.Role.String()
}

func putAccount(s Store, id crypto.ID, a *state.Account, sum uint64) {
	s.Put(state.AccountKey(id), a.Marshal(), sum)
}

func organization(s Store) (*state.Organization, error) {
	return must(s, state.OrgKey, state.UnmarshalOrganization, "the organization")
}

func putOrganization(s Store, o *state.Organization) { s.Put(state.OrgKey, o.Marshal(), 0) }

// activeMember reads the sender of a transaction that votes or proposes:
// a member, neither frozen nor suspended.
func activeMember(s Store, id crypto.ID) (*state.Account, uint64, error) {
	a, sum, _, err := account(s, id)
	switch {
	case err != nil:
		return nil, 0, err
	case !a.Role.IsMember():
		return nil, 0, fail(CodeNotPermitted, "only members take part in governance; %s %s", id, Standing(a, sum))
	case a.Frozen():
		return nil, 0, fail(CodeNotPermitted, "%s is frozen: it froze a proposal whose review has not ended, and cannot vote or propose", id)
	case a.Suspended():
		return nil, 0, fail(CodeNotPermitted, "%s is suspended: a challenge against it is active, and it cannot vote or propose", id)
	}
	return a, sum, nil
}
