package nodesim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/mass-consensus/mass/internal/app/orgapp"
	"github.com/mass-consensus/mass/internal/app/tx"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/genesis"
)

// In an organization run (Config.Org) the nodes run the real application,
// the load is signed transfers, and the joiner enters the node set the way
// the seed says: a proposal with an add-node action, joined, voted and
// executed after its publicity, all by transactions.

// orgAccounts are the organization's accounts: founder, alice and bob
// govern; the load is transfers between the payers, in turn (each has a
// window of 64 nonces in flight).
var orgAccounts = []struct{ name, role string }{
	{"founder", "supervisor"}, {"alice", "member"}, {"bob", "member"},
	{"payer0", "member"}, {"payer1", "member"}, {"payer2", "member"}, {"payer3", "member"},
	{"payer4", "member"}, {"payer5", "member"}, {"payer6", "member"}, {"payer7", "member"},
}

// payers is the number of payer accounts.
const payers = 8

// govEvery is how often (virtual ms) the governance script looks at the
// proposal and sends what it can.
const govEvery = 300

// orgClient signs for the accounts and runs the governance script.
type orgClient struct {
	keys   map[string]*crypto.PrivateKey
	nonces map[string]uint64
	// proposal is the id of the current attempt, created is set once its
	// creation was accepted, sent marks the joins and votes accepted.
	proposal uint64
	created  bool
	sent     map[string]bool
	done     bool
	attempts int
	turn     int // the next payer
}

// orgGenesis makes the run's genesis the organization's, with governance
// phases of about a second.
func (s *Sim) orgGenesis() {
	o := &orgClient{keys: map[string]*crypto.PrivateKey{}, nonces: map[string]uint64{}, sent: map[string]bool{}, proposal: 1}
	g := orgapp.Genesis{Organization: "Sim Co-op", Policy: "supervisor", Governance: &orgapp.GenesisGovernance{
		Domains: []orgapp.GenesisDomain{{Name: "general", Params: map[string]uint64{
			"meeting_min": 1000, "publicity_min": 1000, "publicity_unit": 500, "publicity_floor": 500, "publicity_ceiling": 2000,
			"gather_min": 0,
		}}}}}
	for i, a := range orgAccounts {
		k, err := crypto.KeyFromSeed(bytes.Repeat([]byte{byte(100 + i)}, crypto.SeedSize))
		if err != nil {
			panic(err)
		}
		o.keys[a.name] = k
		g.Accounts = append(g.Accounts, orgapp.GenesisAccount{Key: k.Public().String(), Name: a.name, Role: a.role, Balance: 1 << 40})
	}
	raw, err := json.Marshal(g)
	if err != nil {
		panic(err)
	}
	s.gen.Application, s.gen.App = genesis.AppOrg, raw
	s.org = o
}

// settled says whether the governance script has nothing more to do: its
// proposal executed, or every attempt closed without.
func (o *orgClient) settled() bool { return o.done || o.attempts >= maxAttempts }

// maxAttempts bounds the proposals the script creates.
const maxAttempts = 5

// signed is a transaction from an account with its next nonce (cosigned
// by a transfer's recipient).
func (o *orgClient) signed(chainID, who string, body tx.Body) []byte {
	t := tx.New(o.keys[who].Public(), o.nonces[who], body)
	_ = t.Sign(chainID, o.keys[who])
	if tr, ok := body.(*tx.Transfer); ok {
		for _, k := range o.keys {
			if k.Public() == tr.To {
				_ = t.Sign(chainID, k)
			}
		}
	}
	return t.Marshal()
}

// send offers an account's transaction to a running node; its nonce moves
// on once the node took it.
func (s *Sim) send(who string, body tx.Body) bool {
	o := s.org
	if s.offer(s.org.signed(s.gen.ChainID, who, body)) {
		o.nonces[who]++
		return true
	}
	return false
}

// transferLoad is the load of an organization run: a payer pays the next.
func (s *Sim) transferLoad() {
	o := s.org
	from, to := fmt.Sprintf("payer%d", o.turn), fmt.Sprintf("payer%d", (o.turn+1)%payers)
	o.turn = (o.turn + 1) % payers
	s.send(from, &tx.Transfer{To: o.keys[to].Public(), Amount: 1})
}

// govStep runs the governance script one step: create the proposal to add
// the joiner; once it exists, alice and bob join; once it is voting, the
// three vote for the change; once executed, done. A proposal that closes
// otherwise (faults can make a round pass with no votes) is tried again.
func (s *Sim) govStep() {
	o := s.org
	if o.done {
		return
	}
	s.push(event{at: s.now + govEvery, kind: evGov})
	if !o.created {
		joiner := s.members[len(s.members)-1].key.Public()
		desire := tx.Desire{Meeting: 1500, Publicity: 1000, Capacity: 10}
		o.created = s.send("founder", &tx.Create{Domain: "general", Title: "Add a node", Desire: desire, Options: []tx.Option{
			{Title: "Add it", Actions: []tx.Action{&tx.AddNode{Key: joiner}}},
			{Title: "Do not"},
		}})
		return
	}
	p := s.proposalView(o.proposal)
	if s.cfg.Logger != nil {
		state := "none"
		if p != nil {
			state = p.State
		}
		s.cfg.Logger.Info("governance", "at", s.now, "proposal", o.proposal, "state", state, "sent", fmt.Sprint(o.sent))
	}
	if p == nil {
		return
	}
	switch p.State {
	case "executed":
		o.done = true
	case "failed", "no_votes", "cancelled", "rejected":
		if o.attempts++; o.attempts < maxAttempts {
			o.proposal, o.created, o.sent = o.proposal+1, false, map[string]bool{}
		}
	case "voting":
		for _, who := range []string{"founder", "alice", "bob"} {
			s.vote(p, who)
		}
	default:
		for _, who := range []string{"alice", "bob"} {
			key := "join " + who
			if !o.sent[key] {
				o.sent[key] = s.send(who, &tx.Join{Proposal: o.proposal, Desire: tx.Desire{Meeting: 1500, Publicity: 1000, Capacity: 10}})
			}
		}
	}
}

// vote sends an account's approval of option 0 in its meeting of the
// current round, once.
func (s *Sim) vote(p *orgapp.ProposalView, who string) {
	key := "vote " + who + " " + string(rune('0'+p.Round))
	if s.org.sent[key] {
		return
	}
	me := s.org.keys[who].Public().ID().String()
	for _, r := range p.Rounds {
		if r.Round != p.Round {
			continue
		}
		for _, m := range r.Meetings {
			if slices.Contains(m.Members, me) {
				s.org.sent[key] = s.send(who, &tx.Vote{Proposal: p.ID, Round: p.Round, Meeting: m.Index, Approve: []uint8{0}})
			}
		}
	}
}

// proposalView reads a proposal from the application of a running node.
func (s *Sim) proposalView(id uint64) *orgapp.ProposalView {
	for _, m := range s.members {
		if m.up && m.org != nil {
			if p, err := m.org.Proposal(m.org.Height(), id); err == nil {
				return p
			}
		}
	}
	return nil
}
