package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/mass-consensus/mass/internal/apijson"
	"github.com/mass-consensus/mass/internal/app"
	"github.com/mass-consensus/mass/internal/app/orgapp"
	"github.com/mass-consensus/mass/internal/app/sale"
	"github.com/mass-consensus/mass/internal/app/state"
	"github.com/mass-consensus/mass/internal/chain"
	"github.com/mass-consensus/mass/internal/crypto"
)

// The sale routes (docs/SALE.md):
//
//	POST /v1/sales/{id}/stamps             the node's stamp of a buyer's request
//	GET  /v1/sales                         the registry: next ID, open sales (?height, ?prove)
//	GET  /v1/sales/{id}                    a sale's record (?height, ?prove)
//	GET  /v1/sales/{id}/buyers/{account}   a buyer's request, result and outcome (?height, ?prove)
//
// The stamping route's body is the buyer's signed ask (sale.Ask): its
// binary encoding (sale.AskSize bytes: sale:u64 ‖ buyer:[32] ‖
// quantity:u32 ‖ nonce:u64 ‖ sig:[64]) as application/octet-stream, or
// apijson.StampAsk as application/json, at most MaxAskBody bytes. The node
// reads the sale and the buyer's account at its latest applied height,
// checks the buyer's signature, and signs (sale, request hash, its clock)
// once per sale and identity (sale.Stamper): asked again for the same
// request it answers the same stamp; asked for another request of the same
// identity it refuses (409 sale_duplicate).
//
// Bounds: a token bucket per remote IP address (Stamping.Rate per second,
// Stamping.Burst at once; 429 rate_limited with Retry-After), over a table
// of at most Stamping.MaxAddrs addresses; the Stamper's memory per sale
// (Stamping.MaxPerSale identities, by default 4 × the sale's MaxRequests)
// and its MaxOpen sales, a closed sale forgotten as soon as the route sees
// it closed.

// Sales is what the sale routes read; *orgapp.App satisfies it.
type Sales interface {
	Sale(height, id uint64) (*sale.Sale, error)
	Account(height uint64, id crypto.ID) (*state.Account, uint64, error)
	ChainID() string
}

var _ Sales = (*orgapp.App)(nil)

// MaxAskBody bounds the body of POST /v1/sales/{id}/stamps: a JSON ask is
// about 330 bytes.
const MaxAskBody = 1 << 10

// Defaults of Stamping.
const (
	// DefaultStampRate is the stamp requests per second one remote address
	// may make: a buyer needs one per node, a retry or two at most, so an
	// address behind which 100 buyers stamp within their window's first
	// second is still served at once (Burst).
	DefaultStampRate = 200
	// DefaultStampBurst is the requests an address may make at once.
	DefaultStampBurst = 400
	// DefaultStampAddrs bounds the limiter's table.
	DefaultStampAddrs = 4096
	// limiterSweepEvery is how often, at most, a full table is swept.
	limiterSweepEvery = 100 * time.Millisecond
)

// Stamping configures POST /v1/sales/{id}/stamps.
type Stamping struct {
	// Key is the node's key, which signs the stamps; the node must be in
	// the sale's node set.
	Key *crypto.PrivateKey
	// Now reads the node's clock, Unix ms (nil: the system clock). Tests
	// give a fake one.
	Now func() int64
	// Rate and Burst are the token bucket of each remote IP address
	// (0: the defaults).
	Rate  float64
	Burst int
	// MaxAddrs bounds the addresses the limiter remembers (0: default).
	MaxAddrs int
	// MaxPerSale bounds the identities the Stamper remembers per sale (0:
	// 4 × the sale's MaxRequests, sale.DefaultStamperFactor).
	MaxPerSale int
}

// stamping is the stamping route's state.
type stamping struct {
	key     *crypto.PrivateKey
	now     func() int64
	limiter *limiter

	mu         sync.Mutex // serializes the Stamper
	stamper    *sale.Stamper
	chainID    string
	tracked    map[uint64]bool // the sales the Stamper remembers
	maxPerSale int
}

// SetStamping enables POST /v1/sales/{id}/stamps with the node's key; the
// state (SetState) must hold sales. Call it before serving.
func (s *Server) SetStamping(cfg Stamping) error {
	switch {
	case cfg.Key == nil:
		return errors.New("api: stamping without a key")
	case cfg.Rate < 0 || cfg.Burst < 0 || cfg.MaxAddrs < 0 || cfg.MaxPerSale < 0:
		return errors.New("api: negative stamping limits")
	}
	if cfg.Now == nil {
		cfg.Now = func() int64 { return time.Now().UnixMilli() }
	}
	if cfg.Rate == 0 {
		cfg.Rate = DefaultStampRate
	}
	if cfg.Burst == 0 {
		cfg.Burst = DefaultStampBurst
	}
	if cfg.MaxAddrs == 0 {
		cfg.MaxAddrs = DefaultStampAddrs
	}
	s.stamps = &stamping{key: cfg.Key, now: cfg.Now, tracked: map[uint64]bool{},
		limiter: newLimiter(cfg.Rate, cfg.Burst, cfg.MaxAddrs), maxPerSale: cfg.MaxPerSale}
	return nil
}

// registerSales adds the sale routes.
func (s *Server) registerSales() {
	s.mux.HandleFunc("POST /v1/sales/{id}/stamps", s.stamp)
	s.mux.HandleFunc("GET /v1/sales", s.sales)
	s.mux.HandleFunc("GET /v1/sales/{id}", s.sale)
	s.mux.HandleFunc("GET /v1/sales/{id}/buyers/{account}", s.saleBuyer)
}

// refusals map the Stamper's reasons to an HTTP status and an API code.
var refusals = []struct {
	reason error
	status int
	code   string
}{
	{sale.ErrClosed, http.StatusConflict, apijson.CodeSaleClosed},
	{sale.ErrWindow, http.StatusConflict, apijson.CodeSaleWindow},
	{sale.ErrQuantity, http.StatusBadRequest, apijson.CodeSaleQuantity},
	{sale.ErrNotMember, http.StatusForbidden, apijson.CodeSaleNotMember},
	{sale.ErrBadPoW, http.StatusBadRequest, apijson.CodeSaleBadPoW},
	{sale.ErrBadSignature, http.StatusBadRequest, apijson.CodeSaleBadSig},
	{sale.ErrNotNode, http.StatusForbidden, apijson.CodeSaleNotNode},
	{sale.ErrDuplicate, http.StatusConflict, apijson.CodeSaleDuplicate},
	{sale.ErrFull, http.StatusConflict, apijson.CodeSaleFull},
	{sale.ErrTooMany, http.StatusConflict, apijson.CodeSaleTooMany},
	{sale.ErrNoSale, http.StatusNotFound, codeNotFound},
}

// refused answers a refusal of the Stamper.
func (s *Server) refused(w http.ResponseWriter, err error) {
	for _, r := range refusals {
		if errors.Is(err, r.reason) {
			s.fail(w, r.status, r.code, err.Error(), nil)
			return
		}
	}
	s.internal(w, err)
}

// stamp answers POST /v1/sales/{id}/stamps.
func (s *Server) stamp(w http.ResponseWriter, r *http.Request) {
	st := s.stamps
	sales, ok := s.state.(Sales)
	if st == nil || !ok {
		s.fail(w, http.StatusNotFound, apijson.CodeSaleUnavailable, "this node does not stamp sale requests", nil)
		return
	}
	// The limit comes first: a refused request costs a map lookup.
	now := st.now()
	if ok, retry := st.limiter.allow(remoteHost(r), now); !ok {
		w.Header().Set("Retry-After", strconv.FormatInt(max(1, int64(math.Ceil(retry.Seconds()))), 10))
		s.fail(w, http.StatusTooManyRequests, apijson.CodeRateLimited, "too many stamp requests from this address; try again after Retry-After seconds", nil)
		return
	}
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil {
		s.fail(w, http.StatusBadRequest, codeBadRequest, "malformed sale id", nil)
		return
	}
	ask, ok := s.readAsk(w, r)
	if !ok {
		return
	}
	if ask.Sale != id {
		s.fail(w, http.StatusBadRequest, codeBadRequest, fmt.Sprintf("the ask is for sale %d, the path names %d", ask.Sale, id), nil)
		return
	}
	height := s.state.Height()
	sl, err := sales.Sale(height, id)
	if err != nil {
		s.stateErr(w, err)
		return
	}
	member := false
	switch acct, _, err := sales.Account(height, ask.Buyer.ID()); {
	case err == nil:
		member = acct.Role.IsMember()
	case !errors.Is(err, app.ErrNotFound):
		s.stateErr(w, err)
		return
	}
	chainID := sales.ChainID()
	if err := ask.Verify(chainID); err != nil {
		s.refused(w, err)
		return
	}
	q := ask.Request()
	stamp, err := st.sign(sales, height, chainID, sl, &q, member, now)
	if err != nil {
		s.refused(w, err)
		return
	}
	writeJSON(w, http.StatusOK, apijson.StampOf(id, q.Hash(chainID), stamp))
}

// sign stamps under the mutex, first forgetting the sales it tracks that
// are closed or gone when the Stamper would take a new one with as many
// as it may hold.
func (st *stamping) sign(sales Sales, height uint64, chainID string, sl *sale.Sale, q *sale.Request, member bool, now int64) (sale.Stamp, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.stamper == nil || st.chainID != chainID {
		st.stamper, st.chainID, st.tracked = sale.NewStamper(st.key, chainID, st.maxPerSale), chainID, map[uint64]bool{}
	}
	if sl.State == sale.StateClosed {
		st.forget(sl.ID)
	} else if !st.tracked[sl.ID] && len(st.tracked) >= sale.MaxOpen {
		for id := range st.tracked {
			if old, err := sales.Sale(height, id); err != nil || old.State == sale.StateClosed {
				st.forget(id)
			}
		}
	}
	stamp, err := st.stamper.Stamp(sl, q, member, now)
	if err == nil {
		st.tracked[sl.ID] = true
	}
	return stamp, err
}

func (st *stamping) forget(id uint64) {
	st.stamper.Forget(id)
	delete(st.tracked, id)
}

// remembered is the identities the Stamper remembers for a sale.
func (st *stamping) remembered(id uint64) int {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.stamper == nil {
		return 0
	}
	return st.stamper.Remembered(id)
}

// readAsk reads the body of a stamp request; on failure it has answered.
func (s *Server) readAsk(w http.ResponseWriter, r *http.Request) (*sale.Ask, bool) {
	media, ok := s.mediaType(w, r)
	if !ok {
		return nil, false
	}
	if media != "application/octet-stream" && media != "application/json" {
		s.fail(w, http.StatusUnsupportedMediaType, codeUnsupportedMedia,
			fmt.Sprintf("Content-Type %q: want application/octet-stream (the ask's %d bytes) or application/json", media, sale.AskSize), nil)
		return nil, false
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxAskBody)
	body, ok := s.readBody(w, r, MaxAskBody)
	if !ok {
		return nil, false
	}
	var ask *sale.Ask
	var err error
	if media == "application/json" {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		var j apijson.StampAsk
		if err = dec.Decode(&j); err == nil {
			if dec.More() {
				err = errors.New("data after the JSON object")
			} else {
				ask, err = j.Ask()
			}
		}
	} else {
		ask, err = sale.UnmarshalAsk(body)
	}
	if err != nil {
		s.fail(w, http.StatusBadRequest, codeBadRequest, "malformed ask: "+err.Error(), nil)
		return nil, false
	}
	return ask, true
}

// remoteHost is the IP address of a request's peer (its port dropped: the
// connections of one address share its bucket).
func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// salesAt resolves ?height and ?prove and the sales state; on failure it
// has answered.
func (s *Server) salesAt(w http.ResponseWriter, r *http.Request) (height uint64, prove, ok bool) {
	if height, prove, ok = s.heightOf(w, r); !ok {
		return 0, false, false
	}
	if _, ok = s.state.(Sales); !ok {
		s.fail(w, http.StatusNotFound, codeNotFound, "this node serves no sales", nil)
	}
	return height, prove, ok
}

// sales answers GET /v1/sales: the registry.
func (s *Server) sales(w http.ResponseWriter, r *http.Request) {
	leaf, proof, ok := s.read(w, r, sale.RegistryKey)
	if !ok {
		return
	}
	g := &sale.Registry{NextID: 1}
	if leaf.Found {
		var err error
		if g, err = sale.UnmarshalRegistry(leaf.Value); err != nil {
			s.internal(w, err)
			return
		}
	}
	out := apijson.Sales{Height: leaf.Height, Next: g.NextID, Open: []apijson.SaleDue{}, Proof: proof}
	for _, d := range g.Open {
		out.Open = append(out.Open, apijson.SaleDue{ID: d.ID, Due: d.Due})
	}
	writeJSON(w, http.StatusOK, out)
}

// saleID parses the {id} of a sale route; on failure it has answered.
func (s *Server) saleID(w http.ResponseWriter, r *http.Request) (uint64, bool) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil {
		s.fail(w, http.StatusBadRequest, codeBadRequest, "malformed sale id", nil)
		return 0, false
	}
	return id, true
}

// sale answers GET /v1/sales/{id}.
func (s *Server) sale(w http.ResponseWriter, r *http.Request) {
	id, ok := s.saleID(w, r)
	if !ok {
		return
	}
	leaf, proof, ok := s.read(w, r, sale.SaleKey(id))
	if !ok {
		return
	}
	if !leaf.Found {
		s.fail(w, http.StatusNotFound, codeNotFound, fmt.Sprintf("no sale %d at height %d", id, leaf.Height), nil)
		return
	}
	sl, err := sale.UnmarshalSale(leaf.Value)
	if err != nil {
		s.internal(w, err)
		return
	}
	v := apijson.SaleViewOf(sl)
	writeJSON(w, http.StatusOK, apijson.Sale{Height: leaf.Height, Sale: &v, Proof: proof})
}

// saleBuyer answers GET /v1/sales/{id}/buyers/{account}: the sale's
// record, the buyer's kept request and its result, each proven (present
// or absent) with ?prove=1.
func (s *Server) saleBuyer(w http.ResponseWriter, r *http.Request) {
	id, ok := s.saleID(w, r)
	if !ok {
		return
	}
	buyer, err := accountParam(r.PathValue("account"))
	if err != nil {
		s.fail(w, http.StatusBadRequest, codeBadRequest, err.Error(), nil)
		return
	}
	height, prove, ok := s.salesAt(w, r)
	if !ok {
		return
	}
	keys := orgapp.SaleKeys(id, buyer)
	leaves := make([]*orgapp.Leaf, len(keys))
	for i, k := range keys {
		if leaves[i], err = s.state.Prove(height, k); err != nil {
			s.stateErr(w, err)
			return
		}
	}
	if !leaves[0].Found {
		s.fail(w, http.StatusNotFound, codeNotFound, fmt.Sprintf("no sale %d at height %d", id, height), nil)
		return
	}
	sl, err := sale.UnmarshalSale(leaves[0].Value)
	if err != nil {
		s.internal(w, err)
		return
	}
	v := apijson.SaleViewOf(sl)
	out := apijson.SaleBuyer{Height: height, Buyer: buyer.String(), Sale: &v}
	var res *sale.Result
	if leaves[1].Found {
		k, err := sale.UnmarshalKept(leaves[1].Value)
		if err != nil {
			s.internal(w, err)
			return
		}
		rv := apijson.SaleRequestViewOf(k)
		out.Request = &rv
	}
	if leaves[2].Found {
		if res, err = sale.UnmarshalResult(leaves[2].Value); err != nil {
			s.internal(w, err)
			return
		}
		rv := apijson.SaleResultViewOf(res)
		out.Result = &rv
	}
	out.Outcome = apijson.OutcomeOf(sl, res)
	if prove {
		b, c, err := s.b.Block(height)
		if err != nil {
			s.internal(w, fmt.Errorf("reading certified block %d: %w", height, err))
			return
		}
		for _, l := range leaves {
			if chain.Hash(l.Root) != b.StateRoot {
				s.internal(w, fmt.Errorf("the state root at height %d differs from the certified one", height))
				return
			}
			out.Proofs = append(out.Proofs, apijson.LeafOf(l, &b.Header, c))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// accountParam parses an account given as an ID (40 hex digits) or a
// public key (64).
func accountParam(raw string) (crypto.ID, error) {
	if len(raw) == 2*crypto.PublicKeySize {
		k, err := crypto.ParsePublicKey(raw)
		if err != nil {
			return crypto.ID{}, err
		}
		return k.ID(), nil
	}
	id, err := crypto.ParseID(raw)
	if err != nil {
		return crypto.ID{}, errors.New("an account is an ID (40 hex digits) or a public key (64 hex digits)")
	}
	return id, nil
}

// limiter is a token bucket per remote address, in a table of at most max
// addresses. A bucket that has refilled to the burst is the same as a
// fresh one, so a sweep drops those and forgets nothing; when the table is
// full of addresses still drawing (more than max of them within
// burst/rate seconds), the new ones share one overflow bucket: bounded
// memory, and an address already in the table keeps its own bucket.
type limiter struct {
	rate  float64 // tokens per millisecond
	burst float64
	max   int

	mu        sync.Mutex
	buckets   map[string]*bucket
	overflow  bucket
	lastSweep int64 // ms of the last sweep
	swept     bool  // whether there was one
	overflows int   // requests drawn from the overflow bucket
}

type bucket struct {
	tokens float64
	at     int64 // ms of the last refill
}

func newLimiter(perSecond float64, burst, max int) *limiter {
	return &limiter{rate: perSecond / 1000, burst: float64(burst), max: max, buckets: map[string]*bucket{},
		overflow: bucket{tokens: float64(burst)}}
}

// refill brings a bucket to time now.
func (l *limiter) refill(b *bucket, now int64) {
	if now > b.at {
		b.tokens = math.Min(l.burst, b.tokens+float64(now-b.at)*l.rate)
		b.at = now
	}
}

// allow takes a token of addr's bucket at time now (Unix ms), or says how
// long until one is there.
func (l *limiter) allow(addr string, now int64) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[addr]
	if !ok {
		if len(l.buckets) >= l.max && (!l.swept || now-l.lastSweep >= limiterSweepEvery.Milliseconds()) {
			l.lastSweep, l.swept = now, true
			for a, x := range l.buckets {
				if l.refill(x, now); x.tokens >= l.burst {
					delete(l.buckets, a)
				}
			}
		}
		if len(l.buckets) < l.max {
			b = &bucket{tokens: l.burst, at: now}
			l.buckets[addr] = b
		} else {
			b = &l.overflow
			l.overflows++
		}
	}
	l.refill(b, now)
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1-b.tokens)/l.rate) * time.Millisecond
}

// size is the addresses in the table and the requests drawn from the
// overflow bucket.
func (l *limiter) size() (int, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets), l.overflows
}
