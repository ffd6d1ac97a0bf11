package pebble

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// What the disk refused, as Open's error and a failed store's. Each is
// wrapped with the path and the system's error.
var (
	// ErrReadOnly: the data directory is on a read-only file system.
	ErrReadOnly = errors.New("store/pebble: the data directory is on a read-only file system")
	// ErrPermission: the process may not write in the data directory.
	ErrPermission = errors.New("store/pebble: permission denied in the data directory")
	// ErrNoSpace: the device (or the user's quota) is full.
	ErrNoSpace = errors.New("store/pebble: no space left on the device")
	// ErrFailed is wrapped by the error of every call to a DB after one of
	// its writes or syncs failed, with the first such failure: what
	// reached the disk is then unknown (a failed fsync may have dropped
	// what it was to make durable), so the DB refuses to go on. Reopen it
	// once the cause is fixed.
	ErrFailed = errors.New("store/pebble: a write to the disk failed; the store refuses every call until reopened")
)

// classify says what an I/O error means for the data directory:
// ErrReadOnly, ErrNoSpace, ErrPermission, or nil for none of them.
func classify(err error) error {
	switch {
	case errors.Is(err, syscall.EROFS):
		return ErrReadOnly
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return ErrNoSpace
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return ErrPermission
	}
	return nil
}

// openError wraps an error of Open with what it means, if it says.
func openError(dir string, err error) error {
	if c := classify(err); c != nil {
		return fmt.Errorf("%w: %s: %w", c, dir, err)
	}
	return fmt.Errorf("store/pebble: open %s: %w", dir, err)
}

// lockError wraps the error of taking the directory's lock. Pebble creates
// the lock file (an error of that is a *fs.PathError: a read-only file
// system, a permission, a full disk), then locks it: fcntl answers EAGAIN
// or EACCES, a bare errno, when another process holds the lock, and Pebble
// refuses a second lock in its own process with an error of its own.
func lockError(dir string, err error) error {
	if _, ok := errors.AsType[*fs.PathError](err); ok {
		return openError(dir, err)
	}
	var errno syscall.Errno
	if errors.As(err, &errno) && errno != syscall.EAGAIN && errno != syscall.EACCES {
		return fmt.Errorf("store/pebble: locking %s: %w", dir, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrLocked, dir, err)
}

// health is a DB's failure: the first of its writes or syncs that failed,
// kept for good.
type health struct {
	log *slog.Logger
	err atomic.Pointer[error]

	mu        sync.Mutex
	onFailure func(error) // armed once Open has succeeded
}

// fail records a failed write or sync (the first one only), and tells
// OnFailure, or the log if it is not armed yet.
func (h *health) fail(op, name string, err error) {
	cause := err
	if _, ok := errors.AsType[*fs.PathError](err); !ok { // which names the file
		cause = fmt.Errorf("%s %s: %w", op, name, err)
	}
	if c := classify(err); c != nil {
		cause = fmt.Errorf("%w: %w", c, cause)
	}
	failure := fmt.Errorf("%w: %w", ErrFailed, cause)
	if !h.err.CompareAndSwap(nil, &failure) {
		return
	}
	h.mu.Lock()
	notify := h.onFailure
	h.mu.Unlock()
	if notify == nil { // nobody to report it: say it here
		h.log.Error("the store failed a write and stops", "err", failure, "component", "pebble")
		return
	}
	notify(failure)
}

// failed returns the recorded failure, or nil.
func (h *health) failed() error {
	if p := h.err.Load(); p != nil {
		return *p
	}
	return nil
}

// arm sets the function told of a failure, and tells it at once of one
// that happened before.
func (h *health) arm(onFailure func(error)) {
	if onFailure == nil {
		return
	}
	h.mu.Lock()
	h.onFailure = onFailure
	h.mu.Unlock()
	if err := h.failed(); err != nil {
		onFailure(err)
	}
}

// watchFS is the file system Pebble writes through: it records the first
// write, sync, creation or rename that fails. Reads and removals are not
// watched: a failed read is an error of its call, and a file left behind
// is harmless.
type watchFS struct {
	vfs.FS
	h *health
}

// check records a failure, but not a file that is missing or there
// already: Pebble probes for those, and handles them.
func (w watchFS) check(op, name string, err error) error {
	if err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, fs.ErrExist) {
		w.h.fail(op, name, err)
	}
	return err
}

func (w watchFS) wrap(op, name string, f vfs.File, err error) (vfs.File, error) {
	if w.check(op, name, err) != nil {
		return nil, err
	}
	return watchFile{File: f, name: name, h: w.h}, nil
}

func (w watchFS) Create(name string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := w.FS.Create(name, category)
	return w.wrap("create", name, f, err)
}

func (w watchFS) OpenReadWrite(name string, category vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	f, err := w.FS.OpenReadWrite(name, category, opts...)
	return w.wrap("open", name, f, err)
}

func (w watchFS) OpenDir(name string) (vfs.File, error) {
	f, err := w.FS.OpenDir(name)
	return w.wrap("open", name, f, err)
}

func (w watchFS) ReuseForWrite(oldname, newname string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := w.FS.ReuseForWrite(oldname, newname, category)
	return w.wrap("reuse", newname, f, err)
}

func (w watchFS) Link(oldname, newname string) error {
	return w.check("link", newname, w.FS.Link(oldname, newname))
}

func (w watchFS) Rename(oldname, newname string) error {
	return w.check("rename", newname, w.FS.Rename(oldname, newname))
}

func (w watchFS) MkdirAll(dir string, perm os.FileMode) error {
	return w.check("mkdir", dir, w.FS.MkdirAll(dir, perm))
}

func (w watchFS) Unwrap() vfs.FS { return w.FS }

// watchFile records the first write or sync of a file that fails.
type watchFile struct {
	vfs.File
	name string
	h    *health
}

func (f watchFile) check(op string, err error) error {
	if err != nil {
		f.h.fail(op, f.name, err)
	}
	return err
}

func (f watchFile) Write(p []byte) (int, error) {
	n, err := f.File.Write(p)
	return n, f.check("write", err)
}

func (f watchFile) WriteAt(p []byte, off int64) (int, error) {
	n, err := f.File.WriteAt(p, off)
	return n, f.check("write", err)
}

func (f watchFile) Sync() error { return f.check("sync", f.File.Sync()) }

func (f watchFile) SyncData() error { return f.check("sync", f.File.SyncData()) }

func (f watchFile) SyncTo(length int64) (bool, error) {
	full, err := f.File.SyncTo(length)
	return full, f.check("sync", err)
}
