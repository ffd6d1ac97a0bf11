package tx

import (
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/wire"
)

// Limits of the governance transactions (docs/GOVERNANCE.md).
const (
	// MaxTitle bounds a proposal's or an option's title, in bytes.
	MaxTitle = 200
	// MaxBody bounds a proposal's body and a challenge's reason, in bytes.
	MaxBody = 16 << 10
	// MaxOptions bounds the options of a proposal.
	MaxOptions = 32
	// MaxActions bounds the actions of an option.
	MaxActions = 8
	// MaxComment bounds a comment, in bytes.
	MaxComment = 2048
	// MaxIdent bounds an identifier (a domain, a parameter, an executor's
	// role), in bytes.
	MaxIdent = 32
	// MaxWindow bounds a desired window or an executor's term, in
	// milliseconds: 366 days.
	MaxWindow = 366 * 24 * 3600 * 1000
	// MinCapacity and MaxCapacity bound a desired sub-meeting capacity.
	MinCapacity = 2
	MaxCapacity = 1024
	// MaxAddrs and MaxAddr bound a node's addresses in an add-node action
	// (the same limits as the node set record).
	MaxAddrs = 8
	MaxAddr  = 256
)

// Desire is what a participant asks for when joining a proposal: a
// meeting window and a publicity window (milliseconds, 1 … MaxWindow) and a
// sub-meeting capacity (MinCapacity … MaxCapacity).
type Desire struct {
	Meeting   uint64
	Publicity uint64
	Capacity  uint16
}

func (d Desire) marshalTo(w *wire.Writer) {
	w.U64(d.Meeting)
	w.U64(d.Publicity)
	w.U16(d.Capacity)
}

func readDesire(r *wire.Reader) Desire {
	d := Desire{Meeting: r.U64("meeting window"), Publicity: r.U64("publicity window"), Capacity: r.U16("capacity")}
	if r.Err() == nil {
		switch {
		case d.Meeting == 0 || d.Meeting > MaxWindow:
			r.Fail("meeting window out of 1 … MaxWindow")
		case d.Publicity == 0 || d.Publicity > MaxWindow:
			r.Fail("publicity window out of 1 … MaxWindow")
		case d.Capacity < MinCapacity || d.Capacity > MaxCapacity:
			r.Fail("capacity out of 2 … 1024")
		}
	}
	return d
}

// Option is a choice of a proposal: a title and the actions executed, all
// or none, if it wins.
type Option struct {
	Title   string
	Actions []Action
}

// MarshalTo appends the option's encoding:
// title:bytes (1–200, text) ‖ count:u8 (≤ 8) ‖ action × count.
func (o *Option) MarshalTo(w *wire.Writer) {
	w.Bytes([]byte(o.Title))
	w.U8(uint8(len(o.Actions)))
	for _, a := range o.Actions {
		MarshalAction(w, a)
	}
}

// ReadOption decodes an option; the error, if any, is also left in r
// unless it is a field's check.
func ReadOption(r *wire.Reader) (Option, error) {
	var o Option
	o.Title = string(r.Bytes(MaxTitle, "option title"))
	n := int(r.U8("actions"))
	if r.Err() != nil {
		return o, r.Err()
	}
	if err := CheckText(o.Title, MaxTitle, false); err != nil {
		return o, fmt.Errorf("option title: %w", err)
	}
	if n > MaxActions {
		r.Fail("more than 8 actions")
		return o, r.Err()
	}
	for i := 0; i < n; i++ {
		a, err := ReadAction(r)
		if err != nil {
			return o, fmt.Errorf("action %d: %w", i, err)
		}
		o.Actions = append(o.Actions, a)
	}
	return o, nil
}

// CheckText checks a title, a body or a comment: 1 to max bytes of UTF-8,
// no control characters but, when multiline, newlines and tabs.
func CheckText(s string, max int, multiline bool) error {
	switch {
	case s == "" || len(s) > max:
		return fmt.Errorf("%w: a text of %d bytes (1 to %d)", ErrMalformed, len(s), max)
	case !utf8.ValidString(s):
		return fmt.Errorf("%w: a text is not UTF-8", ErrMalformed)
	}
	for i, c := range s {
		if unicode.IsControl(c) && !(multiline && (c == '\n' || c == '\t')) {
			return fmt.Errorf("%w: a control character at byte %d", ErrMalformed, i)
		}
	}
	return nil
}

// CheckIdent checks an identifier (a domain, a parameter, a role): 1 to
// MaxIdent bytes of a-z, 0-9, '_' and '-', starting with a letter.
func CheckIdent(s string) error {
	if s == "" || len(s) > MaxIdent {
		return fmt.Errorf("%w: an identifier has 1 to %d bytes, not %d", ErrMalformed, MaxIdent, len(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || i > 0 && (c >= '0' && c <= '9' || c == '_' || c == '-')
		if !ok {
			return fmt.Errorf("%w: identifier %q: a-z first, then a-z, 0-9, _ or -", ErrMalformed, s)
		}
	}
	return nil
}

func readIdent(r *wire.Reader, what string) string {
	s := string(r.Bytes(MaxIdent, what))
	if r.Err() == nil && CheckIdent(s) != nil {
		r.Fail(what + " is not an identifier")
	}
	return s
}

func readText(r *wire.Reader, max int, multiline bool, what string) (string, error) {
	s := string(r.Bytes(max, what))
	if r.Err() != nil {
		return "", nil
	}
	if err := CheckText(s, max, multiline); err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	return s, nil
}

// Create creates a proposal in a domain; its author joins it.
type Create struct {
	Domain  string
	Title   string
	Body    string // may be empty
	Options []Option
	Desire  Desire
}

// Type is TypeCreate.
func (*Create) Type() Type { return TypeCreate }

func (b *Create) marshalTo(w *wire.Writer) {
	w.Bytes([]byte(b.Domain))
	w.Bytes([]byte(b.Title))
	w.Bytes([]byte(b.Body))
	w.U8(uint8(len(b.Options)))
	for i := range b.Options {
		b.Options[i].MarshalTo(w)
	}
	b.Desire.marshalTo(w)
}

func (*Create) cosigner() (crypto.PublicKey, bool) { return crypto.PublicKey{}, false }

// Join joins a proposal.
type Join struct {
	Proposal uint64
	Desire   Desire
}

// Type is TypeJoin.
func (*Join) Type() Type { return TypeJoin }

func (b *Join) marshalTo(w *wire.Writer) {
	w.U64(b.Proposal)
	b.Desire.marshalTo(w)
}

func (*Join) cosigner() (crypto.PublicKey, bool) { return crypto.PublicKey{}, false }

// AddOption adds an option to a proposal.
type AddOption struct {
	Proposal uint64
	Option   Option
}

// Type is TypeOption.
func (*AddOption) Type() Type { return TypeOption }

func (b *AddOption) marshalTo(w *wire.Writer) {
	w.U64(b.Proposal)
	b.Option.MarshalTo(w)
}

func (*AddOption) cosigner() (crypto.PublicKey, bool) { return crypto.PublicKey{}, false }

// Comment comments on a proposal.
type Comment struct {
	Proposal uint64
	Text     string
}

// Type is TypeComment.
func (*Comment) Type() Type { return TypeComment }

func (b *Comment) marshalTo(w *wire.Writer) {
	w.U64(b.Proposal)
	w.Bytes([]byte(b.Text))
}

func (*Comment) cosigner() (crypto.PublicKey, bool) { return crypto.PublicKey{}, false }

// Vote is an approval ballot in a round of a proposal, cast in the
// sub-meeting the voter belongs to: the indexes of the options approved,
// strictly increasing.
type Vote struct {
	Proposal uint64
	Round    uint8
	Meeting  uint16
	Approve  []uint8
}

// Type is TypeVote.
func (*Vote) Type() Type { return TypeVote }

func (b *Vote) marshalTo(w *wire.Writer) {
	w.U64(b.Proposal)
	w.U8(b.Round)
	w.U16(b.Meeting)
	w.U8(uint8(len(b.Approve)))
	for _, i := range b.Approve {
		w.U8(i)
	}
}

func (*Vote) cosigner() (crypto.PublicKey, bool) { return crypto.PublicKey{}, false }

// Freeze freezes a proposal in publicity, and the sender with it.
type Freeze struct {
	Proposal uint64
}

// Type is TypeFreeze.
func (*Freeze) Type() Type { return TypeFreeze }

func (b *Freeze) marshalTo(w *wire.Writer) { w.U64(b.Proposal) }

func (*Freeze) cosigner() (crypto.PublicKey, bool) { return crypto.PublicKey{}, false }

// Review votes, in the review of a proposal's freeze number Freeze, to
// lift the freeze or to cancel the proposal.
type Review struct {
	Proposal uint64
	Freeze   uint8
	Lift     bool
}

// Type is TypeReview.
func (*Review) Type() Type { return TypeReview }

func (b *Review) marshalTo(w *wire.Writer) {
	w.U64(b.Proposal)
	w.U8(b.Freeze)
	w.Bool(b.Lift)
}

func (*Review) cosigner() (crypto.PublicKey, bool) { return crypto.PublicKey{}, false }

// Challenge challenges a member: a proposal in Domain whose options are
// "remove" and "keep"; the sender joins it.
type Challenge struct {
	Target crypto.ID
	Domain string
	Reason string
	Desire Desire
}

// Type is TypeChallenge.
func (*Challenge) Type() Type { return TypeChallenge }

func (b *Challenge) marshalTo(w *wire.Writer) {
	w.Raw(b.Target[:])
	w.Bytes([]byte(b.Domain))
	w.Bytes([]byte(b.Reason))
	b.Desire.marshalTo(w)
}

func (*Challenge) cosigner() (crypto.PublicKey, bool) { return crypto.PublicKey{}, false }

// decodeGov decodes the payload of a governance transaction; ok is false
// for another type.
func decodeGov(typ Type, r *wire.Reader) (body Body, ok bool, err error) {
	switch typ {
	case TypeCreate:
		var b Create
		b.Domain = readIdent(r, "domain")
		if b.Title, err = readText(r, MaxTitle, false, "title"); err != nil {
			return nil, true, err
		}
		b.Body = string(r.Bytes(MaxBody, "body"))
		if r.Err() == nil && b.Body != "" {
			if err = CheckText(b.Body, MaxBody, true); err != nil {
				return nil, true, fmt.Errorf("body: %w", err)
			}
		}
		n := int(r.U8("options"))
		if r.Err() == nil && (n == 0 || n > MaxOptions) {
			r.Fail("options out of 1 … 32")
		}
		for i := 0; i < n && r.Err() == nil; i++ {
			o, err := ReadOption(r)
			if err != nil && r.Err() == nil {
				return nil, true, fmt.Errorf("option %d: %w", i, err)
			}
			b.Options = append(b.Options, o)
		}
		b.Desire = readDesire(r)
		body = &b
	case TypeJoin:
		b := Join{Proposal: r.U64("proposal")}
		b.Desire = readDesire(r)
		body = &b
	case TypeOption:
		b := AddOption{Proposal: r.U64("proposal")}
		if r.Err() == nil {
			o, err := ReadOption(r)
			if err != nil && r.Err() == nil {
				return nil, true, err
			}
			b.Option = o
		}
		body = &b
	case TypeComment:
		b := Comment{Proposal: r.U64("proposal")}
		if b.Text, err = readText(r, MaxComment, true, "comment"); err != nil {
			return nil, true, err
		}
		body = &b
	case TypeVote:
		b := Vote{Proposal: r.U64("proposal"), Round: r.U8("round"), Meeting: r.U16("meeting")}
		n := int(r.U8("approvals"))
		if r.Err() == nil && (n == 0 || n > MaxOptions) {
			r.Fail("approvals out of 1 … 32")
		}
		for i := 0; i < n && r.Err() == nil; i++ {
			x := r.U8("option index")
			if r.Err() == nil && (x >= MaxOptions || i > 0 && x <= b.Approve[i-1]) {
				r.Fail("option indexes not strictly increasing below 32")
			}
			b.Approve = append(b.Approve, x)
		}
		if r.Err() == nil && b.Round == 0 {
			r.Fail("round 0")
		}
		body = &b
	case TypeFreeze:
		body = &Freeze{Proposal: r.U64("proposal")}
	case TypeReview:
		b := Review{Proposal: r.U64("proposal"), Freeze: r.U8("freeze"), Lift: r.Bool("lift")}
		if r.Err() == nil && b.Freeze == 0 {
			r.Fail("freeze 0")
		}
		body = &b
	case TypeChallenge:
		var b Challenge
		copy(b.Target[:], r.Raw(crypto.IDSize, "target"))
		b.Domain = readIdent(r, "domain")
		if b.Reason, err = readText(r, MaxBody, true, "reason"); err != nil {
			return nil, true, err
		}
		b.Desire = readDesire(r)
		body = &b
	default:
		return nil, false, nil
	}
	return body, true, nil
}
