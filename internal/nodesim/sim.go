package nodesim

import (
	"bytes"
	"container/heap"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"

	"github.com/mass-consensus/mass/internal/app/kvapp"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/genesis"
	"github.com/mass-consensus/mass/internal/ledger"
	"github.com/mass-consensus/mass/internal/protocol/epoch"
	"github.com/mass-consensus/mass/internal/store/mem"
	"github.com/mass-consensus/mass/internal/transport"
	"github.com/mass-consensus/mass/internal/wal"
)

// liar is the node that lies about its height in a Liar run, and
// badDealer the one that posts a garbage key part in a BadDealer run.
const (
	liar      = 1
	badDealer = 2
)

// Timing of the simulated network and nodes, in virtual milliseconds.
const (
	tickEvery     = 10
	checkEvery    = 100
	maxViolations = 8
)

// Config is one run.
type Config struct {
	// N is the size of the genesis node set (default 4).
	N int
	// Joiner adds a node outside the genesis set: a transaction makes it a
	// member during the fault phase, and a later one removes a genesis node.
	Joiner bool
	// Liar makes genesis node 1 claim a certified height far beyond its own
	// and never answer a request for certified blocks (it is otherwise
	// honest): catching up must not depend on it.
	Liar bool
	// Fair runs no faults at all: no crash, pause or partition, no
	// node-set change (measurements such as the key generation's time).
	Fair bool
	// BadDealer makes genesis node 2 a Byzantine key dealer: its key
	// generation part has garbage rows for half the nodes, so the era's
	// keys must be made without it (it is otherwise honest).
	BadDealer bool
	// Org runs the organization application (signed transfers for load);
	// with Joiner, the joiner enters by a passed proposal instead.
	Org  bool
	Seed uint64
	// FaultPhase is how long faults are injected (default 12 s); Settle how
	// long after it every node has to converge (default 30 s).
	FaultPhase int64
	Settle     int64
	// Rate is the transactions submitted per second during the fault phase
	// (default 100).
	Rate int
	// DeferSync: the application leaves its writes to the node's synced
	// records (as the daemon runs it).
	DeferSync bool
	// forgetJournal is a planted bug: a restarted node is given an empty
	// epoch log.
	forgetJournal bool
	// Logger, if set, gets the nodes' logs.
	Logger *slog.Logger
	// knobs plant bugs in the ledger.
	knobs ledger.Knobs
}

func (c *Config) defaults() {
	if c.N == 0 {
		c.N = 4
	}
	if c.FaultPhase == 0 {
		c.FaultPhase = 12_000
	}
	if c.Settle == 0 {
		c.Settle = 30_000
	}
	if c.Rate == 0 {
		c.Rate = 100
	}
}

// Stats are what a run did.
type Stats struct {
	Crashes, Pauses, Partitions int
	Accepted                    int
	Height                      uint64 // the certified height every node reached
	Era                         int    // the era the nodes ended in (node-set changes)
	KeyEras                     int    // the eras whose threshold keys were made
	KeysMs                      int64  // when every genesis node had the genesis era's keys (virtual ms)
	Events                      int
	VirtualTime                 int64
}

// Result is a run's statistics and the violations its checkers found.
type Result struct {
	Config     Config
	Stats      Stats
	Violations []string
}

// Failed says whether a checker found a violation.
func (r *Result) Failed() bool { return len(r.Violations) > 0 }

// Sim is one simulated network of whole nodes.
type Sim struct {
	cfg     Config
	rng     *rand.Rand
	gen     *genesis.Genesis
	members []*member
	byKey   map[transport.NodeKey]int
	links   [][]*link
	events  eventQueue
	seq     uint64
	now     int64
	// group is each node's side of the current partition (all 0: none).
	group []int
	// fair is set once the fault phase is over: short random delays.
	fair  bool
	watch *watcher
	stats Stats
	txs   int
	fatal bool
	org   *orgClient // an organization run's client
}

// SweepConfig is the configuration of a seed of the sweep (the tests' and
// `mass sim nodes`'s): one seed in three has a joining node (node-set
// changes by a transaction), one in three the organization application
// with a joiner that enters by a passed proposal, one in two an
// application that defers its syncs to the node's records, one in five a
// node that lies about its height.
func SweepConfig(seed uint64) Config {
	return Config{Seed: seed, Joiner: seed%3 != 0, Org: seed%3 == 2, DeferSync: seed%2 == 0, Liar: seed%5 == 3,
		BadDealer: seed%4 == 1}
}

// Run simulates one seed.
func Run(cfg Config) *Result {
	cfg.defaults()
	s := newSim(cfg)
	s.run()
	s.stats.VirtualTime = s.now
	return &Result{Config: cfg, Stats: s.stats, Violations: s.watch.violations}
}

func newSim(cfg Config) *Sim {
	total := cfg.N
	if cfg.Joiner {
		total++
	}
	s := &Sim{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0x6e6f6465)), byKey: map[transport.NodeKey]int{},
		group: make([]int, total)}
	s.gen = &genesis.Genesis{ChainID: "sim", Time: 1_000, BatchSize: 100}
	for i := range total {
		k, err := crypto.KeyFromSeed(bytes.Repeat([]byte{byte(i + 1)}, crypto.SeedSize))
		if err != nil {
			panic(err)
		}
		if i < cfg.N {
			s.gen.Nodes = append(s.gen.Nodes, genesis.Node{Key: k.Public().String()})
		}
		s.byKey[transport.NodeKey(k.Public())] = i
		s.members = append(s.members, &member{key: k, kv: mem.New(), fs: wal.NewMemFS(cfg.Seed ^ uint64(i+1)<<32),
			skew: s.rng.Int64N(200) - 100})
	}
	s.links = make([][]*link, total)
	for i := range s.links {
		s.links[i] = make([]*link, total)
		for j := range s.links[i] {
			if i != j {
				s.links[i][j] = &link{}
			}
		}
	}
	s.watch = newWatcher(s)
	if cfg.Org {
		s.orgGenesis()
	}
	return s
}

func (s *Sim) run() {
	for i := range s.members {
		if err := s.start(i); err != nil {
			s.violate("%v", err)
			return
		}
	}
	s.planFaults()
	s.planLoad()
	s.push(event{at: s.cfg.FaultPhase, kind: evEndFaults})
	s.push(event{at: checkEvery, kind: evCheck})
	end := s.cfg.FaultPhase + s.cfg.Settle
	for len(s.events) > 0 && !s.fatal && len(s.watch.violations) < maxViolations {
		ev := heap.Pop(&s.events).(event)
		s.now = ev.at
		s.stats.Events++
		if ev.kind == evCheck && s.fair && s.watch.converged() {
			s.watch.final()
			return
		}
		if s.now > end {
			s.watch.stalled()
			return
		}
		s.handle(ev)
	}
}

// violate records a violation.
func (s *Sim) violate(format string, args ...any) {
	s.watch.violate(format, args...)
}

// step runs one input of a node and its flush; an error stops the node: the
// armed power cut, or a failure of the node (a violation).
func (s *Sim) step(i int, input func(m *member) error) {
	m := s.members[i]
	err := input(m)
	if err == nil {
		err = m.node.Flush()
	}
	if err == nil && m.ep.cut == 0 {
		err = errPowerCut // the cut fell among the sends
	}
	if err == nil {
		s.watch.afterStep(i)
		return
	}
	if !errors.Is(err, errPowerCut) && !errors.Is(err, wal.ErrInjected) {
		s.violate("node %d stopped at %d ms: %v", i, s.now, err)
		s.fatal = true
	}
	s.crash(i)
	s.push(event{at: s.now + s.rng.Int64N(2_000), kind: evRestart, to: i})
}

// submit offers the load's next transaction.
func (s *Sim) submit() {
	if s.org != nil {
		s.transferLoad()
		return
	}
	s.txs++
	s.offer(fmt.Appendf(nil, "k%d=%d", s.txs, s.now))
}

// offer gives a transaction to a random running node, and says whether
// it was accepted: taken, and durable once the node's flush returned.
func (s *Sim) offer(tx []byte) bool {
	var up []int
	for i, m := range s.members {
		if m.up && !m.paused {
			up = append(up, i)
		}
	}
	if len(up) == 0 {
		return false
	}
	i := up[s.rng.IntN(len(up))]
	offered := false
	s.step(i, func(m *member) error {
		err := m.node.Offer(tx)
		if err != nil && s.cfg.Logger != nil {
			s.cfg.Logger.Info("refused", "err", err)
		}
		offered = err == nil
		return nil
	})
	if offered && s.members[i].up {
		s.watch.accepted(tx)
		return true
	}
	return false
}

// submitNodes has a running member take a node-set change, until one does.
func (s *Sim) submitNodes(keys [][32]byte) {
	tx := kvapp.NodesTx(keys...)
	for i, m := range s.members {
		if !m.up || m.paused {
			continue
		}
		ok := false
		s.step(i, func(m *member) error {
			ok = m.node.Offer(tx) == nil
			return nil
		})
		if ok && s.members[i].up {
			s.watch.accepted(tx)
			return
		}
	}
	s.push(event{at: s.now + 500, kind: evNodes, keys: keys})
}

// hashTx is a transaction's hash, as the chain indexes it.
func hashTx(tx []byte) epoch.TxHash { return epoch.HashTx(tx) }
