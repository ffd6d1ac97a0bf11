package epoch

import (
	"errors"
	"fmt"

	"github.com/mass-consensus/mass/internal/wire"
)

// Proposal is what one node contributes to an epoch: a sample of its pending
// transactions and its clock reading.
type Proposal struct {
	Time int64
	Txs  [][]byte
}

// ErrBadProposal is wrapped by every proposal decoding error.
var ErrBadProposal = errors.New("epoch: bad proposal")

// Marshal returns the canonical encoding of the proposal.
func (p *Proposal) Marshal() []byte {
	size := 12
	for _, tx := range p.Txs {
		size += 4 + len(tx)
	}
	w := wire.NewWriter(size)
	w.I64(p.Time)
	w.U32(uint32(len(p.Txs)))
	for _, tx := range p.Txs {
		w.Bytes(tx)
	}
	return w.Finish()
}

// UnmarshalProposal decodes a proposal of at most maxTxs transactions of at
// most maxTxSize bytes each.
func UnmarshalProposal(b []byte, maxTxs, maxTxSize int) (*Proposal, error) {
	r := wire.NewReader(b)
	p := &Proposal{Time: r.I64("proposal time")}
	n := r.Count(maxTxs, "proposal tx count")
	if r.Err() == nil {
		p.Txs = make([][]byte, 0, n)
	}
	for i := 0; i < n && r.Err() == nil; i++ {
		tx := r.Bytes(maxTxSize, "proposal tx")
		if r.Err() == nil && len(tx) == 0 {
			r.Fail("empty transaction")
		}
		p.Txs = append(p.Txs, tx)
	}
	if err := r.Done(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadProposal, err)
	}
	return p, nil
}
