package light

import (
	"fmt"

	"github.com/mass-consensus/mass/internal/app/state"
	"github.com/mass-consensus/mass/internal/chain"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/smt"
)

// Leaf is a node's answer about one record of the state at a height: the
// record (or its absence), its proof, and the header and certificate of the
// height.
type Leaf struct {
	Height      uint64
	Key         state.Key
	Found       bool
	Value       []byte // the record's encoding, when found
	Sum         uint64 // the record's sum (an account's balance), when found
	Proof       *smt.Proof
	Header      *chain.Header
	Certificate *chain.Certificate
}

// VerifyLeaf checks an answer against the verified chain: the header must
// be the verified one of its height, the certificate must certify it under
// the node set of that height, and the proof must show the record present
// (with its value and sum) or absent under the header's state root. It
// returns the sum at the root: the total supply at that height.
func (c *Client) VerifyLeaf(l *Leaf) (uint64, error) {
	if l.Header == nil || l.Certificate == nil || l.Proof == nil {
		return 0, fmt.Errorf("%w: the answer lacks its header, certificate or proof", ErrInvalid)
	}
	want, err := c.HeaderHash(l.Height)
	if err != nil {
		return 0, err
	}
	if l.Header.Height != l.Height || l.Header.Hash() != want {
		return 0, fmt.Errorf("%w: the answer's header is not the verified header of height %d", ErrInvalid, l.Height)
	}
	set, err := c.NodeSet(l.Height)
	if err != nil {
		return 0, err
	}
	if err := l.Certificate.Verify(l.Header, set); err != nil {
		return 0, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	var value []byte
	if l.Found {
		if value = l.Value; value == nil {
			value = []byte{}
		}
	} else if l.Value != nil || l.Sum != 0 {
		return 0, fmt.Errorf("%w: an absent record with a value or sum", ErrInvalid)
	}
	root, total, err := l.Proof.Verify(smt.Key(l.Key), value, l.Sum)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if root != smt.Hash(l.Header.StateRoot) {
		return 0, fmt.Errorf("%w: the proof does not lead to the state root of height %d", ErrInvalid, l.Height)
	}
	return total, nil
}

// VerifyAccount checks an answer about an account and returns the account
// and its balance, or nil if the proof shows it absent.
func (c *Client) VerifyAccount(l *Leaf, id crypto.ID) (*state.Account, uint64, error) {
	if l.Key != state.AccountKey(id) {
		return nil, 0, fmt.Errorf("%w: the answer is about key %x, not account %s", ErrInvalid, l.Key, id)
	}
	if _, err := c.VerifyLeaf(l); err != nil {
		return nil, 0, err
	}
	if !l.Found {
		return nil, 0, nil
	}
	acct, err := state.UnmarshalAccount(l.Value)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return acct, l.Sum, nil
}

// VerifyOrganization checks an answer about the organization record.
func (c *Client) VerifyOrganization(l *Leaf) (*state.Organization, error) {
	if l.Key != state.OrgKey {
		return nil, fmt.Errorf("%w: the answer is about key %x, not the organization", ErrInvalid, l.Key)
	}
	if _, err := c.VerifyLeaf(l); err != nil {
		return nil, err
	}
	if !l.Found {
		return nil, fmt.Errorf("%w: the organization record is absent", ErrInvalid)
	}
	o, err := state.UnmarshalOrganization(l.Value)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return o, nil
}
