package light

import (
	"fmt"

	"github.com/mass-consensus/mass/internal/app/state"
	"github.com/mass-consensus/mass/internal/chain"
	"github.com/mass-consensus/mass/internal/smt"
)

// Leaf is a node's answer about one record of the state at a height: the
// record (or its absence), its proof, and the header and certificate of the
// height, each in its canonical encoding (docs/FORMATS.md). Its JSON form
// is the one the API answers with ?prove=1. Nothing in it is trusted
// before a Client verifies it.
type Leaf struct {
	Height      uint64
	Key         Key
	Found       bool
	Value       []byte // the record's encoding, when found
	Sum         uint64 // the record's sum (an account's balance), when found
	Proof       []byte
	Header      []byte
	Certificate []byte
}

// VerifyLeaf checks an answer against the verified chain: the header must
// be the verified one of its height, the certificate must certify it under
// the node set of that height, and the proof must show the record present
// (with its value and sum) or absent under the header's state root. It
// returns what the answer proves.
func (c *Client) VerifyLeaf(l *Leaf) (*Record, error) {
	if l.Header == nil || l.Certificate == nil || l.Proof == nil {
		return nil, fmt.Errorf("%w: the answer lacks its header, certificate or proof", ErrInvalid)
	}
	v, err := c.header(l.Height)
	if err != nil {
		return nil, err
	}
	hdr, cert, proof, err := decodeLeaf(l)
	if err != nil {
		return nil, err
	}
	if hdr.Height != l.Height || hdr.Hash() != v.hash {
		return nil, fmt.Errorf("%w: the answer's header is not the verified header of height %d", ErrInvalid, l.Height)
	}
	e, err := c.eraOf(l.Height)
	if err != nil {
		return nil, err
	}
	if err := cert.Verify(hdr, e.set); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	var value []byte
	if l.Found {
		if value = l.Value; value == nil {
			value = []byte{}
		}
	} else if l.Value != nil || l.Sum != 0 {
		return nil, fmt.Errorf("%w: an absent record with a value or sum", ErrInvalid)
	}
	root, total, err := proof.Verify(smt.Key(l.Key), value, l.Sum)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if root != smt.Hash(hdr.StateRoot) {
		return nil, fmt.Errorf("%w: the proof does not lead to the state root of height %d", ErrInvalid, l.Height)
	}
	r := &Record{Height: l.Height, BlockHash: Hash(v.hash), StateRoot: Hash(hdr.StateRoot), Time: hdr.Time,
		Key: l.Key, Found: l.Found, Value: value, Sum: l.Sum, Supply: total, Nodes: e.set.N()}
	if !l.Found {
		r.Value = nil
	}
	for _, vote := range cert.Votes {
		r.Signers = append(r.Signers, int(vote.Signer))
	}
	return r, nil
}

// decodeLeaf decodes the header, certificate and proof of an answer; what
// is malformed is invalid.
func decodeLeaf(l *Leaf) (*chain.Header, *chain.Certificate, *smt.Proof, error) {
	hdr, err := chain.UnmarshalHeader(l.Header)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: the answer's header: %w", ErrInvalid, err)
	}
	cert, err := chain.UnmarshalCertificate(l.Certificate)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: the answer's certificate: %w", ErrInvalid, err)
	}
	proof, err := smt.UnmarshalProof(l.Proof)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: the answer's proof: %w", ErrInvalid, err)
	}
	return hdr, cert, proof, nil
}

// VerifyAccount checks an answer about an account and returns the account
// (nil if the proof shows it absent) and what the answer proves.
func (c *Client) VerifyAccount(l *Leaf, id AccountID) (*Account, *Record, error) {
	if l.Key != id.Key() {
		return nil, nil, fmt.Errorf("%w: the answer is about key %s, not account %s", ErrInvalid, l.Key, id)
	}
	r, err := c.VerifyLeaf(l)
	if err != nil {
		return nil, nil, err
	}
	if !r.Found {
		return nil, r, nil
	}
	acct, err := state.UnmarshalAccount(r.Value)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return accountOf(id, acct, r.Sum), r, nil
}

// VerifyOrganization checks an answer about the organization record.
func (c *Client) VerifyOrganization(l *Leaf) (*Organization, *Record, error) {
	if l.Key != OrganizationKey() {
		return nil, nil, fmt.Errorf("%w: the answer is about key %s, not the organization", ErrInvalid, l.Key)
	}
	r, err := c.VerifyLeaf(l)
	if err != nil {
		return nil, nil, err
	}
	if !r.Found {
		return nil, nil, fmt.Errorf("%w: the organization record is absent", ErrInvalid)
	}
	o, err := state.UnmarshalOrganization(r.Value)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return organizationOf(o), r, nil
}
