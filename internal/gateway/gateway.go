// Package gateway serves the members' web app and the read API of a node
// (/v1) for a web service that runs no node of its own: it follows several
// nodes, verifies every answer itself from the genesis file alone, and
// forwards submissions.
//
// # What it verifies
//
// A light client (package light) follows the highest certified height any
// reachable node reports: every poll asks each node for its status, then
// fetches the headers it lacks from a node that has them and verifies
// their links and certificates; a node whose headers or answers fail
// verification is marked faulty for a while and asked last.
//
// Every read (accounts, the organization, the members, the treasury,
// headers, blocks, proposals, lists, governance, executors, comments) is
// asked of a node with
// ?prove=1 at a height the gateway has verified. Each proof is verified,
// and the answer is rebuilt from the verified records alone: an account or
// the organization is decoded from its proven value, a governance view is
// built by the application's own view builders (orgapp.ProposalViewOf …)
// over a store that holds only verified records. The node's own view is
// never passed on: a lying node could put anything in a view whose
// records are genuine. A record a view needs but whose proof the node did
// not send is asked for through GET /v1/accounts/{key}?prove=1 (which
// proves any account record, and the absence of any record); if it still
// cannot be proven, the answer is unverified. "Not found" is served only
// when the record's absence is proven.
//
// If no node gives a verifiable answer, the gateway answers 502 with the
// code "unverified" and why each node failed. It never serves a value it
// could not verify. Verified answers are cached by route and height in a
// bounded LRU; a read without ?height is of the latest verified height.
//
// # What it does not verify
//
// Submissions (POST /v1/txs, /v1/txs/batch and the typed governance
// routes) are forwarded to a node, failing over to the next on a
// connection failure or a 5xx; a node's 4xx (rejected, duplicate) is
// passed back as it is. GET /v1/txs/{hash} is forwarded too: a
// transaction's status and result are not in the state tree, so no proof
// of them exists, and the answer (marked X-Mass-Verified: no) is the
// node's word. The event stream is refused: its commits are not
// provable.
//
// Its only trust is the genesis file, as a light client's: no node set
// ever had more than f faulty nodes of its n ≥ 3f+1.
//
// It imports the light client, the API's client and shapes (client,
// apijson), the formats of the chain and the state (chain, smt, state,
// gov), the application's view builders (orgapp) and the web app's files
// (web); never the node runtime (node, api, daemon, transport), which
// only its tests use.
package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mass-consensus/mass/internal/apijson"
	"github.com/mass-consensus/mass/internal/client"
	"github.com/mass-consensus/mass/internal/httproute"
	"github.com/mass-consensus/mass/internal/web"
	"github.com/mass-consensus/mass/light"
)

// CodeUnverified is the code of the answer when no node gave a verifiable
// one (HTTP 502).
const CodeUnverified = "unverified"

// Defaults of a Config.
const (
	DefaultPoll       = time.Second
	DefaultTimeout    = 10 * time.Second
	DefaultCacheBytes = 64 << 20
	DefaultFaultyFor  = time.Minute
	// MaxNodes bounds the nodes a gateway follows.
	MaxNodes = 64
	// MaxBodySize bounds a forwarded submission (POST /v1/txs and the
	// typed routes), as a node does; a batch is bounded by
	// apijson.MaxBatchBody.
	MaxBodySize = 1 << 20
	// maxAnswer bounds a node's answer to a read.
	maxAnswer = 16 << 20
	// maxForwarded bounds a node's answer to a forwarded request.
	maxForwarded = 8 << 20
	// maxStatusWait bounds the wait for the nodes' statuses in a poll: a
	// node that does not answer its status in time is unreachable.
	maxStatusWait = 3 * time.Second
	// maxPagesPerPoll bounds the headers one poll verifies (pages of
	// light.PageSize).
	maxPagesPerPoll = 10
)

// Config configures a Gateway.
type Config struct {
	// Genesis is the genesis file's bytes: the only thing trusted.
	Genesis []byte
	// Nodes are the API addresses of the nodes to follow (host:port or
	// http(s)://host:port), at least one.
	Nodes []string
	// Poll is how often each node's status is asked; 0 is DefaultPoll.
	Poll time.Duration
	// Timeout bounds each request to a node; 0 is DefaultTimeout.
	Timeout time.Duration
	// CacheBytes bounds the cache of verified answers; 0 is
	// DefaultCacheBytes, negative disables the cache.
	CacheBytes int64
	// FaultyFor is how long a node that sent something that failed
	// verification is asked last; 0 is DefaultFaultyFor.
	FaultyFor time.Duration
	// Logger; nil discards.
	Logger *slog.Logger
	// App serves the paths outside /v1/ and GenesisPath; nil is the
	// members' web app (web.Handler).
	App http.Handler
}

// Gateway follows nodes and serves verified answers; it is an
// http.Handler. Close stops it.
type Gateway struct {
	cfg       Config
	log       *slog.Logger
	nodes     []*upstream
	http      *http.Client
	transport *http.Transport
	cache     *cache
	flights   flights
	turn      atomic.Uint64 // which node is asked first among equals
	mux       *http.ServeMux
	api       *http.ServeMux // the /v1 routes alone, to tell 404 from 405
	app       http.Handler

	mu      sync.RWMutex // guards lc
	lc      *light.Client
	chainID string
	// advanced is closed, and replaced, when the verified height grows.
	advMu    sync.Mutex
	advanced chan struct{}

	started time.Time
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	kick    chan struct{}
}

// New starts a gateway: it begins following the nodes at once.
func New(cfg Config) (*Gateway, error) {
	lc, err := light.New(cfg.Genesis)
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	if len(cfg.Nodes) == 0 || len(cfg.Nodes) > MaxNodes {
		return nil, fmt.Errorf("gateway: %d nodes, want 1 to %d", len(cfg.Nodes), MaxNodes)
	}
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultPoll
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.CacheBytes == 0 {
		cfg.CacheBytes = DefaultCacheBytes
	}
	if cfg.FaultyFor <= 0 {
		cfg.FaultyFor = DefaultFaultyFor
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       30 * time.Second,
		ResponseHeaderTimeout: cfg.Timeout,
	}
	cfg.Genesis = bytes.Clone(cfg.Genesis)
	g := &Gateway{
		cfg: cfg, log: logger, transport: tr,
		http:     &http.Client{Transport: tr, Timeout: cfg.Timeout},
		cache:    newCache(cfg.CacheBytes),
		lc:       lc,
		chainID:  lc.ChainID(),
		advanced: make(chan struct{}),
		kick:     make(chan struct{}, 1),
		app:      cfg.App,
		started:  time.Now(),
	}
	seen := map[string]bool{}
	for _, addr := range cfg.Nodes {
		c, err := client.New(addr, client.WithHTTP(g.http), client.WithMaxAnswer(maxAnswer))
		if err != nil {
			return nil, fmt.Errorf("gateway: %w", err)
		}
		if seen[c.Base()] {
			return nil, fmt.Errorf("gateway: node %s is listed twice", c.Base())
		}
		seen[c.Base()] = true
		g.nodes = append(g.nodes, &upstream{addr: addr, base: c.Base(), c: c})
	}
	if g.app == nil {
		g.app = web.Handler()
	}
	g.routes()
	g.ctx, g.cancel = context.WithCancel(context.Background())
	g.wg.Add(1)
	go g.follow()
	return g, nil
}

// Close stops following and cancels the requests to nodes in flight; it
// returns once every goroutine of the gateway has ended. Requests served
// after Close answer 503.
func (g *Gateway) Close() error {
	g.cancel()
	g.wg.Wait()
	g.transport.CloseIdleConnections()
	return nil
}

// ChainID is the chain the gateway follows (the genesis file's).
func (g *Gateway) ChainID() string { return g.chainID }

// Height is the latest height the gateway has verified (0 before any).
func (g *Gateway) Height() uint64 {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.lc.Height()
}

// WaitHeight waits until the gateway has verified height h, or ctx ends.
func (g *Gateway) WaitHeight(ctx context.Context, h uint64) error {
	for {
		g.advMu.Lock()
		ch := g.advanced
		g.advMu.Unlock()
		if g.Height() >= h {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("gateway: waiting for height %d (verified %d): %w", h, g.Height(), ctx.Err())
		case <-g.ctx.Done():
			return errors.New("gateway: closed")
		}
	}
}

// Poll asks for a poll of the nodes now rather than at the next tick.
func (g *Gateway) Poll() {
	select {
	case g.kick <- struct{}{}:
	default:
	}
}

// routes registers the API's routes; the rest goes to the app.
func (g *Gateway) routes() {
	g.api = http.NewServeMux()
	routes := map[string]http.HandlerFunc{
		"GET /v1/status":                  g.status,
		"GET /v1/headers":                 g.headers,
		"GET /v1/blocks/latest":           g.latestBlock,
		"GET /v1/blocks/{height}":         g.block,
		"GET /v1/accounts/{id}":           g.account,
		"GET /v1/treasury":                g.treasury,
		"GET /v1/organization":            g.organization,
		"GET /v1/members":                 g.members,
		"GET /v1/proposals":               g.proposals,
		"GET /v1/proposals/{id}":          g.proposal,
		"GET /v1/governance":              g.governance,
		"GET /v1/executors":               g.executors,
		"GET /v1/proposals/{id}/comments": g.comments,
		"GET /v1/events":                  g.refuse("the commits of the event stream are not provable; poll GET /v1/status and GET /v1/txs/{hash} instead"),
		"GET /v1/txs/{hash}":              g.txStatus,
		"POST /v1/txs":                    g.forward(MaxBodySize),
		"POST /v1/txs/batch":              g.forward(apijson.MaxBatchBody),
		"POST /v1/proposals":              g.forward(MaxBodySize),
		"POST /v1/challenges":             g.forward(MaxBodySize),
	}
	for _, action := range []string{"join", "options", "comments", "votes", "freeze", "review"} {
		routes["POST /v1/proposals/{id}/"+action] = g.forward(MaxBodySize)
	}
	for pattern, h := range routes {
		g.api.HandleFunc(pattern, h)
	}
	g.mux = http.NewServeMux()
	g.mux.Handle("/v1/", http.HandlerFunc(g.serveAPI))
	g.mux.Handle("GET "+GenesisPath, http.HandlerFunc(g.serveGenesis))
	g.mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { g.app.ServeHTTP(w, r) }))
}

// ServeHTTP serves the API under /v1/ and the app elsewhere.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if g.ctx.Err() != nil {
		fail(w, http.StatusServiceUnavailable, apijson.CodeStopped, "the gateway is shutting down")
		return
	}
	g.mux.ServeHTTP(w, r)
}

// serveAPI routes a /v1 request; a path no route takes answers a JSON
// 404, or 405 when another method would be taken.
func (g *Gateway) serveAPI(w http.ResponseWriter, r *http.Request) {
	if g.cors(w, r) {
		return
	}
	if _, pattern := g.api.Handler(r); pattern != "" {
		g.api.ServeHTTP(w, r)
		return
	}
	if allow := httproute.Allowed(g.api, r); allow != "" {
		w.Header().Set("Allow", allow)
		fail(w, http.StatusMethodNotAllowed, apijson.CodeMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path)
		return
	}
	fail(w, http.StatusNotFound, apijson.CodeNotFound, "no route for "+r.Method+" "+r.URL.Path)
}

// GenesisPath is where the app reads the genesis file (as a node's
// internal/web serves it): the gateway serves the one it trusts.
const GenesisPath = "/genesis.json"

// serveGenesis serves the genesis file's bytes, revalidated at each load.
func (g *Gateway) serveGenesis(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, "genesis.json", g.started, bytes.NewReader(g.cfg.Genesis))
}

// refuse answers a route the gateway cannot verify.
func (g *Gateway) refuse(why string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		fail(w, http.StatusBadGateway, CodeUnverified, "the gateway serves only what it can verify: "+why)
	}
}

// requestContext is the request's context, also cancelled by Close.
func (g *Gateway) requestContext(r *http.Request) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(r.Context())
	stop := context.AfterFunc(g.ctx, cancel)
	return ctx, func() {
		stop()
		cancel()
	}
}

func fail(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, apijson.ErrorBody{Error: apijson.ErrorDetail{Code: code, Message: message}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil { // only for values that cannot be encoded: a bug
		status = http.StatusInternalServerError
		data = []byte(`{"error":{"code":"internal","message":"internal error"}}`)
	}
	writeBody(w, status, append(data, '\n'))
}

func writeBody(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(body)
}
