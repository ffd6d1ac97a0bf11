package e2e

import (
	"fmt"
	"testing"
)

// (a) Four nodes commit 10,000 transactions and end with the same blocks
// and state roots.
func TestFourNodesCommitTenThousand(t *testing.T) {
	c := newCluster(t, 4)
	for i := range 4 {
		c.start(i)
	}
	txs := load("a", 10_000)
	c.submitAll([]int{0, 1, 2, 3}, txs, nil)
	c.committedEverywhere([]int{0, 1, 2, 3}, txs)
}

// (b) One node is killed with SIGKILL in the middle of the load and
// restarted: it catches up and every transaction is committed everywhere.
func TestKillOneInTheMiddle(t *testing.T) {
	c := newCluster(t, 4)
	for i := range 4 {
		c.start(i)
	}
	txs := load("b", 3000)
	c.submitAll([]int{0, 1, 2}, txs, func(done int) {
		switch done {
		case 1000:
			c.kill(3)
		case 2000:
			c.start(3)
		}
	})
	c.committedEverywhere([]int{0, 1, 2, 3}, txs)
}

// (c) With one node down for good the other three keep committing.
func TestThreeKeepCommitting(t *testing.T) {
	c := newCluster(t, 4)
	for i := range 3 {
		c.start(i)
	}
	txs := load("c", 1000)
	c.submitAll([]int{0, 1, 2}, txs, nil)
	c.committedEverywhere([]int{0, 1, 2}, txs)
}

// (d) All four are killed and restarted: no committed block is lost.
func TestKillAllRestart(t *testing.T) {
	c := newCluster(t, 4)
	for i := range 4 {
		c.start(i)
	}
	txs := load("d", 1000)
	c.submitAll([]int{0, 1, 2, 3}, txs, nil)
	c.committedEverywhere([]int{0, 1, 2, 3}, txs)
	before := make([]uint64, 4)
	for i := range 4 {
		st, err := c.status(i)
		if err != nil {
			t.Fatal(err)
		}
		before[i] = st.Certified
		c.kill(i)
	}
	for i := range 4 {
		c.start(i)
	}
	for i := range 4 {
		st, err := c.status(i)
		if err != nil {
			t.Fatal(err)
		}
		if st.Certified < before[i] {
			t.Fatalf("node %d lost blocks: certified %d before, %d after", i, before[i], st.Certified)
		}
	}
	more := load("d2", 500)
	c.submitAll([]int{0, 1, 2, 3}, more, nil)
	c.committedEverywhere([]int{0, 1, 2, 3}, append(txs, more...))
}

// (e) A node that was down while 500 blocks were committed catches up and
// then takes part again.
func TestCatchUpFiveHundredBlocks(t *testing.T) {
	c := newCluster(t, 4)
	for i := range 3 {
		c.start(i)
	}
	for k := 0; ; k++ {
		st, err := c.status(0)
		if err != nil {
			t.Fatal(err)
		}
		if st.Certified >= 500 {
			break
		}
		c.submit(k%3, fmt.Sprintf("e-%d=x", k))
	}
	target, _ := c.status(0)
	c.start(3)
	c.waitFor("node 3 to catch up 500 blocks", func() bool {
		st, err := c.status(3)
		return err == nil && st.Certified >= target.Certified
	})
	// Node 3 takes part: with node 0 stopped, the three others, node 3
	// among them, must agree for anything to commit.
	c.stop(0)
	txs := load("e2", 300)
	c.submitAll([]int{1, 2, 3}, txs, nil)
	c.committedEverywhere([]int{1, 2, 3}, txs)
}
