package ledger

import (
	"bytes"
	"errors"
	"testing"

	"github.com/mass-consensus/mass/internal/chain"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/protocol"
	"github.com/mass-consensus/mass/internal/protocol/aba"
	"github.com/mass-consensus/mass/internal/protocol/acs"
	"github.com/mass-consensus/mass/internal/protocol/epoch"
	"github.com/mass-consensus/mass/internal/protocol/rbc"
)

// encodeMessage is the inverse of decodeMessage.
func encodeMessage(m message) []byte {
	switch m.kind {
	case kindConsensus:
		var raw [][]byte
		for _, e := range m.bundle {
			raw = append(raw, e.Marshal())
		}
		return encodeConsensus(epoch.MarshalBundle(raw))
	case kindVote:
		return encodeVote(m.vote)
	case kindStatus:
		return encodeStatus(m.height)
	case kindSyncRequest:
		return encodeSyncRequest(m.request)
	case kindSyncResponse:
		return encodeSyncResponse(m.blocks)
	case kindForward:
		return encodeForward(m.txs)
	}
	panic("unknown kind")
}

// FuzzDecodeMessage feeds any bytes to the decoding a node runs on every
// message it receives, for a node count chosen by the fuzzer. No input may
// panic; every error wraps ErrBadMessage; a message that decodes keeps to
// the limits and re-encodes to exactly the input.
func FuzzDecodeMessage(f *testing.F) {
	p, _ := protocol.NewParams(4)
	c, err := rbc.Encode(p, (&epoch.Proposal{Time: 5, Txs: [][]byte{[]byte("tx")}}).Marshal())
	if err != nil {
		f.Fatal(err)
	}
	bundle := epoch.MarshalBundle([][]byte{
		(&epoch.Message{Epoch: 3, ACS: &acs.Message{Proposer: 1, RBC: c.Message(rbc.KindEcho, 2)}}).Marshal(),
		(&epoch.Message{Epoch: 3, ACS: &acs.Message{Proposer: 2, ABA: &aba.Message{Kind: aba.KindEcho, Origin: 3, Round: 1, Step: 2, Value: 1}}}).Marshal(),
	})
	key, err := crypto.KeyFromSeed(bytes.Repeat([]byte{1}, crypto.SeedSize))
	if err != nil {
		f.Fatal(err)
	}
	blk := &chain.Block{Header: chain.Header{ChainID: "fuzz", Height: 2, Epoch: 3, Time: 4}, Txs: [][]byte{[]byte("tx")}}
	blk.BatchHash = chain.BatchHash(blk.Txs)
	vote := chain.SignHeader(key, 0, &blk.Header)
	cert := &chain.Certificate{Height: 2, BlockHash: blk.Hash(), Votes: []chain.Vote{vote}}
	for _, msg := range [][]byte{
		encodeConsensus(bundle),
		encodeVote(voteMsg{Height: 2, Vote: vote}),
		encodeStatus(1 << 33),
		encodeSyncRequest(syncRequest{From: 7, Count: 64}),
		encodeSyncResponse(nil),
		encodeForward([][]byte{[]byte("a=1"), {}}),
		encodeSyncResponse([]certified{{Block: blk, Cert: cert}, {Block: blk, Cert: cert}}),
	} {
		f.Add(uint16(4), msg)
	}
	f.Fuzz(func(t *testing.T, n uint16, data []byte) {
		p, err := protocol.NewParams(int(n))
		if err != nil {
			return
		}
		m, err := decodeMessage(data, p)
		if err != nil {
			if !errors.Is(err, ErrBadMessage) {
				t.Fatalf("error not wrapping ErrBadMessage: %v", err)
			}
			return
		}
		if len(m.blocks) > maxSyncBlocks {
			t.Fatalf("%d blocks in a sync response", len(m.blocks))
		}
		for _, c := range m.blocks {
			if chain.BatchHash(c.Block.Txs) != c.Block.BatchHash || len(c.Cert.Votes) > chain.MaxVotes {
				t.Fatal("a sync response's block or certificate out of bounds")
			}
		}
		if got := encodeMessage(m); !bytes.Equal(got, data) {
			t.Fatalf("re-encoding differs:\n read %x\n  got %x", data, got)
		}
	})
}
