package node

import (
	"fmt"
	"testing"
)

// sameKeys reports whether every listed node has the era's threshold keys,
// from the same block, with the same group key.
func (c *cluster) sameKeys(nodes []int) func() bool {
	return func() bool {
		first := c.members[nodes[0]].node.Status()
		for _, i := range nodes {
			st := c.members[i].node.Status()
			if st.KeysAt == 0 || st.KeysAt != first.KeysAt || st.GroupKey != first.GroupKey {
				return false
			}
		}
		return true
	}
}

// TestKeysThroughTheLog: four nodes generate their threshold keys through
// the log with no transaction of their own, switch to the threshold coin,
// and a node that crashes and restarts derives the same keys again from its
// blocks and goes on with the others.
func TestKeysThroughTheLog(t *testing.T) {
	c := newCluster(t, 4)
	for i := range 4 {
		c.start(i)
	}
	all := []int{0, 1, 2, 3}
	c.waitFor("threshold keys at every node", c.sameKeys(all))
	before := c.members[0].node.Status()
	if before.KeyParts < 3 {
		t.Fatalf("keys from %d complete parts, want at least N-F = 3", before.KeyParts)
	}
	c.crash(2)
	c.start(2)
	c.waitFor("the same keys after a restart", c.sameKeys(all))
	if st := c.members[2].node.Status(); st.GroupKey != before.GroupKey || st.KeysAt != before.KeysAt {
		t.Fatalf("restarted node: keys %s at %d, before %s at %d", st.GroupKey, st.KeysAt, before.GroupKey, before.KeysAt)
	}
	// Load until every node is past the switch (the keys may be ready a
	// few epochs before it), then once more: those commits run on the
	// threshold coin.
	for round := 0; ; round++ {
		load := txs(fmt.Sprint("k", round, "-"), 100)
		c.submitTo(all, load)
		c.waitFor("transactions committed", c.committedEverywhere(all, load))
		if c.pastCoinSwitch(all) {
			break
		}
		if round == 20 {
			st := c.members[0].node.Status()
			t.Fatalf("node 0 at epoch %d tosses the %s coin (threshold from epoch %d) after %d rounds of load", st.Epoch, st.Coin, st.CoinFrom, round+1)
		}
	}
	load := txs("k-last", 100)
	c.submitTo(all, load)
	c.waitFor("transactions committed with the threshold coin", c.committedEverywhere(all, load))
	for _, i := range all {
		if st := c.members[i].node.Status(); st.Coin != "threshold" {
			t.Fatalf("node %d at epoch %d tosses the %s coin (threshold from epoch %d)", i, st.Epoch, st.Coin, st.CoinFrom)
		}
	}
	c.sameChain(all)
	c.votes.check(t)
}

// pastCoinSwitch reports whether every listed node has reached the epoch
// from which its era tosses the threshold coin.
func (c *cluster) pastCoinSwitch(nodes []int) bool {
	for _, i := range nodes {
		if st := c.members[i].node.Status(); st.CoinFrom == 0 || st.Epoch < st.CoinFrom {
			return false
		}
	}
	return true
}
