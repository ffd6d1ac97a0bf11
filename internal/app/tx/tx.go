// Package tx is the transaction format of the Mass application: a signed,
// canonical binary envelope (type, sender, nonce, payload, signatures) and
// the payload of each transaction type.
//
// # Encoding
//
// Integers are big-endian; a byte string is a uint32 length then the bytes.
//
//	tx      = version:u8 (=1) ‖ type:u8 ‖ sender:[32] (ed25519 public key)
//	          ‖ nonce:u64 ‖ payload:bytes (at most MaxPayload)
//	          ‖ count:u8 ‖ count × signature:[64]
//	body    = the tx up to and including the payload
//	signed  = "mass/tx/v1" ‖ 0x00 ‖ len(chain id):u8 ‖ chain id ‖ body
//
// Every signature is an ed25519 signature over `signed`, verified under the
// ZIP-215 rule (package crypto). The first is the sender's; a transfer
// carries a second, the recipient's, over the same bytes. The count must
// equal the number of signers the type requires, so a transaction has one
// encoding. A transaction's hash, by which clients follow it, is SHA-256 of
// its whole encoding.
//
// The chain ID is signed but not sent: a transaction signed for one network
// does not verify on another.
//
// Payloads (see each type):
//
//	transfer (1) = to:[32] public key ‖ amount:u64 (> 0) ‖ memo:bytes (≤ 256)
//	apply    (2) = name:bytes (1–64, UTF-8, no control characters) ‖ note:bytes (≤ 1024, UTF-8)
//	decide   (3) = applicant:[20] ID ‖ accept:u8 (0 or 1)
//	leave    (4) = (empty)
//
// Governance (docs/GOVERNANCE.md), where ident is 1–32 bytes of a-z, 0-9,
// '_', '-' starting with a letter, text is UTF-8 without control characters
// (a multiline text allows newlines and tabs), and
// desire = meeting:u64 (ms, 1 … MaxWindow) ‖ publicity:u64 (ms, 1 … MaxWindow)
// ‖ capacity:u16 (2 … 1024):
//
//	create    (5)  = domain:ident ‖ title:bytes (1–200, text) ‖ body:bytes (≤ 16 KiB, multiline text or empty)
//	                 ‖ count:u8 (1–32) ‖ option × count ‖ desire
//	join      (6)  = proposal:u64 ‖ desire
//	option    (7)  = proposal:u64 ‖ option
//	comment   (8)  = proposal:u64 ‖ text:bytes (1–2048, multiline text)
//	vote      (9)  = proposal:u64 ‖ round:u8 (≥ 1) ‖ meeting:u16 ‖ count:u8 (1–32)
//	                 ‖ option index:u8 × count (strictly increasing, < 32)
//	freeze    (10) = proposal:u64
//	review    (11) = proposal:u64 ‖ freeze:u8 (≥ 1) ‖ lift:u8 (0 cancel, 1 lift)
//	challenge (12) = target:[20] ID ‖ domain:ident ‖ reason:bytes (1–16 KiB, multiline text) ‖ desire
//
// Sales (docs/SALE.md):
//
//	sale_open    (13) = params (sale.Params.MarshalTo)
//	sale_request (14) = request (sale.Request.MarshalTo); the nonce must be 0
//
//	option = title:bytes (1–200, text) ‖ count:u8 (≤ 8) ‖ action × count
//	action = kind:u8 ‖ fields (see MarshalAction)
//
// Decoders reject unknown versions and types, non-canonical payloads,
// oversized fields and trailing bytes.
package tx

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/wire"
)

// Version is the envelope version this package writes and reads.
const Version = 1

// Limits.
const (
	// MaxSize bounds an encoded transaction.
	MaxSize = 64 << 10
	// MaxPayload bounds a payload.
	MaxPayload = 32 << 10
	// MaxSigs bounds the signatures of a transaction.
	MaxSigs = 8
	// MaxMemo bounds a transfer's memo.
	MaxMemo = 256
	// MaxName bounds a name, in bytes.
	MaxName = 64
	// MaxNote bounds an application's note, in bytes.
	MaxNote = 1024
	// MaxChainID bounds the chain ID signed with a transaction.
	MaxChainID = 64
)

// ErrMalformed is wrapped by every decoding error.
var ErrMalformed = errors.New("tx: malformed transaction")

// Type is the kind of a transaction.
type Type uint8

// The transaction types.
const (
	TypeTransfer Type = 1 // move tokens; signed by both parties
	TypeApply    Type = 2 // apply to join the organization
	TypeDecide   Type = 3 // a supervisor accepts or refuses an application
	TypeLeave    Type = 4 // leave the organization

	TypeCreate    Type = 5  // create a proposal
	TypeJoin      Type = 6  // join a proposal
	TypeOption    Type = 7  // add an option to a proposal
	TypeComment   Type = 8  // comment on a proposal
	TypeVote      Type = 9  // approve options in a round
	TypeFreeze    Type = 10 // freeze a proposal in publicity
	TypeReview    Type = 11 // vote to lift a freeze or cancel the proposal
	TypeChallenge Type = 12 // challenge a member

	TypeSaleOpen    Type = 13 // a supervisor opens a sale
	TypeSaleRequest Type = 14 // a buyer's stamped request in a sale
)

var typeNames = map[Type]string{
	TypeTransfer: "transfer",
	TypeApply:    "apply",
	TypeDecide:   "decide",
	TypeLeave:    "leave",

	TypeCreate:    "create",
	TypeJoin:      "join",
	TypeOption:    "option",
	TypeComment:   "comment",
	TypeVote:      "vote",
	TypeFreeze:    "freeze",
	TypeReview:    "review",
	TypeChallenge: "challenge",

	TypeSaleOpen:    "sale_open",
	TypeSaleRequest: "sale_request",
}

func (t Type) String() string {
	if s, ok := typeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// Body is the payload of one transaction type.
type Body interface {
	Type() Type
	marshalTo(w *wire.Writer)
	// cosigner returns the public key that must sign besides the sender,
	// if any.
	cosigner() (crypto.PublicKey, bool)
}

// Tx is a decoded transaction.
type Tx struct {
	Sender crypto.PublicKey
	Nonce  uint64
	Body   Body
	Sigs   []crypto.Signature
}

// New returns an unsigned transaction.
func New(sender crypto.PublicKey, nonce uint64, body Body) *Tx {
	return &Tx{Sender: sender, Nonce: nonce, Body: body}
}

// Signers returns the keys that must sign, in signature order.
func (t *Tx) Signers() []crypto.PublicKey {
	if k, ok := t.Body.cosigner(); ok {
		return []crypto.PublicKey{t.Sender, k}
	}
	return []crypto.PublicKey{t.Sender}
}

func (t *Tx) bodyTo(w *wire.Writer) {
	w.U8(Version)
	w.U8(uint8(t.Body.Type()))
	w.Raw(t.Sender[:])
	w.U64(t.Nonce)
	p := wire.NewWriter(64)
	t.Body.marshalTo(p)
	w.Bytes(p.Finish())
}

// SignedBytes returns what every signer signs (after the domain tag).
func (t *Tx) SignedBytes(chainID string) []byte {
	w := wire.NewWriter(128)
	w.U8(uint8(len(chainID)))
	w.Raw([]byte(chainID))
	t.bodyTo(w)
	return w.Finish()
}

// Sign appends the signature of key, which must be the next signer.
func (t *Tx) Sign(chainID string, key *crypto.PrivateKey) error {
	signers := t.Signers()
	if len(t.Sigs) >= len(signers) {
		return fmt.Errorf("tx: already signed by all %d signers", len(signers))
	}
	if want := signers[len(t.Sigs)]; key.Public() != want {
		return fmt.Errorf("tx: signature %d must be by %s, not %s", len(t.Sigs), want, key.Public())
	}
	t.Sigs = append(t.Sigs, key.Sign(crypto.DomainTx, t.SignedBytes(chainID)))
	return nil
}

// AddTo adds the transaction's signatures to a batch. It returns an error if
// the count of signatures is wrong.
func (t *Tx) AddTo(b *crypto.Batch, chainID string) error {
	signers := t.Signers()
	if len(t.Sigs) != len(signers) {
		return fmt.Errorf("%w: %d signatures, %s needs %d", ErrMalformed, len(t.Sigs), t.Body.Type(), len(signers))
	}
	msg := t.SignedBytes(chainID)
	for i, k := range signers {
		b.Add(k, crypto.DomainTx, msg, t.Sigs[i])
	}
	return nil
}

// Verify checks every signature of the transaction.
func (t *Tx) Verify(chainID string) error {
	b := crypto.NewBatch(2)
	if err := t.AddTo(b, chainID); err != nil {
		return err
	}
	valid, err := b.Verify()
	if err != nil {
		for i, ok := range valid {
			if !ok {
				return fmt.Errorf("signature %d (by %s) does not verify: %w", i, t.Signers()[i], err)
			}
		}
		return err
	}
	return nil
}

// Marshal returns the canonical encoding.
func (t *Tx) Marshal() []byte {
	w := wire.NewWriter(128 + len(t.Sigs)*crypto.SignatureSize)
	t.bodyTo(w)
	w.U8(uint8(len(t.Sigs)))
	for _, s := range t.Sigs {
		w.Raw(s[:])
	}
	return w.Finish()
}

// Hash is the transaction's hash: SHA-256 of its encoding.
func (t *Tx) Hash() [32]byte { return sha256.Sum256(t.Marshal()) }

// Unmarshal decodes a transaction, checking its structure (not its
// signatures).
func Unmarshal(b []byte) (*Tx, error) { return unmarshal(b, false) }

// UnmarshalPartial decodes a transaction that may lack some of its
// signatures (one being passed between its signers); it is not valid until
// Unmarshal accepts it.
func UnmarshalPartial(b []byte) (*Tx, error) { return unmarshal(b, true) }

func unmarshal(b []byte, partial bool) (*Tx, error) {
	if len(b) > MaxSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrMalformed, len(b), MaxSize)
	}
	r := wire.NewReader(b)
	if v := r.U8("version"); r.Err() == nil && v != Version {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrMalformed, v, Version)
	}
	typ := Type(r.U8("type"))
	t := &Tx{}
	copy(t.Sender[:], r.Raw(crypto.PublicKeySize, "sender"))
	t.Nonce = r.U64("nonce")
	payload := r.Bytes(MaxPayload, "payload")
	n := int(r.U8("signature count"))
	if n > MaxSigs {
		return nil, fmt.Errorf("%w: %d signatures, limit %d", ErrMalformed, n, MaxSigs)
	}
	for i := 0; i < n && r.Err() == nil; i++ {
		var s crypto.Signature
		copy(s[:], r.Raw(crypto.SignatureSize, "signature"))
		t.Sigs = append(t.Sigs, s)
	}
	if err := r.Done(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	body, err := decodeBody(typ, payload)
	if err != nil {
		return nil, err
	}
	t.Body = body
	for _, k := range t.Signers() {
		if err := k.CheckStrong(); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
	}
	if want := len(t.Signers()); n != want && !(partial && n < want) {
		return nil, fmt.Errorf("%w: %d signatures, %s needs %d", ErrMalformed, n, typ, want)
	}
	return t, nil
}

func decodeBody(typ Type, payload []byte) (Body, error) {
	r := wire.NewReader(payload)
	var body Body
	switch typ {
	case TypeTransfer:
		var b Transfer
		copy(b.To[:], r.Raw(crypto.PublicKeySize, "to"))
		b.Amount = r.U64("amount")
		b.Memo = r.Bytes(MaxMemo, "memo")
		if r.Err() == nil && b.Amount == 0 {
			return nil, fmt.Errorf("%w: transfer of 0", ErrMalformed)
		}
		body = &b
	case TypeApply:
		var b Apply
		b.Name = string(r.Bytes(MaxName, "name"))
		b.Note = string(r.Bytes(MaxNote, "note"))
		if r.Err() == nil {
			if err := CheckName(b.Name); err != nil {
				return nil, err
			}
			if !utf8.ValidString(b.Note) {
				return nil, fmt.Errorf("%w: note is not UTF-8", ErrMalformed)
			}
		}
		body = &b
	case TypeDecide:
		var b Decide
		copy(b.Applicant[:], r.Raw(crypto.IDSize, "applicant"))
		b.Accept = r.Bool("accept")
		body = &b
	case TypeLeave:
		body = &Leave{}
	default:
		b, ok, err := decodeGov(typ, r)
		if !ok {
			b, ok, err = decodeSale(typ, r)
		}
		if !ok {
			return nil, fmt.Errorf("%w: unknown type %d", ErrMalformed, uint8(typ))
		}
		if err != nil && r.Err() == nil {
			if errors.Is(err, ErrMalformed) {
				return nil, fmt.Errorf("%s payload: %w", typ, err)
			}
			return nil, fmt.Errorf("%w: %s payload: %w", ErrMalformed, typ, err)
		}
		body = b
	}
	if err := r.Done(); err != nil {
		return nil, fmt.Errorf("%w: %s payload: %w", ErrMalformed, typ, err)
	}
	return body, nil
}

// CheckName checks a member's name: 1 to MaxName bytes of UTF-8, no control
// characters, no leading or trailing space.
func CheckName(name string) error {
	switch {
	case name == "" || len(name) > MaxName:
		return fmt.Errorf("%w: a name has 1 to %d bytes, not %d", ErrMalformed, MaxName, len(name))
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: name is not UTF-8", ErrMalformed)
	}
	for i, r := range name {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: name has a control character at byte %d", ErrMalformed, i)
		}
	}
	if first, _ := utf8.DecodeRuneInString(name); unicode.IsSpace(first) {
		return fmt.Errorf("%w: name starts with a space", ErrMalformed)
	}
	if last, _ := utf8.DecodeLastRuneInString(name); unicode.IsSpace(last) {
		return fmt.Errorf("%w: name ends with a space", ErrMalformed)
	}
	return nil
}

// Transfer moves Amount tokens from the sender to To; both sign.
type Transfer struct {
	To     crypto.PublicKey
	Amount uint64
	Memo   []byte
}

// Type is TypeTransfer.
func (*Transfer) Type() Type { return TypeTransfer }

func (b *Transfer) marshalTo(w *wire.Writer) {
	w.Raw(b.To[:])
	w.U64(b.Amount)
	w.Bytes(b.Memo)
}

func (b *Transfer) cosigner() (crypto.PublicKey, bool) { return b.To, true }

// Apply asks to join the organization under a name.
type Apply struct {
	Name string
	Note string
}

// Type is TypeApply.
func (*Apply) Type() Type { return TypeApply }

func (b *Apply) marshalTo(w *wire.Writer) {
	w.Bytes([]byte(b.Name))
	w.Bytes([]byte(b.Note))
}

func (*Apply) cosigner() (crypto.PublicKey, bool) { return crypto.PublicKey{}, false }

// Decide is a supervisor's answer to an application.
type Decide struct {
	Applicant crypto.ID
	Accept    bool
}

// Type is TypeDecide.
func (*Decide) Type() Type { return TypeDecide }

func (b *Decide) marshalTo(w *wire.Writer) {
	w.Raw(b.Applicant[:])
	w.Bool(b.Accept)
}

func (*Decide) cosigner() (crypto.PublicKey, bool) { return crypto.PublicKey{}, false }

// Leave leaves the organization.
type Leave struct{}

// Type is TypeLeave.
func (*Leave) Type() Type { return TypeLeave }

func (*Leave) marshalTo(*wire.Writer) {}

func (*Leave) cosigner() (crypto.PublicKey, bool) { return crypto.PublicKey{}, false }
