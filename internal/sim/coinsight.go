package sim

import (
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"

	"github.com/mass-consensus/mass/internal/crypto/tbls"
	"github.com/mass-consensus/mass/internal/protocol"
	"github.com/mass-consensus/mass/internal/protocol/coin"
	"github.com/mass-consensus/mass/internal/protocol/epoch"
	"github.com/mass-consensus/mass/internal/protocol/raba"
)

// era is the era of the simulated epochs: it only names their coins.
const era = 1

// dealKeys deals the threshold keys of a run, any F+1 shares of which sign:
// a trusted dealer seeded by the run's seed, standing in for the
// distributed key generation (tested in package crypto/dkg).
func dealKeys(cfg Config, p protocol.Params) []coin.Keys {
	var seed [8]byte
	binary.BigEndian.PutUint64(seed[:], cfg.Seed)
	pk, shares, err := tbls.Deal(cfg.N, p.F+1, rand.NewChaCha8(sha256.Sum256(append([]byte("mass/sim/threshold-keys/"), seed[:]...))))
	if err != nil {
		panic(err) // n is within the tbls bounds: Validate checked it
	}
	keys := make([]coin.Keys, cfg.N)
	for i := range keys {
		keys[i] = coin.Keys{Public: pk, Share: shares[i]}
	}
	return keys
}

// coinSight is what the adversary knows of the threshold coins. It holds
// the faulty nodes' secret shares, so it can sign their shares of any coin
// itself, and it sees every share honest nodes send. It knows the coin of a
// round once it holds F+1 valid shares of it, and computes it as a node
// does (Recover, then tbls.CoinBit): it never reads a node's state. With F
// faulty nodes that is the moment the first honest node tosses the coin,
// which it does only after its round's votes are fixed (package raba).
type coinSight struct {
	s       *sim
	pub     *tbls.PublicKey
	own     []tbls.SecretShare // the faulty nodes' secret shares
	all     []tbls.SecretShare // every share: foresight only (a test's predictable coin)
	coins   map[coinKey]*sighted
	retired uint64 // epochs below are output by every honest node
}

type coinKey struct {
	inst  instKey
	round uint32
}

// sighted is the adversary's view of one coin.
type sighted struct {
	known, value bool
	from         []bool          // honest senders whose share it holds
	honest       []tbls.SigShare // in the order seen
}

func newCoinSight(s *sim, keys []coin.Keys) *coinSight {
	cs := &coinSight{s: s, pub: keys[0].Public, coins: make(map[coinKey]*sighted)}
	for _, n := range s.nodes {
		if n.faulty {
			cs.own = append(cs.own, keys[n.id].Share)
		}
	}
	if s.cfg.foresight {
		for _, k := range keys {
			cs.all = append(cs.all, k.Share)
		}
	}
	return cs
}

// observe takes the share in a message honest node n sends.
func (cs *coinSight) observe(n *node, m *epoch.Message) {
	if m.ACS == nil || m.ACS.RABA == nil || m.ACS.RABA.Kind != raba.KindCoin || m.Epoch < cs.retired {
		return
	}
	k := coinKey{instKey{m.Epoch, m.ACS.Proposer}, m.ACS.RABA.Round}
	c := cs.coin(k)
	if c.known || c.from[n.id] {
		return
	}
	var sh tbls.SigShare
	if sh.UnmarshalBinary(m.ACS.RABA.Coin) != nil || protocol.NodeID(sh.Index) != n.id {
		return
	}
	c.from[n.id] = true
	c.honest = append(c.honest, sh)
	cs.learn(k, c)
}

func (cs *coinSight) coin(k coinKey) *sighted {
	c := cs.coins[k]
	if c == nil {
		c = &sighted{from: make([]bool, cs.s.cfg.N)}
		cs.coins[k] = c
	}
	return c
}

// learn computes a coin once F+1 shares are at hand: the faulty nodes' own
// first, then honest ones; a share that does not verify is dropped.
func (cs *coinSight) learn(k coinKey, c *sighted) {
	t := cs.pub.T()
	if len(cs.own)+len(c.honest) < t {
		return
	}
	name := coin.Name(era, k.inst.ep, k.inst.prop, k.round)
	shares := cs.sign(name, cs.own)
	sig, err := cs.pub.Recover(name, append(shares, c.honest...)[:t])
	if err != nil {
		kept := c.honest[:0]
		for _, sh := range c.honest {
			if cs.pub.VerifyShare(name, sh) == nil {
				kept = append(kept, sh)
			}
		}
		c.honest = kept
		if len(cs.own)+len(kept) < t {
			return
		}
		if sig, err = cs.pub.Recover(name, append(shares, kept...)[:t]); err != nil {
			panic(err) // every share was checked
		}
	}
	c.known, c.value, c.honest = true, tbls.CoinBit(sig), nil
	cs.s.res.CoinsRevealed++
}

// sign makes the signature shares of a coin's name with secret shares.
func (cs *coinSight) sign(name []byte, secrets []tbls.SecretShare) []tbls.SigShare {
	out := make([]tbls.SigShare, 0, len(secrets))
	for _, sec := range secrets {
		sh, err := sec.Sign(name)
		if err != nil {
			panic(err) // dealt shares are set
		}
		out = append(out, sh)
	}
	return out
}

// needed is the number of honest shares the adversary needs to learn a
// coin: one with F faulty nodes.
func (cs *coinSight) needed() int { return max(1, cs.pub.T()-len(cs.own)) }

// value returns the coin of a round of an instance if the adversary knows
// it, and whether it knew it before anybody tossed it (foresight only).
func (cs *coinSight) value(k instKey, round uint32) (value, known, ahead bool) {
	if k.ep < cs.retired {
		return false, false, false
	}
	c := cs.coin(coinKey{k, round})
	if !c.known && cs.all != nil {
		name := coin.Name(era, k.ep, k.prop, round)
		sig, err := cs.pub.Recover(name, cs.sign(name, cs.all[:cs.pub.T()]))
		if err != nil {
			panic(err) // dealt shares sign
		}
		c.known, c.value = true, tbls.CoinBit(sig)
	}
	return c.value, c.known, cs.all != nil
}

// retire forgets the coins of the epochs below ep, which every honest node
// has output.
func (cs *coinSight) retire(ep uint64) {
	if ep <= cs.retired {
		return
	}
	cs.retired = ep
	for k := range cs.coins {
		if k.inst.ep < ep {
			delete(cs.coins, k)
		}
	}
}
