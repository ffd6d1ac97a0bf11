// Package daemon runs a node from its home directory: it opens the Pebble
// store, the application, the libp2p transport, the node's loop and the HTTP
// API, and stops them in order. `mass start` runs one daemon, `mass devnet`
// several in one process.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/mass-consensus/mass/internal/api"
	"github.com/mass-consensus/mass/internal/app"
	"github.com/mass-consensus/mass/internal/app/kvapp"
	"github.com/mass-consensus/mass/internal/app/orgapp"
	"github.com/mass-consensus/mass/internal/genesis"
	"github.com/mass-consensus/mass/internal/home"
	"github.com/mass-consensus/mass/internal/ledger"
	"github.com/mass-consensus/mass/internal/node"
	"github.com/mass-consensus/mass/internal/store"
	"github.com/mass-consensus/mass/internal/store/pebble"
	"github.com/mass-consensus/mass/internal/transport"
	"github.com/mass-consensus/mass/internal/transport/p2p"
	"github.com/mass-consensus/mass/internal/wal"
)

// Daemon is one running node.
type Daemon struct {
	log     *slog.Logger
	genesis *genesis.Genesis
	db      *pebble.DB
	journal *wal.Log
	tr      *p2p.Transport
	node    *node.Node
	api     *api.Server
	srv     *http.Server
	addr    string
	cancel  context.CancelFunc
	// done is closed when the loop has stopped (loopDone), or when it
	// was given up on, stuck after a failure of the store; err says why.
	done       chan struct{}
	err        error
	finishOnce sync.Once
	loopDone   chan struct{}

	// running is the node once its loop runs, to be told of a failure of
	// the store (which may come from any goroutine, at any time).
	running atomic.Pointer[node.Node]
}

// Options are a daemon's settings beyond its home.
type Options struct {
	// Knobs make the node misbehave on purpose, to test Byzantine nodes on
	// real processes (mass start --byzantine); the zero value in
	// production.
	Knobs ledger.Knobs
	// API bounds what clients may hold of the HTTP API (timeouts,
	// connections, request bodies); the zero value gives the defaults.
	API api.Limits
	// StoreFS is the file system of the store (nil: the operating
	// system's); tests give one that fails on purpose.
	StoreFS vfs.FS
	// StampRate and StampBurst are the stamping route's token bucket per
	// remote address (api.Stamping; 0: its defaults). A bench that asks
	// every stamp from 127.0.0.1 raises them.
	StampRate  float64
	StampBurst int
	// App is served at the paths outside the API: the members' web app
	// (cmd/mass gives internal/web's, with the home's genesis file); nil:
	// those paths answer 404.
	App http.Handler
}

// withConfigLimits fills the API limits and the stamping bucket the
// options leave at zero from the home's config.json (api_limits): options
// (flags, tests) win over the file, the file over the defaults.
func withConfigLimits(opts Options, c *home.APILimits) Options {
	if c == nil {
		return opts
	}
	l := &opts.API
	for _, d := range []struct {
		v    *time.Duration
		file home.Duration
	}{
		{&l.ReadHeaderTimeout, c.ReadHeaderTimeout}, {&l.ReadTimeout, c.ReadTimeout}, {&l.WriteTimeout, c.WriteTimeout},
		{&l.IdleTimeout, c.IdleTimeout}, {&l.EventWriteTimeout, c.EventWriteTimeout},
	} {
		if *d.v == 0 {
			*d.v = time.Duration(d.file)
		}
	}
	if l.MaxConns == 0 {
		l.MaxConns = c.MaxConns
	}
	if l.BodyBudget == 0 {
		l.BodyBudget = c.BodyBudget
	}
	if opts.StampRate == 0 {
		opts.StampRate = c.StampRate
	}
	if opts.StampBurst == 0 {
		opts.StampBurst = c.StampBurst
	}
	return opts
}

// stopWait bounds how long Stop waits for a loop stuck on a failed store.
const stopWait = 5 * time.Second

// Start opens and starts the node of a home directory. It returns once the
// API is listening.
func Start(h *home.Home, logger *slog.Logger) (*Daemon, error) {
	return StartWith(h, logger, Options{})
}

// StartWith is Start with options.
func StartWith(h *home.Home, logger *slog.Logger, opts Options) (_ *Daemon, err error) {
	if h != nil {
		opts = withConfigLimits(opts, h.Config.APILimits)
	}
	limits, err := opts.API.WithDefaults() // before anything is opened
	if err != nil {
		return nil, fmt.Errorf("daemon: %w", err)
	}
	d := &Daemon{log: logger, genesis: h.Genesis, done: make(chan struct{}), loopDone: make(chan struct{})}
	defer func() {
		if err != nil {
			d.close(true)
		}
	}()
	if d.db, err = pebble.Open(h.DataDir(), pebble.Options{FS: opts.StoreFS, OnFailure: d.storeFailed}); err != nil {
		return nil, fmt.Errorf("daemon: %w", err)
	}
	var application app.Application
	var appState api.State
	switch h.Genesis.AppName() {
	case genesis.AppKV:
		if application, err = kvapp.New(store.WithPrefix(d.db, "app/")); err != nil {
			return nil, fmt.Errorf("daemon: %w", err)
		}
	case genesis.AppRaw:
		raw, err := kvapp.NewRaw(store.WithPrefix(d.db, "app/"))
		if err != nil {
			return nil, fmt.Errorf("daemon: %w", err)
		}
		raw.DeferSync = true
		application = raw
	default:
		org, err := orgapp.New(store.WithPrefix(d.db, "app/"), h.Genesis, orgapp.Options{Retain: h.Config.Retain(orgapp.DefaultRetain), DeferSync: true})
		if err != nil {
			return nil, fmt.Errorf("daemon: %w", err)
		}
		application, appState = org, org
	}
	// The transport lives until close, after the loop has stopped.
	if d.tr, err = p2p.New(context.Background(), h.Key.Ed25519(), h.Config.Listen, transport.Config{Logger: logger}); err != nil {
		return nil, fmt.Errorf("daemon: %w", err)
	}
	journal, logged, err := node.OpenJournal(h.JournalDir(), wal.OSFS())
	if err != nil {
		return nil, fmt.Errorf("daemon: %w", err)
	}
	d.journal = journal
	d.node, err = node.New(node.Config{
		Genesis: h.Genesis, Key: h.Key, Store: d.db, Journal: journal, Logged: logged,
		App: application, Transport: d.tr, Logger: logger, Knobs: opts.Knobs,
	})
	if err != nil {
		return nil, err
	}
	if err := d.db.Err(); err != nil { // failed while the node opened
		return nil, fmt.Errorf("daemon: %w", err)
	}
	ln, err := net.Listen("tcp", h.Config.API)
	if err != nil {
		return nil, fmt.Errorf("daemon: API: %w", err)
	}
	d.addr = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	d.api = api.New(d.node, d.metrics, logger)
	if err := d.api.SetLimits(limits); err != nil {
		return nil, fmt.Errorf("daemon: %w", err)
	}
	if appState != nil {
		d.api.SetState(appState)
		if err := d.api.SetStamping(api.Stamping{Key: h.Key, Rate: opts.StampRate, Burst: opts.StampBurst}); err != nil { // sales' stamps (docs/SALE.md)
			return nil, fmt.Errorf("daemon: %w", err)
		}
	}
	if opts.App != nil {
		d.api.SetApp(opts.App)
	}
	d.srv = d.api.HTTPServer()
	go func() {
		if err := d.srv.Serve(d.api.Listener(ln)); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("API server", "err", err)
		}
	}()
	go func() {
		err := d.node.Run(ctx)
		if err == nil {
			err = d.db.Err() // failed in the background as the loop stopped
		}
		close(d.loopDone)
		d.finish(err)
	}()
	d.running.Store(d.node)
	if err := d.db.Err(); err != nil {
		d.storeFailed(err) // it failed before the node could be told
	}
	logger.Info("node started", "api", d.addr, "p2p", d.tr.Addrs())
	return d, nil
}

// APIAddr is the address the API listens on.
func (d *Daemon) APIAddr() string { return d.addr }

// Genesis is the network's genesis.
func (d *Daemon) Genesis() *genesis.Genesis { return d.genesis }

// Node returns the running node.
func (d *Daemon) Node() *node.Node { return d.node }

// Done returns a channel closed when the loop stops (or, after a failure
// of the store, when it is stuck and given up on); Err then says why.
func (d *Daemon) Done() <-chan struct{} { return d.done }

// Err is the loop's error, once Done is closed (nil after a clean stop).
func (d *Daemon) Err() error { return d.err }

// finish closes done with err, once.
func (d *Daemon) finish(err error) {
	d.finishOnce.Do(func() {
		d.err = err
		close(d.done)
	})
}

// Stop stops the API, the loop, the transport and the store, in that
// order. After a failure of the store, a loop stuck in the store is waited
// for at most stopWait, and the store and the journal are then left to the
// process's exit.
func (d *Daemon) Stop() error {
	if d.srv != nil {
		d.api.Shutdown()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = d.srv.Shutdown(ctx)
		cancel()
	}
	if d.node == nil || d.cancel == nil {
		d.close(true)
		return nil
	}
	d.cancel()
	<-d.done
	select {
	case <-d.loopDone:
		d.close(true)
	default: // stuck in the failed store, which cannot be closed under it
		d.close(false)
	}
	return d.err
}

// storeFailed is told of the store's first failed write, from whichever
// goroutine saw it: the node refuses transactions at once and its loop
// stops; if the loop is stuck in the store, it is given up on after
// stopWait.
func (d *Daemon) storeFailed(err error) {
	n := d.running.Load()
	if n == nil {
		return // the start fails with it
	}
	n.Fail(err)
	go func() {
		select {
		case <-d.loopDone:
		case <-time.After(stopWait):
			d.log.Error("the node's loop did not stop after its store failed", "after", stopWait)
			d.finish(fmt.Errorf("daemon: the loop did not stop after the store failed: %w", err))
		}
	}()
}

// close releases what the daemon opened; the store and the journal only if
// stores, the loop being done with them. A failed store's error is the
// loop's, not logged again.
func (d *Daemon) close(stores bool) {
	if d.cancel != nil {
		d.cancel()
	}
	if d.tr != nil {
		_ = d.tr.Close()
	}
	if !stores {
		return
	}
	if d.journal != nil {
		// A journal that failed stopped the loop, whose error says so.
		if err := d.journal.Close(); err != nil && d.err == nil {
			d.log.Error("closing the journal", "err", err)
		}
	}
	if d.db != nil {
		if err := d.db.Close(); err != nil && !errors.Is(err, pebble.ErrFailed) {
			d.log.Error("closing the store", "err", err)
		}
	}
}

func (d *Daemon) metrics() []api.Metric {
	c := &d.node.Counters
	ts := d.tr.Stats()
	queued := 0
	for _, p := range ts.Peers {
		queued += p.Queued
	}
	counter := func(name, help string, v uint64) api.Metric {
		return api.Metric{Name: name, Help: help, Type: "counter", Value: float64(v)}
	}
	out := []api.Metric{
		counter("mass_committed_txs_total", "Transactions committed.", c.Committed.Load()),
		counter("mass_rejected_messages_total", "Malformed or unexpected messages from peers.", c.Rejected.Load()),
		counter("mass_faults_total", "Protocol faults observed.", c.Faults.Load()),
		counter("mass_future_dropped_total", "Messages beyond the horizon that did not fit the buffer.", c.FutureDropped.Load()),
		counter("mass_send_failures_total", "Messages the transport refused.", c.SendFailures.Load()),
		counter("mass_blocks_fetched_total", "Certified blocks fetched while catching up.", c.BlocksFetched.Load()),
		counter("mass_votes_rejected_total", "Block votes that do not verify against this node's block (a node signing another block would show here).", c.VotesRejected.Load()),
		counter("mass_votes_dropped_total", "Block votes for heights too far ahead.", c.VotesDropped.Load()),
		counter("mass_submits_rejected_total", "Transactions refused at submission.", c.SubmitsRejected.Load()),
		counter("mass_consensus_messages_total", "Consensus (epoch) messages handled by the engine.", c.ConsensusMessages.Load()),
		counter("mass_transport_bytes_sent_total", "Payload bytes sent to peers.", ts.BytesSent),
		counter("mass_transport_bytes_received_total", "Payload bytes received from peers.", ts.BytesReceived),
		{Name: "mass_transport_queued_messages", Help: "Messages queued for peers, not yet acknowledged.", Type: "gauge", Value: float64(queued)},
	}
	if d.journal != nil {
		js := d.journal.Stats()
		out = append(out,
			api.Metric{Name: "mass_journal_bytes", Help: "Bytes in the epoch log's segment files.", Type: "gauge", Value: float64(js.Size)},
			api.Metric{Name: "mass_journal_segments", Help: "Segment files of the epoch log.", Type: "gauge", Value: float64(js.Segments)})
	}
	u := d.api.Usage()
	out = append(out,
		api.Metric{Name: "mass_api_connections", Help: "Connections open to the HTTP API.", Type: "gauge", Value: float64(u.Conns)},
		counter("mass_api_connections_refused_total", "Connections to the HTTP API refused for its connection limit.", uint64(u.ConnsRefused)),
		api.Metric{Name: "mass_api_body_bytes", Help: "Bytes of request bodies the HTTP API holds now (its budget is mass_api_body_budget_bytes).", Type: "gauge", Value: float64(u.BodyBytes)},
		api.Metric{Name: "mass_api_body_budget_bytes", Help: "Bytes of request bodies the HTTP API may hold at once.", Type: "gauge", Value: float64(u.BodyBudget)})
	for reason, v := range ts.Rejected {
		out = append(out, api.Metric{Name: "mass_transport_rejected_total", Help: "What came to the p2p port that the transport refused, by reason (unknown-peer, too-large, malformed, garbage, handshake).", Type: "counter", Value: float64(v), Labels: map[string]string{"reason": string(reason)}})
	}
	return out
}
