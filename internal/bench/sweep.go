package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// SweepConfig is a series of runs: for each size, rising offered rates
// until the network saturates.
type SweepConfig struct {
	// Base is every run's configuration; Nodes and Rate are set per run.
	Base  Config
	Nodes []int
	Rates []float64
	// Rule decides saturation (DefaultSaturation if zero).
	Rule Saturation
	// Dir receives results.json, results.csv and the charts, rewritten
	// after every run.
	Dir string
}

// DefaultRates are the offered rates of a sweep, tx/s.
var DefaultRates = []float64{500, 1000, 2000, 5000, 10000, 20000, 40000, 80000}

// DefaultSweepNodes are the sizes of a sweep.
var DefaultSweepNodes = []int{4, 7, 10, 16}

// Output files of a sweep.
const (
	SweepJSON    = "results.json"
	SweepCSV     = "results.csv"
	ChartLatency = "latency-throughput.svg"
	ChartCost    = "cost-per-tx.svg"
	// ChartMessages is the consensus messages per node per epoch.
	ChartMessages = "messages-per-epoch.svg"
)

// Sweep runs the series and writes its files; it returns the report so
// far, also on error.
func Sweep(ctx context.Context, sc SweepConfig, progress io.Writer) (SweepReport, error) {
	rep := SweepReport{Machine: ThisMachine()}
	if sc.Rule == (Saturation{}) {
		sc.Rule = DefaultSaturation
	}
	if sc.Base.Payload == PayloadSale {
		return rep, fmt.Errorf("%w: a sweep varies the offered rate, the sale payload has none: run mass bench --payload sale", ErrConfig)
	}
	if len(sc.Nodes) == 0 || len(sc.Rates) == 0 {
		return rep, fmt.Errorf("%w: a sweep needs sizes and rates", ErrConfig)
	}
	for _, r := range sc.Rates {
		if r <= 0 {
			return rep, fmt.Errorf("%w: a sweep's rates must be positive (open loop)", ErrConfig)
		}
	}
	if err := os.MkdirAll(sc.Dir, 0o755); err != nil {
		return rep, fmt.Errorf("bench: %w", err)
	}
	for _, n := range sc.Nodes {
		for _, rate := range sc.Rates {
			cfg := sc.Base
			cfg.Nodes, cfg.Rate = n, rate
			fmt.Fprintf(progress, "\nsweep: %d nodes at %.0f tx/s offered\n", n, rate)
			r, err := Run(ctx, cfg, progress)
			if err != nil {
				return rep, fmt.Errorf("bench: %d nodes at %.0f tx/s: %w", n, rate, err)
			}
			r.Saturated, r.Reason = sc.Rule.Saturated(rate, r.Result)
			rep.Runs = append(rep.Runs, r)
			Summary(progress, r)
			if err := WriteSweep(sc.Dir, rep); err != nil {
				return rep, err
			}
			if r.Saturated {
				fmt.Fprintf(progress, "sweep: %d nodes saturated at %.0f tx/s offered: %s\n", n, rate, r.Reason)
				break
			}
		}
	}
	return rep, nil
}

// ReadSweep reads a sweep's results.json from dir.
func ReadSweep(dir string) (SweepReport, error) {
	var rep SweepReport
	raw, err := os.ReadFile(filepath.Join(dir, SweepJSON))
	if err != nil {
		return rep, fmt.Errorf("bench: %w", err)
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		return rep, fmt.Errorf("bench: %s: %w", filepath.Join(dir, SweepJSON), err)
	}
	return rep, nil
}

// WriteSweep writes a sweep's results and charts into dir.
func WriteSweep(dir string, rep SweepReport) error {
	if err := writeFile(filepath.Join(dir, SweepJSON), func(w io.Writer) error { return WriteJSON(w, rep) }); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, SweepCSV), func(w io.Writer) error { return WriteCSV(w, rep.Runs) }); err != nil {
		return err
	}
	title := chartTitle(rep)
	if err := writeFile(filepath.Join(dir, ChartLatency), func(w io.Writer) error {
		return LatencyChart(w, rep.Runs, title)
	}); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, ChartCost), func(w io.Writer) error {
		return CostChart(w, BestRuns(rep.Runs), title)
	}); err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, ChartMessages), func(w io.Writer) error {
		return MessagesChart(w, rep.Runs, title)
	})
}

func chartTitle(rep SweepReport) string {
	if len(rep.Runs) == 0 {
		return ""
	}
	c := rep.Runs[0].Config
	return fmt.Sprintf("%s payload, %d-byte txs, %s transport, %s, %d CPUs, %s",
		c.Payload, c.TxSize, c.Transport, rep.Machine.CPUModel, rep.Machine.NumCPU, rep.Runs[0].Started.Format(time.DateOnly))
}

// BestRuns returns, for each size in order of appearance, its run at the
// highest offered rate that did not saturate (or its first run, if all
// did).
func BestRuns(runs []Report) []Report {
	var order []int
	best := map[int]Report{}
	for _, r := range runs {
		n := r.Config.Nodes
		b, seen := best[n]
		if !seen {
			order = append(order, n)
			best[n] = r
			continue
		}
		if !r.Saturated && (b.Saturated || r.Config.Rate > b.Config.Rate) {
			best[n] = r
		}
	}
	out := make([]Report, 0, len(order))
	for _, n := range order {
		out = append(out, best[n])
	}
	return out
}
