package node

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mass-consensus/mass/internal/app"
	"github.com/mass-consensus/mass/internal/app/kvapp"
	"github.com/mass-consensus/mass/internal/protocol/epoch"
	"github.com/mass-consensus/mass/internal/store"
)

// nonceApp is the key-value application with replays refused as the
// organization application refuses them: once a transaction is applied,
// CheckTx says its nonce is used, whether or not it is asked again.
type nonceApp struct {
	*kvapp.App
	mu      sync.Mutex
	applied map[epoch.TxHash]bool
}

func newNonceApp(kv store.KV) (app.Application, error) {
	a, err := kvapp.New(kv)
	if err != nil {
		return nil, err
	}
	return &nonceApp{App: a, applied: map[epoch.TxHash]bool{}}, nil
}

func (a *nonceApp) CheckTx(tx []byte) error {
	a.mu.Lock()
	used := a.applied[epoch.HashTx(tx)]
	a.mu.Unlock()
	if used {
		return fmt.Errorf("%w: nonce 0 is used already", app.ErrRejected)
	}
	return a.App.CheckTx(tx)
}

func (a *nonceApp) ApplyBlock(b app.Block) (app.Result, error) {
	res, err := a.App.ApplyBlock(b)
	if err == nil {
		a.mu.Lock()
		for _, tx := range b.Txs {
			a.applied[epoch.HashTx(tx)] = true
		}
		a.mu.Unlock()
	}
	return res, err
}

// TestCommittedResubmissionIsDuplicate: a client that resubmits a committed
// transaction (a retry after a timeout) is told it is a duplicate, not what
// the application's check says of a replay; alone and within a batch, where
// the fresh transactions beside it are taken.
func TestCommittedResubmissionIsDuplicate(t *testing.T) {
	c := newCluster(t, 4)
	c.app = newNonceApp
	for i := range 4 {
		c.start(i)
	}
	load := txs("dup", 3)
	all := []int{0, 1, 2, 3}
	c.submitTo(all, load)
	c.waitFor("the transactions committed everywhere", c.committedEverywhere(all, load))

	if err := c.submit(1, load[0]); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("resubmitting a committed transaction: %v, want ErrDuplicate", err)
	}
	fresh := txs("fresh", 1)[0]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	errs := c.members[2].node.SubmitBatch(ctx, [][]byte{load[1], fresh, load[2]})
	if !errors.Is(errs[0], ErrDuplicate) || errs[1] != nil || !errors.Is(errs[2], ErrDuplicate) {
		t.Fatalf("batch of committed, fresh, committed: %v", errs)
	}
	// The fresh one is pending or committed by now: a second copy is a
	// duplicate too.
	if err := c.submit(2, fresh); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("resubmitting an accepted transaction: %v, want ErrDuplicate", err)
	}
	// The application still refuses what it refuses.
	if err := c.submit(0, []byte("no equals sign")); !errors.Is(err, app.ErrRejected) {
		t.Fatalf("a malformed transaction: %v", err)
	}
}
