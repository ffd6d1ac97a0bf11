package chain

import (
	"bytes"
	"testing"

	"github.com/mass-consensus/mass/internal/crypto"
)

func fuzzBlocks() []*Block {
	var blocks []*Block
	for i, txs := range [][][]byte{
		nil,
		{[]byte("tx 1")},
		{[]byte("a"), {}, bytes.Repeat([]byte{0xab}, 300)},
	} {
		b := &Block{Header: Header{ChainID: "fuzz", Height: uint64(i + 1), Epoch: uint64(i + 7), Time: -int64(i)}, Txs: txs}
		b.Prev[0], b.StateRoot[31] = byte(i), 0xee
		b.BatchHash = BatchHash(txs)
		blocks = append(blocks, b)
	}
	return blocks
}

// FuzzUnmarshalBlock: no input panics, and a block that decodes keeps to the
// limits, matches its batch hash and re-encodes to exactly the input.
func FuzzUnmarshalBlock(f *testing.F) {
	for _, b := range fuzzBlocks() {
		f.Add(b.Marshal())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := UnmarshalBlock(data)
		if err != nil {
			return
		}
		if len(b.ChainID) > MaxChainID || len(b.Txs) > MaxBlockTxs {
			t.Fatalf("chain id of %d bytes, %d transactions", len(b.ChainID), len(b.Txs))
		}
		for i, tx := range b.Txs {
			if len(tx) > MaxTxSize {
				t.Fatalf("transaction %d of %d bytes", i, len(tx))
			}
		}
		if BatchHash(b.Txs) != b.BatchHash {
			t.Fatal("decoded a block whose batch hash does not match")
		}
		if got := b.Marshal(); !bytes.Equal(got, data) {
			t.Fatalf("re-encoding differs:\n read %x\n  got %x", data, got)
		}
	})
}

// FuzzUnmarshalCertificate: no input panics, and a certificate that decodes
// has at most MaxVotes votes, fits MaxCertificate and re-encodes to exactly
// the input.
func FuzzUnmarshalCertificate(f *testing.F) {
	var keys []*crypto.PrivateKey
	for i := range 4 {
		k, err := crypto.KeyFromSeed(bytes.Repeat([]byte{byte(i + 1)}, crypto.SeedSize))
		if err != nil {
			f.Fatal(err)
		}
		keys = append(keys, k)
	}
	for _, b := range fuzzBlocks() {
		c := &Certificate{Height: b.Height, BlockHash: b.Hash()}
		for i, k := range keys[:int(b.Height)%4+1] {
			c.Votes = append(c.Votes, SignHeader(k, i, &b.Header))
		}
		f.Add(c.Marshal())
	}
	f.Add((&Certificate{}).Marshal())
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := UnmarshalCertificate(data)
		if err != nil {
			return
		}
		if len(c.Votes) > MaxVotes || len(data) > MaxCertificate {
			t.Fatalf("%d votes in %d bytes", len(c.Votes), len(data))
		}
		if got := c.Marshal(); !bytes.Equal(got, data) {
			t.Fatalf("re-encoding differs:\n read %x\n  got %x", data, got)
		}
	})
}
