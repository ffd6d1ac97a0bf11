package gateway

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/mass-consensus/mass/internal/apijson"
	"github.com/mass-consensus/mass/internal/app/state"
	"github.com/mass-consensus/mass/internal/app/tx"
	"github.com/mass-consensus/mass/light"
)

// membersFixture is the fixture with a fifth block: dave applies to join
// and erin, a guest, receives tokens; the members are alice (supervisor),
// bob and carol, and dave is an applicant.
func membersFixture(t *testing.T) *fixture {
	f := newFixture(t, "honest")
	dave, erin := seededKey(t, "dave"), seededKey(t, "erin")
	f.block(f.sign(dave, &tx.Apply{Name: "dave"}), f.transfer(f.alice, erin, 5))
	return f
}

// pages lists every page of the members through h, limit per page, at
// height, and checks each page's proofs with lc.
func pages(t *testing.T, h http.Handler, lc *light.Client, limit string, height string) []apijson.Members {
	t.Helper()
	var out []apijson.Members
	after := ""
	for range 100 {
		p := "/v1/members?prove=1&height=" + height + "&limit=" + limit
		if after != "" {
			p += "&after=" + after
		}
		code, body := get(t, h, p)
		if code != http.StatusOK {
			t.Fatalf("%s: %d %s", p, code, body)
		}
		var m apijson.Members
		if err := json.Unmarshal([]byte(body), &m); err != nil || m.Check() != nil {
			t.Fatalf("%s: %v %v", p, err, m.Check())
		}
		checkProofs(t, lc, p, body)
		out = append(out, m)
		if after = m.Next; after == "" {
			return out
		}
	}
	t.Fatal("the pages do not end")
	return nil
}

// TestMembersThroughGateway: the gateway's member list, in pages of one,
// two or the whole, is the node's: the same members in the same order,
// with proofs a light client verifies; malformed requests are refused.
func TestMembersThroughGateway(t *testing.T) {
	f := membersFixture(t)
	n := f.node()
	g := newGateway(t, f.genesis, n.URL)
	waitHeight(t, g, 5)
	lc, err := light.New(f.genesis)
	if err != nil {
		t.Fatal(err)
	}
	var seg light.Segment
	if _, body := get(t, g, "/v1/headers?from=1&to=5"); json.Unmarshal([]byte(body), &seg) != nil || lc.Verify(&seg) != nil {
		t.Fatal("the headers do not verify")
	}
	_, whole := getURL(t, n.URL+"/v1/members?height=5")
	var want apijson.Members
	if err := json.Unmarshal([]byte(whole), &want); err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, m := range want.Members {
		names[m.Name] = m.Role
		if m.Applying {
			names[m.Name] += "+"
		}
	}
	if len(want.Members) != 4 || names["alice"] != "supervisor" || names["bob"] != "member" || names["dave"] != "guest+" {
		t.Fatalf("the node's list: %s", whole)
	}
	if code, body := get(t, g, "/v1/members?height=5"); code != http.StatusOK || body != whole {
		t.Fatalf("the gateway's whole list: %d %s\nthe node's: %s", code, body, whole)
	}
	for _, limit := range []string{"1", "2", "3", "1000"} {
		var got []string
		for _, p := range pages(t, g, lc, limit, "5") {
			for _, m := range p.Members {
				got = append(got, m.ID)
			}
			if p.Organization.Members != 3 || p.Organization.Applicants != 1 {
				t.Fatalf("limit %s: organization %+v", limit, p.Organization)
			}
		}
		var ids []string
		for _, m := range want.Members {
			ids = append(ids, m.ID)
		}
		if !slices.Equal(got, ids) {
			t.Fatalf("limit %s: %v, want %v", limit, got, ids)
		}
	}
	for p, want := range map[string]string{
		"/v1/members?after=xyz":   "after is an account ID",
		"/v1/members?limit=0":     "limit is a number",
		"/v1/members?limit=2000":  "limit is a number",
		"/v1/members?height=99":   "not verified by the gateway yet",
		"/v1/members?prove=maybe": "prove is 1 or 0",
	} {
		if code, body := get(t, g, p); code/100 != 4 || !strings.Contains(body, want) {
			t.Errorf("%s: %d %s, want %q", p, code, body, want)
		}
	}
}

// memberLies are lies about the member list only a whole, checked list
// catches.
var memberLies = []struct {
	name   string
	tamper func(honest http.Handler) func(r *http.Request, v map[string]any) int
}{
	{"a member left out", func(http.Handler) func(*http.Request, map[string]any) int {
		return func(r *http.Request, v map[string]any) int {
			if r.URL.Path != "/v1/members" {
				return 0
			}
			if ms, _ := v["members"].([]any); len(ms) > 1 {
				v["members"] = append(ms[:1:1], ms[2:]...)
				if ps, _ := v["proofs"].([]any); len(ps) > 2 {
					v["proofs"] = append(ps[:2:2], ps[3:]...)
				}
			}
			return 0
		}
	}},
	{"the last page said to be the last early", func(http.Handler) func(*http.Request, map[string]any) int {
		return func(r *http.Request, v map[string]any) int {
			if r.URL.Path != "/v1/members" {
				return 0
			}
			if ms, _ := v["members"].([]any); len(ms) > 0 {
				v["members"] = ms[:len(ms)-1]
				if ps, _ := v["proofs"].([]any); len(ps) > 0 {
					v["proofs"] = ps[:len(ps)-1]
				}
			}
			delete(v, "next")
			return 0
		}
	}},
	{"a guest listed as a member", func(honest http.Handler) func(*http.Request, map[string]any) int {
		// The treasury's genuine record (an account of role guest),
		// proven at the same height, put in its place in ID order.
		return func(r *http.Request, v map[string]any) int {
			if r.URL.Path != "/v1/members" {
				return 0
			}
			rec := httptest.NewRecorder()
			honest.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/treasury?prove=1&height="+r.URL.Query().Get("height"), nil))
			var a map[string]any
			if json.Unmarshal(rec.Body.Bytes(), &a) != nil {
				return 0
			}
			id := keyHex(state.TreasuryKey)
			view := map[string]any{"id": id, "balance": json.Number("0"), "role": "member", "name": "treasury", "nonce": json.Number("0")}
			ms, _ := v["members"].([]any)
			ps, _ := v["proofs"].([]any)
			i := 0
			for i < len(ms) && ms[i].(map[string]any)["id"].(string) < id {
				i++
			}
			v["members"] = slices.Insert(ms, i, any(view))
			if len(ps) > 0 {
				v["proofs"] = slices.Insert(ps, i+1, a["proof"])
			}
			return 0
		}
	}},
}

// TestMemberLiesAreRefused: a node that leaves a member out of its list,
// ends it early or lists a guest is refused (502 unverified, naming it)
// when alone, marked faulty, and beside an honest node never served.
func TestMemberLiesAreRefused(t *testing.T) {
	f := membersFixture(t)
	honest := f.node()
	_, truth := getURL(t, honest.URL+"/v1/members?height=5")
	for _, lie := range memberLies {
		t.Run(lie.name, func(t *testing.T) {
			api := honest.Config.Handler
			bad := httptest.NewServer(&liar{honest: api, tamper: lie.tamper(api)})
			defer bad.Close()
			// The lie is one the node's shape allows: the client takes it.
			if code, body := getURL(t, bad.URL+"/v1/members?height=5&prove=1"); code != http.StatusOK {
				t.Fatalf("the liar's answer: %d %s", code, body)
			}

			alone := newGateway(t, f.genesis, bad.URL)
			waitHeight(t, alone, 5)
			code, body := get(t, alone, "/v1/members?height=5")
			if code != http.StatusBadGateway || errorCode(body) != CodeUnverified || !contains(body, bad.URL) {
				t.Fatalf("alone, the liar's list: %d %s", code, body)
			}
			t.Logf("%s", body)
			if st := alone.Status(); st.Gateway.Nodes[0].State != stateFaulty {
				t.Fatalf("the liar is not marked faulty: %+v", st.Gateway.Nodes)
			}

			g := newGateway(t, f.genesis, bad.URL, honest.URL)
			waitHeight(t, g, 5)
			for range 2 {
				if code, body := get(t, g, "/v1/members?height=5"); code != http.StatusOK || body != truth {
					t.Fatalf("beside an honest node: %d %s\nthe truth: %s", code, body, truth)
				}
			}
		})
	}
}

// TestGatewayCORS: the gateway's answers under /v1/ carry
// Access-Control-Allow-Origin: * and it answers preflights of its routes;
// the app's files do not.
func TestGatewayCORS(t *testing.T) {
	f := newFixture(t, "honest")
	g := newGateway(t, f.genesis, f.node().URL)
	waitHeight(t, g, 4)
	for _, p := range []string{"/v1/status", "/v1/organization", "/v1/members", "/v1/accounts/zz", "/v1/nothing"} {
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p, nil))
		if rec.Header().Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("GET %s (%d): no Access-Control-Allow-Origin", p, rec.Code)
		}
	}
	for p, method := range map[string]string{"/v1/members": "GET", "/v1/txs": "POST"} {
		req := httptest.NewRequest(http.MethodOptions, p, nil)
		req.Header.Set("Origin", "http://elsewhere.example")
		req.Header.Set("Access-Control-Request-Method", method)
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, req)
		if rec.Code != http.StatusNoContent || !strings.Contains(rec.Header().Get("Access-Control-Allow-Methods"), method) ||
			rec.Header().Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("preflight of %s: %d %v", p, rec.Code, rec.Header())
		}
	}
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("the app's page has CORS headers: %v", rec.Header())
	}
}
