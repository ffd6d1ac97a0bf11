package ledger

import (
	"fmt"

	"github.com/mass-consensus/mass/internal/chain"
)

// maxEarlyVotes bounds the heights ahead of the applied one whose votes
// are kept until the node applies them.
const maxEarlyVotes = 64

// voting is the state of the blocks: applied, signed, and certified.
type voting struct {
	applied    uint64
	lastHeader *chain.Header
	certified  uint64
	certHeader *chain.Header
	// lastCertified is when the certified height last moved (or a block
	// was applied with none waiting): the clock of the catch-up for
	// certificates.
	lastCertified int64
	collectors    map[uint64]*chain.Collector
	readyCerts    map[uint64]*chain.Certificate // certificates waiting for the one before
	ownBlocks     map[uint64]*chain.Block       // applied and signed, not certified
	// justCertified are the blocks certified since the last Ready: their
	// writes are not in the store yet.
	justCertified map[uint64]*chain.Block
	earlyVotes    map[uint64][]chain.Vote
}

// startVoting signs a block, sends the vote and collects the others'.
func (l *Ledger) startVoting(blk *chain.Block) {
	set := l.setFor(blk.Height)
	l.votes.collectors[blk.Height] = chain.NewCollector(blk.Header, set)
	if self, ok := set.Index(l.cfg.Key.Public()); ok {
		vote := chain.SignHeader(l.cfg.Key, self, &blk.Header)
		l.broadcast(blk.Epoch, encodeVote(voteMsg{Height: blk.Height, Vote: vote}))
		l.addVote(blk.Height, vote)
	}
	for _, v := range l.votes.earlyVotes[blk.Height] {
		l.addVote(blk.Height, v)
	}
	delete(l.votes.earlyVotes, blk.Height)
}

func (l *Ledger) addVote(height uint64, v chain.Vote) {
	col := l.votes.collectors[height]
	if col == nil {
		return
	}
	cert, err := col.Add(v)
	if err != nil {
		l.Counters.VotesRejected.Add(1)
		l.log.Debug("vote rejected", "height", height, "err", err)
		return
	}
	switch {
	case cert == nil:
	case height == l.votes.certified+1:
		l.certify(height, cert)
	case height > l.votes.certified+1:
		l.votes.readyCerts[height] = cert
	}
}

// onVote takes a peer's vote, already checked to be signed by its sender's
// index (not yet verified).
func (l *Ledger) onVote(v voteMsg) {
	switch {
	case v.Height <= l.votes.certified:
	case l.votes.collectors[v.Height] != nil:
		l.addVote(v.Height, v.Vote)
	case v.Height > l.votes.applied && v.Height <= l.votes.applied+maxEarlyVotes:
		if len(l.votes.earlyVotes[v.Height]) < l.setFor(v.Height).N() {
			l.votes.earlyVotes[v.Height] = append(l.votes.earlyVotes[v.Height], v.Vote)
		}
	default:
		l.Counters.VotesDropped.Add(1)
	}
}

// certify stores a block this node applied with its certificate, then any
// following blocks whose certificates were waiting.
func (l *Ledger) certify(height uint64, cert *chain.Certificate) {
	for cert != nil {
		blk := l.votes.ownBlocks[height]
		if err := l.recs.certified(blk, cert); err != nil {
			panic(fmt.Sprintf("ledger: certifying block %d: %v", height, err)) // heights match by construction
		}
		l.votes.certified, l.votes.certHeader = height, &blk.Header
		l.votes.lastCertified = l.now
		l.votes.justCertified[height] = blk
		delete(l.votes.ownBlocks, height)
		delete(l.votes.collectors, height)
		delete(l.votes.readyCerts, height)
		// Every honest node can adopt this block now: the epoch's
		// agreements need not run on for the others, and its log may go.
		if l.engine != nil {
			l.engine.Forget(blk.Epoch)
		}
		l.rd.LogBelow = blk.Epoch + 1
		l.relogPending(l.rd.LogBelow)
		// A peer more than a horizon behind catches up from certified
		// blocks, not from the messages of these epochs: the transport
		// stops re-sending them.
		if keep := uint64(l.horizon); blk.Epoch > keep {
			l.rd.Forget = blk.Epoch - keep
		}
		height++
		cert = l.votes.readyCerts[height]
	}
}

// blockAt returns the block at a height this node applied: from its own
// records, the blocks just certified, or the chain.
func (l *Ledger) blockAt(h uint64) (*chain.Block, error) {
	if b := l.votes.ownBlocks[h]; b != nil {
		return b, nil
	}
	if b := l.votes.justCertified[h]; b != nil {
		return b, nil
	}
	b, _, err := l.chain.Get(h)
	return b, err
}
