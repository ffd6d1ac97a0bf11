package apijson

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"

	"github.com/mass-consensus/mass/internal/chain"
	"github.com/mass-consensus/mass/internal/crypto"
)

// Block answers GET /v1/blocks/{height} and /v1/blocks/latest: a certified
// block, hashes and signatures in hex, transactions in standard base64.
type Block struct {
	Height      uint64      `json:"height"`
	Hash        string      `json:"hash"`
	Prev        string      `json:"prev"` // zero hash at height 1
	Epoch       uint64      `json:"epoch"`
	TimeMs      int64       `json:"time_ms"`
	BatchHash   string      `json:"batch_hash"`
	StateRoot   string      `json:"state_root"`
	ChainID     string      `json:"chain_id"`
	Txs         []string    `json:"txs"`
	Certificate Certificate `json:"certificate"`
}

// Certificate is a block's certificate: the votes of a quorum of the node
// set.
type Certificate struct {
	Height    uint64 `json:"height"`
	BlockHash string `json:"block_hash"`
	Votes     []Vote `json:"votes"`
}

// Vote is one node's signature of a block's header.
type Vote struct {
	Signer    uint16 `json:"signer"` // index in the node set
	Signature string `json:"signature"`
}

// BlockOf is the answer for a certified block.
func BlockOf(b *chain.Block, c *chain.Certificate) Block {
	out := Block{
		Height: b.Height, Hash: b.Hash().String(), Prev: b.Prev.String(), Epoch: b.Epoch, TimeMs: b.Time,
		BatchHash: b.BatchHash.String(), StateRoot: b.StateRoot.String(), ChainID: b.ChainID,
		Txs: make([]string, len(b.Txs)),
		Certificate: Certificate{
			Height: c.Height, BlockHash: c.BlockHash.String(), Votes: make([]Vote, len(c.Votes)),
		},
	}
	for i, tx := range b.Txs {
		out.Txs[i] = base64.StdEncoding.EncodeToString(tx)
	}
	for i, v := range c.Votes {
		out.Certificate.Votes[i] = Vote{Signer: v.Signer, Signature: hex.EncodeToString(v.Sig[:])}
	}
	return out
}

// Check refuses a block whose fields are malformed or whose certificate
// is of another block. It does not verify the certificate: that needs the
// node set, which the light client keeps.
func (b *Block) Check() error {
	if b.Height == 0 || b.ChainID == "" {
		return fmt.Errorf("%w: a block without a height or a chain id", ErrMalformed)
	}
	for what, h := range map[string]string{"hash": b.Hash, "prev": b.Prev, "batch hash": b.BatchHash, "state root": b.StateRoot} {
		if err := checkHex(what, h, HashSize); err != nil {
			return err
		}
	}
	for i, tx := range b.Txs {
		if _, err := base64.StdEncoding.DecodeString(tx); err != nil {
			return fmt.Errorf("%w: transaction %d is not standard base64", ErrMalformed, i)
		}
	}
	c := &b.Certificate
	if c.Height != b.Height || c.BlockHash != b.Hash {
		return fmt.Errorf("%w: the certificate is of block %d %s, not %d %s", ErrMalformed, c.Height, c.BlockHash, b.Height, b.Hash)
	}
	for i, v := range c.Votes {
		if err := checkHex(fmt.Sprintf("signature %d", i), v.Signature, crypto.SignatureSize); err != nil {
			return err
		}
	}
	return nil
}
