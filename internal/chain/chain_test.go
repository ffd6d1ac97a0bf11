package chain

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/store/mem"
)

func testKeys(t *testing.T, n int) ([]*crypto.PrivateKey, NodeSet) {
	t.Helper()
	var keys []*crypto.PrivateKey
	var set NodeSet
	for i := 0; i < n; i++ {
		k, err := crypto.KeyFromSeed(bytes.Repeat([]byte{byte(i + 1)}, crypto.SeedSize))
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
		set.Keys = append(set.Keys, k.Public())
	}
	return keys, set
}

// testChain builds count certified blocks, each signed by the given signers.
func testChain(t *testing.T, keys []*crypto.PrivateKey, set NodeSet, count int, signers []int) ([]*Block, []*Certificate) {
	t.Helper()
	var blocks []*Block
	var certs []*Certificate
	var prev *Header
	for h := uint64(1); h <= uint64(count); h++ {
		b := &Block{Header: Header{ChainID: "test", Height: h, Epoch: h + 10, Time: int64(h) * 1000}, Txs: [][]byte{fmt.Appendf(nil, "tx %d", h)}}
		if prev != nil {
			b.Prev = prev.Hash()
		}
		b.BatchHash = BatchHash(b.Txs)
		b.StateRoot[0] = byte(h)
		col := NewCollector(b.Header, set)
		var cert *Certificate
		for _, i := range signers {
			c, err := col.Add(SignHeader(keys[i], i, &b.Header))
			if err != nil {
				t.Fatal(err)
			}
			cert = c
		}
		blocks, certs = append(blocks, b), append(certs, cert)
		prev = &b.Header
	}
	return blocks, certs
}

func TestCertifiedChainVerifies(t *testing.T) {
	keys, set := testKeys(t, 4)
	blocks, certs := testChain(t, keys, set, 5, []int{3, 0, 2})
	var prev *Header
	for i, b := range blocks {
		if certs[i] == nil {
			t.Fatal("three of four votes made no certificate")
		}
		if err := VerifyNext(prev, b, certs[i], "test", set); err != nil {
			t.Fatalf("height %d: %v", b.Height, err)
		}
		prev = &b.Header
	}
	// Two votes of four are not a quorum.
	_, short := testChain(t, keys, set, 1, []int{0, 1})
	if short[0] != nil {
		t.Fatal("two of four votes made a certificate")
	}
}

func TestCertificateRejections(t *testing.T) {
	keys, set := testKeys(t, 4)
	blocks, certs := testChain(t, keys, set, 2, []int{0, 1, 2, 3})
	b, good := blocks[1], certs[1]
	mutate := func(f func(c *Certificate)) *Certificate {
		c := *good
		c.Votes = append([]Vote(nil), good.Votes...)
		f(&c)
		return &c
	}
	cases := map[string]*Certificate{
		"too few":       mutate(func(c *Certificate) { c.Votes = c.Votes[:2] }),
		"duplicate":     mutate(func(c *Certificate) { c.Votes[1] = c.Votes[0] }),
		"unsorted":      mutate(func(c *Certificate) { c.Votes[0], c.Votes[1] = c.Votes[1], c.Votes[0] }),
		"outsider":      mutate(func(c *Certificate) { c.Votes[3].Signer = 4 }),
		"wrong height":  mutate(func(c *Certificate) { c.Height++ }),
		"wrong hash":    mutate(func(c *Certificate) { c.BlockHash[0] ^= 1 }),
		"bad signature": mutate(func(c *Certificate) { c.Votes[2].Sig[10] ^= 1 }),
		"wrong signer":  mutate(func(c *Certificate) { c.Votes[0].Signer, c.Votes[1].Signer = 1, 0 }),
	}
	for name, c := range cases {
		if err := c.Verify(&b.Header, set); !errors.Is(err, ErrBadBlock) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Any byte of the encoded certificate changed: rejected, or decoded
	// into a certificate that does not verify.
	raw := good.Marshal()
	for i := range raw {
		bad := bytes.Clone(raw)
		bad[i] ^= 0x40
		c, err := UnmarshalCertificate(bad)
		if err == nil {
			err = c.Verify(&b.Header, set)
		}
		if err == nil {
			t.Fatalf("certificate with byte %d changed verified", i)
		}
	}
	// Any byte of the encoded block changed: the certificate no longer fits.
	rawBlock := b.Marshal()
	for i := range rawBlock {
		bad := bytes.Clone(rawBlock)
		bad[i] ^= 0x40
		nb, err := UnmarshalBlock(bad)
		if err == nil {
			err = VerifyNext(&blocks[0].Header, nb, good, "test", set)
		}
		if err == nil {
			t.Fatalf("block with byte %d changed verified", i)
		}
	}
}

func TestBlockLinks(t *testing.T) {
	keys, set := testKeys(t, 4)
	blocks, certs := testChain(t, keys, set, 3, []int{0, 1, 2})
	if err := VerifyNext(&blocks[0].Header, blocks[2], certs[2], "test", set); err == nil {
		t.Fatal("a block verified after a gap")
	}
	if err := VerifyNext(nil, blocks[1], certs[1], "test", set); err == nil {
		t.Fatal("height 2 verified as the first block")
	}
	if err := VerifyNext(&blocks[0].Header, blocks[1], certs[1], "other", set); err == nil {
		t.Fatal("a block of another chain verified")
	}
}

func TestStoreSurvivesCrash(t *testing.T) {
	keys, set := testKeys(t, 4)
	blocks, certs := testChain(t, keys, set, 3, []int{0, 1, 2})
	kv := mem.New()
	s := NewStore(kv)
	if h, err := s.Height(); err != nil || h != 0 {
		t.Fatalf("empty store at height %d: %v", h, err)
	}
	for i := range blocks {
		if err := s.Put(blocks[i], certs[i]); err != nil {
			t.Fatal(err)
		}
	}
	s = NewStore(kv.Crash())
	if h, err := s.Height(); err != nil || h != 3 {
		t.Fatalf("after a crash: height %d, %v", h, err)
	}
	b, c, err := s.Get(2)
	if err != nil || b.Hash() != blocks[1].Hash() || c.Verify(&b.Header, set) != nil {
		t.Fatalf("block 2 after a crash: %v", err)
	}
	if _, _, err := s.Get(9); !errors.Is(err, ErrNoBlock) {
		t.Fatalf("missing block: %v", err)
	}
}
