package orgapp

import (
	"encoding/hex"
	"fmt"

	"github.com/mass-consensus/mass/internal/app/state"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/smt"
)

// Bounds of a list of members.
const (
	// DefaultMembers is the members of a page when the caller names no
	// limit; MaxMembers the most it may ask for.
	DefaultMembers = 100
	MaxMembers     = 1000
	// MaxMemberScan bounds the records of the state one page reads: the
	// list walks the tree in key order, and the records between members
	// (governance records, guests' accounts) are read too. A page that
	// reaches it ends early, with Next set.
	MaxMemberScan = 8192
)

// MemberList is one page of the organization's members (role member or
// supervisor) and applicants (a pending application), in the order of
// their account IDs.
type MemberList struct {
	Members []AccountView `json:"members"`
	// Next, when set, is the account ID (hex) to list on after: the page
	// ended at a limit, not at the end of the state. Empty: the list is
	// complete up to the end.
	Next string `json:"next,omitempty"`
	// Records are the keys (hex) of the records the page is built from:
	// the organization's, then each listed account's, in order.
	Records []string `json:"records"`
}

// ListedMember says whether a record of the state is one a member list
// shows, a member's or an applicant's account, and returns its view:
// the rule that the node's list and a verifier of it share.
func ListedMember(k state.Key, value []byte, sum uint64) (AccountView, bool) {
	if len(value) == 0 || value[0] != state.KindAccount {
		return AccountView{}, false
	}
	acct, err := state.UnmarshalAccount(value)
	if err != nil || !(acct.Role.IsMember() || acct.Applying()) {
		return AccountView{}, false
	}
	return AccountJSON(crypto.ID(k), acct, sum), true
}

// Members lists the members and applicants at a height whose account IDs
// come after after (all of them when after is nil), at most limit (1 to
// MaxMembers) of them, reading at most MaxMemberScan records.
func (a *App) Members(height uint64, after *state.Key, limit int) (*MemberList, error) {
	return a.members(height, after, limit, MaxMemberScan)
}

// members is Members reading at most scan records.
func (a *App) members(height uint64, after *state.Key, limit, scan int) (*MemberList, error) {
	if limit < 1 || limit > MaxMembers {
		return nil, fmt.Errorf("orgapp: a page of %d members, want 1 to %d", limit, MaxMembers)
	}
	var start smt.Key
	if after != nil {
		var ok bool
		if start, ok = successor(smt.Key(*after)); !ok {
			return &MemberList{Members: []AccountView{}, Records: []string{keyHex(state.OrgKey)}}, nil
		}
	}
	l := &MemberList{Members: []AccountView{}, Records: []string{keyHex(state.OrgKey)}}
	var last smt.Key
	_, more, err := a.tree.Walk(version(height), start, scan, func(k smt.Key, value []byte, sum uint64) bool {
		last = k
		if v, ok := ListedMember(state.Key(k), value, sum); ok {
			l.Members = append(l.Members, v)
			l.Records = append(l.Records, hex.EncodeToString(k[:]))
		}
		return len(l.Members) < limit
	})
	if err != nil {
		return nil, a.readErr(err)
	}
	if more {
		l.Next = hex.EncodeToString(last[:])
	}
	return l, nil
}

// successor is the key after k, and false if k is the last key.
func successor(k smt.Key) (smt.Key, bool) {
	for i := len(k) - 1; i >= 0; i-- {
		k[i]++
		if k[i] != 0 {
			return k, true
		}
	}
	return k, false
}
