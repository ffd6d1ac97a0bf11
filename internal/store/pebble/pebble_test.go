package pebble

import (
	"bytes"
	"encoding/binary"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mass-consensus/mass/internal/store"
	"github.com/mass-consensus/mass/internal/store/storetest"
)

func open(t testing.TB, dir string) *DB {
	t.Helper()
	db, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.KV { return open(t, t.TempDir()) })
}

func TestReopen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db") // Open creates it
	db := open(t, dir)
	var b store.Batch
	b.Put([]byte("synced"), []byte("1"))
	b.Put([]byte("gone"), []byte("1"))
	if err := db.Apply(&b, true); err != nil {
		t.Fatal(err)
	}
	b.Reset()
	b.Delete([]byte("gone"))
	b.Put([]byte("unsynced"), []byte("2")) // Close syncs it
	if err := db.Apply(&b, false); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = open(t, dir)
	for k, want := range map[string]string{"synced": "1", "unsynced": "2"} {
		if v, err := db.Get([]byte(k)); err != nil || string(v) != want {
			t.Errorf("after reopen, Get(%s) = %q, %v, want %q", k, v, err, want)
		}
	}
	if _, err := db.Get([]byte("gone")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after reopen, Get(gone): %v, want ErrNotFound", err)
	}
	if k, _, err := db.Last(nil); err != nil || string(k) != "unsynced" {
		t.Errorf("after reopen, Last = %q, %v", k, err)
	}
}

func TestLocked(t *testing.T) {
	dir := t.TempDir()
	db := open(t, dir)
	second, err := Open(dir, Options{})
	if err == nil {
		second.Close()
		t.Fatal("a second Open of an open directory succeeded")
	}
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("second Open: %v, want ErrLocked naming %s", err, dir)
	}
	t.Log(err)
	// The failed Open must not have disturbed the first DB or its lock.
	var b store.Batch
	b.Put([]byte("k"), []byte("v"))
	if err := db.Apply(&b, true); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("third Open: %v, want ErrLocked", err)
	}
	// Once closed, the directory opens again.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = open(t, dir)
	if v, err := db.Get([]byte("k")); err != nil || string(v) != "v" {
		t.Fatalf("Get after reopen = %q, %v", v, err)
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(t.TempDir(), Options{CacheSize: -1}); err == nil {
		t.Error("Open with a negative cache size succeeded")
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := writeFile(file); err != nil {
		t.Fatal(err)
	}
	_, err := Open(file, Options{})
	if err == nil || !strings.HasPrefix(err.Error(), "store/pebble:") {
		t.Errorf("Open of a regular file: %v, want an error of store/pebble", err)
	}
}

func TestLogger(t *testing.T) {
	var buf bytes.Buffer
	l := pebbleLogger{l: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelError}))}
	l.Infof("quiet %d", 1)
	l.Errorf("loud %d", 2)
	if out := buf.String(); strings.Contains(out, "quiet") || !strings.Contains(out, "loud 2") || !strings.Contains(out, "component=pebble") {
		t.Fatalf("logged %q", out)
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "broken 3") {
			t.Fatalf("Fatalf recovered %v, want a panic with the message", r)
		}
	}()
	l.Fatalf("broken %d", 3)
}

func BenchmarkApplySync(b *testing.B)   { benchmarkApply(b, true) }
func BenchmarkApplyNoSync(b *testing.B) { benchmarkApply(b, false) }

// benchmarkApply applies batches of 100 puts of 1 KiB values to new keys.
func benchmarkApply(b *testing.B, sync bool) {
	const puts, size = 100, 1 << 10
	db := open(b, b.TempDir())
	value := bytes.Repeat([]byte{0xA5}, size)
	key := make([]byte, 8)
	var batch store.Batch
	b.SetBytes(puts * size)
	b.ReportAllocs()
	n := uint64(0)
	for b.Loop() {
		batch.Reset()
		for range puts {
			n++
			binary.BigEndian.PutUint64(key, n)
			binary.BigEndian.PutUint64(value, n)
			batch.Put(key, value)
		}
		if err := db.Apply(&batch, sync); err != nil {
			b.Fatal(err)
		}
	}
}

func writeFile(name string) error { return os.WriteFile(name, []byte("not a directory"), 0o644) }
