package ledger

import (
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/protocol"
	"github.com/mass-consensus/mass/internal/protocol/epoch"
	"github.com/mass-consensus/mass/internal/transport"
)

// maxFuturePerPeer bounds the messages kept for later per peer.
const maxFuturePerPeer = 4096

// futureMsg is a message kept for later: a whole consensus message (for a
// later era) or one epoch message (refused for later by the engine).
type futureMsg struct {
	epoch  uint64
	data   []byte
	bundle bool
}

// futureBuffer keeps messages for later, bounded per peer. Peers are
// offered again in the order they first sent something: the ledger's
// outputs do not depend on map order.
type futureBuffer struct {
	byPeer map[transport.NodeKey][]futureMsg
	order  []transport.NodeKey
	count  int
}

func (b *futureBuffer) len() int { return b.count }

// add keeps a message, or reports that the peer's share is full.
func (b *futureBuffer) add(key transport.NodeKey, f futureMsg) bool {
	if b.byPeer == nil {
		b.byPeer = map[transport.NodeKey][]futureMsg{}
	}
	buf, known := b.byPeer[key]
	if len(buf) >= maxFuturePerPeer {
		return false
	}
	if !known {
		b.order = append(b.order, key)
	}
	b.byPeer[key] = append(buf, f)
	b.count++
	return true
}

// take removes and returns a peer's messages.
func (b *futureBuffer) take(key transport.NodeKey) []futureMsg {
	buf := b.byPeer[key]
	b.byPeer[key] = nil
	b.count -= len(buf)
	return buf
}

// Receive handles one message from a peer.
func (l *Ledger) Receive(from transport.NodeKey, tag uint64, data []byte) error {
	if err := l.drained(); err != nil {
		return err
	}
	return l.settle(l.receive(from, tag, data))
}

func (l *Ledger) receive(from transport.NodeKey, tag uint64, data []byte) error {
	if !l.isLinked[from] {
		l.Counters.Rejected.Add(1)
		return nil
	}
	if kind, _, err := kindOf(data); err == nil && kind == kindConsensus && l.laterEra(from, tag) {
		l.buffer(from, futureMsg{epoch: tag, data: data, bundle: true})
		return nil
	}
	msg, err := decodeMessage(data, l.params)
	if err != nil {
		if msg.kind == kindVote {
			l.Counters.VotesRejected.Add(1)
		} else {
			l.Counters.Rejected.Add(1)
		}
		l.log.Debug("bad message", "from", from, "err", err)
		return nil
	}
	switch msg.kind {
	case kindConsensus:
		return l.onBundle(from, data, msg.bundle)
	case kindVote:
		// The signer is the sender's index in the set of the vote's block.
		if i, ok := l.setFor(max(msg.vote.Height, 1)).Index(crypto.PublicKey(from)); !ok || msg.vote.Vote.Signer != uint16(i) {
			l.Counters.VotesRejected.Add(1)
			return nil
		}
		l.onVote(msg.vote)
	case kindStatus:
		l.sync.peerHeight[from] = max(l.sync.peerHeight[from], msg.height)
	case kindSyncRequest:
		l.onSyncRequest(from, msg.request)
	case kindSyncResponse:
		return l.onSyncResponse(from, msg.blocks)
	case kindForward:
		return l.onForward(msg.txs)
	}
	return nil
}

// onBundle handles a peer's consensus messages.
func (l *Ledger) onBundle(key transport.NodeKey, data []byte, bundle []*epoch.Message) error {
	from, ok := l.indexOf[key]
	if !ok {
		l.Counters.Rejected.Add(1)
		return nil
	}
	// Every message must be handled now: one its agreement refuses for
	// later goes the way of onConsensus.
	now := l.engine != nil && oneEpoch(bundle)
	for _, m := range bundle {
		now = now && l.engine.Admit(from, m) == epoch.Now
	}
	if !now {
		for _, m := range bundle {
			if err := l.onConsensus(key, from, m, nil); err != nil {
				return err
			}
		}
		return nil
	}
	// The usual case: one epoch's messages, all handled now, logged as
	// they came, once.
	_, payload, _ := kindOf(data)
	l.rd.Log = append(l.rd.Log, logRecord(bundle[0].Epoch, logBundle, from, payload))
	eng := l.engine
	for _, m := range bundle {
		if l.engine != eng {
			break // the era ended within the bundle: the rest is stale
		}
		l.Counters.ConsensusMessages.Add(1)
		if err := l.handleStep(eng.HandleMessage(from, m)); err != nil {
			return err
		}
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

func (l *Ledger) buffer(key transport.NodeKey, f futureMsg) {
	if !l.future.add(key, f) {
		l.Counters.FutureDropped.Add(1)
	}
}

// onConsensus handles one epoch message from the current era's node from:
// now (logged first), later (buffered, bounded), or never.
func (l *Ledger) onConsensus(key transport.NodeKey, from protocol.NodeID, m *epoch.Message, raw []byte) error {
	if l.engine == nil {
		return nil
	}
	switch l.engine.Admit(from, m) {
	case epoch.Never:
		return nil
	case epoch.Later:
		if raw == nil {
			raw = m.Marshal()
		}
		l.buffer(key, futureMsg{epoch: m.Epoch, data: raw})
		return nil
	}
	if raw == nil {
		raw = m.Marshal()
	}
	if !l.rp.active {
		l.rd.Log = append(l.rd.Log, logRecord(m.Epoch, logMessage, from, raw))
	}
	l.Counters.ConsensusMessages.Add(1)
	return l.handleStep(l.engine.HandleMessage(from, m))
}

// retryFuture offers the buffered messages again.
func (l *Ledger) retryFuture() error {
	for _, key := range l.future.order {
		buf := l.future.take(key)
		for i, f := range buf {
			if err := l.retry(key, f); err != nil {
				for _, rest := range buf[i+1:] {
					l.buffer(key, rest) // keep what was not offered yet
				}
				return err
			}
		}
	}
	l.future.compact()
	return nil
}

// retry offers one buffered message again.
func (l *Ledger) retry(key transport.NodeKey, f futureMsg) error {
	if l.laterEra(key, f.epoch) {
		if l.isLinked[key] {
			l.buffer(key, f)
		}
		return nil
	}
	from, ok := l.indexOf[key]
	if !ok {
		return nil
	}
	if !f.bundle {
		m, err := epoch.UnmarshalMessage(f.data, l.params, epoch.DefaultMaxProposalSize)
		if err != nil {
			return nil
		}
		return l.onConsensus(key, from, m, f.data)
	}
	msg, err := decodeMessage(f.data, l.params)
	if err != nil || msg.kind != kindConsensus {
		l.Counters.Rejected.Add(1)
		return nil
	}
	for _, m := range msg.bundle {
		if err := l.onConsensus(key, from, m, nil); err != nil {
			return err
		}
	}
	return nil
}

// compact forgets the peers with nothing buffered.
func (b *futureBuffer) compact() {
	kept := b.order[:0]
	for _, k := range b.order {
		if len(b.byPeer[k]) > 0 {
			kept = append(kept, k)
		} else {
			delete(b.byPeer, k)
		}
	}
	b.order = kept
}
