package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mass-consensus/mass/internal/apijson"
	"github.com/mass-consensus/mass/internal/app/orgapp"
	"github.com/mass-consensus/mass/internal/app/sale"
	"github.com/mass-consensus/mass/internal/app/tx"
	"github.com/mass-consensus/mass/internal/client"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/genesis"
)

// The sale payload (docs/SALE.md, docs/BENCH.md "Fair ticket sale"): the
// bench's supervisor opens a sale of Supply items, one per request, kept
// requests bounded by Buyers; Buyers non-members (proof of work of 1 bit,
// the lowest a non-member can carry) are prepared — keys, proofs of work,
// signed asks — before anything is timed; then, each phase measured on
// its own:
//
//  1. stamping: every buyer asks every node's POST /v1/sales/{id}/stamps,
//     StampInFlight asks in flight over all nodes;
//  2. (building, timed apart: each buyer chooses its 2f+1 stamps with
//     sale.Choose, which verifies them, and signs its request);
//  3. requests: the requests are submitted through POST /v1/txs/batch
//     (closed loop, InFlight at most in flight) until every one is
//     committed;
//  4. the close: the first block at or after the sale's deadline allocates;
//     its apply time is node 0's (apply_ms of the event stream), and the
//     sale's record at that block must say closed, every request kept,
//     none evicted, exactly the supply sold.
//
// Non-members rather than genesis members: a member needs an account in
// the genesis state (100,000 accounts would make the genesis itself the
// bench), while a non-member costs a proof of work of 1 bit (two hashes on
// average) and is the sale's public case; the node checks that proof
// where it checks a member's role.

// SaleConfig is the sale payload's settings.
type SaleConfig struct {
	// Buyers is the number of buyers, each stamped at every node and
	// submitting one request; the sale keeps them all (its MaxRequests).
	Buyers int `json:"buyers"`
	// Supply is the items sold, one per request.
	Supply int `json:"supply"`
	// StampInFlight bounds the stamp requests in flight, over all nodes.
	StampInFlight int `json:"stamp_in_flight"`
	// Window is the sale's window (stamping must end within it); MaxAge
	// its staleness bound (every request must commit within it of its
	// stamps), which is also the grace before the close. 0: from Buyers.
	Window  time.Duration `json:"-"`
	MaxAge  time.Duration `json:"-"`
	WindowS float64       `json:"window_s"`
	MaxAgeS float64       `json:"max_age_s"`
}

// Defaults of SaleConfig.
const (
	DefaultSaleBuyers    = 100_000
	DefaultSaleSupply    = 1_000
	DefaultStampInFlight = 64
)

// SaleWindowFor and SaleMaxAgeFor are the default window and staleness
// bound for a number of buyers: room for the stamping (window: 2,000
// buyers a second, 8,000 stamps) and for the stamping, the building and
// the requests (max age: 5 s and 1.5 ms a buyer), about twice the time
// they took on 2 shared cores with 4 nodes (docs/BENCH.md).
func SaleWindowFor(buyers int) time.Duration {
	return 5*time.Second + time.Duration(buyers)*time.Millisecond/2
}

func SaleMaxAgeFor(buyers int) time.Duration {
	return min(5*time.Second+time.Duration(buyers)*3*time.Millisecond/2, sale.MaxMaxAge*time.Millisecond)
}

func (s *SaleConfig) defaults() {
	if s.Buyers == 0 {
		s.Buyers = DefaultSaleBuyers
	}
	if s.Supply == 0 {
		s.Supply = min(DefaultSaleSupply, s.Buyers)
	}
	if s.StampInFlight == 0 {
		s.StampInFlight = DefaultStampInFlight
	}
	if s.Window == 0 {
		s.Window = SaleWindowFor(s.Buyers)
	}
	if s.MaxAge == 0 {
		s.MaxAge = SaleMaxAgeFor(s.Buyers)
	}
	s.WindowS, s.MaxAgeS = s.Window.Seconds(), s.MaxAge.Seconds()
}

// validateSale checks the sale payload's settings, defaults filled in.
func (c *Config) validateSale() error {
	s := c.Sale
	switch {
	case c.Transport == TransportMem:
		return fmt.Errorf("%w: the sale payload asks the nodes' stamping route over HTTP: --transport inproc or p2p", ErrConfig)
	case c.Rate != 0:
		return fmt.Errorf("%w: the sale payload submits its --buyers requests as fast as they commit: --rate does not apply", ErrConfig)
	case s.Buyers < 1 || s.Buyers > sale.MaxKept:
		return fmt.Errorf("%w: %d buyers, want 1 to %d (a sale keeps at most %d requests)", ErrConfig, s.Buyers, sale.MaxKept, sale.MaxKept)
	case s.Supply < 1 || s.Supply > s.Buyers || s.Supply > sale.MaxSupply:
		return fmt.Errorf("%w: a supply of %d, want 1 to the buyers (%d)", ErrConfig, s.Supply, s.Buyers)
	case s.StampInFlight < 1 || s.StampInFlight > 4096:
		return fmt.Errorf("%w: %d stamp requests in flight, want 1 to 4096", ErrConfig, s.StampInFlight)
	case s.Window < time.Second || s.Window.Milliseconds() > sale.MaxWindow:
		return fmt.Errorf("%w: a sale window of %s, want 1s to %s", ErrConfig, s.Window, time.Duration(sale.MaxWindow)*time.Millisecond)
	case s.MaxAge.Milliseconds() < sale.MinMaxAge || s.MaxAge.Milliseconds() > sale.MaxMaxAge:
		return fmt.Errorf("%w: a staleness bound of %s, want %s to %s", ErrConfig, s.MaxAge,
			time.Duration(sale.MinMaxAge)*time.Millisecond, time.Duration(sale.MaxMaxAge)*time.Millisecond)
	}
	return nil
}

// ErrSaleCheck is wrapped by the error of a sale run whose outcome is not
// what the rules say it must be.
var ErrSaleCheck = errors.New("bench: the sale's outcome is wrong")

// SaleResult is the sale payload's figures.
type SaleResult struct {
	ID     uint64 `json:"id"`
	Buyers int    `json:"buyers"`
	Supply int    `json:"supply"`
	// PrepareS is the buyers' keys, proofs of work and signed asks, before
	// the sale opens (the bench's own work, all cores).
	PrepareS float64 `json:"prepare_s"`
	// OpenS is from the submission of the opening to the sale at every
	// node.
	OpenS    float64      `json:"open_s"`
	Stamping SaleStamping `json:"stamping"`
	// BuildS is the buyers' sale.Choose (which verifies the stamps) and
	// the signing of their requests, between stamping and requests (the
	// bench's own work, all cores).
	BuildS   float64      `json:"build_s"`
	Requests SaleRequests `json:"requests"`
	Close    SaleClose    `json:"close"`
}

// SaleStamping is the stamping phase: every buyer asks every node.
type SaleStamping struct {
	Stamps    uint64  `json:"stamps"`
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"stamps_per_s"`
	// PerNode is each node's stamps over the time from the phase's start
	// to its last stamp.
	PerNode []NodeStamps `json:"per_node"`
	// Retries are asks answered busy, rate limited or before the window
	// (asked again).
	Retries  uint64 `json:"retries"`
	InFlight int    `json:"in_flight"`
	// Latency is of each ask, from the call to the answer, milliseconds.
	Latency Latency `json:"latency"`
	// CPUPer1000 is the nodes' CPU seconds per 1,000 stamps (the scope of
	// the run's CPU figure).
	// In process (inproc) it includes the bench's asking client, whose
	// threads are not told apart (see saleRun.phase).
	CPUPer1000  float64 `json:"cpu_s_per_1000_stamps"`
	CoresBusy   float64 `json:"cores_busy"`
	CPUProfiled string  `json:"cpu_profile,omitempty"`
}

// NodeStamps is one node's part of the stamping.
type NodeStamps struct {
	Stamps    uint64  `json:"stamps"`
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"stamps_per_s"`
}

// SaleRequests is the requests phase.
type SaleRequests struct {
	Submitted uint64 `json:"submitted"`
	Rejected  uint64 `json:"rejected"`
	Committed uint64 `json:"committed"`
	// Failed are requests committed and refused by the application.
	Failed       uint64   `json:"failed"`
	FailMessages []string `json:"fail_messages,omitempty"`
	// SubmitS is from the first submission to the last accepted one.
	SubmitS float64 `json:"submit_s"`
	// Seconds is from the first submission to the last commit, PerSecond
	// the committed requests over it.
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"requests_per_s"`
	// SteadyPerSecond is over the commits from 10% to 90% of them,
	// SteadyS long.
	SteadyPerSecond float64 `json:"steady_requests_per_s"`
	SteadyS         float64 `json:"steady_s"`
	// Blocks are node 0's blocks that held requests; ApplyS the time node
	// 0's application took to apply them, ApplyPerRequestUs per request.
	Blocks            int     `json:"blocks"`
	ApplyS            float64 `json:"apply_s"`
	ApplyPerRequestUs float64 `json:"apply_per_request_us"`
	MaxBlockRequests  int     `json:"max_block_requests"`
}

// SaleClose is the block that allocated.
type SaleClose struct {
	Height uint64 `json:"height"`
	// ApplyMs is node 0's application's time to apply it.
	ApplyMs float64 `json:"apply_ms"`
	// WaitS is from the last request's commit to the close's (the rest of
	// the window and the grace).
	WaitS    float64 `json:"wait_s"`
	State    string  `json:"state"`
	Kept     uint32  `json:"kept"`
	Accepted uint64  `json:"accepted"`
	Evicted  uint64  `json:"evicted"`
	Sold     uint32  `json:"sold"`
	Winners  uint32  `json:"winners"`
}

// saleBuyer is one buyer of the bench.
type saleBuyer struct {
	key    *crypto.PrivateKey
	ask    sale.Ask
	stamps []sale.Stamp // one per node, in node order
	raw    []byte       // the signed request transaction
}

// saleRun is one run of the sale payload.
type saleRun struct {
	cfg      Config
	cl       cluster
	th       *threads
	progress io.Writer
	nodes    []*client.Client
	stampURL []string
	stampHC  *http.Client
	slots    *slots
	tracker  *tracker
	start    time.Time

	requests atomic.Pointer[map[txHash]struct{}]
	due      atomic.Int64 // the sale's deadline (Unix ms), 0 until open
	followed sync.WaitGroup

	mu         sync.Mutex
	committed  uint64 // requests committed, failed ones included
	failed     uint64
	failLogs   []string
	points     []commitPoint
	blocks     int
	apply      time.Duration
	maxBlock   int
	closeEv    *commitEvent
	closeSeen  time.Time
	lastCommit time.Time
}

// commitPoint is the requests committed by a time.
type commitPoint struct {
	at time.Time
	n  uint64
}

// saleGenesis is the organization's genesis: the bench's supervisor,
// who opens the sale.
func saleGenesis(opener *crypto.PrivateKey) (json.RawMessage, error) {
	g := orgapp.Genesis{Organization: "Benchmark", Policy: "supervisor", Accounts: []orgapp.GenesisAccount{
		{Name: "bench", Role: "supervisor", Key: opener.Public().String(), Balance: accountBalance},
	}}
	return json.Marshal(g)
}

// runSale runs the sale payload on a network it starts.
func runSale(ctx context.Context, cfg Config, progress io.Writer) (rep Report, err error) {
	rep = Report{Config: cfg, Machine: ThisMachine(), Started: time.Now().UTC()}
	opener := accountKey(0)
	appState, err := saleGenesis(opener)
	if err != nil {
		return rep, fmt.Errorf("bench: %w", err)
	}
	o := netOpts(cfg, genesis.AppOrg, appState)
	// Every ask comes from 127.0.0.1: the per-address bucket must not be
	// what is measured.
	o.StampRate, o.StampBurst = 1e9, 1<<30
	fmt.Fprintf(progress, "bench: starting %d nodes (%s transport, sale payload: %d buyers, %d items)\n", cfg.Nodes, cfg.Transport, cfg.Sale.Buyers, cfg.Sale.Supply)
	th := &threads{}
	cl, err := launch(ctx, cfg, o, th)
	if err != nil {
		return rep, err
	}
	r := &saleRun{cfg: cfg, cl: cl, th: th, progress: progress, start: time.Now()}
	defer func() {
		cerr := cl.close()
		r.followed.Wait() // the commit stream ends with the cluster
		if cerr != nil {
			if err == nil {
				fmt.Fprintf(progress, "bench: warning: %v\n", cerr)
			} else {
				err = errors.Join(err, cerr)
			}
		}
	}()
	api, ok := cl.(interface{ apiAddr(int) string })
	if !ok {
		return rep, fmt.Errorf("%w: the sale payload needs the nodes' HTTP API: --transport inproc or p2p", ErrConfig)
	}
	r.slots = newSlots(cfg.InFlight)
	r.tracker = newTracker(r.start, r.slots)
	r.followed.Add(1)
	go r.follow()
	inFlight := cfg.Sale.StampInFlight
	r.stampHC = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: inFlight, MaxConnsPerHost: inFlight, IdleConnTimeout: time.Minute}}
	for i := range cl.size() {
		r.nodes = append(r.nodes, nodeClient(api.apiAddr(i), client.WithTimeout(30*time.Second)))
		r.stampURL = append(r.stampURL, "http://"+api.apiAddr(i)+"/v1/sales/")
	}
	res, err := r.run(ctx, opener)
	res.Memory = cl.memory()
	rep.Result = res
	return rep, err
}

// launch starts a network of real daemons.
func launch(ctx context.Context, cfg Config, o netOptions, th *threads) (cluster, error) {
	switch cfg.Transport {
	case TransportInproc:
		return newDaemonCluster(ctx, o, th.cpu)
	case TransportP2P:
		if o.Executable == "" {
			var err error
			if o.Executable, err = os.Executable(); err != nil {
				return nil, fmt.Errorf("bench: %w", err)
			}
		}
		return newProcCluster(ctx, o)
	}
	return nil, fmt.Errorf("%w: transport %q has no HTTP API", ErrConfig, cfg.Transport)
}

// follow reads node 0's commits until the stream ends: the tracker's
// latencies, the requests committed and failed, the close.
func (r *saleRun) follow() {
	defer r.followed.Done()
	for ev := range r.cl.commits() {
		now := time.Now()
		r.tracker.commit(ev)
		reqs := r.requests.Load()
		r.mu.Lock()
		if reqs != nil {
			n := 0
			for _, h := range ev.Txs {
				if _, ok := (*reqs)[h]; ok {
					n++
				}
			}
			for _, f := range ev.Failures {
				if _, ok := (*reqs)[ev.Txs[f.Index]]; ok {
					r.failed++
					if len(r.failLogs) < maxRejectMessages {
						r.failLogs = append(r.failLogs, fmt.Sprintf("code %d: %s", f.Code, f.Log))
					}
				}
			}
			if n > 0 {
				r.committed += uint64(n)
				r.points = append(r.points, commitPoint{at: now, n: r.committed})
				r.blocks++
				r.apply += ev.Apply
				r.maxBlock = max(r.maxBlock, n)
				r.lastCommit = now
			}
		}
		if due := r.due.Load(); due > 0 && r.closeEv == nil && ev.Time >= due {
			c := ev
			r.closeEv, r.closeSeen = &c, now
		}
		r.mu.Unlock()
	}
}

// waitFor polls cond every 20 ms until it holds, the deadline passes, a
// node fails or ctx ends.
func (r *saleRun) waitFor(ctx context.Context, what string, timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: %s: not within %s", what, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-r.cl.failed():
			return r.cl.failure()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

// ticker writes a progress line a second until the returned func is
// called.
func (r *saleRun) ticker(phase string, done func() uint64, total int) func() {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		last, lastAt := done(), time.Now()
		for {
			select {
			case <-stop:
				return
			case now := <-t.C:
				d := done()
				fmt.Fprintf(r.progress, "bench: %5.0fs  %-9s %9d of %d  %7.0f/s\n", now.Sub(r.start).Seconds(), phase, d, total, float64(d-last)/now.Sub(lastAt).Seconds())
				last, lastAt = d, now
			}
		}
	})
	return func() { close(stop); wg.Wait() }
}

// phaseCPU is what a phase read of the nodes and of its own threads at
// its start and end.
type phaseCPU struct {
	s0, s1     sample
	gen0, gen1 time.Duration
}

// phase runs k workers between two readings of the CPU. With lock, each
// worker is wired to its thread and counted as the bench's: the workers
// register their threads before the first reading and keep them until
// after the second, so that neither counts a node's work as the bench's
// or the other way round. (Wiring costs a thread handoff at each wait on
// the network: many workers that each wait often, as the stamping's, run
// unwired, their CPU counted with the nodes' in process.) work(w) is
// worker w's part; after all return, wait (if set) runs before the
// second reading.
func (r *saleRun) phase(k int, lock bool, work func(w int), wait func() error) (phaseCPU, error) {
	var p phaseCPU
	r.th.reset()
	var ready, worked, exited sync.WaitGroup
	ready.Add(k)
	worked.Add(k)
	exited.Add(k)
	start, finish := make(chan struct{}), make(chan struct{})
	var skip atomic.Bool // the first reading failed: no work
	for w := range k {
		go func() {
			defer exited.Done()
			unlock := func() {}
			if lock {
				unlock = r.th.lock()
			}
			defer unlock()
			ready.Done()
			<-start
			if !skip.Load() {
				work(w)
			}
			worked.Done()
			<-finish
		}()
	}
	ready.Wait()
	defer func() {
		select {
		case <-finish:
		default:
			close(finish)
		}
		exited.Wait()
	}()
	var err error
	if p.s0, err = r.cl.sample(); err != nil {
		skip.Store(true)
		close(start)
		worked.Wait()
		return p, err
	}
	p.gen0 = r.th.cpu()
	close(start)
	worked.Wait()
	if wait != nil {
		if err := wait(); err != nil {
			return p, err
		}
	}
	if p.s1, err = r.cl.sample(); err != nil {
		return p, err
	}
	p.gen1 = r.th.cpu()
	close(finish)
	return p, nil
}

// parallel calls fn(i) for i in [0, n) on every core; the first error
// stops it.
func parallel(n int, fn func(i int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					next.Store(int64(n)) // the others stop at their next turn
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

func (r *saleRun) run(ctx context.Context, opener *crypto.PrivateKey) (res Result, err error) {
	sc := r.cfg.Sale
	chainID := r.cl.chainID()
	out := &SaleResult{Buyers: sc.Buyers, Supply: sc.Supply}
	res.Sale = out
	n := r.cl.size()

	// The sale's ID is the registry's next.
	reg, err := r.nodes[0].Sales(ctx, client.At{})
	if err != nil {
		return res, fmt.Errorf("bench: reading the sales: %w", err)
	}
	out.ID = reg.Next

	// Preparation: keys, proofs of work, signed asks.
	fmt.Fprintf(r.progress, "bench: preparing %d buyers (keys, proofs of work, signed asks)\n", sc.Buyers)
	began := time.Now()
	buyers := make([]saleBuyer, sc.Buyers)
	const difficulty = 1 // the lowest a non-member can carry
	err = parallel(len(buyers), func(i int) error {
		seed := sha256.Sum256(fmt.Appendf(nil, "mass-bench/buyer/%d", i))
		k, err := crypto.KeyFromSeed(seed[:])
		if err != nil {
			return fmt.Errorf("bench: buyer %d: %w", i, err)
		}
		q := sale.Request{Sale: out.ID, Buyer: k.Public(), Quantity: 1}
		if q.Nonce, err = sale.SolvePoW(chainID, out.ID, q.Buyer, difficulty, 0, 1<<20); err != nil {
			return fmt.Errorf("bench: buyer %d: %w", i, err)
		}
		buyers[i] = saleBuyer{key: k, ask: sale.SignAsk(k, chainID, &q), stamps: make([]sale.Stamp, n)}
		return nil
	})
	if err != nil {
		return res, err
	}
	out.PrepareS = time.Since(began).Seconds()

	// The opening.
	params := sale.Params{Item: "Bench seat", Supply: uint32(sc.Supply), PerRequest: 1, Window: uint64(sc.Window.Milliseconds()),
		MaxAge: uint64(sc.MaxAge.Milliseconds()), Difficulty: difficulty, MaxRequests: uint32(sc.Buyers)}
	ot := tx.New(opener.Public(), 0, &tx.SaleOpen{Params: params})
	if err := ot.Sign(chainID, opener); err != nil {
		return res, fmt.Errorf("bench: %w", err)
	}
	began = time.Now()
	rej, err := r.cl.submit(ctx, 0, [][]byte{ot.Marshal()})
	if err != nil {
		return res, fmt.Errorf("bench: opening the sale: %w", err)
	}
	if len(rej) > 0 {
		return res, fmt.Errorf("bench: opening the sale: refused: %s", rej[0].Message)
	}
	var sl *sale.Sale
	err = r.waitFor(ctx, "the sale to open at every node", 60*time.Second, func() bool {
		for _, c := range r.nodes {
			v, err := c.Sale(ctx, out.ID, client.At{})
			if err != nil {
				return false
			}
			if sl, err = v.Sale.Sale(); err != nil {
				return false
			}
		}
		return true
	})
	if err != nil {
		return res, err
	}
	if sl.Opener != opener.Public().ID() || sl.Params != params {
		return res, fmt.Errorf("bench: sale %d is not the bench's", out.ID)
	}
	out.OpenS = time.Since(began).Seconds()
	r.due.Store(sl.Due())
	fmt.Fprintf(r.progress, "bench: sale %d open after %.1fs: window %s, max age %s, %d nodes stamp, quorum %d\n",
		out.ID, out.OpenS, sc.Window, sc.MaxAge, len(sl.Nodes), sl.Quorum())

	if err := r.stamp(ctx, sl, buyers, &out.Stamping); err != nil {
		return res, err
	}

	// Building: each buyer chooses its stamps and signs its request.
	began = time.Now()
	hashes := make([]txHash, len(buyers))
	err = parallel(len(buyers), func(i int) error {
		b := &buyers[i]
		q := b.ask.Request()
		chosen, err := sale.Choose(sl, chainID, q.Hash(chainID), b.stamps)
		if err != nil {
			return fmt.Errorf("bench: buyer %d: %w", i, err)
		}
		q.Stamps = chosen
		t := tx.New(q.Buyer, 0, &tx.SaleRequest{Request: q})
		if err := t.Sign(chainID, b.key); err != nil {
			return fmt.Errorf("bench: buyer %d: %w", i, err)
		}
		b.raw, b.stamps = t.Marshal(), nil
		hashes[i] = sha256.Sum256(b.raw)
		return nil
	})
	if err != nil {
		return res, err
	}
	out.BuildS = time.Since(began).Seconds()
	fmt.Fprintf(r.progress, "bench: %d requests built (stamps chosen and verified, signed) in %.1fs\n", len(buyers), out.BuildS)

	if err := r.submitAll(ctx, buyers, hashes, &res); err != nil {
		return res, err
	}
	return res, r.closeSale(ctx, sl, out)
}

// stamp asks every node's stamping route for every buyer's stamp.
func (r *saleRun) stamp(ctx context.Context, sl *sale.Sale, buyers []saleBuyer, st *SaleStamping) error {
	sc := r.cfg.Sale
	n := r.cl.size()
	st.InFlight = sc.StampInFlight
	perNode := make([]atomic.Uint64, n)
	lastAt := make([]atomic.Int64, n) // since start, ns
	var retries, done atomic.Uint64
	lats := make([][]float64, sc.StampInFlight)
	var next atomic.Int64
	var fatal error
	var fatalOnce sync.Once
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	stopProfile, err := r.profile("-stamps")
	if err != nil {
		return err
	}
	if stopProfile != nil {
		st.CPUProfiled = r.cfg.CPUProfile + "-stamps"
	}
	stopTicker := r.ticker("stamping", done.Load, len(buyers)*n)
	var t0 time.Time
	var elapsed time.Duration
	var t0Once sync.Once
	// Unwired: 64 wired threads, each waking up at every answer, took
	// two thirds of the stamping rate in process (docs/BENCH.md).
	cpu, err := r.phase(sc.StampInFlight, false, func(w int) {
		t0Once.Do(func() { t0 = time.Now() })
		for ctx.Err() == nil {
			i := int(next.Add(1) - 1)
			if i >= len(buyers) {
				return
			}
			b := &buyers[i]
			body := b.ask.Marshal()
			for k := range n {
				j := (i + k) % n // spread the buyers' first asks over the nodes
				asked := time.Now()
				s, tries, err := r.askStamp(ctx, j, sl, body)
				retries.Add(uint64(tries))
				if err != nil {
					fatalOnce.Do(func() { fatal = fmt.Errorf("bench: buyer %d, node %d: %w", i, j, err) })
					cancel()
					return
				}
				end := time.Now()
				lats[w] = append(lats[w], float64(end.Sub(asked))/float64(time.Millisecond))
				b.stamps[j] = s
				perNode[j].Add(1)
				storeMax(&lastAt[j], int64(end.Sub(t0)))
				done.Add(1)
			}
		}
	}, func() error { elapsed = time.Since(t0); return nil })
	stopTicker()
	if stopProfile != nil {
		stopProfile()
	}
	if fatal != nil {
		return fatal
	}
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	st.Stamps = done.Load()
	st.Seconds = elapsed.Seconds()
	st.PerSecond = float64(st.Stamps) / st.Seconds
	for j := range n {
		ns := NodeStamps{Stamps: perNode[j].Load(), Seconds: time.Duration(lastAt[j].Load()).Seconds()}
		if ns.Seconds > 0 {
			ns.PerSecond = float64(ns.Stamps) / ns.Seconds
		}
		st.PerNode = append(st.PerNode, ns)
	}
	st.Retries = retries.Load()
	st.Latency = summarize(slices.Concat(lats...), 0)
	nodeCPU := (cpu.s1.CPU - cpu.s0.CPU).Seconds()
	st.CoresBusy = nodeCPU / st.Seconds
	if st.Stamps > 0 {
		st.CPUPer1000 = nodeCPU / float64(st.Stamps) * 1000
	}
	fmt.Fprintf(r.progress, "bench: %d stamps in %.1fs: %.0f stamps/s (p50 %.1f ms, p99 %.1f ms, %d retries)\n",
		st.Stamps, st.Seconds, st.PerSecond, st.Latency.P50, st.Latency.P99, st.Retries)
	return nil
}

// storeMax raises a to v if v is larger.
func storeMax(a *atomic.Int64, v int64) {
	for {
		old := a.Load()
		if v <= old || a.CompareAndSwap(old, v) {
			return
		}
	}
}

// askStamp posts an ask to node j's stamping route, asking again what is
// busy, rate limited or before the window; it returns the stamp and the
// retries.
func (r *saleRun) askStamp(ctx context.Context, j int, sl *sale.Sale, body []byte) (sale.Stamp, int, error) {
	url := r.stampURL[j] + strconv.FormatUint(sl.ID, 10) + "/stamps"
	for tries := 0; ; tries++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return sale.Stamp{}, tries, fmt.Errorf("bench: %w", err)
		}
		req.Header.Set("Content-Type", "application/octet-stream")
		resp, err := r.stampHC.Do(req)
		if err != nil {
			return sale.Stamp{}, tries, fmt.Errorf("bench: stamp: %w", err)
		}
		raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if err != nil {
			return sale.Stamp{}, tries, fmt.Errorf("bench: stamp: %w", err)
		}
		if resp.StatusCode == http.StatusOK {
			// Not verified here: sale.Choose verifies every stamp when the
			// requests are built, outside the timed phase.
			var a apijson.Stamp
			if err := json.Unmarshal(raw, &a); err != nil {
				return sale.Stamp{}, tries, fmt.Errorf("bench: stamp: %w", err)
			}
			s, err := a.Stamp()
			if err != nil {
				return sale.Stamp{}, tries, fmt.Errorf("bench: stamp: %w", err)
			}
			return s, tries, nil
		}
		var e apijson.ErrorBody
		_ = json.Unmarshal(raw, &e)
		switch e.Error.Code {
		case apijson.CodeRateLimited, apijson.CodeBusy, apijson.CodeUnavailable:
		case apijson.CodeSaleWindow:
			if time.Now().UnixMilli() >= sl.Closes {
				return sale.Stamp{}, tries, fmt.Errorf("%w: the window closed before every buyer was stamped: raise --sale-window", ErrSaleCheck)
			}
		default:
			return sale.Stamp{}, tries, fmt.Errorf("bench: stamp: %d %s: %s", resp.StatusCode, e.Error.Code, e.Error.Message)
		}
		select {
		case <-ctx.Done():
			return sale.Stamp{}, tries, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// profile starts the CPU profile of a phase, if asked for (FILE plus
// suffix); the returned func stops it.
func (r *saleRun) profile(suffix string) (func(), error) {
	if r.cfg.CPUProfile == "" {
		return nil, nil
	}
	f, err := os.Create(r.cfg.CPUProfile + suffix)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("bench: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// submitAll submits the requests (closed loop, batches round-robin across
// the nodes) and waits until every accepted one is committed.
func (r *saleRun) submitAll(ctx context.Context, buyers []saleBuyer, hashes []txHash, res *Result) error {
	cfg := r.cfg
	set := make(map[txHash]struct{}, len(hashes))
	for _, h := range hashes {
		set[h] = struct{}{}
	}
	r.requests.Store(&set)
	rq := &res.Sale.Requests
	var submitted, rejected, txBytes atomic.Uint64
	var rejectsMu sync.Mutex
	var rejects []string
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var fatal error
	var fatalOnce sync.Once

	stopProfile, err := r.profile("")
	if err != nil {
		return err
	}
	committed := func() uint64 { r.mu.Lock(); defer r.mu.Unlock(); return r.committed }
	stopTicker := r.ticker("requests", committed, len(buyers))
	batches := make(chan int, cfg.Submitters) // the first buyer of each batch
	var rr atomic.Uint64
	var t0 time.Time
	var t0Once sync.Once
	var submitDone time.Duration
	var accepted uint64
	produce := func() {
		defer close(batches)
		for k := 0; k < len(buyers); k += cfg.Batch {
			m := min(cfg.Batch, len(buyers)-k)
			if !r.slots.take(m) {
				return
			}
			select {
			case batches <- k:
			case <-ctx.Done():
				return
			}
		}
	}
	submit := func() {
		for k := range batches {
			m := min(cfg.Batch, len(buyers)-k)
			batch := make([][]byte, m)
			hs := hashes[k : k+m]
			for i := range m {
				batch[i] = buyers[k+i].raw
				txBytes.Add(uint64(len(batch[i])))
			}
			for attempt := 0; len(batch) > 0; attempt++ {
				node := int(rr.Add(1) % uint64(r.cl.size()))
				r.tracker.add(hs)
				rej, err := r.cl.submit(ctx, node, batch)
				if err != nil {
					r.tracker.remove(hs)
					if ctx.Err() == nil && attempt < 5 {
						time.Sleep(time.Duration(100<<attempt) * time.Millisecond)
						continue
					}
					fatalOnce.Do(func() { fatal = fmt.Errorf("bench: submitting requests: %w", err) })
					cancel()
					r.slots.stop()
					return
				}
				var retry [][]byte
				var retryHashes, refused []txHash
				for _, x := range rej {
					if x.Busy {
						retry, retryHashes = append(retry, batch[x.Index]), append(retryHashes, hs[x.Index])
						continue
					}
					refused = append(refused, hs[x.Index])
					rejected.Add(1)
					rejectsMu.Lock()
					if len(rejects) < maxRejectMessages {
						rejects = append(rejects, x.Message)
					}
					rejectsMu.Unlock()
				}
				r.tracker.remove(refused)
				r.slots.give(len(refused))
				r.tracker.remove(retryHashes)
				submitted.Add(uint64(len(batch) - len(rej)))
				batch, hs = retry, retryHashes
				if len(batch) > 0 {
					select {
					case <-ctx.Done():
						return
					case <-time.After(20 * time.Millisecond):
					}
					attempt = -1 // a busy node is not a failure
				}
			}
		}
	}
	cpu, err := r.phase(1+cfg.Submitters, true, func(w int) {
		t0Once.Do(func() { r.tracker.startWindow(); t0 = time.Now() })
		if w == 0 {
			produce()
		} else {
			submit()
		}
	}, func() error {
		submitDone = time.Since(t0)
		r.tracker.endWindow()
		if fatal != nil {
			return fatal
		}
		// Every accepted request commits (or fails in its block); after
		// the sale's deadline none can.
		accepted = submitted.Load()
		wait := time.Until(time.UnixMilli(r.due.Load())) + 30*time.Second
		if err := r.waitFor(ctx, "the requests to commit", wait, func() bool { return committed() >= accepted && r.tracker.windowLeft() == 0 }); err != nil {
			return fmt.Errorf("%w (%d of %d committed)", err, committed(), accepted)
		}
		return nil
	})
	stopTicker()
	if stopProfile != nil {
		stopProfile()
	}
	r.slots.stop()
	if err != nil {
		return err
	}
	s0, s1, gen0, gen1 := cpu.s0, cpu.s1, cpu.gen0, cpu.gen1

	r.mu.Lock()
	rq.Committed, rq.Failed, rq.FailMessages = r.committed, r.failed, slices.Clone(r.failLogs)
	rq.Blocks, rq.ApplyS, rq.MaxBlockRequests = r.blocks, r.apply.Seconds(), r.maxBlock
	points, last := slices.Clone(r.points), r.lastCommit
	r.mu.Unlock()
	rq.Submitted, rq.Rejected, rq.SubmitS = accepted, rejected.Load(), submitDone.Seconds()
	rq.Seconds = last.Sub(t0).Seconds()
	ok := rq.Committed - rq.Failed
	if rq.Seconds > 0 {
		rq.PerSecond = float64(ok) / rq.Seconds
	}
	if rq.Committed > 0 {
		rq.ApplyPerRequestUs = rq.ApplyS / float64(rq.Committed) * 1e6
	}
	rq.SteadyPerSecond, rq.SteadyS = steadyRate(points, 0.1, 0.9)

	window := last.Sub(t0)
	res.Window = window.Seconds()
	res.OfferedTxs, res.SubmittedTxs, res.Rejected = uint64(len(buyers)), accepted, rq.Rejected
	res.RejectMessages = rejects
	res.OfferedTPS = float64(res.OfferedTxs) / res.Window
	res.CommittedTxs, res.CommittedTPS, res.FailedInBlock = ok, rq.PerSecond, rq.Failed
	res.MeanTxBytes = float64(txBytes.Load()) / float64(max(1, len(buyers)))
	lat, unfinished := r.tracker.result()
	res.Latency = summarize(lat, unfinished)
	res.CPU = CPU{Scope: r.cl.cpuScope(), Seconds: (s1.CPU - s0.CPU).Seconds(), LoadGenerator: (gen1 - gen0).Seconds()}
	for i := range s1.PerNode {
		res.CPU.PerNode = append(res.CPU.PerNode, (s1.PerNode[i] - s0.PerNode[i]).Seconds())
	}
	res.CPU.Utilization = res.CPU.Seconds / res.Window
	res.BytesSent = s1.BytesSent - s0.BytesSent
	if ok > 0 {
		res.CPU.Per1000Txs = res.CPU.Seconds / float64(ok) * 1000
		res.BytesPerTx = float64(res.BytesSent) / float64(ok)
	}
	res.Consensus = consensusWork(s0.Progress, s1.Progress)
	fmt.Fprintf(r.progress, "bench: %d requests committed in %.1fs: %.0f/s (steady %.0f/s), p50 %.0f ms, p99 %.0f ms\n",
		ok, rq.Seconds, rq.PerSecond, rq.SteadyPerSecond, res.Latency.P50, res.Latency.P99)
	return nil
}

// steadyRate is the commit rate between the points where the fractions lo
// and hi of the commits were reached, and that time.
func steadyRate(points []commitPoint, lo, hi float64) (float64, float64) {
	if len(points) < 2 {
		return 0, 0
	}
	total := float64(points[len(points)-1].n)
	a := slices.IndexFunc(points, func(p commitPoint) bool { return float64(p.n) >= lo*total })
	b := slices.IndexFunc(points, func(p commitPoint) bool { return float64(p.n) >= hi*total })
	if a < 0 || b <= a {
		return 0, 0
	}
	d := points[b].at.Sub(points[a].at).Seconds()
	if d <= 0 {
		return 0, 0
	}
	return float64(points[b].n-points[a].n) / d, d
}

// closeSale waits for the block that allocates and checks the sale's
// record there: closed, every request kept, none evicted, exactly the
// supply sold, one item to each winner.
func (r *saleRun) closeSale(ctx context.Context, sl *sale.Sale, out *SaleResult) error {
	fmt.Fprintf(r.progress, "bench: waiting for the close (the window's end and the grace: %.0fs from now)\n",
		time.Until(time.UnixMilli(sl.Due())).Seconds())
	wait := time.Until(time.UnixMilli(sl.Due())) + 60*time.Second
	seen := func() bool { r.mu.Lock(); defer r.mu.Unlock(); return r.closeEv != nil }
	if err := r.waitFor(ctx, "the sale to close", wait, seen); err != nil {
		return err
	}
	r.mu.Lock()
	ev, at, last := *r.closeEv, r.closeSeen, r.lastCommit
	r.mu.Unlock()
	c := &out.Close
	c.Height, c.ApplyMs, c.WaitS = ev.Height, float64(ev.Apply)/float64(time.Millisecond), at.Sub(last).Seconds()
	// The state at a height is read once the height is certified.
	var before, after *apijson.Sale
	var readErr error
	err := r.waitFor(ctx, "the sale's record at its close", 30*time.Second, func() bool {
		if before, readErr = r.nodes[0].Sale(ctx, out.ID, client.At{Height: ev.Height - 1}); readErr == nil {
			after, readErr = r.nodes[0].Sale(ctx, out.ID, client.At{Height: ev.Height})
		}
		return readErr == nil
	})
	if err != nil {
		return fmt.Errorf("%w: %w", err, readErr)
	}
	v := after.Sale
	c.State, c.Kept, c.Accepted, c.Evicted, c.Sold, c.Winners = v.State, v.Kept, v.Accepted, v.Evicted, v.Sold, v.Winners
	fmt.Fprintf(r.progress, "bench: sale closed at block %d (applied in %.1f ms at node 0): %d kept, %d sold to %d winners\n",
		c.Height, c.ApplyMs, c.Kept, c.Sold, c.Winners)
	var wrong []string
	if before.Sale.State != "open" {
		wrong = append(wrong, fmt.Sprintf("the sale is %s before block %d", before.Sale.State, ev.Height))
	}
	want := uint64(out.Buyers)
	if v.State != "closed" {
		wrong = append(wrong, "the sale is "+v.State)
	}
	if uint64(v.Kept) != want || v.Accepted != want || v.Evicted != 0 {
		wrong = append(wrong, fmt.Sprintf("%d requests kept, %d accepted, %d evicted; want %d, %d, 0", v.Kept, v.Accepted, v.Evicted, want, want))
	}
	if int(v.Sold) != out.Supply || int(v.Winners) != out.Supply {
		wrong = append(wrong, fmt.Sprintf("%d items sold to %d winners; want %d to %d", v.Sold, v.Winners, out.Supply, out.Supply))
	}
	if rq := out.Requests; rq.Failed > 0 || rq.Rejected > 0 {
		wrong = append(wrong, fmt.Sprintf("%d requests rejected, %d failed in their block", rq.Rejected, rq.Failed))
	}
	if len(wrong) > 0 {
		return fmt.Errorf("%w: %s", ErrSaleCheck, strings.Join(wrong, "; "))
	}
	return nil
}

// saleSummary writes a sale run's figures for people.
func saleSummary(w io.Writer, r Report) {
	c, res, s := r.Config, r.Result, r.Result.Sale
	fmt.Fprintf(w, "\n%d nodes, sale payload (%d buyers, %d items, %.0f-byte requests), %s transport, %s agreement\n",
		c.Nodes, s.Buyers, s.Supply, res.MeanTxBytes, c.Transport, c.Agreement)
	fmt.Fprintf(w, "  preparation    %.1f s (keys, proofs of work, signed asks); requests built in %.1f s (sale.Choose verifies the stamps, then signing)\n", s.PrepareS, s.BuildS)
	st := s.Stamping
	fmt.Fprintf(w, "  stamping       %d stamps in %.1f s: %.0f stamps/s in all (%d asks in flight, %d retries)\n", st.Stamps, st.Seconds, st.PerSecond, st.InFlight, st.Retries)
	for i, p := range st.PerNode {
		fmt.Fprintf(w, "                 node %d: %d stamps, %.0f/s\n", i, p.Stamps, p.PerSecond)
	}
	scope := "the node processes"
	if c.Transport == TransportInproc {
		scope = "this process: the nodes and the asking client"
	}
	fmt.Fprintf(w, "                 latency p50 %.1f ms, p99 %.1f ms, max %.1f ms; %.3f CPU s per 1,000 stamps, %.2f cores busy (%s)\n",
		st.Latency.P50, st.Latency.P99, st.Latency.Max, st.CPUPer1000, st.CoresBusy, scope)
	rq := s.Requests
	fmt.Fprintf(w, "  requests       %d committed in %.1f s: %.0f requests/s (steady %.0f/s over %.1f s); submitted in %.1f s; %d rejected, %d failed in block\n",
		rq.Committed-rq.Failed, rq.Seconds, rq.PerSecond, rq.SteadyPerSecond, rq.SteadyS, rq.SubmitS, rq.Rejected, rq.Failed)
	l := res.Latency
	fmt.Fprintf(w, "                 commit latency p50 %.0f ms, p90 %.0f ms, p99 %.0f ms, max %.0f ms (%d unfinished)\n", l.P50, l.P90, l.P99, l.Max, l.Unfinished)
	fmt.Fprintf(w, "                 %d blocks (at most %d requests), node 0 applied them in %.1f s (%.0f µs per request)\n", rq.Blocks, rq.MaxBlockRequests, rq.ApplyS, rq.ApplyPerRequestUs)
	fmt.Fprintf(w, "                 %.3f CPU s per 1,000 requests, %.2f cores busy (%s); submitters %.1f CPU s; %.0f bytes sent per request\n",
		res.CPU.Per1000Txs, res.CPU.Utilization, res.CPU.Scope, res.CPU.LoadGenerator, res.BytesPerTx)
	cl := s.Close
	fmt.Fprintf(w, "  close          block %d, applied in %.1f ms at node 0, %.1f s after the last request; %s: %d kept, %d accepted, %d evicted, %d sold to %d winners\n",
		cl.Height, cl.ApplyMs, cl.WaitS, cl.State, cl.Kept, cl.Accepted, cl.Evicted, cl.Sold, cl.Winners)
	for _, m := range rq.FailMessages {
		fmt.Fprintf(w, "  failed         %s\n", m)
	}
	for _, m := range res.RejectMessages {
		fmt.Fprintf(w, "  rejection      %s\n", m)
	}
}
