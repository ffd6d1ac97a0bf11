// Package api owns the node's HTTP JSON API, versioned under /v1: submitting
// transactions, reading their status, certified blocks and the node's
// status, a server-sent-event stream of commits, and the Prometheus metrics
// at /metrics (text exposition format, written by hand). Every error is
// JSON, {"error": {"code": "<snake_case>", "message": "<text>"}}, with its
// HTTP status; every request is counted and logged.
//
// Routes:
//
//	POST /v1/txs                 submit a transaction (raw body, or {"tx": "<base64>"})
//	POST /v1/txs/batch           submit many: count:u32 ‖ (len:u32 ‖ tx) × count
//	GET  /v1/txs/{hash}          committed (with its height) or pending
//	GET  /v1/blocks/{height}     a certified block and its certificate
//	GET  /v1/blocks/latest       the last certified block
//	GET  /v1/accounts/{id}       an account (?height=H, ?prove=1 for the proof)
//	GET  /v1/organization        the organization (?height=H, ?prove=1)
//	GET  /v1/members             members and applicants in ID order (?after=ID, ?limit=N, ?height=H, ?prove=1)
//	GET  /v1/headers?from=&to=   headers, certificates and node sets for a light client
//	GET  /v1/proposals           a domain's proposals with their states (?domain=, ?page=)
//	GET  /v1/proposals/{id}      a proposal: state, options, roster, rounds, sub-meetings, tallies
//	GET  /v1/proposals/{id}/comments
//	GET  /v1/governance          domains, parameters, executors
//	POST /v1/proposals, /v1/proposals/{id}/{join,options,comments,votes,freeze,review},
//	     /v1/challenges          a signed transaction of that type (as POST /v1/txs)
//	(the GET routes above take ?height=H and ?prove=1, which adds a proof of
//	each record the answer is built from)
//	POST /v1/sales/{id}/stamps, GET /v1/sales[/{id}[/buyers/{account}]]  fair ticket sales (sale.go)
//	GET  /v1/status              the node's status
//	GET  /v1/events              commits, as server-sent events
//	GET  /metrics                Prometheus metrics
//
// Every route under /v1/ answers cross-origin requests from any page
// (CORS; see cors.go); /metrics does not.
//
// The event stream never slows the node: a client that falls behind misses
// commits (the node drops them for slow subscribers), and sees a gap in the
// heights; one that stops reading is cut off. Shutdown ends the open
// streams.
//
// What clients may hold of the node is bounded (Limits: timeouts,
// connections, the bytes of request bodies held at once); what is over a
// bound is refused with 503 busy and Retry-After, 408 timeout or 413
// too_large.
//
// The API reaches the node only through Backend, which *node.Node
// satisfies; it keeps no state of its own beyond its counters. Its answers
// are the shapes of package apijson, which the clients (internal/client)
// decode. It imports the node, chain, epoch, app and apijson packages;
// nothing imports it but the daemon that serves it.
package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/mass-consensus/mass/internal/apijson"
	"github.com/mass-consensus/mass/internal/chain"
	"github.com/mass-consensus/mass/internal/httproute"
	"github.com/mass-consensus/mass/internal/node"
	"github.com/mass-consensus/mass/internal/protocol/epoch"
)

// Backend is what the API needs of a node; a *node.Node satisfies it.
type Backend interface {
	Submit(ctx context.Context, tx []byte) error
	SubmitBatch(ctx context.Context, txs [][]byte) []error
	TxStatus(h epoch.TxHash) (height uint64, committed, pending bool, err error)
	Block(height uint64) (*chain.Block, *chain.Certificate, error)
	Status() node.Status
	Subscribe(buffer int) (<-chan node.Commit, func())
	NodeSet(hash chain.Hash) (chain.NodeSet, bool)
	GenesisNodeSet() chain.NodeSet
}

var _ Backend = (*node.Node)(nil)

// Metrics returns the extra gauges and counters /metrics exposes; the
// server calls it at each scrape.
type Metrics func() []Metric

// Metric is one sample. Samples with the same Name form one family, whose
// Help and Type are taken from its first sample.
type Metric struct {
	Name   string
	Help   string
	Type   string // "counter" or "gauge"; anything else is exposed as "untyped"
	Value  float64
	Labels map[string]string
}

// Limits and timings.
const (
	// MaxBodySize bounds the body of POST /v1/txs, in bytes.
	MaxBodySize = 1 << 20
	// submitTimeout bounds the wait for the node to take a transaction.
	submitTimeout = 10 * time.Second
	// pingEvery is how often an idle event stream gets a comment line.
	pingEvery = 15 * time.Second
	// eventBuffer is the commits a stream may fall behind before it misses
	// some.
	eventBuffer = 64
	// retryAfter is the Retry-After, in seconds, of a busy node.
	retryAfter = "1"
)

// Error codes: the "code" of an error response (declared in apijson, which
// the clients share). All but codeInternal count as rejections in
// mass_api_rejected_total{reason}.
const (
	codeBadRequest       = apijson.CodeBadRequest
	codeTooLarge         = apijson.CodeTooLarge
	codeUnsupportedMedia = apijson.CodeUnsupportedMedia
	codeRejected         = apijson.CodeRejected
	codeDuplicate        = apijson.CodeDuplicate
	codeBusy             = apijson.CodeBusy
	codeTimeout          = apijson.CodeTimeout
	codeUnavailable      = apijson.CodeUnavailable
	codeStopped          = apijson.CodeStopped
	codeNotFound         = apijson.CodeNotFound
	codePruned           = apijson.CodePruned
	codeMethodNotAllowed = apijson.CodeMethodNotAllowed
	codeInternal         = apijson.CodeInternal
)

// rejectReasons are the reasons counted, listed so each is exposed from the
// start, at zero.
var rejectReasons = []string{
	codeBadRequest, codeTooLarge, codeUnsupportedMedia, codeRejected, codeDuplicate,
	codeBusy, codeTimeout, codeUnavailable, codeStopped, codeNotFound, codePruned, codeMethodNotAllowed,
}

// Server is the HTTP API of one node; it is an http.Handler.
type Server struct {
	b         Backend
	state     State // nil: the node serves no application state
	metrics   Metrics
	log       *slog.Logger
	mux       *http.ServeMux
	pingEvery time.Duration
	limits    Limits
	budget    *budget      // the request bodies' bytes (Limits.BodyBudget)
	conns     connUsage    // of the Listener
	app       http.Handler // what is outside /v1/ and /metrics (SetApp); nil: 404
	stamps    *stamping    // POST /v1/sales/{id}/stamps (SetStamping); nil: 404

	done     chan struct{} // closed by Shutdown
	stopOnce sync.Once

	mu       sync.Mutex
	requests map[requestKey]uint64
	rejected map[string]uint64
}

type requestKey struct {
	route string
	code  int
}

// New returns the API of a backend. m may be nil; a nil logger discards.
func New(b Backend, m Metrics, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		b: b, metrics: m, log: logger, mux: http.NewServeMux(), pingEvery: pingEvery,
		done:     make(chan struct{}),
		requests: map[requestKey]uint64{},
		rejected: map[string]uint64{},
	}
	for _, r := range rejectReasons {
		s.rejected[r] = 0
	}
	if err := s.SetLimits(Limits{}); err != nil {
		panic(err) // the defaults are valid
	}
	s.mux.HandleFunc("POST /v1/txs", s.submit)
	s.mux.HandleFunc("POST /v1/txs/batch", s.submitBatch)
	s.mux.HandleFunc("GET /v1/txs/{hash}", s.txStatus)
	s.mux.HandleFunc("GET /v1/blocks/latest", s.latestBlock)
	s.mux.HandleFunc("GET /v1/blocks/{height}", s.block)
	s.mux.HandleFunc("GET /v1/status", s.status)
	s.mux.HandleFunc("GET /v1/events", s.events)
	s.mux.HandleFunc("GET /v1/accounts/{id}", s.account)
	s.mux.HandleFunc("GET /v1/organization", s.organization)
	s.mux.HandleFunc("GET /v1/headers", s.headers)
	s.mux.HandleFunc("GET /v1/members", s.members)
	s.mux.HandleFunc("GET /metrics", s.serveMetrics)
	s.registerGovernance()
	s.registerSales()
	return s
}

// Shutdown ends the open event streams and refuses new ones, so that
// http.Server.Shutdown, which waits for active requests, does not wait on
// them: register it with http.Server.RegisterOnShutdown, or call it first.
// The other routes keep working.
func (s *Server) Shutdown() {
	s.stopOnce.Do(func() { close(s.done) })
}

// ServeHTTP routes a request, then counts and logs it. The bytes its body
// reserved in the budget are given back once it is answered.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &recorder{ResponseWriter: w}
	defer func() { s.budget.give(rec.held) }()
	route := "unmatched"
	if s.cors(rec, r) {
		route = "preflight"
	} else if _, pattern := s.mux.Handler(r); pattern != "" {
		route = pattern
		s.mux.ServeHTTP(rec, r)
	} else if s.serveApp(r) {
		route = "app"
		s.app.ServeHTTP(rec, r)
	} else {
		s.unmatched(rec, r)
	}
	code := rec.code
	if code == 0 {
		code = http.StatusOK
	}
	s.mu.Lock()
	s.requests[requestKey{route, code}]++
	s.mu.Unlock()
	attrs := []slog.Attr{
		slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.Int("status", code), slog.Duration("duration", time.Since(start)),
	}
	level := slog.LevelDebug
	if code >= 500 {
		level = slog.LevelWarn
		if rec.err != nil {
			attrs = append(attrs, slog.String("err", rec.err.Error()))
		}
	}
	s.log.LogAttrs(context.Background(), level, "api request", attrs...)
}

// unmatched answers a request no route takes: the mux decides between 404
// and 405 (and the Allow header), the answer is a JSON error.
// SetApp serves h for the paths outside the API (/v1/…) and /metrics: the
// members' web app. Call it before serving.
func (s *Server) SetApp(h http.Handler) { s.app = h }

// serveApp says whether a request that matched no API route is the app's.
func (s *Server) serveApp(r *http.Request) bool {
	return s.app != nil && !strings.HasPrefix(r.URL.Path, "/v1/") && r.URL.Path != "/v1" && r.URL.Path != "/metrics"
}

func (s *Server) unmatched(w http.ResponseWriter, r *http.Request) {
	if allow := httproute.Allowed(s.mux, r); allow != "" {
		w.Header().Set("Allow", allow)
		s.fail(w, http.StatusMethodNotAllowed, codeMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path, nil)
		return
	}
	s.fail(w, http.StatusNotFound, codeNotFound, "no route for "+r.Method+" "+r.URL.Path, nil)
}

// fail writes a JSON error and counts the rejection; cause, for a 5xx, is
// logged and not shown to the client.
func (s *Server) fail(w http.ResponseWriter, status int, code, message string, cause error) {
	if code != codeInternal {
		s.mu.Lock()
		s.rejected[code]++
		s.mu.Unlock()
	}
	if rec, ok := w.(*recorder); ok && cause != nil {
		rec.err = cause
	}
	writeJSON(w, status, apijson.ErrorBody{Error: apijson.ErrorDetail{Code: code, Message: message}})
}

// internal answers 500 for an error of the backend.
func (s *Server) internal(w http.ResponseWriter, err error) {
	s.fail(w, http.StatusInternalServerError, codeInternal, "internal error", err)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil { // only for values that cannot be encoded: a bug
		status = http.StatusInternalServerError
		data = []byte(`{"error":{"code":"internal","message":"internal error"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(data, '\n'))
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, statusJSON(s.b.Status()))
}

// recorder remembers the status a handler wrote, the cause of a 5xx, and
// the bytes of the body budget the request holds.
type recorder struct {
	http.ResponseWriter
	code int
	err  error
	held int64
}

func (r *recorder) WriteHeader(code int) {
	if r.code == 0 && code >= 200 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection (to flush and
// to lift the write deadline of event streams).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
