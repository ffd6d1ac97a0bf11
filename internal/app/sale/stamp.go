package sale

import (
	"crypto/sha256"
	"fmt"
	"slices"

	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/wire"
)

// DomainStamp is the domain tag of a node's stamp signature.
const DomainStamp = "mass/sale/stamp/v1"

// StampSize is a stamp's encoded size: node:[32] ‖ time:i64 ‖ sig:[64].
const StampSize = crypto.PublicKeySize + 8 + crypto.SignatureSize

// MaxChainID bounds the chain ID in the signed messages (tx.MaxChainID).
const MaxChainID = 64

// Stamp is a node's statement that it saw a request at a time of its own
// clock: its key, the time (Unix ms) and its signature over StampMessage.
type Stamp struct {
	Node crypto.PublicKey
	Time int64
	Sig  crypto.Signature
}

// Request is a buyer's request: the sale, the buyer's key (the sender of
// the transaction; its account ID is the buyer's identity), the quantity,
// the proof-of-work nonce (a non-member's; 0 for a member) and exactly 2f+1
// stamps from distinct nodes of the sale's node set, in increasing order of
// node key.
type Request struct {
	Sale     uint64
	Buyer    crypto.PublicKey
	Quantity uint32
	Nonce    uint64
	Stamps   []Stamp
}

// Identity is the buyer's identity: its account ID.
func (q *Request) Identity() crypto.ID { return q.Buyer.ID() }

// Hash is what the nodes stamp: SHA-256("mass/sale/request/v1" ‖ 0x00 ‖
// len(chain id):u8 ‖ chain id ‖ sale:u64 ‖ buyer:[32] ‖ quantity:u32 ‖
// nonce:u64). The stamps are not part of it.
func (q *Request) Hash(chainID string) [32]byte {
	w := wire.NewWriter(128)
	w.Raw([]byte("mass/sale/request/v1\x00"))
	w.U8(uint8(len(chainID)))
	w.Raw([]byte(chainID))
	w.U64(q.Sale)
	w.Raw(q.Buyer[:])
	w.U32(q.Quantity)
	w.U64(q.Nonce)
	return sha256.Sum256(w.Finish())
}

// MarshalTo appends the request's encoding: sale:u64 ‖ buyer:[32] ‖
// quantity:u32 ‖ nonce:u64 ‖ count:u8 ‖ (node:[32] ‖ time:i64 ‖
// sig:[64]) × count.
func (q *Request) MarshalTo(w *wire.Writer) {
	w.U64(q.Sale)
	w.Raw(q.Buyer[:])
	w.U32(q.Quantity)
	w.U64(q.Nonce)
	w.U8(uint8(len(q.Stamps)))
	for _, s := range q.Stamps {
		w.Raw(s.Node[:])
		w.I64(s.Time)
		w.Raw(s.Sig[:])
	}
}

// ReadRequest decodes a request. It checks the structure (quantity above
// 0, 1 … MaxStamps stamps), not the stamps against a sale: Check does.
func ReadRequest(r *wire.Reader) (Request, error) {
	q := Request{Sale: r.U64("sale")}
	copy(q.Buyer[:], r.Raw(crypto.PublicKeySize, "buyer"))
	q.Quantity = r.U32("quantity")
	q.Nonce = r.U64("nonce")
	n := int(r.U8("stamps"))
	if r.Err() == nil && (n == 0 || n > MaxStamps) {
		r.Fail("stamps out of 1 … MaxStamps")
	}
	for i := 0; i < n && r.Err() == nil; i++ {
		var s Stamp
		copy(s.Node[:], r.Raw(crypto.PublicKeySize, "stamp node"))
		s.Time = r.I64("stamp time")
		copy(s.Sig[:], r.Raw(crypto.SignatureSize, "stamp signature"))
		q.Stamps = append(q.Stamps, s)
	}
	if r.Err() != nil {
		return q, r.Err()
	}
	if q.Quantity == 0 {
		return q, fmt.Errorf("%w: a quantity of 0", ErrMalformed)
	}
	return q, nil
}

// StampMessage is what a node signs (under DomainStamp): len(chain id):u8
// ‖ chain id ‖ sale:u64 ‖ request hash:[32] ‖ time:i64. The chain ID keeps
// a stamp from one network off another, the sale and the request hash
// bind it to one buyer's one request.
func StampMessage(chainID string, sale uint64, hash [32]byte, t int64) []byte {
	w := wire.NewWriter(1 + len(chainID) + 48)
	w.U8(uint8(len(chainID)))
	w.Raw([]byte(chainID))
	w.U64(sale)
	w.Raw(hash[:])
	w.I64(t)
	return w.Finish()
}

// SignStamp is a node's stamp of a request hash at its clock reading t.
func SignStamp(key *crypto.PrivateKey, chainID string, sale uint64, hash [32]byte, t int64) Stamp {
	return Stamp{Node: key.Public(), Time: t, Sig: key.Sign(DomainStamp, StampMessage(chainID, sale, hash, t))}
}

// Verify checks the stamp's signature for a request hash.
func (s Stamp) Verify(chainID string, sale uint64, hash [32]byte) error {
	return s.Node.Verify(DomainStamp, StampMessage(chainID, sale, hash, s.Time), s.Sig)
}

// FairTime is the fair time of 2f+1 stamps: the (f+1)-th smallest of their
// times, their median.
//
// It lies within the honest nodes' readings, whatever f Byzantine nodes
// sign. Of 2f+1 stamps from distinct nodes at most f are Byzantine, so at
// least f+1 are honest. Let m be the (f+1)-th smallest. The f+1 stamps at
// positions 1 … f+1 are ≤ m; they cannot all be Byzantine (there are at
// most f), so some honest stamp is ≤ m: m ≥ the smallest honest reading.
// The f+1 stamps at positions f+1 … 2f+1 are ≥ m; likewise one is honest:
// m ≤ the largest honest reading. So a buyer and its f Byzantine friends
// can pull the fair time no earlier than the earliest honest node's reading
// of the request, and f Byzantine nodes denying a victim can push it no
// later than the latest honest reading (and the victim, who picks which
// 2f+1 stamps to send from the n − f ≥ 2f+1 honest ones, need not use
// theirs). The minimum or the mean would have no such bound: one Byzantine
// stamp moves them anywhere (TestColludersMedianNotMin shows it).
//
// times must hold 2f+1 values, f ≥ 0; it is not changed.
func FairTime(times []int64) int64 {
	s := slices.Clone(times)
	slices.Sort(s)
	return s[len(s)/2]
}

// Times returns the stamps' times.
func Times(stamps []Stamp) []int64 {
	out := make([]int64, len(stamps))
	for i, s := range stamps {
		out[i] = s.Time
	}
	return out
}

// Choose picks, from the stamps a buyer gathered (from any nodes, in any
// order, some maybe invalid or duplicated), the quorum that gives its
// request the earliest fair time: the quorum earliest valid stamps of
// distinct nodes of the sale within its window, in increasing order of
// node key, ready for Request.Stamps. It returns an error if fewer than a
// quorum qualify. A buyer's client (the CLI) calls it; any buyer may, so
// it gives no one an edge.
func Choose(s *Sale, chainID string, hash [32]byte, stamps []Stamp) ([]Stamp, error) {
	valid := make([]Stamp, 0, len(stamps))
	seen := make(map[crypto.PublicKey]bool, len(stamps))
	for _, st := range stamps {
		if seen[st.Node] || !s.isNode(st.Node) || st.Time < s.Opens || st.Time >= s.Closes {
			continue
		}
		if st.Verify(chainID, s.ID, hash) != nil {
			continue
		}
		seen[st.Node] = true
		valid = append(valid, st)
	}
	q := s.Quorum()
	if len(valid) < q {
		return nil, fmt.Errorf("%w: %d valid stamps of distinct nodes, a request needs %d", ErrStampCount, len(valid), q)
	}
	slices.SortStableFunc(valid, func(a, b Stamp) int {
		switch {
		case a.Time < b.Time:
			return -1
		case a.Time > b.Time:
			return 1
		}
		return compareKeys(a.Node, b.Node)
	})
	out := valid[:q]
	slices.SortFunc(out, func(a, b Stamp) int { return compareKeys(a.Node, b.Node) })
	return out, nil
}

func (s *Sale) isNode(k crypto.PublicKey) bool {
	_, ok := slices.BinarySearchFunc(s.Nodes, k, compareKeys)
	return ok
}
