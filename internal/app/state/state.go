// Package state holds the records the Mass application keeps in its sparse
// Merkle sum tree, their keys and their canonical encodings, so that the
// application, the API and a light client read them the same way.
//
// Every record is a leaf of the tree: its key is 20 bytes, its value the
// record's encoding (the first byte says the kind), and its sum the tokens
// it holds (an account's balance; 0 for every other record), so the sum at
// the root is the total supply.
//
//	account      key = the account's ID (first 20 bytes of SHA-256 of its public key)
//	             value = 0x01 ‖ role:u8 ‖ flags:u8 ‖ nonce:u64 ‖ used:u64 ‖ name:bytes (≤ 64)
//	             sum = balance
//	organization key = first 20 bytes of SHA-256("mass/key/organization")
//	             value = 0x02 ‖ name:bytes ‖ policy:u8 ‖ members:u64 ‖ supervisors:u64 ‖ applicants:u64
//	             sum = 0
//	node set     key = NamedKey("nodes"), value = 0x03 ‖ … (see Nodes.Marshal), sum = 0
//	versions     key = NamedKey("protocol"), value = 0x04 ‖ … (see Versions.Marshal), sum = 0
//	treasury     key = NamedKey("treasury"), value = an account record (role guest,
//	             name "treasury"), sum = the organization's tokens
//
// Account flags: bit 0 an application is pending, bit 1 frozen (the member
// froze a proposal and waits for its review), bit 2 suspended (the member
// is the target of an active challenge); other bits are 0.
//
// The governance records (proposals, domains, …) are in package gov.
//
// Integers are big-endian, a byte string is a uint32 length and the bytes.
package state

import (
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/wire"
)

// Key is the 20-byte key of a record in the tree.
type Key = [20]byte

// ErrMalformed is wrapped by every decoding error.
var ErrMalformed = errors.New("state: malformed record")

// Record kinds: the first byte of a value.
const (
	KindAccount      = 0x01
	KindOrganization = 0x02
	KindNodes        = 0x03
	KindVersions     = 0x04
)

// Limits.
const (
	MaxName    = 64
	MaxOrgName = 128
)

// NamedKey derives the key of a singleton record from its name: the first
// 20 bytes of SHA-256("mass/key/" ‖ name).
func NamedKey(name string) Key {
	h := sha256.Sum256([]byte("mass/key/" + name))
	var k Key
	copy(k[:], h[:20])
	return k
}

// OrgKey is the key of the organization record.
var OrgKey = NamedKey("organization")

// Role is an account's place in the organization.
type Role uint8

// The roles, in increasing rights.
const (
	Guest      Role = 0 // holds an account; not a member
	Member     Role = 1
	Supervisor Role = 2 // a founder: confirms applications when the policy says so
)

func (r Role) String() string {
	switch r {
	case Guest:
		return "guest"
	case Member:
		return "member"
	case Supervisor:
		return "supervisor"
	}
	return fmt.Sprintf("role(%d)", uint8(r))
}

// ParseRole parses a role's name.
func ParseRole(s string) (Role, error) {
	for _, r := range []Role{Guest, Member, Supervisor} {
		if r.String() == s {
			return r, nil
		}
	}
	return 0, fmt.Errorf("state: unknown role %q (guest, member or supervisor)", s)
}

// IsMember says whether the role belongs to the organization.
func (r Role) IsMember() bool { return r == Member || r == Supervisor }

// Account flags.
const (
	// FlagApplying marks a guest whose application to join is pending.
	FlagApplying = 1 << 0
	// FlagFrozen marks a member who froze a proposal: it cannot vote or
	// propose until the review of the freeze ends.
	FlagFrozen = 1 << 1
	// FlagSuspended marks a member challenged by an active challenge: it
	// cannot vote or propose until the challenge closes.
	FlagSuspended = 1 << 2
	flagsKnown    = FlagApplying | FlagFrozen | FlagSuspended
)

// NonceWindow is how far ahead of an account's lowest unused nonce a
// transaction's nonce may be: nonces may be used in any order within it.
const NonceWindow = 64

// Account is a member's or guest's record. Its balance is the leaf's sum.
type Account struct {
	Role  Role
	Flags uint8
	// Nonce is the lowest nonce not used yet; Used has bit i set when
	// nonce Nonce+1+i is used already.
	Nonce uint64
	Used  uint64
	Name  string
}

// Applying says whether the account has a pending application.
func (a *Account) Applying() bool { return a.Flags&FlagApplying != 0 }

// Frozen says whether the account froze a proposal under review.
func (a *Account) Frozen() bool { return a.Flags&FlagFrozen != 0 }

// Suspended says whether the account is the target of an active challenge.
func (a *Account) Suspended() bool { return a.Flags&FlagSuspended != 0 }

// NonceFree says whether nonce n may be used now; if not, the error says
// why.
func (a *Account) NonceFree(n uint64) error {
	switch {
	case n < a.Nonce:
		return fmt.Errorf("nonce %d is used already (the lowest unused is %d)", n, a.Nonce)
	case n == a.Nonce:
		return nil
	case n-a.Nonce > NonceWindow:
		return fmt.Errorf("nonce %d is too far ahead: the lowest unused is %d, the window %d", n, a.Nonce, NonceWindow)
	case a.Used&(1<<(n-a.Nonce-1)) != 0:
		return fmt.Errorf("nonce %d is used already", n)
	}
	return nil
}

// UseNonce marks nonce n used; NonceFree(n) must be nil.
func (a *Account) UseNonce(n uint64) {
	if n != a.Nonce {
		a.Used |= 1 << (n - a.Nonce - 1)
		return
	}
	a.Nonce++
	for a.Used&1 != 0 {
		a.Used >>= 1
		a.Nonce++
	}
	a.Used >>= 1
}

// Marshal returns the record's canonical encoding.
func (a *Account) Marshal() []byte {
	w := wire.NewWriter(24 + len(a.Name))
	w.U8(KindAccount)
	w.U8(uint8(a.Role))
	w.U8(a.Flags)
	w.U64(a.Nonce)
	w.U64(a.Used)
	w.Bytes([]byte(a.Name))
	return w.Finish()
}

// UnmarshalAccount decodes an account record.
func UnmarshalAccount(b []byte) (*Account, error) {
	r := wire.NewReader(b)
	if k := r.U8("kind"); r.Err() == nil && k != KindAccount {
		return nil, fmt.Errorf("%w: kind %d is not an account", ErrMalformed, k)
	}
	a := &Account{Role: Role(r.U8("role")), Flags: r.U8("flags"), Nonce: r.U64("nonce"), Used: r.U64("used")}
	a.Name = string(r.Bytes(MaxName, "name"))
	if err := r.Done(); err != nil {
		return nil, fmt.Errorf("%w: account: %w", ErrMalformed, err)
	}
	if a.Role > Supervisor || a.Flags&^flagsKnown != 0 {
		return nil, fmt.Errorf("%w: account: role %d, flags %#x", ErrMalformed, a.Role, a.Flags)
	}
	return a, nil
}

// Policy says how applications to join are confirmed.
type Policy uint8

// The policies.
const (
	// BySupervisor: any supervisor accepts or refuses an application.
	BySupervisor Policy = 1
	// ByVote: applications are decided by a vote of the members (governance).
	ByVote Policy = 2
)

func (p Policy) String() string {
	switch p {
	case BySupervisor:
		return "supervisor"
	case ByVote:
		return "vote"
	}
	return fmt.Sprintf("policy(%d)", uint8(p))
}

// ParsePolicy parses a policy's name.
func ParsePolicy(s string) (Policy, error) {
	for _, p := range []Policy{BySupervisor, ByVote} {
		if p.String() == s {
			return p, nil
		}
	}
	return 0, fmt.Errorf("state: unknown policy %q (supervisor or vote)", s)
}

// Organization is the organization's record.
type Organization struct {
	Name        string
	Policy      Policy
	Members     uint64 // members and supervisors
	Supervisors uint64
	Applicants  uint64 // pending applications
}

// Marshal returns the record's canonical encoding.
func (o *Organization) Marshal() []byte {
	w := wire.NewWriter(32 + len(o.Name))
	w.U8(KindOrganization)
	w.Bytes([]byte(o.Name))
	w.U8(uint8(o.Policy))
	w.U64(o.Members)
	w.U64(o.Supervisors)
	w.U64(o.Applicants)
	return w.Finish()
}

// UnmarshalOrganization decodes the organization record.
func UnmarshalOrganization(b []byte) (*Organization, error) {
	r := wire.NewReader(b)
	if k := r.U8("kind"); r.Err() == nil && k != KindOrganization {
		return nil, fmt.Errorf("%w: kind %d is not the organization", ErrMalformed, k)
	}
	o := &Organization{Name: string(r.Bytes(MaxOrgName, "name"))}
	o.Policy = Policy(r.U8("policy"))
	o.Members = r.U64("members")
	o.Supervisors = r.U64("supervisors")
	o.Applicants = r.U64("applicants")
	if err := r.Done(); err != nil {
		return nil, fmt.Errorf("%w: organization: %w", ErrMalformed, err)
	}
	if o.Policy != BySupervisor && o.Policy != ByVote {
		return nil, fmt.Errorf("%w: organization: policy %d", ErrMalformed, o.Policy)
	}
	return o, nil
}

// NodesKey is the key of the node set record.
var NodesKey = NamedKey("nodes")

// Limits of the node set record.
const (
	MaxNodes     = 1024
	MaxNodeAddrs = 8
	MaxAddr      = 256
)

// Node is a consensus node: its key and where it listens (libp2p
// multiaddrs).
type Node struct {
	Key   crypto.PublicKey
	Addrs []string
}

// Nodes is the node set the application holds: the set that certifies
// blocks from the era it names on (genesis: block 1).
type Nodes struct {
	Nodes []Node
}

// Marshal returns the record's canonical encoding:
// 0x03 ‖ count:u32 ‖ (key:[32] ‖ addrs:u8 ‖ addr:bytes × addrs) × count.
func (n *Nodes) Marshal() []byte {
	w := wire.NewWriter(8 + 64*len(n.Nodes))
	w.U8(KindNodes)
	w.U32(uint32(len(n.Nodes)))
	for _, nd := range n.Nodes {
		w.Raw(nd.Key[:])
		w.U8(uint8(len(nd.Addrs)))
		for _, a := range nd.Addrs {
			w.Bytes([]byte(a))
		}
	}
	return w.Finish()
}

// UnmarshalNodes decodes the node set record.
func UnmarshalNodes(b []byte) (*Nodes, error) {
	r := wire.NewReader(b)
	if k := r.U8("kind"); r.Err() == nil && k != KindNodes {
		return nil, fmt.Errorf("%w: kind %d is not the node set", ErrMalformed, k)
	}
	n := &Nodes{}
	count := r.Count(MaxNodes, "nodes")
	for i := 0; i < count && r.Err() == nil; i++ {
		var nd Node
		copy(nd.Key[:], r.Raw(crypto.PublicKeySize, "node key"))
		addrs := int(r.U8("addresses"))
		if addrs > MaxNodeAddrs {
			return nil, fmt.Errorf("%w: node %d has %d addresses, limit %d", ErrMalformed, i, addrs, MaxNodeAddrs)
		}
		for j := 0; j < addrs && r.Err() == nil; j++ {
			nd.Addrs = append(nd.Addrs, string(r.Bytes(MaxAddr, "address")))
		}
		n.Nodes = append(n.Nodes, nd)
	}
	if err := r.Done(); err != nil {
		return nil, fmt.Errorf("%w: node set: %w", ErrMalformed, err)
	}
	return n, nil
}

// AccountKey is the key of an account.
func AccountKey(id crypto.ID) Key { return Key(id) }

// TreasuryKey is the key of the organization's account: an account record
// (role guest, name TreasuryName) whose sum is the organization's tokens.
// No key signs for it; only passed proposals pay from it.
var TreasuryKey = NamedKey("treasury")

// TreasuryName is the name in the treasury's account record.
const TreasuryName = "treasury"

// VersionsKey is the key of the protocol versions record.
var VersionsKey = NamedKey("protocol")

// MaxVersions bounds the entries of the versions record.
const MaxVersions = 64

// Version is a protocol version in force from a height on.
type Version struct {
	Height  uint64
	Version uint32
}

// Versions is the schedule of protocol versions: entries with strictly
// increasing heights and versions; the first is version 1 from height 1
// (genesis).
type Versions struct {
	Entries []Version
}

// At returns the version in force at a height (0 if none).
func (v *Versions) At(height uint64) uint32 {
	var cur uint32
	for _, e := range v.Entries {
		if e.Height <= height {
			cur = e.Version
		}
	}
	return cur
}

// Marshal returns the record's canonical encoding:
// 0x04 ‖ count:u8 ‖ (height:u64 ‖ version:u32) × count.
func (v *Versions) Marshal() []byte {
	w := wire.NewWriter(2 + 12*len(v.Entries))
	w.U8(KindVersions)
	w.U8(uint8(len(v.Entries)))
	for _, e := range v.Entries {
		w.U64(e.Height)
		w.U32(e.Version)
	}
	return w.Finish()
}

// UnmarshalVersions decodes the versions record.
func UnmarshalVersions(b []byte) (*Versions, error) {
	r := wire.NewReader(b)
	if k := r.U8("kind"); r.Err() == nil && k != KindVersions {
		return nil, fmt.Errorf("%w: kind %d is not the versions record", ErrMalformed, k)
	}
	v := &Versions{}
	n := int(r.U8("count"))
	if n == 0 || n > MaxVersions {
		r.Fail("count out of 1 … 64")
	}
	for i := 0; i < n && r.Err() == nil; i++ {
		e := Version{Height: r.U64("height"), Version: r.U32("version")}
		if i > 0 && (e.Height <= v.Entries[i-1].Height || e.Version <= v.Entries[i-1].Version) {
			r.Fail("entries not strictly increasing")
		}
		v.Entries = append(v.Entries, e)
	}
	if err := r.Done(); err != nil {
		return nil, fmt.Errorf("%w: versions: %w", ErrMalformed, err)
	}
	return v, nil
}
