package gov

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mass-consensus/mass/internal/app"
	"github.com/mass-consensus/mass/internal/app/state"
	"github.com/mass-consensus/mass/internal/app/tx"
	"github.com/mass-consensus/mass/internal/crypto"
)

// IsGov says whether a transaction body is a governance transaction,
// which Apply runs.
func IsGov(b tx.Body) bool {
	switch b.(type) {
	case *tx.Create, *tx.Join, *tx.AddOption, *tx.Comment, *tx.Vote, *tx.Freeze, *tx.Review, *tx.Challenge:
		return true
	}
	return false
}

// Apply runs a governance transaction whose signatures and nonce are
// checked (the sender's account, with its nonce used, is in s already). On
// error (an *Error with its code, or ErrCorrupt) s holds partial writes and
// must be dropped.
func Apply(s Store, env Env, sender crypto.ID, body tx.Body) ([]app.Event, error) {
	switch b := body.(type) {
	case *tx.Create:
		return create(s, env, sender, b)
	case *tx.Join:
		return join(s, env, sender, b)
	case *tx.AddOption:
		return addOption(s, env, sender, b)
	case *tx.Comment:
		return comment(s, env, sender, b)
	case *tx.Vote:
		return vote(s, env, sender, b)
	case *tx.Freeze:
		return freeze(s, env, sender, b)
	case *tx.Review:
		return review(s, env, sender, b)
	case *tx.Challenge:
		return challenge(s, env, sender, b)
	}
	return nil, fail(CodeInvalid, "%s is not a governance transaction", body.Type())
}

func event(typ string, kv ...string) []app.Event {
	e := app.Event{Type: typ}
	for i := 0; i+1 < len(kv); i += 2 {
		e.Attributes = append(e.Attributes, app.Attribute{Key: kv[i], Value: kv[i+1]})
	}
	return []app.Event{e}
}

// checkOption checks what an option's actions can be checked for before
// they run: the parameters they set exist and are within their bounds;
// the domain general is neither removed nor renamed, and no domain takes
// its name. The rest (a domain, a member, the treasury) is checked when
// they run.
func checkOption(o *tx.Option) error {
	for i, a := range o.Actions {
		if err := CheckAction(a); err != nil {
			return fail(CodeInvalid, "option %q, action %d (%s): %v", o.Title, i, a.Kind(), err)
		}
	}
	return nil
}

// CheckAction checks what can be checked of an action without the state,
// when it is proposed and again when it runs: a parameter's name and
// bounds; the domain general is neither removed nor renamed, nor does
// another take its name; the treasury is not paid nor made a member.
func CheckAction(a tx.Action) error {
	switch a := a.(type) {
	case *tx.SetParam:
		idx, ok := ParamIndex(a.Param)
		if !ok {
			names := make([]string, len(ParamDefs))
			for i, d := range ParamDefs {
				names[i] = d.Name
			}
			return fmt.Errorf("there is no parameter %q (%s)", a.Param, strings.Join(names, ", "))
		}
		return checkParam(idx, a.Value)
	case *tx.Pay:
		if a.To == tx.TreasuryID {
			return errors.New("a payment from the treasury to itself")
		}
	case *tx.AddMember:
		if a.ID == tx.TreasuryID {
			return errors.New("the treasury is not a member's account")
		}
	case *tx.RemoveDomain:
		if a.Name == GeneralDomain {
			return errors.New("the domain general cannot be removed")
		}
	case *tx.RenameDomain:
		if a.Name == GeneralDomain || a.NewName == GeneralDomain {
			return errors.New("the domain general keeps its name, and no other takes it")
		}
	}
	return nil
}

// newProposal writes a new proposal: its text, options, roster (the author)
// and its place in the domain's queue and list.
func newProposal(s Store, env Env, d *Domain, text *Text, options []tx.Option, desire tx.Desire) (uint64, error) {
	if len(d.Queue) >= int(d.Params[MaxQueued]) {
		return 0, fail(CodeLimit, "domain %s has %d proposals queued, its limit (max_queued)", d.Name, len(d.Queue))
	}
	if err := d.Params.checkDesire(desire); err != nil {
		return 0, err
	}
	for i := range options {
		if err := checkOption(&options[i]); err != nil {
			return 0, err
		}
	}
	reg, err := getRegistry(s)
	if err != nil {
		return 0, err
	}
	id := reg.NextID
	reg.NextID++
	putRegistry(s, reg)
	s.Put(TextKey(id), text.Marshal(), 0)
	for i, o := range options {
		rec := OptionRecord{Author: text.Author, Added: env.Time, Option: o}
		s.Put(OptionKey(id, uint8(i)), rec.Marshal(), 0)
	}
	roster := Roster{Participants: []Participant{{Member: text.Author, Desire: desire, Joined: env.Time}}}
	s.Put(RosterKey(id), roster.Marshal(), 0)
	putProposal(s, &Proposal{ID: id, Domain: d.Name, State: StateQueued, Options: uint8(len(options)), Participants: 1, Winner: NoWinner})
	d.Queue = append(d.Queue, Queued{ID: id, Created: env.Time, Participants: 1})
	// The list: page ⌊total / PageSize⌋ gets the ID.
	n := uint32(d.Total / PageSize)
	page, found, err := read(s, PageKey(d.Serial, n), UnmarshalPage, "a page")
	if err != nil {
		return 0, err
	}
	if !found {
		page = &Page{}
	}
	page.IDs = append(page.IDs, id)
	s.Put(PageKey(d.Serial, n), page.Marshal(), 0)
	d.Total++
	putDomain(s, d)
	return id, nil
}

func create(s Store, env Env, sender crypto.ID, b *tx.Create) ([]app.Event, error) {
	if _, _, err := activeMember(s, sender); err != nil {
		return nil, err
	}
	d, err := getDomain(s, b.Domain)
	if err != nil {
		return nil, err
	}
	text := &Text{Kind: KindPlain, Author: sender, Created: env.Time, Domain: b.Domain, Title: b.Title, Body: b.Body}
	id, err := newProposal(s, env, d, text, b.Options, b.Desire)
	if err != nil {
		return nil, err
	}
	return event("create", "proposal", fmt.Sprint(id), "domain", b.Domain, "author", sender.String()), nil
}

func challenge(s Store, env Env, sender crypto.ID, b *tx.Challenge) ([]app.Event, error) {
	if _, _, err := activeMember(s, sender); err != nil {
		return nil, err
	}
	if b.Target == sender {
		return nil, fail(CodeInvalid, "a member cannot challenge itself")
	}
	target, _, _, err := account(s, b.Target)
	if err != nil {
		return nil, err
	}
	if !target.Role.IsMember() {
		return nil, fail(CodeInvalid, "%s is not a member: only members are challenged", b.Target)
	}
	if c, found, err := read(s, ChallengeKey(b.Target), UnmarshalChallenge, "a challenge"); err != nil {
		return nil, err
	} else if found {
		return nil, fail(CodeInvalid, "%s is challenged already (proposal %d)", b.Target, c.Proposal)
	}
	d, err := getDomain(s, b.Domain)
	if err != nil {
		return nil, err
	}
	name := target.Name
	if name == "" {
		name = b.Target.String()
	}
	text := &Text{Kind: KindChallengeTopic, Author: sender, Created: env.Time, Domain: b.Domain,
		Title: "Challenge to " + name, Body: b.Reason, Target: b.Target}
	options := []tx.Option{
		{Title: "Remove " + name, Actions: []tx.Action{&tx.RemoveMember{ID: b.Target}}},
		{Title: "Keep " + name},
	}
	id, err := newProposal(s, env, d, text, options, b.Desire)
	if err != nil {
		return nil, err
	}
	s.Put(ChallengeKey(b.Target), (&ChallengeRecord{Proposal: id}).Marshal(), 0)
	return event("challenge", "proposal", fmt.Sprint(id), "target", b.Target.String(), "by", sender.String()), nil
}

// join adds a participant to a proposal that is queued, meeting or
// voting (before publicity: 参与者可以在公示以前参与议题), then recomputes
// what the roster's wishes set and is not fixed yet (rejoin).
func join(s Store, env Env, sender crypto.ID, b *tx.Join) ([]app.Event, error) {
	p, err := getProposal(s, b.Proposal)
	if err != nil {
		return nil, err
	}
	switch p.State {
	case StateQueued:
	case StateMeeting, StateVoting:
		if env.Time >= p.Deadline {
			return nil, fail(CodePhase, "%s of proposal %d ended at %d", phaseName(p), p.ID, p.Deadline)
		}
	default:
		return nil, fail(CodePhase, "proposal %d is %s: members join until publicity (while it is queued, meeting or voting)", p.ID, p.State)
	}
	if _, _, err := activeMember(s, sender); err != nil {
		return nil, err
	}
	text, err := getText(s, p.ID)
	if err != nil {
		return nil, err
	}
	if text.Kind == KindChallengeTopic && text.Target == sender {
		return nil, fail(CodeNotPermitted, "the target of a challenge cannot join it")
	}
	d, err := getDomain(s, p.Domain)
	if err != nil {
		return nil, err
	}
	if err := d.Params.checkDesire(b.Desire); err != nil {
		return nil, err
	}
	roster, err := getRoster(s, p.ID)
	if err != nil {
		return nil, err
	}
	if roster.Position(sender) >= 0 {
		return nil, fail(CodeInvalid, "%s is a participant of proposal %d already", sender, p.ID)
	}
	if len(roster.Participants) >= MaxParticipants {
		return nil, fail(CodeLimit, "proposal %d has %d participants, the limit", p.ID, MaxParticipants)
	}
	roster.Participants = append(roster.Participants, Participant{Member: sender, Desire: b.Desire, Joined: env.Time})
	s.Put(RosterKey(p.ID), roster.Marshal(), 0)
	p.Participants++
	if err := rejoin(s, env, d, p, roster); err != nil {
		return nil, err
	}
	putProposal(s, p)
	putDomain(s, d)
	return event("join", "proposal", fmt.Sprint(p.ID), "member", sender.String(), "participants", fmt.Sprint(p.Participants),
		"deadline", fmt.Sprint(p.Deadline)), nil
}

// phaseName names what ends at a meeting's or a voting proposal's
// deadline: "the meeting", "round 2".
func phaseName(p *Proposal) string {
	if p.State == StateVoting {
		return fmt.Sprintf("round %d", p.Round)
	}
	return "the meeting"
}

// rejoin recomputes, after a join, what the roster's wishes set and is
// not fixed yet, in p and in its domain d (the caller writes both):
//
//   - queued: the participants the queue ranks it by;
//   - meeting: the meeting's length, so its deadline: activation plus the
//     aggregate window;
//   - voting: the rounds' length and the capacity, for the rounds to come
//     (the current round's sub-meetings are drawn already and stay as
//     they are; the joiner is in the next round's draw), and the current
//     round's end: its start plus the new length.
//
// A deadline moved this way is never before the block's time: a join
// cannot end a phase earlier than the block it is in (nor move a deadline
// that has passed: a join after the deadline is refused).
func rejoin(s Store, env Env, d *Domain, p *Proposal, roster *Roster) error {
	switch p.State {
	case StateQueued:
		for i := range d.Queue {
			if d.Queue[i].ID == p.ID {
				d.Queue[i].Participants = p.Participants
			}
		}
		return nil
	case StateMeeting:
		p.Window = meetingWish(&d.Params, roster)
		p.Deadline = max(addTime(p.Activated, p.Window), env.Time)
	case StateVoting:
		p.Window = meetingWish(&d.Params, roster)
		p.Capacity = capacityWish(&d.Params, roster)
		round, err := getRound(s, p.ID, p.Round)
		if err != nil {
			return err
		}
		round.End = max(addTime(round.Start, p.Window), env.Time)
		s.Put(RoundKey(p.ID, p.Round), round.Marshal(), 0)
		p.Deadline = round.End
	}
	for i := range d.Active {
		if d.Active[i].ID == p.ID {
			d.Active[i].Deadline = p.Deadline
			return nil
		}
	}
	return corrupt("proposal %d is not active in domain %s", p.ID, d.Name)
}

// participant reads a proposal's roster and the sender's position in it.
func participant(s Store, p *Proposal, sender crypto.ID) (*Roster, int, error) {
	roster, err := getRoster(s, p.ID)
	if err != nil {
		return nil, 0, err
	}
	pos := roster.Position(sender)
	if pos < 0 {
		return nil, 0, fail(CodeNotPermitted, "%s is not a participant of proposal %d", sender, p.ID)
	}
	return roster, pos, nil
}

func addOption(s Store, env Env, sender crypto.ID, b *tx.AddOption) ([]app.Event, error) {
	p, err := getProposal(s, b.Proposal)
	if err != nil {
		return nil, err
	}
	if p.State != StateQueued && p.State != StateMeeting {
		return nil, fail(CodePhase, "proposal %d is %s: options are added while it is queued or meeting", p.ID, p.State)
	}
	if p.State == StateMeeting && env.Time >= p.Deadline {
		return nil, fail(CodePhase, "the meeting of proposal %d ended at %d", p.ID, p.Deadline)
	}
	if _, _, err := activeMember(s, sender); err != nil {
		return nil, err
	}
	if _, _, err := participant(s, p, sender); err != nil {
		return nil, err
	}
	text, err := getText(s, p.ID)
	if err != nil {
		return nil, err
	}
	if text.Kind == KindChallengeTopic {
		return nil, fail(CodeInvalid, "the options of a challenge are fixed")
	}
	if p.Options >= tx.MaxOptions {
		return nil, fail(CodeLimit, "proposal %d has %d options, the limit", p.ID, tx.MaxOptions)
	}
	if err := checkOption(&b.Option); err != nil {
		return nil, err
	}
	i := p.Options
	s.Put(OptionKey(p.ID, i), (&OptionRecord{Author: sender, Added: env.Time, Option: b.Option}).Marshal(), 0)
	p.Options++
	putProposal(s, p)
	return event("option", "proposal", fmt.Sprint(p.ID), "index", fmt.Sprint(i), "by", sender.String()), nil
}

func comment(s Store, env Env, sender crypto.ID, b *tx.Comment) ([]app.Event, error) {
	p, err := getProposal(s, b.Proposal)
	if err != nil {
		return nil, err
	}
	if p.State != StateQueued && p.State != StateMeeting && p.State != StateVoting {
		return nil, fail(CodePhase, "proposal %d is %s: comments are open until publicity", p.ID, p.State)
	}
	acct, balance, _, err := account(s, sender)
	if err != nil {
		return nil, err
	}
	if !acct.Role.IsMember() {
		return nil, fail(CodeNotPermitted, "only members comment; %s %s", sender, Standing(acct, balance))
	}
	text, err := getText(s, p.ID)
	if err != nil {
		return nil, err
	}
	if !(text.Kind == KindChallengeTopic && text.Target == sender) {
		if _, _, err := participant(s, p, sender); err != nil {
			return nil, err
		}
	}
	if p.Comments >= MaxComments {
		return nil, fail(CodeLimit, "proposal %d has %d comments, the limit", p.ID, MaxComments)
	}
	n := p.Comments
	s.Put(CommentKey(p.ID, n), (&CommentRecord{Author: sender, Time: env.Time, Text: b.Text}).Marshal(), 0)
	p.Comments++
	putProposal(s, p)
	return event("comment", "proposal", fmt.Sprint(p.ID), "index", fmt.Sprint(n), "by", sender.String()), nil
}

func vote(s Store, env Env, sender crypto.ID, b *tx.Vote) ([]app.Event, error) {
	p, err := getProposal(s, b.Proposal)
	if err != nil {
		return nil, err
	}
	switch {
	case p.State != StateVoting:
		return nil, fail(CodePhase, "proposal %d is %s, not voting", p.ID, p.State)
	case b.Round != p.Round:
		return nil, fail(CodePhase, "round %d is not the current round of proposal %d (%d)", b.Round, p.ID, p.Round)
	case env.Time >= p.Deadline:
		return nil, fail(CodePhase, "round %d of proposal %d ended at %d", p.Round, p.ID, p.Deadline)
	}
	if _, _, err := activeMember(s, sender); err != nil {
		return nil, err
	}
	_, pos, err := participant(s, p, sender)
	if err != nil {
		return nil, err
	}
	round, err := getRound(s, p.ID, p.Round)
	if err != nil {
		return nil, err
	}
	if pos >= len(round.Assign) {
		return nil, fail(CodeNotPermitted, "%s joined proposal %d during round %d: it votes from round %d on", sender, p.ID, p.Round, p.Round+1)
	}
	if m := round.Assign[pos]; m != b.Meeting {
		return nil, fail(CodeNotPermitted, "%s is in sub-meeting %d of round %d, not %d", sender, m, p.Round, b.Meeting)
	}
	for _, x := range b.Approve {
		if x >= p.Options {
			return nil, fail(CodeInvalid, "there is no option %d: proposal %d has %d options", x, p.ID, p.Options)
		}
		if round.Index(x) < 0 {
			return nil, fail(CodeInvalid, "option %d is not voted on in round %d (its options are %v)", x, p.Round, round.Options)
		}
	}
	bk := BallotKey(p.ID, p.Round, sender)
	if _, _, ok := s.Get(bk); ok {
		return nil, fail(CodeInvalid, "%s voted already in round %d of proposal %d", sender, p.Round, p.ID)
	}
	m, err := getMeeting(s, p.ID, p.Round, b.Meeting)
	if err != nil {
		return nil, err
	}
	m.Ballots++
	for _, x := range b.Approve {
		m.Tally[round.Index(x)]++
	}
	s.Put(MeetingKey(p.ID, p.Round, b.Meeting), m.Marshal(), 0)
	s.Put(bk, (&Ballot{Meeting: b.Meeting, Time: env.Time, Approve: b.Approve}).Marshal(), 0)
	return event("vote", "proposal", fmt.Sprint(p.ID), "round", fmt.Sprint(p.Round), "meeting", fmt.Sprint(b.Meeting), "voter", sender.String()), nil
}

func freeze(s Store, env Env, sender crypto.ID, b *tx.Freeze) ([]app.Event, error) {
	p, err := getProposal(s, b.Proposal)
	if err != nil {
		return nil, err
	}
	switch {
	case p.State != StatePublicity:
		return nil, fail(CodePhase, "proposal %d is %s: only a proposal in publicity can be frozen", p.ID, p.State)
	case env.Time >= p.Deadline:
		return nil, fail(CodePhase, "the publicity of proposal %d ended at %d", p.ID, p.Deadline)
	}
	acct, sum, err := activeMember(s, sender)
	if err != nil {
		return nil, err
	}
	if p.Freezes >= MaxFreezes {
		return nil, fail(CodeLimit, "proposal %d was frozen %d times, the limit", p.ID, MaxFreezes)
	}
	d, err := getDomain(s, p.Domain)
	if err != nil {
		return nil, err
	}
	p.Remaining = uint64(p.Deadline - env.Time)
	p.State = StateReview
	p.Freezes++
	p.Freezer = sender
	p.Lift, p.Cancel = 0, 0
	p.Deadline = addTime(env.Time, d.Params[ReviewWindow])
	putProposal(s, p)
	if err := setActiveDeadline(s, p.Domain, p.ID, p.Deadline); err != nil {
		return nil, err
	}
	acct.Flags |= state.FlagFrozen
	putAccount(s, sender, acct, sum)
	return event("freeze", "proposal", fmt.Sprint(p.ID), "freeze", fmt.Sprint(p.Freezes), "by", sender.String(),
		"review_end", fmt.Sprint(p.Deadline)), nil
}

func review(s Store, env Env, sender crypto.ID, b *tx.Review) ([]app.Event, error) {
	p, err := getProposal(s, b.Proposal)
	if err != nil {
		return nil, err
	}
	switch {
	case p.State != StateReview:
		return nil, fail(CodePhase, "proposal %d is %s, not under review", p.ID, p.State)
	case b.Freeze != p.Freezes:
		return nil, fail(CodePhase, "freeze %d of proposal %d is not the one under review (%d)", b.Freeze, p.ID, p.Freezes)
	case env.Time >= p.Deadline:
		return nil, fail(CodePhase, "the review of proposal %d ended at %d", p.ID, p.Deadline)
	}
	if _, _, err := activeMember(s, sender); err != nil {
		return nil, err
	}
	rk := ReviewKey(p.ID, p.Freezes, sender)
	if _, _, ok := s.Get(rk); ok {
		return nil, fail(CodeInvalid, "%s voted already in the review of freeze %d of proposal %d", sender, p.Freezes, p.ID)
	}
	s.Put(rk, (&ReviewBallot{Lift: b.Lift, Time: env.Time}).Marshal(), 0)
	if b.Lift {
		p.Lift++
	} else {
		p.Cancel++
	}
	putProposal(s, p)
	choice := "cancel"
	if b.Lift {
		choice = "lift"
	}
	return event("review", "proposal", fmt.Sprint(p.ID), "freeze", fmt.Sprint(p.Freezes), "voter", sender.String(), "choice", choice), nil
}

// setActiveDeadline records an active proposal's new deadline in its
// domain's index.
func setActiveDeadline(s Store, domain string, id uint64, deadline int64) error {
	d, err := getDomain(s, domain)
	if err != nil {
		return err
	}
	for i := range d.Active {
		if d.Active[i].ID == id {
			d.Active[i].Deadline = deadline
			putDomain(s, d)
			return nil
		}
	}
	return corrupt("proposal %d is not active in domain %s", id, domain)
}
