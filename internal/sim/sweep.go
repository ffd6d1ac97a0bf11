package sim

import (
	"fmt"
	"io"
	"sync"
)

// Sweep runs every configuration on workers goroutines (each run is itself
// single-threaded and deterministic) and returns the results in order.
func Sweep(cfgs []Config, workers int) []Result {
	results := make([]Result, len(cfgs))
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < max(1, workers); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i] = Run(cfgs[i])
			}
		}()
	}
	for i := range cfgs {
		next <- i
	}
	close(next)
	wg.Wait()
	return results
}

// Summary aggregates the runs of one network size, agreement and coin.
type Summary struct {
	N, Faulty    int
	Agreement    string
	Coin         string
	Runs, Failed int
	Epochs       int
	ABADecisions uint64
	ABARounds    uint64
	Rounds       Rounds // per agreement instance
	Messages     uint64
	Bytes        uint64
	Handled      uint64 // messages honest nodes handled
	NodeEpochs   uint64 // sum over runs of honest nodes × epochs
	CatchUps     int
	Rescues      int
	Rejected     uint64
	Faults       uint64
	// CoinsRevealed counts the threshold coins the adversary learned.
	CoinsRevealed uint64
}

// Summarize groups results by network size, agreement and coin, in the
// order they first appear.
func Summarize(results []Result) []Summary {
	type key struct {
		n, faulty int
		agreement string
		coin      string
	}
	var out []Summary
	index := map[key]int{}
	for _, r := range results {
		k := key{r.Config.N, r.Config.Faulty, r.Config.Agreement, r.Config.Coin}
		i, ok := index[k]
		if !ok {
			i = len(out)
			index[k] = i
			out = append(out, Summary{N: r.Config.N, Faulty: r.Config.Faulty, Agreement: r.Config.Agreement, Coin: r.Config.Coin})
		}
		s := &out[i]
		s.Runs++
		if r.Failed() {
			s.Failed++
		}
		s.Epochs += r.Epochs
		s.ABADecisions += r.ABADecisions
		s.ABARounds += r.ABARounds
		s.Rounds.Merge(r.Rounds)
		s.Messages += r.Messages
		s.Bytes += r.Bytes
		s.Handled += r.Handled
		s.NodeEpochs += uint64(r.Honest * r.Epochs)
		s.CatchUps += r.CatchUps
		s.Rescues += r.Rescues
		s.Rejected += r.Rejected
		s.Faults += r.Faults
		s.CoinsRevealed += r.CoinsRevealed
	}
	return out
}

// MeanABARounds is the mean decision round of the agreements honest nodes
// decided by their own votes.
func (s Summary) MeanABARounds() float64 {
	if s.ABADecisions == 0 {
		return 0
	}
	return float64(s.ABARounds) / float64(s.ABADecisions)
}

// Print writes the summary lines and every failure with the command that
// reproduces it.
func Print(w io.Writer, results []Result) {
	for _, r := range results {
		if r.Failed() {
			fmt.Fprintf(w, "FAIL seed %d (n=%d, faulty=%d, adversary=%s):\n", r.Config.Seed, r.Config.N, r.Config.Faulty, r.Config.Adversary)
			for _, v := range r.Violations {
				fmt.Fprintf(w, "  %s\n", v)
			}
			fmt.Fprintf(w, "  reproduce: %s\n", r.Config.Command())
		}
	}
	for _, s := range Summarize(results) {
		perNodeEpoch := func(v uint64) float64 {
			if s.NodeEpochs == 0 {
				return 0
			}
			return float64(v) / float64(s.NodeEpochs)
		}
		fmt.Fprintf(w, "n=%d faulty=%d %s, %s coin: %d runs, %d violations; epochs decided %d; mean ABA rounds %.4f; per node per epoch: %.0f messages sent, %.0f handled, %.0f bytes; catch-ups %d (of stuck nodes %d); rejected messages %d; faults seen %d\n",
			s.N, s.Faulty, s.Agreement, s.Coin, s.Runs, s.Failed, s.Epochs, s.MeanABARounds(), perNodeEpoch(s.Messages), perNodeEpoch(s.Handled), perNodeEpoch(s.Bytes), s.CatchUps, s.Rescues, s.Rejected, s.Faults)
		fmt.Fprintf(w, "  decision round per agreement instance (the first honest decision): %d instances, mean %.4f, p99 %s, max %d;", s.Rounds.Instances, s.Rounds.Mean(), roundName(s.Rounds.Quantile(0.99)), s.Rounds.Max)
		for i, c := range s.Rounds.Hist {
			if c == 0 {
				continue
			}
			if i == RoundBuckets-1 {
				fmt.Fprintf(w, " %d+: %d", i+1, c)
			} else {
				fmt.Fprintf(w, " %d: %d", i+1, c)
			}
		}
		fmt.Fprintln(w)
		if s.CoinsRevealed > 0 {
			fmt.Fprintf(w, "  threshold coins the adversary learned from shares: %d\n", s.CoinsRevealed)
		}
	}
}

// roundName writes a decision round, the tail bucket as "16+".
func roundName(r uint32) string {
	if r >= RoundBuckets {
		return fmt.Sprintf("%d+", RoundBuckets)
	}
	return fmt.Sprint(r)
}
