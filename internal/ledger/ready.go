package ledger

import (
	"github.com/mass-consensus/mass/internal/app"
	"github.com/mass-consensus/mass/internal/chain"
	"github.com/mass-consensus/mass/internal/protocol/epoch"
	"github.com/mass-consensus/mass/internal/store"
	"github.com/mass-consensus/mass/internal/transport"
)

// Ready is what the ledger asks its driver to do, in this order:
//  1. apply Writes to the store, then append Log to the epoch log, both
//     durably (one sync each; the store first: see node.persist), then drop
//     the log's epochs below LogBelow;
//  2. tell the transport Peers (when not nil) and Forget (when not 0);
//  3. send Messages;
//  4. apply Apply (when not nil) to the application, and report the
//     result with Applied before any other input;
//  5. tell subscribers of Commits, and answer the clients whose
//     transactions were submitted before this Ready.
//
// Nothing of a Ready leaves the node before its records are durable: that
// is what makes a restarted node send exactly what it sent before.
type Ready struct {
	Log      []LogRecord
	LogBelow uint64
	Writes   *store.Batch
	Peers    []transport.Peer
	Forget   uint64
	Messages []Outbound
	Apply    *app.Block
	Commits  []Commit
	// Pending are the transactions taken since the last Ready (clients
	// may ask whether a transaction is pending; Commits say when it is no
	// longer).
	Pending []epoch.TxHash
}

// Durable says whether the Ready has records to make durable.
func (rd *Ready) Durable() bool { return len(rd.Log) > 0 || rd.Writes.Len() > 0 }

// Outbound is a message to a peer, tagged with an epoch (the transport's
// sequence tag).
type Outbound struct {
	To   transport.NodeKey
	Tag  uint64
	Data []byte
}

// Commit is a block the node applied and recorded, for subscribers.
type Commit struct {
	Height   uint64
	Hash     chain.Hash
	Time     int64
	TxHashes []epoch.TxHash
}

// outbox gathers a Ready's messages: each peer's consensus messages by
// epoch (sent as one bundle per peer and epoch, in the order the pairs
// first appeared: the driver's output is deterministic), and the others.
type outbox struct {
	index   map[bundleKey]int
	bundles []bundle
	msgs    []Outbound
}

type bundleKey struct {
	to transport.NodeKey
	ep uint64
}

type bundle struct {
	bundleKey
	msgs [][]byte
}

func (o *outbox) consensus(to transport.NodeKey, ep uint64, data []byte) {
	if o.index == nil {
		o.index = map[bundleKey]int{}
	}
	k := bundleKey{to, ep}
	i, ok := o.index[k]
	if !ok {
		i = len(o.bundles)
		o.index[k] = i
		o.bundles = append(o.bundles, bundle{bundleKey: k})
	}
	o.bundles[i].msgs = append(o.bundles[i].msgs, data)
}

func (o *outbox) direct(to transport.NodeKey, tag uint64, data []byte) {
	o.msgs = append(o.msgs, Outbound{To: to, Tag: tag, Data: data})
}

func (o *outbox) empty() bool { return len(o.bundles) == 0 && len(o.msgs) == 0 }

// take returns the messages gathered, bundles first, and empties the box.
func (o *outbox) take() []Outbound {
	out := make([]Outbound, 0, len(o.bundles)+len(o.msgs))
	for _, b := range o.bundles {
		out = append(out, Outbound{To: b.to, Tag: b.ep, Data: encodeConsensus(epoch.MarshalBundle(b.msgs))})
	}
	out = append(out, o.msgs...)
	clear(o.index)
	o.bundles, o.msgs = o.bundles[:0], nil
	return out
}

// HasReady says whether Ready has anything for the driver.
func (l *Ledger) HasReady() bool {
	return l.rd.Durable() || len(l.rd.Peers) > 0 || l.rd.Forget > 0 || l.rd.LogBelow > 0 ||
		len(l.rd.Commits) > 0 || !l.out.empty() || l.apply.startable()
}

// Ready returns what the driver must do now, and starts a new one.
func (l *Ledger) Ready() Ready {
	rd := l.rd
	rd.Messages = l.out.take()
	rd.Apply = l.apply.start()
	l.rd = Ready{Writes: new(store.Batch)}
	l.recs.batch = l.rd.Writes
	clear(l.votes.justCertified)
	return rd
}
