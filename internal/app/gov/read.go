package gov

import (
	"fmt"

	"github.com/mass-consensus/mass/internal/app/state"
)

// The readers below gather records for the views and name every key they
// read, so that each can be proven; an absent record wraps ErrNotFound.

func readOr[T any](s Store, k state.Key, dec func([]byte) (T, error), what string) (T, error) {
	v, found, err := read(s, k, dec, what)
	if err == nil && !found {
		err = fmt.Errorf("%w: %s", ErrNotFound, what)
	}
	return v, err
}

// ReadRegistry reads the registry.
func ReadRegistry(s Store) (*Registry, error) {
	return readOr(s, RegistryKey, UnmarshalRegistry, "the registry")
}

// ReadDomain reads a domain.
func ReadDomain(s Store, name string) (*Domain, error) {
	return readOr(s, DomainKey(name), UnmarshalDomain, "domain "+name)
}

// ReadPage reads page n of a domain's list.
func ReadPage(s Store, d *Domain, n uint32) (*Page, error) {
	return readOr(s, PageKey(d.Serial, n), UnmarshalPage, fmt.Sprintf("page %d of domain %s", n, d.Name))
}

// ReadExecutors reads the executors.
func ReadExecutors(s Store) (*Executors, error) {
	return readOr(s, ExecutorsKey, UnmarshalExecutors, "the executors")
}

// ReadComment reads comment n of a proposal.
func ReadComment(s Store, id uint64, n uint32) (*CommentRecord, error) {
	return readOr(s, CommentKey(id, n), UnmarshalComment, fmt.Sprintf("comment %d of proposal %d", n, id))
}

// ReadBallot reads a member's ballot in a round.
func ReadBallot(s Store, id uint64, round uint8, member [20]byte) (*Ballot, error) {
	return readOr(s, BallotKey(id, round, member), UnmarshalBallot, "a ballot")
}

// ReadChallenge reads the open challenge of a member.
func ReadChallenge(s Store, member [20]byte) (*ChallengeRecord, error) {
	return readOr(s, ChallengeKey(member), UnmarshalChallenge, "a challenge")
}

// ReadSummary reads a proposal's state and text only.
func ReadSummary(s Store, id uint64) (*Proposal, *Text, error) {
	p, err := readOr(s, ProposalKey(id), UnmarshalProposal, fmt.Sprintf("proposal %d", id))
	if err != nil {
		return nil, nil, err
	}
	t, err := getText(s, id)
	return p, t, err
}

// RoundRecords is a round and its sub-meetings.
type RoundRecords struct {
	Round    *Round
	Meetings []*Meeting
}

// ProposalRecords is everything about a proposal but its ballots and
// comments, and the keys of the records it came from.
type ProposalRecords struct {
	Proposal *Proposal
	Text     *Text
	Options  []*OptionRecord
	Roster   *Roster
	Rounds   []RoundRecords
	Keys     []state.Key
}

// ReadProposal reads a proposal's records: its state, text, options,
// roster, rounds and sub-meetings.
func ReadProposal(s Store, id uint64) (*ProposalRecords, error) {
	out := &ProposalRecords{}
	var err error
	if out.Proposal, err = readOr(s, ProposalKey(id), UnmarshalProposal, fmt.Sprintf("proposal %d", id)); err != nil {
		return nil, err
	}
	if out.Text, err = getText(s, id); err != nil {
		return nil, err
	}
	if out.Roster, err = getRoster(s, id); err != nil {
		return nil, err
	}
	out.Keys = append(out.Keys, ProposalKey(id), TextKey(id), RosterKey(id))
	for i := uint8(0); i < out.Proposal.Options; i++ {
		o, err := getOption(s, id, i)
		if err != nil {
			return nil, err
		}
		out.Options = append(out.Options, o)
		out.Keys = append(out.Keys, OptionKey(id, i))
	}
	for r := uint8(1); r <= out.Proposal.Round; r++ {
		round, err := getRound(s, id, r)
		if err != nil {
			return nil, err
		}
		rr := RoundRecords{Round: round}
		out.Keys = append(out.Keys, RoundKey(id, r))
		for m := uint16(0); m < round.Meetings; m++ {
			mt, err := getMeeting(s, id, r, m)
			if err != nil {
				return nil, err
			}
			rr.Meetings = append(rr.Meetings, mt)
			out.Keys = append(out.Keys, MeetingKey(id, r, m))
		}
		out.Rounds = append(out.Rounds, rr)
	}
	return out, nil
}
