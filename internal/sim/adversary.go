package sim

import (
	"github.com/mass-consensus/mass/internal/protocol"
	"github.com/mass-consensus/mass/internal/protocol/aba"
	"github.com/mass-consensus/mass/internal/protocol/acs"
	"github.com/mass-consensus/mass/internal/protocol/epoch"
	"github.com/mass-consensus/mass/internal/protocol/raba"
	"github.com/mass-consensus/mass/internal/protocol/rbc"
)

// netMode is how the adversary delays messages during the fault phase.
type netMode uint8

const (
	netFair      netMode = iota // short random delays
	netRandom                   // long random delays: heavy reordering
	netSlow                     // up to F honest nodes see every message late
	netSplit                    // messages between two groups of honest nodes come late
	netSplitCoin                // the coin-watching splitting scheduler (splitcoin.go)
)

// behaviour is what a faulty node does.
type behaviour uint8

const (
	bHonest     behaviour = iota // follows the protocol (the faulty nodes of adversary "none")
	bCrash                       // falls silent at a random time
	bEquivocate                  // equivocates as an RBC sender, with the other equivocators
	bBadShards                   // sends bad shards, branches, encodings and roots
	bFlip                        // negates every ABA value it sends
	bBoth                        // splits the honest nodes: its ABA values to one half, their negation to the other, its broadcast to one half only
	bReplay                      // resends old messages
	bGarbage                     // adds garbage, oversized and far-future messages
	bSplitCoin                   // helps the splitting scheduler (splitcoin.go)
)

var allBehaviours = []behaviour{bCrash, bEquivocate, bBadShards, bFlip, bBoth, bReplay, bGarbage, bSplitCoin}

func (s *sim) pickNetMode() netMode {
	switch s.cfg.Adversary {
	case AdvRandom:
		return netRandom
	case AdvSlow:
		return netSlow
	case AdvSplit:
		return netSplit
	case AdvSplitCoin:
		return netSplitCoin
	case AdvMixed:
		return netMode(s.rng.IntN(5))
	}
	return netFair
}

func (s *sim) pickBehaviour() behaviour {
	switch s.cfg.Adversary {
	case AdvEquivocate:
		return bEquivocate
	case AdvBadShards:
		return bBadShards
	case AdvABA:
		return []behaviour{bFlip, bBoth, bReplay}[s.rng.IntN(3)]
	case AdvGarbage:
		return bGarbage
	case AdvSplit:
		return bBoth
	case AdvSplitCoin:
		return bSplitCoin
	case AdvMixed:
		return allBehaviours[s.rng.IntN(len(allBehaviours))]
	case AdvNone:
		return bHonest
	}
	return bCrash
}

// delay is the delay, in virtual milliseconds, of a message from one node to
// another sent now.
func (s *sim) delay(from, to *node) int64 {
	d := 1 + s.rng.Int64N(20)
	if s.now >= s.cfg.FaultPhase {
		return d
	}
	if from.faulty {
		return 1 + s.rng.Int64N(5) // the adversary's own messages are fast
	}
	switch s.net {
	case netRandom:
		d += s.rng.Int64N(300)
	case netSlow:
		if from.slow || to.slow {
			d += 100 + s.rng.Int64N(900)
		}
	case netSplit:
		if !to.faulty && from.group != to.group {
			d += 200 + s.rng.Int64N(800)
		}
	case netSplitCoin:
		d = 1 + s.rng.Int64N(10) // what it holds, it holds at the receiving end
	}
	return d
}

// adversary holds what the faulty nodes share: they coordinate.
type adversary struct {
	s *sim
	// codings are the two sides of each equivocated broadcast, by epoch and
	// proposer.
	codings map[uint64]map[protocol.NodeID]*[2]*rbc.Coding
	// split is the splitting scheduler and the state of the faulty nodes
	// that help it; nil if neither is in the run.
	split *splitter
	// coins is what it knows of the threshold coins; nil with the local
	// coin.
	coins *coinSight
	// inconsistent are the non-codeword commitments of bad-shard proposers.
	inconsistent map[uint64]map[protocol.NodeID]*rbc.Coding
	oversized    []byte
}

func newAdversary(s *sim) *adversary {
	a := &adversary{
		s:            s,
		codings:      make(map[uint64]map[protocol.NodeID]*[2]*rbc.Coding),
		inconsistent: make(map[uint64]map[protocol.NodeID]*rbc.Coding),
	}
	a.split = newSplitter(a)
	return a
}

// side is the half of the honest nodes a node is in: 0 or 1.
func (a *adversary) side(to protocol.NodeID) int { return a.s.nodes[to].group }

// send sends what a faulty node makes of the messages of one step of its own
// engine.
func (a *adversary) send(n *node, msgs []protocol.Message[*epoch.Message]) {
	s := a.s
	if s.crashed(n) {
		return
	}
	for _, m := range msgs {
		var plain []byte // m's encoding, for the recipients that get it unchanged
		for to := range s.nodes {
			id := protocol.NodeID(to)
			if !m.To.Includes(n.id, id) {
				continue
			}
			for _, t := range a.transform(n, m.Body, id) {
				var data []byte
				switch {
				case t != m.Body:
					data = t.Marshal()
				case plain != nil:
					data = plain
				default:
					plain = t.Marshal()
					data = plain
				}
				s.post(n, id, data)
				if n.behaviour == bReplay && len(n.history) < 512 {
					n.history = append(n.history, data)
				}
			}
			for _, x := range a.extras(n, m.Body, id) {
				s.post(n, id, x)
			}
		}
	}
}

// sendOne queues one message from a faulty node.
func (a *adversary) sendOne(from *node, to protocol.NodeID, m *epoch.Message) {
	a.s.post(from, to, m.Marshal())
}

// transform returns the messages a faulty node sends to one node in place of
// one honest message.
func (a *adversary) transform(n *node, m *epoch.Message, to protocol.NodeID) []*epoch.Message {
	s := a.s
	switch n.behaviour {
	case bEquivocate:
		if r := m.ACS.RBC; r != nil && s.nodes[m.ACS.Proposer].faulty && s.nodes[m.ACS.Proposer].behaviour == bEquivocate {
			if r.Kind == rbc.KindVal && m.ACS.Proposer == n.id {
				a.equivocate(n, m.Epoch, to)
			}
			return nil // echoes and readies for equivocators are sent by equivocate
		}
	case bBadShards:
		if r := m.ACS.RBC; r != nil {
			return []*epoch.Message{a.badShard(n, m, to)}
		}
	case bFlip, bBoth:
		if r := m.ACS.RBC; r != nil && n.behaviour == bBoth && r.Kind == rbc.KindVal && a.side(to) == 1 {
			return nil // the other half learns of this proposal late, if at all
		}
		if n.behaviour == bFlip || a.side(to) == 1 {
			if am := m.ACS.ABA; am != nil {
				c := *am
				c.Value = flipValue(c.Kind, c.Step, c.Value)
				return []*epoch.Message{{Epoch: m.Epoch, ACS: &acs.Message{Proposer: m.ACS.Proposer, ABA: &c}}}
			}
			if rm := m.ACS.RABA; rm != nil {
				c := *rm
				c.Value = flipRABA(c.Kind, c.Value)
				return []*epoch.Message{{Epoch: m.Epoch, ACS: &acs.Message{Proposer: m.ACS.Proposer, RABA: &c}}}
			}
		}
	case bSplitCoin:
		if m.ACS.RABA != nil && a.split != nil && a.split.helping() {
			return nil // it sends what each honest node needs when it sees its estimate
		}
		// Its own Bracha step messages get their values on the way (see
		// splitter.faultyValue).
	}
	return []*epoch.Message{m}
}

// flipRABA negates a quadratic agreement value: a binary value, a set ({0}
// and {1} swap) or a Final (⊥ stays).
func flipRABA(k raba.Kind, v uint8) uint8 {
	switch k {
	case raba.KindConf:
		if v == raba.SetZero || v == raba.SetOne {
			return v ^ (raba.SetZero | raba.SetOne)
		}
		return v
	case raba.KindFinal:
		if v == raba.Bottom {
			return v
		}
		return 1 - v&1
	case raba.KindCoin:
		return v
	}
	return 1 - v&1
}

func flipValue(k aba.Kind, step, v uint8) uint8 {
	switch {
	case k == aba.KindTerm || step < 3:
		return 1 - v&1
	case v == aba.Decide0:
		return aba.Decide1
	case v == aba.Decide1:
		return aba.Decide0
	}
	return aba.Undecided
}

// equivocate sends node to the VAL of one of two conflicting proposals, and
// makes every equivocating node echo and ready the same side to it.
func (a *adversary) equivocate(n *node, ep uint64, to protocol.NodeID) {
	s := a.s
	byProposer := a.codings[ep]
	if byProposer == nil {
		byProposer = make(map[protocol.NodeID]*[2]*rbc.Coding)
		a.codings[ep] = byProposer
	}
	pair := byProposer[n.id]
	if pair == nil {
		pair = new([2]*rbc.Coding)
		for side := range pair {
			tx := s.newTx([]string{"equivocation-a", "equivocation-b"}[side])
			prop := epoch.Proposal{Time: s.now + n.skew, Txs: [][]byte{tx}}
			c, err := rbc.Encode(s.p, prop.Marshal())
			if err != nil {
				panic(err)
			}
			pair[side] = c
		}
		byProposer[n.id] = pair
	}
	c := pair[a.side(to)]
	wrap := func(r *rbc.Message) *epoch.Message {
		return &epoch.Message{Epoch: ep, ACS: &acs.Message{Proposer: n.id, RBC: r}}
	}
	a.sendOne(n, to, wrap(c.Message(rbc.KindVal, int(to))))
	for _, q := range s.nodes {
		if q.faulty && q.behaviour == bEquivocate && !s.crashed(q) {
			a.sendOne(q, to, wrap(c.Message(rbc.KindEcho, int(q.id))))
			a.sendOne(q, to, wrap(c.Message(rbc.KindReady, 0)))
		}
	}
}

// badShard corrupts an RBC message: a flipped shard byte (bad branch), a
// shard of a commitment that is no codeword, a wrong index, or a wrong root.
func (a *adversary) badShard(n *node, m *epoch.Message, to protocol.NodeID) *epoch.Message {
	s := a.s
	r := *m.ACS.RBC
	switch {
	case r.Kind == rbc.KindVal && s.rng.IntN(2) == 0:
		c := a.inconsistentCoding(n, m.Epoch, len(r.Shard))
		r = *c.Message(rbc.KindVal, int(to))
	case r.Kind != rbc.KindReady && len(r.Shard) > 0 && s.rng.IntN(3) > 0:
		shard := append([]byte(nil), r.Shard...)
		shard[s.rng.IntN(len(shard))] ^= 1 << s.rng.IntN(8)
		r.Shard = shard
	case r.Kind == rbc.KindEcho && s.rng.IntN(2) == 0:
		r.Index = uint16(s.rng.IntN(s.cfg.N))
	case r.Kind == rbc.KindReady && s.rng.IntN(2) == 0:
		r.Root[s.rng.IntN(32)] ^= 1
	}
	return &epoch.Message{Epoch: m.Epoch, ACS: &acs.Message{Proposer: m.ACS.Proposer, RBC: &r}}
}

func (a *adversary) inconsistentCoding(n *node, ep uint64, size int) *rbc.Coding {
	byProposer := a.inconsistent[ep]
	if byProposer == nil {
		byProposer = make(map[protocol.NodeID]*rbc.Coding)
		a.inconsistent[ep] = byProposer
	}
	if c := byProposer[n.id]; c != nil {
		return c
	}
	shards := make([][]byte, a.s.cfg.N)
	for i := range shards {
		shards[i] = make([]byte, max(size, 1))
		for j := range shards[i] {
			shards[i][j] = byte(a.s.rng.Uint32())
		}
	}
	c := rbc.Commit(shards)
	byProposer[n.id] = c
	return c
}

// extras are the messages a faulty node adds to its bundle for one node
// besides its transformed ones; a whole packet of garbage or an oversized one
// is sent on its own.
func (a *adversary) extras(n *node, m *epoch.Message, to protocol.NodeID) [][]byte {
	s := a.s
	switch n.behaviour {
	case bReplay:
		if len(n.history) > 0 && s.rng.IntN(4) == 0 {
			return [][]byte{n.history[s.rng.IntN(len(n.history))]}
		}
	case bGarbage:
		switch s.rng.IntN(10) {
		case 0:
			g := make([]byte, s.rng.IntN(300))
			for i := range g {
				g[i] = byte(s.rng.Uint32())
			}
			s.send(n, to, g, 1)
		case 1:
			if a.oversized == nil {
				a.oversized = make([]byte, MaxMessageSize+1)
			}
			s.send(n, to, a.oversized, 1)
		case 2:
			far := *m
			far.Epoch += uint64(s.cfg.Window) + uint64(s.rng.IntN(1_000_000))
			return [][]byte{far.Marshal()}
		case 3:
			b := m.Marshal()
			a.s.send(n, to, epoch.MarshalBundle([][]byte{append(b, 0)}), 1) // trailing byte
		}
	}
	return nil
}
