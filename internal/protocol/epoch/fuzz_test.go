package epoch

import (
	"bytes"
	"testing"

	"github.com/mass-consensus/mass/internal/protocol"
	"github.com/mass-consensus/mass/internal/protocol/aba"
	"github.com/mass-consensus/mass/internal/protocol/acs"
	"github.com/mass-consensus/mass/internal/protocol/rbc"
)

// FuzzUnmarshalMessage decodes a whole epoch message, for a node count
// chosen by the fuzzer. No input may panic; whatever decodes re-encodes to
// exactly the input.
func FuzzUnmarshalMessage(f *testing.F) {
	for _, n := range []int{1, 4, 7} {
		p, _ := protocol.NewParams(n)
		c, err := rbc.Encode(p, (&Proposal{Time: 9, Txs: [][]byte{[]byte("tx")}}).Marshal())
		if err != nil {
			f.Fatal(err)
		}
		last := protocol.NodeID(n - 1)
		for _, m := range []*Message{
			{Epoch: 1, ACS: &acs.Message{Proposer: last, RBC: c.Message(rbc.KindVal, n-1)}},
			{Epoch: 2, ACS: &acs.Message{Proposer: 0, RBC: c.Message(rbc.KindReady, 0)}},
			{Epoch: 1 << 40, ACS: &acs.Message{Proposer: last, ABA: &aba.Message{Kind: aba.KindTerm, Value: 1}}},
		} {
			f.Add(uint16(n), m.Marshal())
		}
	}
	f.Fuzz(func(t *testing.T, n uint16, data []byte) {
		p, err := protocol.NewParams(int(n))
		if err != nil {
			return
		}
		m, err := UnmarshalMessage(data, p, 1<<16)
		if err != nil {
			return
		}
		if got := m.Marshal(); !bytes.Equal(got, data) {
			t.Fatalf("re-encoding differs:\n read %x\n  got %x", data, got)
		}
	})
}

// FuzzUnmarshalProposal decodes a proposal under limits chosen by the
// fuzzer. No input may panic; a proposal that decodes keeps to the limits,
// has no empty transaction, and re-encodes to exactly the input.
func FuzzUnmarshalProposal(f *testing.F) {
	for _, p := range []*Proposal{
		{Time: 1_700_000_000_000},
		{Time: -5, Txs: [][]byte{[]byte("a"), []byte("bc")}},
		{Time: 0, Txs: [][]byte{bytes.Repeat([]byte{0xff}, 16)}},
	} {
		f.Add(uint8(4), uint8(16), p.Marshal())
	}
	f.Fuzz(func(t *testing.T, maxTxs, maxTxSize uint8, data []byte) {
		p, err := UnmarshalProposal(data, int(maxTxs), int(maxTxSize))
		if err != nil {
			return
		}
		if len(p.Txs) > int(maxTxs) {
			t.Fatalf("%d transactions, limit %d", len(p.Txs), maxTxs)
		}
		for i, tx := range p.Txs {
			if len(tx) == 0 || len(tx) > int(maxTxSize) {
				t.Fatalf("transaction %d of %d bytes, limit %d", i, len(tx), maxTxSize)
			}
		}
		if got := p.Marshal(); !bytes.Equal(got, data) {
			t.Fatalf("re-encoding differs:\n read %x\n  got %x", data, got)
		}
	})
}
