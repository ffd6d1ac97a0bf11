package wal

import (
	"errors"
	"fmt"
	"os"
	"slices"
)

// FS is the file system the log writes to: the OS (OSFS) or its in-memory
// twin with a crash model (MemFS). Names are paths; List returns base names.
type FS interface {
	// MkdirAll creates dir and any missing parents.
	MkdirAll(dir string) error
	// List returns the sorted names of the regular files in dir.
	List(dir string) ([]string, error)
	// Create creates a file that must not exist (fs.ErrExist if it does),
	// open for appending.
	Create(name string) (File, error)
	// OpenAppend opens an existing file for appending.
	OpenAppend(name string) (File, error)
	// ReadFile returns the contents of a file, in a new buffer.
	ReadFile(name string) ([]byte, error)
	// Remove deletes a file.
	Remove(name string) error
	// SyncDir makes durable the creation and removal of the files in dir.
	SyncDir(dir string) error
}

// File is a file open for appending: every Write goes to its end.
type File interface {
	Write(p []byte) (int, error)
	// Truncate changes the file's size; later writes go to the new end.
	Truncate(size int64) error
	// Sync makes the file's contents durable (fsync).
	Sync() error
	Close() error
}

var _ FS = osFS{}

// OSFS returns the operating system's file system.
func OSFS() FS { return osFS{} }

type osFS struct{}

func (osFS) MkdirAll(dir string) error { return os.MkdirAll(dir, 0o755) }

func (osFS) List(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names, nil
}

func (osFS) Create(name string) (File, error) {
	return os.OpenFile(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_EXCL, 0o644)
}

func (osFS) OpenAppend(name string) (File, error) {
	return os.OpenFile(name, os.O_WRONLY|os.O_APPEND, 0)
}

func (osFS) ReadFile(name string) ([]byte, error) { return os.ReadFile(name) }

func (osFS) Remove(name string) error { return os.Remove(name) }

func (osFS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		return errors.Join(fmt.Errorf("fsync directory %s: %w", dir, err), d.Close())
	}
	return d.Close()
}
