package pebble

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

	"github.com/mass-consensus/mass/internal/store"
)

// disk is an in-memory file system that can be made to refuse writes, as
// a full disk does.
type disk struct {
	*errorfs.FS
	full atomic.Bool
	// only, if set, limits the refusals to the files whose name ends so.
	only string
}

func newDisk() *disk {
	d := &disk{}
	d.FS = errorfs.Wrap(vfs.NewMem(), errorfs.InjectorFunc(func(op errorfs.Op) error {
		if d.full.Load() && op.Kind.ReadOrWrite() == errorfs.OpIsWrite && op.Kind != errorfs.OpRemove &&
			op.Kind != errorfs.OpRemoveAll && strings.HasSuffix(op.Path, d.only) {
			return &fs.PathError{Op: "write", Path: op.Path, Err: syscall.ENOSPC}
		}
		return nil
	}))
	return d
}

// failures collects what OnFailure is told.
type failures chan error

func (f failures) once(t *testing.T) error {
	t.Helper()
	select {
	case err := <-f:
		select {
		case again := <-f:
			t.Fatalf("OnFailure called again: %v", again)
		default:
		}
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("OnFailure was not called")
	}
	return nil
}

func put(db *DB, k string, sync bool) error {
	var b store.Batch
	b.Put([]byte(k), []byte("v"))
	return db.Apply(&b, sync)
}

// wantFailed checks that err reports a failed store with a full disk.
func wantFailed(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, ErrFailed) || !errors.Is(err, ErrNoSpace) {
		t.Fatalf("%s: %v, want ErrFailed and ErrNoSpace", what, err)
	}
}

// TestFullDiskFailsTheStore: the disk fills up under a synced write. The
// write fails (no panic), OnFailure is told once, and every later call is
// refused; Close still returns, with the failure.
func TestFullDiskFailsTheStore(t *testing.T) {
	d := newDisk()
	told := make(failures, 4)
	db, err := Open("/db", Options{FS: d, OnFailure: func(err error) { told <- err }})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if err := put(db, fmt.Sprint("before", i), true); err != nil {
			t.Fatal(err)
		}
	}
	d.full.Store(true)
	wantFailed(t, "the write that hits the full disk", put(db, "hit", true))
	wantFailed(t, "OnFailure", told.once(t))
	wantFailed(t, "Err", db.Err())
	d.full.Store(false) // the disk has room again: the store stays failed
	wantFailed(t, "a later write", put(db, "after", true))
	_, err = db.Get([]byte("before1"))
	wantFailed(t, "a later read", err)
	wantFailed(t, "a later scan", db.Scan(nil, nil, func(k, v []byte) bool { return true }))
	done := make(chan error, 1)
	go func() { done <- db.Close() }()
	select {
	case err := <-done:
		wantFailed(t, "Close", err)
	case <-time.After(10 * time.Second):
		t.Fatal("Close of a failed store does not return")
	}
	select {
	case err := <-told:
		t.Fatalf("OnFailure called again: %v", err)
	default:
	}
}

// TestUnsyncedWritesFailTheStore: writes without sync reach the log in the
// background; its failure fails a later write.
func TestUnsyncedWritesFailTheStore(t *testing.T) {
	d := newDisk()
	told := make(failures, 4)
	db, err := Open("/db", Options{FS: d, OnFailure: func(err error) { told <- err }})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	d.full.Store(true)
	for i := 0; ; i++ {
		err := put(db, fmt.Sprint("k", i), false)
		if err != nil {
			wantFailed(t, "an unsynced write", err)
			break
		}
		if i == 100_000 {
			t.Fatal("100,000 unsynced writes to a full disk succeeded")
		}
	}
	wantFailed(t, "OnFailure", told.once(t))
}

// TestBackgroundFailureFailsTheStore: a flush of the memtable to a table
// fails in the background; the store fails with it, and the next write is
// refused.
func TestBackgroundFailureFailsTheStore(t *testing.T) {
	d := newDisk()
	d.only = ".sst"
	told := make(failures, 4)
	db, err := Open("/db", Options{FS: d, OnFailure: func(err error) { told <- err }})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := put(db, "k", true); err != nil {
		t.Fatal(err)
	}
	d.full.Store(true)
	go db.db.Flush() // fails, and would retry
	wantFailed(t, "OnFailure", told.once(t))
	wantFailed(t, "the next write", put(db, "k2", true))
}

// TestOpenErrorsAreClassified: what the disk refuses at Open is named, from
// the system's errors (the tests run as root, for whom a directory cannot
// be made read-only by its mode).
func TestOpenErrorsAreClassified(t *testing.T) {
	path := func(errno syscall.Errno) error {
		return &fs.PathError{Op: "open", Path: "/data/LOCK", Err: errno}
	}
	for _, c := range []struct {
		name string
		err  error
		lock bool // the error of taking the lock
		want error
	}{
		{"read-only", path(syscall.EROFS), true, ErrReadOnly},
		{"read-only, opening", path(syscall.EROFS), false, ErrReadOnly},
		{"permission", path(syscall.EACCES), true, ErrPermission},
		{"not permitted", path(syscall.EPERM), false, ErrPermission},
		{"full", path(syscall.ENOSPC), true, ErrNoSpace},
		{"quota", fmt.Errorf("writing the manifest: %w", path(syscall.EDQUOT)), false, ErrNoSpace},
		{"held by another process (EAGAIN)", syscall.EAGAIN, true, ErrLocked},
		{"held by another process (EACCES)", syscall.EACCES, true, ErrLocked},
		{"held in this process", errors.New("lock held by current process"), true, ErrLocked},
		{"no locks", syscall.ENOLCK, true, nil},
		{"missing", path(syscall.ENOENT), false, nil},
	} {
		var err error
		if c.lock {
			err = lockError("/data", c.err)
		} else {
			err = openError("/data", c.err)
		}
		for _, s := range []error{ErrReadOnly, ErrPermission, ErrNoSpace, ErrLocked} {
			if errors.Is(err, s) != (s == c.want) {
				t.Errorf("%s: %v; is %v: %v", c.name, err, s, errors.Is(err, s))
			}
		}
		if !errors.Is(err, c.err) || !strings.Contains(err.Error(), "/data") {
			t.Errorf("%s: %v does not wrap %v or name the directory", c.name, err, c.err)
		}
	}
}

// TestReadOnlyDiskAtOpen: a disk that refuses every write makes Open fail
// with ErrNoSpace (the injected error), not ErrLocked.
func TestFullDiskAtOpen(t *testing.T) {
	d := newDisk()
	d.full.Store(true)
	_, err := Open("/db", Options{FS: d})
	if !errors.Is(err, ErrNoSpace) || errors.Is(err, ErrLocked) {
		t.Fatalf("Open on a full disk: %v, want ErrNoSpace", err)
	}
}

// lockHolderEnv names the directory the helper process locks.
const lockHolderEnv = "MASS_PEBBLE_TEST_HOLD_LOCK"

// TestLockHolderProcess is not a test: run by TestLockHeldByAnotherProcess
// in a process of its own, it opens the store, says so, and holds it until
// its input closes.
func TestLockHolderProcess(t *testing.T) {
	dir := os.Getenv(lockHolderEnv)
	if dir == "" {
		t.Skip("the helper of TestLockHeldByAnotherProcess")
	}
	db, err := Open(dir, Options{})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("locked")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	_ = db.Close()
	os.Exit(0)
}

// TestLockHeldByAnotherProcess: a directory another process holds open is
// reported as locked, and opens once that process is gone.
func TestLockHeldByAnotherProcess(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHolderProcess$")
	cmd.Env = append(os.Environ(), lockHolderEnv+"="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	said := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		said <- line
	}()
	select {
	case line := <-said:
		if line != "locked\n" {
			t.Fatalf("the helper says %q", line)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the helper did not lock the directory")
	}
	_, err = Open(dir, Options{})
	if !errors.Is(err, ErrLocked) || errors.Is(err, ErrPermission) {
		t.Fatalf("Open of a directory another process holds: %v, want ErrLocked", err)
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the helper: %v", err)
	}
	db, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("Open once the other process is gone: %v", err)
	}
	db.Close()
}
