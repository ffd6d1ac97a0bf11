package ledger

import (
	"encoding/binary"

	"github.com/mass-consensus/mass/internal/protocol/epoch"
)

// RecentTxs is how many of the latest committed transactions a node
// remembers to refuse their resubmission as duplicates (ErrDuplicate).
// An older transaction submitted again is not refused by the node: the
// application refuses replays (the organization application by nonces),
// as the consensus core does within its deduplication window.
const RecentTxs = 1 << 18

// recentSet is a bounded set of the latest committed transaction hashes:
// a ring of the last RecentTxs, with a count of each in the ring. It keys
// them by their first eight bytes: a small map of integers is several
// times faster than one of 32-byte arrays, and a SHA-256 prefix of 64 bits
// matches another transaction's only by a second preimage (2^64 tries),
// which at worst refuses that submission.
type recentSet struct {
	ring  []uint64
	next  int
	count map[uint64]uint16
}

func recentKey(h epoch.TxHash) uint64 { return binary.LittleEndian.Uint64(h[:8]) }

func (r *recentSet) add(h epoch.TxHash) {
	k := recentKey(h)
	if r.count == nil {
		r.count = make(map[uint64]uint16, 1024)
	}
	if len(r.ring) < RecentTxs {
		r.ring = append(r.ring, k)
	} else {
		old := r.ring[r.next]
		if c := r.count[old]; c <= 1 {
			delete(r.count, old)
		} else {
			r.count[old] = c - 1
		}
		r.ring[r.next] = k
		r.next = (r.next + 1) % RecentTxs
	}
	r.count[k]++
}

func (r *recentSet) has(h epoch.TxHash) bool { return r.count[recentKey(h)] > 0 }
