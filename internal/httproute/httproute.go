// Package httproute owns what a node's API and a gateway say alike about
// their routes under /v1/: which methods a path allows (from the
// http.ServeMux's own 405 answer) and the cross-origin (CORS) rules.
//
// Every /v1/ answer may be read by any origin (Access-Control-Allow-Origin:
// *): no credentials are involved — the API sets and reads no cookies and
// takes no authorization header — so "*" lets a page read exactly what any
// program on the network can read. A preflight (OPTIONS with
// Access-Control-Request-Method) of a route is answered 204 with the
// route's methods; of a path that is no route, not at all (the caller
// answers it as any unmatched request).
package httproute

import "net/http"

const (
	// MaxAge is how long (seconds) a browser may cache a preflight's answer.
	MaxAge = "86400"
	// Expose are the answer headers a cross-origin page may read.
	Expose = "Retry-After, X-Mass-Verified"
	// Headers are the request headers a page may send.
	Headers = "Content-Type"
)

// Allowed says which methods mux allows on r's path when r's method is not
// one of them: the Allow header of the mux's own 405 answer. A path that
// is no route at all gives "".
func Allowed(mux http.Handler, r *http.Request) string {
	probe := &probe{header: http.Header{}}
	mux.ServeHTTP(probe, r)
	if probe.code != http.StatusMethodNotAllowed {
		return ""
	}
	return probe.header.Get("Allow")
}

// CORS adds the CORS headers to the answer of r (a request under /v1/)
// and answers a preflight of a route of mux: 204 with the route's methods.
// It says whether it answered.
func CORS(w http.ResponseWriter, r *http.Request, mux http.Handler) bool {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", Expose)
	if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
		return false
	}
	allow := Allowed(mux, r)
	if allow == "" {
		return false
	}
	h.Set("Access-Control-Allow-Methods", allow)
	h.Set("Access-Control-Allow-Headers", Headers)
	h.Set("Access-Control-Max-Age", MaxAge)
	w.WriteHeader(http.StatusNoContent)
	return true
}

// probe takes what the mux's own 404 and 405 handlers write: their
// status and headers, no body.
type probe struct {
	header http.Header
	code   int
}

func (p *probe) Header() http.Header { return p.header }

func (p *probe) WriteHeader(code int) {
	if p.code == 0 {
		p.code = code
	}
}

func (p *probe) Write(b []byte) (int, error) {
	if p.code == 0 {
		p.code = http.StatusOK
	}
	return len(b), nil
}
