package api

import (
	"net/http"
	"strings"
)

// Cross-origin requests (CORS). Every route under /v1/ answers any origin
// (Access-Control-Allow-Origin: *) so that the members' web app served by
// one node, or by a gateway, can read the other nodes' APIs: their status
// for the network page, and proofs to check one node's word against
// another's. No credentials are involved: the API sets and reads no
// cookies and takes no authorization header, so "*" lets a page read
// exactly what any program on the network can read.
//
// The submissions (POST /v1/txs and the typed routes) are allowed too: a
// signed transaction authenticates itself, and without CORS a page could
// still send one as a "simple" request (text/plain), only not read the
// answer. Allowing it lets the app submit through another node and show
// why a transaction was refused.
//
// /metrics is not: it is for the operator's scraper, not for pages, and a
// page on the operator's machine has no business reading it.
const (
	corsMaxAge = "86400" // seconds a browser may cache a preflight's answer
	// corsExpose are the answer headers a cross-origin page may read.
	corsExpose = "Retry-After, X-Mass-Verified"
	// corsHeaders are the request headers a page may send.
	corsHeaders = "Content-Type"
)

// isAPIPath says whether a path is the API's (under /v1/), whose answers
// carry the CORS headers.
func isAPIPath(p string) bool { return strings.HasPrefix(p, "/v1/") }

// cors adds the CORS headers to an answer of the API and answers a
// preflight (OPTIONS with Access-Control-Request-Method) of a route of
// the API: 204 with the route's methods. It says whether it answered.
func (s *Server) cors(w http.ResponseWriter, r *http.Request) bool {
	if !isAPIPath(r.URL.Path) {
		return false
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", corsExpose)
	if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
		return false
	}
	// The mux answers an OPTIONS on a route's path with 405 and the
	// route's methods in Allow; on a path with no route, 404.
	probe := &headerProbe{header: http.Header{}}
	s.mux.ServeHTTP(probe, r)
	allow := probe.header.Get("Allow")
	if probe.code != http.StatusMethodNotAllowed || allow == "" {
		return false // not a route: answered as any unmatched request
	}
	h.Set("Access-Control-Allow-Methods", allow)
	h.Set("Access-Control-Allow-Headers", corsHeaders)
	h.Set("Access-Control-Max-Age", corsMaxAge)
	w.WriteHeader(http.StatusNoContent)
	return true
}
