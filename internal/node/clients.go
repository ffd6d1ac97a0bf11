package node

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/mass-consensus/mass/internal/app"
	"github.com/mass-consensus/mass/internal/chain"
	"github.com/mass-consensus/mass/internal/ledger"
	"github.com/mass-consensus/mass/internal/protocol/epoch"
)

// Submit hands a transaction to the node. It returns once the transaction is
// durably pending (nil), or with the reason it was refused.
//
// The application checks it (CheckTx) in the caller's goroutine, so that
// callers check in parallel and the loop does not. A transaction the node
// committed or holds as pending is refused with ErrDuplicate, whatever the
// application says of it (see duplicate), so that a client retrying after
// a timeout learns that it is in.
func (n *Node) Submit(ctx context.Context, tx []byte) error {
	if err := n.refusing(); err != nil {
		return err
	}
	if err := n.duplicate(tx, n.cfg.App.CheckTx(tx)); err != nil {
		n.Counters.SubmitsRejected.Add(1)
		return err
	}
	req := newSubmitReq([][]byte{tx}, []error{nil})
	select {
	case n.submits <- req:
	case <-n.stopped:
		return n.stoppedErr()
	case <-n.failed:
		return n.stoppedErr()
	case <-ctx.Done():
		return ctx.Err()
	default:
		return ErrBusy
	}
	return n.await(ctx, req)[0]
}

func newSubmitReq(txs [][]byte, errs []error) submitReq {
	return submitReq{txs: txs, errs: errs, done: make(chan error, 1)}
}

// await returns the answers to a request, once the loop made its
// transactions durable (or could not).
func (n *Node) await(ctx context.Context, req submitReq) []error {
	var err error
	select {
	case err = <-req.done:
	case <-n.stopped:
		err = n.stoppedErr()
	case <-n.failed:
		err = n.stoppedErr()
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err == nil {
		return req.errs // the loop's answers: it is done with them
	}
	errs := make([]error, len(req.errs))
	for i := range errs {
		errs[i] = err
	}
	return errs
}

// SubmitBatch hands many transactions to the node and returns, for each,
// nil once it is durably pending or the reason it was refused (a duplicate
// told as for Submit). It waits for room in the node's queue rather than
// answering ErrBusy.
//
// The batch travels to the loop as one request, answered once.
func (n *Node) SubmitBatch(ctx context.Context, txs [][]byte) []error {
	if err := n.refusing(); err != nil {
		return answerAll(make([]error, len(txs)), err)
	}
	checked := n.checkAll(txs)
	for _, err := range checked {
		if err != nil {
			n.Counters.SubmitsRejected.Add(1)
		}
	}
	req := newSubmitReq(txs, slices.Clone(checked))
	select {
	case n.submits <- req:
	case <-n.stopped:
		return answerAll(checked, n.stoppedErr())
	case <-n.failed:
		return answerAll(checked, n.stoppedErr())
	case <-ctx.Done():
		return answerAll(checked, ctx.Err())
	}
	answers := n.await(ctx, req)
	for i, err := range checked {
		if err != nil {
			answers[i] = err // refused by the application, whatever else
		}
	}
	return answers
}

// answerAll answers err for every transaction not refused already.
func answerAll(checked []error, err error) []error {
	out := slices.Clone(checked)
	for i := range out {
		if out[i] == nil {
			out[i] = err
		}
	}
	return out
}

// checkAll checks transactions with the application, as one batch if it
// can (app.BatchChecker), and tells duplicates from its refusals.
func (n *Node) checkAll(txs [][]byte) []error {
	var errs []error
	if bc, ok := n.cfg.App.(app.BatchChecker); ok {
		errs = bc.CheckTxs(txs)
	} else {
		errs = make([]error, len(txs))
		for i, tx := range txs {
			errs[i] = n.cfg.App.CheckTx(tx)
		}
	}
	for i, tx := range txs {
		errs[i] = n.duplicate(tx, errs[i])
	}
	return errs
}

// duplicate returns the application's refusal of a transaction (appErr),
// or ErrDuplicate if the node committed it (its transaction index, which
// TxStatus reads: every committed transaction, not only the latest) or
// holds it as pending: a replay the application refuses (a nonce used) is
// a duplicate to the client. The index is read only for a refused
// transaction, so that taking one costs no read of the store: one the
// application accepts is refused by the ledger if it is pending or among
// its latest committed (ledger.RecentTxs).
func (n *Node) duplicate(tx []byte, appErr error) error {
	if appErr == nil {
		return nil
	}
	height, committed, pending, err := n.TxStatus(epoch.HashTx(tx))
	switch {
	case err != nil:
		return fmt.Errorf("node: looking the transaction up: %w", err)
	case committed:
		return fmt.Errorf("%w: committed at height %d", ErrDuplicate, height)
	case pending:
		return fmt.Errorf("%w: pending already", ErrDuplicate)
	}
	return appErr
}

// TxStatus reports whether a transaction is committed (and at which
// height) or pending.
func (n *Node) TxStatus(h epoch.TxHash) (height uint64, committed, pending bool, err error) {
	height, committed, err = ledger.TxHeight(n.cfg.Store, h)
	if err != nil || committed {
		return height, committed, false, err
	}
	n.pendingMu.Lock()
	_, pending = n.pending[h]
	n.pendingMu.Unlock()
	return 0, false, pending, nil
}

// trackPending notes the transactions taken and those committed.
func (n *Node) trackPending(taken []epoch.TxHash, commits []ledger.Commit) {
	if len(taken) == 0 && len(commits) == 0 {
		return
	}
	n.pendingMu.Lock()
	defer n.pendingMu.Unlock()
	for _, h := range taken {
		n.pending[h] = struct{}{}
	}
	for _, c := range commits {
		for _, h := range c.TxHashes {
			delete(n.pending, h)
		}
	}
}

// Block returns a certified block and its certificate.
func (n *Node) Block(height uint64) (*chain.Block, *chain.Certificate, error) {
	return n.chain.Get(height)
}

// NodeSet returns the node set with a hash (NodeSet.Hash), if the node
// knows it: the sets a light client must be given when a header names one.
func (n *Node) NodeSet(hash chain.Hash) (chain.NodeSet, bool) {
	n.setsMu.RLock()
	defer n.setsMu.RUnlock()
	for _, s := range n.sets {
		if s.Hash() == hash {
			return s, true
		}
	}
	return chain.NodeSet{}, false
}

// GenesisNodeSet is the node set of the genesis, which certifies block 1.
func (n *Node) GenesisNodeSet() chain.NodeSet {
	n.setsMu.RLock()
	defer n.setsMu.RUnlock()
	return n.sets[0]
}

// updateSets publishes the node sets the ledger knows, for the readers.
func (n *Node) updateSets() {
	sets := n.ledger.NodeSets()
	n.setsMu.Lock()
	n.sets = sets
	n.setsMu.Unlock()
}

// Status returns the latest snapshot.
func (n *Node) Status() Status { return *n.status.Load() }

func (n *Node) publish() {
	ls, ks := n.ledger.Status(), n.ledger.Keys()
	peers := 0
	for _, p := range n.cfg.Transport.Stats().Peers {
		if p.Connected {
			peers++
		}
	}
	st := &Status{
		ChainID: n.cfg.Genesis.ChainID, Node: ls.Self, Key: n.cfg.Key.Public().String(),
		Height: ls.Applied, Certified: ls.Certified, Epoch: ls.Epoch, Pending: ls.Pending, Peers: peers,
		Synced: n.Counters.BlocksFetched.Load(), TxRate: n.rate.rate(),
		Member: ls.Member, Nodes: ls.Nodes, Era: ls.Era,
		Coin: ks.Coin, KeysAt: ks.ReadyAt, CoinFrom: ks.CoinFrom, KeyParts: ks.Parts, KeyDealers: ks.Dealers,
		GroupKey: ks.GroupKey,
	}
	n.status.Store(st)
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

// notify tells subscribers of commits, with the application's results.
func (n *Node) notify(commits []ledger.Commit) {
	n.subsMu.Lock()
	defer n.subsMu.Unlock()
	for _, c := range commits {
		a := n.results[c.Height]
		out := Commit{Height: c.Height, Hash: c.Hash, Time: c.Time, TxHashes: c.TxHashes, Results: a.txs, Apply: a.took}
		for h := range n.results {
			if h <= c.Height {
				delete(n.results, h) // with those of blocks re-applied after a restart, which no commit tells
			}
		}
		for ch := range n.subs {
			select {
			case ch <- out:
			default:
			}
		}
	}
}

// rateMeter samples the committed count once a second, for Status.TxRate.
type rateMeter struct {
	samples [11]rateSample
	next    int
}

type rateSample struct {
	at        time.Time
	committed uint64
}

func (m *rateMeter) sample(now time.Time, committed uint64) {
	if last := m.samples[(m.next+len(m.samples)-1)%len(m.samples)]; now.Sub(last.at) >= time.Second {
		m.samples[m.next] = rateSample{at: now, committed: committed}
		m.next = (m.next + 1) % len(m.samples)
	}
}

// rate is the transactions committed per second over the samples.
func (m *rateMeter) rate() float64 {
	newest := m.samples[(m.next+len(m.samples)-1)%len(m.samples)]
	if oldest := m.samples[m.next]; !oldest.at.IsZero() && newest.at.After(oldest.at) {
		return float64(newest.committed-oldest.committed) / newest.at.Sub(oldest.at).Seconds()
	}
	if first := m.samples[0]; !first.at.IsZero() && newest.at.After(first.at) {
		return float64(newest.committed-first.committed) / newest.at.Sub(first.at).Seconds()
	}
	return 0
}
