package gateway

import (
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/mass-consensus/mass/internal/protocol/epoch"
)

// TestHungNodeDoesNotHoldTheGateway: a node that accepts connections and
// never answers delays the gateway by the request timeout at most: it
// follows the honest node and serves reads from it.
func TestHungNodeDoesNotHoldTheGateway(t *testing.T) {
	f := newFixture(t, "honest")
	honest := f.node()
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer hung.Close()
	start := time.Now()
	g, err := New(Config{Genesis: f.genesis, Nodes: []string{hung.URL, honest.URL}, Poll: 20 * time.Millisecond, Timeout: 300 * time.Millisecond, App: http.NotFoundHandler()})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	waitHeight(t, g, 4)
	for range 4 {
		if code, body := get(t, g, "/v1/organization"); code != http.StatusOK {
			t.Fatalf("%d %s", code, body)
		}
		if code, body := get(t, g, "/v1/proposals/1?height=2"); code != http.StatusOK {
			t.Fatalf("%d %s", code, body)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v", d)
	}
	if st := g.Status().Gateway.Nodes[0]; st.State != stateUnreachable {
		t.Fatalf("the hung node: %+v", st)
	}
}

// TestCommitTriggersAPoll: when a node says a transaction is committed at
// a height the gateway has not verified, the gateway polls at once rather
// than at its next tick.
func TestCommitTriggersAPoll(t *testing.T) {
	f := newFixture(t, "honest")
	g := newGatewayPolling(t, f.genesis, time.Hour, f.node().URL)
	waitHeight(t, g, 4)
	raw := f.transfer(f.alice, f.bob, 1)
	f.block(raw)
	h := epoch.HashTx(raw)
	if code, body := get(t, g, "/v1/txs/"+hex.EncodeToString(h[:])); code != http.StatusOK || !contains(body, `"height":5`) {
		t.Fatalf("%d %s", code, body)
	}
	waitHeight(t, g, 5)
}
