package mem

import (
	"errors"
	"testing"

	"github.com/mass-consensus/mass/internal/store"
	"github.com/mass-consensus/mass/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.KV {
		s := New()
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func put(t *testing.T, s *Store, sync bool, kv ...string) {
	t.Helper()
	var b store.Batch
	for i := 0; i < len(kv); i += 2 {
		b.Put([]byte(kv[i]), []byte(kv[i+1]))
	}
	if err := s.Apply(&b, sync); err != nil {
		t.Fatal(err)
	}
}

func apply(t *testing.T, s *Store, sync bool, build func(b *store.Batch)) {
	t.Helper()
	var b store.Batch
	build(&b)
	if err := s.Apply(&b, sync); err != nil {
		t.Fatal(err)
	}
}

// contents returns the whole store as key=value pairs in order.
func contents(t *testing.T, s *Store) []string {
	t.Helper()
	var out []string
	if err := s.Scan(nil, nil, func(k, v []byte) bool {
		out = append(out, string(k)+"="+string(v))
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func wantContents(t *testing.T, s *Store, want ...string) {
	t.Helper()
	got := contents(t, s)
	if len(got) != len(want) {
		t.Fatalf("store holds %q, want %q", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("store holds %q, want %q", got, want)
		}
	}
}

func TestCrashKeepsSynced(t *testing.T) {
	s := New()
	put(t, s, true, "a", "1")
	put(t, s, true, "b", "2")
	r := s.Crash()
	wantContents(t, r, "a=1", "b=2")
}

func TestCrashLosesTrailingUnsynced(t *testing.T) {
	s := New()
	put(t, s, true, "a", "1", "b", "1", "c", "1", "d", "1")
	// Unsynced: a new key, an overwrite, a delete and a range delete, the
	// same key changed twice; all must be undone.
	put(t, s, false, "new", "x", "a", "2")
	apply(t, s, false, func(b *store.Batch) {
		b.Delete([]byte("b"))
		b.DeleteRange([]byte("c"), []byte("e"))
		b.Put([]byte("a"), []byte("3"))
		b.Put([]byte("c"), []byte("9"))
	})
	wantContents(t, s, "a=3", "c=9", "new=x")
	r := s.Crash()
	wantContents(t, r, "a=1", "b=1", "c=1", "d=1")

	// The crashed store is dead; the restarted one works and crashes again.
	if _, err := s.Get([]byte("a")); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Get on a crashed store: %v, want ErrClosed", err)
	}
	put(t, r, false, "e", "1")
	wantContents(t, r.Crash(), "a=1", "b=1", "c=1", "d=1")
}

func TestCrashKeepsUnsyncedBeforeSync(t *testing.T) {
	s := New()
	put(t, s, false, "a", "1")
	apply(t, s, false, func(b *store.Batch) { b.Delete([]byte("a")); b.Put([]byte("b"), []byte("1")) })
	put(t, s, false, "c", "1")
	put(t, s, true, "d", "1") // makes the three batches before it durable
	put(t, s, false, "e", "1")
	apply(t, s, false, func(b *store.Batch) { b.DeleteRange(nil, nil) })
	wantContents(t, s)
	wantContents(t, s.Crash(), "b=1", "c=1", "d=1")
}

func TestCrashEmptySyncedBatch(t *testing.T) {
	s := New()
	put(t, s, false, "a", "1")
	if err := s.Apply(nil, true); err != nil { // a sync with nothing to write
		t.Fatal(err)
	}
	put(t, s, false, "b", "1")
	wantContents(t, s.Crash(), "a=1")
}

func TestCrashFailedBatchChangesNothing(t *testing.T) {
	s := New()
	put(t, s, true, "a", "1")
	var b store.Batch
	b.Delete([]byte("a"))
	b.Put(nil, []byte("bad"))
	if err := s.Apply(&b, false); !errors.Is(err, store.ErrEmptyKey) {
		t.Fatalf("Apply: %v", err)
	}
	wantContents(t, s.Crash(), "a=1")
}

func TestCrashAfterClose(t *testing.T) {
	s := New()
	put(t, s, true, "a", "1")
	put(t, s, false, "b", "1")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Close makes everything durable: a clean shutdown and restart.
	wantContents(t, s.Crash(), "a=1", "b=1")
}

func TestCrashTwicePanics(t *testing.T) {
	s := New()
	s.Crash()
	defer func() {
		if recover() == nil {
			t.Fatal("a second Crash of the same store did not panic")
		}
	}()
	s.Crash()
}
