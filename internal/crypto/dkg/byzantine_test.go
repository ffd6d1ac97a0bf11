package dkg

import "testing"

// TestCorruptRowsExcludeThePart: a part whose rows to more than F nodes are
// garbage gets too few acks to complete, and the original is unchanged.
func TestCorruptRowsExcludeThePart(t *testing.T) {
	c := newCluster(t, 4, "corrupt", 1)
	good := c.part(t, 0, 1)
	bad := good.WithCorruptRows(func(m int) bool { return m >= 2 })
	acks := 0
	for i, kg := range c.keyGens(t)[:4] {
		ack, err := kg.HandlePart(0, bad)
		if err != nil {
			t.Fatal(err)
		}
		if ack != nil {
			acks++
		}
		fresh, err := New(c.cfg(i))
		if err != nil {
			t.Fatal(err)
		}
		if ack, err := fresh.HandlePart(0, good); err != nil || ack == nil {
			t.Fatalf("node %d: the original part: ack %v, %v", i, ack, err)
		}
	}
	if acks != 2 {
		t.Fatalf("%d acks for a part with garbage rows to 2 of 4 nodes, want 2", acks)
	}
}
