package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync"

	"github.com/mass-consensus/mass/internal/nodesim"
)

// runSimNodes runs the whole-node simulator (package nodesim) over seeds,
// in parallel, and prints each failing seed with the command that replays
// it.
func runSimNodes(args []string) error {
	fs := flag.NewFlagSet("sim nodes", flag.ContinueOnError)
	seeds := fs.Int("seeds", 100, "number of seeds")
	first := fs.Uint64("seed", 0, "first seed")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "runs in parallel")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *seeds < 1 || *workers < 1 {
		return errors.New("--seeds and --workers must be at least 1")
	}
	results := make([]*nodesim.Result, *seeds)
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range *workers {
		wg.Go(func() {
			for k := range jobs {
				results[k] = nodesim.Run(nodesim.SweepConfig(*first + uint64(k)))
			}
		})
	}
	for k := range *seeds {
		jobs <- k
	}
	close(jobs)
	wg.Wait()
	return printSimNodes(results)
}

// printSimNodes prints the failures and a summary, and says whether any
// run failed.
func printSimNodes(results []*nodesim.Result) error {
	failed, changed, height := 0, 0, uint64(0)
	for _, r := range results {
		height += r.Stats.Height
		if r.Stats.Era > 0 {
			changed++
		}
		if !r.Failed() {
			continue
		}
		failed++
		c := r.Config
		fmt.Printf("seed %d (joiner %v, org %v, liar %v, defer sync %v): replay with\n  go test ./internal/nodesim -run 'TestSweep$' -nodesim.seed=%d -nodesim.log -v\n",
			c.Seed, c.Joiner, c.Org, c.Liar, c.DeferSync, c.Seed)
		for _, v := range r.Violations {
			fmt.Printf("  %s\n", v)
		}
	}
	fmt.Fprintf(os.Stdout, "%d runs of whole nodes, %d with violations; mean certified height %.1f; the node set changed in %d\n",
		len(results), failed, float64(height)/float64(len(results)), changed)
	if failed > 0 {
		return fmt.Errorf("%d of %d runs violated a property", failed, len(results))
	}
	return nil
}
