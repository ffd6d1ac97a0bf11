package node

import (
	cryptorand "crypto/rand"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/mass-consensus/mass/internal/app"
	"github.com/mass-consensus/mass/internal/chain"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/protocol"
	"github.com/mass-consensus/mass/internal/protocol/acs"
	"github.com/mass-consensus/mass/internal/protocol/epoch"
	"github.com/mass-consensus/mass/internal/store"
	"github.com/mass-consensus/mass/internal/transport"
	"github.com/mass-consensus/mass/internal/wire"
)

// An era is a node set and the epochs it runs: from its start to the next
// era's start. The genesis era starts at epoch 0. When the application
// reports that block h changed the node set, the new era starts at epoch
// h + horizon: no honest node can have touched an epoch that far ahead
// before it applied block h (a node handles messages only within a horizon
// of the lowest epoch it has not output, and block h is epoch h−1's
// output), so every node switches at the same epoch with the same engine
// state. Block h + horizon, the old set's last, names the new set in its
// header's NextNodes; the new set certifies the blocks from h + horizon + 1.
type era struct {
	start uint64 // first epoch; block start+1 is the era's first block
	set   chain.NodeSet
	hash  chain.Hash
	addrs [][]string
}

// recEra + start epoch: an era learned from a block (genesis's is not stored).
const recEra = 'e'

// maxEraAddrs bounds the addresses of a node, and maxAddrLen one address.
const (
	maxEraAddrs = 16
	maxAddrLen  = 1024
)

func (e *era) marshal() []byte {
	w := wire.NewWriter(16 + 64*e.set.N())
	w.U32(uint32(e.set.N()))
	for i, k := range e.set.Keys {
		w.Raw(k[:])
		w.U8(uint8(len(e.addrs[i])))
		for _, a := range e.addrs[i] {
			w.Bytes([]byte(a))
		}
	}
	return w.Finish()
}

func unmarshalEra(start uint64, b []byte) (*era, error) {
	r := wire.NewReader(b)
	n := r.Count(chain.MaxVotes, "nodes")
	e := &era{start: start}
	for i := 0; i < n && r.Err() == nil; i++ {
		var k crypto.PublicKey
		copy(k[:], r.Raw(crypto.PublicKeySize, "key"))
		var addrs []string
		m := int(r.U8("addresses"))
		if m > maxEraAddrs {
			return nil, fmt.Errorf("node: era record: %d addresses", m)
		}
		for j := 0; j < m && r.Err() == nil; j++ {
			addrs = append(addrs, string(r.Bytes(maxAddrLen, "address")))
		}
		e.set.Keys = append(e.set.Keys, k)
		e.addrs = append(e.addrs, addrs)
	}
	if err := r.Done(); err != nil {
		return nil, fmt.Errorf("node: era record of epoch %d: %w", start, err)
	}
	if n == 0 {
		return nil, fmt.Errorf("node: era record of epoch %d has no nodes", start)
	}
	e.hash = e.set.Hash()
	return e, nil
}

// eras reads the stored eras, in order.
func (j *journal) eras() ([]*era, error) {
	var out []*era
	var bad error
	err := j.kv.Scan([]byte{recEra}, store.PrefixEnd([]byte{recEra}), func(k, v []byte) bool {
		if len(k) != 9 {
			bad = fmt.Errorf("node: malformed era key %x", k)
			return false
		}
		e, err := unmarshalEra(u64of(k[1:]), v)
		if err != nil {
			bad = err
			return false
		}
		out = append(out, e)
		return true
	})
	if err == nil {
		err = bad
	}
	return out, err
}

func u64of(b []byte) uint64 {
	var v uint64
	for _, x := range b {
		v = v<<8 | uint64(x)
	}
	return v
}

func (j *journal) era(e *era) { j.batch.Put(key(recEra, u64(e.start)), e.marshal()) }

// eraOf returns the era that runs an epoch.
func (n *Node) eraOf(ep uint64) *era {
	for i := len(n.eras) - 1; i > 0; i-- {
		if n.eras[i].start <= ep {
			return n.eras[i]
		}
	}
	return n.eras[0]
}

// setFor returns the node set that certifies block height.
func (n *Node) setFor(height uint64) chain.NodeSet { return n.eraOf(height - 1).set }

// nextNodes is the NextNodes of block height's header: the hash of the
// set that certifies the block after it.
func (n *Node) nextNodes(height uint64) chain.Hash { return n.eraOf(height).hash }

// nextStart returns the start of the era after the current one, if any.
func (n *Node) nextStart() (uint64, bool) {
	if n.cur+1 < len(n.eras) {
		return n.eras[n.cur+1].start, true
	}
	return 0, false
}

// learnNodeSet records that block height changed the node set to nodes:
// a new era from epoch height + horizon. Learning the same change again
// (a block re-applied after a crash) does nothing.
func (n *Node) learnNodeSet(height uint64, nodes []app.NodeInfo) error {
	start := height + uint64(n.horizon)
	last := n.eras[len(n.eras)-1]
	if last.start >= start {
		return nil // known already
	}
	if len(nodes) == 0 || len(nodes) > chain.MaxVotes {
		return fmt.Errorf("node: block %d sets a node set of %d nodes", height, len(nodes))
	}
	e := &era{start: start}
	for _, nd := range nodes {
		k := crypto.PublicKey(nd.Key)
		if _, dup := e.set.Index(k); dup {
			return fmt.Errorf("node: block %d sets a node set with a key twice", height)
		}
		e.set.Keys = append(e.set.Keys, k)
		e.addrs = append(e.addrs, slices.Clone(nd.Addrs))
	}
	e.hash = e.set.Hash()
	n.erasMu.Lock()
	n.eras = append(n.eras, e)
	n.erasMu.Unlock()
	n.j.era(e)
	if n.engine != nil && len(n.eras) == n.cur+2 {
		if err := n.engine.SetStop(start); err != nil {
			return fmt.Errorf("node: a new node set from epoch %d: %w", start, err)
		}
	}
	n.log.Info("the node set changes", "decided_at", height, "from_epoch", start, "nodes", e.set.N(), "member", n.memberOf(e) >= 0)
	return n.linkPeers()
}

// memberOf returns this node's index in an era's set, or -1.
func (n *Node) memberOf(e *era) int {
	if i, ok := e.set.Index(n.cfg.Key.Public()); ok {
		return i
	}
	return -1
}

// linkPeers tells the transport the nodes it may talk to: those of the
// current era and of the eras decided after it.
func (n *Node) linkPeers() error {
	seen := map[transport.NodeKey]bool{}
	var peers []transport.Peer
	n.linked = n.linked[:0]
	n.isLinked = make(map[transport.NodeKey]bool)
	for _, e := range n.eras[n.cur:] {
		for i, k := range e.set.Keys {
			tk := transport.NodeKey(k)
			if seen[tk] {
				continue
			}
			seen[tk] = true
			peers = append(peers, transport.Peer{Key: tk, Addrs: e.addrs[i]})
			if k != n.cfg.Key.Public() {
				n.linked = append(n.linked, tk)
				n.isLinked[tk] = true
			}
		}
	}
	if err := n.cfg.Transport.SetPeers(peers); err != nil {
		return fmt.Errorf("node: %w", err)
	}
	return nil
}

// enterEra makes era i current: its set, its indices, and its engine (nil
// if this node is not a member), starting at the era's first epoch or at
// start, whichever is later, with the time of the block before start and
// the transactions of recent blocks (to drop any committed again).
func (n *Node) enterEra(i int, start uint64, startTime int64, recent [][][]byte) error {
	e := n.eras[i]
	n.cur = i
	n.set, n.setHash = e.set, e.hash
	params, err := protocol.NewParams(e.set.N())
	if err != nil {
		return err
	}
	n.params = params
	n.peers = n.peers[:0]
	clear(n.indexOf)
	for j, k := range e.set.Keys {
		n.peers = append(n.peers, transport.NodeKey(k))
		n.indexOf[transport.NodeKey(k)] = protocol.NodeID(j)
	}
	n.engine = nil
	self := n.memberOf(e)
	if self < 0 {
		n.self = protocol.NodeID(0xFFFF)
		n.log.Info("not a member of the node set: following the chain", "from_epoch", start)
		return n.linkPeers()
	}
	n.self = protocol.NodeID(self)
	n.log = n.cfg.Logger.With("node", self)
	var sampleSeed [16]byte
	if _, err := cryptorand.Read(sampleSeed[:]); err != nil {
		return fmt.Errorf("node: drawing a sample seed: %w", err)
	}
	agreement, err := acs.ParseAgreement(n.cfg.Genesis.AgreementName())
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	n.engine, err = epoch.New(epoch.Config{
		Params: n.params, Self: n.self, Agreement: agreement,
		Rand:     rand.NewPCG(u64of(sampleSeed[:8]), u64of(sampleSeed[8:])),
		CoinSeed: n.coinSeed, Window: n.cfg.Genesis.Window, BatchSize: n.cfg.Genesis.BatchSize,
		MaxPending: n.cfg.MaxPending,
		Start:      start, StartTime: startTime, Recent: recent,
	})
	if err != nil {
		return err
	}
	if next, ok := n.nextStart(); ok {
		if err := n.engine.SetStop(next); err != nil {
			return err
		}
	}
	return n.linkPeers()
}

// maybeSwitch enters the next era once the current one's last block is
// applied, carrying the pending transactions over to the new engine.
func (n *Node) maybeSwitch() error {
	next, ok := n.nextStart()
	if !ok || n.applied < next {
		return nil
	}
	recent, startTime, err := n.recentBlocks(n.applied)
	if err != nil {
		return err
	}
	if err := n.enterEra(n.cur+1, n.applied, startTime, recent); err != nil {
		return err
	}
	n.log.Info("entered a new era", "epoch", n.applied, "nodes", n.set.N(), "member", n.engine != nil)
	n.moved = true
	if n.engine == nil {
		return nil
	}
	_, err = n.requeuePending()
	return err
}

// requeuePending gives a new engine the transactions the node accepted and
// has not committed yet (journaled as pending), and returns their count.
func (n *Node) requeuePending() (int, error) {
	txs, err := n.j.pendingTxs()
	if err != nil {
		return 0, fmt.Errorf("node: reading pending transactions: %w", err)
	}
	for _, tx := range txs {
		st, err := n.engine.HandleInput(epoch.Input{Tx: tx})
		if err == nil {
			err = n.handleStep(st)
		}
		if err != nil && !errors.Is(err, epoch.ErrDuplicate) {
			n.log.Warn("dropping a pending transaction", "err", err)
		}
	}
	return len(txs), nil
}

// recentBlocks returns the transactions of the blocks up to height (at most
// DedupEpochs of them, oldest first) and the time of the block at height.
func (n *Node) recentBlocks(height uint64) ([][][]byte, int64, error) {
	startTime := n.cfg.Genesis.Time
	var recent [][][]byte
	first := uint64(1)
	if height > epoch.DefaultDedupEpochs {
		first = height - epoch.DefaultDedupEpochs + 1
	}
	for h := first; h <= height; h++ {
		b, err := n.blockAt(h)
		if err != nil {
			return nil, 0, err
		}
		recent = append(recent, b.Txs)
		if h == height {
			startTime = b.Time
		}
	}
	return recent, startTime, nil
}

// laterEra says whether a consensus message from key for epoch ep belongs
// to a later era than the current one: it waits for the switch.
func (n *Node) laterEra(key transport.NodeKey, ep uint64) bool {
	next, ok := n.nextStart()
	if !ok {
		return false
	}
	if ep >= next {
		return true
	}
	_, member := n.indexOf[key]
	return !member
}
