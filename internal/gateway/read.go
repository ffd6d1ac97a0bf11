package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/mass-consensus/mass/internal/apijson"
	"github.com/mass-consensus/mass/internal/app/state"
	"github.com/mass-consensus/mass/internal/client"
)

// unverifiedError says why no node gave a verifiable answer.
type unverifiedError struct{ fails failures }

func (e *unverifiedError) Error() string {
	if len(e.fails) == 0 {
		return "no node to ask"
	}
	return "no node gave a verifiable answer: " + e.fails.String()
}

// fetcher asks one node for an answer at a height and returns it verified
// and rebuilt, or why it could not.
type fetcher func(ctx context.Context, u *upstream) (*answer, error)

// at resolves a read's ?height (default: the latest verified height) and
// ?prove; on failure it has answered.
func (g *Gateway) at(w http.ResponseWriter, r *http.Request) (height uint64, prove, ok bool) {
	q := r.URL.Query()
	switch q.Get("prove") {
	case "", "0", "false":
	case "1", "true":
		prove = true
	default:
		fail(w, http.StatusBadRequest, apijson.CodeBadRequest, "prove is 1 or 0")
		return 0, false, false
	}
	latest := g.Height()
	if latest == 0 {
		fail(w, http.StatusServiceUnavailable, apijson.CodeUnavailable, "the gateway has not verified any block yet")
		return 0, false, false
	}
	height = latest
	if hs := q.Get("height"); hs != "" && hs != "latest" {
		h, err := strconv.ParseUint(hs, 10, 64)
		switch {
		case err != nil:
			fail(w, http.StatusBadRequest, apijson.CodeBadRequest, "malformed height: want a decimal number or \"latest\"")
			return 0, false, false
		case h == 0:
			fail(w, http.StatusNotFound, apijson.CodeNotFound, "no state is provable at height 0: proofs start at height 1")
			return 0, false, false
		case h > latest:
			fail(w, http.StatusNotFound, apijson.CodeNotFound, fmt.Sprintf("height %d is not verified by the gateway yet (the latest is %d)", h, latest))
			return 0, false, false
		}
		height = h
	}
	return height, prove, true
}

// serve answers a read from the cache, or asks the nodes in turn, the
// likeliest first, until one gives an answer that verifies; concurrent
// reads of one key share one fetch. If none does, it answers 502
// unverified with why each failed.
func (g *Gateway) serve(w http.ResponseWriter, r *http.Request, route string, height uint64, prove bool, fetch fetcher) {
	key := route + "@" + strconv.FormatUint(height, 10)
	a, ok := g.cache.get(key)
	if !ok {
		ctx, cancel := g.requestContext(r)
		defer cancel()
		var err error
		a, err = g.flights.do(ctx, key, func() (*answer, error) { return g.ask(key, height, fetch) })
		if ue, ok := errors.AsType[*unverifiedError](err); ok {
			fail(w, http.StatusBadGateway, CodeUnverified, ue.Error())
			return
		}
		if err != nil {
			fail(w, http.StatusServiceUnavailable, apijson.CodeUnavailable, err.Error())
			return
		}
	}
	body := a.bare
	if prove {
		body = a.full
	}
	writeBody(w, a.status, body)
}

// ask asks the nodes in turn for an answer at height, within a bound of
// time; the first that verifies is cached and returned.
func (g *Gateway) ask(key string, height uint64, fetch fetcher) (*answer, error) {
	ctx, cancel := context.WithTimeout(g.ctx, 2*g.cfg.Timeout)
	defer cancel()
	var fails failures
	for _, u := range g.order(height) {
		if ctx.Err() != nil {
			if g.ctx.Err() != nil {
				return nil, errors.New("the gateway is shutting down")
			}
			fails = append(fails, "(the others: no time left)")
			break
		}
		a, err := fetch(ctx, u)
		if err == nil {
			g.cache.put(key, a)
			return a, nil
		}
		g.note(u, err)
		fails.add(u, err)
	}
	return nil, &unverifiedError{fails}
}

// encode is an answer of status: full is the body with proofs, bare
// without.
func encode(status int, full, bare any) (*answer, error) {
	f, err := json.Marshal(full)
	if err != nil {
		return nil, fmt.Errorf("gateway: encoding an answer: %w", err)
	}
	b, err := json.Marshal(bare)
	if err != nil {
		return nil, fmt.Errorf("gateway: encoding an answer: %w", err)
	}
	return &answer{status: status, full: append(f, '\n'), bare: append(b, '\n')}, nil
}

// hasHeight says whether a node answers a read at height: one that does
// not may just be behind.
func (g *Gateway) hasHeight(ctx context.Context, u *upstream, height uint64) bool {
	_, err := u.c.Organization(ctx, client.At{Height: height})
	return err == nil
}

// notFound is a verified answer that something is absent.
func notFound(message string) (*answer, error) {
	body := apijson.ErrorBody{Error: apijson.ErrorDetail{Code: apijson.CodeNotFound, Message: message}}
	return encode(http.StatusNotFound, body, body)
}

// absent proves, from the node that said it is not found, that the record
// at key is absent at the records' height, and answers 404; a node that
// says "not found" of a record that exists is faulty.
func (g *Gateway) absent(ctx context.Context, u *upstream, s *records, k state.Key, what string) (*answer, error) {
	if err := g.proveKey(ctx, u, s, k); err != nil {
		if _, refused := errors.AsType[*client.Error](err); refused && g.hasHeight(ctx, u, s.height) {
			// A node that has the height proves the absence of any
			// record that is absent.
			return nil, faulty("it says %s, and cannot prove the record absent: %v", what, err)
		}
		return nil, err
	}
	if s.recs[k].Found {
		return nil, faulty("it says %s, but the record exists", what)
	}
	return notFound(fmt.Sprintf("%s at height %d (proven absent)", what, s.height))
}
