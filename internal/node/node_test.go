package node

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/mass-consensus/mass/internal/app"
	"github.com/mass-consensus/mass/internal/app/kvapp"
	"github.com/mass-consensus/mass/internal/chain"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/genesis"
	"github.com/mass-consensus/mass/internal/ledger"
	"github.com/mass-consensus/mass/internal/protocol/epoch"
	"github.com/mass-consensus/mass/internal/store"
	"github.com/mass-consensus/mass/internal/store/mem"
	"github.com/mass-consensus/mass/internal/transport"
	memnet "github.com/mass-consensus/mass/internal/transport/mem"
	"github.com/mass-consensus/mass/internal/wal"
)

var verbose = flag.Bool("node.log", false, "log what the test nodes do")

// votes records every vote any node sends: ed25519 signatures are
// deterministic, so two signatures by one node at one height mean it signed
// two different blocks.
type votes struct {
	mu   sync.Mutex
	seen map[[2]uint64]map[crypto.Signature]bool
}

func (v *votes) record(data []byte) {
	height, vote, ok := ledger.DecodeVote(data)
	if !ok {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	k := [2]uint64{uint64(vote.Signer), height}
	if v.seen[k] == nil {
		v.seen[k] = map[crypto.Signature]bool{}
	}
	v.seen[k][vote.Sig] = true
}

func (v *votes) check(t *testing.T) {
	t.Helper()
	v.mu.Lock()
	defer v.mu.Unlock()
	for k, sigs := range v.seen {
		if len(sigs) > 1 {
			t.Fatalf("node %d signed %d different blocks at height %d", k[0], len(sigs), k[1])
		}
	}
}

// recording wraps a transport and records the votes it sends.
type recording struct {
	transport.Transport
	votes *votes
}

func (r recording) Send(to transport.NodeKey, tag uint64, msg []byte) error {
	r.votes.record(msg)
	return r.Transport.Send(to, tag, msg)
}

type member struct {
	key    *crypto.PrivateKey
	kv     *mem.Store
	fs     *wal.MemFS
	log    *wal.Log
	node   *Node
	cancel context.CancelFunc
	done   chan error
	tr     transport.Transport
}

type cluster struct {
	t       *testing.T
	net     *memnet.Network
	gen     *genesis.Genesis
	members []*member
	votes   *votes
	// wrap, if set, wraps each node's store (to inject failures).
	wrap func(i int, kv store.KV) store.KV
	// app, if set, makes each node's application (default: kvapp).
	app func(kv store.KV) (app.Application, error)
}

func newCluster(t *testing.T, n int) *cluster {
	t.Helper()
	c := &cluster{t: t, net: memnet.NewNetwork(), votes: &votes{seen: map[[2]uint64]map[crypto.Signature]bool{}}}
	c.gen = &genesis.Genesis{ChainID: "test", Time: 1_000, BatchSize: 500}
	for i := 0; i < n; i++ {
		k, err := crypto.KeyFromSeed(bytes.Repeat([]byte{byte(i + 1)}, crypto.SeedSize))
		if err != nil {
			t.Fatal(err)
		}
		c.gen.Nodes = append(c.gen.Nodes, genesis.Node{Key: k.Public().String()})
		c.members = append(c.members, &member{key: k, kv: mem.New(), fs: wal.NewMemFS(uint64(i))})
	}
	t.Cleanup(func() {
		for i := range c.members {
			c.stop(i)
		}
	})
	return c
}

func (c *cluster) start(i int) {
	c.t.Helper()
	m := c.members[i]
	var a app.Application
	var err error
	if c.app != nil {
		a, err = c.app(store.WithPrefix(m.kv, "app/"))
	} else {
		a, err = kvapp.New(store.WithPrefix(m.kv, "app/"))
	}
	if err != nil {
		c.t.Fatal(err)
	}
	tr, err := c.net.Join(transport.NodeKey(m.key.Public()), transport.Config{ReconnectMax: 200 * time.Millisecond})
	if err != nil {
		c.t.Fatal(err)
	}
	m.tr = tr
	logger := slog.New(slog.DiscardHandler)
	if *verbose {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	var kv store.KV = m.kv
	if c.wrap != nil {
		kv = c.wrap(i, kv)
	}
	journal, logged, err := OpenJournal("/wal", m.fs)
	if err != nil {
		c.t.Fatal(err)
	}
	m.log = journal
	nd, err := New(Config{
		Genesis: c.gen, Key: m.key, Store: kv, App: a, Logger: logger,
		Journal: journal, Logged: logged,
		Transport: recording{Transport: tr, votes: c.votes},
		SyncAfter: 300 * time.Millisecond, StatusEvery: 100 * time.Millisecond,
	})
	if err != nil {
		c.t.Fatalf("node %d: %v", i, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.node, m.cancel, m.done = nd, cancel, make(chan error, 1)
	go func() { m.done <- nd.Run(ctx) }()
}

// stop ends a node cleanly (everything it wrote stays).
func (c *cluster) stop(i int) {
	m := c.members[i]
	if m.cancel == nil {
		return
	}
	m.cancel()
	if err := <-m.done; err != nil {
		c.t.Errorf("node %d stopped with %v", i, err)
	}
	m.tr.Close()
	if err := m.log.Close(); err != nil {
		c.t.Errorf("node %d: closing the journal: %v", i, err)
	}
	m.cancel = nil
}

// crash ends a node as a power cut would: what it wrote without a sync is
// lost.
func (c *cluster) crash(i int) {
	m := c.members[i]
	m.cancel()
	<-m.done
	m.tr.Close()
	m.cancel = nil
	m.kv = m.kv.Crash()
	m.fs.Crash()
}

func (c *cluster) submit(i int, tx []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		err := c.members[i].node.Submit(ctx, tx)
		if !errors.Is(err, ErrBusy) {
			return err
		}
		time.Sleep(time.Millisecond)
	}
}

// submitTo submits the transactions round-robin to the given nodes.
func (c *cluster) submitTo(nodes []int, txs [][]byte) {
	c.t.Helper()
	for k, tx := range txs {
		if err := c.submit(nodes[k%len(nodes)], tx); err != nil {
			c.t.Fatal(err)
		}
	}
}

// waitFor polls cond until it holds or a generous deadline passes (which
// fails the test): the nodes run on real time.
func (c *cluster) waitFor(what string, cond func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			var st []Status
			for _, m := range c.members {
				if m.node != nil {
					st = append(st, m.node.Status())
				}
			}
			c.t.Fatalf("timed out waiting for %s; status %+v", what, st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (c *cluster) committedEverywhere(nodes []int, txs [][]byte) func() bool {
	return func() bool {
		for _, i := range nodes {
			for _, tx := range txs {
				_, ok, _, err := c.members[i].node.TxStatus(epoch.HashTx(tx))
				if err != nil || !ok {
					return false
				}
			}
		}
		return true
	}
}

// sameChain checks that the nodes hold identical certified blocks up to the
// lowest certified height among them, and returns that height.
func (c *cluster) sameChain(nodes []int) uint64 {
	c.t.Helper()
	low := uint64(1 << 62)
	for _, i := range nodes {
		low = min(low, c.members[i].node.Status().Certified)
		// A node whose block differs (say, a bad link after a restart) has
		// its votes rejected by the others.
		if r := c.members[i].node.Counters.VotesRejected.Load(); r > 0 {
			c.t.Fatalf("node %d rejected %d votes", i, r)
		}
	}
	for h := uint64(1); h <= low; h++ {
		var want chain.Hash
		for k, i := range nodes {
			b, _, err := c.members[i].node.Block(h)
			if err != nil {
				c.t.Fatalf("node %d block %d: %v", i, h, err)
			}
			if k == 0 {
				want = b.Hash()
			} else if b.Hash() != want {
				c.t.Fatalf("node %d has another block at height %d", i, h)
			}
		}
	}
	return low
}

func txs(prefix string, n int) [][]byte {
	var out [][]byte
	for i := 0; i < n; i++ {
		out = append(out, fmt.Appendf(nil, "%s-%d=v%d", prefix, i, i))
	}
	return out
}

func TestFourNodesCommit(t *testing.T) {
	c := newCluster(t, 4)
	for i := range 4 {
		c.start(i)
	}
	load := txs("k", 2000)
	c.submitTo([]int{0, 1, 2, 3}, load)
	all := []int{0, 1, 2, 3}
	c.waitFor("2000 transactions committed at every node", c.committedEverywhere(all, load))
	c.waitFor("certificates", func() bool {
		for _, i := range all {
			if c.members[i].node.Status().Certified < c.members[0].node.Status().Height {
				return false
			}
		}
		return true
	})
	if h := c.sameChain(all); h == 0 {
		t.Fatal("no certified block")
	}
	c.votes.check(t)
	// A duplicate and a malformed transaction are refused.
	if err := c.submit(0, load[0]); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("resubmitting a committed transaction: %v", err)
	}
	if err := c.submit(0, []byte("no equals sign")); err == nil {
		t.Fatal("a malformed transaction was accepted")
	}
}

func TestCrashAndRestart(t *testing.T) {
	c := newCluster(t, 4)
	for i := range 4 {
		c.start(i)
	}
	load := txs("a", 1200)
	c.submitTo([]int{1, 2, 3}, load[:600])
	c.waitFor("some blocks", func() bool { return c.members[0].node.Status().Height >= 3 })
	c.crash(0)
	c.submitTo([]int{1, 2, 3}, load[600:])
	c.start(0)
	all := []int{0, 1, 2, 3}
	c.waitFor("every transaction at every node after the restart", c.committedEverywhere(all, load))
	more := txs("b", 200)
	c.submitTo([]int{0, 1, 2, 3}, more)
	c.waitFor("more transactions after the restart", c.committedEverywhere(all, more))
	c.sameChain(all)
	c.votes.check(t)
}

func TestThreeGoOnWithoutOne(t *testing.T) {
	c := newCluster(t, 4)
	for i := range 3 {
		c.start(i)
	}
	load := txs("c", 500)
	c.submitTo([]int{0, 1, 2}, load)
	c.waitFor("commits with one node down", c.committedEverywhere([]int{0, 1, 2}, load))
	c.waitFor("certificates with three of four", func() bool { return c.members[0].node.Status().Certified > 0 })
	c.sameChain([]int{0, 1, 2})
}

func TestAllCrashAndRestart(t *testing.T) {
	c := newCluster(t, 4)
	all := []int{0, 1, 2, 3}
	for _, i := range all {
		c.start(i)
	}
	load := txs("d", 800)
	c.submitTo([]int{0, 1, 2, 3}, load)
	c.waitFor("commits", c.committedEverywhere(all, load))
	c.crashAllAndRestart(all)
	more := txs("e", 300)
	c.submitTo([]int{0, 1, 2, 3}, more)
	c.waitFor("commits after everyone restarted", c.committedEverywhere(all, append(load, more...)))
	c.sameChain(all)
	c.votes.check(t)
}

// crashAllAndRestart cuts the power of every node, restarts them, and checks
// that none lost a certified block.
func (c *cluster) crashAllAndRestart(nodes []int) {
	c.t.Helper()
	before := make(map[int]uint64, len(nodes))
	for _, i := range nodes {
		before[i] = c.members[i].node.Status().Certified
		c.crash(i)
	}
	for _, i := range nodes {
		c.start(i)
		if got := c.members[i].node.Status().Certified; got < before[i] {
			c.t.Fatalf("node %d lost certified blocks: %d before, %d after", i, before[i], got)
		}
	}
}

func TestCatchUpThenTakePart(t *testing.T) {
	c := newCluster(t, 4)
	for i := range 3 {
		c.start(i)
	}
	// Many small blocks while node 3 is away.
	for k := 0; k < 150; k++ {
		tx := fmt.Appendf(nil, "f-%d=x", k)
		if err := c.submit(k%3, tx); err != nil {
			t.Fatal(err)
		}
		if k%10 == 0 {
			c.waitFor("a block", c.committedEverywhere([]int{0}, [][]byte{tx}))
		}
	}
	c.waitFor("certified while node 3 was away", func() bool { return c.members[0].node.Status().Certified >= 15 })
	gone := c.members[0].node.Status().Certified
	c.start(3)
	c.waitFor("node 3 caught up", func() bool { return c.members[3].node.Status().Certified >= gone })
	if c.members[3].node.Counters.BlocksFetched.Load() == 0 {
		t.Fatal("node 3 caught up without fetching a block")
	}
	// Then node 3 takes part: with node 0 stopped, nothing is committed
	// unless node 3 votes and proposes with the other two.
	c.stop(0)
	load := txs("g", 200)
	c.submitTo([]int{1, 2, 3}, load)
	c.waitFor("commits that need node 3", c.committedEverywhere([]int{1, 2, 3}, load))
	c.waitFor("certificates that need node 3", func() bool {
		return c.members[3].node.Status().Certified >= c.members[1].node.Status().Height-1
	})
	c.sameChain([]int{1, 2, 3})
	c.votes.check(t)
}

// failAtOwnRecord is a store that fails the write of the node's record of
// the block at a given height: the application has synced the block, the
// node has not recorded it — the window a power cut can hit.
type failAtOwnRecord struct {
	store.KV
	height uint64
}

func (f failAtOwnRecord) Apply(b *store.Batch, sync bool) error {
	if b != nil {
		head := binary.BigEndian.AppendUint64(nil, f.height)
		for _, op := range b.Ops() {
			if string(op.Key) == "node/h" && bytes.Equal(op.Value, head) {
				return errors.New("injected: power cut")
			}
		}
	}
	return f.KV.Apply(b, sync)
}

func TestCrashBetweenApplyAndRecord(t *testing.T) {
	for _, h := range []uint64{2, 5, 9} {
		t.Run(fmt.Sprint("height ", h), func(t *testing.T) { crashBetweenApplyAndRecord(t, h) })
	}
}

func crashBetweenApplyAndRecord(t *testing.T, height uint64) {
	c := newCluster(t, 4)
	c.wrap = func(i int, kv store.KV) store.KV {
		if i == 0 {
			return failAtOwnRecord{KV: kv, height: height}
		}
		return kv
	}
	for i := range 4 {
		c.start(i)
	}
	// Load the others until node 0 reaches the cut and stops.
	var load [][]byte
	deadline := time.Now().Add(60 * time.Second)
	for stopped := false; !stopped; {
		select {
		case err := <-c.members[0].done:
			if err == nil {
				t.Fatal("node 0 stopped without the injected failure")
			}
			stopped = true
		default:
			if time.Now().After(deadline) {
				t.Fatal("node 0 never reached the cut")
			}
			tx := fmt.Appendf(nil, "h-%d=v", len(load))
			load = append(load, tx)
			if err := c.submit(len(load)%3+1, tx); err != nil {
				t.Fatal(err)
			}
			if len(load)%20 == 0 {
				time.Sleep(2 * time.Millisecond)
			}
		}
	}
	c.members[0].done <- nil // for crash
	c.crash(0)
	a, err := kvapp.New(store.WithPrefix(c.members[0].kv, "app/"))
	if err != nil {
		t.Fatal(err)
	}
	if h, _, _ := a.Info(); h != height {
		t.Fatalf("the application is at height %d after the cut, want %d", h, height)
	}
	c.wrap = nil
	c.start(0)
	more := txs("h2", 300)
	load = append(load, more...)
	c.submitTo([]int{0, 1, 2, 3}, more)
	all := []int{0, 1, 2, 3}
	c.waitFor("every transaction everywhere", c.committedEverywhere(all, load))
	c.sameChain(all)
	c.votes.check(t)
}
