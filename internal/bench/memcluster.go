package bench

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/mass-consensus/mass/internal/app"
	"github.com/mass-consensus/mass/internal/app/kvapp"
	"github.com/mass-consensus/mass/internal/app/orgapp"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/genesis"
	"github.com/mass-consensus/mass/internal/node"
	"github.com/mass-consensus/mass/internal/protocol/epoch"
	"github.com/mass-consensus/mass/internal/store"
	"github.com/mass-consensus/mass/internal/store/mem"
	"github.com/mass-consensus/mass/internal/transport"
	memnet "github.com/mass-consensus/mass/internal/transport/mem"
	"github.com/mass-consensus/mass/internal/wal"
)

// memCluster runs the nodes in this process, on the in-memory transport
// and stores.
type memCluster struct {
	gen     *genesis.Genesis
	nodes   []*node.Node
	trs     []*memnet.Transport
	cancel  context.CancelFunc
	running sync.WaitGroup
	events  chan commitEvent
	unsub   func()
	// exclude is the CPU time of the bench's own threads, subtracted
	// from the process's.
	exclude func() time.Duration

	failOnce sync.Once
	failCh   chan struct{}
	failErr  error
	closed   chan struct{}
}

var _ cluster = (*memCluster)(nil)

func newMemCluster(g *genesis.Genesis, exclude func() time.Duration) (_ *memCluster, err error) {
	c := &memCluster{gen: g, exclude: exclude, failCh: make(chan struct{}), closed: make(chan struct{}), events: make(chan commitEvent, 1024)}
	defer func() {
		if err != nil {
			c.close()
		}
	}()
	network := memnet.NewNetwork()
	keys := make([]*crypto.PrivateKey, 0, len(g.Nodes))
	for range g.Nodes {
		k, err := crypto.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	for i, k := range keys {
		g.Nodes[i].Key = k.Public().String()
	}
	if _, err := g.Validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	for i, k := range keys {
		kv := mem.New()
		var a app.Application
		var err error
		if g.AppName() == genesis.AppRaw {
			a, err = kvapp.NewRaw(store.WithPrefix(kv, "app/"))
		} else {
			a, err = orgapp.New(store.WithPrefix(kv, "app/"), g, orgapp.Options{Retain: orgapp.DefaultRetain})
		}
		if err != nil {
			return nil, fmt.Errorf("bench: node %d: %w", i, err)
		}
		tr, err := network.Join(transport.NodeKey(k.Public()), transport.Config{})
		if err != nil {
			return nil, fmt.Errorf("bench: node %d: %w", i, err)
		}
		c.trs = append(c.trs, tr)
		log, logged, err := node.OpenJournal("/wal", wal.NewMemFS(uint64(i)))
		if err != nil {
			return nil, fmt.Errorf("bench: node %d: %w", i, err)
		}
		nd, err := node.New(node.Config{Genesis: g, Key: k, Store: kv, Journal: log, Logged: logged, App: a, Transport: tr})
		if err != nil {
			return nil, fmt.Errorf("bench: node %d: %w", i, err)
		}
		c.nodes = append(c.nodes, nd)
	}
	sub, unsub := c.nodes[0].Subscribe(1 << 16)
	c.unsub = unsub
	go c.forward(sub)
	for i, nd := range c.nodes {
		c.running.Add(1)
		go func() {
			defer c.running.Done()
			if err := nd.Run(ctx); err != nil && ctx.Err() == nil {
				c.fail(fmt.Errorf("%w: node %d: %w", errClusterFailed, i, err))
			} else if ctx.Err() == nil {
				c.fail(fmt.Errorf("%w: node %d stopped", errClusterFailed, i))
			}
		}()
	}
	return c, c.waitConnected(30 * time.Second)
}

func (c *memCluster) fail(err error) {
	c.failOnce.Do(func() {
		c.failErr = err
		close(c.failCh)
	})
}

// waitConnected waits until every node has a link up to every other.
func (c *memCluster) waitConnected(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		all := true
		for _, nd := range c.nodes {
			if nd.Status().Peers < len(c.nodes)-1 {
				all = false
			}
		}
		if all {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("bench: the nodes did not connect to each other")
		}
		select {
		case <-c.failCh:
			return c.failErr
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (c *memCluster) forward(sub <-chan node.Commit) {
	defer close(c.events)
	for cm := range sub {
		ev := commitEvent{Height: cm.Height, Txs: make([]txHash, len(cm.TxHashes)), Time: cm.Time, Apply: cm.Apply}
		for i, h := range cm.TxHashes {
			ev.Txs[i] = h
		}
		for i, r := range cm.Results {
			if r.Code != 0 {
				ev.Failed++
				ev.Failures = append(ev.Failures, txFailure{Index: i, Code: r.Code, Log: r.Log})
			}
		}
		select {
		case c.events <- ev:
		case <-c.closed:
			return
		}
	}
}

func (c *memCluster) size() int       { return len(c.nodes) }
func (c *memCluster) chainID() string { return c.gen.ChainID }

func (c *memCluster) submit(ctx context.Context, i int, txs [][]byte) ([]rejection, error) {
	// The node checks the transactions in the caller's goroutine: call it
	// from one that is not the bench's (its CPU time is the node's).
	done := make(chan []error, 1)
	go func() { done <- c.nodes[i].SubmitBatch(ctx, txs) }()
	var out []rejection
	for k, err := range <-done {
		switch {
		case err == nil, errors.Is(err, node.ErrDuplicate), errors.Is(err, epoch.ErrDuplicate):
		case errors.Is(err, node.ErrBusy), errors.Is(err, epoch.ErrPendingFull):
			out = append(out, rejection{Index: k, Busy: true, Message: err.Error()})
		case errors.Is(err, node.ErrStopped), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
			return nil, err
		default:
			out = append(out, rejection{Index: k, Message: err.Error()})
		}
	}
	return out, nil
}

func (c *memCluster) commits() <-chan commitEvent { return c.events }

func (c *memCluster) sample() (sample, error) {
	var s sample
	s.Committed = c.nodes[0].Counters.Committed.Load()
	for _, tr := range c.trs {
		s.BytesSent += tr.Stats().BytesSent
	}
	for _, nd := range c.nodes {
		s.Progress = append(s.Progress, progress{Messages: nd.Counters.ConsensusMessages.Load(), Epoch: nd.Status().Epoch})
	}
	cpu, err := selfCPU()
	if err != nil {
		return s, err
	}
	s.CPU = cpu - c.exclude()
	return s, nil
}

func (c *memCluster) cpuScope() string {
	return "this process (all nodes) minus the load generator's threads"
}

func (c *memCluster) memory() Memory {
	m := Memory{Scope: "this process: all nodes and the load generator"}
	m.Process, _ = peakRSS("self")
	return m
}

func (c *memCluster) failed() <-chan struct{} { return c.failCh }
func (c *memCluster) failure() error          { return c.failErr }

func (c *memCluster) close() error {
	select {
	case <-c.closed:
		return nil
	default:
	}
	close(c.closed)
	if c.unsub != nil {
		c.unsub()
	}
	if c.cancel != nil {
		c.cancel()
	}
	c.running.Wait()
	for _, tr := range c.trs {
		_ = tr.Close()
	}
	return nil
}

func (c *memCluster) keys() (keyState, error) {
	var ks keyState
	for i, nd := range c.nodes {
		st := nd.Status()
		if st.KeysAt > 0 {
			ks.Ready++
		}
		if i == 0 {
			ks.Block, ks.Parts = st.KeysAt, st.KeyParts
		}
	}
	return ks, nil
}
