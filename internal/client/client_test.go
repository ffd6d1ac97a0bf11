package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mass-consensus/mass/internal/apijson"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/wire"
)

// node is a fake API: each route answers with a status and a body.
type node struct {
	mu     sync.Mutex
	routes map[string]func(w http.ResponseWriter, r *http.Request)
	calls  []string
}

func newNode(t *testing.T, opts ...Option) (*node, *Client) {
	t.Helper()
	n := &node{routes: map[string]func(http.ResponseWriter, *http.Request){}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.mu.Lock()
		n.calls = append(n.calls, r.Method+" "+r.URL.RequestURI())
		h := n.routes[r.Method+" "+r.URL.Path]
		n.mu.Unlock()
		if h == nil {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"error":{"code":"not_found","message":"no route"}}`)
			return
		}
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	c, err := New(srv.URL, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return n, c
}

// answer sets a route's answer.
func (n *node) answer(route string, status int, body string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.routes[route] = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

func (n *node) called() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.calls...)
}

func hashOf(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func TestNewAddresses(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:8080":          "http://127.0.0.1:8080",
		"http://127.0.0.1:8080/":  "http://127.0.0.1:8080",
		"https://node.example/x/": "https://node.example/x",
		" localhost:1 ":           "http://localhost:1",
	} {
		c, err := New(addr)
		if err != nil || c.Base() != want {
			t.Errorf("%q: %v %v, want %s", addr, c, err, want)
		}
	}
	for _, addr := range []string{"", "ftp://x", "http://", "http://x?y=1", "http://[::1"} {
		if _, err := New(addr); !errors.Is(err, ErrArgument) {
			t.Errorf("%q: %v", addr, err)
		}
	}
}

func TestReads(t *testing.T) {
	n, c := newNode(t)
	ctx := context.Background()
	id := crypto.ID{1, 2}
	n.answer("GET /v1/status", 200, `{"chain_id":"c","height":9,"certified":8,"peers":3}`)
	n.answer("GET /v1/accounts/"+id.String(), 200, `{"height":4,"found":true,"account":{"id":"x","balance":7,"role":"member","nonce":2},"proof":{"height":4,"key":"00","found":true}}`)
	n.answer("GET /v1/organization", 200, `{"height":4,"organization":{"name":"O","policy":"vote"}}`)
	n.answer("GET /v1/proposals/3", 200, `{"height":4,"proposal":{"id":3,"title":"T","records":[]}}`)
	n.answer("GET /v1/proposals", 200, `{"height":4,"list":{"domain":"general","total":0,"proposals":[],"records":[]}}`)
	n.answer("GET /v1/governance", 200, `{"height":4,"governance":{"next_proposal":1,"domains":[]},"executors":[]}`)
	n.answer("GET /v1/proposals/3/comments", 200, `{"height":4,"comments":[{"index":0,"text":"hi"}]}`)
	n.answer("GET /metrics", 200, "mass_height 9\n")
	n.answer("GET /v1/treasury", 200, `{"height":4,"found":true,"account":{"id":"x","name":"treasury","balance":90,"role":"guest","nonce":0}}`)
	n.answer("GET /v1/executors", 200, `{"height":4,"executors":[{"role":"clerk","member":"m","name":"ann","proposal":2,"since":1,"until":9}]}`)
	st, err := c.Status(ctx)
	if err != nil || st.ChainID != "c" || st.Certified != 8 {
		t.Fatalf("status %+v %v", st, err)
	}
	a, err := c.Account(ctx, id, At{Height: 4, Prove: true})
	if err != nil || a.Account.Balance != 7 || a.Proof == nil {
		t.Fatalf("account %+v %v", a, err)
	}
	if o, err := c.Organization(ctx, At{}); err != nil || o.Organization.Policy != "vote" {
		t.Fatalf("organization %+v %v", o, err)
	}
	if p, err := c.Proposal(ctx, 3, At{Height: 4}); err != nil || p.Proposal.Title != "T" {
		t.Fatalf("proposal %+v %v", p, err)
	}
	if l, err := c.Proposals(ctx, "general", 2, At{Prove: true}); err != nil || l.List.Domain != "general" {
		t.Fatalf("list %+v %v", l, err)
	}
	if g, err := c.Governance(ctx, At{}); err != nil || g.Governance.NextProposal != 1 {
		t.Fatalf("governance %+v %v", g, err)
	}
	if cs, err := c.Comments(ctx, 3, 5, At{}); err != nil || cs.Comments[0].Text != "hi" {
		t.Fatalf("comments %+v %v", cs, err)
	}
	if m, err := c.Metrics(ctx); err != nil || string(m) != "mass_height 9\n" {
		t.Fatalf("metrics %q %v", m, err)
	}
	if tr, err := c.Treasury(ctx, At{}); err != nil || tr.Account.Balance != 90 {
		t.Fatalf("treasury %+v %v", tr, err)
	}
	if ex, err := c.Executors(ctx, At{}); err != nil || ex.Executors[0].Name != "ann" {
		t.Fatalf("executors %+v %v", ex, err)
	}
	if _, err := c.Executors(ctx, At{Prove: true}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("executors without the proofs asked for: %v", err)
	}
	want := []string{
		"GET /v1/status", "GET /v1/accounts/" + id.String() + "?height=4&prove=1", "GET /v1/organization",
		"GET /v1/proposals/3?height=4", "GET /v1/proposals?domain=general&page=2&prove=1", "GET /v1/governance",
		"GET /v1/proposals/3/comments?from=5", "GET /metrics", "GET /v1/treasury", "GET /v1/executors", "GET /v1/executors?prove=1",
	}
	if got := n.called(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("requests:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestMalformedAnswers: an answer that is not the API's is refused with
// ErrMalformed, naming the request.
func TestMalformedAnswers(t *testing.T) {
	ctx := context.Background()
	id := crypto.ID{3}
	for name, c := range map[string]struct {
		route, body string
		call        func(*Client) error
	}{
		"not JSON":             {"GET /v1/status", `<html>`, func(c *Client) error { _, err := c.Status(ctx); return err }},
		"truncated":            {"GET /v1/status", `{"chain_id":"c"`, func(c *Client) error { _, err := c.Status(ctx); return err }},
		"two values":           {"GET /v1/status", `{"chain_id":"c"} {}`, func(c *Client) error { _, err := c.Status(ctx); return err }},
		"a wrong type":         {"GET /v1/status", `{"chain_id":5}`, func(c *Client) error { _, err := c.Status(ctx); return err }},
		"null":                 {"GET /v1/status", `null`, func(c *Client) error { _, err := c.Status(ctx); return err }},
		"failing its check":    {"GET /v1/status", `{"height":3}`, func(c *Client) error { _, err := c.Status(ctx); return err }},
		"no proof when asked":  {"GET /v1/accounts/" + id.String(), `{"height":4,"found":false}`, func(c *Client) error { _, err := c.Account(ctx, id, At{Prove: true}); return err }},
		"another height":       {"GET /v1/accounts/" + id.String(), `{"height":4,"found":false}`, func(c *Client) error { _, err := c.Account(ctx, id, At{Height: 3}); return err }},
		"another proposal":     {"GET /v1/proposals/3", `{"height":4,"proposal":{"id":4}}`, func(c *Client) error { _, err := c.Proposal(ctx, 3, At{}); return err }},
		"organization missing": {"GET /v1/organization", `{"height":4}`, func(c *Client) error { _, err := c.Organization(ctx, At{}); return err }},
		"headers, wrong count": {"GET /v1/headers", `{"headers":["00"],"certificates":{}}`, func(c *Client) error { _, err := c.Headers(ctx, 1, 2); return err }},
		"another block":        {"GET /v1/blocks/2", `{"height":3}`, func(c *Client) error { _, err := c.Block(ctx, 2); return err }},
	} {
		n, cl := newNode(t)
		n.answer(c.route, 200, c.body)
		err := c.call(cl)
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestOversizedAnswers(t *testing.T) {
	n, c := newNode(t, WithMaxAnswer(100))
	n.answer("GET /v1/status", 200, `{"chain_id":"`+strings.Repeat("c", 200)+`"}`)
	if _, err := c.Status(context.Background()); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "over 100 bytes") {
		t.Fatalf("a long answer: %v", err)
	}
	// An error answer is read only in part, its message cut short.
	n.answer("GET /v1/organization", 502, strings.Repeat("x", 10<<20))
	_, err := c.Organization(context.Background(), At{})
	e, ok := errors.AsType[*Error](err)
	if !ok || e.Status != 502 || e.Code != "" || len(e.Message) > 300 {
		t.Fatalf("a long error answer: %v", err)
	}
}

// TestErrorAnswers: an error answer becomes an *Error with the status and
// the API's code, so that a caller can tell them apart.
func TestErrorAnswers(t *testing.T) {
	n, c := newNode(t)
	ctx := context.Background()
	tx := []byte("tx")
	n.answer("POST /v1/txs", 409, `{"error":{"code":"duplicate","message":"already pending"}}`)
	_, err := c.Submit(ctx, tx)
	if e, ok := errors.AsType[*Error](err); !ok || e.Status != 409 || e.Code != apijson.CodeDuplicate || !IsCode(err, apijson.CodeDuplicate) || IsCode(err, apijson.CodeRejected) {
		t.Fatalf("duplicate: %v", err)
	}
	if !strings.Contains(err.Error(), "already pending (duplicate, HTTP 409)") {
		t.Fatalf("message: %v", err)
	}
	n.answer("POST /v1/txs", 400, `{"error":{"code":"rejected","message":"nonce 3 is used already"}}`)
	if _, err := c.Submit(ctx, tx); !IsCode(err, apijson.CodeRejected) || !strings.Contains(err.Error(), "nonce 3") {
		t.Fatalf("rejected: %v", err)
	}
	n.answer("POST /v1/txs", 502, "Bad Gateway from a proxy")
	_, err = c.Submit(ctx, tx)
	if e, ok := errors.AsType[*Error](err); !ok || e.Code != "" || e.Status != 502 || !strings.Contains(err.Error(), "Bad Gateway from a proxy") {
		t.Fatalf("not the API's error: %v", err)
	}
	// A success status other than the route's is not taken as success.
	n.answer("POST /v1/txs", 200, `{"hash":"`+hashOf(tx)+`"}`)
	if _, err := c.Submit(ctx, tx); err == nil {
		t.Fatal("a 200 to a submission was taken")
	}
	if _, err := c.Tx(ctx, "nothex"); !errors.Is(err, ErrArgument) {
		t.Fatalf("a bad hash: %v", err)
	}
	if _, err := c.Headers(ctx, 0, 5); !errors.Is(err, ErrArgument) {
		t.Fatalf("headers from 0: %v", err)
	}
	if _, err := c.Headers(ctx, 1, apijson.MaxHeaders+1); !errors.Is(err, ErrArgument) {
		t.Fatalf("too many headers: %v", err)
	}
	if _, err := c.Block(ctx, 0); !errors.Is(err, ErrArgument) {
		t.Fatalf("block 0: %v", err)
	}
	if calls := n.called(); len(calls) != 4 {
		t.Fatalf("arguments refused before sending, yet: %v", calls)
	}
}

func TestSubmitAndTx(t *testing.T) {
	n, c := newNode(t)
	ctx := context.Background()
	tx := []byte("a transaction")
	n.answer("POST /v1/txs", 202, `{"hash":"`+hashOf(tx)+`"}`)
	n.answer("GET /v1/txs/"+hashOf(tx), 200, `{"hash":"`+hashOf(tx)+`","status":"committed","height":5,"code":0}`)
	sub, err := c.Submit(ctx, tx)
	if err != nil || sub.Hash != hashOf(tx) {
		t.Fatalf("submit %+v %v", sub, err)
	}
	st, err := c.Tx(ctx, sub.Hash)
	if err != nil || st.Status != apijson.TxCommitted || st.Height != 5 || st.Code == nil {
		t.Fatalf("tx %+v %v", st, err)
	}
	// The node names another transaction: refused.
	n.answer("POST /v1/txs", 202, `{"hash":"`+hashOf([]byte("other"))+`"}`)
	if _, err := c.Submit(ctx, tx); !errors.Is(err, ErrMalformed) {
		t.Fatalf("another hash: %v", err)
	}
	n.answer("GET /v1/txs/"+hashOf(tx), 200, `{"hash":"`+hashOf([]byte("other"))+`","status":"pending"}`)
	if _, err := c.Tx(ctx, hashOf(tx)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("about another transaction: %v", err)
	}
	if _, err := c.Submit(ctx, nil); !errors.Is(err, ErrArgument) {
		t.Fatalf("an empty transaction: %v", err)
	}
}

func TestSubmitBatch(t *testing.T) {
	n, c := newNode(t)
	txs := [][]byte{[]byte("a"), make([]byte, 300), []byte("ccc")}
	var got [][]byte
	n.routes["POST /v1/txs/batch"] = func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		// Decoded as the server does.
		rd := wire.NewReader(body)
		count := rd.Count(apijson.MaxBatchTxs, "count")
		for range count {
			got = append(got, rd.Bytes(1<<20, "tx"))
		}
		if err := rd.Done(); err != nil || r.Header.Get("Content-Type") != "application/octet-stream" {
			w.WriteHeader(400)
			return
		}
		io.WriteString(w, `{"accepted":2,"rejected":[{"index":1,"code":"busy","message":"full"}]}`)
	}
	res, err := c.SubmitBatch(context.Background(), txs)
	if err != nil || res.Accepted != 2 || res.Rejected[0].Index != 1 || res.Rejected[0].Code != apijson.CodeBusy {
		t.Fatalf("batch %+v %v", res, err)
	}
	if len(got) != 3 || string(got[2]) != "ccc" || len(got[1]) != 300 {
		t.Fatalf("the node read %q", got)
	}
	n.answer("POST /v1/txs/batch", 200, `{"accepted":3,"rejected":[{"index":7,"code":"busy"}]}`)
	if _, err := c.SubmitBatch(context.Background(), txs); !errors.Is(err, ErrMalformed) {
		t.Fatalf("an answer that does not add up: %v", err)
	}
	n.answer("POST /v1/txs/batch", 503, `{"error":{"code":"busy","message":"full"}}`)
	if _, err := c.SubmitBatch(context.Background(), txs); !IsCode(err, apijson.CodeBusy) {
		t.Fatalf("busy: %v", err)
	}
	for name, bad := range map[string][][]byte{
		"empty batch": nil, "empty transaction": {[]byte("a"), {}},
		"too many": make([][]byte, apijson.MaxBatchTxs+1), "too large": {make([]byte, apijson.MaxBatchBody)},
	} {
		if _, err := c.SubmitBatch(context.Background(), bad); !errors.Is(err, ErrArgument) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestTimeout: a node that never answers is given up on after the
// client's timeout.
func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	n, c := newNode(t, WithTimeout(50*time.Millisecond))
	hang := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}
	n.routes["GET /v1/status"] = hang
	n.routes["GET /v1/events"] = hang
	if _, err := c.Status(context.Background()); err == nil || !strings.Contains(err.Error(), "Timeout") {
		t.Fatalf("a silent node: %v", err)
	}
	if _, err := c.Events(context.Background()); err == nil {
		t.Fatal("a silent event stream was opened")
	}
}

func TestEvents(t *testing.T) {
	h1, h2, blk := strings.Repeat("ab", 32), strings.Repeat("01", 32), strings.Repeat("cd", 32)
	commit := func(height int, txs ...string) string {
		return fmt.Sprintf(`{"height":%d,"hash":"%s","time_ms":1,"txs":[%s],"results":[]}`, height, blk, strings.Join(txs, ","))
	}
	stream := ": ping\n\n" +
		"event: commit\ndata: " + commit(7, `"`+h1+`"`, `"`+h2+`"`) + "\n\n" +
		"event: other\ndata: {}\n\n" + // a kind of event this client does not know
		"event: commit\ndata: " + commit(8) + "\n\n"
	n, c := newNode(t, WithMaxAnswer(4096))
	n.answer("GET /v1/events", 200, stream)
	ev, err := c.Events(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	var heights []uint64
	for {
		e, err := ev.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		heights = append(heights, e.Height)
	}
	if fmt.Sprint(heights) != "[7 8]" {
		t.Fatalf("heights %v", heights)
	}
	for name, c := range map[string]struct {
		stream string
		want   error
	}{
		"malformed": {"event: commit\ndata: {\"height\":1,\"hash\":\"" + blk + "\",\"txs\":[\"zz\"]}\n\n", ErrMalformed},
		"not JSON":  {"event: commit\ndata: {\n\n", ErrMalformed},
		"oversized": {"event: commit\ndata: " + strings.Repeat(" ", 5000) + commit(1) + "\n\n", ErrTooLarge},
		"no height": {"data: {\"hash\":\"" + blk + "\"}\n\n", ErrMalformed},
	} {
		n, cl := newNode(t, WithMaxAnswer(4096))
		n.answer("GET /v1/events", 200, c.stream)
		ev, err := cl.Events(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ev.Next(); !errors.Is(err, c.want) {
			t.Errorf("%s: %v", name, err)
		}
		ev.Close()
	}
	n.answer("GET /v1/events", 503, `{"error":{"code":"stopped","message":"the API is shutting down"}}`)
	if _, err := c.Events(context.Background()); !IsCode(err, apijson.CodeStopped) {
		t.Fatalf("a stopping node: %v", err)
	}
}
