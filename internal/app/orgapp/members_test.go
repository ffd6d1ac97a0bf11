package orgapp

import (
	"bytes"
	"encoding/hex"
	"errors"
	"slices"
	"testing"

	"github.com/mass-consensus/mass/internal/app/state"
	"github.com/mass-consensus/mass/internal/app/tx"
	"github.com/mass-consensus/mass/internal/crypto"
)

// listAll pages through the members at a height, limit per page and scan
// records read per page, and returns them with the pages it took.
func listAll(t *testing.T, a *App, height uint64, limit, scan int) ([]AccountView, int) {
	t.Helper()
	var all []AccountView
	var after *state.Key
	for pages := 1; ; pages++ {
		l, err := a.members(height, after, limit, scan)
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Members) > limit {
			t.Fatalf("a page of %d members, limit %d", len(l.Members), limit)
		}
		if len(l.Records) != len(l.Members)+1 || l.Records[0] != keyHex(state.OrgKey) {
			t.Fatalf("records %v for %d members", l.Records, len(l.Members))
		}
		for i, m := range l.Members {
			if l.Records[i+1] != m.ID {
				t.Fatalf("record %d is %s, member %s", i+1, l.Records[i+1], m.ID)
			}
		}
		all = append(all, l.Members...)
		if l.Next == "" {
			return all, pages
		}
		raw, err := hex.DecodeString(l.Next)
		if err != nil || len(raw) != 20 {
			t.Fatalf("next %q", l.Next)
		}
		k := state.Key(raw)
		after = &k
		if pages > 10000 {
			t.Fatal("the pages do not end")
		}
	}
}

// TestMembersList lists the members and applicants of an organization
// with governance records, guests and the treasury between them, in
// pages of every size, and checks the list against what the fixture
// knows: each member and applicant once, in ID order, none else, and as
// many members and applicants as the organization record counts.
func TestMembersList(t *testing.T) {
	f := govFixture(t, 12, 1000, quick())
	var applicants, guests []*crypto.PrivateKey
	var txs [][]byte
	for i := 0; i < 5; i++ {
		k := key(t, 100+i)
		applicants = append(applicants, k)
		txs = append(txs, f.sign(k, &tx.Apply{Name: "applicant"}))
		g := key(t, 200+i)
		guests = append(guests, g)
		txs = append(txs, f.transfer(f.keys[1], g, 1))
	}
	f.block(txs...)
	// One applicant accepted, one refused, one member leaves.
	f.block(f.sign(f.keys[0], &tx.Decide{Applicant: applicants[0].Public().ID(), Accept: true}),
		f.sign(f.keys[0], &tx.Decide{Applicant: applicants[1].Public().ID(), Accept: false}),
		f.sign(f.keys[5], &tx.Leave{}))
	h := f.app.Height()
	want := map[string]string{} // id → role, "+" if applying
	for i, k := range f.keys {
		if i == 5 {
			continue
		}
		want[k.Public().ID().String()] = "member"
	}
	want[f.keys[0].Public().ID().String()] = "supervisor"
	want[applicants[0].Public().ID().String()] = "member"
	for _, k := range applicants[2:] {
		want[k.Public().ID().String()] = "guest+"
	}
	org := f.org()
	for _, limit := range []int{1, 2, 3, 7, 100, MaxMembers} {
		for _, scan := range []int{1, 2, 5, 64, MaxMemberScan} {
			all, pages := listAll(t, f.app, h, limit, scan)
			got := map[string]string{}
			var members, applying uint64
			for i, m := range all {
				if i > 0 && m.ID <= all[i-1].ID {
					t.Fatalf("limit %d scan %d: %s after %s", limit, scan, m.ID, all[i-1].ID)
				}
				role := m.Role
				if m.Applying {
					role += "+"
					applying++
				}
				if m.Role == "member" || m.Role == "supervisor" {
					members++
				}
				got[m.ID] = role
			}
			if len(got) != len(want) {
				t.Fatalf("limit %d scan %d: %d listed, want %d: %v", limit, scan, len(got), len(want), got)
			}
			for id, role := range want {
				if got[id] != role {
					t.Fatalf("limit %d scan %d: %s listed as %q, want %q", limit, scan, id, got[id], role)
				}
			}
			if members != org.Members || applying != org.Applicants {
				t.Fatalf("limit %d scan %d: %d members %d applicants listed, the organization counts %d and %d", limit, scan, members, applying, org.Members, org.Applicants)
			}
			if scan == 1 && pages < len(want) {
				t.Fatalf("scan 1: %d pages for %d members", pages, len(want))
			}
		}
	}
	// Names come from the records.
	l, err := f.app.Members(h, nil, MaxMembers)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(l.Members, func(m AccountView) bool { return m.ID == f.keys[3].Public().ID().String() })
	if i < 0 || l.Members[i].Name != "m3" {
		t.Fatalf("member 3: %+v", l.Members)
	}
	// After the last key: an empty page, complete.
	last := state.Key(bytes.Repeat([]byte{0xff}, 20))
	if l, err := f.app.Members(h, &last, 10); err != nil || len(l.Members) != 0 || l.Next != "" {
		t.Fatalf("after the last key: %+v %v", l, err)
	}
	// Bad limits and heights.
	for _, limit := range []int{0, -1, MaxMembers + 1} {
		if _, err := f.app.Members(h, nil, limit); err == nil {
			t.Fatalf("limit %d accepted", limit)
		}
	}
	if _, err := f.app.Members(h+1, nil, 10); !errors.Is(err, ErrFuture) {
		t.Fatalf("a future height: %v", err)
	}
}
