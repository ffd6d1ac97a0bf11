package store_test

import (
	"errors"
	"testing"

	"github.com/mass-consensus/mass/internal/store"
	"github.com/mass-consensus/mass/internal/store/mem"
)

func TestPrefixedKeepsOwnersApart(t *testing.T) {
	kv := mem.New()
	a, b := store.WithPrefix(kv, "a/"), store.WithPrefix(kv, "b/")
	var batch store.Batch
	batch.Put([]byte("x"), []byte("1"))
	batch.Put([]byte("y"), []byte("2"))
	if err := a.Apply(&batch, true); err != nil {
		t.Fatal(err)
	}
	batch.Reset()
	batch.Put([]byte("x"), []byte("3"))
	if err := b.Apply(&batch, false); err != nil {
		t.Fatal(err)
	}
	if v, err := a.Get([]byte("x")); err != nil || string(v) != "1" {
		t.Fatalf("a/x = %q %v", v, err)
	}
	if _, err := b.Get([]byte("y")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("b sees a's key: %v", err)
	}
	var keys []string
	a.Scan(nil, nil, func(k, _ []byte) bool { keys = append(keys, string(k)); return true })
	if len(keys) != 2 || keys[0] != "x" || keys[1] != "y" {
		t.Fatalf("scan of a: %q", keys)
	}
	if k, v, err := a.Last(nil); err != nil || string(k) != "y" || string(v) != "2" {
		t.Fatalf("last of a: %q %q %v", k, v, err)
	}
	batch.Reset()
	batch.DeleteRange(nil, nil)
	if err := a.Apply(&batch, false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Last(nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a not emptied: %v", err)
	}
	if v, err := b.Get([]byte("x")); err != nil || string(v) != "3" {
		t.Fatalf("deleting all of a touched b: %q %v", v, err)
	}
	batch.Reset()
	batch.Put(nil, []byte("v"))
	if err := a.Apply(&batch, false); !errors.Is(err, store.ErrEmptyKey) {
		t.Fatalf("empty key: %v", err)
	}
}
