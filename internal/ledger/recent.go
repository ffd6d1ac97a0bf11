package ledger

import "github.com/mass-consensus/mass/internal/protocol/epoch"

// RecentTxs is how many of the latest committed transactions a node
// remembers to refuse their resubmission as duplicates (ErrDuplicate).
// An older transaction submitted again is not refused by the node: the
// application refuses replays (the organization application by nonces),
// as the consensus core does within its deduplication window.
const RecentTxs = 1 << 18

// recentSet is a bounded set of the latest committed transaction hashes:
// a ring of the last RecentTxs, with a count of each in the ring.
type recentSet struct {
	ring  []epoch.TxHash
	next  int
	count map[epoch.TxHash]uint16
}

func (r *recentSet) add(h epoch.TxHash) {
	if r.count == nil {
		r.count = make(map[epoch.TxHash]uint16, 1024)
	}
	if len(r.ring) < RecentTxs {
		r.ring = append(r.ring, h)
	} else {
		old := r.ring[r.next]
		if c := r.count[old]; c <= 1 {
			delete(r.count, old)
		} else {
			r.count[old] = c - 1
		}
		r.ring[r.next] = h
		r.next = (r.next + 1) % RecentTxs
	}
	r.count[h]++
}

func (r *recentSet) has(h epoch.TxHash) bool { return r.count[h] > 0 }
