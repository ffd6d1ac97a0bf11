package coin

import (
	"encoding/binary"

	"github.com/mass-consensus/mass/internal/crypto/tbls"
	"github.com/mass-consensus/mass/internal/protocol"
)

// Faults of the threshold coin.
const (
	FaultBadShare   protocol.FaultKind = "coin: malformed or invalid signature share"
	FaultForeignIdx protocol.FaultKind = "coin: signature share of another node"
)

// NameSize is the size of a coin's name.
const NameSize = 8 + 8 + 2 + 4

// Name is the name of the coin of one round of one binary agreement: the
// era, the epoch, the proposer the agreement is about, and the round, each
// big-endian (8, 8, 2 and 4 bytes). The threshold coin's value is the low
// bit of the last byte of SHA-256 of the group's BLS signature on
// "mass/coin/v1" ‖ Name (package tbls).
func Name(era, epoch uint64, proposer protocol.NodeID, round uint32) []byte {
	b := make([]byte, NameSize)
	binary.BigEndian.PutUint64(b, era)
	binary.BigEndian.PutUint64(b[8:], epoch)
	binary.BigEndian.PutUint16(b[16:], uint16(proposer))
	binary.BigEndian.PutUint32(b[18:], round)
	return b
}

// Keys are a node's threshold keys for one era: the group's public key (with
// every node's key share) and the node's own secret share.
type Keys struct {
	Public *tbls.PublicKey
	Share  tbls.SecretShare
}

// Threshold is the common coin of one binary agreement: to toss round r, a
// node signs the coin's name with its secret share and sends the signature
// share to every node; any T = F+1 valid shares give the group signature,
// the same at every node, and its hash the coin. Fewer than F+1 shares, all
// of them from faulty nodes at most F, reveal nothing of it: the coin of a
// round is unpredictable until an honest node has tossed it.
//
// Shares are checked lazily: once T shares of a round the node needs are in,
// they are interpolated and only the result is checked (one pairing check);
// if it fails, each share is checked, the bad ones are reported as faults
// and dropped, and the coin waits for more. A node's share counts once per
// round; shares arrive for rounds the node has not reached and are kept
// until it tosses them (the agreement bounds how far ahead it accepts).
type Threshold struct {
	keys   *Keys
	self   protocol.NodeID
	era    uint64
	epoch  uint64
	prop   protocol.NodeID
	rounds map[uint32]*coinRound
}

type coinRound struct {
	tossed bool // this node asked for the value (and sent its share)
	known  bool
	value  bool
	from   map[protocol.NodeID]bool // senders whose share is in shares or was refused
	shares []tbls.SigShare          // in arrival order; own share first once tossed
}

var _ Coin = (*Threshold)(nil)

// NewThreshold returns the threshold coin of the agreement about proposer
// prop in an epoch of an era, for node self holding keys.
func NewThreshold(keys *Keys, self protocol.NodeID, era, epoch uint64, prop protocol.NodeID) *Threshold {
	return &Threshold{keys: keys, self: self, era: era, epoch: epoch, prop: prop, rounds: make(map[uint32]*coinRound)}
}

// Common is true: every honest node gets the same value.
func (c *Threshold) Common() bool { return true }

func (c *Threshold) round(r uint32) *coinRound {
	cr := c.rounds[r]
	if cr == nil {
		cr = &coinRound{from: make(map[protocol.NodeID]bool)}
		c.rounds[r] = cr
	}
	return cr
}

func (c *Threshold) name(r uint32) []byte { return Name(c.era, c.epoch, c.prop, r) }

// Toss sends this node's share of round r and outputs the coin once F+1
// shares are in (at once if they already are).
func (c *Threshold) Toss(r uint32) Step {
	var s Step
	cr := c.round(r)
	if cr.tossed {
		return s
	}
	cr.tossed = true
	sh, err := c.keys.Share.Sign(c.name(r))
	if err != nil {
		panic(err) // the node's own keys are checked when they are made
	}
	b, _ := sh.MarshalBinary()
	s.Broadcast(b)
	if !cr.from[c.self] {
		cr.from[c.self] = true
		cr.shares = append([]tbls.SigShare{sh}, cr.shares...)
	}
	c.try(&s, r, cr)
	return s
}

// HandleMessage takes another node's share of round r.
func (c *Threshold) HandleMessage(from protocol.NodeID, r uint32, msg []byte) Step {
	var s Step
	cr := c.round(r)
	if cr.known || cr.from[from] {
		return s
	}
	var sh tbls.SigShare
	if err := sh.UnmarshalBinary(msg); err != nil {
		cr.from[from] = true
		s.Fault(from, FaultBadShare)
		return s
	}
	if protocol.NodeID(sh.Index) != from {
		s.Fault(from, FaultForeignIdx)
		return s
	}
	cr.from[from] = true
	cr.shares = append(cr.shares, sh)
	c.try(&s, r, cr)
	return s
}

// try outputs the coin of a round this node tossed once enough valid shares
// are in.
func (c *Threshold) try(s *Step, r uint32, cr *coinRound) {
	t := c.keys.Public.T()
	if !cr.tossed || cr.known || len(cr.shares) < t {
		return
	}
	name := c.name(r)
	sig, err := c.keys.Public.Recover(name, cr.shares[:t])
	if err != nil {
		kept := cr.shares[:0]
		for _, sh := range cr.shares {
			if protocol.NodeID(sh.Index) == c.self || c.keys.Public.VerifyShare(name, sh) == nil {
				kept = append(kept, sh)
			} else {
				s.Fault(protocol.NodeID(sh.Index), FaultBadShare)
			}
		}
		cr.shares = kept
		if len(kept) < t {
			return
		}
		if sig, err = c.keys.Public.Recover(name, kept[:t]); err != nil {
			panic(err) // every share was checked
		}
	}
	cr.known, cr.value, cr.shares = true, tbls.CoinBit(sig), nil
	s.Emit(Toss{Round: r, Value: cr.value})
}
