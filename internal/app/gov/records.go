package gov

import (
	"fmt"

	"github.com/mass-consensus/mass/internal/app/state"
	"github.com/mass-consensus/mass/internal/app/tx"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/wire"
)

// Limits (docs/GOVERNANCE.md, "Limits").
const (
	MaxDomains      = 32   // domains
	MaxActive       = 16   // active proposals of a domain (the active_limit's bound)
	MaxQueue        = 64   // queued proposals of a domain (the max_queued's bound)
	MaxParticipants = 1024 // participants of a proposal
	MaxComments     = 1024 // comments of a proposal
	MaxFreezes      = 4    // freezes of a proposal
	MaxExecutors    = 64   // executor roles
	PageSize        = 256  // proposal IDs per list page
	MaxReason       = 512  // bytes of a closed proposal's reason
	MaxSteps        = 64   // deadlines of active proposals processed per block
	// MaxRounds bounds the rounds of a proposal: each round but a plenary
	// eliminates an option, and a plenary is the last (see EndBlock).
	MaxRounds = tx.MaxOptions + 1
	// NoWinner marks a proposal or sub-meeting without a winner.
	NoWinner = 0xff
)

// Record kinds: the first byte of a governance record's value.
const (
	KindRegistry  = 0x10
	KindDomain    = 0x11
	KindPage      = 0x12
	KindText      = 0x13
	KindProposal  = 0x14
	KindOption    = 0x15
	KindRoster    = 0x16
	KindRound     = 0x17
	KindMeeting   = 0x18
	KindBallot    = 0x19
	KindReview    = 0x1a
	KindComment   = 0x1b
	KindExecutors = 0x1c
	KindChallenge = 0x1d
)

func reader(b []byte, kind uint8, what string) *wire.Reader {
	return wire.NewRecordReader(b, kind, what)
}

func done(r *wire.Reader, what string) error {
	if err := r.Done(); err != nil {
		return fmt.Errorf("%w: %s: %w", state.ErrMalformed, what, err)
	}
	return nil
}

func readIdent(r *wire.Reader, what string) string {
	s := string(r.Bytes(tx.MaxIdent, what))
	if r.Err() == nil && tx.CheckIdent(s) != nil {
		r.Fail(what + " is not an identifier")
	}
	return s
}

func readID(r *wire.Reader, what string) crypto.ID {
	var id crypto.ID
	copy(id[:], r.Raw(crypto.IDSize, what))
	return id
}

// Registry is the governance singleton: the next proposal ID, the total
// supply (genesis plus every mint: the sum at the root), the next domain's
// serial number and the domains in the order they were made.
type Registry struct {
	NextID     uint64
	Supply     uint64
	NextDomain uint32
	Domains    []string
}

// Marshal: 0x10 ‖ next:u64 ‖ supply:u64 ‖ next_domain:u32 ‖ count:u8 ‖
// name:bytes × count.
func (g *Registry) Marshal() []byte {
	w := wire.NewWriter(32 + 16*len(g.Domains))
	w.U8(KindRegistry)
	w.U64(g.NextID)
	w.U64(g.Supply)
	w.U32(g.NextDomain)
	w.U8(uint8(len(g.Domains)))
	for _, d := range g.Domains {
		w.Bytes([]byte(d))
	}
	return w.Finish()
}

// UnmarshalRegistry decodes the registry.
func UnmarshalRegistry(b []byte) (*Registry, error) {
	r := reader(b, KindRegistry, "the registry")
	g := &Registry{NextID: r.U64("next"), Supply: r.U64("supply"), NextDomain: r.U32("next domain")}
	n := int(r.U8("domains"))
	if n > MaxDomains {
		r.Fail("domains")
	}
	for i := 0; i < n && r.Err() == nil; i++ {
		g.Domains = append(g.Domains, readIdent(r, "domain"))
	}
	return g, done(r, "registry")
}

// Queued is a proposal in a domain's queue.
type Queued struct {
	ID           uint64
	Created      int64
	Participants uint16
}

// Active is an active proposal of a domain and its next deadline.
type Active struct {
	ID       uint64
	Deadline int64
}

// Domain is a domain (议题域): its name, its serial number (given when it
// was made, never reused: its list pages are filed under it, so they stay
// with it when it is renamed and stay provable when it is removed), its
// parameters, how many proposals it ever had (listed by pages), its queue
// (in creation order) and its active proposals (in activation order) with
// their deadlines, so that a block looks only at these.
type Domain struct {
	Name   string
	Serial uint32
	Params Params
	Total  uint64
	Queue  []Queued
	Active []Active
}

// Marshal: 0x11 ‖ name:bytes ‖ serial:u32 ‖ count:u8 (= 15) ‖ param:u64 ×
// count ‖ total:u64 ‖ queued:u8 ‖ (id:u64 ‖ created:i64 ‖
// participants:u16) × queued ‖ active:u8 ‖ (id:u64 ‖ deadline:i64) ×
// active.
func (d *Domain) Marshal() []byte {
	w := wire.NewWriter(176 + 18*len(d.Queue) + 16*len(d.Active))
	w.U8(KindDomain)
	w.Bytes([]byte(d.Name))
	w.U32(d.Serial)
	w.U8(NumParams)
	for _, v := range d.Params {
		w.U64(v)
	}
	w.U64(d.Total)
	w.U8(uint8(len(d.Queue)))
	for _, q := range d.Queue {
		w.U64(q.ID)
		w.I64(q.Created)
		w.U16(q.Participants)
	}
	w.U8(uint8(len(d.Active)))
	for _, a := range d.Active {
		w.U64(a.ID)
		w.I64(a.Deadline)
	}
	return w.Finish()
}

// UnmarshalDomain decodes a domain.
func UnmarshalDomain(b []byte) (*Domain, error) {
	r := reader(b, KindDomain, "a domain")
	d := &Domain{Name: readIdent(r, "name"), Serial: r.U32("serial")}
	if n := r.U8("parameters"); r.Err() == nil && n != NumParams {
		r.Fail("parameter count")
	}
	for i := range d.Params {
		d.Params[i] = r.U64("parameter")
	}
	d.Total = r.U64("total")
	n := int(r.U8("queued"))
	if n > MaxQueue {
		r.Fail("queued")
	}
	for i := 0; i < n && r.Err() == nil; i++ {
		d.Queue = append(d.Queue, Queued{ID: r.U64("id"), Created: r.I64("created"), Participants: r.U16("participants")})
	}
	n = int(r.U8("active"))
	if n > MaxActive {
		r.Fail("active")
	}
	for i := 0; i < n && r.Err() == nil; i++ {
		d.Active = append(d.Active, Active{ID: r.U64("id"), Deadline: r.I64("deadline")})
	}
	if err := done(r, "domain"); err != nil {
		return nil, err
	}
	if err := d.Params.Validate(); err != nil {
		return nil, fmt.Errorf("%w: domain %s: %w", state.ErrMalformed, d.Name, err)
	}
	return d, nil
}

// Page is a page of a domain's list of proposals: IDs in creation order.
type Page struct {
	IDs []uint64
}

// Marshal: 0x12 ‖ count:u16 (1–256) ‖ id:u64 × count.
func (p *Page) Marshal() []byte {
	w := wire.NewWriter(3 + 8*len(p.IDs))
	w.U8(KindPage)
	w.U16(uint16(len(p.IDs)))
	for _, id := range p.IDs {
		w.U64(id)
	}
	return w.Finish()
}

// UnmarshalPage decodes a list page.
func UnmarshalPage(b []byte) (*Page, error) {
	r := reader(b, KindPage, "a page")
	p := &Page{}
	n := int(r.U16("count"))
	if n == 0 || n > PageSize {
		r.Fail("count")
	}
	for i := 0; i < n && r.Err() == nil; i++ {
		p.IDs = append(p.IDs, r.U64("id"))
	}
	return p, done(r, "page")
}

// Kinds of proposals.
const (
	KindPlain          = 0 // a proposal of a member
	KindChallengeTopic = 1 // a challenge: options "remove" (0) and "keep" (1)
)

// Text is what a proposal is about; it never changes.
type Text struct {
	Kind    uint8
	Author  crypto.ID
	Created int64
	Domain  string
	Title   string
	Body    string
	Target  crypto.ID // a challenge's target; zero otherwise
}

// Marshal: 0x13 ‖ kind:u8 ‖ author:[20] ‖ created:i64 ‖ domain:bytes ‖
// title:bytes ‖ body:bytes ‖ target:[20].
func (t *Text) Marshal() []byte {
	w := wire.NewWriter(96 + len(t.Title) + len(t.Body))
	w.U8(KindText)
	w.U8(t.Kind)
	w.Raw(t.Author[:])
	w.I64(t.Created)
	w.Bytes([]byte(t.Domain))
	w.Bytes([]byte(t.Title))
	w.Bytes([]byte(t.Body))
	w.Raw(t.Target[:])
	return w.Finish()
}

// UnmarshalText decodes a proposal's text.
func UnmarshalText(b []byte) (*Text, error) {
	r := reader(b, KindText, "a text")
	t := &Text{Kind: r.U8("kind"), Author: readID(r, "author"), Created: r.I64("created")}
	t.Domain = readIdent(r, "domain")
	t.Title = string(r.Bytes(tx.MaxTitle, "title"))
	t.Body = string(r.Bytes(tx.MaxBody, "body"))
	t.Target = readID(r, "target")
	if r.Err() == nil && (t.Kind > KindChallengeTopic || t.Kind == KindPlain && t.Target != (crypto.ID{})) {
		r.Fail("kind or target")
	}
	return t, done(r, "text")
}

// State is a proposal's phase.
type State uint8

// The phases: queued, then meeting (options and comments until the meeting
// deadline), voting (rounds), publicity (公示), review (a freeze under
// review); and how it closed.
const (
	StateQueued    State = 1
	StateMeeting   State = 2
	StateVoting    State = 3
	StatePublicity State = 4
	StateReview    State = 5
	StateExecuted  State = 6  // the winner's actions executed (or it had none)
	StateFailed    State = 7  // an action of the winner failed: nothing executed
	StateCancelled State = 8  // a review cancelled it
	StateExpired   State = 9  // it waited longer than the queue expiry
	StateNoVotes   State = 10 // a round ended without a ballot
	StateDropped   State = 11 // it was queued in a domain that was removed
)

var stateNames = map[State]string{
	StateQueued: "queued", StateMeeting: "meeting", StateVoting: "voting", StatePublicity: "publicity",
	StateReview: "review", StateExecuted: "executed", StateFailed: "failed", StateCancelled: "cancelled",
	StateExpired: "expired", StateNoVotes: "no_votes", StateDropped: "dropped",
}

func (s State) String() string {
	if n, ok := stateNames[s]; ok {
		return n
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// Closed says whether the proposal is over.
func (s State) Closed() bool { return s >= StateExecuted }

// Proposal is a proposal's changing state.
type Proposal struct {
	ID uint64
	// Domain is the name of its domain: the one it was created in, under
	// that domain's current name while the proposal is open (a rename
	// updates it), and the name it had when the proposal closed after.
	Domain       string
	State        State
	Options      uint8  // options so far
	Participants uint16 // the roster's size
	Comments     uint32
	Activated    int64  // when it left the queue (0 before)
	Deadline     int64  // the end of the current phase (0 when queued or closed)
	Window       uint64 // the meeting window in force (ms): the aggregate of the desired ones
	Capacity     uint16 // the sub-meetings' bound, from the first round: the aggregate desired capacity
	Round        uint8  // the current or last round (0 before voting)
	Winner       uint8  // the final winner's option index, or NoWinner
	Supporters   uint32 // approvals of the winner in the final round
	Members      uint64 // members when publicity began
	PublicityMin uint64 // clamp(unit × members / supporters, floor, ceiling)
	Publicity    uint64 // max(PublicityMin, aggregate desired publicity window)
	Freezes      uint8  // freezes so far
	Freezer      crypto.ID
	Lift         uint32 // review ballots of the current freeze
	Cancel       uint32
	Remaining    uint64 // publicity left when frozen (ms)
	Closed       int64
	Reason       string // why it closed as it did
}

// Marshal: 0x14 ‖ id:u64 ‖ domain:bytes ‖ state:u8 ‖ options:u8 ‖ participants:u16 ‖
// comments:u32 ‖ activated:i64 ‖ deadline:i64 ‖ window:u64 ‖ capacity:u16 ‖
// round:u8 ‖ winner:u8 ‖ supporters:u32 ‖ members:u64 ‖ publicity_min:u64 ‖
// publicity:u64 ‖ freezes:u8 ‖ freezer:[20] ‖ lift:u32 ‖ cancel:u32 ‖
// remaining:u64 ‖ closed:i64 ‖ reason:bytes (≤ 512).
func (p *Proposal) Marshal() []byte {
	w := wire.NewWriter(160 + len(p.Reason))
	w.U8(KindProposal)
	w.U64(p.ID)
	w.Bytes([]byte(p.Domain))
	w.U8(uint8(p.State))
	w.U8(p.Options)
	w.U16(p.Participants)
	w.U32(p.Comments)
	w.I64(p.Activated)
	w.I64(p.Deadline)
	w.U64(p.Window)
	w.U16(p.Capacity)
	w.U8(p.Round)
	w.U8(p.Winner)
	w.U32(p.Supporters)
	w.U64(p.Members)
	w.U64(p.PublicityMin)
	w.U64(p.Publicity)
	w.U8(p.Freezes)
	w.Raw(p.Freezer[:])
	w.U32(p.Lift)
	w.U32(p.Cancel)
	w.U64(p.Remaining)
	w.I64(p.Closed)
	w.Bytes([]byte(p.Reason))
	return w.Finish()
}

// UnmarshalProposal decodes a proposal's record.
func UnmarshalProposal(b []byte) (*Proposal, error) {
	r := reader(b, KindProposal, "a proposal")
	p := &Proposal{ID: r.U64("id"), Domain: readIdent(r, "domain")}
	p.State, p.Options, p.Participants = State(r.U8("state")), r.U8("options"), r.U16("participants")
	p.Comments = r.U32("comments")
	p.Activated = r.I64("activated")
	p.Deadline = r.I64("deadline")
	p.Window = r.U64("window")
	p.Capacity = r.U16("capacity")
	p.Round = r.U8("round")
	p.Winner = r.U8("winner")
	p.Supporters = r.U32("supporters")
	p.Members = r.U64("members")
	p.PublicityMin = r.U64("publicity min")
	p.Publicity = r.U64("publicity")
	p.Freezes = r.U8("freezes")
	p.Freezer = readID(r, "freezer")
	p.Lift = r.U32("lift")
	p.Cancel = r.U32("cancel")
	p.Remaining = r.U64("remaining")
	p.Closed = r.I64("closed")
	p.Reason = string(r.Bytes(MaxReason, "reason"))
	if r.Err() == nil && (p.State < StateQueued || p.State > StateDropped || p.Options > tx.MaxOptions ||
		p.Participants > MaxParticipants || p.Comments > MaxComments || p.Round > MaxRounds || p.Freezes > MaxFreezes ||
		p.Winner != NoWinner && p.Winner >= p.Options) {
		r.Fail("a field out of range")
	}
	return p, done(r, "proposal")
}

// OptionRecord is an option of a proposal with who added it and when.
type OptionRecord struct {
	Author crypto.ID
	Added  int64
	Option tx.Option
}

// Marshal: 0x15 ‖ author:[20] ‖ added:i64 ‖ option (the transaction's
// encoding).
func (o *OptionRecord) Marshal() []byte {
	w := wire.NewWriter(256)
	w.U8(KindOption)
	w.Raw(o.Author[:])
	w.I64(o.Added)
	o.Option.MarshalTo(w)
	return w.Finish()
}

// UnmarshalOption decodes an option's record.
func UnmarshalOption(b []byte) (*OptionRecord, error) {
	r := reader(b, KindOption, "an option")
	o := &OptionRecord{Author: readID(r, "author"), Added: r.I64("added")}
	if r.Err() == nil {
		opt, err := tx.ReadOption(r)
		if err != nil && r.Err() == nil {
			return nil, fmt.Errorf("%w: option: %w", state.ErrMalformed, err)
		}
		o.Option = opt
	}
	return o, done(r, "option")
}

// Participant is a member who joined a proposal, with their desire.
type Participant struct {
	Member crypto.ID
	Desire tx.Desire
	Joined int64
}

// Roster is a proposal's participants in the order they joined; a
// participant's position in it is how rounds name them. A round names the
// positions the roster had when it was drawn: one who joined during a
// round is in none of its sub-meetings, and in the next round's draw.
type Roster struct {
	Participants []Participant
}

// Marshal: 0x16 ‖ count:u16 ‖ (member:[20] ‖ meeting:u64 ‖ publicity:u64 ‖
// capacity:u16 ‖ joined:i64) × count.
func (ro *Roster) Marshal() []byte {
	w := wire.NewWriter(3 + 46*len(ro.Participants))
	w.U8(KindRoster)
	w.U16(uint16(len(ro.Participants)))
	for _, p := range ro.Participants {
		w.Raw(p.Member[:])
		w.U64(p.Desire.Meeting)
		w.U64(p.Desire.Publicity)
		w.U16(p.Desire.Capacity)
		w.I64(p.Joined)
	}
	return w.Finish()
}

// UnmarshalRoster decodes a roster.
func UnmarshalRoster(b []byte) (*Roster, error) {
	r := reader(b, KindRoster, "a roster")
	ro := &Roster{}
	n := int(r.U16("count"))
	if n == 0 || n > MaxParticipants {
		r.Fail("count")
	}
	for i := 0; i < n && r.Err() == nil; i++ {
		p := Participant{Member: readID(r, "member")}
		p.Desire = tx.Desire{Meeting: r.U64("meeting"), Publicity: r.U64("publicity"), Capacity: r.U16("capacity")}
		p.Joined = r.I64("joined")
		ro.Participants = append(ro.Participants, p)
	}
	return ro, done(r, "roster")
}

// Position returns a member's position in the roster, or -1.
func (ro *Roster) Position(id crypto.ID) int {
	for i, p := range ro.Participants {
		if p.Member == id {
			return i
		}
	}
	return -1
}

// Round is a round of voting: its window, its seed, the options voted on
// (ascending indexes), how many sub-meetings and which one each roster
// position is in; when it ended, the distinct winners of its sub-meetings.
type Round struct {
	Number   uint8
	Start    int64
	End      int64
	Seed     [32]byte
	Plenary  bool
	Options  []uint8
	Meetings uint16
	Assign   []uint16
	Ended    bool
	Winners  []uint8
}

// Marshal: 0x17 ‖ number:u8 ‖ start:i64 ‖ end:i64 ‖ seed:[32] ‖ plenary:u8 ‖
// count:u8 ‖ option:u8 × count ‖ meetings:u16 ‖ positions:u16 ‖
// meeting:u16 × positions ‖ ended:u8 ‖ winners:u8 ‖ option:u8 × winners.
func (ro *Round) Marshal() []byte {
	w := wire.NewWriter(96 + len(ro.Options) + 2*len(ro.Assign) + len(ro.Winners))
	w.U8(KindRound)
	w.U8(ro.Number)
	w.I64(ro.Start)
	w.I64(ro.End)
	w.Raw(ro.Seed[:])
	w.Bool(ro.Plenary)
	w.U8(uint8(len(ro.Options)))
	w.Raw(ro.Options)
	w.U16(ro.Meetings)
	w.U16(uint16(len(ro.Assign)))
	for _, m := range ro.Assign {
		w.U16(m)
	}
	w.Bool(ro.Ended)
	w.U8(uint8(len(ro.Winners)))
	w.Raw(ro.Winners)
	return w.Finish()
}

// UnmarshalRound decodes a round.
func UnmarshalRound(b []byte) (*Round, error) {
	r := reader(b, KindRound, "a round")
	ro := &Round{Number: r.U8("number"), Start: r.I64("start"), End: r.I64("end")}
	copy(ro.Seed[:], r.Raw(32, "seed"))
	ro.Plenary = r.Bool("plenary")
	n := int(r.U8("options"))
	if n == 0 || n > tx.MaxOptions {
		r.Fail("options")
	}
	ro.Options = increasing(r, n, "option")
	ro.Meetings = r.U16("meetings")
	np := int(r.U16("positions"))
	if np > MaxParticipants || ro.Meetings == 0 || int(ro.Meetings) > max(np, 1) {
		r.Fail("positions or meetings")
	}
	for i := 0; i < np && r.Err() == nil; i++ {
		m := r.U16("meeting")
		if m >= ro.Meetings {
			r.Fail("meeting")
		}
		ro.Assign = append(ro.Assign, m)
	}
	ro.Ended = r.Bool("ended")
	n = int(r.U8("winners"))
	if n > len(ro.Options) || n > 0 && !ro.Ended {
		r.Fail("winners")
	}
	ro.Winners = increasing(r, n, "winner")
	return ro, done(r, "round")
}

// increasing reads n strictly increasing bytes below MaxOptions.
func increasing(r *wire.Reader, n int, what string) []uint8 {
	out := []uint8{}
	for i := 0; i < n && r.Err() == nil; i++ {
		x := r.U8(what)
		if x >= tx.MaxOptions || i > 0 && x <= out[i-1] {
			r.Fail(what + "s not strictly increasing below 32")
		}
		out = append(out, x)
	}
	return out
}

// Index returns the place of option x among the round's options, or -1.
func (ro *Round) Index(x uint8) int {
	for i, o := range ro.Options {
		if o == x {
			return i
		}
	}
	return -1
}

// Meeting is a sub-meeting of a round (the whole meeting in a plenary):
// its members by roster position (ascending), how many voted, the
// approvals of each of the round's options, and its winner once the round
// ended (NoWinner without ballots).
type Meeting struct {
	Members []uint16
	Ballots uint16
	Tally   []uint16
	Winner  uint8
}

// Marshal: 0x18 ‖ count:u16 ‖ position:u16 × count ‖ ballots:u16 ‖
// options:u8 ‖ approvals:u16 × options ‖ winner:u8.
func (m *Meeting) Marshal() []byte {
	w := wire.NewWriter(8 + 2*len(m.Members) + 2*len(m.Tally))
	w.U8(KindMeeting)
	w.U16(uint16(len(m.Members)))
	for _, p := range m.Members {
		w.U16(p)
	}
	w.U16(m.Ballots)
	w.U8(uint8(len(m.Tally)))
	for _, t := range m.Tally {
		w.U16(t)
	}
	w.U8(m.Winner)
	return w.Finish()
}

// UnmarshalMeeting decodes a sub-meeting.
func UnmarshalMeeting(b []byte) (*Meeting, error) {
	r := reader(b, KindMeeting, "a meeting")
	m := &Meeting{}
	n := int(r.U16("members"))
	if n == 0 || n > MaxParticipants {
		r.Fail("members")
	}
	for i := 0; i < n && r.Err() == nil; i++ {
		p := r.U16("position")
		if i > 0 && p <= m.Members[i-1] {
			r.Fail("positions not increasing")
		}
		m.Members = append(m.Members, p)
	}
	m.Ballots = r.U16("ballots")
	k := int(r.U8("options"))
	if k == 0 || k > tx.MaxOptions || int(m.Ballots) > n {
		r.Fail("options or ballots")
	}
	for i := 0; i < k && r.Err() == nil; i++ {
		t := r.U16("approvals")
		if t > m.Ballots {
			r.Fail("approvals above ballots")
		}
		m.Tally = append(m.Tally, t)
	}
	m.Winner = r.U8("winner")
	return m, done(r, "meeting")
}

// Ballot is a member's approval ballot in a round.
type Ballot struct {
	Meeting uint16
	Time    int64
	Approve []uint8
}

// Marshal: 0x19 ‖ meeting:u16 ‖ time:i64 ‖ count:u8 ‖ option:u8 × count.
func (b *Ballot) Marshal() []byte {
	w := wire.NewWriter(12 + len(b.Approve))
	w.U8(KindBallot)
	w.U16(b.Meeting)
	w.I64(b.Time)
	w.U8(uint8(len(b.Approve)))
	w.Raw(b.Approve)
	return w.Finish()
}

// UnmarshalBallot decodes a ballot.
func UnmarshalBallot(b []byte) (*Ballot, error) {
	r := reader(b, KindBallot, "a ballot")
	x := &Ballot{Meeting: r.U16("meeting"), Time: r.I64("time")}
	n := int(r.U8("count"))
	if n == 0 || n > tx.MaxOptions {
		r.Fail("count")
	}
	x.Approve = increasing(r, n, "option")
	return x, done(r, "ballot")
}

// ReviewBallot is a member's ballot in a freeze's review.
type ReviewBallot struct {
	Lift bool
	Time int64
}

// Marshal: 0x1a ‖ lift:u8 ‖ time:i64.
func (b *ReviewBallot) Marshal() []byte {
	w := wire.NewWriter(10)
	w.U8(KindReview)
	w.Bool(b.Lift)
	w.I64(b.Time)
	return w.Finish()
}

// UnmarshalReviewBallot decodes a review ballot.
func UnmarshalReviewBallot(b []byte) (*ReviewBallot, error) {
	r := reader(b, KindReview, "a review ballot")
	x := &ReviewBallot{Lift: r.Bool("lift"), Time: r.I64("time")}
	return x, done(r, "review ballot")
}

// CommentRecord is a comment on a proposal.
type CommentRecord struct {
	Author crypto.ID
	Time   int64
	Text   string
}

// Marshal: 0x1b ‖ author:[20] ‖ time:i64 ‖ text:bytes (≤ 2048).
func (c *CommentRecord) Marshal() []byte {
	w := wire.NewWriter(36 + len(c.Text))
	w.U8(KindComment)
	w.Raw(c.Author[:])
	w.I64(c.Time)
	w.Bytes([]byte(c.Text))
	return w.Finish()
}

// UnmarshalComment decodes a comment.
func UnmarshalComment(b []byte) (*CommentRecord, error) {
	r := reader(b, KindComment, "a comment")
	c := &CommentRecord{Author: readID(r, "author"), Time: r.I64("time")}
	c.Text = string(r.Bytes(tx.MaxComment, "text"))
	return c, done(r, "comment")
}

// Executor is a member elected to a role, until a block time.
type Executor struct {
	Role     string
	Member   crypto.ID
	Proposal uint64 // the election that appointed it
	Since    int64
	Until    int64
}

// Executors are the executor roles held, by role name.
type Executors struct {
	List []Executor
}

// Marshal: 0x1c ‖ count:u8 ‖ (role:bytes ‖ member:[20] ‖ proposal:u64 ‖
// since:i64 ‖ until:i64) × count, roles strictly increasing.
func (e *Executors) Marshal() []byte {
	w := wire.NewWriter(2 + 80*len(e.List))
	w.U8(KindExecutors)
	w.U8(uint8(len(e.List)))
	for _, x := range e.List {
		w.Bytes([]byte(x.Role))
		w.Raw(x.Member[:])
		w.U64(x.Proposal)
		w.I64(x.Since)
		w.I64(x.Until)
	}
	return w.Finish()
}

// UnmarshalExecutors decodes the executors record.
func UnmarshalExecutors(b []byte) (*Executors, error) {
	r := reader(b, KindExecutors, "the executors")
	e := &Executors{}
	n := int(r.U8("count"))
	if n > MaxExecutors {
		r.Fail("count")
	}
	for i := 0; i < n && r.Err() == nil; i++ {
		x := Executor{Role: readIdent(r, "role"), Member: readID(r, "member"), Proposal: r.U64("proposal"), Since: r.I64("since"), Until: r.I64("until")}
		if i > 0 && x.Role <= e.List[i-1].Role {
			r.Fail("roles not increasing")
		}
		e.List = append(e.List, x)
	}
	return e, done(r, "executors")
}

// Get returns the executor of a role.
func (e *Executors) Get(role string) (Executor, bool) {
	for _, x := range e.List {
		if x.Role == role {
			return x, true
		}
	}
	return Executor{}, false
}

// ChallengeRecord names the open challenge of a member.
type ChallengeRecord struct {
	Proposal uint64
}

// Marshal: 0x1d ‖ proposal:u64.
func (c *ChallengeRecord) Marshal() []byte {
	w := wire.NewWriter(9)
	w.U8(KindChallenge)
	w.U64(c.Proposal)
	return w.Finish()
}

// UnmarshalChallenge decodes a challenge record.
func UnmarshalChallenge(b []byte) (*ChallengeRecord, error) {
	r := reader(b, KindChallenge, "a challenge")
	c := &ChallengeRecord{Proposal: r.U64("proposal")}
	return c, done(r, "challenge")
}
