package api

import (
	"net/http"
	"strings"
	"testing"
)

// TestCORS: the API's answers, the read routes', the submissions' and the
// errors', carry Access-Control-Allow-Origin: *; a preflight of a route
// is answered 204 with its methods; /metrics, the app and a preflight of
// a path that is no route get none of it.
func TestCORS(t *testing.T) {
	f := newLedger(t)
	bob := f.bob.Public().ID().String()
	send := func(method, path string, header map[string]string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, f.srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Origin", "http://other.example:8081")
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	reads := []string{
		"/v1/status", "/v1/headers?from=1&to=3", "/v1/accounts/" + bob, "/v1/accounts/" + bob + "?prove=1",
		"/v1/organization", "/v1/members?prove=1", "/v1/proposals", "/v1/proposals/1", "/v1/governance",
		"/v1/executors", "/v1/treasury", "/v1/blocks/1", "/v1/blocks/latest", "/v1/txs/" + strings.Repeat("ab", 32),
		// Errors too, so that a page can read why.
		"/v1/accounts/zz", "/v1/members?limit=0", "/v1/nothing",
	}
	for _, path := range reads {
		resp := send(http.MethodGet, path, nil)
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "*" {
			t.Errorf("GET %s (%d): Access-Control-Allow-Origin %q", path, resp.StatusCode, got)
		}
		if got := resp.Header.Get("Access-Control-Allow-Credentials"); got != "" {
			t.Errorf("GET %s: Access-Control-Allow-Credentials %q", path, got)
		}
	}
	if resp := send(http.MethodPost, "/v1/txs", map[string]string{"Content-Type": "application/octet-stream"}); resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("POST /v1/txs (%d): no Access-Control-Allow-Origin", resp.StatusCode)
	}
	preflight := func(path, method string) *http.Response {
		return send(http.MethodOptions, path, map[string]string{"Access-Control-Request-Method": method, "Access-Control-Request-Headers": "content-type"})
	}
	for path, methods := range map[string]string{
		"/v1/status": "GET", "/v1/members": "GET", "/v1/accounts/" + bob: "GET", "/v1/events": "GET",
		"/v1/txs": "POST", "/v1/proposals": "GET, HEAD, POST", "/v1/proposals/3/votes": "POST",
	} {
		resp := preflight(path, strings.Split(methods, ", ")[0])
		h := resp.Header
		if resp.StatusCode != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != "*" ||
			!strings.Contains(strings.ToLower(h.Get("Access-Control-Allow-Headers")), "content-type") || h.Get("Access-Control-Max-Age") == "" {
			t.Errorf("preflight of %s: %d %v", path, resp.StatusCode, h)
		}
		for _, m := range strings.Split(methods, ", ") {
			if !strings.Contains(h.Get("Access-Control-Allow-Methods"), m) {
				t.Errorf("preflight of %s: methods %q, want %s", path, h.Get("Access-Control-Allow-Methods"), m)
			}
		}
	}
	// Not a route: no preflight answer.
	if resp := preflight("/v1/nothing", "GET"); resp.StatusCode == http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Methods") != "" {
		t.Errorf("preflight of no route: %d %v", resp.StatusCode, resp.Header)
	}
	// /metrics: no CORS, and no preflight.
	for _, resp := range []*http.Response{send(http.MethodGet, "/metrics", nil), preflight("/metrics", "GET")} {
		if resp.Header.Get("Access-Control-Allow-Origin") != "" || resp.StatusCode == http.StatusNoContent {
			t.Errorf("/metrics: %d %v", resp.StatusCode, resp.Header)
		}
	}
}
