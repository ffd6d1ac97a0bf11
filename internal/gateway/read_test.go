package gateway

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mass-consensus/mass/light"
)

// readPaths are the reads the gateway answers as a node does.
var readPaths = []string{
	"/v1/organization",
	"/v1/treasury",
	"/v1/proposals/1",
	"/v1/proposals/2",
	"/v1/proposals?domain=general&page=0",
	"/v1/proposals?domain=general&page=3",
	"/v1/governance",
	"/v1/executors",
	"/v1/members",
	"/v1/proposals/1/comments",
	"/v1/proposals/1/comments?from=1",
	"/v1/proposals/9/comments",
}

func accountPaths(f *fixture) []string {
	return []string{
		"/v1/accounts/" + f.alice.Public().ID().String(),
		"/v1/accounts/" + f.bob.Public().String(),
		"/v1/accounts/" + seededKey(f.t, "nobody").Public().ID().String(), // absent
	}
}

// TestReadsEqualTheNodes: through the gateway, every read equals the
// node's answer at the same height, and with ?prove=1 carries proofs a
// light client verifies.
func TestReadsEqualTheNodes(t *testing.T) {
	f := newFixture(t, "honest")
	n1, n2 := f.node(), f.node()
	g := newGateway(t, f.genesis, n1.URL, n2.URL)
	waitHeight(t, g, 4)
	lc, err := light.New(f.genesis)
	if err != nil {
		t.Fatal(err)
	}
	var seg light.Segment
	_, body := get(t, g, "/v1/headers?from=1&to=4")
	if err := json.Unmarshal([]byte(body), &seg); err != nil {
		t.Fatal(err)
	}
	if err := lc.Verify(&seg); err != nil {
		t.Fatalf("the gateway's headers: %v", err)
	}
	for _, path := range append(accountPaths(f), readPaths...) {
		for _, q := range []string{"", "height=3"} {
			p := path
			if q != "" {
				p = withQuery(p, q)
			}
			code, got := get(t, g, p)
			wantCode, want := getURL(t, n1.URL+p)
			if wantCode == http.StatusNotFound {
				// The gateway says it proved the absence.
				if code != wantCode || errorCode(got) != "not_found" || !contains(got, "proven absent") {
					t.Fatalf("%s: the gateway answered %d %s\nthe node %d %s", p, code, got, wantCode, want)
				}
				continue
			}
			if code != wantCode || got != want {
				t.Fatalf("%s: the gateway answered %d %s\nthe node %d %s", p, code, got, wantCode, want)
			}
			pp := withQuery(p, "prove=1")
			code, got = get(t, g, pp)
			if code != http.StatusOK {
				t.Fatalf("%s: %d %s", pp, code, got)
			}
			checkProofs(t, lc, pp, got)
		}
	}
	// Headers, blocks and the absence of records.
	for _, p := range []string{"/v1/headers?from=2&to=4", "/v1/blocks/2", "/v1/blocks/latest"} {
		code, got := get(t, g, p)
		wantCode, want := getURL(t, n2.URL+p)
		if code != wantCode || got != want {
			t.Fatalf("%s: the gateway answered %d %s\nthe node %d %s", p, code, got, wantCode, want)
		}
	}
	for _, p := range []string{"/v1/proposals/9", "/v1/proposals?domain=nope"} {
		code, got := get(t, g, p)
		if code != http.StatusNotFound || !contains(got, "proven absent") {
			t.Fatalf("%s: %d %s", p, code, got)
		}
	}
	for p, want := range map[string]int{
		"/v1/accounts/zz": 400, "/v1/proposals/x": 400, "/v1/organization?height=9": 404,
		"/v1/organization?prove=2": 400, "/v1/headers?from=3&to=9": 404, "/v1/blocks/9": 404,
		"/v1/nothing": 404, "/v1/proposals/1/comments?from=x": 400,
	} {
		if code, body := get(t, g, p); code != want || errorCode(body) == "" {
			t.Fatalf("%s: %d %s, want %d", p, code, body, want)
		}
	}
	if code, body := get(t, g, "/genesis.json"); code != http.StatusOK || body != string(f.genesis) {
		t.Fatalf("the genesis: %d %s", code, body)
	}
	rec := postTo(g, "/v1/status", "")
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("POST /v1/status: %d %s", rec.Code, rec.Body)
	}
	// The gateway's status is a node's in shape, with its own part.
	_, body = get(t, g, "/v1/status")
	var st Status
	if err := json.Unmarshal([]byte(body), &st); err != nil || st.Status.Check() != nil {
		t.Fatalf("%s: %v", body, err)
	}
	if st.ChainID != testChainID || st.Certified != 4 || st.Gateway.Verified != 4 || len(st.Gateway.Nodes) != 2 ||
		st.Gateway.Nodes[0].State != stateOK || st.Peers != 2 || st.Nodes != 4 || st.Gateway.Cache.Entries == 0 {
		t.Fatalf("status: %s", body)
	}
}

// checkProofs verifies every proof of an answer with a light client, and
// checks there is one.
func checkProofs(t *testing.T, lc *light.Client, path, body string) {
	t.Helper()
	var a struct {
		Proof  *light.Leaf  `json:"proof"`
		Proofs []light.Leaf `json:"proofs"`
	}
	if err := json.Unmarshal([]byte(body), &a); err != nil {
		t.Fatalf("%s: %v: %s", path, err, body)
	}
	proofs := a.Proofs
	if a.Proof != nil {
		proofs = append(proofs, *a.Proof)
	}
	if len(proofs) == 0 {
		t.Fatalf("%s: no proof: %s", path, body)
	}
	for i := range proofs {
		if _, err := lc.VerifyLeaf(&proofs[i]); err != nil {
			t.Fatalf("%s: proof %d: %v", path, i, err)
		}
	}
}

func postTo(h http.Handler, path, body string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, strings.NewReader(body)))
	return rec
}

// withQuery adds a parameter to a path.
func withQuery(path, q string) string {
	if strings.Contains(path, "?") {
		return path + "&" + q
	}
	return path + "?" + q
}
