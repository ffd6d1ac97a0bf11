package orgapp

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/mass-consensus/mass/internal/app"
	"github.com/mass-consensus/mass/internal/app/gov"
	"github.com/mass-consensus/mass/internal/app/state"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/smt"
)

// The governance views: each is built from records of the state at a
// height, and names their keys (Records, hex) so that the API can answer
// Prove(height, key) for each. The builders (ProposalViewOf …) read any
// RecordReader: the node reads its tree at a height (a snapshot); a
// gateway reads the records whose proofs it verified.

// RecordReader is a read-only store of records of the state: by key, a
// value and a sum, or absent.
type RecordReader interface {
	Get(k state.Key) (value []byte, sum uint64, ok bool)
}

// readOnly is a gov.Store over a RecordReader, for the gov readers; they
// never write.
type readOnly struct{ r RecordReader }

func (s readOnly) Get(k state.Key) ([]byte, uint64, bool) { return s.r.Get(k) }
func (s readOnly) Put(state.Key, []byte, uint64)          { panic("orgapp: the views' records are read-only") }
func (s readOnly) Delete(state.Key)                       { panic("orgapp: the views' records are read-only") }

// snapshot is a read-only gov.Store over the tree at a version.
type snapshot struct {
	tree    *smt.Tree
	version uint64
	err     error
}

func (s *snapshot) Get(k state.Key) ([]byte, uint64, bool) {
	v, sum, err := s.tree.Get(s.version, k)
	if err != nil {
		if !errors.Is(err, smt.ErrNotFound) && s.err == nil {
			s.err = err
		}
		return nil, 0, false
	}
	return v, sum, true
}

func (s *snapshot) Put(state.Key, []byte, uint64) { panic("orgapp: a snapshot is read-only") }
func (s *snapshot) Delete(state.Key)              { panic("orgapp: a snapshot is read-only") }

// at returns a snapshot at a height, or why there is none.
func (a *App) at(height uint64) (*snapshot, error) {
	if _, _, err := a.tree.Root(version(height)); err != nil {
		return nil, a.readErr(err)
	}
	return &snapshot{tree: a.tree, version: version(height)}, nil
}

// govErr turns a reader's error into the application's.
func (a *App) govErr(s *snapshot, err error) error {
	switch {
	case s.err != nil:
		return a.readErr(s.err)
	case errors.Is(err, gov.ErrNotFound):
		return fmt.Errorf("%w: %w", app.ErrNotFound, err)
	}
	return err
}

func keyHex(k state.Key) string { return hex.EncodeToString(k[:]) }

// Indexes are option indexes, shown as a JSON array of numbers (a []uint8
// would be a base64 string).
type Indexes []uint8

// MarshalJSON writes the indexes as numbers.
func (x Indexes) MarshalJSON() ([]byte, error) {
	out := []byte{'['}
	for i, v := range x {
		if i > 0 {
			out = append(out, ',')
		}
		out = strconv.AppendUint(out, uint64(v), 10)
	}
	return append(out, ']'), nil
}

// UnmarshalJSON reads an array of numbers from 0 to 255.
func (x *Indexes) UnmarshalJSON(data []byte) error {
	var vals []uint64
	if err := json.Unmarshal(data, &vals); err != nil {
		return fmt.Errorf("option indexes: %w", err)
	}
	out := make(Indexes, len(vals))
	for i, v := range vals {
		if v > 255 {
			return fmt.Errorf("option index %d is above 255", v)
		}
		out[i] = uint8(v)
	}
	*x = out
	return nil
}

// names resolves members' names in the records and keeps the keys of the
// account records it read, so that a view can list them among the
// records it is built from (a name is proven like the rest).
type names struct {
	s    RecordReader
	seen map[crypto.ID]string
	keys []state.Key
}

func newNames(s RecordReader) *names { return &names{s: s, seen: map[crypto.ID]string{}} }

// of returns an account's name ("" for none, or no account).
func (n *names) of(id crypto.ID) string {
	if name, ok := n.seen[id]; ok {
		return name
	}
	var name string
	if val, _, ok := n.s.Get(state.AccountKey(id)); ok {
		if a, err := state.UnmarshalAccount(val); err == nil {
			name = a.Name
			n.keys = append(n.keys, state.AccountKey(id))
		}
	}
	n.seen[id] = name
	return name
}

// records returns the keys (hex) of the account records read.
func (n *names) records() []string {
	out := make([]string, 0, len(n.keys))
	for _, k := range n.keys {
		out = append(out, keyHex(k))
	}
	return out
}

// OptionView is an option of a proposal.
type OptionView struct {
	Index      uint8    `json:"index"`
	Title      string   `json:"title"`
	Author     string   `json:"author"`
	AuthorName string   `json:"author_name,omitempty"`
	Added      int64    `json:"added"`
	Actions    []string `json:"actions"`
}

// ParticipantView is a participant with their desire.
type ParticipantView struct {
	Position        int    `json:"position"`
	Member          string `json:"member"`
	Name            string `json:"name,omitempty"`
	MeetingWindow   uint64 `json:"meeting_window"`
	PublicityWindow uint64 `json:"publicity_window"`
	Capacity        uint16 `json:"capacity"`
	Joined          int64  `json:"joined"`
}

// TallyView is an option's approvals in a sub-meeting.
type TallyView struct {
	Option    uint8  `json:"option"`
	Approvals uint16 `json:"approvals"`
}

// MeetingView is a sub-meeting of a round (the whole meeting in a
// plenary round).
type MeetingView struct {
	Index   uint16      `json:"index"`
	Members []string    `json:"members"`
	Names   []string    `json:"names"` // the members' names, in the same order ("" for none)
	Ballots uint16      `json:"ballots"`
	Tally   []TallyView `json:"tally"`
	Winner  *uint8      `json:"winner,omitempty"`
}

// RoundView is a round of voting.
type RoundView struct {
	Round    uint8         `json:"round"`
	Start    int64         `json:"start"`
	End      int64         `json:"end"`
	Seed     string        `json:"seed"`
	Plenary  bool          `json:"plenary"`
	Options  Indexes       `json:"options"`
	Ended    bool          `json:"ended"`
	Winners  Indexes       `json:"winners,omitempty"`
	Meetings []MeetingView `json:"meetings"`
}

// ReviewView is the review of a proposal's last freeze.
type ReviewView struct {
	Freeze      uint8  `json:"freeze"`
	Freezer     string `json:"freezer"`
	FreezerName string `json:"freezer_name,omitempty"`
	Lift        uint32 `json:"lift"`
	Cancel      uint32 `json:"cancel"`
	Remaining   uint64 `json:"remaining"` // publicity left when frozen (ms)
}

// ProposalView is a proposal as the API shows it.
type ProposalView struct {
	ID           uint64            `json:"id"`
	Kind         string            `json:"kind"` // "proposal" or "challenge"
	Domain       string            `json:"domain"`
	Author       string            `json:"author"`
	AuthorName   string            `json:"author_name,omitempty"`
	Target       string            `json:"target,omitempty"`
	TargetName   string            `json:"target_name,omitempty"`
	Title        string            `json:"title"`
	Body         string            `json:"body,omitempty"`
	Created      int64             `json:"created"`
	State        string            `json:"state"`
	Options      []OptionView      `json:"options"`
	Participants int               `json:"participants"`
	Roster       []ParticipantView `json:"roster"`
	Comments     uint32            `json:"comments"`
	Activated    int64             `json:"activated,omitempty"`
	// Deadline is the end of the current phase: the meeting, the round,
	// the publicity or the review.
	Deadline      int64       `json:"deadline,omitempty"`
	MeetingWindow uint64      `json:"meeting_window,omitempty"`
	Capacity      uint16      `json:"capacity,omitempty"`
	Round         uint8       `json:"round,omitempty"`
	Rounds        []RoundView `json:"rounds,omitempty"`
	Winner        *uint8      `json:"winner,omitempty"`
	Supporters    uint32      `json:"supporters,omitempty"`
	Members       uint64      `json:"members_at_publicity,omitempty"`
	PublicityMin  uint64      `json:"publicity_min,omitempty"`
	Publicity     uint64      `json:"publicity,omitempty"`
	Freezes       uint8       `json:"freezes,omitempty"`
	Review        *ReviewView `json:"review,omitempty"`
	Closed        int64       `json:"closed,omitempty"`
	Reason        string      `json:"reason,omitempty"`
	// Records are the keys (hex) of the records the view is built from:
	// the proposal's, then the accounts whose names it shows.
	Records []string `json:"records"`
}

func winnerPtr(w uint8) *uint8 {
	if w == gov.NoWinner {
		return nil
	}
	return &w
}

// proposalJSON returns the view of a proposal's records, with the names of
// the members it shows.
func proposalJSON(r *gov.ProposalRecords, nm *names) ProposalView {
	p, t := r.Proposal, r.Text
	v := ProposalView{
		ID: p.ID, Kind: "proposal", Domain: p.Domain, Author: t.Author.String(), AuthorName: nm.of(t.Author), Title: t.Title, Body: t.Body,
		Created: t.Created, State: p.State.String(), Participants: len(r.Roster.Participants), Comments: p.Comments,
		Activated: p.Activated, Deadline: p.Deadline, MeetingWindow: p.Window, Capacity: p.Capacity, Round: p.Round,
		Winner: winnerPtr(p.Winner), Supporters: p.Supporters, Members: p.Members, PublicityMin: p.PublicityMin,
		Publicity: p.Publicity, Freezes: p.Freezes, Closed: p.Closed, Reason: p.Reason,
	}
	if t.Kind == gov.KindChallengeTopic {
		v.Kind, v.Target, v.TargetName = "challenge", t.Target.String(), nm.of(t.Target)
	}
	for i, o := range r.Options {
		ov := OptionView{Index: uint8(i), Title: o.Option.Title, Author: o.Author.String(), AuthorName: nm.of(o.Author), Added: o.Added, Actions: []string{}}
		for _, a := range o.Option.Actions {
			ov.Actions = append(ov.Actions, a.String())
		}
		v.Options = append(v.Options, ov)
	}
	for i, x := range r.Roster.Participants {
		v.Roster = append(v.Roster, ParticipantView{Position: i, Member: x.Member.String(), Name: nm.of(x.Member), MeetingWindow: x.Desire.Meeting,
			PublicityWindow: x.Desire.Publicity, Capacity: x.Desire.Capacity, Joined: x.Joined})
	}
	for _, rr := range r.Rounds {
		rv := RoundView{Round: rr.Round.Number, Start: rr.Round.Start, End: rr.Round.End, Seed: hex.EncodeToString(rr.Round.Seed[:]),
			Plenary: rr.Round.Plenary, Options: rr.Round.Options, Ended: rr.Round.Ended, Winners: rr.Round.Winners}
		for m, mt := range rr.Meetings {
			mv := MeetingView{Index: uint16(m), Ballots: mt.Ballots, Winner: winnerPtr(mt.Winner), Members: []string{}, Names: []string{}}
			for _, pos := range mt.Members {
				if int(pos) < len(r.Roster.Participants) {
					id := r.Roster.Participants[pos].Member
					mv.Members = append(mv.Members, id.String())
					mv.Names = append(mv.Names, nm.of(id))
				}
			}
			for i, n := range mt.Tally {
				mv.Tally = append(mv.Tally, TallyView{Option: rr.Round.Options[i], Approvals: n})
			}
			rv.Meetings = append(rv.Meetings, mv)
		}
		v.Rounds = append(v.Rounds, rv)
	}
	if p.Freezes > 0 {
		v.Review = &ReviewView{Freeze: p.Freezes, Freezer: p.Freezer.String(), FreezerName: nm.of(p.Freezer), Lift: p.Lift, Cancel: p.Cancel, Remaining: p.Remaining}
	}
	for _, k := range r.Keys {
		v.Records = append(v.Records, keyHex(k))
	}
	v.Records = append(v.Records, nm.records()...)
	return v
}

// Proposal reads a proposal at a height: its state, options, roster,
// rounds with their sub-meetings and tallies, winner, deadlines and
// freeze.
func (a *App) Proposal(height, id uint64) (*ProposalView, error) {
	s, err := a.at(height)
	if err != nil {
		return nil, err
	}
	v, err := ProposalViewOf(s, id)
	if err != nil {
		return nil, a.govErr(s, err)
	}
	if s.err != nil {
		return nil, a.readErr(s.err)
	}
	return v, nil
}

// ProposalViewOf builds the view of a proposal from records; an absent
// proposal wraps gov.ErrNotFound.
func ProposalViewOf(s RecordReader, id uint64) (*ProposalView, error) {
	r, err := gov.ReadProposal(readOnly{s}, id)
	if err != nil {
		return nil, err
	}
	v := proposalJSON(r, newNames(s))
	return &v, nil
}

// ProposalSummary is a proposal in a list.
type ProposalSummary struct {
	ID           uint64 `json:"id"`
	Kind         string `json:"kind"`
	Title        string `json:"title"`
	State        string `json:"state"`
	Participants uint16 `json:"participants"`
	Round        uint8  `json:"round,omitempty"`
	Deadline     int64  `json:"deadline,omitempty"`
}

// ProposalList is a page of a domain's proposals, in creation order.
type ProposalList struct {
	Domain    string            `json:"domain"`
	Page      uint32            `json:"page"`
	Pages     uint32            `json:"pages"`
	Total     uint64            `json:"total"`
	Proposals []ProposalSummary `json:"proposals"`
	Records   []string          `json:"records"`
}

// Proposals lists page n (from 0, gov.PageSize a page) of a domain's
// proposals with their states at a height.
func (a *App) Proposals(height uint64, domain string, n uint32) (*ProposalList, error) {
	s, err := a.at(height)
	if err != nil {
		return nil, err
	}
	l, err := ProposalListOf(s, domain, n)
	if err != nil {
		return nil, a.govErr(s, err)
	}
	return l, nil
}

// ProposalListOf builds page n of a domain's proposal list from records;
// an absent domain wraps gov.ErrNotFound.
func ProposalListOf(rd RecordReader, domain string, n uint32) (*ProposalList, error) {
	s := readOnly{rd}
	d, err := gov.ReadDomain(s, domain)
	if err != nil {
		return nil, err
	}
	l := &ProposalList{Domain: domain, Page: n, Pages: uint32((d.Total + gov.PageSize - 1) / gov.PageSize), Total: d.Total,
		Proposals: []ProposalSummary{}, Records: []string{keyHex(gov.DomainKey(domain))}}
	if n >= l.Pages {
		return l, nil
	}
	page, err := gov.ReadPage(s, d, n)
	if err != nil {
		return nil, err
	}
	l.Records = append(l.Records, keyHex(gov.PageKey(d.Serial, n)))
	for _, id := range page.IDs {
		p, text, err := gov.ReadSummary(s, id)
		if err != nil {
			return nil, err
		}
		kind := "proposal"
		if text.Kind == gov.KindChallengeTopic {
			kind = "challenge"
		}
		l.Proposals = append(l.Proposals, ProposalSummary{ID: id, Kind: kind, Title: text.Title, State: p.State.String(),
			Participants: p.Participants, Round: p.Round, Deadline: p.Deadline})
		l.Records = append(l.Records, keyHex(gov.ProposalKey(id)), keyHex(gov.TextKey(id)))
	}
	return l, nil
}

// QueuedView is a proposal waiting in a domain's queue.
type QueuedView struct {
	ID           uint64 `json:"id"`
	Created      int64  `json:"created"`
	Participants uint16 `json:"participants"`
}

// ActiveView is an active proposal of a domain.
type ActiveView struct {
	ID       uint64 `json:"id"`
	Deadline int64  `json:"deadline"`
}

// DomainView is a domain with its parameters, queue and active proposals.
type DomainView struct {
	Name string `json:"name"`
	// Serial is the domain's number, under which its list pages are filed.
	Serial uint32            `json:"serial"`
	Params map[string]uint64 `json:"params"`
	Total  uint64            `json:"total"`
	Queue  []QueuedView      `json:"queue"`
	Active []ActiveView      `json:"active"`
	Record string            `json:"record"`
}

// DomainJSON returns the view of a domain.
func DomainJSON(d *gov.Domain) DomainView {
	v := DomainView{Name: d.Name, Serial: d.Serial, Params: d.Params.Map(), Total: d.Total, Queue: []QueuedView{}, Active: []ActiveView{}, Record: keyHex(gov.DomainKey(d.Name))}
	for _, q := range d.Queue {
		v.Queue = append(v.Queue, QueuedView(q))
	}
	for _, x := range d.Active {
		v.Active = append(v.Active, ActiveView(x))
	}
	return v
}

// Domain reads a domain at a height.
func (a *App) Domain(height uint64, name string) (*DomainView, error) {
	s, err := a.at(height)
	if err != nil {
		return nil, err
	}
	d, err := gov.ReadDomain(s, name)
	if err != nil {
		return nil, a.govErr(s, err)
	}
	v := DomainJSON(d)
	return &v, nil
}

// GovernanceView is the registry: the next proposal's ID, the total
// supply and the domains, with their parameters.
type GovernanceView struct {
	NextProposal uint64       `json:"next_proposal"`
	Supply       uint64       `json:"supply"`
	Domains      []DomainView `json:"domains"`
	Record       string       `json:"record"`
}

// Governance reads the registry and every domain at a height.
func (a *App) Governance(height uint64) (*GovernanceView, error) {
	s, err := a.at(height)
	if err != nil {
		return nil, err
	}
	v, err := GovernanceViewOf(s)
	if err != nil {
		return nil, a.govErr(s, err)
	}
	return v, nil
}

// GovernanceViewOf builds the view of the registry and every domain from
// records.
func GovernanceViewOf(rd RecordReader) (*GovernanceView, error) {
	s := readOnly{rd}
	reg, err := gov.ReadRegistry(s)
	if err != nil {
		return nil, err
	}
	v := &GovernanceView{NextProposal: reg.NextID, Supply: reg.Supply, Domains: []DomainView{}, Record: keyHex(gov.RegistryKey)}
	for _, name := range reg.Domains {
		d, err := gov.ReadDomain(s, name)
		if err != nil {
			return nil, err
		}
		v.Domains = append(v.Domains, DomainJSON(d))
	}
	return v, nil
}

// ExecutorView is an executor: who holds a role, since when and until
// when (block times), by which election.
type ExecutorView struct {
	Role     string `json:"role"`
	Member   string `json:"member"`
	Name     string `json:"name,omitempty"`
	Proposal uint64 `json:"proposal"`
	Since    int64  `json:"since"`
	Until    int64  `json:"until"`
}

// ExecutorsView is the executors with the records they are read from.
type ExecutorsView struct {
	List []ExecutorView `json:"executors"`
	// Records are the keys (hex) of the records the view is built from:
	// the executors' record, then the accounts whose names it shows.
	Records []string `json:"records"`
}

// Executors reads the executors at a height (record gov.ExecutorsKey).
func (a *App) Executors(height uint64) (*ExecutorsView, error) {
	s, err := a.at(height)
	if err != nil {
		return nil, err
	}
	out, err := ExecutorsViewOf(s)
	if err != nil {
		return nil, a.govErr(s, err)
	}
	if s.err != nil {
		return nil, a.readErr(s.err)
	}
	return out, nil
}

// ExecutorsViewOf builds the view of the executors from records.
func ExecutorsViewOf(s RecordReader) (*ExecutorsView, error) {
	e, err := gov.ReadExecutors(readOnly{s})
	if err != nil {
		return nil, err
	}
	nm := newNames(s)
	out := &ExecutorsView{List: []ExecutorView{}, Records: []string{keyHex(gov.ExecutorsKey)}}
	for _, x := range e.List {
		out.List = append(out.List, ExecutorView{Role: x.Role, Member: x.Member.String(), Name: nm.of(x.Member), Proposal: x.Proposal, Since: x.Since, Until: x.Until})
	}
	out.Records = append(out.Records, nm.records()...)
	return out, nil
}

// CommentView is a comment on a proposal (record gov.CommentKey).
type CommentView struct {
	Index  uint32 `json:"index"`
	Author string `json:"author"`
	Name   string `json:"name,omitempty"` // the author's
	Time   int64  `json:"time"`
	Text   string `json:"text"`
}

// Comments reads up to limit comments of a proposal from index from.
func (a *App) Comments(height, id uint64, from uint32, limit int) ([]CommentView, error) {
	s, err := a.at(height)
	if err != nil {
		return nil, err
	}
	out, err := CommentsOf(s, id, from, limit)
	if err != nil {
		return nil, a.govErr(s, err)
	}
	if s.err != nil {
		return nil, a.readErr(s.err)
	}
	return out, nil
}

// CommentsOf builds up to limit comments of a proposal, from index from,
// from records.
func CommentsOf(rd RecordReader, id uint64, from uint32, limit int) ([]CommentView, error) {
	s := readOnly{rd}
	p, _, err := gov.ReadSummary(s, id)
	if err != nil {
		return nil, err
	}
	out := []CommentView{}
	nm := newNames(rd)
	for n := from; n < p.Comments && len(out) < limit; n++ {
		c, err := gov.ReadComment(s, id, n)
		if err != nil {
			return nil, err
		}
		out = append(out, CommentView{Index: n, Author: c.Author.String(), Name: nm.of(c.Author), Time: c.Time, Text: c.Text})
	}
	return out, nil
}

// BallotView is a member's ballot in a round (record gov.BallotKey).
type BallotView struct {
	Meeting uint16  `json:"meeting"`
	Time    int64   `json:"time"`
	Approve Indexes `json:"approve"`
}

// Ballot reads a member's ballot in a round of a proposal.
func (a *App) Ballot(height, id uint64, round uint8, member crypto.ID) (*BallotView, error) {
	s, err := a.at(height)
	if err != nil {
		return nil, err
	}
	b, err := gov.ReadBallot(s, id, round, member)
	if err != nil {
		return nil, a.govErr(s, err)
	}
	return &BallotView{Meeting: b.Meeting, Time: b.Time, Approve: b.Approve}, nil
}

// Versions reads the protocol versions schedule (record state.VersionsKey).
func (a *App) Versions(height uint64) (*state.Versions, error) {
	val, _, err := a.tree.Get(version(height), state.VersionsKey)
	if err != nil {
		return nil, a.readErr(err)
	}
	return state.UnmarshalVersions(val)
}

// Treasury reads the organization's balance (record state.TreasuryKey).
func (a *App) Treasury(height uint64) (uint64, error) {
	_, sum, err := a.tree.Get(version(height), state.TreasuryKey)
	return sum, a.readErr(err)
}

// Nodes reads the node set the application holds (record state.NodesKey).
func (a *App) Nodes(height uint64) (*state.Nodes, error) {
	val, _, err := a.tree.Get(version(height), state.NodesKey)
	if err != nil {
		return nil, a.readErr(err)
	}
	return state.UnmarshalNodes(val)
}
