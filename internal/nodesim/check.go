package nodesim

import (
	"fmt"
	"slices"
	"strings"

	"github.com/mass-consensus/mass/internal/chain"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/ledger"
	"github.com/mass-consensus/mass/internal/node"
	"github.com/mass-consensus/mass/internal/protocol/epoch"
	"github.com/mass-consensus/mass/internal/protocol/raba"
	"github.com/mass-consensus/mass/internal/protocol/rbc"
)

// watcher is the checkers: they see what crosses the network and what
// the nodes report, never the nodes' insides.
//   - agreement and total order: one certified block per height, on
//     every node, ever;
//   - no node signs two blocks at one height, proposes two values in one
//     epoch, or sends READY for two values of one broadcast (every node
//     here is honest, crashes and all);
//   - nothing certified is lost across a restart;
//   - every member of an era derives the same threshold keys after the
//     same block and switches to the threshold coin at the same epoch,
//     across restarts, and a Byzantine dealer's part is left out;
//   - liveness: once faults stop, every node reaches the same certified
//     height, equal to its applied height, with every accepted
//     transaction in exactly one block, within the settle time.
type watcher struct {
	s          *Sim
	violations []string
	chain      map[uint64]chain.Hash // height → the certified block's hash
	seenUpTo   []uint64              // per node, the certified height checked
	votes      map[[2]uint64]crypto.Signature
	proposals  map[[2]uint64][32]byte // (sender, epoch) → root
	readies    map[[3]uint64][32]byte // (sender, epoch, proposer) → root
	votes1     map[voteKey]uint8      // one-per-round agreement messages → value
	taken      map[epoch.TxHash]bool
	keys       map[int]keyView // era → the keys the first member reported
	keyed      map[int]bool    // the genesis nodes that have the genesis era's keys
}

// keyView is what a node reports of an era's threshold keys.
type keyView struct {
	node     int
	at, from uint64
	group    string
}

func newWatcher(s *Sim) *watcher {
	return &watcher{s: s, chain: map[uint64]chain.Hash{}, seenUpTo: make([]uint64, len(s.members)),
		votes: map[[2]uint64]crypto.Signature{}, proposals: map[[2]uint64][32]byte{},
		readies: map[[3]uint64][32]byte{}, votes1: map[voteKey]uint8{}, taken: map[epoch.TxHash]bool{},
		keys: map[int]keyView{}, keyed: map[int]bool{}}
}

func (w *watcher) violate(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	w.violations = append(w.violations, fmt.Sprintf("at %d ms: %s", w.s.now, msg))
}

// observeSend watches a message as it leaves a node.
func (s *Sim) observeSend(from, _ int, msg []byte) {
	w := s.watch
	if height, v, ok := ledger.DecodeVote(msg); ok {
		k := [2]uint64{uint64(from), height}
		if old, seen := w.votes[k]; seen && old != v.Sig {
			w.violate("node %d signed two different blocks at height %d", from, height)
		}
		w.votes[k] = v.Sig
		return
	}
	msgs, ok := ledger.DecodeConsensus(msg, len(s.members))
	if !ok {
		return
	}
	for _, m := range msgs {
		switch {
		case m.ACS == nil:
		case m.ACS.RBC != nil:
			w.observeBroadcast(from, m.Epoch, uint64(m.ACS.Proposer), m.ACS.RBC)
		case m.ACS.RABA != nil:
			w.observeAgreement(from, m.Epoch, uint64(m.ACS.Proposer), m.ACS.RABA)
		}
	}
}

// voteKey names an agreement message a node sends once: its sender,
// epoch, instance, kind and round.
type voteKey struct {
	from, epoch, proposer uint64
	kind                  raba.Kind
	round                 uint32
}

// observeAgreement checks that a node sends Aux, Conf, Final and Term at
// most once per round, whatever crashed in between (BVal it may send for
// both values).
func (w *watcher) observeAgreement(from int, ep, proposer uint64, m *raba.Message) {
	switch m.Kind {
	case raba.KindAux, raba.KindConf, raba.KindFinal, raba.KindTerm:
	default:
		return
	}
	k := voteKey{uint64(from), ep, proposer, m.Kind, m.Round}
	if old, seen := w.votes1[k]; seen && old != m.Value {
		w.violate("node %d sent %s and then %d in epoch %d, agreement %d", from, m, old, ep, proposer)
	}
	w.votes1[k] = m.Value
}

func (w *watcher) observeBroadcast(from int, ep, proposer uint64, m *rbc.Message) {
	switch m.Kind {
	case rbc.KindVal:
		k := [2]uint64{uint64(from), ep}
		if old, seen := w.proposals[k]; seen && old != m.Root {
			w.violate("node %d proposed two values in epoch %d", from, ep)
		}
		w.proposals[k] = m.Root
	case rbc.KindReady:
		k := [3]uint64{uint64(from), ep, proposer}
		if old, seen := w.readies[k]; seen && old != m.Root {
			w.violate("node %d sent READY for two values of proposer %d in epoch %d", from, proposer, ep)
		}
		w.readies[k] = m.Root
	}
}

func (w *watcher) accepted(tx []byte) { w.taken[hashTx(tx)] = true }

// afterStep checks the blocks a node certified since it was last seen.
func (w *watcher) afterStep(i int) {
	m := w.s.members[i]
	st := m.node.Status()
	m.certified = max(m.certified, st.Certified)
	w.checkKeys(i, st)
	for h := w.seenUpTo[i] + 1; h <= st.Certified; h++ {
		b, _, err := m.node.Block(h)
		if err != nil {
			w.violate("node %d reports certified height %d but has no block %d: %v", i, st.Certified, h, err)
			return
		}
		hash := b.Hash()
		if old, ok := w.chain[h]; ok && old != hash {
			w.violate("node %d certified block %x at height %d, another node %x", i, hash[:6], h, old[:6])
		}
		w.chain[h] = hash
		w.seenUpTo[i] = h
	}
}

// checkKeys compares a member's threshold keys with the other members' of
// its era.
func (w *watcher) checkKeys(i int, st node.Status) {
	if !st.Member || st.KeysAt == 0 {
		return
	}
	if st.Era == 0 && !w.keyed[i] {
		w.keyed[i] = true
		if len(w.keyed) == w.s.cfg.N {
			w.s.stats.KeysMs = w.s.now
		}
	}
	v := keyView{node: i, at: st.KeysAt, from: st.CoinFrom, group: st.GroupKey}
	old, seen := w.keys[st.Era]
	if !seen {
		w.keys[st.Era] = v
		if w.s.cfg.BadDealer && st.Era == 0 && slices.Contains(st.KeyDealers, badDealer) {
			w.violate("node %d made era 0's keys with the Byzantine dealer's part: dealers %v", i, st.KeyDealers)
		}
		return
	}
	if old.at != v.at || old.from != v.from || old.group != v.group {
		w.violate("era %d: node %d has keys from block %d, coin from epoch %d, group %.12s; node %d from block %d, epoch %d, group %.12s",
			st.Era, i, v.at, v.from, v.group, old.node, old.at, old.from, old.group)
	}
}

// noneDropped checks that a node kept every message it was sent for
// later: with no Byzantine node, none may fall off its bounded buffer.
func (w *watcher) noneDropped(i int) {
	if d := w.s.members[i].node.Counters.FutureDropped.Load(); d > 0 {
		w.violate("node %d dropped %d messages it kept for later", i, d)
	}
}

// check runs the periodic checks.
func (w *watcher) check() {
	for i, m := range w.s.members {
		if m.up {
			if st := m.node.Status(); st.Certified > st.Height {
				w.violate("node %d certified %d beyond its applied height %d", i, st.Certified, st.Height)
			}
		}
	}
}

// converged says whether every node runs, all at one certified height
// equal to their applied heights, with every accepted transaction
// committed.
func (w *watcher) converged() bool {
	if o := w.s.org; o != nil && !o.settled() {
		return false
	}
	var height uint64
	for i, m := range w.s.members {
		if !m.up {
			return false
		}
		st := m.node.Status()
		if st.Certified != st.Height || (i > 0 && st.Height != height) {
			return false
		}
		if o := w.s.org; o != nil && o.done && st.Era == 0 {
			return false // the passed proposal's node set is not in force yet
		}
		if st.Member && st.KeysAt == 0 {
			return false // the era's keys are not made yet
		}
		height = st.Height
	}
	ref := w.s.members[0].node
	for h := range w.taken {
		if _, ok, _, err := ref.TxStatus(h); err != nil || !ok {
			return false
		}
	}
	return true
}

// final checks the converged chains: identical everywhere, each accepted
// transaction in exactly one block.
func (w *watcher) final() {
	st := w.s.members[0].node.Status()
	height := st.Certified
	w.s.stats.Height, w.s.stats.Era, w.s.stats.KeyEras = height, st.Era, len(w.keys)
	count := map[epoch.TxHash]int{}
	for h := uint64(1); h <= height; h++ {
		var first *chain.Block
		for i, m := range w.s.members {
			b, _, err := m.node.Block(h)
			if err != nil {
				w.violate("node %d has no certified block %d: %v", i, h, err)
				return
			}
			if first == nil {
				first = b
				continue
			}
			if b.Hash() != first.Hash() {
				w.violate("nodes 0 and %d hold different blocks at height %d", i, h)
			}
		}
		for _, tx := range first.Txs {
			count[hashTx(tx)]++
		}
	}
	for h := range w.taken {
		if count[h] != 1 {
			w.violate("accepted transaction %x is in %d blocks", h[:6], count[h])
		}
	}
	w.s.stats.Accepted = len(w.taken)
	for i := range w.s.members {
		w.noneDropped(i)
	}
}

// stalled reports the nodes that did not converge in time.
func (w *watcher) stalled() {
	var parts []string
	for i, m := range w.s.members {
		if !m.up {
			parts = append(parts, fmt.Sprintf("node %d down", i))
			continue
		}
		st := m.node.Status()
		parts = append(parts, fmt.Sprintf("node %d applied %d certified %d epoch %d era %d member %v pending %d key parts %d keys at %d",
			i, st.Height, st.Certified, st.Epoch, st.Era, st.Member, st.Pending, st.KeyParts, st.KeysAt))
	}
	missing := 0
	for h := range w.taken {
		if _, ok, _, _ := w.s.members[0].node.TxStatus(h); !ok {
			missing++
		}
	}
	w.violate("no convergence %d ms after the faults stopped (%d accepted transactions not committed at node 0): %s",
		w.s.cfg.Settle, missing, strings.Join(parts, "; "))
}
