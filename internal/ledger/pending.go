package ledger

import (
	"github.com/mass-consensus/mass/internal/protocol/epoch"
)

// pendingSet is the transactions this node accepted and has not seen
// committed. Each is in the epoch log, tagged with an epoch that is still
// open: when the log's epochs close below a transaction's tag and it is
// still pending, it is logged again with a later tag. So an accepted
// transaction survives any crash until a block holds it, and the log
// never needs keys that live on in the store.
type pendingSet struct {
	txs map[epoch.TxHash][]byte
	// order holds the hashes in the order of their tags (tags only grow);
	// entries of transactions committed since are skipped.
	order []pendingEntry
}

type pendingEntry struct {
	h   epoch.TxHash
	tag uint64
}

func (p *pendingSet) has(h epoch.TxHash) bool { _, ok := p.txs[h]; return ok }

func (p *pendingSet) len() int { return len(p.txs) }

// add keeps a transaction logged under tag.
func (p *pendingSet) add(h epoch.TxHash, tx []byte, tag uint64) {
	if p.txs == nil {
		p.txs = map[epoch.TxHash][]byte{}
	}
	p.txs[h] = tx
	p.order = append(p.order, pendingEntry{h: h, tag: tag})
}

// committed forgets a transaction a block holds.
func (p *pendingSet) committed(h epoch.TxHash) { delete(p.txs, h) }

// retag returns the pending transactions logged under a tag below `below`,
// in order, and keeps them under tag (the caller logs them again).
func (p *pendingSet) retag(below, tag uint64) [][]byte {
	var out [][]byte
	i := 0
	for ; i < len(p.order) && p.order[i].tag < below; i++ {
		e := p.order[i]
		if tx, ok := p.txs[e.h]; ok {
			out = append(out, tx)
			p.order = append(p.order, pendingEntry{h: e.h, tag: tag})
		}
	}
	p.order = p.order[i:]
	if cap(p.order) > 4*len(p.order)+64 {
		p.order = append([]pendingEntry(nil), p.order...)
	}
	return out
}

// all returns the pending transactions in the order they were taken.
func (p *pendingSet) all() [][]byte {
	var out [][]byte
	seen := map[epoch.TxHash]bool{}
	for _, e := range p.order {
		if tx, ok := p.txs[e.h]; ok && !seen[e.h] {
			seen[e.h] = true
			out = append(out, tx)
		}
	}
	return out
}

// pendingAhead is how far beyond the lowest epoch not yet output a
// pending transaction's record is tagged: it is logged again only once
// that many epochs closed without a block holding it (rarely: most wait an
// epoch or two), at the cost of keeping the log's segment that long.
const pendingAhead = 16

// logPending takes a transaction as pending: in memory, and in the log
// under an epoch pendingAhead beyond the lowest not yet output.
func (l *Ledger) logPending(h epoch.TxHash, tx []byte) {
	tag := l.logTag()
	l.pending.add(h, tx, tag)
	l.rd.Log = append(l.rd.Log, logRecord(tag, logPending, 0, tx))
	l.rd.Pending = append(l.rd.Pending, h)
}

// logTag is the epoch a record that must outlive the current epochs is
// logged under: pendingAhead beyond the lowest not yet output. Tags never go
// down (the engine restarts lower than it was), so that the pending
// transactions stay in the order of their tags.
func (l *Ledger) logTag() uint64 {
	next := l.votes.certified
	if l.engine != nil {
		next = max(next, l.engine.Next())
	}
	l.lastTag = max(l.lastTag, next+pendingAhead)
	return l.lastTag
}

// relogPending logs again, under a later tag, the pending transactions
// whose tag the log drops (below `below`).
func (l *Ledger) relogPending(below uint64) {
	tag := max(l.logTag(), below)
	for _, tx := range l.pending.retag(below, tag) {
		l.rd.Log = append(l.rd.Log, logRecord(tag, logPending, 0, tx))
	}
}
