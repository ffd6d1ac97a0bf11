package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mass-consensus/mass/internal/bench"
)

// benchFlags registers the flags a run and a sweep share.
func benchFlags(fs *flag.FlagSet, c *bench.Config) {
	fs.IntVar(&c.TxSize, "tx-size", bench.DefaultTxSize, "transaction size in bytes (transfer: padded with a memo, 219 to 475)")
	fs.StringVar(&c.Payload, "payload", bench.PayloadRaw, "raw (random bytes, no-op application), transfer (signed transfers, the organization application) or sale (a fair ticket sale: stamps, requests, the close; mass bench only)")
	fs.StringVar(&c.Transport, "transport", bench.TransportP2P, "p2p (one 'mass start' process per node, libp2p on 127.0.0.1), inproc (the same daemons in this process, for --cpuprofile) or mem (in this process, in-memory transport and stores)")
	fs.DurationVar(&c.Warmup, "warmup", bench.DefaultWarmup, "load before the measurement window")
	fs.DurationVar(&c.Drain, "drain", bench.DefaultDrain, "longest wait after the window for its transactions to commit")
	fs.IntVar(&c.Batch, "batch", bench.DefaultBatch, "transactions per submission (POST /v1/txs/batch)")
	fs.IntVar(&c.Submitters, "submitters", bench.DefaultSubmitters, "concurrent submissions, round-robin across the nodes")
	fs.IntVar(&c.InFlight, "inflight", bench.DefaultInFlight, "most transactions submitted and not yet committed (the closed loop keeps this many)")
	fs.IntVar(&c.Accounts, "accounts", 0, "genesis accounts of the transfer payload (default 1000, raised to keep --inflight within the nonce window)")
	fs.IntVar(&c.BatchSize, "batch-size", 0, "override the genesis batch size (0: the default)")
	fs.StringVar(&c.Agreement, "agreement", "", "binary agreement: quadratic (the default) or bracha")
	fs.BoolVar(&c.Keep, "keep", false, "keep the nodes' homes (p2p: their logs are DIR/nodeI/node.log; inproc: DIR/nodes.log)")
	fs.StringVar(&c.LogLevel, "log-level", "warn", "the nodes' log level (p2p, inproc)")
}

func runBench(args []string) error {
	if len(args) > 0 && args[0] == "sweep" {
		return runBenchSweep(args[1:])
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: mass bench [flags]          one run: start a network on 127.0.0.1, load it, measure\n       mass bench sweep [flags]    a series up to saturation, with charts ('mass bench sweep -h')\n\n")
		fs.PrintDefaults()
	}
	var c bench.Config
	benchFlags(fs, &c)
	fs.IntVar(&c.Nodes, "nodes", bench.DefaultNodes, "number of nodes")
	fs.Float64Var(&c.Rate, "rate", 0, "offered transactions per second, open loop (0: closed loop, as fast as it commits)")
	fs.DurationVar(&c.Duration, "duration", bench.DefaultDuration, "measurement window")
	fs.StringVar(&c.CPUProfile, "cpuprofile", "", "write a CPU profile of the measurement window to this file (--transport inproc or mem; sale: of the requests phase, and of the stamping to FILE-stamps)")
	fs.IntVar(&c.Sale.Buyers, "buyers", 0, "sale: buyers, each stamped at every node and submitting one request, at most 100000 (0: 100000)")
	fs.IntVar(&c.Sale.Supply, "supply", 0, "sale: items sold, one per request, at most --buyers (0: 1000, or --buyers if fewer)")
	fs.IntVar(&c.Sale.StampInFlight, "stamp-inflight", 0, "sale: stamp requests in flight over all nodes (0: 64)")
	fs.DurationVar(&c.Sale.Window, "sale-window", 0, "sale: the sale's window, which the stamping must fit in (0: 5s + 0.5ms per buyer)")
	fs.DurationVar(&c.Sale.MaxAge, "sale-max-age", 0, "sale: the staleness bound, which the stamping, the building and the requests must fit in; also the grace before the close (0: 5s + 1.5ms per buyer, at most 1h)")
	out := fs.String("out", "", "write the results as JSON to this file")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	ctx, stop := untilSignal()
	defer stop()
	rep, err := bench.Run(ctx, c, os.Stderr)
	if err != nil {
		return err
	}
	bench.Summary(os.Stdout, rep)
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		if err := bench.WriteJSON(f, rep); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		fmt.Printf("results written to %s\n", *out)
	}
	return nil
}

func runBenchSweep(args []string) error {
	fs := flag.NewFlagSet("bench sweep", flag.ContinueOnError)
	var c bench.Config
	benchFlags(fs, &c)
	nodes := fs.String("nodes", joinInts(bench.DefaultSweepNodes), "network sizes, comma-separated")
	rates := fs.String("rates", joinFloats(bench.DefaultRates), "offered rates (tx/s), comma-separated, rising; each size stops at saturation")
	fs.DurationVar(&c.Duration, "duration", 10*time.Second, "measurement window of each run")
	dir := fs.String("dir", "bench-results", "directory for results.json, results.csv and the SVG charts")
	rule := bench.DefaultSaturation
	fs.Float64Var(&rule.MinRatio, "min-ratio", rule.MinRatio, "saturated when committed falls below this fraction of offered")
	fs.DurationVar(&rule.MaxP99, "max-p99", rule.MaxP99, "saturated when the p99 latency exceeds this")
	replot := fs.Bool("replot", false, "run nothing: redraw the charts and the CSV from DIR/results.json")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *replot {
		rep, err := bench.ReadSweep(*dir)
		if err != nil {
			return err
		}
		printSweep(os.Stdout, rep)
		return bench.WriteSweep(*dir, rep)
	}
	sc := bench.SweepConfig{Base: c, Rule: rule, Dir: *dir}
	var err error
	if sc.Nodes, err = parseList(*nodes, strconv.Atoi); err != nil {
		return fmt.Errorf("--nodes: %w", err)
	}
	if sc.Rates, err = parseList(*rates, func(s string) (float64, error) { return strconv.ParseFloat(s, 64) }); err != nil {
		return fmt.Errorf("--rates: %w", err)
	}
	ctx, stop := untilSignal()
	defer stop()
	rep, err := bench.Sweep(ctx, sc, os.Stderr)
	if len(rep.Runs) > 0 {
		printSweep(os.Stdout, rep)
		fmt.Printf("results and charts in %s\n", *dir)
	}
	return err
}

func printSweep(w io.Writer, rep bench.SweepReport) {
	fmt.Fprintf(w, "\n%5s %-9s %9s %11s %8s %8s %8s %11s %10s %12s %9s  %s\n", "nodes", "agreement", "offered", "committed", "p50 ms", "p90 ms", "p99 ms", "CPU ms/tx", "bytes/tx", "msgs/node/ep", "peak MiB", "")
	for _, r := range rep.Runs {
		res := r.Result
		fmt.Fprintf(w, "%5d %-9s %9.0f %11.0f %8.1f %8.1f %8.1f %11.3f %10.0f %12.0f %9.0f  %s\n",
			r.Config.Nodes, r.Config.Agreement, r.Config.Rate, res.CommittedTPS, res.Latency.P50, res.Latency.P90, res.Latency.P99,
			res.CPU.Per1000Txs, res.BytesPerTx, res.Consensus.MessagesPerEpoch, float64(res.Memory.MaxPeak())/(1<<20), r.Reason)
	}
}

func parseList[T any](s string, parse func(string) (T, error)) ([]T, error) {
	var out []T
	for _, f := range strings.Split(s, ",") {
		v, err := parse(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", f)
		}
		out = append(out, v)
	}
	return out, nil
}

func joinInts(v []int) string {
	var s []string
	for _, x := range v {
		s = append(s, strconv.Itoa(x))
	}
	return strings.Join(s, ",")
}

func joinFloats(v []float64) string {
	var s []string
	for _, x := range v {
		s = append(s, strconv.FormatFloat(x, 'f', -1, 64))
	}
	return strings.Join(s, ",")
}
