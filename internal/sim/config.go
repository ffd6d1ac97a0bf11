// Package sim is the deterministic simulator of Mass: whole networks of
// consensus nodes in one thread, in virtual time, with an adversary that
// chooses the delay of every message and controls the faulty nodes, and
// checkers outside the nodes that watch agreement, total order, integrity,
// validity, liveness and bounded buffers.
//
// One seed fixes everything: the faulty nodes and their behaviour, every
// delay, every coin and every sample. A failing run reports the exact command
// that reproduces it.
//
// The adversary works only on what crosses the network (delays, and the
// messages faulty nodes send); there is no hook inside the protocol code.
// During the fault phase it is hostile; after it, delays are short and random
// (every message between honest nodes is delivered) and the run must
// converge.
//
// Above the consensus core it only models the node: a batch is certified
// once 2F+1 honest nodes output it, and a node adopts certified batches when
// it is behind. Package nodesim runs the real node (ledger, driver, store,
// epoch log, application) under crashes and partitions; this package runs
// the core under Byzantine nodes.
//
// The coin is the local one by default. With Config.Coin "threshold" every
// node tosses the threshold coin (package coin) in every epoch, from keys
// the simulator deals itself with the trusted dealer of package tbls, seeded
// by the run's seed: a stand-in for the distributed key generation, which
// is tested on its own (package crypto/dkg). The adversary then holds the
// faulty nodes' secret shares and learns a coin only as a real one could:
// from F+1 valid shares, the faulty nodes' own and honest ones it saw on the
// network (coinsight.go).
//
// This package may import the protocol packages; nothing imports it but the
// CLI and tests.
package sim

import (
	"fmt"
	"slices"
	"strings"

	"github.com/mass-consensus/mass/internal/protocol"
	"github.com/mass-consensus/mass/internal/protocol/acs"
)

// Adversaries the simulator knows, by name.
const (
	AdvNone       = "none"       // fair network; the faulty nodes follow the protocol
	AdvRandom     = "random"     // heavy random reordering and delays; faulty nodes crash
	AdvSlow       = "slow"       // up to F honest nodes are slowed; faulty nodes crash
	AdvCrash      = "crash"      // faulty nodes fall silent at random times
	AdvEquivocate = "equivocate" // faulty nodes equivocate as RBC senders, coordinated
	AdvBadShards  = "badshards"  // faulty nodes send bad shards, branches and encodings
	AdvABA        = "aba"        // faulty nodes vote both values, flip, or replay in ABA
	AdvGarbage    = "garbage"    // faulty nodes send garbage, oversized and far-future messages
	AdvSplit      = "split"      // the network splits honest nodes in two halves; faulty nodes vote one way to each and withhold their proposals from one
	AdvSplitCoin  = "splitcoin"  // a scheduler that watches the estimates and coins and keeps the honest nodes' agreement views split; faulty nodes help it
	AdvMixed      = "mixed"      // each faulty node and the network draw from all of the above
)

// Coins the simulator knows, by name.
const (
	CoinLocal     = "local"     // each node flips its own coin
	CoinThreshold = "threshold" // the common coin from threshold keys (quadratic agreement only)
)

// Coins lists every coin name.
var Coins = []string{CoinLocal, CoinThreshold}

// Adversaries lists every adversary name.
var Adversaries = []string{AdvNone, AdvRandom, AdvSlow, AdvCrash, AdvEquivocate, AdvBadShards, AdvABA, AdvGarbage, AdvSplit, AdvSplitCoin, AdvMixed}

// Config is one simulated run.
type Config struct {
	N      int
	Faulty int
	// Adversary is one of Adversaries.
	Adversary string
	Seed      uint64
	// Epochs is the number of epochs every honest node must output; the
	// transactions are spread so that there are at least this many.
	Epochs int
	// Txs is the number of transactions given to every honest node.
	Txs int
	// FaultPhase is the virtual time, in milliseconds, during which the
	// adversary is hostile.
	FaultPhase int64
	// Deadline is the virtual time by which the run must have converged.
	Deadline int64
	// MaxEvents bounds the events of one run; 0 means 20 million, times
	// n²/100 above 10 nodes.
	MaxEvents int
	// Window is the number of epochs in flight per node.
	Window int
	// Agreement is the common subset's binary agreement, a name of
	// acs.Agreements: "quadratic" (package raba, the default) or "bracha"
	// (package aba).
	Agreement string
	// Coin is one of Coins: "local" (the default) or "threshold".
	Coin string

	// foresight, for tests only, lets the adversary know every threshold
	// coin before anybody tosses it (it computes the coin from the dealt
	// shares), to show that the splitting scheduler exploits a predictable
	// coin: a run must then take far more rounds than with the real one.
	foresight bool
}

// Defaults fills the zero fields of c.
func (c *Config) Defaults() {
	if c.Adversary == "" {
		c.Adversary = AdvMixed
	}
	if c.Epochs == 0 {
		c.Epochs = 4
	}
	if c.Txs == 0 {
		c.Txs = 16
	}
	if c.FaultPhase == 0 {
		c.FaultPhase = 2_000
	}
	if c.Deadline == 0 {
		c.Deadline = c.FaultPhase + 120_000
	}
	if c.MaxEvents == 0 {
		// Events (packets, ticks) per epoch grow as n².
		c.MaxEvents = 20_000_000 * max(1, c.N*c.N/100)
	}
	if c.Window == 0 {
		c.Window = 3
	}
	if c.Agreement == "" {
		c.Agreement = acs.Quadratic.String()
	}
	if c.Coin == "" {
		c.Coin = CoinLocal
	}
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	if _, err := protocol.NewParams(c.N); err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	if c.Faulty < 0 || c.Faulty >= c.N {
		return fmt.Errorf("sim: %d faulty nodes of %d", c.Faulty, c.N)
	}
	if c.Agreement != "" {
		if _, err := acs.ParseAgreement(c.Agreement); err != nil {
			return fmt.Errorf("sim: %w", err)
		}
	}
	if c.Coin != "" && !slices.Contains(Coins, c.Coin) {
		return fmt.Errorf("sim: unknown coin %q (one of %s)", c.Coin, strings.Join(Coins, ", "))
	}
	if c.Coin == CoinThreshold && c.Agreement != "" && c.Agreement != acs.Quadratic.String() {
		// Bracha's agreement always tosses a local coin (package epoch).
		return fmt.Errorf("sim: the threshold coin needs the quadratic agreement, not %q", c.Agreement)
	}
	if !slices.Contains(Adversaries, c.Adversary) {
		return fmt.Errorf("sim: unknown adversary %q (one of %s)", c.Adversary, strings.Join(Adversaries, ", "))
	}
	return nil
}

// Command returns the command line that reproduces this run.
func (c *Config) Command() string {
	return fmt.Sprintf("go run ./cmd/mass sim --n %d --faulty %d --adversary %s --seed %d --epochs %d --txs %d --agreement %s --coin %s",
		c.N, c.Faulty, c.Adversary, c.Seed, c.Epochs, c.Txs, c.Agreement, c.Coin)
}
