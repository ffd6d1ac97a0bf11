package gov

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strings"

	"github.com/mass-consensus/mass/internal/app/sale"
	"github.com/mass-consensus/mass/internal/app/state"
	"github.com/mass-consensus/mass/internal/app/tx"
	"github.com/mass-consensus/mass/internal/crypto"
)

// MaxNodesValue bounds the node set record's encoding (the tree's value
// limit).
const MaxNodesValue = 64 << 10

// execAction runs one action of a winning option on a buffer. A rule it
// breaks is an *Error (the option fails, nothing of it is kept).
func execAction(s Store, env Env, proposal uint64, a tx.Action) error {
	if err := CheckAction(a); err != nil {
		return fail(CodeInvalid, "%v", err)
	}
	switch a := a.(type) {
	case *tx.AddMember:
		return addMember(s, a.ID, a.Name)
	case *tx.RemoveMember:
		return removeMember(s, a.ID)
	case *tx.ConfirmJoin:
		return confirmJoin(s, a.ID)
	case *tx.AddNode:
		return addNode(s, a.Key, a.Addrs)
	case *tx.RemoveNode:
		return removeNode(s, a.Key)
	case *tx.SetParam:
		return setParam(s, a.Domain, a.Param, a.Value)
	case *tx.AddDomain:
		return addDomain(s, a.Name)
	case *tx.RemoveDomain:
		return removeDomain(s, env, proposal, a.Name)
	case *tx.RenameDomain:
		return renameDomain(s, a.Name, a.NewName)
	case *tx.Mint:
		return mint(s, a.To, a.Amount)
	case *tx.Pay:
		return pay(s, a.To, a.Amount)
	case *tx.SetVersion:
		return setVersion(s, env, a.Version, a.Height)
	case *tx.Appoint:
		return appoint(s, env, proposal, a.Role, a.Member, a.Term)
	case *tx.Dismiss:
		return dismiss(s, a.Role)
	case *tx.OpenSale:
		return openSale(s, env, proposal, a.Params)
	}
	return fail(CodeInvalid, "unknown action %s", a.Kind())
}

// openSale opens a sale (package sale) by a passed proposal; its window
// counts from the executing block.
func openSale(s Store, env Env, proposal uint64, p sale.Params) error {
	_, err := sale.Open(s, sale.Env{Height: env.Height, Time: env.Time, Seed: env.Seed}, crypto.ID{}, proposal, p)
	if r := (*sale.Refusal)(nil); errors.As(err, &r) {
		return fail(r.Code, "%v", err)
	}
	return err
}

func notTreasury(id crypto.ID) error {
	if state.Key(id) == state.TreasuryKey {
		return fail(CodeInvalid, "the treasury is not a member's account")
	}
	return nil
}

func addMember(s Store, id crypto.ID, name string) error {
	if err := notTreasury(id); err != nil {
		return err
	}
	a, sum, _, err := account(s, id)
	if err != nil {
		return err
	}
	if a.Role.IsMember() {
		return fail(CodeInvalid, "%s is a %s already", id, a.Role)
	}
	org, err := organization(s)
	if err != nil {
		return err
	}
	if a.Applying() {
		a.Flags &^= state.FlagApplying
		org.Applicants--
	}
	a.Role, a.Name = state.Member, name
	org.Members++
	putAccount(s, id, a, sum)
	putOrganization(s, org)
	return nil
}

func removeMember(s Store, id crypto.ID) error {
	a, sum, _, err := account(s, id)
	if err != nil {
		return err
	}
	if !a.Role.IsMember() {
		return fail(CodeInvalid, "%s is not a member", id)
	}
	org, err := organization(s)
	if err != nil {
		return err
	}
	if a.Role == state.Supervisor {
		if org.Supervisors == 1 {
			return fail(CodeInvalid, "%s is the last supervisor and cannot be removed", id)
		}
		org.Supervisors--
	}
	org.Members--
	a.Role = state.Guest
	a.Flags &^= state.FlagFrozen | state.FlagSuspended
	putAccount(s, id, a, sum)
	putOrganization(s, org)
	// The roles it held end.
	e, err := getExecutors(s)
	if err != nil {
		return err
	}
	kept := slices.DeleteFunc(slices.Clone(e.List), func(x Executor) bool { return x.Member == id })
	if len(kept) != len(e.List) {
		e.List = kept
		s.Put(ExecutorsKey, e.Marshal(), 0)
	}
	return nil
}

func confirmJoin(s Store, id crypto.ID) error {
	a, sum, _, err := account(s, id)
	if err != nil {
		return err
	}
	if !a.Applying() {
		return fail(CodeInvalid, "%s has no pending application", id)
	}
	org, err := organization(s)
	if err != nil {
		return err
	}
	a.Flags &^= state.FlagApplying
	a.Role = state.Member
	org.Applicants--
	org.Members++
	putAccount(s, id, a, sum)
	putOrganization(s, org)
	return nil
}

func nodes(s Store) (*state.Nodes, error) {
	return must(s, state.NodesKey, state.UnmarshalNodes, "the node set")
}

func addNode(s Store, key crypto.PublicKey, addrs []string) error {
	if err := key.CheckStrong(); err != nil {
		return fail(CodeInvalid, "%v", err)
	}
	n, err := nodes(s)
	if err != nil {
		return err
	}
	if slices.ContainsFunc(n.Nodes, func(x state.Node) bool { return x.Key == key }) {
		return fail(CodeInvalid, "node %s is in the node set already", key)
	}
	if len(n.Nodes) >= state.MaxNodes {
		return fail(CodeInvalid, "the node set has %d nodes, the limit", state.MaxNodes)
	}
	n.Nodes = append(n.Nodes, state.Node{Key: key, Addrs: slices.Clone(addrs)})
	v := n.Marshal()
	if len(v) > MaxNodesValue {
		return fail(CodeInvalid, "the node set's record would be %d bytes, over %d", len(v), MaxNodesValue)
	}
	s.Put(state.NodesKey, v, 0)
	return nil
}

func removeNode(s Store, key crypto.PublicKey) error {
	n, err := nodes(s)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(n.Nodes, func(x state.Node) bool { return x.Key == key })
	switch {
	case i < 0:
		return fail(CodeInvalid, "node %s is not in the node set", key)
	case len(n.Nodes) == 1:
		return fail(CodeInvalid, "node %s is the last node and cannot be removed", key)
	}
	n.Nodes = slices.Delete(n.Nodes, i, i+1)
	s.Put(state.NodesKey, n.Marshal(), 0)
	return nil
}

func setParam(s Store, domain, name string, v uint64) error {
	d, err := getDomain(s, domain)
	if err != nil {
		return err
	}
	i, ok := ParamIndex(name)
	if !ok {
		return fail(CodeInvalid, "there is no parameter %q", name)
	}
	d.Params[i] = v
	if err := d.Params.Validate(); err != nil {
		return fail(CodeInvalid, "domain %s: %v", domain, err)
	}
	putDomain(s, d)
	return nil
}

func addDomain(s Store, name string) error {
	if err := tx.CheckIdent(name); err != nil {
		return fail(CodeInvalid, "%v", err)
	}
	reg, err := getRegistry(s)
	if err != nil {
		return err
	}
	if slices.Contains(reg.Domains, name) {
		return fail(CodeInvalid, "domain %s exists already", name)
	}
	if len(reg.Domains) >= MaxDomains {
		return fail(CodeInvalid, "there are %d domains, the limit", MaxDomains)
	}
	if reg.NextDomain == math.MaxUint32 {
		return fail(CodeInvalid, "domain serial numbers are exhausted")
	}
	d := &Domain{Name: name, Serial: reg.NextDomain, Params: DefaultParams()}
	reg.NextDomain++
	reg.Domains = append(reg.Domains, name)
	putRegistry(s, reg)
	putDomain(s, d)
	return nil
}

// removeDomain removes a domain that has no active proposal (so never
// general, nor the domain of the proposal that executes it): its queued
// proposals close as dropped; its record leaves the tree and its name the
// registry (it may be used again, by a new domain with a new serial); its
// list pages and its proposals' records stay.
func removeDomain(s Store, env Env, proposal uint64, name string) error {
	d, err := getDomain(s, name)
	if err != nil {
		return err
	}
	if len(d.Active) > 0 {
		ids := make([]string, len(d.Active))
		for i, a := range d.Active {
			ids[i] = fmt.Sprint(a.ID)
		}
		return fail(CodeInvalid, "domain %s has active proposals (%s): a domain is removed when none is", name, strings.Join(ids, ", "))
	}
	for _, q := range d.Queue {
		p, err := getProposal(s, q.ID)
		if err != nil {
			return err
		}
		reason := fmt.Sprintf("its domain %s was removed by proposal %d", name, proposal)
		if err := closeProposal(s, env, p, StateDropped, reason); err != nil {
			return err
		}
	}
	reg, err := getRegistry(s)
	if err != nil {
		return err
	}
	reg.Domains = slices.DeleteFunc(reg.Domains, func(n string) bool { return n == name })
	putRegistry(s, reg)
	s.Delete(DomainKey(name))
	return nil
}

// renameDomain gives a domain a new name: its record moves to the new
// name's key (its serial, so its list, stays), it keeps its place in the
// registry, and its queued and active proposals' records name it anew.
func renameDomain(s Store, name, newName string) error {
	d, err := getDomain(s, name)
	if err != nil {
		return err
	}
	reg, err := getRegistry(s)
	if err != nil {
		return err
	}
	if slices.Contains(reg.Domains, newName) {
		return fail(CodeInvalid, "domain %s exists already", newName)
	}
	i := slices.Index(reg.Domains, name)
	if i < 0 {
		return corrupt("domain %s is not in the registry", name)
	}
	reg.Domains[i] = newName
	putRegistry(s, reg)
	ids := make([]uint64, 0, len(d.Queue)+len(d.Active))
	for _, q := range d.Queue {
		ids = append(ids, q.ID)
	}
	for _, a := range d.Active {
		ids = append(ids, a.ID)
	}
	for _, id := range ids {
		p, err := getProposal(s, id)
		if err != nil {
			return err
		}
		p.Domain = newName
		putProposal(s, p)
	}
	s.Delete(DomainKey(name))
	d.Name = newName
	putDomain(s, d)
	return nil
}

// credit adds tokens to an account (the treasury's or a member's; a new
// account is a guest's).
func credit(s Store, to crypto.ID, amount uint64) error {
	a, sum, _, err := account(s, to)
	if err != nil {
		return err
	}
	if state.Key(to) == state.TreasuryKey {
		a.Name = state.TreasuryName
	}
	total, carry := bits.Add64(sum, amount, 0)
	if carry != 0 {
		return fail(CodeInvalid, "the balance of %s would overflow", to)
	}
	putAccount(s, to, a, total)
	return nil
}

func mint(s Store, to crypto.ID, amount uint64) error {
	reg, err := getRegistry(s)
	if err != nil {
		return err
	}
	supply, carry := bits.Add64(reg.Supply, amount, 0)
	if carry != 0 {
		return fail(CodeInvalid, "minting %d would take the supply of %d over 2^64", amount, reg.Supply)
	}
	reg.Supply = supply
	putRegistry(s, reg)
	return credit(s, to, amount)
}

func pay(s Store, to crypto.ID, amount uint64) error {
	if state.Key(to) == state.TreasuryKey {
		return fail(CodeInvalid, "a payment from the treasury to itself")
	}
	t, sum, _, err := account(s, crypto.ID(state.TreasuryKey))
	if err != nil {
		return err
	}
	if sum < amount {
		return fail(CodeFunds, "the treasury holds %d, not %d", sum, amount)
	}
	putAccount(s, crypto.ID(state.TreasuryKey), t, sum-amount)
	return credit(s, to, amount)
}

func setVersion(s Store, env Env, version uint32, height uint64) error {
	v, err := must(s, state.VersionsKey, state.UnmarshalVersions, "the versions")
	if err != nil {
		return err
	}
	last := v.Entries[len(v.Entries)-1]
	switch {
	case height <= env.Height:
		return fail(CodeInvalid, "version %d from height %d: the height must be after this block's, %d", version, height, env.Height)
	case version <= last.Version || height <= last.Height:
		return fail(CodeInvalid, "version %d from height %d does not follow version %d from height %d", version, height, last.Version, last.Height)
	case len(v.Entries) >= state.MaxVersions:
		return fail(CodeInvalid, "%d versions are scheduled, the limit", state.MaxVersions)
	}
	v.Entries = append(v.Entries, state.Version{Height: height, Version: version})
	s.Put(state.VersionsKey, v.Marshal(), 0)
	return nil
}

func appoint(s Store, env Env, proposal uint64, role string, id crypto.ID, term uint64) error {
	a, _, _, err := account(s, id)
	if err != nil {
		return err
	}
	switch {
	case !a.Role.IsMember():
		return fail(CodeInvalid, "%s is not a member and cannot be appointed %s", id, role)
	case a.Suspended():
		return fail(CodeInvalid, "%s is suspended and cannot be appointed %s", id, role)
	}
	e, err := getExecutors(s)
	if err != nil {
		return err
	}
	x := Executor{Role: role, Member: id, Proposal: proposal, Since: env.Time, Until: addTime(env.Time, term)}
	i, found := slices.BinarySearchFunc(e.List, role, func(x Executor, r string) int { return bytes.Compare([]byte(x.Role), []byte(r)) })
	switch {
	case found:
		e.List[i] = x
	case len(e.List) >= MaxExecutors:
		return fail(CodeInvalid, "there are %d executor roles, the limit", MaxExecutors)
	default:
		e.List = slices.Insert(e.List, i, x)
	}
	s.Put(ExecutorsKey, e.Marshal(), 0)
	return nil
}

func dismiss(s Store, role string) error {
	e, err := getExecutors(s)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(e.List, func(x Executor) bool { return x.Role == role })
	if i < 0 {
		return fail(CodeInvalid, "no one holds the role %s", role)
	}
	e.List = slices.Delete(e.List, i, i+1)
	s.Put(ExecutorsKey, e.Marshal(), 0)
	return nil
}
