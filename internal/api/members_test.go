package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/mass-consensus/mass/internal/apijson"
	"github.com/mass-consensus/mass/internal/app/state"
	"github.com/mass-consensus/mass/light"
)

// TestMembersRoute lists the fixture's members (alice the supervisor, bob
// a member) whole and in pages of one, with proofs the light client
// verifies, and refuses malformed requests with 400.
func TestMembersRoute(t *testing.T) {
	f := newLedger(t)
	lc, err := light.New(f.genesisJSON(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := lc.Sync(context.Background(), &light.Remote{Base: f.srv.URL}, 3); err != nil {
		t.Fatal(err)
	}
	read := func(path string) apijson.Members {
		t.Helper()
		code, body := f.get(t, path)
		if code != http.StatusOK {
			t.Fatalf("%s: %d %s", path, code, body)
		}
		var m apijson.Members
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			t.Fatal(err)
		}
		if err := m.Check(); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return m
	}
	whole := read("/v1/members?prove=1")
	if whole.Height != 3 || len(whole.Members) != 2 || whole.Next != "" || whole.Organization.Members != 2 || len(whole.Proofs) != 3 {
		t.Fatalf("the whole list: %+v", whole)
	}
	for i, p := range whole.Proofs {
		raw, _ := json.Marshal(p)
		var l light.Leaf
		if err := json.Unmarshal(raw, &l); err != nil {
			t.Fatal(err)
		}
		rec, err := lc.VerifyLeaf(&l)
		if err != nil || !rec.Found {
			t.Fatalf("proof %d: %+v %v", i, rec, err)
		}
		if i == 0 {
			if state.Key(rec.Key) != state.OrgKey {
				t.Fatalf("the first proof is of %x", rec.Key)
			}
			continue
		}
		acct, err := state.UnmarshalAccount(rec.Value)
		if err != nil || !acct.Role.IsMember() || acct.Name != whole.Members[i-1].Name {
			t.Fatalf("proof %d: %+v %v, listed %+v", i, acct, err, whole.Members[i-1])
		}
	}
	names := map[string]string{}
	for _, m := range whole.Members {
		names[m.Name] = m.Role
	}
	if names["alice"] != "supervisor" || names["bob"] != "member" {
		t.Fatalf("members %+v", whole.Members)
	}
	// Pages of one, at height 2, without proofs.
	first := read("/v1/members?limit=1&height=2")
	if len(first.Members) != 1 || first.Next == "" || first.Height != 2 || first.Proofs != nil {
		t.Fatalf("page 1: %+v", first)
	}
	second := read("/v1/members?limit=1&height=2&after=" + first.Next)
	if len(second.Members) != 1 || second.Members[0].ID <= first.Members[0].ID {
		t.Fatalf("page 2: %+v after %+v", second, first)
	}
	rest := second
	for rest.Next != "" {
		rest = read("/v1/members?limit=1&height=2&after=" + rest.Next)
		if len(rest.Members) != 0 {
			t.Fatalf("a third member: %+v", rest)
		}
	}
	// Upper case hex is an ID too.
	read("/v1/members?after=" + strings.ToUpper(first.Members[0].ID))

	for path, want := range map[string]string{
		"/v1/members?after=zz":                         "after is an account ID",
		"/v1/members?after=" + strings.Repeat("a", 38): "after is an account ID",
		"/v1/members?limit=0":                          "limit is a number from 1 to 1000",
		"/v1/members?limit=1001":                       "limit is a number from 1 to 1000",
		"/v1/members?limit=-3":                         "limit is a number from 1 to 1000",
		"/v1/members?limit=ten":                        "limit is a number from 1 to 1000",
		"/v1/members?height=x":                         "malformed height",
		"/v1/members?prove=2":                          "prove is 1 or 0",
	} {
		code, body := f.get(t, path)
		if code != http.StatusBadRequest || !strings.Contains(body, want) || !strings.Contains(body, `"bad_request"`) {
			t.Errorf("%s: %d %s, want 400 %q", path, code, body, want)
		}
	}
	if code, body := f.get(t, "/v1/members?height=9"); code != http.StatusNotFound {
		t.Errorf("a future height: %d %s", code, body)
	}
}
