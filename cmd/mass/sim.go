package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/mass-consensus/mass/internal/sim"
)

func runSim(args []string) error {
	if len(args) > 0 && args[0] == "nodes" {
		return runSimNodes(args[1:])
	}
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	sizes := fs.String("n", "4", "network sizes, comma-separated (e.g. 4,7,10)")
	faulty := fs.Int("faulty", -1, "faulty nodes per network (default: the most tolerated, (n-1)/3)")
	adversary := fs.String("adversary", sim.AdvMixed, "adversary: "+strings.Join(sim.Adversaries, ", "))
	seeds := fs.Int("seeds", 1, "number of seeds per network size")
	seed := fs.Uint64("seed", 1, "first seed")
	epochs := fs.Int("epochs", 0, "epochs every honest node must output (default 4)")
	txs := fs.Int("txs", 0, "transactions given to every honest node (default 16)")
	agreement := fs.String("agreement", "quadratic", "binary agreement: quadratic (raba) or bracha (aba)")
	coinKind := fs.String("coin", sim.CoinLocal, "coin: local, or threshold (keys from a seeded test dealer; quadratic agreement only)")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "runs in parallel")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *seeds < 1 {
		return errors.New("--seeds must be at least 1")
	}
	var cfgs []sim.Config
	for _, field := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(field))
		if err != nil {
			return fmt.Errorf("--n: %q is not a number", field)
		}
		f := *faulty
		if f < 0 {
			f = (n - 1) / 3
		}
		for i := 0; i < *seeds; i++ {
			c := sim.Config{N: n, Faulty: f, Adversary: *adversary, Seed: *seed + uint64(i), Epochs: *epochs, Txs: *txs, Agreement: *agreement, Coin: *coinKind}
			c.Defaults()
			if err := c.Validate(); err != nil {
				return err
			}
			cfgs = append(cfgs, c)
		}
	}
	results := sim.Sweep(cfgs, *workers)
	sim.Print(os.Stdout, results)
	failed := 0
	for _, r := range results {
		if r.Failed() {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d runs violated a property", failed, len(results))
	}
	return nil
}
