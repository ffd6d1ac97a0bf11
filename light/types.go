package light

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/mass-consensus/mass/internal/app/state"
	"github.com/mass-consensus/mass/internal/chain"
	"github.com/mass-consensus/mass/internal/crypto"
)

// Hash is a SHA-256 digest: of a header, of a node set, a state root.
type Hash [32]byte

// String is the hash in lowercase hex.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// PublicKey is an ed25519 public key: a node's or an account's.
type PublicKey [32]byte

// String is the key in lowercase hex.
func (k PublicKey) String() string { return hex.EncodeToString(k[:]) }

// AccountID is the ID of the account of a key.
func (k PublicKey) AccountID() AccountID {
	h := sha256.Sum256(k[:])
	return AccountID(h[:20])
}

// ParsePublicKey parses a public key: 64 hex digits.
func ParsePublicKey(s string) (PublicKey, error) {
	k, err := crypto.ParsePublicKey(s)
	if err != nil {
		return PublicKey{}, fmt.Errorf("light: %w", err)
	}
	return PublicKey(k), nil
}

// AccountID is an account's ID: the first 20 bytes of the SHA-256 of its
// public key.
type AccountID [20]byte

// String is the ID in lowercase hex.
func (id AccountID) String() string { return hex.EncodeToString(id[:]) }

// Key is the key of the account's record in the state.
func (id AccountID) Key() Key { return Key(state.AccountKey(crypto.ID(id))) }

// ParseAccountID parses an account: its ID (40 hex digits), or a public key
// (64 hex digits), which names the key's account.
func ParseAccountID(s string) (AccountID, error) {
	if len(s) == 2*len(PublicKey{}) {
		k, err := ParsePublicKey(s)
		if err != nil {
			return AccountID{}, err
		}
		return k.AccountID(), nil
	}
	id, err := crypto.ParseID(s)
	if err != nil {
		return AccountID{}, fmt.Errorf("light: %q is neither an account ID (40 hex digits) nor a public key (64 hex digits)", s)
	}
	return AccountID(id), nil
}

// Key is the key of a record in the state tree.
type Key [20]byte

// String is the key in lowercase hex.
func (k Key) String() string { return hex.EncodeToString(k[:]) }

// OrganizationKey is the key of the organization's record.
func OrganizationKey() Key { return Key(state.OrgKey) }

// NodeSet is the set of nodes that certify blocks for a while (an era):
// their keys, in order; a vote names its node by its index here.
type NodeSet struct {
	Keys []PublicKey
}

// N is the number of nodes.
func (s NodeSet) N() int { return len(s.Keys) }

// Quorum is the number of signatures a certificate needs: 2f+1 of
// n ≥ 3f+1.
func (s NodeSet) Quorum() int { return s.internal().Quorum() }

// Hash is the hash a header's NextNodes names the set by.
func (s NodeSet) Hash() Hash { return Hash(s.internal().Hash()) }

func (s NodeSet) internal() chain.NodeSet {
	out := chain.NodeSet{Keys: make([]crypto.PublicKey, len(s.Keys))}
	for i, k := range s.Keys {
		out.Keys[i] = crypto.PublicKey(k)
	}
	return out
}

func nodeSetOf(s chain.NodeSet) NodeSet {
	out := NodeSet{Keys: make([]PublicKey, len(s.Keys))}
	for i, k := range s.Keys {
		out.Keys[i] = PublicKey(k)
	}
	return out
}

// Account is a verified account record.
type Account struct {
	ID      AccountID
	Name    string
	Role    string // "guest", "member" or "supervisor"
	Balance uint64
	// Nonce is the lowest nonce the account has not used.
	Nonce uint64
	// Applying: its application to join is pending. Frozen: it froze a
	// proposal whose review has not ended. Suspended: an active challenge
	// targets it.
	Applying, Frozen, Suspended bool
}

func accountOf(id AccountID, a *state.Account, balance uint64) *Account {
	return &Account{ID: id, Name: a.Name, Role: a.Role.String(), Balance: balance, Nonce: a.Nonce,
		Applying: a.Applying(), Frozen: a.Frozen(), Suspended: a.Suspended()}
}

// Organization is the verified organization record.
type Organization struct {
	Name   string
	Policy string // how applications are decided: "supervisor" or "vote"
	// Members counts members and supervisors; Applicants the pending
	// applications.
	Members, Supervisors, Applicants uint64
}

func organizationOf(o *state.Organization) *Organization {
	return &Organization{Name: o.Name, Policy: o.Policy.String(), Members: o.Members, Supervisors: o.Supervisors, Applicants: o.Applicants}
}

// Record is what a verified answer proves: a record of the state (or its
// absence) at a height, and the block that certifies it.
type Record struct {
	Height    uint64
	BlockHash Hash
	StateRoot Hash
	// Time is the block's time, Unix milliseconds.
	Time  int64
	Key   Key
	Found bool
	Value []byte // the record's canonical encoding, when found
	Sum   uint64 // the record's sum (an account's balance)
	// Supply is the sum of the whole state: the total supply at Height.
	Supply uint64
	// Signers are the nodes whose signatures certify the block, by their
	// index in the node set of Height (Client.NodeSet); Nodes is that
	// set's size.
	Signers []int
	Nodes   int
}
