package gateway

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/mass-consensus/mass/internal/apijson"
	"github.com/mass-consensus/mass/internal/chain"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/light"
)

// headerHash is the verified hash of the header at height.
func (g *Gateway) headerHash(height uint64) (chain.Hash, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	h, err := g.lc.HeaderHash(height)
	return chain.Hash(h), err
}

// nodeSet is the verified node set that certifies block height (at most
// one past the verified height).
func (g *Gateway) nodeSet(height uint64) (chain.NodeSet, error) {
	g.mu.RLock()
	s, err := g.lc.NodeSet(height)
	g.mu.RUnlock()
	if err != nil {
		return chain.NodeSet{}, err
	}
	out := chain.NodeSet{Keys: make([]crypto.PublicKey, len(s.Keys))}
	for i, k := range s.Keys {
		out.Keys[i] = crypto.PublicKey(k)
	}
	return out, nil
}

// verifiedHeaders fetches headers from..to (all verified already) from a
// node and returns them decoded, each checked against its verified hash,
// with the raw certificates the node sent.
func (g *Gateway) verifiedHeaders(ctx context.Context, u *upstream, from, to uint64) ([]*chain.Header, map[uint64][]byte, error) {
	j, err := u.c.Headers(ctx, from, to)
	if err != nil {
		return nil, nil, err
	}
	raw, err := json.Marshal(j)
	if err != nil {
		return nil, nil, faulty("headers: %v", err)
	}
	var seg light.Segment
	if err := seg.UnmarshalJSON(raw); err != nil {
		return nil, nil, err
	}
	if uint64(len(seg.Headers)) != to-from+1 {
		return nil, nil, faulty("%d headers for heights %d to %d", len(seg.Headers), from, to)
	}
	out := make([]*chain.Header, len(seg.Headers))
	for i, b := range seg.Headers {
		height := from + uint64(i)
		h, err := chain.UnmarshalHeader(b)
		if err != nil {
			return nil, nil, faulty("header %d: %v", height, err)
		}
		want, err := g.headerHash(height)
		if err != nil {
			return nil, nil, err
		}
		if h.Height != height || h.Hash() != want {
			return nil, nil, faulty("header %d is not the verified header of its height", height)
		}
		out[i] = h
	}
	return out, seg.Certificates, nil
}

// verifyCertificate decodes and verifies a node's certificate of a
// verified header.
func (g *Gateway) verifyCertificate(h *chain.Header, raw []byte) (*chain.Certificate, error) {
	if raw == nil {
		return nil, faulty("no certificate for header %d", h.Height)
	}
	c, err := chain.UnmarshalCertificate(raw)
	if err != nil {
		return nil, faulty("certificate %d: %v", h.Height, err)
	}
	set, err := g.nodeSet(h.Height)
	if err != nil {
		return nil, err
	}
	if err := c.Verify(h, set); err != nil {
		return nil, faulty("certificate %d: %v", h.Height, err)
	}
	return c, nil
}

// headers answers GET /v1/headers?from=A&to=B for heights the gateway has
// verified: the headers, each checked against its verified hash; the
// certificates a light client needs (of B and of each header that changes
// the node set), each verified; and the new node sets, from the gateway's
// own light client.
func (g *Gateway) headers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, err1 := strconv.ParseUint(q.Get("from"), 10, 64)
	to, err2 := strconv.ParseUint(q.Get("to"), 10, 64)
	latest := g.Height()
	switch {
	case err1 != nil || err2 != nil:
		fail(w, http.StatusBadRequest, apijson.CodeBadRequest, "from and to are decimal heights")
		return
	case from == 0 || from > to:
		fail(w, http.StatusBadRequest, apijson.CodeBadRequest, "want 1 ≤ from ≤ to")
		return
	case to-from >= apijson.MaxHeaders:
		fail(w, http.StatusBadRequest, apijson.CodeBadRequest, fmt.Sprintf("at most %d headers at once", apijson.MaxHeaders))
		return
	case to > latest:
		fail(w, http.StatusNotFound, apijson.CodeNotFound, fmt.Sprintf("height %d is not verified by the gateway yet (the latest is %d)", to, latest))
		return
	}
	route := fmt.Sprintf("/v1/headers?from=%d&to=%d", from, to)
	g.serve(w, r, route, to, false, func(ctx context.Context, u *upstream) (*answer, error) {
		hdrs, certs, err := g.verifiedHeaders(ctx, u, from, to)
		if err != nil {
			return nil, err
		}
		inForce, err := g.nodeSet(from)
		if err != nil {
			return nil, err
		}
		inForceHash := inForce.Hash()
		seg := &apijson.Segment{Headers: hdrs, Certificates: map[uint64]*chain.Certificate{}, NodeSets: map[chain.Hash]chain.NodeSet{}}
		for _, h := range hdrs {
			changes := h.NextNodes != inForceHash
			if changes || h.Height == to {
				if seg.Certificates[h.Height], err = g.verifyCertificate(h, certs[h.Height]); err != nil {
					return nil, err
				}
			}
			if changes {
				next, err := g.nodeSet(h.Height + 1)
				if err != nil {
					return nil, err
				}
				if next.Hash() != h.NextNodes {
					return nil, fmt.Errorf("gateway: the verified set after height %d is not the one its header names", h.Height)
				}
				seg.NodeSets[h.NextNodes] = next
				inForceHash = h.NextNodes
			}
		}
		out := seg.JSON()
		return encode(http.StatusOK, out, out)
	})
}

// block answers GET /v1/blocks/{height} for a verified height.
func (g *Gateway) block(w http.ResponseWriter, r *http.Request) {
	height, err := strconv.ParseUint(r.PathValue("height"), 10, 64)
	if err != nil {
		fail(w, http.StatusBadRequest, apijson.CodeBadRequest, "malformed height: want a decimal number or \"latest\"")
		return
	}
	if latest := g.Height(); height == 0 || height > latest {
		fail(w, http.StatusNotFound, apijson.CodeNotFound, fmt.Sprintf("no block verified by the gateway at height %d (the latest is %d)", height, latest))
		return
	}
	g.serveBlock(w, r, height)
}

// latestBlock answers GET /v1/blocks/latest: the last verified block.
func (g *Gateway) latestBlock(w http.ResponseWriter, r *http.Request) {
	height := g.Height()
	if height == 0 {
		fail(w, http.StatusNotFound, apijson.CodeNotFound, "no block verified by the gateway yet")
		return
	}
	g.serveBlock(w, r, height)
}

// serveBlock answers a block: its header is the verified one of its
// height (fetched from GET /v1/headers), its transactions hash to the
// header's batch hash, and its certificate is verified.
func (g *Gateway) serveBlock(w http.ResponseWriter, r *http.Request, height uint64) {
	g.serve(w, r, "/v1/blocks", height, false, func(ctx context.Context, u *upstream) (*answer, error) {
		b, err := u.c.Block(ctx, height)
		if err != nil {
			return nil, err
		}
		hdrs, _, err := g.verifiedHeaders(ctx, u, height, height)
		if err != nil {
			return nil, err
		}
		h := hdrs[0]
		txs := make([][]byte, len(b.Txs))
		for i, t := range b.Txs {
			if txs[i], err = base64.StdEncoding.DecodeString(t); err != nil {
				return nil, faulty("block %d: transaction %d: %v", height, i, err)
			}
		}
		if chain.BatchHash(txs) != h.BatchHash {
			return nil, faulty("block %d: its transactions are not the header's batch", height)
		}
		cert, err := certificateOf(&b.Certificate)
		if err != nil {
			return nil, err
		}
		if cert, err = g.verifyCertificate(h, cert.Marshal()); err != nil {
			return nil, err
		}
		out := apijson.BlockOf(&chain.Block{Header: *h, Txs: txs}, cert)
		return encode(http.StatusOK, out, out)
	})
}

// certificateOf decodes a certificate in the API's form.
func certificateOf(j *apijson.Certificate) (*chain.Certificate, error) {
	c := &chain.Certificate{Height: j.Height}
	hash, err := hex.DecodeString(j.BlockHash)
	if err != nil || len(hash) != len(c.BlockHash) {
		return nil, faulty("a certificate's block hash %q", j.BlockHash)
	}
	copy(c.BlockHash[:], hash)
	if len(j.Votes) > chain.MaxVotes {
		return nil, faulty("a certificate of %d votes", len(j.Votes))
	}
	for i, v := range j.Votes {
		sig, err := hex.DecodeString(v.Signature)
		if err != nil || len(sig) != crypto.SignatureSize {
			return nil, faulty("a certificate's signature %d", i)
		}
		vote := chain.Vote{Signer: v.Signer}
		copy(vote.Sig[:], sig)
		c.Votes = append(c.Votes, vote)
	}
	return c, nil
}
