package chain

import (
	"fmt"
	"slices"

	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/wire"
)

// Vote is one node's signature of a block header.
type Vote struct {
	Signer uint16 // index in the node set
	Sig    crypto.Signature
}

// Certificate makes a block final: the signatures of at least 2f+1 distinct
// nodes of the era's node set over the block's header, in increasing signer
// order.
type Certificate struct {
	Height    uint64
	BlockHash Hash
	Votes     []Vote
}

// SignHeader is a node's vote for a header.
func SignHeader(key *crypto.PrivateKey, index int, h *Header) Vote {
	return Vote{Signer: uint16(index), Sig: key.Sign(crypto.DomainBlock, h.Marshal())}
}

// VerifyVote checks one vote for a header against the node set.
func VerifyVote(v Vote, h *Header, set NodeSet) error {
	if int(v.Signer) >= set.N() {
		return fmt.Errorf("%w: signer %d of %d nodes", ErrBadBlock, v.Signer, set.N())
	}
	if err := set.Keys[v.Signer].Verify(crypto.DomainBlock, h.Marshal(), v.Sig); err != nil {
		return fmt.Errorf("%w: vote of node %d at height %d: %w", ErrBadBlock, v.Signer, h.Height, err)
	}
	return nil
}

// Verify checks the certificate of a header: right height and hash, at least
// a quorum of signers, each in the set, none twice, in increasing order, and
// every signature valid. The signatures are verified as one batch, under the
// same rule as a single vote's; a bad one is named by its node.
func (c *Certificate) Verify(h *Header, set NodeSet) error {
	if c.Height != h.Height || c.BlockHash != h.Hash() {
		return fmt.Errorf("%w: certificate for height %d %s does not match block %d %s", ErrBadBlock, c.Height, c.BlockHash, h.Height, h.Hash())
	}
	if len(c.Votes) < set.Quorum() {
		return fmt.Errorf("%w: certificate of height %d has %d signers, needs %d", ErrBadBlock, c.Height, len(c.Votes), set.Quorum())
	}
	for i, v := range c.Votes {
		if i > 0 && v.Signer <= c.Votes[i-1].Signer {
			return fmt.Errorf("%w: certificate of height %d: signers not strictly increasing (duplicate or unsorted)", ErrBadBlock, c.Height)
		}
		if int(v.Signer) >= set.N() {
			return fmt.Errorf("%w: signer %d of %d nodes", ErrBadBlock, v.Signer, set.N())
		}
	}
	msg := h.Marshal()
	batch := crypto.NewBatch(len(c.Votes))
	for _, v := range c.Votes {
		batch.Add(set.Keys[v.Signer], crypto.DomainBlock, msg, v.Sig)
	}
	valid, err := batch.Verify()
	if err == nil {
		return nil
	}
	var bad []uint16
	for i, ok := range valid {
		if !ok {
			bad = append(bad, c.Votes[i].Signer)
		}
	}
	switch len(bad) {
	case 0: // not reached: a failed batch names a bad signature
		return fmt.Errorf("%w: certificate of height %d: %w", ErrBadBlock, c.Height, err)
	case 1:
		return fmt.Errorf("%w: certificate of height %d, node %d: %w", ErrBadBlock, c.Height, bad[0], crypto.ErrBadSignature)
	default:
		return fmt.Errorf("%w: certificate of height %d, nodes %v: %w", ErrBadBlock, c.Height, bad, crypto.ErrBadSignature)
	}
}

// Collector gathers the votes for one header until they make a certificate.
type Collector struct {
	header Header
	hash   Hash
	set    NodeSet
	votes  map[uint16]crypto.Signature
}

// NewCollector starts collecting votes for a header.
func NewCollector(h Header, set NodeSet) *Collector {
	return &Collector{header: h, hash: h.Hash(), set: set, votes: make(map[uint16]crypto.Signature)}
}

// Add verifies and keeps a vote; it returns the certificate once a quorum of
// votes is held (and again on later votes).
func (c *Collector) Add(v Vote) (*Certificate, error) {
	if _, dup := c.votes[v.Signer]; !dup {
		if err := VerifyVote(v, &c.header, c.set); err != nil {
			return nil, err
		}
		c.votes[v.Signer] = v.Sig
	}
	if len(c.votes) < c.set.Quorum() {
		return nil, nil
	}
	cert := &Certificate{Height: c.header.Height, BlockHash: c.hash}
	for s, sig := range c.votes {
		cert.Votes = append(cert.Votes, Vote{Signer: s, Sig: sig})
	}
	slices.SortFunc(cert.Votes, func(a, b Vote) int { return int(a.Signer) - int(b.Signer) })
	return cert, nil
}

// Marshal returns the canonical encoding of the certificate.
func (c *Certificate) Marshal() []byte {
	w := wire.NewWriter(44 + len(c.Votes)*(2+crypto.SignatureSize))
	w.U64(c.Height)
	w.Raw(c.BlockHash[:])
	w.U32(uint32(len(c.Votes)))
	for _, v := range c.Votes {
		w.U16(v.Signer)
		w.Raw(v.Sig[:])
	}
	return w.Finish()
}

// Limits of decoded certificates: MaxVotes votes, so at most MaxCertificate
// bytes (height, block hash, vote count, then signer and signature each).
const (
	MaxVotes       = 1024
	MaxCertificate = 8 + 32 + 4 + MaxVotes*(2+crypto.SignatureSize)
)

// UnmarshalCertificate decodes a certificate (it does not verify it).
func UnmarshalCertificate(data []byte) (*Certificate, error) {
	r := wire.NewReader(data)
	c := &Certificate{Height: r.U64("height")}
	copy(c.BlockHash[:], r.Raw(32, "block hash"))
	n := r.Count(MaxVotes, "vote count")
	for i := 0; i < n && r.Err() == nil; i++ {
		v := Vote{Signer: r.U16("signer")}
		copy(v.Sig[:], r.Raw(crypto.SignatureSize, "signature"))
		c.Votes = append(c.Votes, v)
	}
	if err := r.Done(); err != nil {
		return nil, fmt.Errorf("%w: certificate: %w", ErrBadBlock, err)
	}
	return c, nil
}
