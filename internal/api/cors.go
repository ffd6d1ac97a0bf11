package api

import (
	"net/http"
	"strings"

	"github.com/mass-consensus/mass/internal/httproute"
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

// isAPIPath says whether a path is the API's (under /v1/), whose answers
// carry the CORS headers.
func isAPIPath(p string) bool { return strings.HasPrefix(p, "/v1/") }

// cors adds the CORS headers to an answer of the API and answers a
// preflight of a route of the API (package httproute). It says whether it
// answered.
func (s *Server) cors(w http.ResponseWriter, r *http.Request) bool {
	return isAPIPath(r.URL.Path) && httproute.CORS(w, r, s.mux)
}
