package apijson

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/mass-consensus/mass/internal/app/sale"
	"github.com/mass-consensus/mass/internal/crypto"
)

// The error codes of POST /v1/sales/{id}/stamps besides the common ones:
// each names the reason a node refuses to stamp (sale's Refusal reasons),
// or its rate limit.
const (
	CodeSaleClosed      = "sale_closed"        // 409: the sale is allocated
	CodeSaleWindow      = "sale_window"        // 409: the node's clock is outside the window
	CodeSaleQuantity    = "sale_quantity"      // 400: quantity out of 1 … per request
	CodeSaleNotMember   = "sale_not_member"    // 403: a members-only sale, a non-member
	CodeSaleBadPoW      = "sale_bad_pow"       // 400: the proof of work does not meet the difficulty
	CodeSaleBadSig      = "sale_bad_signature" // 400: the ask is not signed by the buyer
	CodeSaleNotNode     = "sale_not_node"      // 403: this node is not in the sale's node set
	CodeSaleDuplicate   = "sale_duplicate"     // 409: the identity was stamped for another request
	CodeSaleFull        = "sale_full"          // 409: this node stamped as many identities as it may for the sale
	CodeSaleTooMany     = "sale_too_many"      // 409: this node stamps for as many sales as it may
	CodeRateLimited     = "rate_limited"       // 429: too many stamp requests from this address (Retry-After)
	CodeSaleUnavailable = "sale_unavailable"   // 404: this node does not stamp (no key or no application)
)

// Outcomes of a buyer in a sale (SaleBuyer.Outcome).
const (
	OutcomeOpen   = "open"   // the sale is not allocated yet
	OutcomeWon    = "won"    // a result granting items
	OutcomeUnpaid = "unpaid" // served but passed over: the balance did not cover the price
	OutcomeLost   = "lost"   // closed, no result
)

// StampAsk is the JSON form of POST /v1/sales/{id}/stamps (the body may
// also be the ask's binary encoding, sale.Ask.Marshal): the fields of the
// buyer's request that a stamp covers, and the buyer's signature over the
// request's hash (sale.SignAsk). Keys and signature in hex.
type StampAsk struct {
	Sale      uint64 `json:"sale"`
	Buyer     string `json:"buyer"`
	Quantity  uint32 `json:"quantity"`
	Nonce     uint64 `json:"nonce"`
	Signature string `json:"signature"`
}

// AskOf is the JSON form of an ask.
func AskOf(a *sale.Ask) StampAsk {
	return StampAsk{Sale: a.Sale, Buyer: a.Buyer.String(), Quantity: a.Quantity, Nonce: a.Nonce, Signature: hex.EncodeToString(a.Sig[:])}
}

// Ask decodes the JSON form of an ask.
func (j *StampAsk) Ask() (*sale.Ask, error) {
	a := &sale.Ask{Sale: j.Sale, Quantity: j.Quantity, Nonce: j.Nonce}
	k, err := crypto.ParsePublicKey(j.Buyer)
	if err != nil {
		return nil, fmt.Errorf("%w: buyer: %w", ErrMalformed, err)
	}
	a.Buyer = k
	if err := checkHex("signature", j.Signature, crypto.SignatureSize); err != nil {
		return nil, err
	}
	sig, _ := hex.DecodeString(j.Signature)
	copy(a.Sig[:], sig)
	if a.Quantity == 0 {
		return nil, fmt.Errorf("%w: a quantity of 0", ErrMalformed)
	}
	return a, nil
}

// Stamp answers POST /v1/sales/{id}/stamps: the node's stamp of the
// request's hash at its clock reading (Unix ms), in hex.
type Stamp struct {
	Sale      uint64 `json:"sale"`
	Hash      string `json:"hash"`
	Node      string `json:"node"`
	Time      int64  `json:"time"`
	Signature string `json:"signature"`
}

// StampOf is the answer for a stamp of a request hash.
func StampOf(id uint64, hash [32]byte, s sale.Stamp) Stamp {
	return Stamp{Sale: id, Hash: hex.EncodeToString(hash[:]), Node: s.Node.String(), Time: s.Time, Signature: hex.EncodeToString(s.Sig[:])}
}

// Check refuses fields of the wrong size or not hex.
func (s *Stamp) Check() error {
	if err := checkHex("hash", s.Hash, 32); err != nil {
		return err
	}
	if err := checkHex("node", s.Node, crypto.PublicKeySize); err != nil {
		return err
	}
	return checkHex("signature", s.Signature, crypto.SignatureSize)
}

// Stamp decodes the stamp (its signature is not verified: sale.Choose
// does).
func (s *Stamp) Stamp() (sale.Stamp, error) {
	if err := s.Check(); err != nil {
		return sale.Stamp{}, err
	}
	out := sale.Stamp{Time: s.Time}
	k, _ := hex.DecodeString(s.Node)
	sig, _ := hex.DecodeString(s.Signature)
	copy(out.Node[:], k)
	copy(out.Sig[:], sig)
	return out, nil
}

// SaleView is a sale's record (docs/SALE.md), its binary fields in hex;
// Record is the record's canonical encoding, from which a client decodes
// the sale exactly (sale.UnmarshalSale).
type SaleView struct {
	ID          uint64   `json:"id"`
	Opener      string   `json:"opener,omitempty"`
	Proposal    uint64   `json:"proposal,omitempty"`
	Item        string   `json:"item"`
	Supply      uint32   `json:"supply"`
	PerRequest  uint32   `json:"per_request"`
	Start       uint64   `json:"start"`
	Window      uint64   `json:"window"`
	MaxAge      uint64   `json:"max_age"`
	Difficulty  uint8    `json:"difficulty"`
	Price       uint64   `json:"price"`
	MaxRequests uint32   `json:"max_requests"`
	Opens       int64    `json:"opens"`
	Closes      int64    `json:"closes"`
	Due         int64    `json:"due"`
	Nodes       []string `json:"nodes"`
	Quorum      int      `json:"quorum"`
	State       string   `json:"state"`
	Kept        uint32   `json:"kept"`
	Accepted    uint64   `json:"accepted"`
	Evicted     uint64   `json:"evicted"`
	Seed        string   `json:"seed,omitempty"`
	Sold        uint32   `json:"sold"`
	Winners     uint32   `json:"winners"`
	Unpaid      uint32   `json:"unpaid"`
	CutFair     int64    `json:"cut_fair,omitempty"`
	CutTie      string   `json:"cut_tie,omitempty"`
	Record      string   `json:"record"`
}

// SaleViewOf is the view of a sale's record.
func SaleViewOf(s *sale.Sale) SaleView {
	v := SaleView{ID: s.ID, Proposal: s.Proposal, Item: s.Params.Item, Supply: s.Params.Supply,
		PerRequest: s.Params.PerRequest, Start: s.Params.Start, Window: s.Params.Window, MaxAge: s.Params.MaxAge,
		Difficulty: s.Params.Difficulty, Price: s.Params.Price, MaxRequests: s.Params.MaxRequests,
		Opens: s.Opens, Closes: s.Closes, Due: s.Due(), Quorum: s.Quorum(), State: s.State.String(),
		Kept: s.Kept, Accepted: s.Accepted, Evicted: s.Evicted, Sold: s.Sold, Winners: s.Winners, Unpaid: s.Unpaid,
		Record: hex.EncodeToString(s.Marshal())}
	if s.Opener != (crypto.ID{}) {
		v.Opener = s.Opener.String()
	}
	for _, k := range s.Nodes {
		v.Nodes = append(v.Nodes, k.String())
	}
	if s.State == sale.StateClosed {
		v.Seed = hex.EncodeToString(s.Seed[:])
		v.CutFair, v.CutTie = s.Cut.Fair, hex.EncodeToString(s.Cut.Tie[:])
	}
	return v
}

// Sale decodes the record the view carries and checks that the view says
// the same of its ID and state.
func (v *SaleView) Sale() (*sale.Sale, error) {
	raw, err := hex.DecodeString(v.Record)
	if err != nil {
		return nil, fmt.Errorf("%w: the sale's record is not hex", ErrMalformed)
	}
	s, err := sale.UnmarshalSale(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if s.ID != v.ID || s.State.String() != v.State || s.Sold != v.Sold {
		return nil, fmt.Errorf("%w: the view of sale %d disagrees with its record", ErrMalformed, v.ID)
	}
	return s, nil
}

// Check refuses a view whose record does not decode or disagrees.
func (v *SaleView) Check() error {
	_, err := v.Sale()
	return err
}

// Sale answers GET /v1/sales/{id}: the sale's record at Height, with
// ?prove=1 its proof.
type Sale struct {
	Height uint64    `json:"height"`
	Sale   *SaleView `json:"sale"`
	Proof  *Leaf     `json:"proof,omitempty"`
}

// Check refuses an answer without the sale, or whose proof is of another
// height or record.
func (s *Sale) Check() error {
	if s.Sale == nil {
		return fmt.Errorf("%w: an answer without the sale", ErrMalformed)
	}
	if err := s.Sale.Check(); err != nil {
		return err
	}
	if s.Proof != nil && (s.Proof.Height != s.Height || !strings.EqualFold(s.Proof.Key, keyHex(sale.SaleKey(s.Sale.ID))) || !s.Proof.Found) {
		return fmt.Errorf("%w: the proof is not of sale %d's record at height %d", ErrMalformed, s.Sale.ID, s.Height)
	}
	return nil
}

// SaleDue is an open sale and the block time from which it is allocated.
type SaleDue struct {
	ID  uint64 `json:"id"`
	Due int64  `json:"due"`
}

// Sales answers GET /v1/sales: the next sale's ID and the open sales (at
// most sale.MaxOpen), at Height, with ?prove=1 the registry's proof.
type Sales struct {
	Height uint64    `json:"height"`
	Next   uint64    `json:"next"`
	Open   []SaleDue `json:"open"`
	Proof  *Leaf     `json:"proof,omitempty"`
}

// Check refuses more open sales than there may be, and a proof of another
// height or record.
func (s *Sales) Check() error {
	if len(s.Open) > sale.MaxOpen {
		return fmt.Errorf("%w: %d open sales, at most %d", ErrMalformed, len(s.Open), sale.MaxOpen)
	}
	if s.Proof != nil && (s.Proof.Height != s.Height || !strings.EqualFold(s.Proof.Key, keyHex(sale.RegistryKey))) {
		return fmt.Errorf("%w: the proof is not of the sales registry at height %d", ErrMalformed, s.Height)
	}
	return nil
}

// SaleStampView is one stamp of a kept request.
type SaleStampView struct {
	Node      string `json:"node"`
	Time      int64  `json:"time"`
	Signature string `json:"signature"`
}

// SaleRequestView is a buyer's kept request: as committed, with its
// stamps, whether the buyer was a member, and its fair time.
type SaleRequestView struct {
	Buyer    string          `json:"buyer"`
	Quantity uint32          `json:"quantity"`
	Nonce    uint64          `json:"nonce"`
	Member   bool            `json:"member"`
	Fair     int64           `json:"fair"`
	Stamps   []SaleStampView `json:"stamps"`
}

// SaleRequestViewOf is the view of a kept request.
func SaleRequestViewOf(k *sale.Kept) SaleRequestView {
	v := SaleRequestView{Buyer: k.Request.Buyer.String(), Quantity: k.Request.Quantity, Nonce: k.Request.Nonce, Member: k.Member, Fair: k.Fair}
	for _, s := range k.Request.Stamps {
		v.Stamps = append(v.Stamps, SaleStampView{Node: s.Node.String(), Time: s.Time, Signature: hex.EncodeToString(s.Sig[:])})
	}
	return v
}

// SaleResultView is a served request's result: its rank (from 1), the
// items granted (0: passed over for want of funds), the tokens paid and
// its order key.
type SaleResultView struct {
	Rank    uint32 `json:"rank"`
	Granted uint32 `json:"granted"`
	Paid    uint64 `json:"paid"`
	Fair    int64  `json:"fair"`
	Tie     string `json:"tie"`
}

// SaleResultViewOf is the view of a result.
func SaleResultViewOf(r *sale.Result) SaleResultView {
	return SaleResultView{Rank: r.Rank, Granted: r.Granted, Paid: r.Paid, Fair: r.Key.Fair, Tie: hex.EncodeToString(r.Key.Tie[:])}
}

// SaleBuyer answers GET /v1/sales/{id}/buyers/{account}: what the state
// at Height holds of one buyer in a sale — the sale's record, the buyer's
// kept request (absent if never kept, or evicted) and its result (absent
// if not served) — and the outcome they say. With ?prove=1, Proofs are the
// proofs of the three records, in that order (orgapp.SaleKeys): a light
// client proves a win from the result's presence, a loss from its absence
// in a closed sale, and checks the buyer's order key against the sale's
// cut-off.
type SaleBuyer struct {
	Height  uint64           `json:"height"`
	Buyer   string           `json:"buyer"`
	Sale    *SaleView        `json:"sale"`
	Request *SaleRequestView `json:"request,omitempty"`
	Result  *SaleResultView  `json:"result,omitempty"`
	Outcome string           `json:"outcome"`
	Proofs  []Leaf           `json:"proofs,omitempty"`
}

// OutcomeOf is what a sale's state, a buyer's result and whether it was
// found say of the buyer.
func OutcomeOf(s *sale.Sale, r *sale.Result) string {
	switch {
	case r != nil && r.Granted > 0:
		return OutcomeWon
	case r != nil:
		return OutcomeUnpaid
	case s.State != sale.StateClosed:
		return OutcomeOpen
	}
	return OutcomeLost
}

// Check refuses an answer without the sale, a malformed buyer, an
// outcome that the records do not say, or proofs that are not the three
// records' at Height.
func (b *SaleBuyer) Check() error {
	if b.Sale == nil {
		return fmt.Errorf("%w: an answer without the sale", ErrMalformed)
	}
	s, err := b.Sale.Sale()
	if err != nil {
		return err
	}
	if err := checkHex("buyer", b.Buyer, crypto.IDSize); err != nil {
		return err
	}
	var r *sale.Result
	if b.Result != nil {
		r = &sale.Result{Granted: b.Result.Granted}
	}
	if want := OutcomeOf(s, r); b.Outcome != want {
		return fmt.Errorf("%w: the outcome %q, the records say %q", ErrMalformed, b.Outcome, want)
	}
	if len(b.Proofs) == 0 {
		return nil
	}
	if len(b.Proofs) != 3 {
		return fmt.Errorf("%w: %d proofs, want the sale's, the request's and the result's", ErrMalformed, len(b.Proofs))
	}
	raw, _ := hex.DecodeString(b.Buyer)
	id := crypto.ID(raw)
	keys := []string{keyHex(sale.SaleKey(s.ID)), keyHex(sale.RequestKey(s.ID, id)), keyHex(sale.ResultKey(s.ID, id))}
	found := []bool{true, b.Request != nil, b.Result != nil}
	for i, p := range b.Proofs {
		if !strings.EqualFold(p.Key, keys[i]) || p.Found != found[i] {
			return fmt.Errorf("%w: proof %d is not of the record the answer names", ErrMalformed, i)
		}
	}
	return checkProofs(b.Height, b.Proofs)
}
