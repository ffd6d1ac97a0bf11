package wal

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
)

// ErrInjected is returned by MemFS operations that fail because of FailAfter.
var ErrInjected = errors.New("wal: injected fault")

// errStale is returned by a MemFS file handle opened before a Crash.
var errStale = errors.New("wal: memfs: file handle from before a crash")

var _ FS = (*MemFS)(nil)

// MemFS is an in-memory FS with a crash model, safe for concurrent use.
//
// It keeps, for each file, the contents the running process sees and the
// contents as of the file's last Sync; and for each directory, the entries
// the process sees and those as of the directory's last SyncDir. Crash
// turns the durable state, plus what a power cut may also keep, into the
// state the next process sees. Its choices come from a rand seeded at
// NewMemFS, so a run is reproduced from its seed.
//
// Directories are implicit: MkdirAll does nothing, and List of a directory
// that holds no file returns no names.
type MemFS struct {
	mu      sync.Mutex
	rng     *rand.Rand
	live    map[string]*memFile // directory entries as the running process sees them
	durable map[string]*memFile // directory entries as of the last SyncDir of their directory
	gen     uint64              // counts crashes; handles from an earlier generation fail
	budget  int                 // mutating operations left before faults; -1 for none
	failing bool                // a fault was injected since FailAfter
}

// memFile is one file ("inode"); it may outlive its directory entry.
type memFile struct {
	data   []byte // contents as the running process sees them
	synced []byte // contents as of the last Sync; never modified in place
}

// NewMemFS returns an empty MemFS whose crashes are drawn from seed.
func NewMemFS(seed uint64) *MemFS {
	return &MemFS{
		rng:     rand.New(rand.NewPCG(seed, 0x3a1c_57d0_ee42_9b61)),
		live:    map[string]*memFile{},
		durable: map[string]*memFile{},
		budget:  -1,
	}
}

// FailAfter lets the next n mutating operations (Create, Write, Truncate,
// Sync, Remove, SyncDir, MkdirAll) succeed and fails every later one with
// ErrInjected, as if the power went out there: the first failing Write
// writes a random prefix of its bytes, the others change nothing. Crash or
// FailAfter(-1) ends the faults.
func (m *MemFS) FailAfter(n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.budget, m.failing = max(n, -1), false
}

// Crash simulates a power cut and the restart of the process. For each
// file, the bytes written since its last Sync are lost, except that a torn
// write may keep a prefix of them (a random length, often none or all).
// A file created or removed since the last SyncDir of its directory may or
// may not exist. Handles opened before Crash fail; the MemFS is usable again.
func (m *MemFS) Crash() {
	m.mu.Lock()
	defer m.mu.Unlock()
	names := slices.Collect(maps.Keys(m.live))
	for name := range m.durable {
		if _, ok := m.live[name]; !ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	next := map[string]*memFile{}
	for _, name := range names {
		f := m.live[name]
		if d := m.durable[name]; d != f && m.rng.IntN(2) == 0 {
			f = d
		}
		if f != nil {
			f.crash(m.rng)
			next[name] = f
		}
	}
	m.live, m.durable = next, maps.Clone(next)
	m.gen++
	m.budget, m.failing = -1, false
}

// crash leaves the contents a power cut may leave.
func (f *memFile) crash(rng *rand.Rand) {
	keep := f.synced
	if bytes.HasPrefix(f.data, f.synced) {
		keep = f.data[:len(f.synced)+tornLen(rng, len(f.data)-len(f.synced))]
	} else if rng.IntN(2) == 0 {
		// Truncated since the last Sync, and the truncation reached the disk.
		n := commonPrefix(f.data, f.synced)
		keep = f.data[:n+tornLen(rng, len(f.data)-n)]
	}
	f.data = bytes.Clone(keep)
	f.synced = slices.Clip(f.data)
}

// tornLen is how many of n unsynced bytes a torn write keeps.
func tornLen(rng *rand.Rand, n int) int {
	switch rng.IntN(4) {
	case 0:
		return 0
	case 1:
		return n
	default:
		return rng.IntN(n + 1)
	}
}

func commonPrefix(a, b []byte) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// Corrupt flips every bit of the byte at off in a file, on the disk and in
// what the process sees.
func (m *MemFS) Corrupt(name string, off int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	f, ok := m.live[filepath.Clean(name)]
	if !ok {
		return &fs.PathError{Op: "corrupt", Path: name, Err: fs.ErrNotExist}
	}
	if off < 0 || off >= int64(len(f.data)) {
		return fmt.Errorf("wal: memfs: corrupt %s: offset %d outside its %d bytes", name, off, len(f.data))
	}
	f.data = bytes.Clone(f.data)
	f.data[off] ^= 0xff
	if off < int64(len(f.synced)) {
		f.synced = bytes.Clone(f.synced)
		f.synced[off] ^= 0xff
	}
	return nil
}

// inject counts one mutating operation against FailAfter's budget and
// reports whether it fails, and whether it is the first to fail.
func (m *MemFS) inject() (fail, first bool) {
	switch {
	case m.budget < 0:
		return false, false
	case m.budget > 0:
		m.budget--
		return false, false
	}
	first, m.failing = !m.failing, true
	return true, first
}

// MkdirAll does nothing: directories are implicit.
func (m *MemFS) MkdirAll(dir string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if fail, _ := m.inject(); fail {
		return &fs.PathError{Op: "mkdir", Path: dir, Err: ErrInjected}
	}
	return nil
}

// List returns the sorted names of the files in dir.
func (m *MemFS) List(dir string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	dir = filepath.Clean(dir)
	var names []string
	for name := range m.live {
		if filepath.Dir(name) == dir {
			names = append(names, filepath.Base(name))
		}
	}
	slices.Sort(names)
	return names, nil
}

// Create creates a file that must not exist.
func (m *MemFS) Create(name string) (File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	name = filepath.Clean(name)
	if fail, _ := m.inject(); fail {
		return nil, &fs.PathError{Op: "create", Path: name, Err: ErrInjected}
	}
	if _, ok := m.live[name]; ok {
		return nil, &fs.PathError{Op: "create", Path: name, Err: fs.ErrExist}
	}
	f := &memFile{}
	m.live[name] = f
	return &memHandle{m: m, f: f, name: name, gen: m.gen}, nil
}

// OpenAppend opens an existing file for appending.
func (m *MemFS) OpenAppend(name string) (File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	name = filepath.Clean(name)
	f, ok := m.live[name]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return &memHandle{m: m, f: f, name: name, gen: m.gen}, nil
}

// ReadFile returns a copy of a file's contents as the process sees them.
func (m *MemFS) ReadFile(name string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f, ok := m.live[filepath.Clean(name)]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return bytes.Clone(f.data), nil
}

// Remove deletes a file's directory entry.
func (m *MemFS) Remove(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	name = filepath.Clean(name)
	if fail, _ := m.inject(); fail {
		return &fs.PathError{Op: "remove", Path: name, Err: ErrInjected}
	}
	if _, ok := m.live[name]; !ok {
		return &fs.PathError{Op: "remove", Path: name, Err: fs.ErrNotExist}
	}
	delete(m.live, name)
	return nil
}

// SyncDir makes the entries of dir durable as the process sees them.
func (m *MemFS) SyncDir(dir string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	dir = filepath.Clean(dir)
	if fail, _ := m.inject(); fail {
		return &fs.PathError{Op: "sync", Path: dir, Err: ErrInjected}
	}
	for name := range m.durable {
		if filepath.Dir(name) == dir {
			delete(m.durable, name)
		}
	}
	for name, f := range m.live {
		if filepath.Dir(name) == dir {
			m.durable[name] = f
		}
	}
	return nil
}

// memHandle is an open MemFS file.
type memHandle struct {
	m      *MemFS
	f      *memFile
	name   string
	gen    uint64
	closed bool
}

// check returns why the handle cannot be used, or nil; m.mu is held.
func (h *memHandle) check(op string) error {
	switch {
	case h.closed:
		return &fs.PathError{Op: op, Path: h.name, Err: fs.ErrClosed}
	case h.gen != h.m.gen:
		return &fs.PathError{Op: op, Path: h.name, Err: errStale}
	}
	return nil
}

func (h *memHandle) Write(p []byte) (int, error) {
	h.m.mu.Lock()
	defer h.m.mu.Unlock()
	if err := h.check("write"); err != nil {
		return 0, err
	}
	n := len(p)
	fail, first := h.m.inject()
	if fail {
		n = 0
		if first {
			n = h.m.rng.IntN(len(p) + 1)
		}
	}
	// Appending never changes bytes that synced shares: its capacity ends
	// where its length does, or the bytes past it are not part of it.
	h.f.data = append(h.f.data, p[:n]...)
	if fail {
		return n, &fs.PathError{Op: "write", Path: h.name, Err: ErrInjected}
	}
	return n, nil
}

func (h *memHandle) Truncate(size int64) error {
	h.m.mu.Lock()
	defer h.m.mu.Unlock()
	if err := h.check("truncate"); err != nil {
		return err
	}
	if fail, _ := h.m.inject(); fail {
		return &fs.PathError{Op: "truncate", Path: h.name, Err: ErrInjected}
	}
	if size < 0 {
		return &fs.PathError{Op: "truncate", Path: h.name, Err: fs.ErrInvalid}
	}
	if size <= int64(len(h.f.data)) {
		// Clip, so that a later append cannot overwrite bytes synced shares.
		h.f.data = slices.Clip(h.f.data[:size])
		return nil
	}
	h.f.data = append(slices.Clip(h.f.data), make([]byte, size-int64(len(h.f.data)))...)
	return nil
}

func (h *memHandle) Sync() error {
	h.m.mu.Lock()
	defer h.m.mu.Unlock()
	if err := h.check("sync"); err != nil {
		return err
	}
	if fail, _ := h.m.inject(); fail {
		return &fs.PathError{Op: "sync", Path: h.name, Err: ErrInjected}
	}
	h.f.synced = slices.Clip(h.f.data)
	return nil
}

func (h *memHandle) Close() error {
	h.m.mu.Lock()
	defer h.m.mu.Unlock()
	if h.closed {
		return &fs.PathError{Op: "close", Path: h.name, Err: fs.ErrClosed}
	}
	h.closed = true
	return nil
}
