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
	"time"

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
	done    chan struct{} // closed when the loop has stopped
	err     error         // why the loop stopped, once done is closed
}

// Options are a daemon's settings beyond its home.
type Options struct {
	// Knobs make the node misbehave on purpose, to test Byzantine nodes on
	// real processes (mass start --byzantine); the zero value in
	// production.
	Knobs ledger.Knobs
}

// Start opens and starts the node of a home directory. It returns once the
// API is listening.
func Start(h *home.Home, logger *slog.Logger) (*Daemon, error) {
	return StartWith(h, logger, Options{})
}

// StartWith is Start with options.
func StartWith(h *home.Home, logger *slog.Logger, opts Options) (_ *Daemon, err error) {
	d := &Daemon{log: logger, genesis: h.Genesis, done: make(chan struct{})}
	defer func() {
		if err != nil {
			d.close()
		}
	}()
	if d.db, err = pebble.Open(h.DataDir(), pebble.Options{}); err != nil {
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
	if d.tr, err = p2p.New(context.Background(), h.Key.Ed25519(), h.Config.Listen, transport.Config{}); err != nil {
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
	ln, err := net.Listen("tcp", h.Config.API)
	if err != nil {
		return nil, fmt.Errorf("daemon: API: %w", err)
	}
	d.addr = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	d.api = api.New(d.node, d.metrics, logger)
	if appState != nil {
		d.api.SetState(appState)
	}
	d.srv = &http.Server{Handler: d.api, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := d.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("API server", "err", err)
		}
	}()
	go func() {
		d.err = d.node.Run(ctx)
		close(d.done)
	}()
	logger.Info("node started", "api", d.addr, "p2p", d.tr.Addrs())
	return d, nil
}

// APIAddr is the address the API listens on.
func (d *Daemon) APIAddr() string { return d.addr }

// Genesis is the network's genesis.
func (d *Daemon) Genesis() *genesis.Genesis { return d.genesis }

// Node returns the running node.
func (d *Daemon) Node() *node.Node { return d.node }

// Done returns a channel closed when the loop stops; Err then says why.
func (d *Daemon) Done() <-chan struct{} { return d.done }

// Err is the loop's error, once Done is closed (nil after a clean stop).
func (d *Daemon) Err() error { return d.err }

// Stop stops the API, the loop, the transport and the store, in that order.
func (d *Daemon) Stop() error {
	if d.srv != nil {
		d.api.Shutdown()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = d.srv.Shutdown(ctx)
		cancel()
	}
	var err error
	if d.node != nil && d.cancel != nil {
		d.cancel()
		<-d.done
		err = d.err
	}
	d.close()
	return err
}

func (d *Daemon) close() {
	if d.cancel != nil {
		d.cancel()
	}
	if d.tr != nil {
		_ = d.tr.Close()
	}
	if d.journal != nil {
		if err := d.journal.Close(); err != nil {
			d.log.Error("closing the journal", "err", err)
		}
	}
	if d.db != nil {
		if err := d.db.Close(); err != nil {
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
	for reason, v := range ts.Rejected {
		out = append(out, api.Metric{Name: "mass_transport_rejected_total", Help: "What peers sent that the transport refused.", Type: "counter", Value: float64(v), Labels: map[string]string{"reason": string(reason)}})
	}
	return out
}
