package gateway

import "net/http"

// Cross-origin requests: the gateway answers them on every route under
// /v1/ as a node's API does (internal/api, cors.go), so that a page served
// elsewhere can read its verified answers: Access-Control-Allow-Origin: *
// (no credentials are involved), and preflights of a route answered with
// its methods.
const (
	corsMaxAge  = "86400"
	corsExpose  = "Retry-After, X-Mass-Verified"
	corsHeaders = "Content-Type"
)

// cors adds the CORS headers to an answer under /v1/ and answers a
// preflight of a route; it says whether it answered.
func (g *Gateway) cors(w http.ResponseWriter, r *http.Request) bool {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", corsExpose)
	if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
		return false
	}
	probe := &headerProbe{header: http.Header{}}
	g.api.ServeHTTP(probe, r)
	allow := probe.header.Get("Allow")
	if probe.code != http.StatusMethodNotAllowed || allow == "" {
		return false
	}
	h.Set("Access-Control-Allow-Methods", allow)
	h.Set("Access-Control-Allow-Headers", corsHeaders)
	h.Set("Access-Control-Max-Age", corsMaxAge)
	w.WriteHeader(http.StatusNoContent)
	return true
}
