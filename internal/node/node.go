package node

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mass-consensus/mass/internal/app"
	"github.com/mass-consensus/mass/internal/chain"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/genesis"
	"github.com/mass-consensus/mass/internal/ledger"
	"github.com/mass-consensus/mass/internal/protocol/epoch"
	"github.com/mass-consensus/mass/internal/store"
	"github.com/mass-consensus/mass/internal/transport"
)

// Journal is where the epoch log is kept (package wal's Log): appended
// records are durable once Sync returns.
type Journal interface {
	Append(epoch uint64, data []byte) error
	Sync() error
	DropBelow(epoch uint64) error
}

// Config wires a node.
type Config struct {
	Genesis *genesis.Genesis
	Key     *crypto.PrivateKey
	// Store is the node's whole store; the ledger keeps its records and the
	// chain in it (ledger.RecordPrefix, ledger.ChainPrefix). The
	// application usually lives under "app/" of the same store.
	Store store.KV
	// Journal keeps the epoch log, and Logged is what it held when opened.
	Journal   Journal
	Logged    []ledger.LogRecord
	App       app.Application
	Transport transport.Transport
	Logger    *slog.Logger
	// Now reads the clock (default time.Now); only the loop calls it.
	Now func() time.Time
	// Entropy seeds what the ledger draws (default: drawn from
	// crypto/rand; the simulator derives it from its seed).
	Entropy [32]byte
	// Tick is how often the clock is read (default 10 ms).
	Tick time.Duration
	// StatusEvery is how often the node tells its peers its height (default
	// 500 ms).
	StatusEvery time.Duration
	// SyncAfter is how long the node waits, while a peer is certified
	// further and it makes no progress, before it fetches the blocks it is
	// missing (default 1 s).
	SyncAfter time.Duration
	// MaxPending bounds the transactions waiting to be proposed.
	MaxPending int
	// DeadlineEvery is how often the node asks the application whether
	// time-driven work is due (default 500 ms; see app.Deadliner).
	DeadlineEvery time.Duration
	// Knobs plant bugs in the ledger, for the simulator's vacuity tests.
	Knobs ledger.Knobs
}

// Errors of Submit.
var (
	ErrBusy    = errors.New("node: busy, try again")
	ErrStopped = errors.New("node: stopped")
	// ErrDuplicate: the transaction is already pending or committed.
	ErrDuplicate = ledger.ErrDuplicate
	// ErrNotMember: the node is not in the current node set and takes no
	// transactions (it follows the chain); submit to a member.
	ErrNotMember = ledger.ErrNotMember
)

// Commit is a block the node applied, for subscribers.
type Commit struct {
	Height   uint64
	Hash     chain.Hash
	Time     int64
	TxHashes []epoch.TxHash
	Results  []app.TxResult
	// Apply is how long this node's application took to apply the block
	// (0 if it applied it before a restart).
	Apply time.Duration
}

// Status is a snapshot of the node.
type Status struct {
	ChainID   string `json:"chain_id"`
	Node      int    `json:"node"`
	Key       string `json:"key"`
	Height    uint64 `json:"height"`
	Certified uint64 `json:"certified"`
	Epoch     uint64 `json:"epoch"`
	Pending   int    `json:"pending"`
	Peers     int    `json:"peers"`
	Synced    uint64 `json:"blocks_fetched"`
	// TxRate is the transactions committed per second over the last ten
	// seconds.
	TxRate float64 `json:"tx_per_second"`
	// Member says whether the node is in the current node set (Node is its
	// index there, -1 if not); Nodes is the set's size and Era its number
	// (0: the genesis set).
	Member bool `json:"member"`
	Nodes  int  `json:"nodes"`
	Era    int  `json:"era"`
	// Coin is the coin the node's agreements toss now: "local", or
	// "threshold" once the era's keys, generated through the log, exist
	// and their epoch has come. KeysAt is the block the keys came with
	// (0: not yet), CoinFrom the first epoch of the threshold coin,
	// KeyParts the complete key generation parts, GroupKey the SHA-256 of
	// the era's threshold public key (hex).
	Coin       string `json:"coin"`
	KeysAt     uint64 `json:"keys_at,omitempty"`
	CoinFrom   uint64 `json:"coin_from_epoch,omitempty"`
	KeyParts   int    `json:"key_parts"`
	KeyDealers []int  `json:"key_dealers,omitempty"`
	GroupKey   string `json:"group_key,omitempty"`
}

// Counters are what the node counts, for metrics: the ledger's and the
// driver's own.
type Counters struct {
	ledger.Counters
	SendFailures    atomic.Uint64 // messages the transport refused (a peer's queue full)
	SubmitsRejected atomic.Uint64
}

// submitReq is one or more transactions for the loop: errs holds, for
// each, its refusal (set before by the application's check, or by the
// loop), and done is answered once the accepted ones are durable (nil) or
// cannot be (the error).
type submitReq struct {
	txs  [][]byte
	errs []error
	done chan error
}

// Node is one running node: the driver of a ledger.
type Node struct {
	cfg    Config
	log    *slog.Logger
	ledger *ledger.Ledger
	chain  *chain.Store
	// replies are the submitters to answer once the round is durable, and
	// results the application's results of the blocks applied, until
	// their commits are told.
	replies      []chan error // each request's done
	results      map[uint64]applied
	lastDeadline time.Time
	rate         rateMeter

	setsMu sync.RWMutex
	sets   []chain.NodeSet
	// pending are the transactions taken and not yet committed, for
	// TxStatus.
	pendingMu sync.Mutex
	pending   map[epoch.TxHash]struct{}

	submits chan submitReq
	status  atomic.Pointer[Status]
	stopped chan struct{} // closed when Run returns
	runErr  error         // what Run returned, set before stopped is closed

	failOnce sync.Once
	failed   chan struct{} // closed by Fail
	failure  error         // Fail's error, set before failed is closed

	subsMu sync.Mutex
	subs   map[chan Commit]struct{}

	Counters Counters
}

// New opens a node: it recovers its ledger from the store and the journal
// and brings its application up to date, but sends nothing until Run.
func New(cfg Config) (*Node, error) {
	if cfg.Key == nil || cfg.Store == nil || cfg.App == nil || cfg.Transport == nil || cfg.Journal == nil {
		return nil, errors.New("node: Key, Store, Journal, App and Transport are required")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.Tick, 10*time.Millisecond)
	def(&cfg.StatusEvery, 500*time.Millisecond)
	def(&cfg.SyncAfter, time.Second)
	def(&cfg.DeadlineEvery, 500*time.Millisecond)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Entropy == ([32]byte{}) {
		if _, err := rand.Read(cfg.Entropy[:]); err != nil {
			return nil, fmt.Errorf("node: drawing entropy: %w", err)
		}
	}
	n := &Node{
		cfg: cfg, log: cfg.Logger,
		chain:   chain.NewStore(store.WithPrefix(cfg.Store, ledger.ChainPrefix)),
		results: map[uint64]applied{},
		pending: map[epoch.TxHash]struct{}{},
		submits: make(chan submitReq, 1024),
		stopped: make(chan struct{}),
		failed:  make(chan struct{}),
		subs:    map[chan Commit]struct{}{},
	}
	appHeight, appRoot, err := cfg.App.Info()
	if err != nil {
		return nil, fmt.Errorf("node: application info: %w", err)
	}
	n.ledger, err = ledger.Open(ledger.Config{
		Genesis: cfg.Genesis, Key: cfg.Key, Store: cfg.Store, Entropy: cfg.Entropy, Logger: cfg.Logger,
		StatusEvery: cfg.StatusEvery.Milliseconds(), SyncAfter: cfg.SyncAfter.Milliseconds(),
		MaxPending: cfg.MaxPending, Counters: &n.Counters.Counters, Knobs: cfg.Knobs,
	}, ledger.Restart{AppHeight: appHeight, AppRoot: appRoot, Log: cfg.Logged})
	if err != nil {
		return nil, err
	}
	if err := n.Flush(); err != nil {
		return nil, err
	}
	return n, nil
}

// Run runs the loop until ctx is done or a fatal error (a disk failure, a
// divergence from a certified block, Fail) stops it.
func (n *Node) Run(ctx context.Context) (err error) {
	defer func() {
		n.runErr = err
		close(n.stopped)
	}()
	ticker := time.NewTicker(n.cfg.Tick)
	defer ticker.Stop()
	err = n.Tick()
	for err == nil {
		select {
		case <-ctx.Done():
			return n.Flush()
		case <-n.failed:
			err = n.failure
		case in, ok := <-n.cfg.Transport.Receive():
			err = n.inbound(ctx, in, ok)
		case req := <-n.submits:
			err = n.submit(req)
		case <-ticker.C:
			err = n.Tick()
		}
		// Take what else is waiting, up to a bound, before the flush: one
		// sync for the whole round (unless a block waits for the
		// application: it goes first).
		for i := 0; i < 256 && err == nil && !n.ledger.MustFlush(); i++ {
			more := true
			select {
			case in, ok := <-n.cfg.Transport.Receive():
				err = n.inbound(ctx, in, ok)
			case req := <-n.submits:
				err = n.submit(req)
			default:
				more = false
			}
			if !more {
				break
			}
		}
		if err == nil {
			err = n.Flush()
		}
	}
	n.log.Error("stopping", "err", err)
	n.failReplies(err)
	return err
}

func (n *Node) inbound(ctx context.Context, in transport.Inbound, ok bool) error {
	if !ok {
		if ctx.Err() != nil {
			return nil
		}
		return errors.New("node: transport closed")
	}
	return n.Deliver(in)
}

// Deliver hands the ledger a message from a peer; Flush then does what it
// caused.
func (n *Node) Deliver(in transport.Inbound) error {
	return n.ledger.Receive(in.From, in.Tag, in.Data)
}

// Tick feeds the ledger the clock (and whether the application has work
// due); Flush then does what it caused.
func (n *Node) Tick() error {
	now := n.cfg.Now()
	n.rate.sample(now, n.Counters.Committed.Load())
	return n.ledger.Tick(now.UnixMilli(), n.due(now))
}

// Offer checks a transaction and hands it to the ledger, for a driver that
// runs the node step by step (the simulator): it is durably pending once
// the next Flush returns nil.
func (n *Node) Offer(tx []byte) error {
	if err := n.cfg.App.CheckTx(tx); err != nil {
		n.Counters.SubmitsRejected.Add(1)
		return err
	}
	if err := n.ledger.Submit(tx); err != nil {
		n.Counters.SubmitsRejected.Add(1)
		return err
	}
	return nil
}

// submit hands the ledger a request's transactions; the client is
// answered once they are durable, after the flush. A block for the
// application (rare on a submission) is done first.
func (n *Node) submit(req submitReq) error {
	for i, tx := range req.txs {
		if req.errs[i] != nil {
			continue
		}
		if n.ledger.MustFlush() {
			if err := n.Flush(); err != nil {
				return err
			}
		}
		if req.errs[i] = n.ledger.Submit(tx); req.errs[i] != nil {
			n.Counters.SubmitsRejected.Add(1)
		}
	}
	n.replies = append(n.replies, req.done)
	return nil
}

// Flush does what the ledger is ready for, until it has nothing more: it
// makes records durable, then sends, applies blocks, and tells clients
// and subscribers.
func (n *Node) Flush() error {
	for n.ledger.HasReady() {
		if err := n.execute(n.ledger.Ready()); err != nil {
			return err
		}
	}
	for _, r := range n.replies {
		r <- nil
	}
	n.replies = n.replies[:0]
	n.publish()
	return nil
}

// execute does one Ready, in the order the ledger asks (see ledger.Ready).
func (n *Node) execute(rd ledger.Ready) error {
	if err := n.persist(&rd); err != nil {
		return err
	}
	if rd.Peers != nil {
		if err := n.cfg.Transport.SetPeers(rd.Peers); err != nil {
			return fmt.Errorf("node: %w", err)
		}
		n.updateSets()
	}
	if rd.Forget > 0 {
		n.cfg.Transport.Forget(rd.Forget)
	}
	for _, m := range rd.Messages {
		n.send(m)
	}
	if rd.Apply != nil {
		if err := n.applyBlock(*rd.Apply); err != nil {
			return err
		}
	}
	n.trackPending(rd.Pending, rd.Commits)
	if len(rd.Commits) > 0 {
		n.notify(rd.Commits)
	}
	return nil
}

// persist makes a Ready's records durable: the store (whose sync also
// makes the application's deferred writes durable), then the log, then
// drops the log of closed epochs. The store goes first: a crash between
// the two leaves a block's index and its node-set change recorded with
// its own record missing from the log, which a restart makes again (the
// other way round, an application that syncs itself could be at a block
// whose node-set change was lost).
func (n *Node) persist(rd *ledger.Ready) error {
	if rd.Writes.Len() > 0 {
		if err := n.cfg.Store.Apply(rd.Writes, true); err != nil {
			return fmt.Errorf("node: writing the ledger's records: %w", err)
		}
	}
	for _, r := range rd.Log {
		if err := n.cfg.Journal.Append(r.Epoch, r.Data); err != nil {
			return fmt.Errorf("node: journal: %w", err)
		}
	}
	if len(rd.Log) > 0 {
		if err := n.cfg.Journal.Sync(); err != nil {
			return fmt.Errorf("node: journal: %w", err)
		}
	}
	if rd.LogBelow > 0 {
		if err := n.cfg.Journal.DropBelow(rd.LogBelow); err != nil {
			return fmt.Errorf("node: journal: %w", err)
		}
	}
	return nil
}

func (n *Node) send(m ledger.Outbound) {
	if err := n.cfg.Transport.Send(m.To, m.Tag, m.Data); err != nil {
		n.Counters.SendFailures.Add(1)
		n.log.Debug("send failed", "to", m.To, "err", err)
	}
}

// applyBlock applies a block to the application and reports it to the
// ledger, unless the application applied it before a crash (it syncs
// each block, the ledger records the block just after): then its root is
// the one it reports, and the node set it changed is asked again.
func (n *Node) applyBlock(b app.Block) error {
	appHeight, root, err := n.cfg.App.Info()
	if err != nil {
		return fmt.Errorf("node: application info: %w", err)
	}
	var nodes []app.NodeInfo
	switch appHeight {
	case b.Height:
		if r, ok := n.cfg.App.(app.NodeSetReporter); ok {
			if nodes, err = r.NodeSetChange(b.Height); err != nil {
				return fmt.Errorf("node: block %d's node set: %w", b.Height, err)
			}
		}
	case b.Height - 1:
		began := time.Now()
		res, err := n.cfg.App.ApplyBlock(b)
		if err != nil {
			return fmt.Errorf("node: applying block %d: %w", b.Height, err)
		}
		root, nodes = res.StateRoot, res.NodeSet
		n.results[b.Height] = applied{txs: res.Txs, took: time.Since(began)}
	default:
		return fmt.Errorf("node: the application is at height %d, block %d is next", appHeight, b.Height)
	}
	return n.ledger.Applied(b.Height, root, nodes)
}

// applied is what the application said of a block it applied, and how
// long that took, until its commit is told.
type applied struct {
	txs  []app.TxResult
	took time.Duration
}

// failReplies tells the submitters of a round that could not be made
// durable (because of err) that their transactions were not taken.
func (n *Node) failReplies(err error) {
	for _, r := range n.replies {
		r <- fmt.Errorf("%w: %w", ErrStopped, err)
	}
	n.replies = nil
}

// Fail stops the node because something it relies on failed outside its
// loop (its store, in the background): from now on submissions are
// refused at once with ErrStopped (wrapping err), and Run returns err at
// its next turn, without writing anything more. Only the first call
// counts.
func (n *Node) Fail(err error) {
	n.failOnce.Do(func() {
		n.failure = err
		close(n.failed)
	})
}

// stoppedErr is ErrStopped, with the reason if the node failed.
func (n *Node) stoppedErr() error {
	select {
	case <-n.failed:
		return fmt.Errorf("%w: %w", ErrStopped, n.failure)
	default:
	}
	select {
	case <-n.stopped:
		if n.runErr != nil {
			return fmt.Errorf("%w: %w", ErrStopped, n.runErr)
		}
	default:
	}
	return ErrStopped
}

// refusing returns stoppedErr if the node has stopped or failed, else nil.
func (n *Node) refusing() error {
	select {
	case <-n.failed:
	case <-n.stopped:
	default:
		return nil
	}
	return n.stoppedErr()
}

// due says, at most once per DeadlineEvery, whether the application has
// work due by the node's clock (app.Deadliner): then an epoch runs even
// with no transaction.
func (n *Node) due(now time.Time) bool {
	d, ok := n.cfg.App.(app.Deadliner)
	if !ok || now.Sub(n.lastDeadline) < n.cfg.DeadlineEvery {
		return false
	}
	n.lastDeadline = now
	at, found, err := d.NextDeadline()
	if err != nil {
		n.log.Warn("reading the application's next deadline", "err", err)
		return false
	}
	return found && at <= now.UnixMilli()
}
