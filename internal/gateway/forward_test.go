package gateway

import (
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mass-consensus/mass/internal/app"
	"github.com/mass-consensus/mass/internal/client"
	"github.com/mass-consensus/mass/internal/protocol/epoch"
)

// deadAddress is an address where nothing listens.
func deadAddress(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// TestSubmissionsFailOver: a submission goes to the next node when one is
// unreachable or answers 503, and comes back as the node that took it
// answered; a node's 4xx is passed back as it is, without asking another.
func TestSubmissionsFailOver(t *testing.T) {
	f := newFixture(t, "honest")
	good := f.node()
	api := good.Config.Handler
	// gone answers until closed; busy answers reads and refuses
	// submissions with 503.
	gone := httptest.NewServer(api)
	var busyRefused atomic.Int32
	busy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			busyRefused.Add(1)
			w.Header().Set("Retry-After", "1")
			fail(w, http.StatusServiceUnavailable, "busy", "the pending queue is full")
			return
		}
		api.ServeHTTP(w, r)
	}))
	defer busy.Close()
	g, err := New(Config{Genesis: f.genesis, Nodes: []string{gone.URL, busy.URL, good.URL}, Poll: time.Hour, Timeout: 5 * time.Second, App: http.NotFoundHandler()})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	waitHeight(t, g, 4)
	gone.Close() // after the first poll: the gateway still thinks it up

	for i := range 3 {
		raw := f.transfer(f.alice, f.bob, uint64(i+1))
		rec := postTo(g, "/v1/txs", string(raw))
		h := epoch.HashTx(raw)
		if rec.Code != http.StatusAccepted || !strings.Contains(rec.Body.String(), hex.EncodeToString(h[:])) {
			t.Fatalf("submission %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	if n := f.backend.count(); n != 3 {
		t.Fatalf("the node took %d transactions, want 3", n)
	}
	if busyRefused.Load() == 0 {
		t.Fatal("the busy node was never asked")
	}
	if st := g.Status().Gateway.Nodes[0]; st.State != stateUnreachable {
		t.Fatalf("the closed node: %+v", st)
	}
	// A batch, and the typed routes.
	batch, err := client.EncodeBatch([][]byte{f.transfer(f.alice, f.bob, 9), f.transfer(f.alice, f.bob, 10)})
	if err != nil {
		t.Fatal(err)
	}
	if rec := postTo(g, "/v1/txs/batch", string(batch)); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"accepted":2`) {
		t.Fatalf("batch: %d %s", rec.Code, rec.Body)
	}
	if rec := postTo(g, "/v1/proposals/1/join", string(f.transfer(f.alice, f.bob, 11))); rec.Code != http.StatusBadRequest ||
		errorCode(rec.Body.String()) != "bad_request" {
		t.Fatalf("a transfer on the join route: %d %s", rec.Code, rec.Body)
	}
	if rec := postTo(g, "/v1/txs", strings.Repeat("x", MaxBodySize+1)); rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("an oversized body: %d %s", rec.Code, rec.Body)
	}

	// The node's refusal comes back as it is: no other node is asked.
	f.backend.refuse(fmt.Errorf("%w: nonce too low", app.ErrRejected))
	before := f.backend.count()
	rec := postTo(g, "/v1/txs", string(f.transfer(f.alice, f.bob, 12)))
	if rec.Code != http.StatusBadRequest || errorCode(rec.Body.String()) != "rejected" || !strings.Contains(rec.Body.String(), "nonce too low") {
		t.Fatalf("a rejection: %d %s", rec.Code, rec.Body)
	}
	if f.backend.count() != before+1 {
		t.Fatalf("the rejected transaction was sent %d times", f.backend.count()-before)
	}
	f.backend.refuse(nil)

	// The status of a transaction is forwarded, and says it is not
	// verified.
	unknown := epoch.HashTx(f.transfer(f.alice, f.bob, 1)) // in no block
	w := httptest.NewRecorder()
	g.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/v1/txs/"+hex.EncodeToString(unknown[:]), nil))
	if w.Code != http.StatusNotFound || w.Header().Get("X-Mass-Verified") != "no" {
		t.Fatalf("an unknown transaction: %d %s", w.Code, w.Body)
	}
	first := f.backend.blocks[1].Txs[0]
	h := epoch.HashTx(first)
	w = httptest.NewRecorder()
	g.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/v1/txs/"+hex.EncodeToString(h[:]), nil))
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"status":"committed","height":1`) || w.Header().Get("X-Mass-Verified") != "no" {
		t.Fatalf("a committed transaction: %d %s", w.Code, w.Body)
	}

	// With every node down, 503 and why.
	down, err := New(Config{Genesis: f.genesis, Nodes: []string{deadAddress(t), deadAddress(t)}, Poll: time.Hour, Timeout: 2 * time.Second, App: http.NotFoundHandler()})
	if err != nil {
		t.Fatal(err)
	}
	defer down.Close()
	rec = postTo(down, "/v1/txs", string(f.transfer(f.alice, f.bob, 13)))
	if rec.Code != http.StatusServiceUnavailable || errorCode(rec.Body.String()) != "unavailable" || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("all down: %d %s", rec.Code, rec.Body)
	}
}
