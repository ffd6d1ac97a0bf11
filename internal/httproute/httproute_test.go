package httproute

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func testMux() *http.ServeMux {
	mux := http.NewServeMux()
	ok := func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }
	mux.HandleFunc("GET /v1/status", ok)
	mux.HandleFunc("POST /v1/txs", ok)
	return mux
}

func TestAllowed(t *testing.T) {
	mux := testMux()
	for _, c := range []struct{ method, path, want string }{
		{http.MethodPost, "/v1/status", "GET, HEAD"},
		{http.MethodGet, "/v1/txs", "POST"},
		{http.MethodGet, "/v1/nothing", ""},
		{http.MethodGet, "/v1/status", ""}, // allowed: no 405
	} {
		if got := Allowed(mux, httptest.NewRequest(c.method, c.path, nil)); got != c.want {
			t.Errorf("%s %s: allowed %q, want %q", c.method, c.path, got, c.want)
		}
	}
}

func TestCORS(t *testing.T) {
	mux := testMux()
	preflight := func(path string) *http.Request {
		r := httptest.NewRequest(http.MethodOptions, path, nil)
		r.Header.Set("Origin", "http://127.0.0.1:8081")
		r.Header.Set("Access-Control-Request-Method", http.MethodPost)
		return r
	}
	w := httptest.NewRecorder()
	if !CORS(w, preflight("/v1/txs"), mux) {
		t.Fatal("a route's preflight is not answered")
	}
	if w.Code != http.StatusNoContent || w.Header().Get("Access-Control-Allow-Methods") != "POST" ||
		w.Header().Get("Access-Control-Allow-Origin") != "*" || w.Header().Get("Access-Control-Allow-Headers") != Headers {
		t.Errorf("the preflight's answer: %d %v", w.Code, w.Header())
	}
	w = httptest.NewRecorder()
	if CORS(w, preflight("/v1/nothing"), mux) {
		t.Error("a preflight of no route is answered")
	}
	w = httptest.NewRecorder()
	if CORS(w, httptest.NewRequest(http.MethodGet, "/v1/status", nil), mux) {
		t.Error("a GET is answered as a preflight")
	}
	if w.Header().Get("Access-Control-Allow-Origin") != "*" || w.Header().Get("Access-Control-Expose-Headers") != Expose {
		t.Errorf("a GET's CORS headers: %v", w.Header())
	}
}
