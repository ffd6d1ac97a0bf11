package e2e

import (
	"net/http"
	"slices"
	"testing"
)

// TestByzantineKeyDealerIsLeftOut: four real nodes, node 2 started as a
// Byzantine key dealer (its part's rows to half the nodes are garbage). The
// other nodes post no ack for its part, the keys are made from the honest
// parts, every node (node 2 too) derives the same keys, and transactions
// commit once the threshold coin runs.
func TestByzantineKeyDealerIsLeftOut(t *testing.T) {
	c := newCluster(t, 4)
	c.procs[2].args = []string{"--byzantine", "bad-key-part"}
	for i := range 4 {
		c.start(i)
	}
	all := []int{0, 1, 2, 3}
	c.sameKeys(all, 0, "")
	for _, i := range all {
		var st struct {
			Dealers []int `json:"key_dealers"`
		}
		if code, err := c.getJSON(i, "/v1/status", &st); err != nil || code != http.StatusOK {
			t.Fatalf("node %d status: %d %v", i, code, err)
		}
		if len(st.Dealers) < 3 || slices.Contains(st.Dealers, 2) {
			t.Fatalf("node %d made its keys from the parts of %v", i, st.Dealers)
		}
	}
	txs := load("k", 600)
	c.submitAll([]int{0, 1, 3}, txs, nil)
	c.committedEverywhere(all, txs)
	for _, i := range all {
		var st keyStatus
		if _, err := c.getJSON(i, "/v1/status", &st); err != nil || st.Coin != "threshold" {
			t.Fatalf("node %d tosses the %q coin after the load (%v)", i, st.Coin, err)
		}
	}
}
