// Package chain owns the certified log: blocks chained by hash, the
// certificates (2f+1 signatures of the node set) that make a block final, the
// checks a node runs on blocks fetched from peers while catching up, and their
// storage on a store.KV.
//
// It imports crypto, wire and store; never the protocol or node packages.
package chain

import (
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/wire"
)

// Hash is a SHA-256 digest.
type Hash [32]byte

func (h Hash) String() string { return fmt.Sprintf("%x", h[:]) }

// Limits of decoded blocks.
const (
	MaxChainID  = 64
	MaxBlockTxs = 1 << 20
	MaxTxSize   = 1 << 20
	MaxBlock    = 256 << 20
)

// ErrBadBlock is wrapped by every block or certificate check that fails.
var ErrBadBlock = errors.New("chain: bad block")

// Header is what a certificate signs: the block's place in the chain, its
// batch and the state after applying it.
type Header struct {
	ChainID   string
	Height    uint64
	Prev      Hash // hash of the previous header; zero at height 1
	Epoch     uint64
	Time      int64 // block time, Unix milliseconds (median of the nodes' clocks)
	BatchHash Hash
	StateRoot Hash
	// NextNodes is the hash of the node set that certifies the next block
	// (NodeSet.Hash): the same as this block's set, except at the last
	// block of an era, where it names the next era's set. A light client
	// follows changes of the node set through it.
	NextNodes Hash
}

// Block is a header and its transactions.
type Block struct {
	Header
	Txs [][]byte
}

// MarshalTo appends the canonical encoding of the header.
func (h *Header) MarshalTo(w *wire.Writer) {
	w.Bytes([]byte(h.ChainID))
	w.U64(h.Height)
	w.Raw(h.Prev[:])
	w.U64(h.Epoch)
	w.I64(h.Time)
	w.Raw(h.BatchHash[:])
	w.Raw(h.StateRoot[:])
	w.Raw(h.NextNodes[:])
}

// Marshal returns the canonical encoding of the header: the bytes signed.
func (h *Header) Marshal() []byte {
	w := wire.NewWriter(4 + len(h.ChainID) + 8 + 32 + 8 + 8 + 96)
	h.MarshalTo(w)
	return w.Finish()
}

// Hash is the block hash: SHA-256 over a domain tag and the header.
func (h *Header) Hash() Hash {
	d := sha256.New()
	d.Write([]byte("mass/header/v1\x00"))
	d.Write(h.Marshal())
	var out Hash
	d.Sum(out[:0])
	return out
}

// UnmarshalHeader decodes a header.
func UnmarshalHeader(data []byte) (*Header, error) {
	r := wire.NewReader(data)
	h := unmarshalHeader(r)
	if err := r.Done(); err != nil {
		return nil, fmt.Errorf("%w: header: %w", ErrBadBlock, err)
	}
	return &h, nil
}

func unmarshalHeader(r *wire.Reader) Header {
	var h Header
	h.ChainID = string(r.Bytes(MaxChainID, "chain id"))
	h.Height = r.U64("height")
	copy(h.Prev[:], r.Raw(32, "prev"))
	h.Epoch = r.U64("epoch")
	h.Time = r.I64("time")
	copy(h.BatchHash[:], r.Raw(32, "batch hash"))
	copy(h.StateRoot[:], r.Raw(32, "state root"))
	copy(h.NextNodes[:], r.Raw(32, "next nodes"))
	return h
}

// BatchHash is the hash of a block's transactions: SHA-256 over a domain
// tag, the count and each length-prefixed transaction.
func BatchHash(txs [][]byte) Hash {
	d := sha256.New()
	d.Write([]byte("mass/batch/v1\x00"))
	var n [4]byte
	put := func(v int) {
		n[0], n[1], n[2], n[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
		d.Write(n[:])
	}
	put(len(txs))
	for _, tx := range txs {
		put(len(tx))
		d.Write(tx)
	}
	var out Hash
	d.Sum(out[:0])
	return out
}

// Marshal returns the canonical encoding of the block.
func (b *Block) Marshal() []byte {
	size := 256
	for _, tx := range b.Txs {
		size += 4 + len(tx)
	}
	w := wire.NewWriter(size)
	b.Header.MarshalTo(w)
	w.U32(uint32(len(b.Txs)))
	for _, tx := range b.Txs {
		w.Bytes(tx)
	}
	return w.Finish()
}

// UnmarshalBlock decodes a block and checks that its batch hash matches its
// transactions.
func UnmarshalBlock(data []byte) (*Block, error) {
	if len(data) > MaxBlock {
		return nil, fmt.Errorf("%w: %d bytes", ErrBadBlock, len(data))
	}
	r := wire.NewReader(data)
	b := &Block{Header: unmarshalHeader(r)}
	n := r.Count(MaxBlockTxs, "tx count")
	for i := 0; i < n && r.Err() == nil; i++ {
		b.Txs = append(b.Txs, r.Bytes(MaxTxSize, "tx"))
	}
	if err := r.Done(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadBlock, err)
	}
	if BatchHash(b.Txs) != b.BatchHash {
		return nil, fmt.Errorf("%w: batch hash does not match the transactions", ErrBadBlock)
	}
	return b, nil
}

// NodeSet is the node set of an era: the public keys in a fixed order, which
// gives each node its index.
type NodeSet struct {
	Keys []crypto.PublicKey
}

// N is the number of nodes.
func (s NodeSet) N() int { return len(s.Keys) }

// Quorum is the number of signatures a certificate needs: 2f+1 with f the
// most faulty nodes tolerated, n ≥ 3f+1.
func (s NodeSet) Quorum() int { return 2*((s.N()-1)/3) + 1 }

// Hash identifies the set: SHA-256 over a domain tag, the number of keys
// (uint32, big-endian) and the keys in order.
func (s NodeSet) Hash() Hash {
	d := sha256.New()
	d.Write([]byte("mass/nodes/v1\x00"))
	d.Write([]byte{byte(len(s.Keys) >> 24), byte(len(s.Keys) >> 16), byte(len(s.Keys) >> 8), byte(len(s.Keys))})
	for _, k := range s.Keys {
		d.Write(k[:])
	}
	var out Hash
	d.Sum(out[:0])
	return out
}

// Index returns the index of a key in the set.
func (s NodeSet) Index(k crypto.PublicKey) (int, bool) {
	for i, key := range s.Keys {
		if key == k {
			return i, true
		}
	}
	return 0, false
}

// Follows checks that b extends the block with header prev: next height,
// previous hash, same chain, time not going back, batch hash of its
// transactions. A nil prev means b must be the first block (height 1).
func (b *Block) Follows(prev *Header, chainID string) error {
	if b.ChainID != chainID {
		return fmt.Errorf("%w: chain %q, want %q", ErrBadBlock, b.ChainID, chainID)
	}
	if prev == nil {
		if b.Height != 1 || b.Prev != (Hash{}) {
			return fmt.Errorf("%w: first block at height %d", ErrBadBlock, b.Height)
		}
	} else {
		if b.Height != prev.Height+1 {
			return fmt.Errorf("%w: height %d after %d", ErrBadBlock, b.Height, prev.Height)
		}
		if b.Prev != prev.Hash() {
			return fmt.Errorf("%w: height %d does not link to the previous block", ErrBadBlock, b.Height)
		}
		if b.Time < prev.Time {
			return fmt.Errorf("%w: height %d time %d before %d", ErrBadBlock, b.Height, b.Time, prev.Time)
		}
	}
	if BatchHash(b.Txs) != b.BatchHash {
		return fmt.Errorf("%w: height %d batch hash does not match", ErrBadBlock, b.Height)
	}
	return nil
}
