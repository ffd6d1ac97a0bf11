package node

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mass-consensus/mass/internal/store"
	"github.com/mass-consensus/mass/internal/wal"
)

var errDiskFull = errors.New("injected: no space left on device")

// fullDisk is a store whose writes fail once full is set, as a full disk's.
type fullDisk struct {
	store.KV
	full *atomic.Bool
}

func (d fullDisk) Apply(b *store.Batch, sync bool) error {
	if d.full.Load() {
		return errDiskFull
	}
	return d.KV.Apply(b, sync)
}

// waitStopped waits for node i's loop to stop and returns its error.
func (c *cluster) waitStopped(i int) error {
	c.t.Helper()
	select {
	case err := <-c.members[i].done:
		c.members[i].done <- nil // for the cleanup's stop
		return err
	case <-time.After(60 * time.Second):
		c.t.Fatalf("node %d did not stop", i)
	}
	return nil
}

// TestStoreFailureStopsTheNode: node 0's disk fills up; its loop stops at
// the first failed write, and every submission from then on is refused as
// stopped, saying why.
func TestStoreFailureStopsTheNode(t *testing.T) {
	c := newCluster(t, 4)
	full := &atomic.Bool{}
	c.wrap = func(i int, kv store.KV) store.KV {
		if i == 0 {
			return fullDisk{KV: kv, full: full}
		}
		return kv
	}
	for i := range 4 {
		c.start(i)
	}
	load := txs("before", 20)
	c.submitTo([]int{0}, load)
	full.Store(true)
	// A submission needs only the epoch log; the block that takes it
	// needs the store, which fails: submissions are refused from then on.
	deadline := time.Now().Add(60 * time.Second)
	for i := 0; ; i++ {
		err := c.submit(0, fmt.Appendf(nil, "during-%d=1", i))
		if err != nil {
			if !errors.Is(err, ErrStopped) {
				t.Fatalf("a submission when the disk is full: %v, want ErrStopped", err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("submissions still accepted with a full disk")
		}
		time.Sleep(time.Millisecond)
	}
	if err := c.waitStopped(0); !errors.Is(err, errDiskFull) {
		t.Fatalf("the loop stopped with %v, want the disk's error", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := c.members[0].node.Submit(ctx, []byte("after=1"))
	if !errors.Is(err, ErrStopped) || !errors.Is(err, errDiskFull) {
		t.Fatalf("a submission after the failure: %v, want ErrStopped saying why", err)
	}
	for _, err := range c.members[0].node.SubmitBatch(ctx, [][]byte{[]byte("b=1"), []byte("c=1")}) {
		if !errors.Is(err, ErrStopped) || !errors.Is(err, errDiskFull) {
			t.Fatalf("a batch after the failure: %v", err)
		}
	}
	full.Store(false) // so that the cleanup can stop it
}

// TestFailStopsTheNode: a failure outside the loop (the store's, in the
// background) refuses submissions at once and stops the loop with it.
func TestFailStopsTheNode(t *testing.T) {
	c := newCluster(t, 4)
	for i := range 4 {
		c.start(i)
	}
	c.submitTo([]int{0}, txs("before", 5))
	n := c.members[0].node
	n.Fail(errDiskFull)
	n.Fail(errors.New("a second failure is ignored"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.Submit(ctx, []byte("after=1")); !errors.Is(err, ErrStopped) || !errors.Is(err, errDiskFull) {
		t.Fatalf("a submission after Fail: %v, want ErrStopped saying why", err)
	}
	for _, err := range n.SubmitBatch(ctx, [][]byte{[]byte("b=1")}) {
		if !errors.Is(err, ErrStopped) || !errors.Is(err, errDiskFull) {
			t.Fatalf("a batch after Fail: %v", err)
		}
	}
	if err := c.waitStopped(0); !errors.Is(err, errDiskFull) {
		t.Fatalf("the loop stopped with %v, want Fail's error", err)
	}
}

// TestJournalFailureStopsTheNode: node 0's epoch log fails (a full disk
// under the journal): the submission that needed it is refused as
// stopped, saying why, and so is every later one.
func TestJournalFailureStopsTheNode(t *testing.T) {
	c := newCluster(t, 4)
	for i := range 4 {
		c.start(i)
	}
	c.submitTo([]int{0}, txs("before", 5))
	c.members[0].fs.FailAfter(0)
	err := c.submit(0, []byte("hit=1"))
	if !errors.Is(err, ErrStopped) || !errors.Is(err, wal.ErrInjected) {
		t.Fatalf("a submission when the journal fails: %v, want ErrStopped saying why", err)
	}
	if err := c.waitStopped(0); !errors.Is(err, wal.ErrInjected) {
		t.Fatalf("the loop stopped with %v", err)
	}
	if err := c.submit(0, []byte("after=1")); !errors.Is(err, ErrStopped) || !errors.Is(err, wal.ErrInjected) {
		t.Fatalf("a submission after: %v", err)
	}
	m := c.members[0] // stopped: the cleanup has nothing to stop, and the journal fails to close
	m.cancel()
	<-m.done
	m.tr.Close()
	_ = m.log.Close()
	m.cancel = nil
}
