package sale

import (
	"github.com/mass-consensus/mass/internal/crypto"
)

// Env is what a block gives the sale: its height, its time (Unix ms, the
// median of the nodes' clocks) and its seed. Submission is set when a
// request is checked at submission (CheckTx), against the last block's
// time: the bound on stamps ahead of the block time is then left to the
// block, whose time will be later.
type Env struct {
	Height     uint64
	Time       int64
	Seed       [32]byte
	Submission bool
	// StampsVerified says that the caller verified the signatures of the
	// request's stamps (AddStamps, in a batch with other signatures, the
	// same validity rule): Check then checks everything else and does not
	// verify them again. False, Check verifies them.
	StampsVerified bool
}

// Check checks a request against its sale, without the state beyond the
// sale's record: the phase, the quantity, the buyer's admission (member,
// or the proof of work), then the stamps — exactly 2f+1, in increasing
// order of node key (so distinct), each by a node of the sale's set, each
// in the window, each within MaxAge of the block time, each signature
// valid — and returns the request's fair time. The cheap checks come
// first; the signatures last. The error is a *Refusal wrapping the first
// reason found.
func Check(s *Sale, chainID string, q *Request, member bool, env Env) (int64, error) {
	if err := checkHead(s, chainID, q, member); err != nil {
		return 0, err
	}
	if err := checkStamps(s, q.Stamps, env); err != nil {
		return 0, err
	}
	if !env.StampsVerified {
		if err := verifyStamps(s, chainID, q); err != nil {
			return 0, err
		}
	}
	return FairTime(Times(q.Stamps)), nil
}

func checkHead(s *Sale, chainID string, q *Request, member bool) error {
	switch {
	case q.Sale != s.ID:
		return refuse(ErrNoSale, "the request is for sale %d, not %d", q.Sale, s.ID)
	case s.State != StateOpen:
		return refuse(ErrClosed, "sale %d is %s", s.ID, s.State)
	case q.Quantity == 0 || q.Quantity > s.Params.PerRequest:
		return refuse(ErrQuantity, "%d items asked, 1 … %d per request", q.Quantity, s.Params.PerRequest)
	case member:
		return nil
	case s.Params.Difficulty == 0:
		return refuse(ErrNotMember, "%s is not a member", q.Identity())
	case !CheckPoW(chainID, s.ID, q.Buyer, q.Nonce, s.Params.Difficulty):
		return refuse(ErrBadPoW, "nonce %d gives %d leading zero bits, the sale asks %d", q.Nonce,
			LeadingZeros(PoWHash(chainID, s.ID, q.Buyer, q.Nonce)), s.Params.Difficulty)
	}
	return nil
}

func checkStamps(s *Sale, stamps []Stamp, env Env) error {
	if len(stamps) != s.Quorum() {
		return refuse(ErrStampCount, "%d stamps, the sale's %d nodes need exactly %d", len(stamps), len(s.Nodes), s.Quorum())
	}
	lo := env.Time - int64(s.Params.MaxAge)
	hi := addTime(env.Time, s.Params.MaxAge)
	for i, st := range stamps {
		if i > 0 {
			switch c := compareKeys(st.Node, stamps[i-1].Node); {
			case c == 0:
				return refuse(ErrDupSigner, "stamps %d and %d are both by node %s", i-1, i, st.Node)
			case c < 0:
				return refuse(ErrUnordered, "stamp %d's node is before stamp %d's", i, i-1)
			}
		}
		switch {
		case !s.isNode(st.Node):
			return refuse(ErrNotNode, "stamp %d is by %s, not a node of sale %d", i, st.Node, s.ID)
		case st.Time < s.Opens || st.Time >= s.Closes:
			return refuse(ErrWindow, "stamp %d at %d, the window is [%d, %d)", i, st.Time, s.Opens, s.Closes)
		case st.Time < lo || !env.Submission && st.Time > hi:
			return refuse(ErrStale, "stamp %d at %d, the block time %d ± %d ms", i, st.Time, env.Time, s.Params.MaxAge)
		}
	}
	return nil
}

// AddStamps adds the signatures of a request's stamps to a batch, one
// entry per stamp in order, so that a block's stamps are verified together
// with its transactions' signatures (Env.StampsVerified). What they sign
// needs no state: the chain, the sale's ID, the request's hash, the time.
func AddStamps(b *crypto.Batch, chainID string, q *Request) {
	h := q.Hash(chainID)
	for _, st := range q.Stamps {
		b.Add(st.Node, DomainStamp, StampMessage(chainID, q.Sale, h, st.Time), st.Sig)
	}
}

// verifyStamps checks the stamps' signatures, as one batch (the same
// validity rule as one by one, package crypto).
func verifyStamps(s *Sale, chainID string, q *Request) error {
	b := crypto.NewBatch(len(q.Stamps))
	AddStamps(b, chainID, q) // q.Sale is s.ID: checkHead checked it
	valid, err := b.Verify()
	if err == nil {
		return nil
	}
	for i, ok := range valid {
		if !ok {
			return refuse(ErrBadSignature, "stamp %d (by %s) does not verify", i, q.Stamps[i].Node)
		}
	}
	return refuse(ErrBadSignature, "%v", err)
}
