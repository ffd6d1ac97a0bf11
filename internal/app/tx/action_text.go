package tx

import (
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mass-consensus/mass/internal/app/state"
	"github.com/mass-consensus/mass/internal/crypto"
)

// The text form of an action is one line: the kind's name, then its
// arguments, separated by spaces or tabs.
//
//	add_member    ACCOUNT NAME
//	remove_member ACCOUNT
//	confirm_join  ACCOUNT
//	add_node      KEY [ADDR …]          (at most 8 addresses)
//	remove_node   KEY
//	set_param     DOMAIN PARAM VALUE
//	add_domain    DOMAIN
//	mint          ACCOUNT AMOUNT        (ACCOUNT may be "treasury")
//	pay           ACCOUNT AMOUNT        (from the treasury)
//	set_version   VERSION HEIGHT
//	appoint       ROLE ACCOUNT TERM
//	dismiss       ROLE
//	remove_domain DOMAIN
//	rename_domain DOMAIN NEW
//	open_sale     ITEM SUPPLY PER_REQUEST START WINDOW MAX_AGE DIFFICULTY PRICE MAX_REQUESTS
//
// An argument is a word without spaces or a Go double-quoted string
// ("Ada Lovelace", "a \"quote\""). ACCOUNT is an account ID (40 hex
// digits), a public key (64 hex digits: its account) or "treasury"; KEY a
// public key; DOMAIN, NEW, PARAM and ROLE identifiers; NAME a member's
// name; AMOUNT, VERSION and HEIGHT whole numbers; TERM a duration. VALUE
// is written as its parameter is (ParamUnitOf): a whole number, a
// duration, or for "aggregate" the word mean or median (or its number).
//
// A duration is a whole number of milliseconds ("90000"), or numbers with
// the units d, h, m, s and ms, each at most once and in that order ("90s",
// "1h30m", "7d", "1d12h", "1s500ms").
//
// String writes the canonical form, which ParseAction reads back to the
// same action: IDs and keys in lowercase hex, the treasury's account as
// "treasury", durations with the largest units ("1h30m"; "0" for zero),
// and a word quoted only when it must be.

// actionUsage is each kind's arguments, for the errors.
var actionUsage = map[ActionKind]string{
	ActAddMember: "ACCOUNT NAME", ActRemoveMember: "ACCOUNT", ActConfirmJoin: "ACCOUNT",
	ActAddNode: "KEY [ADDR …]", ActRemoveNode: "KEY", ActSetParam: "DOMAIN PARAM VALUE",
	ActAddDomain: "DOMAIN", ActMint: "ACCOUNT AMOUNT", ActPay: "ACCOUNT AMOUNT",
	ActSetVersion: "VERSION HEIGHT", ActAppoint: "ROLE ACCOUNT TERM", ActDismiss: "ROLE",
	ActRemoveDomain: "DOMAIN", ActRenameDomain: "DOMAIN NEW",
	ActOpenSale: "ITEM SUPPLY PER_REQUEST START WINDOW MAX_AGE DIFFICULTY PRICE MAX_REQUESTS",
}

// ActionUsage is a kind's text form with its arguments' names, e.g.
// "pay ACCOUNT AMOUNT".
func ActionUsage(k ActionKind) string { return k.String() + " " + actionUsage[k] }

// TreasuryID is the account of the organization's treasury, written
// "treasury" in the text form.
var TreasuryID = crypto.ID(state.TreasuryKey)

// TreasuryWord is the treasury's account in the text form.
const TreasuryWord = "treasury"

// Resolver gives the key a word names where the text form expects an
// account or a key (the scenario scripts name their members and nodes:
// "alice", "n1"); false if the word names none.
type Resolver func(word string) (crypto.PublicKey, bool)

// ParseAction reads an action's text form.
func ParseAction(s string) (Action, error) { return ParseActionWith(s, nil) }

// ParseActionWith reads an action's text form in which names may also
// stand for accounts and keys. It checks the fields as a decoder does
// (Action.Check), so that the action encodes to bytes every node accepts.
func ParseActionWith(s string, names Resolver) (Action, error) {
	words, err := splitWords(s)
	if err != nil {
		return nil, err
	}
	if len(words) == 0 {
		return nil, errors.New("an empty action")
	}
	k, ok := actionKind(words[0])
	if !ok {
		return nil, fmt.Errorf("unknown action %q (%s)", words[0], actionNames())
	}
	a, _ := NewAction(k)
	p := &argParser{kind: k, args: words[1:], names: names}
	a.parseArgs(p)
	if p.err == nil && p.i < len(p.args) {
		p.err = fmt.Errorf("%d arguments, not %d", len(p.args), p.i)
	}
	if p.err != nil {
		return nil, fmt.Errorf("%s: %w (%s)", k, p.err, ActionUsage(k))
	}
	if err := a.Check(); err != nil {
		return nil, fmt.Errorf("%s: %s", k, strings.TrimPrefix(err.Error(), ErrMalformed.Error()+": "))
	}
	return a, nil
}

func actionKind(name string) (ActionKind, bool) {
	for k, d := range kinds {
		if d.name == name {
			return k, true
		}
	}
	return 0, false
}

func actionNames() string {
	var names []string
	for _, k := range ActionKinds() {
		names = append(names, k.String())
	}
	return strings.Join(names, ", ")
}

// splitWords splits a line into words: runs of non-spaces, or Go
// double-quoted strings, which must be followed by a space or the end.
func splitWords(s string) ([]string, error) {
	var out []string
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case unicode.IsSpace(r):
			i += size
		case r == '"':
			q, err := strconv.QuotedPrefix(s[i:])
			if err != nil {
				return nil, fmt.Errorf("an unterminated or invalid quoted string at byte %d", i)
			}
			u, _ := strconv.Unquote(q)
			i += len(q)
			if next, _ := utf8.DecodeRuneInString(s[i:]); i < len(s) && !unicode.IsSpace(next) {
				return nil, fmt.Errorf("a quoted string is followed by %q, not a space, at byte %d", next, i)
			}
			out = append(out, u)
		default:
			j := i
			for j < len(s) {
				r, size := utf8.DecodeRuneInString(s[j:])
				if unicode.IsSpace(r) {
					break
				}
				j += size
			}
			out = append(out, s[i:j])
			i = j
		}
	}
	return out, nil
}

// word writes an argument: as it is if it reads back the same, else
// quoted.
func word(s string) string {
	if s == "" || !utf8.ValidString(s) || strings.HasPrefix(s, `"`) {
		return strconv.Quote(s)
	}
	for _, r := range s {
		if unicode.IsSpace(r) || !unicode.IsGraphic(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

func text(k ActionKind, args []string) string {
	var b strings.Builder
	b.WriteString(k.String())
	for _, a := range args {
		b.WriteByte(' ')
		b.WriteString(word(a))
	}
	return b.String()
}

// argParser reads a kind's arguments, keeping the first error.
type argParser struct {
	kind  ActionKind
	args  []string
	i     int
	names Resolver
	err   error
}

func (p *argParser) fail(format string, args ...any) {
	if p.err == nil {
		p.err = fmt.Errorf(format, args...)
	}
}

// next returns the next argument, what it is being named in the error if
// it is missing.
func (p *argParser) next(what string) string {
	if p.err != nil {
		return ""
	}
	if p.i >= len(p.args) {
		p.fail("%s is missing", what)
		return ""
	}
	p.i++
	return p.args[p.i-1]
}

// rest returns the arguments left.
func (p *argParser) rest() []string {
	if p.err != nil || p.i >= len(p.args) {
		return nil
	}
	out := append([]string(nil), p.args[p.i:]...)
	p.i = len(p.args)
	return out
}

func (p *argParser) str(what string) string { return p.next(what) }

func (p *argParser) account(what string) crypto.ID {
	s := p.next(what)
	if p.err != nil {
		return crypto.ID{}
	}
	if s == TreasuryWord {
		return TreasuryID
	}
	switch len(s) {
	case 2 * crypto.IDSize:
		if id, err := crypto.ParseID(s); err == nil {
			return id
		}
	case 2 * crypto.PublicKeySize:
		if k, err := crypto.ParsePublicKey(s); err == nil {
			return k.ID()
		}
	}
	if p.names != nil {
		if k, ok := p.names(s); ok {
			return k.ID()
		}
	}
	p.fail("%s %q is not an account: an ID (40 hex digits), a public key (64 hex digits) or %s", what, s, TreasuryWord)
	return crypto.ID{}
}

func (p *argParser) key(what string) crypto.PublicKey {
	s := p.next(what)
	if p.err != nil {
		return crypto.PublicKey{}
	}
	if len(s) == 2*crypto.PublicKeySize {
		if k, err := crypto.ParsePublicKey(s); err == nil {
			return k
		}
	}
	if p.names != nil {
		if k, ok := p.names(s); ok {
			return k
		}
	}
	p.fail("%s %q is not a public key (64 hex digits)", what, s)
	return crypto.PublicKey{}
}

func (p *argParser) number(what string) uint64 {
	s := p.next(what)
	if p.err != nil {
		return 0
	}
	v, err := parseNumber(s)
	if err != nil {
		p.fail("%s %q is not a whole number", what, s)
	}
	return v
}

func (p *argParser) duration(what string) uint64 {
	s := p.next(what)
	if p.err != nil {
		return 0
	}
	v, err := ParseDuration(s)
	if err != nil {
		p.fail("%s: %w", what, err)
	}
	return v
}

// parseNumber reads a whole number in decimal, without sign or leading
// zeros (so that each number has one form).
func parseNumber(s string) (uint64, error) {
	if len(s) > 1 && s[0] == '0' {
		return 0, fmt.Errorf("%q has a leading zero", s)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("%q is not a whole number", s)
		}
	}
	return strconv.ParseUint(s, 10, 64)
}

// The units of a duration, largest first, in milliseconds.
var durationUnits = []struct {
	name string
	ms   uint64
}{{"d", 86_400_000}, {"h", 3_600_000}, {"m", 60_000}, {"s", 1000}, {"ms", 1}}

// ParseDuration reads a duration as milliseconds: a whole number of
// milliseconds, or numbers with the units d, h, m, s, ms, each at most
// once and in that order ("90s", "1h30m", "1d12h").
func ParseDuration(s string) (uint64, error) {
	if v, err := parseNumber(s); err == nil {
		return v, nil
	}
	bad := fmt.Errorf("%q is not a duration (milliseconds, or e.g. 90s, 10m, 1h30m, 7d)", s)
	if s == "" {
		return 0, bad
	}
	var total uint64
	next := 0 // the first unit still allowed
	rest := s
	for rest != "" {
		j := 0
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		if j == 0 {
			return 0, bad
		}
		n, err := parseNumber(rest[:j])
		if err != nil {
			return 0, bad
		}
		rest = rest[j:]
		u := -1
		for i := next; i < len(durationUnits); i++ {
			name := durationUnits[i].name
			// "m" must not take the "m" of "ms".
			if strings.HasPrefix(rest, name) && !(name == "m" && strings.HasPrefix(rest, "ms")) {
				u = i
				break
			}
		}
		if u < 0 {
			return 0, bad
		}
		rest = rest[len(durationUnits[u].name):]
		next = u + 1
		hi, v := bits.Mul64(n, durationUnits[u].ms)
		sum, carry := bits.Add64(total, v, 0)
		if hi != 0 || carry != 0 {
			return 0, fmt.Errorf("%q is too long", s)
		}
		total = sum
	}
	return total, nil
}

// FormatDuration writes milliseconds with the largest units: "1h30m",
// "7d", "1s500ms"; "0" for zero.
func FormatDuration(ms uint64) string {
	if ms == 0 {
		return "0"
	}
	var b strings.Builder
	for _, u := range durationUnits {
		if n := ms / u.ms; n > 0 {
			b.WriteString(strconv.FormatUint(n, 10))
			b.WriteString(u.name)
			ms %= u.ms
		}
	}
	return b.String()
}

// ParamUnit is how a domain parameter's value is written in the text
// form.
type ParamUnit uint8

// The units of the domain parameters.
const (
	UnitCount     ParamUnit = iota // a whole number
	UnitDuration                   // milliseconds, written as a duration
	UnitAggregate                  // AggregateMean or AggregateMedian, written by name
)

// The values of the parameter "aggregate": how a proposal's deadlines and
// capacity are drawn from its participants' wishes (docs/GOVERNANCE.md).
const (
	AggregateMean   = 0 // the mean, rounded down
	AggregateMedian = 1 // the lower median
)

// aggregateNames are the words of the aggregate's values, by value.
var aggregateNames = []string{AggregateMean: "mean", AggregateMedian: "median"}

// paramUnits are the units of the parameters that are not counts. The
// parameters themselves are governance's (gov.ParamDefs, whose tests check
// that these agree).
var paramUnits = map[string]ParamUnit{
	"queue_expiry": UnitDuration, "gather_min": UnitDuration,
	"meeting_min": UnitDuration, "meeting_max": UnitDuration,
	"publicity_min": UnitDuration, "publicity_max": UnitDuration,
	"publicity_unit": UnitDuration, "publicity_floor": UnitDuration, "publicity_ceiling": UnitDuration,
	"review_window": UnitDuration,
	"aggregate":     UnitAggregate,
}

// ParamUnitOf returns how a parameter's value is written; a name it does
// not know is a count.
func ParamUnitOf(name string) ParamUnit { return paramUnits[name] }

// FormatParamValue writes a parameter's value in the text form.
func FormatParamValue(param string, v uint64) string {
	switch ParamUnitOf(param) {
	case UnitDuration:
		return FormatDuration(v)
	case UnitAggregate:
		if v < uint64(len(aggregateNames)) {
			return aggregateNames[v]
		}
	}
	return strconv.FormatUint(v, 10)
}

// ParseParamValue reads a parameter's value in the text form: a whole
// number, a duration for a parameter in milliseconds, or a word for
// "aggregate".
func ParseParamValue(param, s string) (uint64, error) {
	switch ParamUnitOf(param) {
	case UnitDuration:
		return ParseDuration(s)
	case UnitAggregate:
		for v, name := range aggregateNames {
			if s == name {
				return uint64(v), nil
			}
		}
		if v, err := parseNumber(s); err == nil {
			return v, nil
		}
		return 0, fmt.Errorf("%q is not an aggregate (%s)", s, strings.Join(aggregateNames, " or "))
	}
	v, err := parseNumber(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a whole number", s)
	}
	return v, nil
}

func account(id crypto.ID) string {
	if id == TreasuryID {
		return TreasuryWord
	}
	return id.String()
}

func num(v uint64) string { return strconv.FormatUint(v, 10) }

// String is "add_member ACCOUNT NAME".
func (a *AddMember) String() string { return text(a.Kind(), a.args()) }
func (a *AddMember) args() []string { return []string{account(a.ID), a.Name} }
func (a *AddMember) parseArgs(p *argParser) {
	a.ID = p.account("ACCOUNT")
	a.Name = p.str("NAME")
}

// String is "remove_member ACCOUNT".
func (a *RemoveMember) String() string         { return text(a.Kind(), a.args()) }
func (a *RemoveMember) args() []string         { return []string{account(a.ID)} }
func (a *RemoveMember) parseArgs(p *argParser) { a.ID = p.account("ACCOUNT") }

// String is "confirm_join ACCOUNT".
func (a *ConfirmJoin) String() string         { return text(a.Kind(), a.args()) }
func (a *ConfirmJoin) args() []string         { return []string{account(a.ID)} }
func (a *ConfirmJoin) parseArgs(p *argParser) { a.ID = p.account("ACCOUNT") }

// String is "add_node KEY ADDR…".
func (a *AddNode) String() string { return text(a.Kind(), a.args()) }
func (a *AddNode) args() []string { return append([]string{a.Key.String()}, a.Addrs...) }
func (a *AddNode) parseArgs(p *argParser) {
	a.Key = p.key("KEY")
	a.Addrs = p.rest()
}

// String is "remove_node KEY".
func (a *RemoveNode) String() string         { return text(a.Kind(), a.args()) }
func (a *RemoveNode) args() []string         { return []string{a.Key.String()} }
func (a *RemoveNode) parseArgs(p *argParser) { a.Key = p.key("KEY") }

// String is "set_param DOMAIN PARAM VALUE", the value as the parameter is
// written (FormatParamValue).
func (a *SetParam) String() string { return text(a.Kind(), a.args()) }
func (a *SetParam) args() []string {
	return []string{a.Domain, a.Param, FormatParamValue(a.Param, a.Value)}
}
func (a *SetParam) parseArgs(p *argParser) {
	a.Domain = p.str("DOMAIN")
	a.Param = p.str("PARAM")
	s := p.next("VALUE")
	if p.err != nil {
		return
	}
	v, err := ParseParamValue(a.Param, s)
	if err != nil {
		p.fail("VALUE of %s: %w", a.Param, err)
	}
	a.Value = v
}

// String is "add_domain DOMAIN".
func (a *AddDomain) String() string         { return text(a.Kind(), a.args()) }
func (a *AddDomain) args() []string         { return []string{a.Name} }
func (a *AddDomain) parseArgs(p *argParser) { a.Name = p.str("DOMAIN") }

// String is "remove_domain DOMAIN".
func (a *RemoveDomain) String() string         { return text(a.Kind(), a.args()) }
func (a *RemoveDomain) args() []string         { return []string{a.Name} }
func (a *RemoveDomain) parseArgs(p *argParser) { a.Name = p.str("DOMAIN") }

// String is "rename_domain DOMAIN NEW".
func (a *RenameDomain) String() string { return text(a.Kind(), a.args()) }
func (a *RenameDomain) args() []string { return []string{a.Name, a.NewName} }
func (a *RenameDomain) parseArgs(p *argParser) {
	a.Name = p.str("DOMAIN")
	a.NewName = p.str("NEW")
}

// String is "mint ACCOUNT AMOUNT".
func (a *Mint) String() string { return text(a.Kind(), a.args()) }
func (a *Mint) args() []string { return []string{account(a.To), num(a.Amount)} }
func (a *Mint) parseArgs(p *argParser) {
	a.To = p.account("ACCOUNT")
	a.Amount = p.number("AMOUNT")
}

// String is "pay ACCOUNT AMOUNT".
func (a *Pay) String() string { return text(a.Kind(), a.args()) }
func (a *Pay) args() []string { return []string{account(a.To), num(a.Amount)} }
func (a *Pay) parseArgs(p *argParser) {
	a.To = p.account("ACCOUNT")
	a.Amount = p.number("AMOUNT")
}

// String is "set_version VERSION HEIGHT".
func (a *SetVersion) String() string { return text(a.Kind(), a.args()) }
func (a *SetVersion) args() []string { return []string{num(uint64(a.Version)), num(a.Height)} }
func (a *SetVersion) parseArgs(p *argParser) {
	v := p.number("VERSION")
	if p.err == nil && v > 1<<32-1 {
		p.fail("VERSION %d is over %d", v, uint32(1<<32-1))
	}
	a.Version = uint32(v)
	a.Height = p.number("HEIGHT")
}

// String is "appoint ROLE ACCOUNT TERM".
func (a *Appoint) String() string { return text(a.Kind(), a.args()) }
func (a *Appoint) args() []string {
	return []string{a.Role, account(a.Member), FormatDuration(a.Term)}
}
func (a *Appoint) parseArgs(p *argParser) {
	a.Role = p.str("ROLE")
	a.Member = p.account("ACCOUNT")
	a.Term = p.duration("TERM")
}

// String is "dismiss ROLE".
func (a *Dismiss) String() string         { return text(a.Kind(), a.args()) }
func (a *Dismiss) args() []string         { return []string{a.Role} }
func (a *Dismiss) parseArgs(p *argParser) { a.Role = p.str("ROLE") }
