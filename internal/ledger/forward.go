package ledger

import "github.com/mass-consensus/mass/internal/protocol/epoch"

// forwardEvery is how often (ms) a node outside the node set hands on the
// transactions it accepted and has not seen committed.
const forwardEvery = 5_000

// forwardPending hands the transactions this node accepted and has not
// seen committed to the members of the current set, when this node is not
// one of them (it left the set): here they would wait forever. It goes
// again every forwardEvery while any remain; a block that commits them
// deletes them here too.
func (l *Ledger) forwardPending() error {
	if l.engine != nil || (l.forwarded != 0 && l.now-l.forwarded < forwardEvery) {
		return nil
	}
	l.forwarded = l.now
	txs := l.pending.all()
	for len(txs) > 0 {
		n, size := 0, 0
		for n < len(txs) && n < maxForwardTxs && size+len(txs[n]) <= maxForwardBytes {
			size += len(txs[n])
			n++
		}
		msg := encodeForward(txs[:n])
		for _, k := range l.peers {
			l.out.direct(k, l.votes.applied, msg)
		}
		txs = txs[n:]
	}
	return nil
}

// onForward takes the transactions a node that left the set hands on, as
// if submitted here (the application refuses in its block whatever is not
// valid).
func (l *Ledger) onForward(txs [][]byte) error {
	if l.engine == nil {
		return nil
	}
	for _, tx := range txs {
		h := epoch.HashTx(tx)
		if l.recentTxs.has(h) {
			continue
		}
		st, err := l.engine.HandleInput(epoch.Input{Tx: tx})
		if err != nil {
			continue // pending already, full, or malformed
		}
		l.logPending(h, tx)
		if err := l.handleStep(st); err != nil {
			return err
		}
	}
	return nil
}
