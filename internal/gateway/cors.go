package gateway

import (
	"net/http"

	"github.com/mass-consensus/mass/internal/httproute"
)

// cors adds the CORS headers to an answer under /v1/ and answers a
// preflight of a route, as a node's API does (package httproute), so that
// a page served elsewhere can read the gateway's verified answers; it
// says whether it answered.
func (g *Gateway) cors(w http.ResponseWriter, r *http.Request) bool {
	return httproute.CORS(w, r, g.api)
}
