package kvapp

import (
	"errors"
	"testing"

	"github.com/mass-consensus/mass/internal/app"
	"github.com/mass-consensus/mass/internal/store/mem"
)

func TestApplyAndResume(t *testing.T) {
	kv := mem.New()
	a, err := New(kv)
	if err != nil {
		t.Fatal(err)
	}
	res, err := a.ApplyBlock(app.Block{Height: 1, Time: 5, Txs: [][]byte{[]byte("a=1"), []byte("bad"), []byte("b=2")}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Txs[0].Code != 0 || res.Txs[1].Code == 0 || res.Txs[2].Code != 0 {
		t.Fatalf("results %+v", res.Txs)
	}
	if v, err := a.Query("a"); err != nil || string(v) != "1" {
		t.Fatalf("a = %q, %v", v, err)
	}
	if _, err := a.Query("zz"); !errors.Is(err, app.ErrNotFound) {
		t.Fatalf("missing key: %v", err)
	}
	if _, err := a.ApplyBlock(app.Block{Height: 3}); err == nil {
		t.Fatal("applied height 3 after 1")
	}
	// A second application fed the same block reaches the same root; one
	// fed another block does not.
	b, _ := New(mem.New())
	same, _ := b.ApplyBlock(app.Block{Height: 1, Time: 5, Txs: [][]byte{[]byte("a=1"), []byte("bad"), []byte("b=2")}})
	c, _ := New(mem.New())
	other, _ := c.ApplyBlock(app.Block{Height: 1, Time: 6, Txs: [][]byte{[]byte("a=1"), []byte("b=2")}})
	if same.StateRoot != res.StateRoot || other.StateRoot == res.StateRoot {
		t.Fatal("the root does not follow the blocks")
	}
	// After a crash the application resumes at height 1 with its root.
	r, err := New(kv.Crash())
	if err != nil {
		t.Fatal(err)
	}
	if h, root, _ := r.Info(); h != 1 || root != res.StateRoot {
		t.Fatalf("resumed at %d", h)
	}
}

func TestCheckTx(t *testing.T) {
	a, _ := New(mem.New())
	for tx, ok := range map[string]bool{"k=v": true, "k=": true, "=v": false, "nokey": false, string(make([]byte, MaxKey+1)) + "=v": false} {
		err := a.CheckTx([]byte(tx))
		if ok != (err == nil) || (err != nil && !errors.Is(err, app.ErrRejected)) {
			t.Errorf("%.20q: %v", tx, err)
		}
	}
}

func TestRawMode(t *testing.T) {
	kv := mem.New()
	a, _ := NewRaw(kv)
	if err := a.CheckTx([]byte("no equals sign")); err != nil {
		t.Fatalf("raw mode refused a transaction: %v", err)
	}
	if err := a.CheckTx(nil); !errors.Is(err, app.ErrRejected) {
		t.Fatalf("empty tx: %v", err)
	}
	r1, err := a.ApplyBlock(app.Block{Height: 1, Time: 5, Txs: [][]byte{[]byte("x"), []byte("y=1")}})
	if err != nil {
		t.Fatal(err)
	}
	if r1.Txs[0].Code != 0 || r1.Txs[1].Code != 0 {
		t.Fatalf("results %+v", r1.Txs)
	}
	if _, err := a.Query("y"); !errors.Is(err, app.ErrNotFound) {
		t.Fatalf("raw mode kept a key: %v", err)
	}
	b, _ := NewRaw(kv)
	if h, root, _ := b.Info(); h != 1 || root != r1.StateRoot {
		t.Fatalf("resumed at %d", h)
	}
	other, _ := NewRaw(mem.New())
	r2, _ := other.ApplyBlock(app.Block{Height: 1, Time: 5, Txs: [][]byte{[]byte("x"), []byte("z")}})
	if r2.StateRoot == r1.StateRoot {
		t.Fatal("different batches, same root")
	}
}
