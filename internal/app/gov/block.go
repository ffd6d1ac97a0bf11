package gov

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strings"

	"github.com/mass-consensus/mass/internal/app/state"
	"github.com/mass-consensus/mass/internal/app/tx"
	"github.com/mass-consensus/mass/internal/crypto"
)

// EndBlock advances governance at the end of a block, after its
// transactions, at the block's time:
//
//  1. executor terms that ended (until ≤ time) end;
//  2. the active proposals whose deadline passed (deadline ≤ time) take
//     their next step, at most MaxSteps of them by (deadline, id), the rest
//     in the next blocks: a meeting ends and the first round begins, a
//     round ends (and the next begins, or publicity, or the proposal fails
//     without ballots), a publicity ends and the winner's actions execute,
//     a review ends and the freeze is lifted or the proposal cancelled;
//  3. in each domain, in the registry's order, the queued proposals that
//     waited queue_expiry expire;
//  4. while a domain has fewer than active_limit active proposals, its
//     queued proposal with the most participants among those that waited
//     gather_min (ties: the earlier created, then the lower ID) is
//     activated.
//
// Each phase that begins starts at the block's time, so a proposal takes
// at most one step per block. EndBlock writes nothing when nothing is due.
// An error is a corrupt state: the block cannot be applied.
func EndBlock(s Store, env Env) error {
	if err := expireExecutors(s, env); err != nil {
		return err
	}
	reg, err := getRegistry(s)
	if err != nil {
		return err
	}
	type due struct {
		id       uint64
		deadline int64
	}
	var dues []due
	for _, name := range reg.Domains {
		d, err := getDomain(s, name)
		if err != nil {
			return err
		}
		for _, a := range d.Active {
			if a.Deadline <= env.Time {
				dues = append(dues, due{a.ID, a.Deadline})
			}
		}
	}
	slices.SortFunc(dues, func(a, b due) int {
		return cmp.Or(cmp.Compare(a.deadline, b.deadline), cmp.Compare(a.id, b.id))
	})
	if len(dues) > MaxSteps {
		dues = dues[:MaxSteps]
	}
	for _, x := range dues {
		if err := step(s, env, x.id); err != nil {
			return fmt.Errorf("proposal %d: %w", x.id, err)
		}
	}
	if reg, err = getRegistry(s); err != nil { // an action may have added, renamed or removed a domain
		return err
	}
	for _, name := range reg.Domains {
		if err := queue(s, env, name); err != nil {
			return err
		}
	}
	return nil
}

// queue expires and activates the queued proposals of a domain.
func queue(s Store, env Env, name string) error {
	d, err := getDomain(s, name)
	if err != nil {
		return err
	}
	changed := false
	kept := d.Queue[:0]
	for _, q := range d.Queue {
		if addTime(q.Created, d.Params[QueueExpiry]) > env.Time {
			kept = append(kept, q)
			continue
		}
		p, err := getProposal(s, q.ID)
		if err != nil {
			return err
		}
		reason := fmt.Sprintf("waited in the queue of %s from %d, longer than its queue_expiry of %d ms", name, q.Created, d.Params[QueueExpiry])
		if err := closeProposal(s, env, p, StateExpired, reason); err != nil {
			return err
		}
		changed = true
	}
	d.Queue = kept
	for len(d.Active) < int(d.Params[ActiveLimit]) {
		best := -1
		for i, q := range d.Queue {
			if addTime(q.Created, d.Params[GatherMin]) > env.Time {
				continue // still gathering participants
			}
			if best < 0 {
				best = i
				continue
			}
			b := d.Queue[best]
			if q.Participants > b.Participants || q.Participants == b.Participants &&
				(q.Created < b.Created || q.Created == b.Created && q.ID < b.ID) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		id := d.Queue[best].ID
		d.Queue = slices.Delete(d.Queue, best, best+1)
		deadline, err := activate(s, env, d, id)
		if err != nil {
			return err
		}
		d.Active = append(d.Active, Active{ID: id, Deadline: deadline})
		changed = true
	}
	if changed {
		putDomain(s, d)
	}
	return nil
}

// activate begins a queued proposal's meeting, which lasts the aggregate
// desired meeting window of its participants (until more join); a
// challenge suspends its target. It returns the meeting's deadline.
func activate(s Store, env Env, d *Domain, id uint64) (int64, error) {
	p, err := getProposal(s, id)
	if err != nil {
		return 0, err
	}
	roster, err := getRoster(s, id)
	if err != nil {
		return 0, err
	}
	p.State = StateMeeting
	p.Activated = env.Time
	p.Window = meetingWish(&d.Params, roster)
	p.Deadline = addTime(env.Time, p.Window)
	putProposal(s, p)
	text, err := getText(s, id)
	if err != nil {
		return 0, err
	}
	if text.Kind == KindChallengeTopic {
		if err := setFlag(s, text.Target, state.FlagSuspended, true); err != nil {
			return 0, err
		}
	}
	return p.Deadline, nil
}

// AggregateOf is the aggregate of values as a domain's aggregate
// parameter says: the mean rounded down, or the lower median.
func AggregateOf(params *Params, vals []uint64) uint64 {
	if params[Aggregate] == AggregateMedian {
		return LowerMedian(vals)
	}
	return Mean(vals)
}

// wish is the aggregate of one of the roster's wishes, clamped to
// lo … hi (the domain's bounds now, which a set_param may have moved
// since the participants joined).
func wish(params *Params, r *Roster, f func(tx.Desire) uint64, lo, hi uint64) uint64 {
	vals := make([]uint64, len(r.Participants))
	for i, p := range r.Participants {
		vals[i] = f(p.Desire)
	}
	return min(max(AggregateOf(params, vals), lo), hi)
}

// meetingWish is the roster's meeting window: each round's length too.
func meetingWish(params *Params, r *Roster) uint64 {
	return wish(params, r, func(d tx.Desire) uint64 { return d.Meeting }, params[MeetingMin], params[MeetingMax])
}

// capacityWish is the roster's sub-meeting capacity, at least 2.
func capacityWish(params *Params, r *Roster) uint16 {
	c := wish(params, r, func(d tx.Desire) uint64 { return uint64(d.Capacity) }, max(params[CapacityMin], tx.MinCapacity), params[CapacityMax])
	return uint16(c)
}

// publicityWish is the roster's publicity window.
func publicityWish(params *Params, r *Roster) uint64 {
	return wish(params, r, func(d tx.Desire) uint64 { return d.Publicity }, params[PublicityMin], params[PublicityMax])
}

// setFlag sets or clears a flag of a member's account; a guest (removed
// meanwhile) is left alone when setting.
func setFlag(s Store, id crypto.ID, flag uint8, on bool) error {
	a, sum, found, err := account(s, id)
	if err != nil || !found {
		return err
	}
	switch {
	case on && a.Role.IsMember() && a.Flags&flag == 0:
		a.Flags |= flag
	case !on && a.Flags&flag != 0:
		a.Flags &^= flag
	default:
		return nil
	}
	putAccount(s, id, a, sum)
	return nil
}

// step takes an active proposal past its deadline.
func step(s Store, env Env, id uint64) error {
	p, err := getProposal(s, id)
	if err != nil {
		return err
	}
	if p.Deadline > env.Time {
		return corrupt("proposal %d is indexed as due at %d", id, p.Deadline)
	}
	switch p.State {
	case StateMeeting:
		return startVoting(s, env, p)
	case StateVoting:
		return endRound(s, env, p)
	case StatePublicity:
		return execute(s, env, p)
	case StateReview:
		return endReview(s, env, p)
	}
	return corrupt("proposal %d is active but %s", id, p.State)
}

// startVoting ends the meeting: the aggregate desired meeting window
// becomes each round's length and the aggregate desired capacity (at
// least 2) the sub-meetings' bound (both move as members join, for the
// rounds to come); round 1 votes on every option.
func startVoting(s Store, env Env, p *Proposal) error {
	d, err := getDomain(s, p.Domain)
	if err != nil {
		return err
	}
	roster, err := getRoster(s, p.ID)
	if err != nil {
		return err
	}
	p.Window = meetingWish(&d.Params, roster)
	p.Capacity = capacityWish(&d.Params, roster)
	opts := make([]uint8, p.Options)
	for i := range opts {
		opts[i] = uint8(i)
	}
	n := len(roster.Participants)
	return newRound(s, env, p, n, opts, n <= int(p.Capacity))
}

// newRound begins the next round on opts: one plenary meeting of the n
// participants of the roster, or a split into sub-meetings by the round's
// seed.
func newRound(s Store, env Env, p *Proposal, n int, opts []uint8, plenary bool) error {
	if p.Round >= MaxRounds {
		return corrupt("proposal %d would have a round %d", p.ID, p.Round+1)
	}
	p.Round++
	seed := RoundSeed(env.Seed, p.ID, p.Round)
	var assign []uint16
	var members [][]uint16
	if plenary {
		assign = make([]uint16, n)
		all := make([]uint16, n)
		for i := range all {
			all[i] = uint16(i)
		}
		members = [][]uint16{all}
	} else {
		assign, members = Split(seed, n, int(p.Capacity))
	}
	round := &Round{Number: p.Round, Start: env.Time, End: addTime(env.Time, p.Window), Seed: seed, Plenary: plenary,
		Options: opts, Meetings: uint16(len(members)), Assign: assign, Winners: []uint8{}}
	s.Put(RoundKey(p.ID, p.Round), round.Marshal(), 0)
	for m, mem := range members {
		mt := &Meeting{Members: mem, Tally: make([]uint16, len(opts)), Winner: NoWinner}
		s.Put(MeetingKey(p.ID, p.Round, uint16(m)), mt.Marshal(), 0)
	}
	p.State = StateVoting
	p.Deadline = round.End
	putProposal(s, p)
	return setActiveDeadline(s, p.Domain, p.ID, p.Deadline)
}

// endRound tallies a round. Each sub-meeting with ballots has a winner,
// the option with the most approvals (ties: the lowest index). With no
// winner at all the proposal closes (no votes); with one, publicity
// begins; with several, the next round votes on them: split again if the
// round eliminated an option, else in one plenary meeting, which has one
// winner. So every round but the last has fewer options than the one
// before or is followed by the last: at most MaxRounds rounds.
//
// The next round draws every participant of the roster then, those who
// joined during this round included.
func endRound(s Store, env Env, p *Proposal) error {
	round, err := getRound(s, p.ID, p.Round)
	if err != nil {
		return err
	}
	totals := make([]uint32, len(round.Options))
	won := make([]bool, len(round.Options))
	for m := uint16(0); m < round.Meetings; m++ {
		mt, err := getMeeting(s, p.ID, p.Round, m)
		if err != nil {
			return err
		}
		if len(mt.Tally) != len(round.Options) {
			return corrupt("proposal %d round %d meeting %d has %d tallies", p.ID, p.Round, m, len(mt.Tally))
		}
		for i, t := range mt.Tally {
			totals[i] += uint32(t)
		}
		if mt.Ballots == 0 {
			continue
		}
		best := 0
		for i, t := range mt.Tally {
			if t > mt.Tally[best] {
				best = i
			}
		}
		won[best] = true
		mt.Winner = round.Options[best]
		s.Put(MeetingKey(p.ID, p.Round, m), mt.Marshal(), 0)
	}
	var winners []uint8
	for i, w := range won {
		if w {
			winners = append(winners, round.Options[i])
		}
	}
	round.Ended = true
	round.Winners = append([]uint8{}, winners...)
	s.Put(RoundKey(p.ID, p.Round), round.Marshal(), 0)
	switch {
	case len(winners) == 0:
		return closeActive(s, env, p, StateNoVotes, fmt.Sprintf("round %d ended without a ballot", p.Round))
	case len(winners) == 1:
		return publish(s, env, p, winners[0], totals[round.Index(winners[0])])
	case round.Plenary:
		return corrupt("proposal %d: a plenary round with %d winners", p.ID, len(winners))
	}
	roster, err := getRoster(s, p.ID)
	if err != nil {
		return err
	}
	return newRound(s, env, p, len(roster.Participants), winners, len(winners) == len(round.Options))
}

// publish begins the publicity of the final winner. Its minimum length is
// clamp(publicity_unit × members / supporters, publicity_floor,
// publicity_ceiling), members counting every member and supervisor now and
// supporters the winner's approvals in the final round; its length is the
// larger of that minimum and the aggregate desired publicity window.
func publish(s Store, env Env, p *Proposal, winner uint8, supporters uint32) error {
	org, err := organization(s)
	if err != nil {
		return err
	}
	d, err := getDomain(s, p.Domain)
	if err != nil {
		return err
	}
	roster, err := getRoster(s, p.ID)
	if err != nil {
		return err
	}
	p.Winner = winner
	p.Supporters = supporters
	p.Members = org.Members
	p.PublicityMin = MinPublicity(&d.Params, org.Members, supporters)
	p.Publicity = max(p.PublicityMin, publicityWish(&d.Params, roster))
	p.State = StatePublicity
	p.Deadline = addTime(env.Time, p.Publicity)
	putProposal(s, p)
	return setActiveDeadline(s, p.Domain, p.ID, p.Deadline)
}

// MinPublicity is clamp(unit × members / supporters, floor, ceiling), the
// division rounding down and a product over 2^64 counting as the ceiling.
func MinPublicity(params *Params, members uint64, supporters uint32) uint64 {
	sup := uint64(max(supporters, 1))
	hi, lo := bits.Mul64(params[PublicityUnit], members)
	v := uint64(math.MaxUint64)
	if hi < sup {
		v, _ = bits.Div64(hi, lo, sup)
	}
	return min(max(v, params[PublicityFloor]), params[PublicityCeiling])
}

// execute runs the winner's actions in order, all or none: the first that
// fails undoes the others and closes the proposal as failed, with why.
func execute(s Store, env Env, p *Proposal) error {
	opt, err := getOption(s, p.ID, p.Winner)
	if err != nil {
		return err
	}
	buf := newBuffer(s)
	for i, a := range opt.Option.Actions {
		if err := execAction(buf, env, p.ID, a); err != nil {
			var ge *Error
			if !errors.As(err, &ge) {
				return err
			}
			return closeActive(s, env, p, StateFailed, fmt.Sprintf("action %d (%s) failed: %s", i, a.Kind(), ge.Msg))
		}
	}
	buf.flush()
	// An action may have renamed the proposal's own domain.
	if p, err = getProposal(s, p.ID); err != nil {
		return err
	}
	return closeActive(s, env, p, StateExecuted,
		fmt.Sprintf("option %d (%s) executed: %s", p.Winner, opt.Option.Title, plural(len(opt.Option.Actions), "action")))
}

// endReview ends a freeze's review: the freezer is unfrozen; the freeze is
// lifted if more voted to lift than to cancel (publicity resumes with the
// time it had left), else the proposal is cancelled.
func endReview(s Store, env Env, p *Proposal) error {
	if err := setFlag(s, p.Freezer, state.FlagFrozen, false); err != nil {
		return err
	}
	if p.Lift > p.Cancel {
		p.State = StatePublicity
		p.Deadline = addTime(env.Time, p.Remaining)
		putProposal(s, p)
		return setActiveDeadline(s, p.Domain, p.ID, p.Deadline)
	}
	return closeActive(s, env, p, StateCancelled,
		fmt.Sprintf("the review of freeze %d cancelled it: %d to lift, %d to cancel", p.Freezes, p.Lift, p.Cancel))
}

// closeActive closes an active proposal and takes it out of its domain.
func closeActive(s Store, env Env, p *Proposal, st State, reason string) error {
	if err := closeProposal(s, env, p, st, reason); err != nil {
		return err
	}
	d, err := getDomain(s, p.Domain)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(d.Active, func(a Active) bool { return a.ID == p.ID })
	if i < 0 {
		return corrupt("proposal %d is not active in domain %s", p.ID, p.Domain)
	}
	d.Active = slices.Delete(d.Active, i, i+1)
	putDomain(s, d)
	return nil
}

// closeProposal records how a proposal closed; a challenge's target is no
// longer suspended nor challenged.
func closeProposal(s Store, env Env, p *Proposal, st State, reason string) error {
	if len(reason) > MaxReason {
		reason = strings.ToValidUTF8(reason[:MaxReason], "")
	}
	p.State = st
	p.Closed = env.Time
	p.Deadline = 0
	p.Reason = reason
	putProposal(s, p)
	text, err := getText(s, p.ID)
	if err != nil || text.Kind != KindChallengeTopic {
		return err
	}
	if err := setFlag(s, text.Target, state.FlagSuspended, false); err != nil {
		return err
	}
	if c, found, err := read(s, ChallengeKey(text.Target), UnmarshalChallenge, "a challenge"); err != nil {
		return err
	} else if found && c.Proposal == p.ID {
		s.Delete(ChallengeKey(text.Target))
	}
	return nil
}

// expireExecutors ends the terms whose end has come.
func expireExecutors(s Store, env Env) error {
	e, err := getExecutors(s)
	if err != nil {
		return err
	}
	kept := slices.DeleteFunc(slices.Clone(e.List), func(x Executor) bool { return x.Until <= env.Time })
	if len(kept) != len(e.List) {
		e.List = kept
		s.Put(ExecutorsKey, e.Marshal(), 0)
	}
	return nil
}

// plural writes a count with its noun: "1 action", "0 actions", "3 actions".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
