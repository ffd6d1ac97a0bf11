package node

import (
	"fmt"
	"time"

	"github.com/mass-consensus/mass/internal/chain"
	"github.com/mass-consensus/mass/internal/protocol/epoch"
	"github.com/mass-consensus/mass/internal/transport"
)

// maybeSync asks the furthest peer for certified blocks when this node is
// behind: when f+1 nodes are beyond its horizon, or when a peer has been
// certified further than this node has applied for SyncAfter.
func (n *Node) maybeSync(now time.Time) {
	var best uint64
	var bestPeer transport.NodeKey
	for _, k := range n.linked {
		if h := n.peerHeight[k]; h > best {
			best, bestPeer = h, k
		}
	}
	if best <= n.certified {
		return
	}
	behind := false
	if n.engine != nil {
		_, behind = n.engine.Behind()
	}
	stuck := best > n.applied && now.Sub(n.lastProgress) >= n.cfg.SyncAfter
	if !behind && !stuck {
		return
	}
	if now.Sub(n.syncAsked) < n.cfg.SyncAfter {
		return // one request in flight at a time, re-asked after SyncAfter
	}
	n.syncAsked = now
	n.direct = append(n.direct, directMsg{to: bestPeer, tag: n.applied,
		data: encodeSyncRequest(syncRequest{From: n.certified + 1, Count: maxSyncBlocks})})
}

// onSyncRequest answers with the certified blocks asked for, as many as fit.
func (n *Node) onSyncRequest(from transport.NodeKey, q syncRequest) {
	var out []certified
	size := 0
	for h := q.From; h < q.From+uint64(min(q.Count, maxSyncBlocks)) && h <= n.certified; h++ {
		b, c, err := n.chain.Get(h)
		if err != nil {
			n.log.Warn("reading a block for a peer", "height", h, "err", err)
			break
		}
		size += len(b.Marshal()) + 64*len(c.Votes)
		if size > maxSyncBytes && len(out) > 0 {
			break
		}
		out = append(out, certified{Block: b, Cert: c})
	}
	if len(out) > 0 {
		n.direct = append(n.direct, directMsg{to: from, tag: n.applied, data: encodeSyncResponse(out)})
	}
}

// onSyncResponse verifies and applies fetched blocks in order.
func (n *Node) onSyncResponse(from transport.NodeKey, blocks []certified) error {
	n.syncAsked = time.Time{}
	for _, c := range blocks {
		b := c.Block
		if b.Height <= n.certified {
			continue
		}
		if b.Height != n.certified+1 {
			break
		}
		if err := chain.VerifyNext(n.certHeader, b, c.Cert, n.cfg.Genesis.ChainID, n.setFor(b.Height)); err != nil {
			n.Counters.Rejected.Add(1)
			n.log.Warn("a peer sent a block that does not verify", "peer", from, "height", b.Height, "err", err)
			return nil
		}
		if b.Height <= n.applied {
			// Applied here already: it must be the very same block.
			if own := n.ownBlocks[b.Height]; own == nil || own.Hash() != b.Hash() {
				return fmt.Errorf("node: certified block %d differs from the one this node applied: certified %+v (%d txs), applied %+v", b.Height, b.Header, len(b.Txs), describe(own))
			}
		} else {
			if err := n.applyFetched(b); err != nil {
				return err
			}
		}
		n.Counters.BlocksFetched.Add(1)
		n.certify(b.Height, c.Cert)
	}
	return nil
}

// applyFetched applies a certified block this node did not produce, and
// moves the consensus engine past its epoch.
func (n *Node) applyFetched(b *chain.Block) error {
	root, results, err := n.applyToApp(b.Height, b.Time, b.Txs)
	if err != nil {
		return err
	}
	if root != b.StateRoot {
		return fmt.Errorf("node: fetched block %d gives state root %x, certified %x", b.Height, root, b.StateRoot)
	}
	if want := n.nextNodes(b.Height); b.NextNodes != want {
		return fmt.Errorf("node: certified block %d names node set %s next, this node computes %s", b.Height, b.NextNodes, want)
	}
	if err := n.adoptBlock(b, nil, results); err != nil {
		return err
	}
	if n.engine != nil && n.engine.Next() == b.Epoch {
		st, err := n.engine.Adopt(epoch.Batch{Epoch: b.Epoch, Time: b.Time, Txs: b.Txs})
		if err != nil {
			return fmt.Errorf("node: %w", err)
		}
		if err := n.handleStep(st); err != nil {
			return err
		}
	}
	return n.maybeSwitch()
}

func describe(b *chain.Block) string {
	if b == nil {
		return "none"
	}
	return fmt.Sprintf("%+v (%d txs)", b.Header, len(b.Txs))
}
