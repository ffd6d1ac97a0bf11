package nodesim

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/mass-consensus/mass/internal/app"
	"github.com/mass-consensus/mass/internal/app/kvapp"
	"github.com/mass-consensus/mass/internal/app/orgapp"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/node"
	"github.com/mass-consensus/mass/internal/store"
	"github.com/mass-consensus/mass/internal/store/mem"
	"github.com/mass-consensus/mass/internal/transport"
	"github.com/mass-consensus/mass/internal/wal"
)

// errPowerCut is what an armed store or log returns at the crash point.
var errPowerCut = errors.New("nodesim: power cut")

// member is one simulated node: its durable state (store and log, which
// survive a crash as their crash models say) and, while it runs, the real
// node driver over them.
type member struct {
	key  *crypto.PrivateKey
	kv   *mem.Store
	org  *orgapp.App // the application of an organization run
	fs   *wal.MemFS
	node *node.Node
	log  *wal.Log
	ep   *endpoint
	skew int64 // ms added to the virtual clock
	// up: the node runs; paused: it runs but handles nothing (SIGSTOP).
	up, paused bool
	// incarnation counts restarts, to tell stale tick events.
	incarnation int
	// cutAt, when positive, arms a power cut at that many store writes
	// from now; cutAfter says whether the cut write reaches the store.
	cutAt    int
	cutAfter bool
	// certified is the certified height the node reported last; a restart
	// must come back at least there.
	certified uint64
}

// cutStore is a node's store with a power cut armed: the m.cutAt-th write
// fails (after reaching the store when m.cutAfter: the crash falls between
// persisting and sending).
type cutStore struct {
	store.KV
	m *member
}

func (c cutStore) Apply(b *store.Batch, sync bool) error {
	if c.m.cutAt <= 0 {
		return c.KV.Apply(b, sync)
	}
	c.m.cutAt--
	if c.m.cutAt > 0 {
		return c.KV.Apply(b, sync)
	}
	if c.m.cutAfter {
		if err := c.KV.Apply(b, sync); err != nil {
			return err
		}
	}
	return errPowerCut
}

// start runs the node on its durable state: a restart after a crash, or
// the first start.
func (s *Sim) start(i int) error {
	m := s.members[i]
	m.incarnation++
	m.cutAt = 0
	a, err := s.application(m)
	if err != nil {
		return fmt.Errorf("node %d: the application: %w", i, err)
	}
	log, logged, err := node.OpenJournal("/wal", m.fs)
	if err != nil {
		return fmt.Errorf("node %d: %w", i, err)
	}
	if s.cfg.forgetJournal && m.incarnation > 1 {
		logged = nil
	}
	m.ep = &endpoint{sim: s, self: i, cut: -1, recv: make(chan transport.Inbound), liar: s.cfg.Liar && i == liar}
	knobs := s.cfg.knobs
	knobs.BadKeyPart = s.cfg.BadDealer && i == badDealer
	var entropy [32]byte
	binary.BigEndian.PutUint64(entropy[:], s.cfg.Seed)
	binary.BigEndian.PutUint64(entropy[8:], uint64(i))
	binary.BigEndian.PutUint64(entropy[16:], uint64(m.incarnation))
	nd, err := node.New(node.Config{
		Genesis: s.gen, Key: m.key, Store: cutStore{KV: m.kv, m: m}, Journal: log,
		Logged: logged, App: a, Transport: m.ep, Entropy: entropy,
		Now:    func() time.Time { return time.UnixMilli(s.now + m.skew) },
		Logger: s.logger(i), SyncAfter: time.Second, StatusEvery: 500 * time.Millisecond, Knobs: knobs,
	})
	if err != nil {
		return fmt.Errorf("node %d: restarting: %w", i, err)
	}
	m.node, m.log, m.up, m.paused = nd, log, true, false
	if st := nd.Status(); st.Certified < m.certified {
		s.violate("node %d came back certified at %d, below the %d it had", i, st.Certified, m.certified)
	}
	s.unblock()
	s.push(event{at: s.now + tickEvery, kind: evTick, to: i, incarnation: m.incarnation})
	return nil
}

// application opens the run's application on a node's store.
func (s *Sim) application(m *member) (app.Application, error) {
	if s.org != nil {
		org, err := orgapp.New(store.WithPrefix(m.kv, "app/"), s.gen, orgapp.Options{Retain: 1000, DeferSync: s.cfg.DeferSync})
		m.org = org
		return org, err
	}
	a, err := kvapp.New(store.WithPrefix(m.kv, "app/"))
	if err != nil {
		return nil, err
	}
	a.NodeSets, a.DeferSync = true, s.cfg.DeferSync
	return a, nil
}

// crash stops a node as a power cut would: the store and the log keep what
// was synced, its links lose what it had not delivered.
func (s *Sim) crash(i int) {
	m := s.members[i]
	if !m.up {
		return
	}
	s.watch.noneDropped(i)
	m.up, m.paused, m.node, m.org = false, false, nil, nil
	m.ep.closed = true
	m.kv = m.kv.Crash()
	m.fs.Crash()
	m.fs.FailAfter(-1)
	for _, l := range s.links[i] {
		if l != nil {
			l.queue = nil
		}
	}
	s.stats.Crashes++
}

// logger is node i's logger, with the virtual time, if the run logs.
func (s *Sim) logger(i int) *slog.Logger {
	if s.cfg.Logger == nil {
		return nil
	}
	return s.cfg.Logger.With("sim_node", i, "incarnation", s.members[i].incarnation)
}
