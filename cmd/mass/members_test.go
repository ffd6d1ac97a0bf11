package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mass-consensus/mass/internal/apijson"
	"github.com/mass-consensus/mass/internal/app/orgapp"
	"github.com/mass-consensus/mass/internal/client"
)

// TestListMembers: 'mass members' reads every page at the first page's
// height and prints each member; a list shorter than the organization's
// counts is an error saying so.
func TestListMembers(t *testing.T) {
	id := func(c string) string { return strings.Repeat(c, 40) }
	org := &orgapp.OrganizationView{Name: "Co-op", Policy: "supervisor", Members: 2, Supervisors: 1, Applicants: 1}
	pages := map[string]apijson.Members{
		"": {Height: 9, Organization: org, Members: []orgapp.AccountView{{ID: id("1"), Role: "supervisor", Name: "ann"}}, Next: id("1")},
		id("1"): {Height: 9, Organization: org, Members: []orgapp.AccountView{{ID: id("2"), Role: "member", Name: "ben"},
			{ID: id("3"), Role: "guest", Name: "cat", Applying: true}}},
	}
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = append(asked, r.URL.RawQuery)
		p := pages[r.URL.Query().Get("after")]
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(p)
	}))
	defer srv.Close()
	c, err := client.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := listMembers(context.Background(), c, 0, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{id("1") + "  supervisor", "ben", "guest (applying)", "2 members and 1 applicants at height 9 (Co-op)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the output lacks %q:\n%s", want, out.String())
		}
	}
	if len(asked) != 2 || !strings.Contains(asked[1], "height=9") || !strings.Contains(asked[1], "after="+id("1")) {
		t.Errorf("asked %v", asked)
	}
	// A node that leaves ben out.
	p := pages[id("1")]
	p.Members = p.Members[1:]
	pages[id("1")] = p
	out.Reset()
	if err := listMembers(context.Background(), c, 0, &out); err == nil || !strings.Contains(err.Error(), "incomplete: the node listed 1 members and 1 applicants, its organization record counts 2 and 1") {
		t.Fatalf("a member left out: %v", err)
	}
}
