package chain

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/mass-consensus/mass/internal/store"
)

// Key prefixes of the chain in a store.KV.
const (
	prefixBlock = 'b'
	prefixCert  = 'c'
)

func heightKey(prefix byte, height uint64) []byte {
	k := make([]byte, 9)
	k[0] = prefix
	binary.BigEndian.PutUint64(k[1:], height)
	return k
}

// Store keeps certified blocks in a store.KV. A block and its certificate
// are written in one synced batch: once Put returns, neither is ever lost.
type Store struct {
	kv store.KV
}

// NewStore returns the chain kept in kv.
func NewStore(kv store.KV) *Store { return &Store{kv: kv} }

// ErrNoBlock is returned for a height with no certified block.
var ErrNoBlock = errors.New("chain: no such block")

// Put writes a certified block, durably. The caller has verified both.
func (s *Store) Put(b *Block, c *Certificate) error {
	var batch store.Batch
	if err := Stage(&batch, "", b, c); err != nil {
		return err
	}
	if err := s.kv.Apply(&batch, true); err != nil {
		return fmt.Errorf("chain: storing block %d: %w", b.Height, err)
	}
	return nil
}

// Stage adds the writes of a certified block to a batch, for a Store kept
// under prefix of the batch's store: so that a caller stores it atomically
// with writes of its own. The caller has verified both.
func Stage(batch *store.Batch, prefix string, b *Block, c *Certificate) error {
	if c.Height != b.Height {
		return fmt.Errorf("chain: certificate for height %d with block %d", c.Height, b.Height)
	}
	batch.Put(append([]byte(prefix), heightKey(prefixBlock, b.Height)...), b.Marshal())
	batch.Put(append([]byte(prefix), heightKey(prefixCert, b.Height)...), c.Marshal())
	return nil
}

// Get returns the block and certificate at a height.
func (s *Store) Get(height uint64) (*Block, *Certificate, error) {
	raw, err := s.kv.Get(heightKey(prefixBlock, height))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, fmt.Errorf("%w: height %d", ErrNoBlock, height)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("chain: reading block %d: %w", height, err)
	}
	b, err := UnmarshalBlock(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("chain: stored block %d: %w", height, err)
	}
	raw, err = s.kv.Get(heightKey(prefixCert, height))
	if err != nil {
		return nil, nil, fmt.Errorf("chain: reading certificate %d: %w", height, err)
	}
	c, err := UnmarshalCertificate(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("chain: stored certificate %d: %w", height, err)
	}
	return b, c, nil
}

// Height returns the height of the last certified block, 0 if none.
func (s *Store) Height() (uint64, error) {
	k, _, err := s.kv.Last([]byte{prefixCert})
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("chain: reading the height: %w", err)
	}
	if len(k) != 9 {
		return 0, fmt.Errorf("chain: malformed key %x", k)
	}
	return binary.BigEndian.Uint64(k[1:]), nil
}

// VerifyNext checks a block fetched from a peer: it must extend prev (nil
// before the first block) and carry a valid certificate of the node set.
func VerifyNext(prev *Header, b *Block, c *Certificate, chainID string, set NodeSet) error {
	if err := b.Follows(prev, chainID); err != nil {
		return err
	}
	return c.Verify(&b.Header, set)
}
