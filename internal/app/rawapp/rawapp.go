// Package rawapp is the no-op application, for measuring consensus alone
// (`mass bench --payload raw`): it takes any non-empty transaction, keeps
// nothing of it, and its state root is a running hash of the blocks:
// root(h) = SHA-256(root(h−1) ‖ height ‖ time ‖ batch hash). It proves
// nothing about single transactions.
package rawapp

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/mass-consensus/mass/internal/app"
	"github.com/mass-consensus/mass/internal/chain"
	"github.com/mass-consensus/mass/internal/store"
)

var metaKey = []byte{'m'}

// App is the no-op application.
type App struct {
	// DeferSync leaves a block's writes unsynced, for the node's next
	// synced write to the same store (app.Application.ApplyBlock).
	DeferSync bool
	kv        store.KV
	height    uint64
	root      [32]byte
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
		return nil, fmt.Errorf("rawapp: reading state: %w", err)
	case len(meta) != 40:
		return nil, fmt.Errorf("rawapp: malformed state record of %d bytes", len(meta))
	}
	a.height = binary.BigEndian.Uint64(meta)
	copy(a.root[:], meta[8:])
	return a, nil
}

// Info returns the last applied height and root.
func (a *App) Info() (uint64, [32]byte, error) { return a.height, a.root, nil }

// CheckTx accepts any non-empty transaction.
func (a *App) CheckTx(tx []byte) error {
	if len(tx) == 0 {
		return fmt.Errorf("%w: empty transaction", app.ErrRejected)
	}
	return nil
}

// ApplyBlock advances the root and stores it.
func (a *App) ApplyBlock(b app.Block) (app.Result, error) {
	if b.Height != a.height+1 {
		return app.Result{}, fmt.Errorf("rawapp: block %d applied at height %d", b.Height, a.height)
	}
	batchHash := chain.BatchHash(b.Txs)
	var buf [32 + 16 + 32]byte
	copy(buf[:], a.root[:])
	binary.BigEndian.PutUint64(buf[32:], b.Height)
	binary.BigEndian.PutUint64(buf[40:], uint64(b.Time))
	copy(buf[48:], batchHash[:])
	root := sha256.Sum256(buf[:])
	meta := make([]byte, 40)
	binary.BigEndian.PutUint64(meta, b.Height)
	copy(meta[8:], root[:])
	var batch store.Batch
	batch.Put(metaKey, meta)
	if err := a.kv.Apply(&batch, !a.DeferSync); err != nil {
		return app.Result{}, fmt.Errorf("rawapp: storing block %d: %w", b.Height, err)
	}
	a.height, a.root = b.Height, root
	return app.Result{StateRoot: root, Txs: make([]app.TxResult, len(b.Txs))}, nil
}

// Query has nothing to answer.
func (a *App) Query(path string) ([]byte, error) {
	return nil, fmt.Errorf("%w: the raw application keeps nothing", app.ErrNotFound)
}
