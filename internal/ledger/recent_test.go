package ledger

import (
	"encoding/binary"
	"testing"

	"github.com/mass-consensus/mass/internal/protocol/epoch"
)

func TestRecentSetForgetsTheOldest(t *testing.T) {
	var r recentSet
	h := func(i int) epoch.TxHash {
		var x epoch.TxHash
		binary.BigEndian.PutUint64(x[:], uint64(i))
		return x
	}
	for i := 0; i < RecentTxs+10; i++ {
		r.add(h(i))
	}
	for i := 0; i < 10; i++ {
		if r.has(h(i)) {
			t.Fatalf("%d still remembered", i)
		}
	}
	for _, i := range []int{10, RecentTxs / 2, RecentTxs + 9} {
		if !r.has(h(i)) {
			t.Fatalf("%d forgotten", i)
		}
	}
	if len(r.count) != RecentTxs {
		t.Fatalf("%d hashes kept", len(r.count))
	}
	// A hash added twice stays while one of its entries is in the ring.
	r.add(h(5000))
	for i := 0; i < RecentTxs-1; i++ {
		r.add(h(1 << 40))
	}
	if !r.has(h(5000)) {
		t.Fatal("the second entry of a hash was dropped with the first")
	}
}
