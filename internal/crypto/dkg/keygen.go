package dkg

import (
	"crypto/ecdh"
	"fmt"

	"go.dedis.ch/kyber/v4"
	"go.dedis.ch/kyber/v4/share"
)

// KeyGen is one node's (or an observer's) view of a key generation: it is
// fed every Part and Ack in the order of the log, and once Ready gives the
// key. It does no I/O, draws no randomness and reads no clock; it is not
// safe for concurrent use.
type KeyGen struct {
	prm    *params
	parts  []*dealing // by dealer; nil until its Part is handled
	faults []Fault
}

// dealing is what is known of one dealer's Part.
type dealing struct {
	commit *commitment
	acked  []bool // by acker
	acks   int
	row    []kyber.Point     // commitment to our row; nil for an observer
	values []*share.PriShare // checked values of our row, in ack order, at most T
}

// New starts the key generation of cfg at node cfg.Self (or an observer).
func New(cfg Config) (*KeyGen, error) {
	prm, err := cfg.setup()
	if err != nil {
		return nil, err
	}
	return &KeyGen{prm: prm, parts: make([]*dealing, prm.n)}, nil
}

// HandlePart handles the Part posted by dealer. It refuses, changing
// nothing, a Part of another key generation (ErrContext), one posted by a
// node other than its dealer (ErrSender), and a dealer's second Part
// (ErrDuplicatePart). Otherwise the Part is accepted, and: for an observer,
// nil is returned; for a node whose row opens and checks, the Ack it must
// post; for a node whose row does not, nil and a Fault of the dealer.
func (kg *KeyGen) HandlePart(dealer int, p *Part) (*Ack, error) {
	if err := kg.checkPart(dealer, p); err != nil {
		return nil, err
	}
	d := &dealing{commit: p.commit, acked: make([]bool, kg.prm.n)}
	kg.parts[dealer] = d
	if kg.prm.secret == nil {
		return nil, nil
	}
	d.row = p.commit.row(kg.prm.self + 1)
	row, err := kg.openRow(p, d.row)
	if err != nil {
		kg.faults = append(kg.faults, Fault{Kind: FaultRow, Node: dealer, Dealer: dealer, Err: err})
		return nil, nil
	}
	return newAck(kg.prm, p, row), nil
}

// checkPart is HandlePart's public checks.
func (kg *KeyGen) checkPart(dealer int, p *Part) error {
	switch {
	case p == nil:
		return fmt.Errorf("%w: no part", ErrEncoding)
	case p.tag != kg.prm.tag:
		return fmt.Errorf("%w: part", ErrContext)
	case dealer < 0 || dealer >= kg.prm.n || p.dealer != dealer:
		return fmt.Errorf("%w: part of dealer %d posted by %d", ErrSender, p.dealer, dealer)
	case kg.parts[dealer] != nil:
		return fmt.Errorf("%w: dealer %d", ErrDuplicatePart, dealer)
	}
	return nil
}

// openRow opens our row of p and checks it against R, its commitment.
func (kg *KeyGen) openRow(p *Part, R []kyber.Point) ([]kyber.Scalar, error) {
	self := kg.prm.self
	l := &label{tag: kg.prm.tag, kind: kindRow, dealer: p.dealer, sender: p.dealer, recipient: self}
	plain, err := open(kg.prm.secret, p.eph, l, p.rows[self])
	if err != nil {
		return nil, err
	}
	row, err := decodeScalars(plain, kg.prm.f+1)
	if err != nil {
		return nil, err
	}
	if !checkRow(row, R) {
		return nil, errBadPiece
	}
	return row, nil
}

// HandleAck handles the Ack posted by acker. It refuses, changing nothing,
// an Ack of another key generation (ErrContext), an acker out of range
// (ErrSender), an Ack of a dealer whose Part was not handled
// (ErrUnknownPart), and an acker's second Ack of a Part (ErrDuplicateAck).
// Otherwise the Ack counts towards its Part's completion, whatever it
// holds. A node also opens its value in the Ack, if it has fewer than T
// checked values of that Part, and keeps it if it checks; if it does not,
// the acker is recorded as a Fault.
func (kg *KeyGen) HandleAck(acker int, a *Ack) error {
	if err := kg.checkAck(acker, a); err != nil {
		return err
	}
	d := kg.parts[a.dealer]
	d.acked[acker] = true
	d.acks++
	if kg.prm.secret != nil && len(d.values) < kg.prm.threshold() {
		kg.takeValue(d, acker, a)
	}
	return nil
}

// checkAck is HandleAck's public checks.
func (kg *KeyGen) checkAck(acker int, a *Ack) error {
	switch {
	case a == nil:
		return fmt.Errorf("%w: no ack", ErrEncoding)
	case a.tag != kg.prm.tag:
		return fmt.Errorf("%w: ack", ErrContext)
	case acker < 0 || acker >= kg.prm.n:
		return fmt.Errorf("%w: acker %d of n=%d", ErrSender, acker, kg.prm.n)
	case kg.parts[a.dealer] == nil:
		return fmt.Errorf("%w: dealer %d", ErrUnknownPart, a.dealer)
	case kg.parts[a.dealer].acked[acker]:
		return fmt.Errorf("%w: node %d for dealer %d", ErrDuplicateAck, acker, a.dealer)
	}
	return nil
}

// takeValue opens our value in acker's Ack a and keeps it if it checks
// against our row's commitment.
func (kg *KeyGen) takeValue(d *dealing, acker int, a *Ack) {
	self := kg.prm.self
	l := &label{tag: kg.prm.tag, kind: kindValue, dealer: a.dealer, sender: acker, recipient: self}
	v, err := openValue(kg.prm.secret, a.eph, l, a.values[self])
	if err == nil && !checkValue(v, d.row, acker+1) {
		err = errBadPiece
	}
	if err != nil {
		kg.faults = append(kg.faults, Fault{Kind: FaultValue, Node: acker, Dealer: a.dealer, Err: err})
		return
	}
	d.values = append(d.values, &share.PriShare{I: uint32(acker), V: v})
}

// openValue opens one sealed value.
func openValue(secret *ecdh.PrivateKey, eph [KeySize]byte, l *label, sealed []byte) (kyber.Scalar, error) {
	plain, err := open(secret, eph, l, sealed)
	if err != nil {
		return nil, err
	}
	v, err := decodeScalars(plain, 1)
	if err != nil {
		return nil, err
	}
	return v[0], nil
}
