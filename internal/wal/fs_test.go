package wal

import (
	"bytes"
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"testing"
)

// TestFSConformance runs the same checks on OSFS and MemFS: the log relies
// on exactly these behaviours.
func TestFSConformance(t *testing.T) {
	for name, newFS := range fileSystems(t) {
		t.Run(name, func(t *testing.T) {
			fsys, dir := newFS()
			checkFS(t, fsys, dir)
		})
	}
}

func checkFS(t *testing.T, fsys FS, dir string) {
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	list := func(want ...string) {
		t.Helper()
		got, err := fsys.List(dir)
		must(err)
		if !slices.Equal(got, want) {
			t.Fatalf("List = %q, want %q", got, want)
		}
	}
	read := func(name, want string) {
		t.Helper()
		got, err := fsys.ReadFile(filepath.Join(dir, name))
		must(err)
		if string(got) != want {
			t.Fatalf("ReadFile(%s) = %q, want %q", name, got, want)
		}
	}
	a := filepath.Join(dir, "a")
	must(fsys.MkdirAll(filepath.Join(dir, "sub")))
	list()

	f, err := fsys.Create(a)
	must(err)
	_, err = f.Write([]byte("hello"))
	must(err)
	_, err = f.Write([]byte(" world"))
	must(err)
	must(f.Sync())
	must(f.Close())
	read("a", "hello world")
	if _, err := fsys.Create(a); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("Create of an existing file: %v, want fs.ErrExist", err)
	}
	if _, err := fsys.OpenAppend(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("OpenAppend of a missing file: %v, want fs.ErrNotExist", err)
	}

	f, err = fsys.OpenAppend(a)
	must(err)
	_, err = f.Write([]byte("!"))
	must(err)
	read("a", "hello world!")
	must(f.Truncate(5))
	_, err = f.Write([]byte("X")) // writes follow the new end
	must(err)
	read("a", "helloX")
	must(f.Close())

	writeFile(t, fsys, filepath.Join(dir, "c"), nil)
	writeFile(t, fsys, filepath.Join(dir, "b"), []byte("b"))
	writeFile(t, fsys, filepath.Join(dir, "sub", "d"), []byte("d"))
	must(fsys.SyncDir(dir))
	list("a", "b", "c")
	read("c", "")

	must(fsys.Remove(a))
	list("b", "c")
	if _, err := fsys.ReadFile(a); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("ReadFile of a removed file: %v, want fs.ErrNotExist", err)
	}
	if err := fsys.Remove(a); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Remove of a removed file: %v, want fs.ErrNotExist", err)
	}
}

// crashOnce writes a file whose first bytes are synced, and the rest not,
// crashes the MemFS, and returns what the file holds after.
func crashOnce(t *testing.T, seed uint64, synced, unsynced string) string {
	fsys := NewMemFS(seed)
	writeFile(t, fsys, "/d/f", []byte(synced))
	f, err := fsys.OpenAppend("/d/f")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte(unsynced)); err != nil {
		t.Fatal(err)
	}
	fsys.Crash()
	b, err := fsys.ReadFile("/d/f")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestMemFSCrashKeepsSyncedAndAPrefixOfTheRest(t *testing.T) {
	const synced, unsynced = "durable.", "maybe lost"
	var none, all, part int
	for seed := range uint64(200) {
		got := crashOnce(t, seed, synced, unsynced)
		if !bytes.HasPrefix([]byte(synced+unsynced), []byte(got)) || len(got) < len(synced) {
			t.Fatalf("seed %d: after Crash %q; want %q and a prefix of %q", seed, got, synced, unsynced)
		}
		if again := crashOnce(t, seed, synced, unsynced); again != got {
			t.Fatalf("seed %d: Crash kept %q, then %q: not deterministic", seed, got, again)
		}
		switch len(got) - len(synced) {
		case 0:
			none++
		case len(unsynced):
			all++
		default:
			part++
		}
	}
	if none == 0 || all == 0 || part == 0 {
		t.Fatalf("over 200 seeds, unsynced bytes all lost %d times, all kept %d, torn %d: want each", none, all, part)
	}
}

func TestMemFSCrashDirectoryEntries(t *testing.T) {
	var created, removed [2]int // [lost, kept]
	for seed := range uint64(100) {
		fsys := NewMemFS(seed)
		writeFile(t, fsys, "/d/old", []byte("old")) // synced, and its directory
		f, err := fsys.Create("/d/new")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte("new")); err != nil {
			t.Fatal(err)
		}
		if err := f.Sync(); err != nil { // the contents, not the entry
			t.Fatal(err)
		}
		if err := fsys.Remove("/d/old"); err != nil {
			t.Fatal(err)
		}
		fsys.Crash()
		for name, count := range map[string]*[2]int{"new": &created, "old": &removed} {
			b, err := fsys.ReadFile("/d/" + name)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				count[0]++
			case err == nil && string(b) == name:
				count[1]++
			default:
				t.Fatalf("seed %d: %s after Crash: %q, %v", seed, name, b, err)
			}
		}
		if _, err := f.Write([]byte("x")); err == nil {
			t.Fatalf("seed %d: a handle from before Crash still writes", seed)
		}
	}
	if slices.Contains(created[:], 0) || slices.Contains(removed[:], 0) {
		t.Fatalf("unsynced create [lost kept] %v, unsynced remove [lost kept] %v: want both outcomes of each", created, removed)
	}

	fsys := NewMemFS(1) // after SyncDir, both are durable
	writeFile(t, fsys, "/d/new", []byte("new"))
	writeFile(t, fsys, "/d/old", []byte("old"))
	if err := fsys.Remove("/d/old"); err != nil {
		t.Fatal(err)
	}
	if err := fsys.SyncDir("/d"); err != nil {
		t.Fatal(err)
	}
	fsys.Crash()
	if names, _ := fsys.List("/d"); !slices.Equal(names, []string{"new"}) {
		t.Fatalf("after SyncDir and Crash: %q, want [new]", names)
	}
}

func TestMemFSCrashAfterTruncate(t *testing.T) {
	seen := map[string]bool{}
	for seed := range uint64(100) {
		fsys := NewMemFS(seed)
		writeFile(t, fsys, "/d/f", []byte("abcdef"))
		f, _ := fsys.OpenAppend("/d/f")
		if err := f.Truncate(3); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte("XY")); err != nil {
			t.Fatal(err)
		}
		fsys.Crash()
		b, _ := fsys.ReadFile("/d/f")
		if got := string(b); (got != "abcdef" && !bytes.HasPrefix([]byte("abcXY"), b)) || len(b) < 3 {
			t.Fatalf("seed %d: after Truncate and Crash %q; want abcdef, or abc and a prefix of XY", seed, got)
		}
		seen[string(b)] = true
	}
	for _, want := range []string{"abcdef", "abc", "abcXY"} {
		if !seen[want] {
			t.Errorf("never saw %q after Truncate and Crash (saw %v)", want, seen)
		}
	}
}

func TestMemFSFailAfter(t *testing.T) {
	fsys := NewMemFS(3)
	f, err := fsys.Create("/d/f") // operation 1
	if err != nil {
		t.Fatal(err)
	}
	fsys.FailAfter(1)
	if _, err := f.Write([]byte("ok")); err != nil { // the one allowed
		t.Fatal(err)
	}
	n, err := f.Write([]byte("0123456789"))
	if !errors.Is(err, ErrInjected) {
		t.Fatalf("Write past the budget: %v, want ErrInjected", err)
	}
	if _, err := f.Write([]byte("later")); !errors.Is(err, ErrInjected) {
		t.Fatalf("second Write past the budget: %v, want ErrInjected", err)
	}
	for name, err := range map[string]error{"Sync": f.Sync(), "SyncDir": fsys.SyncDir("/d"), "Remove": fsys.Remove("/d/f")} {
		if !errors.Is(err, ErrInjected) {
			t.Errorf("%s past the budget: %v, want ErrInjected", name, err)
		}
	}
	b, _ := fsys.ReadFile("/d/f")
	if want := "ok" + "0123456789"[:n]; string(b) != want {
		t.Fatalf("file holds %q, want %q: the failed Write keeps the %d bytes it reports, later ones none", b, want, n)
	}
	fsys.FailAfter(-1)
	if _, err := f.Write([]byte("!")); err != nil {
		t.Fatalf("Write after FailAfter(-1): %v", err)
	}
}

func TestMemFSCorruptIsOnDisk(t *testing.T) {
	fsys := NewMemFS(1)
	writeFile(t, fsys, "/d/f", []byte("abc"))
	if err := fsys.Corrupt("/d/f", 1); err != nil {
		t.Fatal(err)
	}
	fsys.Crash()
	if b, _ := fsys.ReadFile("/d/f"); !bytes.Equal(b, []byte{'a', 'b' ^ 0xff, 'c'}) {
		t.Fatalf("after Corrupt and Crash: %q", b)
	}
	if err := fsys.Corrupt("/d/f", 3); err == nil {
		t.Fatal("Corrupt past the end succeeded")
	}
}
