package tx

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/wire"
)

// ActionKind is the kind of a built-in action: its first byte on the wire
// and its first word in the text form.
type ActionKind uint8

// The actions an option executes when it wins (docs/GOVERNANCE.md). The
// numbers are the wire's and never change; a new kind gets a new number.
const (
	ActAddMember    ActionKind = 1  // AddMember
	ActRemoveMember ActionKind = 2  // RemoveMember
	ActConfirmJoin  ActionKind = 3  // ConfirmJoin
	ActAddNode      ActionKind = 4  // AddNode
	ActRemoveNode   ActionKind = 5  // RemoveNode
	ActSetParam     ActionKind = 6  // SetParam
	ActAddDomain    ActionKind = 7  // AddDomain
	ActMint         ActionKind = 8  // Mint
	ActPay          ActionKind = 9  // Pay
	ActSetVersion   ActionKind = 10 // SetVersion
	ActAppoint      ActionKind = 11 // Appoint
	ActDismiss      ActionKind = 12 // Dismiss
	ActRemoveDomain ActionKind = 13 // RemoveDomain
	ActRenameDomain ActionKind = 14 // RenameDomain
	ActOpenSale     ActionKind = 15 // OpenSale
)

// kinds describes every kind: its name and a new, empty action of it.
var kinds = map[ActionKind]struct {
	name string
	zero func() Action
}{
	ActAddMember:    {"add_member", func() Action { return &AddMember{} }},
	ActRemoveMember: {"remove_member", func() Action { return &RemoveMember{} }},
	ActConfirmJoin:  {"confirm_join", func() Action { return &ConfirmJoin{} }},
	ActAddNode:      {"add_node", func() Action { return &AddNode{} }},
	ActRemoveNode:   {"remove_node", func() Action { return &RemoveNode{} }},
	ActSetParam:     {"set_param", func() Action { return &SetParam{} }},
	ActAddDomain:    {"add_domain", func() Action { return &AddDomain{} }},
	ActMint:         {"mint", func() Action { return &Mint{} }},
	ActPay:          {"pay", func() Action { return &Pay{} }},
	ActSetVersion:   {"set_version", func() Action { return &SetVersion{} }},
	ActAppoint:      {"appoint", func() Action { return &Appoint{} }},
	ActDismiss:      {"dismiss", func() Action { return &Dismiss{} }},
	ActRemoveDomain: {"remove_domain", func() Action { return &RemoveDomain{} }},
	ActRenameDomain: {"rename_domain", func() Action { return &RenameDomain{} }},
	ActOpenSale:     {"open_sale", func() Action { return &OpenSale{} }},
}

// ActionKinds returns every kind, in the order of their numbers.
func ActionKinds() []ActionKind {
	out := make([]ActionKind, 0, len(kinds))
	for k := ActionKind(1); int(k) <= len(kinds); k++ {
		out = append(out, k)
	}
	return out
}

func (k ActionKind) String() string {
	if d, ok := kinds[k]; ok {
		return d.name
	}
	return fmt.Sprintf("action(%d)", uint8(k))
}

// NewAction returns an empty action of a kind, to be filled in.
func NewAction(k ActionKind) (Action, bool) {
	d, ok := kinds[k]
	if !ok {
		return nil, false
	}
	return d.zero(), true
}

// Action is a built-in action of an option: one type per kind, each with
// the fields it needs (AddMember{ID, Name}, SetParam{Domain, Param,
// Value}, Pay{To, Amount} …). Only pointers to these types implement it.
//
// On the wire an action is kind:u8 ‖ fields (MarshalAction, ReadAction;
// docs/FORMATS.md). Its text form, the one the CLI, the scenario scripts
// and the views use, is the kind's name and its arguments separated by
// spaces, e.g. "pay <account> 100" or "set_param general aggregate
// median" (String, ParseAction).
type Action interface {
	// Kind is the action's kind.
	Kind() ActionKind
	// String is the action's text form, which ParseAction reads back.
	String() string
	// Check checks the fields as a decoder does (not the state): an
	// action that passes encodes to bytes every node accepts.
	Check() error
	marshalFields(w *wire.Writer)
	readFields(r *wire.Reader)
	// args are the text form's arguments, after the kind's name.
	args() []string
	// parseArgs reads the text form's arguments.
	parseArgs(p *argParser)
}

// MarshalAction appends an action's encoding, kind:u8 ‖ fields:
//
//	add_member    (1)  = id:[20] ‖ name:bytes (a member's name)
//	remove_member (2)  = id:[20]
//	confirm_join  (3)  = id:[20]
//	add_node      (4)  = key:[32] ‖ count:u8 (≤ 8) ‖ addr:bytes (1–256) × count
//	remove_node   (5)  = key:[32]
//	set_param     (6)  = domain:ident ‖ param:ident ‖ value:u64
//	add_domain    (7)  = domain:ident
//	mint          (8)  = to:[20] ‖ amount:u64 (> 0)
//	pay           (9)  = to:[20] ‖ amount:u64 (> 0)
//	set_version   (10) = version:u32 (> 0) ‖ height:u64 (> 0)
//	appoint       (11) = role:ident ‖ member:[20] ‖ term:u64 (1 … MaxWindow ms)
//	dismiss       (12) = role:ident
//	remove_domain (13) = domain:ident
//	rename_domain (14) = domain:ident ‖ new name:ident
//	open_sale     (15) = params (sale.Params.MarshalTo)
func MarshalAction(w *wire.Writer, a Action) {
	w.U8(uint8(a.Kind()))
	a.marshalFields(w)
}

// ReadAction decodes an action, checking its fields (not the state). A
// structural error is also left in r; a field's check is returned only.
func ReadAction(r *wire.Reader) (Action, error) {
	k := ActionKind(r.U8("action kind"))
	if r.Err() != nil {
		return nil, r.Err()
	}
	a, ok := NewAction(k)
	if !ok {
		r.Fail("unknown action kind")
		return nil, r.Err()
	}
	a.readFields(r)
	if r.Err() != nil {
		return nil, r.Err()
	}
	if err := a.Check(); err != nil {
		return nil, malformedf("%s: %w", k, err)
	}
	return a, nil
}

// malformedf is an error that wraps ErrMalformed once.
func malformedf(format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	if errors.Is(err, ErrMalformed) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrMalformed, err)
}

func readID(r *wire.Reader, what string) crypto.ID {
	var id crypto.ID
	copy(id[:], r.Raw(crypto.IDSize, what))
	return id
}

func readKey(r *wire.Reader, what string) crypto.PublicKey {
	var k crypto.PublicKey
	copy(k[:], r.Raw(crypto.PublicKeySize, what))
	return k
}

func checkIdents(names ...string) error {
	for _, s := range names {
		if err := CheckIdent(s); err != nil {
			return err
		}
	}
	return nil
}

func checkAmount(v uint64) error {
	if v == 0 {
		return fmt.Errorf("%w: an amount of 0", ErrMalformed)
	}
	return nil
}

// AddMember makes an account a member with a name (created if absent).
type AddMember struct {
	ID   crypto.ID
	Name string
}

// Kind is ActAddMember.
func (*AddMember) Kind() ActionKind { return ActAddMember }

// Check checks the name.
func (a *AddMember) Check() error { return CheckName(a.Name) }

func (a *AddMember) marshalFields(w *wire.Writer) {
	w.Raw(a.ID[:])
	w.Bytes([]byte(a.Name))
}

func (a *AddMember) readFields(r *wire.Reader) {
	a.ID = readID(r, "member")
	a.Name = string(r.Bytes(MaxName, "name"))
}

// RemoveMember makes a member a guest.
type RemoveMember struct {
	ID crypto.ID
}

// Kind is ActRemoveMember.
func (*RemoveMember) Kind() ActionKind { return ActRemoveMember }

// Check has nothing to check.
func (*RemoveMember) Check() error { return nil }

func (a *RemoveMember) marshalFields(w *wire.Writer) { w.Raw(a.ID[:]) }
func (a *RemoveMember) readFields(r *wire.Reader)    { a.ID = readID(r, "member") }

// ConfirmJoin accepts a pending application.
type ConfirmJoin struct {
	ID crypto.ID
}

// Kind is ActConfirmJoin.
func (*ConfirmJoin) Kind() ActionKind { return ActConfirmJoin }

// Check has nothing to check.
func (*ConfirmJoin) Check() error { return nil }

func (a *ConfirmJoin) marshalFields(w *wire.Writer) { w.Raw(a.ID[:]) }
func (a *ConfirmJoin) readFields(r *wire.Reader)    { a.ID = readID(r, "member") }

// AddNode appends a consensus node, with its addresses, to the node set.
type AddNode struct {
	Key   crypto.PublicKey
	Addrs []string
}

// Kind is ActAddNode.
func (*AddNode) Kind() ActionKind { return ActAddNode }

// Check checks the key (not of small order) and the addresses (at most
// MaxAddrs of 1 to MaxAddr bytes of UTF-8).
func (a *AddNode) Check() error {
	if len(a.Addrs) > MaxAddrs {
		return fmt.Errorf("%w: %d addresses, at most %d", ErrMalformed, len(a.Addrs), MaxAddrs)
	}
	for _, s := range a.Addrs {
		if s == "" || len(s) > MaxAddr || !utf8.ValidString(s) {
			return fmt.Errorf("%w: an address has 1 to %d bytes of UTF-8", ErrMalformed, MaxAddr)
		}
	}
	if err := a.Key.CheckStrong(); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return nil
}

func (a *AddNode) marshalFields(w *wire.Writer) {
	w.Raw(a.Key[:])
	w.U8(uint8(len(a.Addrs)))
	for _, s := range a.Addrs {
		w.Bytes([]byte(s))
	}
}

func (a *AddNode) readFields(r *wire.Reader) {
	a.Key = readKey(r, "node key")
	n := int(r.U8("addresses"))
	if n > MaxAddrs {
		r.Fail("more than 8 addresses")
	}
	for i := 0; i < n && r.Err() == nil; i++ {
		s := r.Bytes(MaxAddr, "address")
		if r.Err() == nil && (len(s) == 0 || !utf8.Valid(s)) {
			r.Fail("an empty or non-UTF-8 address")
		}
		a.Addrs = append(a.Addrs, string(s))
	}
}

// RemoveNode removes a consensus node from the node set.
type RemoveNode struct {
	Key crypto.PublicKey
}

// Kind is ActRemoveNode.
func (*RemoveNode) Kind() ActionKind { return ActRemoveNode }

// Check has nothing to check.
func (*RemoveNode) Check() error { return nil }

func (a *RemoveNode) marshalFields(w *wire.Writer) { w.Raw(a.Key[:]) }
func (a *RemoveNode) readFields(r *wire.Reader)    { a.Key = readKey(r, "node key") }

// SetParam sets a parameter of a domain. Value is the stored number: a
// count, milliseconds, or for "aggregate" AggregateMean or
// AggregateMedian.
type SetParam struct {
	Domain string
	Param  string
	Value  uint64
}

// Kind is ActSetParam.
func (*SetParam) Kind() ActionKind { return ActSetParam }

// Check checks the domain's and the parameter's names (not the value's
// bounds, which are governance's).
func (a *SetParam) Check() error { return checkIdents(a.Domain, a.Param) }

func (a *SetParam) marshalFields(w *wire.Writer) {
	w.Bytes([]byte(a.Domain))
	w.Bytes([]byte(a.Param))
	w.U64(a.Value)
}

func (a *SetParam) readFields(r *wire.Reader) {
	a.Domain = readIdent(r, "domain")
	a.Param = readIdent(r, "parameter")
	a.Value = r.U64("value")
}

// AddDomain adds a domain with the default parameters.
type AddDomain struct {
	Name string
}

// Kind is ActAddDomain.
func (*AddDomain) Kind() ActionKind { return ActAddDomain }

// Check checks the name.
func (a *AddDomain) Check() error { return CheckIdent(a.Name) }

func (a *AddDomain) marshalFields(w *wire.Writer) { w.Bytes([]byte(a.Name)) }
func (a *AddDomain) readFields(r *wire.Reader)    { a.Name = readIdent(r, "domain") }

// RemoveDomain removes a domain (docs/GOVERNANCE.md says what becomes of
// its proposals).
type RemoveDomain struct {
	Name string
}

// Kind is ActRemoveDomain.
func (*RemoveDomain) Kind() ActionKind { return ActRemoveDomain }

// Check checks the name.
func (a *RemoveDomain) Check() error { return CheckIdent(a.Name) }

func (a *RemoveDomain) marshalFields(w *wire.Writer) { w.Bytes([]byte(a.Name)) }
func (a *RemoveDomain) readFields(r *wire.Reader)    { a.Name = readIdent(r, "domain") }

// RenameDomain renames the domain Name to NewName; its proposals go with
// it.
type RenameDomain struct {
	Name    string
	NewName string
}

// Kind is ActRenameDomain.
func (*RenameDomain) Kind() ActionKind { return ActRenameDomain }

// Check checks both names, which must differ.
func (a *RenameDomain) Check() error {
	if err := checkIdents(a.Name, a.NewName); err != nil {
		return err
	}
	if a.Name == a.NewName {
		return fmt.Errorf("%w: domain %s renamed to itself", ErrMalformed, a.Name)
	}
	return nil
}

func (a *RenameDomain) marshalFields(w *wire.Writer) {
	w.Bytes([]byte(a.Name))
	w.Bytes([]byte(a.NewName))
}

func (a *RenameDomain) readFields(r *wire.Reader) {
	a.Name = readIdent(r, "domain")
	a.NewName = readIdent(r, "new name")
}

// Mint creates tokens for an account, or for the treasury (To is
// TreasuryID); the supply grows.
type Mint struct {
	To     crypto.ID
	Amount uint64
}

// Kind is ActMint.
func (*Mint) Kind() ActionKind { return ActMint }

// Check checks that the amount is above 0.
func (a *Mint) Check() error { return checkAmount(a.Amount) }

func (a *Mint) marshalFields(w *wire.Writer) {
	w.Raw(a.To[:])
	w.U64(a.Amount)
}

func (a *Mint) readFields(r *wire.Reader) {
	a.To = readID(r, "to")
	a.Amount = r.U64("amount")
}

// Pay moves tokens from the treasury to an account.
type Pay struct {
	To     crypto.ID
	Amount uint64
}

// Kind is ActPay.
func (*Pay) Kind() ActionKind { return ActPay }

// Check checks that the amount is above 0.
func (a *Pay) Check() error { return checkAmount(a.Amount) }

func (a *Pay) marshalFields(w *wire.Writer) {
	w.Raw(a.To[:])
	w.U64(a.Amount)
}

func (a *Pay) readFields(r *wire.Reader) {
	a.To = readID(r, "to")
	a.Amount = r.U64("amount")
}

// SetVersion puts a protocol version in force from a height.
type SetVersion struct {
	Version uint32
	Height  uint64
}

// Kind is ActSetVersion.
func (*SetVersion) Kind() ActionKind { return ActSetVersion }

// Check checks that the version and the height are above 0.
func (a *SetVersion) Check() error {
	if a.Version == 0 || a.Height == 0 {
		return fmt.Errorf("%w: version %d from height %d: both must be above 0", ErrMalformed, a.Version, a.Height)
	}
	return nil
}

func (a *SetVersion) marshalFields(w *wire.Writer) {
	w.U32(a.Version)
	w.U64(a.Height)
}

func (a *SetVersion) readFields(r *wire.Reader) {
	a.Version = r.U32("version")
	a.Height = r.U64("height")
}

// Appoint makes a member the holder of an executor's role for a term (ms).
type Appoint struct {
	Role   string
	Member crypto.ID
	Term   uint64
}

// Kind is ActAppoint.
func (*Appoint) Kind() ActionKind { return ActAppoint }

// Check checks the role's name and the term (1 … MaxWindow ms).
func (a *Appoint) Check() error {
	if err := CheckIdent(a.Role); err != nil {
		return err
	}
	if a.Term == 0 || a.Term > MaxWindow {
		return fmt.Errorf("%w: a term of %d ms, not in 1 … %d", ErrMalformed, a.Term, MaxWindow)
	}
	return nil
}

func (a *Appoint) marshalFields(w *wire.Writer) {
	w.Bytes([]byte(a.Role))
	w.Raw(a.Member[:])
	w.U64(a.Term)
}

func (a *Appoint) readFields(r *wire.Reader) {
	a.Role = readIdent(r, "role")
	a.Member = readID(r, "member")
	a.Term = r.U64("term")
}

// Dismiss ends an executor's role.
type Dismiss struct {
	Role string
}

// Kind is ActDismiss.
func (*Dismiss) Kind() ActionKind { return ActDismiss }

// Check checks the role's name.
func (a *Dismiss) Check() error { return CheckIdent(a.Role) }

func (a *Dismiss) marshalFields(w *wire.Writer) { w.Bytes([]byte(a.Role)) }
func (a *Dismiss) readFields(r *wire.Reader)    { a.Role = readIdent(r, "role") }
