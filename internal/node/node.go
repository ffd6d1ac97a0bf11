package node

import (
	"context"
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
	"github.com/mass-consensus/mass/internal/protocol"
	"github.com/mass-consensus/mass/internal/protocol/epoch"
	"github.com/mass-consensus/mass/internal/store"
	"github.com/mass-consensus/mass/internal/transport"
)

// Config wires a node.
type Config struct {
	Genesis *genesis.Genesis
	Key     *crypto.PrivateKey
	// Store is the node's whole store; the node keeps its records under
	// "node/" and the chain under "chain/". The application usually lives
	// under "app/" of the same store.
	Store     store.KV
	App       app.Application
	Transport transport.Transport
	Logger    *slog.Logger
	// Now reads the clock (default time.Now); only the loop calls it, and
	// only to feed the consensus core its clock reading.
	Now func() time.Time
	// Tick is how often the clock is read (default 10 ms).
	Tick time.Duration
	// StatusEvery is how often the node tells its peers its height (default
	// 500 ms).
	StatusEvery time.Duration
	// SyncAfter is how long the node waits, while a peer is certified
	// further, before it fetches the blocks it is missing (default 1 s).
	SyncAfter time.Duration
	// MaxPending bounds the transactions waiting to be proposed.
	MaxPending int
	// DeadlineEvery is how often the node asks the application whether
	// time-driven work is due (default 500 ms; see app.Deadliner).
	DeadlineEvery time.Duration
}

// Errors of Submit.
var (
	ErrBusy    = errors.New("node: busy, try again")
	ErrStopped = errors.New("node: stopped")
	// ErrDuplicate: the transaction is already pending or committed.
	ErrDuplicate = errors.New("node: duplicate transaction")
	// ErrNotMember: the node is not in the current node set and takes no
	// transactions (it follows the chain); submit to a member.
	ErrNotMember = errors.New("node: not a member of the node set; submit to a member")
)

// Commit is a block the node applied, for subscribers.
type Commit struct {
	Height   uint64
	Hash     chain.Hash
	Time     int64
	TxHashes []epoch.TxHash
	Results  []app.TxResult
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
}

// Counters are what the node counts, for metrics.
type Counters struct {
	Committed       atomic.Uint64 // transactions
	Rejected        atomic.Uint64 // malformed or unexpected messages from peers
	Faults          atomic.Uint64 // protocol faults seen
	FutureDropped   atomic.Uint64 // messages beyond the horizon that did not fit the buffer
	SendFailures    atomic.Uint64 // messages the transport refused (a peer's queue full)
	BlocksFetched   atomic.Uint64
	VotesRejected   atomic.Uint64 // votes that do not verify against the node's block, or claim another signer
	VotesDropped    atomic.Uint64 // votes for heights too far ahead
	SubmitsRejected atomic.Uint64
	// ConsensusMessages are the epoch messages given to the engine, live
	// or offered again (not the journal's replay at start).
	ConsensusMessages atomic.Uint64
}

type submitReq struct {
	tx    []byte
	reply chan error
}

type futureMsg struct {
	epoch  uint64
	data   []byte
	bundle bool // a whole consensus message (for a later era) rather than one epoch message
}

// Node is one running node.
type Node struct {
	cfg Config
	log *slog.Logger
	// The current era: its set, its indices, this node's index in it and
	// its engine (nil when this node is not a member: it follows the chain
	// by fetching certified blocks).
	eras    []*era
	erasMu  sync.RWMutex // the loop appends to eras under it; the API reads
	cur     int
	set     chain.NodeSet
	setHash chain.Hash
	params  protocol.Params
	horizon int // epochs whose messages the engine accepts ahead of its own
	self    protocol.NodeID
	peers   []transport.NodeKey
	indexOf map[transport.NodeKey]protocol.NodeID
	chain   *chain.Store
	j       journal
	engine  *epoch.Engine
	// recentTxs are the hashes of the latest committed transactions, which
	// a submission may not repeat.
	recentTxs recentSet
	// linked are the peers of the current and the decided later eras: whom
	// votes and status go to.
	linked   []transport.NodeKey
	isLinked map[transport.NodeKey]bool // the same, as a set
	coinSeed [32]byte

	applied    uint64
	lastHeader *chain.Header
	certified  uint64
	certHeader *chain.Header
	collectors map[uint64]*chain.Collector
	readyCerts map[uint64]*chain.Certificate // certificates waiting for the one before
	ownBlocks  map[uint64]*chain.Block
	earlyVotes map[uint64][]chain.Vote
	future     map[transport.NodeKey][]futureMsg
	peerHeight map[transport.NodeKey]uint64
	replaying  bool
	// moved is set when the engine's epoch advanced: the buffered future
	// messages are offered again once the current event is fully handled
	// (never from inside a step, whose later outputs are still pending).
	moved bool

	outbox  map[transport.NodeKey]map[uint64][][]byte
	direct  []directMsg
	replies []chan error // submitters to answer once the round is durable
	commits []Commit

	lastProgress time.Time
	lastStatus   time.Time
	lastDeadline time.Time
	syncAsked    time.Time
	// rate samples the committed count once a second, for Status.TxRate.
	rate     [11]rateSample
	rateNext int

	submits chan submitReq
	status  atomic.Pointer[Status]
	stopped chan struct{}

	subsMu sync.Mutex
	subs   map[chan Commit]struct{}

	Counters Counters
}

type rateSample struct {
	at        time.Time
	committed uint64
}

type directMsg struct {
	to   transport.NodeKey
	tag  uint64
	data []byte
}

const (
	maxFuturePerPeer = 4096
	maxEarlyVotes    = 64 // heights ahead of the applied one
)

// New opens a node: it recovers its state from the store (replaying the
// journal of the epochs still open) but sends nothing until Run.
func New(cfg Config) (*Node, error) {
	set, err := cfg.Genesis.Validate()
	if err != nil {
		return nil, err
	}
	if cfg.Key == nil || cfg.Store == nil || cfg.App == nil || cfg.Transport == nil {
		return nil, errors.New("node: Key, Store, App and Transport are required")
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
	window := cfg.Genesis.Window
	if window == 0 {
		window = epoch.DefaultWindow
	}
	n := &Node{
		cfg: cfg, log: cfg.Logger,
		horizon:    2 * window,
		indexOf:    map[transport.NodeKey]protocol.NodeID{},
		chain:      chain.NewStore(store.WithPrefix(cfg.Store, "chain/")),
		j:          journal{kv: store.WithPrefix(cfg.Store, "node/")},
		collectors: map[uint64]*chain.Collector{},
		readyCerts: map[uint64]*chain.Certificate{},
		earlyVotes: map[uint64][]chain.Vote{},
		future:     map[transport.NodeKey][]futureMsg{},
		peerHeight: map[transport.NodeKey]uint64{},
		outbox:     map[transport.NodeKey]map[uint64][][]byte{},
		submits:    make(chan submitReq, 1024),
		stopped:    make(chan struct{}),
		subs:       map[chan Commit]struct{}{},
	}
	genesisEra := &era{start: 0, set: set, hash: set.Hash()}
	for _, g := range cfg.Genesis.Nodes {
		genesisEra.addrs = append(genesisEra.addrs, g.Addrs)
	}
	n.eras = []*era{genesisEra}
	if err := n.recover(); err != nil {
		return nil, err
	}
	n.publish()
	return n, nil
}

// recover rebuilds the node's state from its store.
func (n *Node) recover() error {
	seed, err := n.j.coinSeed()
	if err != nil {
		return err
	}
	n.coinSeed = seed
	stored, err := n.j.eras()
	if err != nil {
		return err
	}
	n.eras = append(n.eras, stored...)
	if n.certified, err = n.chain.Height(); err != nil {
		return err
	}
	if n.certified > 0 {
		b, _, err := n.chain.Get(n.certified)
		if err != nil {
			return err
		}
		n.certHeader = &b.Header
	}
	if n.ownBlocks, err = n.j.ownBlocks(); err != nil {
		return err
	}
	recorded := n.certified
	for h := range n.ownBlocks {
		if h <= n.certified {
			delete(n.ownBlocks, h)
			n.j.forgetOwn(h)
		}
	}
	for n.ownBlocks[recorded+1] != nil {
		recorded++
	}
	// The application syncs every block; bring it up to what is recorded.
	appHeight, _, err := n.cfg.App.Info()
	if err != nil {
		return fmt.Errorf("node: application info: %w", err)
	}
	if appHeight > recorded+1 {
		return fmt.Errorf("node: the application is at height %d but the node recorded only %d", appHeight, recorded)
	}
	for h := appHeight + 1; h <= recorded; h++ {
		b, err := n.blockAt(h)
		if err != nil {
			return err
		}
		res, err := n.cfg.App.ApplyBlock(app.Block{Height: h, Time: b.Time, Txs: b.Txs})
		if err != nil {
			return fmt.Errorf("node: re-applying block %d: %w", h, err)
		}
		if res.StateRoot != b.StateRoot {
			return fmt.Errorf("node: re-applying block %d gave another state root", h)
		}
		if res.NodeSet != nil {
			if err := n.learnNodeSet(h, res.NodeSet); err != nil {
				return err
			}
		}
	}
	n.applied = recorded
	recent, startTime, err := n.recentBlocks(recorded)
	if err != nil {
		return err
	}
	for _, txs := range recent {
		for _, tx := range txs {
			n.recentTxs.add(epoch.HashTx(tx))
		}
	}
	if len(recent) > 0 {
		b, err := n.blockAt(recorded)
		if err != nil {
			return err
		}
		n.lastHeader = &b.Header
	}
	cur := 0
	for i, e := range n.eras {
		if e.start <= recorded {
			cur = i
		}
	}
	if err := n.enterEra(cur, recorded, startTime, recent); err != nil {
		return err
	}
	// Votes for the blocks signed but not yet certified.
	for h := n.certified + 1; h <= recorded; h++ {
		n.startVoting(n.ownBlocks[h])
	}
	if n.engine == nil {
		n.log.Info("recovered", "certified", n.certified, "applied", n.applied, "member", false)
		return n.j.flush()
	}
	// Replay the journal of the open epochs.
	entries, err := n.j.replayLog(recorded)
	if err != nil {
		return err
	}
	n.j.dropLogBelow(recorded)
	n.engine.Hold()
	n.replaying = true
	for _, e := range entries {
		switch e.kind {
		case walProposal:
			st, err := n.engine.Restore(e.epoch, e.data)
			if err != nil {
				return fmt.Errorf("node: replaying the proposal of epoch %d: %w", e.epoch, err)
			}
			if err := n.handleStep(st); err != nil {
				return err
			}
		case walMessage, walBundle:
			var msgs []*epoch.Message
			if e.kind == walMessage {
				msg, err := epoch.UnmarshalMessage(e.data, n.params, epoch.DefaultMaxProposalSize)
				if err != nil {
					return fmt.Errorf("node: journal of epoch %d: %w", e.epoch, err)
				}
				msgs = []*epoch.Message{msg}
			} else {
				var err error
				if msgs, err = epoch.UnmarshalBundle(e.data, n.params, epoch.DefaultMaxProposalSize); err != nil {
					return fmt.Errorf("node: journal of epoch %d: %w", e.epoch, err)
				}
			}
			for _, msg := range msgs {
				if n.engine.Admit(e.from, msg) != epoch.Now {
					continue
				}
				if err := n.handleStep(n.engine.HandleMessage(e.from, msg)); err != nil {
					return err
				}
			}
		}
	}
	n.replaying = false
	if err := n.handleStep(n.engine.Release()); err != nil {
		return err
	}
	if err := n.retryFuture(); err != nil {
		return err
	}
	// Transactions accepted before the crash and not yet committed.
	pending, err := n.requeuePending()
	if err != nil {
		return err
	}
	n.log.Info("recovered", "certified", n.certified, "applied", n.applied, "replayed", len(entries), "pending", pending)
	return n.j.flush()
}

// blockAt returns the block at a height from the chain or the own records.
func (n *Node) blockAt(h uint64) (*chain.Block, error) {
	if b := n.ownBlocks[h]; b != nil {
		return b, nil
	}
	b, _, err := n.chain.Get(h)
	return b, err
}

// Run runs the loop until ctx is done or a fatal error (a disk failure, a
// divergence from a certified block) stops it.
func (n *Node) Run(ctx context.Context) error {
	defer close(n.stopped)
	ticker := time.NewTicker(n.cfg.Tick)
	defer ticker.Stop()
	n.lastProgress = n.cfg.Now()
	if err := n.flush(); err != nil {
		return err
	}
	for {
		var err error
		select {
		case <-ctx.Done():
			return n.flush()
		case in, ok := <-n.cfg.Transport.Receive():
			if !ok {
				if ctx.Err() != nil {
					return n.flush()
				}
				return errors.New("node: transport closed")
			}
			err = n.onInbound(in)
		case req := <-n.submits:
			err = n.onSubmit(req)
		case <-ticker.C:
			err = n.onTick()
		}
		if err == nil {
			err = n.retryFuture()
		}
		// Take what else is waiting, up to a bound, before the flush.
		for i := 0; i < 256 && err == nil; i++ {
			select {
			case in, ok := <-n.cfg.Transport.Receive():
				if !ok {
					if ctx.Err() != nil {
						return n.flush()
					}
					return errors.New("node: transport closed")
				}
				err = n.onInbound(in)
				if err == nil {
					err = n.retryFuture()
				}
				continue
			case req := <-n.submits:
				err = n.onSubmit(req)
				if err == nil {
					err = n.retryFuture()
				}
				continue
			default:
			}
			break
		}
		if err == nil {
			err = n.flush()
		}
		if err != nil {
			n.log.Error("stopping", "err", err)
			n.failReplies()
			return err
		}
	}
}

// flush makes the round durable, then sends its messages, answers its
// callers and tells subscribers of its commits.
func (n *Node) flush() error {
	if err := n.j.flush(); err != nil {
		return err
	}
	for to, byEpoch := range n.outbox {
		for ep, msgs := range byEpoch {
			n.send(to, ep, encodeConsensus(epoch.MarshalBundle(msgs)))
		}
		delete(n.outbox, to)
	}
	for _, d := range n.direct {
		n.send(d.to, d.tag, d.data)
	}
	n.direct = n.direct[:0]
	for _, r := range n.replies {
		r <- nil
	}
	n.replies = n.replies[:0]
	if len(n.commits) > 0 {
		n.notify(n.commits)
		n.commits = nil
	}
	n.publish()
	return nil
}

func (n *Node) send(to transport.NodeKey, tag uint64, data []byte) {
	if to == transport.NodeKey(n.cfg.Key.Public()) {
		return
	}
	if err := n.cfg.Transport.Send(to, tag, data); err != nil {
		n.Counters.SendFailures.Add(1)
		n.log.Debug("send failed", "to", to, "err", err)
	}
}

// broadcast sends to every linked peer: the current era's and the next's.
func (n *Node) broadcast(tag uint64, data []byte) {
	for _, k := range n.linked {
		n.direct = append(n.direct, directMsg{to: k, tag: tag, data: data})
	}
}

// failReplies tells the submitters of a round that could not be made
// durable that their transactions were not taken.
func (n *Node) failReplies() {
	for _, r := range n.replies {
		r <- ErrStopped
	}
	n.replies = nil
}

// handleStep journals the step's proposals, queues its messages and applies
// its batches.
func (n *Node) handleStep(st epoch.Step) error {
	if len(st.Faults) > 0 {
		n.Counters.Faults.Add(uint64(len(st.Faults)))
		for _, f := range st.Faults {
			n.log.Debug("fault", "peer", f.Node, "kind", f.Kind)
		}
	}
	for _, m := range st.Messages {
		data := m.Body.Marshal()
		for i, key := range n.peers {
			if m.To.Includes(n.self, protocol.NodeID(i)) {
				byEpoch := n.outbox[key]
				if byEpoch == nil {
					byEpoch = map[uint64][][]byte{}
					n.outbox[key] = byEpoch
				}
				byEpoch[m.Body.Epoch] = append(byEpoch[m.Body.Epoch], data)
			}
		}
	}
	for _, o := range st.Output {
		switch {
		case o.Proposal != nil:
			if !n.replaying {
				n.j.proposal(o.Proposal)
			}
		case o.Batch != nil:
			if err := n.onBatch(o.Batch); err != nil {
				return err
			}
		}
	}
	return nil
}

// onBatch applies an epoch's batch as the next block and signs it.
func (n *Node) onBatch(b *epoch.Batch) error {
	height := b.Epoch + 1
	if height != n.applied+1 {
		return fmt.Errorf("node: batch of epoch %d after block %d", b.Epoch, n.applied)
	}
	root, results, err := n.applyToApp(height, b.Time, b.Txs)
	if err != nil {
		return err
	}
	blk := &chain.Block{Header: chain.Header{
		ChainID: n.cfg.Genesis.ChainID, Height: height, Epoch: b.Epoch, Time: b.Time,
		BatchHash: chain.BatchHash(b.Txs), StateRoot: root, NextNodes: n.nextNodes(height),
	}, Txs: b.Txs}
	if n.lastHeader != nil {
		blk.Prev = n.lastHeader.Hash()
	}
	if old := n.ownBlocks[height]; old != nil && old.Hash() != blk.Hash() {
		return fmt.Errorf("node: refusing to sign a second block at height %d", height)
	}
	n.j.own(blk)
	if err := n.adoptBlock(blk, b.Hashes, results); err != nil {
		return err
	}
	n.startVoting(blk)
	return n.maybeSwitch()
}

// adoptBlock makes a block the application has applied the node's latest:
// its epoch's journal is dropped, its transactions indexed, and the records
// made durable at once, before the application applies another, so that it
// is never more than one block ahead of them.
func (n *Node) adoptBlock(blk *chain.Block, hashes []epoch.TxHash, results []app.TxResult) error {
	n.ownBlocks[blk.Height] = blk
	n.j.forgetEpochs(blk.Epoch + 1)
	hashes = epoch.HashAll(blk.Txs, hashes)
	for _, h := range hashes {
		n.j.committed(h, blk.Height)
		n.recentTxs.add(h)
	}
	n.j.mustSync = true
	if err := n.j.flush(); err != nil {
		return err
	}
	n.Counters.Committed.Add(uint64(len(blk.Txs)))
	n.applied, n.lastHeader = blk.Height, &blk.Header
	n.lastProgress = n.cfg.Now()
	n.commits = append(n.commits, Commit{Height: blk.Height, Hash: blk.Hash(), Time: blk.Time, TxHashes: hashes, Results: results})
	n.moved = true
	return nil
}

// applyToApp applies the block at height to the application, unless the
// application already did before a crash (it syncs each block, the node
// records the block just after): then its root is the one it reports.
func (n *Node) applyToApp(height uint64, time int64, txs [][]byte) ([32]byte, []app.TxResult, error) {
	appHeight, appRoot, err := n.cfg.App.Info()
	if err != nil {
		return appRoot, nil, fmt.Errorf("node: application info: %w", err)
	}
	switch appHeight {
	case height:
		// Applied before a crash: the node set it may have changed is
		// asked again.
		if r, ok := n.cfg.App.(app.NodeSetReporter); ok {
			nodes, err := r.NodeSetChange(height)
			if err != nil {
				return appRoot, nil, fmt.Errorf("node: block %d's node set: %w", height, err)
			}
			if nodes != nil {
				if err := n.learnNodeSet(height, nodes); err != nil {
					return appRoot, nil, err
				}
			}
		}
		return appRoot, nil, nil
	case height - 1:
		res, err := n.cfg.App.ApplyBlock(app.Block{Height: height, Time: time, Txs: txs})
		if err != nil {
			return appRoot, nil, fmt.Errorf("node: applying block %d: %w", height, err)
		}
		if res.NodeSet != nil {
			if err := n.learnNodeSet(height, res.NodeSet); err != nil {
				return res.StateRoot, nil, err
			}
		}
		return res.StateRoot, res.Txs, nil
	}
	return appRoot, nil, fmt.Errorf("node: the application is at height %d, block %d is next", appHeight, height)
}

// startVoting signs a block, sends the vote and collects the others'.
func (n *Node) startVoting(blk *chain.Block) {
	set := n.setFor(blk.Height)
	col := chain.NewCollector(blk.Header, set)
	n.collectors[blk.Height] = col
	if self, ok := set.Index(n.cfg.Key.Public()); ok {
		vote := chain.SignHeader(n.cfg.Key, self, &blk.Header)
		n.broadcast(blk.Epoch, encodeVote(voteMsg{Height: blk.Height, Vote: vote}))
		n.addVote(blk.Height, vote)
	}
	for _, v := range n.earlyVotes[blk.Height] {
		n.addVote(blk.Height, v)
	}
	delete(n.earlyVotes, blk.Height)
}

func (n *Node) addVote(height uint64, v chain.Vote) {
	col := n.collectors[height]
	if col == nil {
		return
	}
	cert, err := col.Add(v)
	if err != nil {
		n.Counters.VotesRejected.Add(1)
		n.log.Debug("vote rejected", "height", height, "err", err)
		return
	}
	switch {
	case cert == nil:
	case height == n.certified+1:
		n.certify(height, cert)
	case height > n.certified+1:
		n.readyCerts[height] = cert
	}
}

// certify stores a block with its certificate, then any following blocks
// whose certificates were waiting.
func (n *Node) certify(height uint64, cert *chain.Certificate) {
	blk := n.ownBlocks[height]
	if err := n.chain.Put(blk, cert); err != nil {
		n.log.Error("storing a certified block", "height", height, "err", err)
		return
	}
	n.certified, n.certHeader = height, &blk.Header
	delete(n.ownBlocks, height)
	delete(n.collectors, height)
	n.j.forgetOwn(height)
	// Every honest node can adopt this block now: the epoch's agreements
	// need not run on for the others.
	if n.engine != nil {
		n.engine.Forget(blk.Epoch)
	}
	// A peer more than a horizon behind catches up from certified blocks,
	// not from the messages of these epochs: stop re-sending them.
	if keep := uint64(n.horizon); blk.Epoch > keep {
		n.cfg.Transport.Forget(blk.Epoch - keep)
	}
	delete(n.readyCerts, height)
	// The next block's certificate may be waiting for this one.
	if c := n.readyCerts[height+1]; c != nil {
		n.certify(height+1, c)
	}
}

// onInbound handles one message from a peer.
func (n *Node) onInbound(in transport.Inbound) error {
	if !n.isLinked[in.From] {
		n.Counters.Rejected.Add(1)
		return nil
	}
	if kind, _, err := kindOf(in.Data); err == nil && kind == kindConsensus && n.laterEra(in.From, in.Tag) {
		n.buffer(in.From, futureMsg{epoch: in.Tag, data: in.Data, bundle: true})
		return nil
	}
	msg, err := decodeMessage(in.Data, n.params)
	if err != nil {
		if msg.kind == kindVote {
			n.Counters.VotesRejected.Add(1)
		} else {
			n.Counters.Rejected.Add(1)
		}
		n.log.Debug("bad message", "from", in.From, "err", err)
		return nil
	}
	switch msg.kind {
	case kindConsensus:
		from, ok := n.indexOf[in.From]
		if !ok {
			n.Counters.Rejected.Add(1)
			return nil
		}
		// Every message must be handled now: one its agreement refuses for
		// later goes the way of onConsensus.
		now := n.engine != nil && oneEpoch(msg.bundle)
		for _, m := range msg.bundle {
			now = now && n.engine.Admit(from, m) == epoch.Now
		}
		if now {
			// The usual case: one epoch's messages, all handled now,
			// journaled as they came, once.
			_, payload, _ := kindOf(in.Data)
			n.j.bundle(msg.bundle[0].Epoch, from, payload)
			eng := n.engine
			for _, m := range msg.bundle {
				if n.engine != eng {
					break // the era ended within the bundle: the rest is stale
				}
				n.Counters.ConsensusMessages.Add(1)
				if err := n.handleStep(eng.HandleMessage(from, m)); err != nil {
					return err
				}
			}
			return nil
		}
		for _, m := range msg.bundle {
			if err := n.onConsensus(in.From, from, m, nil); err != nil {
				return err
			}
		}
	case kindVote:
		// The signer is the sender's index in the set of the vote's block.
		if i, ok := n.setFor(max(msg.vote.Height, 1)).Index(crypto.PublicKey(in.From)); !ok || msg.vote.Vote.Signer != uint16(i) {
			n.Counters.VotesRejected.Add(1)
			return nil
		}
		n.onVote(msg.vote)
	case kindStatus:
		n.peerHeight[in.From] = max(n.peerHeight[in.From], msg.height)
	case kindSyncRequest:
		n.onSyncRequest(in.From, msg.request)
	case kindSyncResponse:
		return n.onSyncResponse(in.From, msg.blocks)
	}
	return nil
}

// oneEpoch says whether a bundle's messages are all of one epoch.
func oneEpoch(msgs []*epoch.Message) bool {
	for _, m := range msgs[min(1, len(msgs)):] {
		if m.Epoch != msgs[0].Epoch {
			return false
		}
	}
	return len(msgs) > 0
}

// buffer keeps a message for later, bounded per peer.
func (n *Node) buffer(key transport.NodeKey, f futureMsg) {
	if len(n.future[key]) >= maxFuturePerPeer {
		n.Counters.FutureDropped.Add(1)
		return
	}
	n.future[key] = append(n.future[key], f)
}

// onConsensus handles one epoch message from the current era's node from:
// now (journaled first), later (buffered, bounded), or never.
func (n *Node) onConsensus(key transport.NodeKey, from protocol.NodeID, m *epoch.Message, raw []byte) error {
	if n.engine == nil {
		return nil
	}
	switch n.engine.Admit(from, m) {
	case epoch.Never:
		return nil
	case epoch.Later:
		if raw == nil {
			raw = m.Marshal()
		}
		n.buffer(key, futureMsg{epoch: m.Epoch, data: raw})
		return nil
	}
	if raw == nil {
		raw = m.Marshal()
	}
	n.j.message(m.Epoch, from, raw)
	n.Counters.ConsensusMessages.Add(1)
	return n.handleStep(n.engine.HandleMessage(from, m))
}

// retryFuture offers the buffered messages again while the epoch moves.
func (n *Node) retryFuture() error {
	for n.moved {
		n.moved = false
		if err := n.retryOnce(); err != nil {
			return err
		}
	}
	return nil
}

func (n *Node) retryOnce() error {
	for key, buf := range n.future {
		if len(buf) == 0 {
			continue
		}
		delete(n.future, key)
		for i, f := range buf {
			if n.laterEra(key, f.epoch) {
				if n.isLinked[key] {
					n.buffer(key, f)
				}
				continue
			}
			from, ok := n.indexOf[key]
			if !ok {
				continue
			}
			var msgs []*epoch.Message
			if f.bundle {
				msg, err := decodeMessage(f.data, n.params)
				if err != nil || msg.kind != kindConsensus {
					n.Counters.Rejected.Add(1)
					continue
				}
				msgs = msg.bundle
			} else {
				m, err := epoch.UnmarshalMessage(f.data, n.params, epoch.DefaultMaxProposalSize)
				if err != nil {
					continue
				}
				msgs = []*epoch.Message{m}
			}
			for _, m := range msgs {
				raw := f.data
				if f.bundle {
					raw = nil
				}
				if err := n.onConsensus(key, from, m, raw); err != nil {
					// Keep what was not offered yet.
					n.future[key] = append(n.future[key], buf[i+1:]...)
					return err
				}
			}
		}
	}
	return nil
}

func (n *Node) onVote(v voteMsg) {
	switch {
	case v.Height <= n.certified:
	case n.collectors[v.Height] != nil:
		n.addVote(v.Height, v.Vote)
	case v.Height > n.applied && v.Height <= n.applied+maxEarlyVotes:
		if len(n.earlyVotes[v.Height]) < n.set.N() {
			n.earlyVotes[v.Height] = append(n.earlyVotes[v.Height], v.Vote)
		}
	default:
		n.Counters.VotesDropped.Add(1)
	}
}

// onSubmit takes a client's transaction.
func (n *Node) onSubmit(req submitReq) error {
	h := epoch.HashTx(req.tx)
	reject := func(err error) error {
		n.Counters.SubmitsRejected.Add(1)
		req.reply <- err
		return nil
	}
	if n.recentTxs.has(h) {
		return reject(fmt.Errorf("%w: committed already", ErrDuplicate))
	}
	if n.engine == nil {
		return reject(ErrNotMember)
	}
	st, err := n.engine.HandleInput(epoch.Input{Tx: req.tx})
	if err != nil {
		if errors.Is(err, epoch.ErrDuplicate) {
			err = fmt.Errorf("%w: pending already", ErrDuplicate)
		}
		return reject(err)
	}
	n.j.pending(h, req.tx)
	n.replies = append(n.replies, req.reply)
	return n.handleStep(st)
}

// onTick feeds the clock, tells peers the node's height, and starts a
// catch-up when the node is behind.
func (n *Node) onTick() error {
	now := n.cfg.Now()
	// Messages refused for later are offered again on every tick too, not
	// only when the epoch moves: an agreement may refuse a far round's
	// message within a running epoch, and take it once others progressed.
	if len(n.future) > 0 {
		n.moved = true
	}
	if n.engine != nil {
		st, err := n.engine.HandleInput(epoch.Input{Tick: true, Now: now.UnixMilli(), Drive: n.due(now)})
		if err != nil {
			return err
		}
		if err := n.handleStep(st); err != nil {
			return err
		}
	}
	if last := n.rate[(n.rateNext+len(n.rate)-1)%len(n.rate)]; now.Sub(last.at) >= time.Second {
		n.rate[n.rateNext] = rateSample{at: now, committed: n.Counters.Committed.Load()}
		n.rateNext = (n.rateNext + 1) % len(n.rate)
	}
	if now.Sub(n.lastStatus) >= n.cfg.StatusEvery {
		n.lastStatus = now
		n.broadcast(n.applied, encodeStatus(n.certified))
	}
	n.maybeSync(now)
	return nil
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

// Submit hands a transaction to the node. It returns once the transaction is
// durably pending (nil), or with the reason it was refused.
//
// The application checks the transaction (CheckTx) in the caller's
// goroutine, so that callers check in parallel and the loop does not.
func (n *Node) Submit(ctx context.Context, tx []byte) error {
	if err := n.cfg.App.CheckTx(tx); err != nil {
		n.Counters.SubmitsRejected.Add(1)
		return err
	}
	req := submitReq{tx: tx, reply: make(chan error, 1)}
	select {
	case n.submits <- req:
	case <-n.stopped:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	default:
		return ErrBusy
	}
	select {
	case err := <-req.reply:
		return err
	case <-n.stopped:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
}

// SubmitBatch hands many transactions to the node and returns, for each,
// nil once it is durably pending or the reason it was refused. It waits
// for room in the node's queue rather than answering ErrBusy.
func (n *Node) SubmitBatch(ctx context.Context, txs [][]byte) []error {
	errs := make([]error, len(txs))
	reqs := make([]submitReq, 0, len(txs))
	for i, tx := range txs {
		if errs[i] = n.cfg.App.CheckTx(tx); errs[i] != nil {
			n.Counters.SubmitsRejected.Add(1)
			continue
		}
		req := submitReq{tx: tx, reply: make(chan error, 1)}
		select {
		case n.submits <- req:
			reqs = append(reqs, req)
		case <-n.stopped:
			errs[i] = ErrStopped
		case <-ctx.Done():
			errs[i] = ctx.Err()
		}
	}
	k := 0
	for i := range txs {
		if errs[i] != nil {
			continue
		}
		select {
		case errs[i] = <-reqs[k].reply:
		case <-n.stopped:
			errs[i] = ErrStopped
		case <-ctx.Done():
			errs[i] = ctx.Err()
		}
		k++
	}
	return errs
}

// TxStatus reports whether a transaction is committed (and at which
// height) or pending.
func (n *Node) TxStatus(h epoch.TxHash) (height uint64, committed, pending bool, err error) {
	height, committed, err = n.j.txHeight(h)
	if err != nil || committed {
		return height, committed, false, err
	}
	pending, err = n.j.isPending(h)
	return 0, false, pending, err
}

// Block returns a certified block and its certificate.
func (n *Node) Block(height uint64) (*chain.Block, *chain.Certificate, error) {
	return n.chain.Get(height)
}

// NodeSet returns the node set with a hash (NodeSet.Hash), if the node
// knows it: the sets a light client must be given when a header names one.
//
// It reads the eras, which only the loop changes: an era is appended, never
// modified, and the slice is read under no lock, so the API sees a prefix
// of it.
func (n *Node) NodeSet(hash chain.Hash) (chain.NodeSet, bool) {
	n.erasMu.RLock()
	defer n.erasMu.RUnlock()
	for _, e := range n.eras {
		if e.hash == hash {
			return e.set, true
		}
	}
	return chain.NodeSet{}, false
}

// GenesisNodeSet is the node set of the genesis, which certifies block 1.
func (n *Node) GenesisNodeSet() chain.NodeSet {
	n.erasMu.RLock()
	defer n.erasMu.RUnlock()
	return n.eras[0].set
}

// Status returns the latest snapshot.
func (n *Node) Status() Status { return *n.status.Load() }

func (n *Node) publish() {
	var st epoch.Stats
	ep := n.applied
	if n.engine != nil {
		st, ep = n.engine.Stats(), n.engine.Next()
	}
	peers := 0
	for _, p := range n.cfg.Transport.Stats().Peers {
		if p.Connected {
			peers++
		}
	}
	node := -1
	if n.engine != nil {
		node = int(n.self)
	}
	var rate float64
	newest := n.rate[(n.rateNext+len(n.rate)-1)%len(n.rate)]
	if oldest := n.rate[n.rateNext]; !oldest.at.IsZero() && newest.at.After(oldest.at) {
		rate = float64(newest.committed-oldest.committed) / newest.at.Sub(oldest.at).Seconds()
	} else if first := n.rate[0]; !first.at.IsZero() && newest.at.After(first.at) {
		rate = float64(newest.committed-first.committed) / newest.at.Sub(first.at).Seconds()
	}
	n.status.Store(&Status{
		ChainID: n.cfg.Genesis.ChainID, Node: node, Key: n.cfg.Key.Public().String(),
		Height: n.applied, Certified: n.certified, Epoch: ep, Pending: st.Pending, Peers: peers,
		Synced: n.Counters.BlocksFetched.Load(), TxRate: rate,
		Member: n.engine != nil, Nodes: n.set.N(), Era: n.cur,
	})
}

// Subscribe returns a channel of the blocks the node applies from now on.
// A subscriber that does not keep up misses commits rather than slowing the
// node; cancel releases the channel.
func (n *Node) Subscribe(buffer int) (<-chan Commit, func()) {
	ch := make(chan Commit, max(1, buffer))
	n.subsMu.Lock()
	n.subs[ch] = struct{}{}
	n.subsMu.Unlock()
	return ch, func() {
		n.subsMu.Lock()
		defer n.subsMu.Unlock()
		if _, ok := n.subs[ch]; ok {
			delete(n.subs, ch)
			close(ch)
		}
	}
}

func (n *Node) notify(commits []Commit) {
	n.subsMu.Lock()
	defer n.subsMu.Unlock()
	for ch := range n.subs {
		for _, c := range commits {
			select {
			case ch <- c:
			default:
			}
		}
	}
}
