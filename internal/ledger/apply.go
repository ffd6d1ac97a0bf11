package ledger

import (
	"fmt"

	"github.com/mass-consensus/mass/internal/app"
	"github.com/mass-consensus/mass/internal/chain"
	"github.com/mass-consensus/mass/internal/protocol/epoch"
)

// applyItem is a block for the application: a batch the engine output, a
// certified block fetched from a peer, or, after a restart, a block this
// node recorded before its application lost it.
type applyItem struct {
	block  app.Block // what the application sees: no key transactions
	txs    [][]byte  // all the block's transactions
	epoch  uint64
	hashes []epoch.TxHash     // a batch's transaction hashes
	cert   *chain.Certificate // a fetched block's certificate
	known  *chain.Block       // the fetched or recorded block itself
	again  bool               // recorded: re-applied after a restart
}

// applyQueue holds the blocks for the application, in height order. One is
// handed to the driver at a time: the next waits until the records of the
// one before are durable (they go with the Ready that hands it out), so
// that the application is never more than one block ahead of the records.
type applyQueue struct {
	items []applyItem
	out   bool   // items[0] is with the driver
	last  uint64 // the height of the last block queued (or recorded)
}

func (q *applyQueue) startable() bool { return !q.out && len(q.items) > 0 }

// start hands the next block to the driver, if it may.
func (q *applyQueue) start() *app.Block {
	if !q.startable() {
		return nil
	}
	q.out = true
	b := q.items[0].block
	return &b
}

func (q *applyQueue) push(it applyItem) {
	q.items = append(q.items, it)
	q.last = it.block.Height
}

// batch queues an epoch's batch as the next block.
func (q *applyQueue) batch(b *epoch.Batch) error {
	height := b.Epoch + 1
	if height != q.last+1 {
		return fmt.Errorf("ledger: batch of epoch %d after block %d", b.Epoch, q.last)
	}
	q.push(applyItem{block: app.Block{Height: height, Time: b.Time, Txs: appTxs(b.Txs)}, txs: b.Txs, epoch: b.Epoch, hashes: b.Hashes})
	return nil
}

// onBatch queues an epoch's batch for the application, or, for an epoch
// re-run after a restart whose block is recorded, checks it is that block.
func (l *Ledger) onBatch(b *epoch.Batch) error {
	height := b.Epoch + 1
	if height > l.apply.last {
		return l.apply.batch(b)
	}
	known, err := l.blockAt(height)
	if err != nil {
		return fmt.Errorf("ledger: epoch %d output again: %w", b.Epoch, err)
	}
	if known.BatchHash != chain.BatchHash(b.Txs) || known.Time != b.Time {
		return fmt.Errorf("ledger: epoch %d output again differs from block %d", b.Epoch, height)
	}
	return nil
}

// idle says whether nothing is queued or with the driver.
func (q *applyQueue) idle() bool { return len(q.items) == 0 }

// Applied reports that the application applied the block of the last
// Ready's Apply: its state root, and the node set it changed to (nil if
// none). An error means the node must stop: its application diverged from
// a certified block, or its state cannot be trusted.
func (l *Ledger) Applied(height uint64, root [32]byte, nodeSet []app.NodeInfo) error {
	q := &l.apply
	if !q.out || q.items[0].block.Height != height {
		return fmt.Errorf("ledger: block %d reported applied, not the one handed out", height)
	}
	it := q.items[0]
	q.items, q.out = q.items[1:], false
	if nodeSet != nil {
		if err := l.learnNodeSet(height, nodeSet); err != nil {
			return err
		}
	}
	var err error
	switch {
	case it.again:
		// The replay of the log waits for these: it goes on in settle.
		if root != it.known.StateRoot {
			err = fmt.Errorf("ledger: re-applying block %d gave state root %x, recorded %x", height, root, it.known.StateRoot)
		}
	case it.cert != nil:
		err = l.appliedFetched(it, root)
	default:
		err = l.appliedBatch(it, root)
	}
	if err == nil {
		err = l.keyBlock(height, it.txs)
	}
	if err == nil {
		err = l.postKeys()
	}
	if err == nil {
		err = l.maybeSwitch()
	}
	if err == nil {
		err = l.pullFetched()
	}
	return l.settle(err)
}

// appliedBatch makes the block of an epoch's batch, records and signs it.
func (l *Ledger) appliedBatch(it applyItem, root [32]byte) error {
	height := it.block.Height
	blk := &chain.Block{Header: chain.Header{
		ChainID: l.cfg.Genesis.ChainID, Height: height, Epoch: it.epoch, Time: it.block.Time,
		BatchHash: chain.BatchHash(it.txs), StateRoot: root, NextNodes: l.nextNodes(height),
	}, Txs: it.txs}
	if l.votes.lastHeader != nil {
		blk.Prev = l.votes.lastHeader.Hash()
	}
	if old := l.votes.ownBlocks[height]; old != nil && old.Hash() != blk.Hash() {
		return fmt.Errorf("ledger: refusing to sign a second block at height %d", height)
	}
	l.rd.Log = append(l.rd.Log, logRecord(blk.Epoch, logOwn, 0, blk.Marshal()))
	l.adoptBlock(blk, it.hashes)
	l.startVoting(blk)
	return nil
}

// appliedFetched checks a fetched certified block against what the
// application made of it, and certifies it.
func (l *Ledger) appliedFetched(it applyItem, root [32]byte) error {
	b := it.known
	if root != b.StateRoot {
		return fmt.Errorf("ledger: fetched block %d gives state root %x, certified %x", b.Height, root, b.StateRoot)
	}
	if want := l.nextNodes(b.Height); b.NextNodes != want {
		return fmt.Errorf("ledger: certified block %d names node set %s next, this node computes %s", b.Height, b.NextNodes, want)
	}
	l.adoptBlock(b, nil)
	l.Counters.BlocksFetched.Add(1)
	l.certify(b.Height, it.cert)
	return nil
}

// adoptBlock makes a block the application has applied the node's latest:
// its transactions are indexed and its epoch's log may go.
func (l *Ledger) adoptBlock(blk *chain.Block, hashes []epoch.TxHash) {
	l.votes.ownBlocks[blk.Height] = blk
	hashes = epoch.HashAll(blk.Txs, hashes)
	for _, h := range hashes {
		l.recs.committed(h, blk.Height)
		l.recentTxs.add(h)
		l.pending.committed(h)
	}
	l.recs.head(blk.Height)
	l.Counters.Committed.Add(uint64(len(blk.Txs)))
	if l.votes.certified == l.votes.applied {
		// Nothing was waiting for a certificate: the wait starts now.
		l.votes.lastCertified = l.now
	}
	l.votes.applied, l.votes.lastHeader = blk.Height, &blk.Header
	l.limitEngine()
	l.sync.lastProgress = l.now
	l.rd.Commits = append(l.rd.Commits, Commit{Height: blk.Height, Hash: blk.Hash(), Time: blk.Time, TxHashes: appHashes(blk.Txs, hashes)})
	l.moved = true
}
