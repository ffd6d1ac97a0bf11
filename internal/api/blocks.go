package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/mass-consensus/mass/internal/apijson"
	"github.com/mass-consensus/mass/internal/chain"
)

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
	writeJSON(w, http.StatusOK, apijson.BlockOf(b, c))
}
