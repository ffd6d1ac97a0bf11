package sale

import (
	"fmt"

	"github.com/mass-consensus/mass/internal/crypto"
)

// Stamper is a node's signer of stamps, what its stamping route wraps: it
// signs (sale, request hash, the clock reading it is given) at most once
// per sale and identity — asked again for the same request it returns the
// same stamp, asked for another request of the same identity it refuses —
// and it refuses what the application would refuse anyway: a request
// outside the window, a quantity out of range, a non-member's key without
// the proof of work. Its memory is bounded: at most MaxPerSale identities
// per sale (then it refuses new ones: a garbage maker with valid proofs of
// work fills a node's memory, not the sale, and an honest buyer still gets
// stamps from the other nodes) and at most MaxOpen sales (Forget drops a
// closed one).
//
// A Stamper is not safe for concurrent use; the route serializes calls
// (one mutex: a stamp is a signature, ~20 µs). It reads no clock: the
// route passes its clock's reading.
type Stamper struct {
	key        *crypto.PrivateKey
	chainID    string
	maxPerSale int
	sales      map[uint64]map[crypto.ID]Stamp
	hashes     map[uint64]map[crypto.ID][32]byte
}

// DefaultStamperFactor is MaxPerSale, by default, as a multiple of the
// sale's MaxRequests.
const DefaultStamperFactor = 4

// NewStamper returns a stamper signing with key for chainID that remembers
// at most maxPerSale identities per sale (0: DefaultStamperFactor times
// the sale's MaxRequests).
func NewStamper(key *crypto.PrivateKey, chainID string, maxPerSale int) *Stamper {
	return &Stamper{key: key, chainID: chainID, maxPerSale: maxPerSale,
		sales: map[uint64]map[crypto.ID]Stamp{}, hashes: map[uint64]map[crypto.ID][32]byte{}}
}

// Stamp stamps a request (its stamps, if any, ignored) at the clock
// reading now, for the sale as the node's latest state has it; member says
// whether the buyer is a member there.
func (st *Stamper) Stamp(sl *Sale, q *Request, member bool, now int64) (Stamp, error) {
	if err := checkHead(sl, st.chainID, q, member); err != nil {
		return Stamp{}, err
	}
	if !sl.isNode(st.key.Public()) {
		return Stamp{}, refuse(ErrNotNode, "this node is not in sale %d's node set", sl.ID)
	}
	if now < sl.Opens || now >= sl.Closes {
		return Stamp{}, refuse(ErrWindow, "the clock reads %d, the window is [%d, %d)", now, sl.Opens, sl.Closes)
	}
	h := q.Hash(st.chainID)
	who := q.Identity()
	seen, ok := st.sales[sl.ID]
	if !ok {
		if len(st.sales) >= MaxOpen {
			return Stamp{}, refuse(ErrTooMany, "stamping for %d sales already", MaxOpen)
		}
		seen = map[crypto.ID]Stamp{}
		st.sales[sl.ID], st.hashes[sl.ID] = seen, map[crypto.ID][32]byte{}
	}
	if old, ok := seen[who]; ok {
		if st.hashes[sl.ID][who] != h {
			return Stamp{}, refuse(ErrDuplicate, "%s was stamped for another request of sale %d", who, sl.ID)
		}
		return old, nil
	}
	if len(seen) >= st.limit(sl) {
		return Stamp{}, refuse(ErrFull, "this node stamped %d identities for sale %d, its limit", len(seen), sl.ID)
	}
	s := SignStamp(st.key, st.chainID, sl.ID, h, now)
	seen[who], st.hashes[sl.ID][who] = s, h
	return s, nil
}

func (st *Stamper) limit(sl *Sale) int {
	if st.maxPerSale > 0 {
		return st.maxPerSale
	}
	return DefaultStamperFactor * int(sl.Params.MaxRequests)
}

// Forget drops what the stamper remembers of a sale (closed, or no longer
// in the state).
func (st *Stamper) Forget(sale uint64) {
	delete(st.sales, sale)
	delete(st.hashes, sale)
}

// Remembered is the number of identities remembered for a sale.
func (st *Stamper) Remembered(sale uint64) int { return len(st.sales[sale]) }

// String describes the stamper.
func (st *Stamper) String() string {
	return fmt.Sprintf("stamper %s (%d sales)", st.key.Public(), len(st.sales))
}
