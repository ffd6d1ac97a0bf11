package gateway

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/mass-consensus/mass/internal/apijson"
)

// forward passes a submission (its body within limit bytes) to a node,
// one that has reached the verified height first: the first that answers
// below 500 gives the answer, passed back as it is
// (202 accepted, 400 rejected, 409 duplicate …); on a connection failure
// or a 5xx the next node is tried. If none takes it, 503.
func (g *Gateway) forward(limit int64) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
		if err != nil {
			if mbe, ok := errors.AsType[*http.MaxBytesError](err); ok {
				fail(w, http.StatusRequestEntityTooLarge, apijson.CodeTooLarge, fmt.Sprintf("body larger than %d bytes", mbe.Limit))
				return
			}
			fail(w, http.StatusBadRequest, apijson.CodeBadRequest, "malformed body: "+err.Error())
			return
		}
		ctx, cancel := g.requestContext(r)
		defer cancel()
		var fails failures
		// A node that has reached the verified height first: one that
		// lags may refuse a transaction about what it has not applied
		// yet (a proposal just created).
		for _, u := range g.order(g.Height()) {
			resp, err := g.send(ctx, u, r, body)
			if err != nil {
				if ctx.Err() != nil {
					fail(w, http.StatusServiceUnavailable, apijson.CodeUnavailable, "the request ended before a node answered")
					return
				}
				g.note(u, err)
				fails.add(u, err)
				continue
			}
			if resp.status >= http.StatusInternalServerError {
				fails.add(u, fmt.Errorf("HTTP %d: %s", resp.status, bytes.TrimSpace(resp.body)))
				continue
			}
			resp.write(w)
			return
		}
		w.Header().Set("Retry-After", "1")
		fail(w, http.StatusServiceUnavailable, apijson.CodeUnavailable, "no node took the request: "+fails.String())
	}
}

// txStatus forwards GET /v1/txs/{hash}: the first node that knows the
// transaction answers. This is not verified: a transaction's status and
// result are not in the state, so there is no proof of them; the answer
// says so in X-Mass-Verified: no.
func (g *Gateway) txStatus(w http.ResponseWriter, r *http.Request) {
	if b, err := hex.DecodeString(r.PathValue("hash")); err != nil || len(b) != apijson.HashSize {
		fail(w, http.StatusBadRequest, apijson.CodeBadRequest, "malformed hash: want 64 hex digits")
		return
	}
	ctx, cancel := g.requestContext(r)
	defer cancel()
	var fails failures
	var unknown *forwarded
	for _, u := range g.order(g.Height()) {
		resp, err := g.send(ctx, u, r, nil)
		switch {
		case err != nil && ctx.Err() != nil:
			fail(w, http.StatusServiceUnavailable, apijson.CodeUnavailable, "the request ended before a node answered")
			return
		case err != nil:
			g.note(u, err)
			fails.add(u, err)
			continue
		case resp.status == http.StatusNotFound:
			// Another node may hold it pending.
			unknown = resp
			continue
		case resp.status >= http.StatusInternalServerError:
			fails.add(u, fmt.Errorf("HTTP %d: %s", resp.status, bytes.TrimSpace(resp.body)))
			continue
		}
		g.committedAt(resp)
		w.Header().Set("X-Mass-Verified", "no")
		resp.write(w)
		return
	}
	if unknown != nil {
		w.Header().Set("X-Mass-Verified", "no")
		unknown.write(w)
		return
	}
	fail(w, http.StatusServiceUnavailable, apijson.CodeUnavailable, "no node answered: "+fails.String())
}

// committedAt polls the nodes at once when a node says a transaction is
// committed at a height the gateway has not verified yet, so that a client
// that waited for its commit soon reads its effect through the gateway.
func (g *Gateway) committedAt(resp *forwarded) {
	var st apijson.TxStatus
	if resp.status == http.StatusOK && json.Unmarshal(resp.body, &st) == nil &&
		st.Status == apijson.TxCommitted && st.Height > g.Height() {
		g.Poll()
	}
}

// forwarded is a node's answer to a forwarded request.
type forwarded struct {
	status int
	header http.Header
	body   []byte
}

// passed are the headers of a node's answer passed back.
var passed = []string{"Content-Type", "Retry-After", "Allow"}

func (f *forwarded) write(w http.ResponseWriter) {
	for _, k := range passed {
		if v := f.header.Get(k); v != "" {
			w.Header().Set(k, v)
		}
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(f.status)
	w.Write(f.body)
}

// send sends a request's method, path, query and Content-Type, with body,
// to a node, and reads its answer within a bound.
func (g *Gateway) send(ctx context.Context, u *upstream, r *http.Request, body []byte) (*forwarded, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, u.base+r.URL.RequestURI(), rd)
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	resp, err := g.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxForwarded+1))
	if err != nil {
		return nil, fmt.Errorf("reading the answer: %w", err)
	}
	if len(b) > maxForwarded {
		return nil, fmt.Errorf("an answer over %d bytes", maxForwarded)
	}
	return &forwarded{status: resp.StatusCode, header: resp.Header, body: b}, nil
}
