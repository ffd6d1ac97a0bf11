package ledger

import (
	"fmt"
	"slices"
	"testing"

	"github.com/mass-consensus/mass/internal/protocol/epoch"
)

// TestPendingRetag: the transactions logged under a tag below the log's
// new start, and still pending, are handed back (in order) to be logged
// again under the new tag; committed ones are not; the others stay.
func TestPendingRetag(t *testing.T) {
	var p pendingSet
	tx := func(i int) []byte { return fmt.Appendf(nil, "tx%d", i) }
	for i := range 6 {
		p.add(epoch.HashTx(tx(i)), tx(i), uint64(10+i)) // tags 10..15
	}
	p.committed(epoch.HashTx(tx(1)))
	got := p.retag(13, 30) // tags 10, 11, 12 close; tx1 is committed
	if want := [][]byte{tx(0), tx(2)}; !slices.EqualFunc(got, want, func(a, b []byte) bool { return string(a) == string(b) }) {
		t.Fatalf("retag gave %q, want %q", got, want)
	}
	if again := p.retag(13, 30); len(again) != 0 {
		t.Fatalf("retagged twice: %q", again)
	}
	// Now tags 13, 14, 15, 30, 30: closing below 31 hands back all five.
	if got := p.retag(31, 40); len(got) != 5 || p.len() != 5 {
		t.Fatalf("closing every tag gave %d of %d pending", len(got), p.len())
	}
	if all := p.all(); len(all) != 5 || string(all[0]) != "tx3" {
		t.Fatalf("all: %q", all)
	}
}
