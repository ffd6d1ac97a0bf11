package ledger

import (
	"fmt"

	"github.com/mass-consensus/mass/internal/chain"
	"github.com/mass-consensus/mass/internal/protocol/epoch"
	"github.com/mass-consensus/mass/internal/transport"
)

// catchUp is the state of fetching certified blocks from peers.
type catchUp struct {
	peerHeight map[transport.NodeKey]uint64 // the certified heights peers told
	lastStatus int64                        // when the node last told its own
	// lastProgress is when the node last applied a block.
	lastProgress int64
	// asked is when the last request left (0: none in flight).
	asked int64
	// turn picks the next peer to ask.
	turn int
	// fetched are certified blocks received beyond the applied height,
	// in height order, handed to the application one at a time.
	fetched []certified
}

// maybeSync asks a peer certified further for certified blocks when this
// node is behind: when f+1 nodes are beyond its horizon; when a peer is certified
// further than this node has applied and the node applied nothing for
// SyncAfter; or when a peer is certified further than this node and this
// node's certified height has not moved for SyncAfter (it applied blocks
// whose votes it missed: peers drop votes at or below their certified
// height, so only fetching brings the certificates).
//
// The request goes to the peers certified further in turn: a peer that
// claims a height it does not have (or does not answer) gets one request in
// every few, never all of them.
func (l *Ledger) maybeSync() {
	var best uint64
	var ahead []transport.NodeKey
	for _, k := range l.linked {
		if h := l.sync.peerHeight[k]; h > l.votes.certified {
			ahead = append(ahead, k)
			best = max(best, h)
		}
	}
	if len(ahead) == 0 {
		return
	}
	behind := false
	if l.engine != nil {
		_, behind = l.engine.Behind()
	}
	after := l.cfg.SyncAfter
	stuck := best > l.votes.applied && l.now-l.sync.lastProgress >= after
	uncertified := l.now-l.votes.lastCertified >= after && !l.cfg.Knobs.OldSyncTrigger
	if !behind && !stuck && !uncertified {
		return
	}
	if l.sync.asked != 0 && l.now-l.sync.asked < after {
		return // one request in flight at a time, asked again after SyncAfter
	}
	l.sync.asked = l.now
	l.out.direct(l.syncPeer(ahead), l.votes.applied,
		encodeSyncRequest(syncRequest{From: l.votes.certified + 1, Count: maxSyncBlocks}))
}

// syncPeer picks the peer to ask among those certified further: the next
// in turn (Knobs.OldSyncPeer: the one claiming the highest height).
func (l *Ledger) syncPeer(ahead []transport.NodeKey) transport.NodeKey {
	if l.cfg.Knobs.OldSyncPeer {
		best := ahead[0]
		for _, k := range ahead {
			if l.sync.peerHeight[k] > l.sync.peerHeight[best] {
				best = k
			}
		}
		return best
	}
	l.sync.turn++
	return ahead[l.sync.turn%len(ahead)]
}

// onSyncRequest answers with the certified blocks asked for, as many as fit.
func (l *Ledger) onSyncRequest(from transport.NodeKey, q syncRequest) {
	var out []certified
	size := 0
	for h := q.From; h < q.From+uint64(min(q.Count, maxSyncBlocks)) && h <= l.votes.certified; h++ {
		b, c, err := l.chain.Get(h)
		if err != nil {
			break // certified in this round: in the store with the next Ready
		}
		size += len(b.Marshal()) + 64*len(c.Votes)
		if size > maxSyncBytes && len(out) > 0 {
			break
		}
		out = append(out, certified{Block: b, Cert: c})
	}
	if len(out) > 0 {
		l.out.direct(from, l.votes.applied, encodeSyncResponse(out))
	}
}

// onSyncResponse keeps the fetched blocks this node has no certificate
// for, and takes them in order.
func (l *Ledger) onSyncResponse(from transport.NodeKey, blocks []certified) error {
	l.sync.asked = 0
	var keep []certified
	for _, c := range blocks {
		if c.Block.Height > l.votes.certified {
			keep = append(keep, c)
		}
	}
	if len(keep) == 0 {
		return nil
	}
	l.sync.fetched = keep
	return l.pullFetched()
}

// pullFetched takes the fetched blocks that follow the certified chain:
// those this node applied already are checked and certified; the next
// one, when nothing else is for the application, is queued for it.
func (l *Ledger) pullFetched() error {
	for len(l.sync.fetched) > 0 {
		c := l.sync.fetched[0]
		b := c.Block
		switch {
		case b.Height <= l.votes.certified:
			l.sync.fetched = l.sync.fetched[1:]
			continue
		case b.Height != l.votes.certified+1:
			l.sync.fetched = nil // a gap: asked again later
			return nil
		case b.Height > l.votes.applied && (!l.apply.idle() || b.Height != l.votes.applied+1):
			return nil // after what the application has now
		}
		if err := chain.VerifyNext(l.votes.certHeader, b, c.Cert, l.cfg.Genesis.ChainID, l.setFor(b.Height)); err != nil {
			l.Counters.Rejected.Add(1)
			l.log.Warn("a peer sent a block that does not verify", "height", b.Height, "err", err)
			l.sync.fetched = nil
			return nil
		}
		l.sync.fetched = l.sync.fetched[1:]
		if b.Height <= l.votes.applied {
			// Applied here already: it must be the very same block.
			if own := l.votes.ownBlocks[b.Height]; own == nil || own.Hash() != b.Hash() {
				return fmt.Errorf("ledger: certified block %d differs from the one this node applied: certified %+v (%d txs), applied %s", b.Height, b.Header, len(b.Txs), describe(own))
			}
			l.Counters.BlocksFetched.Add(1)
			l.certify(b.Height, c.Cert)
			continue
		}
		return l.queueFetched(c)
	}
	return nil
}

// queueFetched hands a certified block this node did not produce to the
// application, and moves the consensus engine past its epoch.
func (l *Ledger) queueFetched(c certified) error {
	b := c.Block
	l.apply.push(applyItem{block: appBlock(b), txs: b.Txs, epoch: b.Epoch, cert: c.Cert, known: b})
	if l.engine == nil || l.engine.Next() != b.Epoch {
		return nil
	}
	st, err := l.engine.Adopt(epoch.Batch{Epoch: b.Epoch, Time: b.Time, Txs: b.Txs})
	if err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	return l.handleStep(st)
}

func describe(b *chain.Block) string {
	if b == nil {
		return "none"
	}
	return fmt.Sprintf("%+v (%d txs)", b.Header, len(b.Txs))
}
