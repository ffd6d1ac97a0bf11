package apijson

import (
	"errors"
	"strings"
	"testing"

	"github.com/mass-consensus/mass/internal/app/orgapp"
	"github.com/mass-consensus/mass/internal/app/state"
)

// TestMembersCheck: a valid page passes; each kind of malformed one fails
// with ErrMalformed.
func TestMembersCheck(t *testing.T) {
	id := func(b byte) string { return strings.Repeat(string("0123456789abcdef"[b%16]), 40) }
	org := &orgapp.OrganizationView{Name: "o", Members: 2}
	valid := func() *Members {
		return &Members{Height: 4, Organization: org,
			Members: []orgapp.AccountView{{ID: id(1), Role: "member"}, {ID: id(2), Role: "supervisor"}},
			Next:    id(3),
			Proofs:  []Leaf{{Height: 4, Key: keyHex(state.OrgKey)}, {Height: 4, Key: id(1)}, {Height: 4, Key: strings.ToUpper(id(2))}}}
	}
	if err := valid().Check(); err != nil {
		t.Fatal(err)
	}
	plain := valid()
	plain.Proofs, plain.Next = nil, ""
	if err := plain.Check(); err != nil {
		t.Fatal(err)
	}
	bad := map[string]func(*Members){
		"no organization":     func(m *Members) { m.Organization = nil },
		"too many":            func(m *Members) { m.Members = make([]orgapp.AccountView, MaxMembers+1); m.Proofs = nil },
		"short id":            func(m *Members) { m.Members[0].ID = "ab" },
		"out of order":        func(m *Members) { m.Members[0], m.Members[1] = m.Members[1], m.Members[0] },
		"twice":               func(m *Members) { m.Members[1].ID = strings.ToUpper(m.Members[0].ID) },
		"next not hex":        func(m *Members) { m.Next = strings.Repeat("z", 40) },
		"next before last":    func(m *Members) { m.Next = id(1) },
		"a proof missing":     func(m *Members) { m.Proofs = m.Proofs[:2] },
		"no organization key": func(m *Members) { m.Proofs[0].Key = id(0) },
		"proof of another":    func(m *Members) { m.Proofs[2].Key = id(5) },
		"proof, other height": func(m *Members) { m.Proofs[1].Height = 3 },
	}
	for name, change := range bad {
		m := valid()
		change(m)
		if err := m.Check(); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
