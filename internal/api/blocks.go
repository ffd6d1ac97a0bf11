package api

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/mass-consensus/mass/internal/chain"
)

// blockResponse is a certified block: hashes and signatures in hex,
// transactions in standard base64.
type blockResponse struct {
	Height      uint64              `json:"height"`
	Hash        string              `json:"hash"`
	Prev        string              `json:"prev"` // zero hash at height 1
	Epoch       uint64              `json:"epoch"`
	TimeMs      int64               `json:"time_ms"`
	BatchHash   string              `json:"batch_hash"`
	StateRoot   string              `json:"state_root"`
	ChainID     string              `json:"chain_id"`
	Txs         []string            `json:"txs"`
	Certificate certificateResponse `json:"certificate"`
}

type certificateResponse struct {
	Height    uint64         `json:"height"`
	BlockHash string         `json:"block_hash"`
	Votes     []voteResponse `json:"votes"`
}

type voteResponse struct {
	Signer    uint16 `json:"signer"` // index in the node set
	Signature string `json:"signature"`
}

// block answers GET /v1/blocks/{height}.
func (s *Server) block(w http.ResponseWriter, r *http.Request) {
	height, err := strconv.ParseUint(r.PathValue("height"), 10, 64)
	if err != nil {
		s.fail(w, http.StatusBadRequest, codeBadRequest, "malformed height: want a decimal number or \"latest\"", nil)
		return
	}
	s.writeBlock(w, height)
}

// latestBlock answers GET /v1/blocks/latest: the last certified block.
func (s *Server) latestBlock(w http.ResponseWriter, r *http.Request) {
	height := s.b.Status().Certified
	if height == 0 {
		s.fail(w, http.StatusNotFound, codeNotFound, "no certified block yet", nil)
		return
	}
	s.writeBlock(w, height)
}

func (s *Server) writeBlock(w http.ResponseWriter, height uint64) {
	b, c, err := s.b.Block(height)
	switch {
	case errors.Is(err, chain.ErrNoBlock) || (err == nil && (b == nil || c == nil)):
		s.fail(w, http.StatusNotFound, codeNotFound, fmt.Sprintf("no certified block at height %d", height), nil)
		return
	case err != nil:
		s.internal(w, err)
		return
	}
	writeJSON(w, http.StatusOK, blockJSON(b, c))
}

func blockJSON(b *chain.Block, c *chain.Certificate) blockResponse {
	out := blockResponse{
		Height: b.Height, Hash: b.Hash().String(), Prev: b.Prev.String(), Epoch: b.Epoch, TimeMs: b.Time,
		BatchHash: b.BatchHash.String(), StateRoot: b.StateRoot.String(), ChainID: b.ChainID,
		Txs: make([]string, len(b.Txs)),
		Certificate: certificateResponse{
			Height: c.Height, BlockHash: c.BlockHash.String(), Votes: make([]voteResponse, len(c.Votes)),
		},
	}
	for i, tx := range b.Txs {
		out.Txs[i] = base64.StdEncoding.EncodeToString(tx)
	}
	for i, v := range c.Votes {
		out.Certificate.Votes[i] = voteResponse{Signer: v.Signer, Signature: hex.EncodeToString(v.Sig[:])}
	}
	return out
}
