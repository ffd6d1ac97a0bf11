package rawapp

import (
	"errors"
	"testing"

	"github.com/mass-consensus/mass/internal/app"
	"github.com/mass-consensus/mass/internal/store/mem"
)

func TestApplyResumeAndRoots(t *testing.T) {
	kv := mem.New()
	a, _ := New(kv)
	r1, err := a.ApplyBlock(app.Block{Height: 1, Time: 5, Txs: [][]byte{[]byte("x"), []byte("y")}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.ApplyBlock(app.Block{Height: 3}); err == nil {
		t.Fatal("a gap in heights was accepted")
	}
	b, _ := New(kv)
	if h, root, _ := b.Info(); h != 1 || root != r1.StateRoot {
		t.Fatalf("resumed at %d", h)
	}
	// Another batch gives another root.
	other, _ := New(mem.New())
	r2, _ := other.ApplyBlock(app.Block{Height: 1, Time: 5, Txs: [][]byte{[]byte("x"), []byte("z")}})
	if r2.StateRoot == r1.StateRoot {
		t.Fatal("different batches, same root")
	}
	if err := a.CheckTx(nil); !errors.Is(err, app.ErrRejected) {
		t.Fatalf("empty tx: %v", err)
	}
}
