package gov

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/mass-consensus/mass/internal/app/state"
	"github.com/mass-consensus/mass/internal/app/tx"
	"github.com/mass-consensus/mass/internal/crypto"
)

// memStore is a Store in a map.
type memStore map[state.Key]bufLeaf

func (m memStore) Get(k state.Key) ([]byte, uint64, bool) {
	l, ok := m[k]
	return l.value, l.sum, ok
}
func (m memStore) Put(k state.Key, v []byte, sum uint64) { m[k] = bufLeaf{value: v, sum: sum} }
func (m memStore) Delete(k state.Key)                    { delete(m, k) }

func (m memStore) clone() memStore {
	c := memStore{}
	for k, v := range m {
		c[k] = v
	}
	return c
}

func memberID(i int) crypto.ID {
	var id crypto.ID
	id[0], id[1], id[19] = byte(i>>8), byte(i), 0xaa
	return id
}

// newStore is a genesis state with n members (member 0 a supervisor) and
// the given parameters of "general".
func newStore(t testing.TB, n int, params map[string]uint64) memStore {
	t.Helper()
	s := memStore{}
	recs, err := GenesisRecords([]DomainSpec{{Name: GeneralDomain, Params: params}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		s.Put(r.Key, r.Value, 0)
	}
	org := &state.Organization{Name: "o", Policy: state.BySupervisor, Members: uint64(n), Supervisors: 1}
	putOrganization(s, org)
	for i := 0; i < n; i++ {
		role := state.Member
		if i == 0 {
			role = state.Supervisor
		}
		putAccount(s, memberID(i), &state.Account{Role: role, Name: fmt.Sprintf("m%d", i)}, 0)
	}
	s.Put(state.VersionsKey, (&state.Versions{Entries: []state.Version{{Height: 1, Version: 1}}}).Marshal(), 0)
	putAccount(s, crypto.ID(state.TreasuryKey), &state.Account{Name: state.TreasuryName}, 0)
	return s
}

func desire() tx.Desire { return tx.Desire{Meeting: Hour, Publicity: Hour, Capacity: 8} }

func mustApply(t testing.TB, s Store, env Env, sender crypto.ID, b tx.Body) {
	t.Helper()
	if _, err := Apply(s, env, sender, b); err != nil {
		t.Fatalf("%s: %v", b.Type(), err)
	}
}

func TestShuffleIsAFunctionOfTheSeed(t *testing.T) {
	seed := sha256.Sum256([]byte("a"))
	other := sha256.Sum256([]byte("b"))
	a1, m1 := Split(seed, 40, 6)
	a2, m2 := Split(seed, 40, 6)
	if !slices.Equal(a1, a2) || fmt.Sprint(m1) != fmt.Sprint(m2) {
		t.Fatal("the same seed split differently")
	}
	b1, _ := Split(other, 40, 6)
	if slices.Equal(a1, b1) {
		t.Fatal("another seed split the same way")
	}
	// The block seed covers the height and every transaction; the round
	// seed the proposal and the round.
	txs := [][]byte{[]byte("x"), []byte("y")}
	if BlockSeed(5, txs) == BlockSeed(6, txs) || BlockSeed(5, txs) == BlockSeed(5, txs[:1]) ||
		BlockSeed(5, [][]byte{[]byte("xy")}) == BlockSeed(5, [][]byte{[]byte("x"), []byte("y")}) {
		t.Fatal("block seeds collide")
	}
	if RoundSeed(seed, 1, 1) == RoundSeed(seed, 1, 2) || RoundSeed(seed, 1, 1) == RoundSeed(seed, 2, 1) {
		t.Fatal("round seeds collide")
	}
}

func TestSplitSizes(t *testing.T) {
	for n := 1; n <= 70; n++ {
		for c := 2; c <= 12; c++ {
			seed := sha256.Sum256([]byte{byte(n), byte(c)})
			assign, meetings := Split(seed, n, c)
			k := (n + c - 1) / c
			if len(meetings) != k || len(assign) != n {
				t.Fatalf("n=%d c=%d: %d meetings, %d assigned", n, c, len(meetings), len(assign))
			}
			seen := make([]bool, n)
			lo, hi := n, 0
			for m, mem := range meetings {
				lo, hi = min(lo, len(mem)), max(hi, len(mem))
				if len(mem) > c {
					t.Fatalf("n=%d c=%d: meeting of %d", n, c, len(mem))
				}
				for _, p := range mem {
					if seen[p] || assign[p] != uint16(m) {
						t.Fatalf("n=%d c=%d: position %d", n, c, p)
					}
					seen[p] = true
				}
			}
			if hi-lo > 1 || slices.Contains(seen, false) {
				t.Fatalf("n=%d c=%d: sizes %d…%d", n, c, lo, hi)
			}
		}
	}
}

// TestShuffleUniform checks roughly that every position lands everywhere
// equally often.
func TestShuffleUniform(t *testing.T) {
	const n, runs = 5, 20000
	var counts [n][n]int
	for i := 0; i < runs; i++ {
		seed := sha256.Sum256([]byte(fmt.Sprint(i)))
		for pos, v := range Shuffle(seed, n) {
			counts[v][pos]++
		}
	}
	for v := range counts {
		for pos, c := range counts[v] {
			if math.Abs(float64(c)-runs/n) > 0.05*runs/n {
				t.Fatalf("%d at %d: %d times of %d", v, pos, c, runs)
			}
		}
	}
}

func TestLowerMedian(t *testing.T) {
	for _, c := range []struct {
		in   []uint64
		want uint64
	}{{nil, 0}, {[]uint64{7}, 7}, {[]uint64{9, 1}, 1}, {[]uint64{3, 1, 2}, 2}, {[]uint64{40, 10, 30, 20}, 20}, {[]uint64{5, 5, 1, 9, 9}, 5}} {
		if got := LowerMedian(c.in); got != c.want {
			t.Errorf("%v: %d, want %d", c.in, got, c.want)
		}
	}
}

// TestMean: the mean rounds down and does not overflow, whatever the
// values.
func TestMean(t *testing.T) {
	const top = math.MaxUint64
	for _, c := range []struct {
		in   []uint64
		want uint64
	}{{nil, 0}, {[]uint64{7}, 7}, {[]uint64{1, 2}, 1}, {[]uint64{10, 10, 71}, 30}, {[]uint64{top, top}, top},
		{[]uint64{top, 1}, 1 << 63}, {[]uint64{top, top, top, 0}, top - top/4 - 1}} {
		if got := Mean(c.in); got != c.want {
			t.Errorf("Mean(%v) = %d, want %d", c.in, got, c.want)
		}
	}
}

// TestWish: the aggregate the domain chooses, clamped to its bounds now
// (which a set_param may have moved since the wishes were given).
func TestWish(t *testing.T) {
	p := DefaultParams()
	r := &Roster{}
	for _, m := range []uint64{10, 10, 70} {
		r.Participants = append(r.Participants, Participant{Desire: tx.Desire{Meeting: m * Minute, Publicity: Hour, Capacity: uint16(m / 5)}})
	}
	if got := meetingWish(&p, r); got != 30*Minute {
		t.Errorf("mean meeting %d", got)
	}
	if got := capacityWish(&p, r); got != 6 {
		t.Errorf("mean capacity %d", got)
	}
	p[Aggregate] = AggregateMedian
	if got := meetingWish(&p, r); got != 10*Minute {
		t.Errorf("median meeting %d", got)
	}
	p[MeetingMin], p[CapacityMin] = 15*Minute, 3
	if got := meetingWish(&p, r); got != 15*Minute {
		t.Errorf("the median meeting under meeting_min: %d", got)
	}
	if got := capacityWish(&p, r); got != 3 {
		t.Errorf("the median capacity under capacity_min: %d", got)
	}
	p[Aggregate], p[MeetingMax], p[CapacityMax] = AggregateMean, 20*Minute, 4
	if got, c := meetingWish(&p, r), capacityWish(&p, r); got != 20*Minute || c != 4 {
		t.Errorf("the mean over the maxima: %d, %d", got, c)
	}
}

func TestMinPublicity(t *testing.T) {
	p := DefaultParams()
	p[PublicityUnit], p[PublicityFloor], p[PublicityCeiling] = Hour, 30*Minute, 5*Hour
	for _, c := range []struct {
		members    uint64
		supporters uint32
		want       uint64
	}{
		{10, 10, Hour}, {10, 5, 2 * Hour}, {10, 4, 150 * Minute}, {10, 3, 3*Hour + 20*Minute}, {10, 1, 5 * Hour},
		{1, 2, 30 * Minute}, {math.MaxUint64, 1, 5 * Hour}, {10, 0, 5 * Hour},
	} {
		if got := MinPublicity(&p, c.members, c.supporters); got != c.want {
			t.Errorf("%d members, %d supporters: %d, want %d", c.members, c.supporters, got, c.want)
		}
	}
}

func TestParams(t *testing.T) {
	p := DefaultParams()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	for i, d := range ParamDefs {
		if j, ok := ParamIndex(d.Name); !ok || j != i {
			t.Fatalf("%s", d.Name)
		}
		// The text form writes each value as its parameter is.
		if u := tx.ParamUnitOf(d.Name); u != d.Unit {
			t.Errorf("%s: the text form's unit %d, the parameter's %d", d.Name, u, d.Unit)
		}
		if err := checkParam(i, d.Default); err != nil {
			t.Errorf("%s: its default: %v", d.Name, err)
		}
	}
	if p[Aggregate] != AggregateMean || p[GatherMin] != Hour {
		t.Fatalf("defaults: aggregate %d, gather_min %d", p[Aggregate], p[GatherMin])
	}
	p[GatherMin] = p[QueueExpiry] - 1
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	p[GatherMin] = p[QueueExpiry]
	if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "gather_min = 30d is not below queue_expiry = 30d") {
		t.Fatalf("gather_min = queue_expiry: %v", err)
	}
	p = DefaultParams()
	p[CapacityMin] = 9
	p[CapacityMax] = 8
	if p.Validate() == nil {
		t.Fatal("capacity_min above capacity_max accepted")
	}
	if _, err := GenesisRecords([]DomainSpec{{Name: "x", Params: map[string]uint64{"nope": 1}}}, 0); err == nil {
		t.Fatal("an unknown genesis parameter accepted")
	}
	if _, err := GenesisRecords([]DomainSpec{{Name: "Bad Name"}}, 0); err == nil {
		t.Fatal("a bad domain name accepted")
	}
	if _, err := GenesisRecords([]DomainSpec{{Name: "x"}, {Name: "x"}}, 0); err == nil {
		t.Fatal("a domain listed twice accepted")
	}
}

// records returns one record of each kind, filled in.
func records() []interface{ Marshal() []byte } {
	id := memberID(3)
	return []interface{ Marshal() []byte }{
		&Registry{NextID: 7, Supply: 99, NextDomain: 3, Domains: []string{"general", "tech"}},
		&Domain{Name: "general", Serial: 2, Params: DefaultParams(), Total: 3, Queue: []Queued{{2, 100, 4}}, Active: []Active{{1, 500}}},
		&Page{IDs: []uint64{1, 2, 3}},
		&Text{Kind: KindChallengeTopic, Author: id, Created: 5, Domain: "general", Title: "T", Body: "B\nC", Target: memberID(4)},
		&Proposal{ID: 1, Domain: "tech", State: StatePublicity, Options: 3, Participants: 5, Comments: 2, Activated: 10, Deadline: 20, Window: 30,
			Capacity: 4, Round: 2, Winner: 1, Supporters: 3, Members: 9, PublicityMin: 40, Publicity: 50, Freezes: 1, Freezer: id,
			Lift: 1, Cancel: 2, Remaining: 60, Closed: 0, Reason: "r"},
		&OptionRecord{Author: id, Added: 3, Option: tx.Option{Title: "Pay", Actions: []tx.Action{&tx.Pay{To: id, Amount: 5}, &tx.RenameDomain{Name: "a", NewName: "b"}}}},
		&Roster{Participants: []Participant{{Member: id, Desire: desire(), Joined: 4}}},
		&Round{Number: 1, Start: 1, End: 2, Plenary: false, Options: []uint8{0, 2}, Meetings: 2, Assign: []uint16{1, 0, 1}, Ended: true, Winners: []uint8{2}},
		&Meeting{Members: []uint16{0, 2}, Ballots: 2, Tally: []uint16{1, 2}, Winner: 2},
		&Ballot{Meeting: 1, Time: 5, Approve: []uint8{0, 2}},
		&ReviewBallot{Lift: true, Time: 6},
		&CommentRecord{Author: id, Time: 7, Text: "hi"},
		&Executors{List: []Executor{{Role: "auditor", Member: id, Proposal: 1, Since: 1, Until: 2}, {Role: "clerk", Member: id}}},
		&ChallengeRecord{Proposal: 4},
	}
}

func decodeAny(b []byte) (interface{ Marshal() []byte }, error) {
	if len(b) == 0 {
		return nil, errors.New("empty")
	}
	switch b[0] {
	case KindRegistry:
		return UnmarshalRegistry(b)
	case KindDomain:
		return UnmarshalDomain(b)
	case KindPage:
		return UnmarshalPage(b)
	case KindText:
		return UnmarshalText(b)
	case KindProposal:
		return UnmarshalProposal(b)
	case KindOption:
		return UnmarshalOption(b)
	case KindRoster:
		return UnmarshalRoster(b)
	case KindRound:
		return UnmarshalRound(b)
	case KindMeeting:
		return UnmarshalMeeting(b)
	case KindBallot:
		return UnmarshalBallot(b)
	case KindReview:
		return UnmarshalReviewBallot(b)
	case KindComment:
		return UnmarshalComment(b)
	case KindExecutors:
		return UnmarshalExecutors(b)
	case KindChallenge:
		return UnmarshalChallenge(b)
	}
	return nil, errors.New("unknown kind")
}

func TestRecordsRoundTrip(t *testing.T) {
	for _, r := range records() {
		raw := r.Marshal()
		got, err := decodeAny(raw)
		if err != nil {
			t.Fatalf("%T: %v", r, err)
		}
		if !bytes.Equal(got.Marshal(), raw) {
			t.Fatalf("%T: re-encoding differs", r)
		}
		if _, err := decodeAny(append(bytes.Clone(raw), 0)); err == nil {
			t.Fatalf("%T: trailing byte accepted", r)
		}
		if _, err := decodeAny(raw[:len(raw)-1]); err == nil {
			t.Fatalf("%T: truncation accepted", r)
		}
	}
	// Some non-canonical values.
	bad := map[string][]byte{
		"ballot not increasing": (&Ballot{Approve: []uint8{2, 1}}).Marshal(),
		"plain with target":     (&Text{Kind: KindPlain, Domain: "general", Target: memberID(1)}).Marshal(),
		"executors unsorted":    (&Executors{List: []Executor{{Role: "b"}, {Role: "a"}}}).Marshal(),
		"winners before end":    (&Round{Number: 1, Options: []uint8{0}, Meetings: 1, Assign: []uint16{0}, Winners: []uint8{0}}).Marshal(),
		"tally above ballots":   (&Meeting{Members: []uint16{0}, Ballots: 0, Tally: []uint16{1}}).Marshal(),
		"bad params":            (&Domain{Name: "general"}).Marshal(),
		"state 0":               (&Proposal{Domain: "general", Winner: NoWinner}).Marshal(),
		"state 12":              (&Proposal{Domain: "general", State: StateDropped + 1, Winner: NoWinner}).Marshal(),
		"proposal no domain":    (&Proposal{State: StateQueued, Winner: NoWinner}).Marshal(),
		"gather not below expiry": func() []byte {
			d := &Domain{Name: "general", Params: DefaultParams()}
			d.Params[GatherMin] = d.Params[QueueExpiry]
			return d.Marshal()
		}(),
		"aggregate 2": func() []byte {
			d := &Domain{Name: "general", Params: DefaultParams()}
			d.Params[Aggregate] = 2
			return d.Marshal()
		}(),
	}
	for name, raw := range bad {
		if _, err := decodeAny(raw); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzRecords(f *testing.F) {
	for _, r := range records() {
		f.Add(r.Marshal())
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		r, err := decodeAny(raw)
		if err != nil {
			return
		}
		if !bytes.Equal(r.Marshal(), raw) {
			t.Fatalf("%T: a non-canonical encoding accepted", r)
		}
	})
}

// TestLimits fills each bounded list to its limit: the next one is refused
// with CodeLimit (in a block, orgapp drops a failed transaction's writes).
// The full proposal then splits into the most sub-meetings there can be.
func TestLimits(t *testing.T) {
	s := newStore(t, MaxParticipants+2, map[string]uint64{"max_queued": 2, "gather_min": 0})
	env := Env{Height: 2, Time: 1000}
	opts := make([]tx.Option, tx.MaxOptions)
	for i := range opts {
		opts[i] = tx.Option{Title: fmt.Sprint(i)}
	}
	small := tx.Desire{Meeting: Hour, Publicity: Hour, Capacity: 2}
	mustApply(t, s, env, memberID(0), &tx.Create{Domain: "general", Title: "P", Options: opts, Desire: small})
	for i := 1; i < MaxParticipants; i++ {
		mustApply(t, s, env, memberID(i), &tx.Join{Proposal: 1, Desire: small})
	}
	refuse := func(what string, sender crypto.ID, b tx.Body, code uint32, text string) {
		t.Helper()
		_, err := Apply(s.clone(), env, sender, b)
		var ge *Error
		if !errors.As(err, &ge) || ge.Code != code || !strings.Contains(ge.Msg, text) {
			t.Fatalf("%s: %v, want code %d %q", what, err, code, text)
		}
	}
	refuse("participant", memberID(MaxParticipants), &tx.Join{Proposal: 1, Desire: desire()}, CodeLimit, "1024 participants, the limit")
	refuse("option", memberID(0), &tx.AddOption{Proposal: 1, Option: tx.Option{Title: "one more"}}, CodeLimit, "32 options, the limit")
	for i := 0; i < MaxComments; i++ {
		mustApply(t, s, env, memberID(i%5), &tx.Comment{Proposal: 1, Text: "c"})
	}
	refuse("comment", memberID(0), &tx.Comment{Proposal: 1, Text: "c"}, CodeLimit, "1024 comments, the limit")
	// Queue: proposal 1 is queued until EndBlock; two fit.
	mustApply(t, s, env, memberID(1), &tx.Create{Domain: "general", Title: "Q", Options: opts[:1], Desire: desire()})
	refuse("queue", memberID(2), &tx.Create{Domain: "general", Title: "R", Options: opts[:1], Desire: desire()}, CodeLimit, "its limit (max_queued)")
	// The roster's record stays under the tree's value limit.
	if raw, _, _ := s.Get(RosterKey(1)); len(raw) > 64<<10 {
		t.Fatalf("a full roster is %d bytes", len(raw))
	}
	if err := EndBlock(s, env); err != nil {
		t.Fatal(err)
	}
	p, _ := getProposal(s, 1)
	if p.State != StateMeeting || p.Participants != MaxParticipants {
		t.Fatalf("%+v", p)
	}
	// 1024 participants of capacity 2: 512 sub-meetings of 2, 32 options.
	if err := EndBlock(s, Env{Height: 3, Time: 1000 + Hour}); err != nil {
		t.Fatal(err)
	}
	round, _ := getRound(s, 1, 1)
	if round.Meetings != 512 || len(round.Marshal()) > 64<<10 {
		t.Fatalf("%d meetings, %d bytes", round.Meetings, len(round.Marshal()))
	}
	for m := uint16(0); m < round.Meetings; m++ {
		if mt, err := getMeeting(s, 1, 1, m); err != nil || len(mt.Members) != 2 || len(mt.Tally) != tx.MaxOptions {
			t.Fatalf("meeting %d: %+v %v", m, mt, err)
		}
	}
}

// TestSmallOrderNodeAndLastNode: a small-order key is never a node (the
// decoder refuses it too), and the last node stays.
func TestSmallOrderNodeAndLastNode(t *testing.T) {
	s := newStore(t, 2, nil)
	var k crypto.PublicKey
	k[0] = 1 // the identity point: small order
	s.Put(state.NodesKey, (&state.Nodes{Nodes: []state.Node{{Key: k}}}).Marshal(), 0)
	err := execAction(newBuffer(s), Env{}, 1, &tx.AddNode{Key: k})
	if !strings.Contains(fmt.Sprint(err), "small order") {
		t.Fatalf("a small-order node: %v", err)
	}
	err = execAction(newBuffer(s), Env{}, 1, &tx.RemoveNode{Key: k})
	if !strings.Contains(fmt.Sprint(err), "last node") {
		t.Fatalf("the last node: %v", err)
	}
}

// TestTermination runs random proposals through random ballots, with
// members joining late (during the meeting and the rounds): each ends
// (published or without votes) within MaxRounds rounds, every round but a
// plenary or the last eliminates an option, each sub-meeting's winner has
// the most approvals there (ties: the lowest index), a late joiner is in
// no sub-meeting of the round it joined in and in the next round's draw.
func TestTermination(t *testing.T) {
	for seed := uint64(0); seed < 150; seed++ {
		rng := rand.New(rand.NewPCG(seed, 3))
		n := 2 + rng.IntN(60)
		s := newStore(t, n, map[string]uint64{"gather_min": 0, "aggregate": seed % 2})
		now := int64(1000)
		env := func() Env {
			return Env{Height: uint64(now), Time: now, Seed: sha256.Sum256([]byte(fmt.Sprint(seed, now)))}
		}
		k := 1 + rng.IntN(tx.MaxOptions)
		opts := make([]tx.Option, k)
		for i := range opts {
			opts[i] = tx.Option{Title: fmt.Sprint(i)}
		}
		d := desire()
		d.Capacity = uint16(2 + rng.IntN(6))
		mustApply(t, s, env(), memberID(0), &tx.Create{Domain: "general", Title: "P", Options: opts, Desire: d})
		joined := 1 // members 0 … joined−1 are participants
		join := func(upTo int) {
			for ; joined < upTo; joined++ {
				d := tx.Desire{Meeting: Minute * uint64(1+rng.IntN(90)), Publicity: Hour, Capacity: uint16(2 + rng.IntN(6))}
				mustApply(t, s, env(), memberID(joined), &tx.Join{Proposal: 1, Desire: d})
			}
		}
		join(1 + rng.IntN(n))
		abstain := rng.IntN(4) == 0
		for step := 0; ; step++ {
			if err := EndBlock(s, env()); err != nil {
				t.Fatal(err)
			}
			p, _ := getProposal(s, 1)
			if p.State != StateMeeting && p.State != StateVoting {
				if p.State != StatePublicity && p.State != StateNoVotes {
					t.Fatalf("seed %d: ended %s", seed, p.State)
				}
				checkRounds(t, s, seed, p)
				break
			}
			if p.State == StateVoting {
				round, _ := getRound(s, 1, p.Round)
				if len(round.Assign) != joined {
					t.Fatalf("seed %d: round %d draws %d of %d participants", seed, p.Round, len(round.Assign), joined)
				}
				for pos := 0; pos < joined; pos++ {
					if abstain && rng.IntN(3) == 0 {
						continue
					}
					var approve []uint8
					for _, o := range round.Options {
						if rng.IntN(3) == 0 {
							approve = append(approve, o)
						}
					}
					if len(approve) == 0 {
						approve = []uint8{round.Options[rng.IntN(len(round.Options))]}
					}
					mustApply(t, s, env(), memberID(pos), &tx.Vote{Proposal: 1, Round: p.Round, Meeting: round.Assign[pos], Approve: approve})
				}
			}
			// Some join before the deadline, in the middle of the phase.
			if joined < n && rng.IntN(2) == 0 {
				now = (now + p.Deadline) / 2
				before := joined
				join(min(n, joined+1+rng.IntN(4)))
				q, _ := getProposal(s, 1)
				if q.Deadline < now {
					t.Fatalf("seed %d: a join moved the deadline to %d, before the block's time %d", seed, q.Deadline, now)
				}
				if p.State == StateVoting {
					// In the round it joined in, a late joiner is in no
					// sub-meeting (unless the joins ended the round now).
					want, text := uint32(CodeNotPermitted), "it votes from round"
					if q.Deadline == now {
						want, text = CodePhase, "ended at"
					}
					_, err := Apply(s.clone(), env(), memberID(before), &tx.Vote{Proposal: 1, Round: p.Round, Approve: []uint8{0}})
					var ge *Error
					if !errors.As(err, &ge) || ge.Code != want || !strings.Contains(ge.Msg, text) {
						t.Fatalf("seed %d: a late joiner's vote in the round it joined in: %v", seed, err)
					}
				}
				p = q
			}
			now = p.Deadline
			if step > 4*MaxRounds {
				t.Fatalf("seed %d: no end after %d steps", seed, step)
			}
		}
	}
}

func checkRounds(t *testing.T, s Store, seed uint64, p *Proposal) {
	t.Helper()
	var prev *Round
	for r := uint8(1); r <= p.Round; r++ {
		round, _ := getRound(s, 1, r)
		if prev != nil && !(len(round.Options) < len(prev.Options) || round.Plenary && len(round.Options) == len(prev.Options)) {
			t.Fatalf("seed %d: round %d has %v after %v", seed, r, round.Options, prev.Options)
		}
		if prev != nil && prev.Plenary {
			t.Fatalf("seed %d: a round after a plenary", seed)
		}
		for m := uint16(0); m < round.Meetings; m++ {
			mt, _ := getMeeting(s, 1, r, m)
			if mt.Ballots == 0 {
				if mt.Winner != NoWinner {
					t.Fatalf("seed %d: a winner without ballots", seed)
				}
				continue
			}
			best := 0
			for i, c := range mt.Tally {
				if c > mt.Tally[best] {
					best = i
				}
			}
			if mt.Winner != round.Options[best] {
				t.Fatalf("seed %d: round %d meeting %d tally %v winner %d", seed, r, m, mt.Tally, mt.Winner)
			}
		}
		prev = round
	}
	if p.Round > MaxRounds {
		t.Fatalf("seed %d: %d rounds", seed, p.Round)
	}
}

// TestJoinNeverSetsADeadlineBeforeTheBlock: a join whose wishes shorten
// the current phase below the time already spent ends it at the join's
// block, never before: in the proposal, its domain's index and (voting)
// the round's record.
func TestJoinNeverSetsADeadlineBeforeTheBlock(t *testing.T) {
	s := newStore(t, 4, map[string]uint64{"gather_min": 0, "meeting_min": Second})
	long := tx.Desire{Meeting: Hour, Publicity: Hour, Capacity: 8}
	short := tx.Desire{Meeting: Second, Publicity: Hour, Capacity: 8}
	mustApply(t, s, Env{Time: 0}, memberID(0), &tx.Create{Domain: "general", Title: "P", Options: []tx.Option{{Title: "A"}}, Desire: long})
	if err := EndBlock(s, Env{Time: 0}); err != nil {
		t.Fatal(err)
	}
	check := func(phase State, want int64) {
		t.Helper()
		p, _ := getProposal(s, 1)
		d, _ := getDomain(s, "general")
		if p.State != phase || p.Deadline != want || len(d.Active) != 1 || d.Active[0].Deadline != want {
			t.Fatalf("%s, deadline %d, indexed %+v; want %s until %d", p.State, p.Deadline, d.Active, phase, want)
		}
		if phase == StateVoting {
			if r, _ := getRound(s, 1, p.Round); r.End != want {
				t.Fatalf("round %d ends at %d, want %d", p.Round, r.End, want)
			}
		}
	}
	// The meeting: 1h; at 50m a join makes the mean 30m0.5s: it ends now.
	mustApply(t, s, Env{Time: 50 * Minute}, memberID(1), &tx.Join{Proposal: 1, Desire: short})
	check(StateMeeting, 50*Minute)
	if err := EndBlock(s, Env{Time: 50 * Minute}); err != nil {
		t.Fatal(err)
	}
	// Rounds of 30m0.5s from 50m; at 75m a join makes them 20m0.67s
	// (rounded down): round 1 ends now, not at 70m0.67s.
	check(StateVoting, 50*Minute+30*Minute+500)
	mustApply(t, s, Env{Time: 75 * Minute}, memberID(2), &tx.Join{Proposal: 1, Desire: short})
	check(StateVoting, 75*Minute)
}
