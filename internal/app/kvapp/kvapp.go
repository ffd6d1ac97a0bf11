// Package kvapp is a small key-value application for testing the node
// before the real application exists: a transaction "key=value" sets a key.
// Its raw mode (NewRaw) is the no-op application for measuring consensus
// alone (`mass bench --payload raw`, genesis application "raw"): it takes
// any non-empty transaction and keeps nothing of it.
//
// Its state root is a running hash: root(h) = SHA-256(root(h−1) ‖ height ‖
// time ‖ each applied transaction, length-prefixed). That is enough to show
// that every node applied the same blocks; it proves nothing about single
// keys (the real application's sparse Merkle sum tree does).
package kvapp

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/mass-consensus/mass/internal/app"
	"github.com/mass-consensus/mass/internal/store"
)

// Limits of a transaction.
const (
	MaxKey   = 256
	MaxValue = 64 << 10
)

// Key layout in the store: 'k' + key → value; 'm' → height ‖ root.
var metaKey = []byte{'m'}

// App is the key-value application.
type App struct {
	// DeferSync leaves a block's writes unsynced, for the node's next
	// synced write to the same store (app.Application.ApplyBlock).
	DeferSync bool
	// NodeSets makes "nodes=<hex key>,<hex key>,…" change the node set
	// (for tests and the simulator of node-set changes).
	NodeSets bool
	raw      bool // any transaction, nothing kept
	kv       store.KV
	height   uint64
	root     [32]byte
}

var _ app.Application = (*App)(nil)

// New opens the application on kv, resuming from what it holds.
func New(kv store.KV) (*App, error) {
	a := &App{kv: kv}
	meta, err := kv.Get(metaKey)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return a, nil
	case err != nil:
		return nil, fmt.Errorf("kvapp: reading state: %w", err)
	case len(meta) != 40:
		return nil, fmt.Errorf("kvapp: malformed state record of %d bytes", len(meta))
	}
	a.height = binary.BigEndian.Uint64(meta)
	copy(a.root[:], meta[8:])
	return a, nil
}

// NewRaw opens the application in raw mode: it orders any non-empty
// transaction and keeps nothing but the running root.
func NewRaw(kv store.KV) (*App, error) {
	a, err := New(kv)
	if err != nil {
		return nil, err
	}
	a.raw = true
	return a, nil
}

// Info returns the last applied height and root.
func (a *App) Info() (uint64, [32]byte, error) { return a.height, a.root, nil }

// parse splits "key=value".
func parse(tx []byte) (key, value []byte, err error) {
	i := bytes.IndexByte(tx, '=')
	switch {
	case i < 0:
		return nil, nil, fmt.Errorf("%w: want key=value", app.ErrRejected)
	case i == 0:
		return nil, nil, fmt.Errorf("%w: empty key", app.ErrRejected)
	case i > MaxKey:
		return nil, nil, fmt.Errorf("%w: key of %d bytes, limit %d", app.ErrRejected, i, MaxKey)
	case len(tx)-i-1 > MaxValue:
		return nil, nil, fmt.Errorf("%w: value of %d bytes, limit %d", app.ErrRejected, len(tx)-i-1, MaxValue)
	}
	return tx[:i], tx[i+1:], nil
}

// CheckTx accepts well-formed "key=value" transactions (raw mode: any
// non-empty one).
func (a *App) CheckTx(tx []byte) error {
	if a.raw {
		if len(tx) == 0 {
			return fmt.Errorf("%w: empty transaction", app.ErrRejected)
		}
		return nil
	}
	_, _, err := parse(tx)
	return err
}

// ApplyBlock sets every well-formed key and advances the root.
func (a *App) ApplyBlock(b app.Block) (app.Result, error) {
	if b.Height != a.height+1 {
		return app.Result{}, fmt.Errorf("kvapp: block %d applied at height %d", b.Height, a.height)
	}
	d := sha256.New()
	d.Write(a.root[:])
	var num [8]byte
	binary.BigEndian.PutUint64(num[:], b.Height)
	d.Write(num[:])
	binary.BigEndian.PutUint64(num[:], uint64(b.Time))
	d.Write(num[:])
	var batch store.Batch
	res := app.Result{Txs: make([]app.TxResult, len(b.Txs))}
	for i, tx := range b.Txs {
		if !a.raw {
			key, value, err := parse(tx)
			if err != nil {
				res.Txs[i] = app.TxResult{Code: 1, Log: err.Error()}
				continue
			}
			batch.Put(append([]byte{'k'}, key...), value)
			if nodes, ok := a.nodeSet(key, value); ok {
				res.NodeSet = nodes
				batch.Put(changeKey(b.Height), value)
			}
			res.Txs[i] = app.TxResult{Events: []app.Event{{Type: "set", Attributes: []app.Attribute{{Key: "key", Value: string(key)}}}}}
		}
		binary.BigEndian.PutUint64(num[:], uint64(len(tx)))
		d.Write(num[:])
		d.Write(tx)
	}
	var root [32]byte
	d.Sum(root[:0])
	meta := make([]byte, 40)
	binary.BigEndian.PutUint64(meta, b.Height)
	copy(meta[8:], root[:])
	batch.Put(metaKey, meta)
	if err := a.kv.Apply(&batch, !a.DeferSync); err != nil {
		return app.Result{}, fmt.Errorf("kvapp: storing block %d: %w", b.Height, err)
	}
	a.height, a.root = b.Height, root
	res.StateRoot = root
	return res, nil
}

// Query returns the value of the key at path.
func (a *App) Query(path string) ([]byte, error) {
	v, err := a.kv.Get(append([]byte{'k'}, path...))
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: key %q", app.ErrNotFound, path)
	}
	return v, err
}
