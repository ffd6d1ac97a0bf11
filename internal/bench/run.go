package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"time"

	"github.com/mass-consensus/mass/internal/crypto/dkg"
	"github.com/mass-consensus/mass/internal/genesis"
	"github.com/mass-consensus/mass/internal/ledger"
)

// chainID is the chain of every benchmark network.
const chainID = "mass-bench"

// expireAfter is how long a transaction may stay uncommitted before the
// bench assumes its commit was missed.
const expireAfter = 60 * time.Second

// Run starts a network, drives the load, measures, stops the network and
// returns the report. It writes a progress line a second to progress.
// Cancelling ctx stops everything cleanly and returns ctx's error.
func Run(ctx context.Context, cfg Config, progress io.Writer) (rep Report, err error) {
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return rep, err
	}
	if cfg.Payload == PayloadSale {
		return runSale(ctx, cfg, progress)
	}
	rep = Report{Config: cfg, Machine: ThisMachine(), Started: time.Now().UTC()}
	var pl payload
	var appState []byte
	app := genesis.AppRaw
	switch cfg.Payload {
	case PayloadRaw:
		pl = rawPayload{size: cfg.TxSize}
	case PayloadTransfer:
		tp := newTransferPayload(chainID, cfg.Accounts, cfg.TxSize)
		if appState, err = tp.genesis(); err != nil {
			return rep, err
		}
		pl, app = tp, genesis.AppOrg
	}

	var th *threads
	var cl cluster
	launched := time.Now()
	fmt.Fprintf(progress, "bench: starting %d nodes (%s transport, %s payload)\n", cfg.Nodes, cfg.Transport, cfg.Payload)
	switch cfg.Transport {
	case TransportMem:
		th = &threads{}
		g := &genesis.Genesis{ChainID: chainID, Time: time.Now().UnixMilli(), Application: app, App: appState, BatchSize: cfg.BatchSize, Agreement: cfg.Agreement}
		g.Nodes = make([]genesis.Node, cfg.Nodes)
		cl, err = newMemCluster(g, th.cpu)
	case TransportInproc:
		th = &threads{}
		cl, err = launch(ctx, cfg, netOpts(cfg, app, appState), th)
	case TransportP2P:
		cl, err = launch(ctx, cfg, netOpts(cfg, app, appState), nil)
	}
	if err != nil {
		return rep, err
	}
	var l *load
	defer func() {
		cerr := cl.close()
		if l != nil {
			l.follow.Wait() // the commit stream ends with the cluster
		}
		if cerr != nil {
			if err == nil {
				fmt.Fprintf(progress, "bench: warning: %v\n", cerr)
			} else {
				err = errors.Join(err, cerr)
			}
		}
	}()

	abort, cancelAbort := context.WithCancel(context.Background())
	defer cancelAbort()
	start := time.Now()
	l = newLoad(cfg, cl, pl, th, start)
	l.run(abort)
	stopped := false
	defer func() {
		if !stopped {
			cancelAbort()
			l.stop()
		}
	}()

	var keys Keys
	var keysChecked time.Time
	watchKeys := func(now time.Time) {
		if keys.ReadyAfter > 0 || now.Sub(keysChecked) < 100*time.Millisecond {
			return
		}
		keysChecked = now
		ks, err := cl.keys()
		if err != nil || ks.Ready < cl.size() {
			return
		}
		keys.ReadyAfter, keys.Block, keys.Parts = now.Sub(launched).Seconds(), ks.Block, ks.Parts
		fmt.Fprintf(progress, "bench: threshold keys at every node after %.1fs (block %d, %d parts)\n", keys.ReadyAfter, ks.Block, ks.Parts)
	}

	// wait sleeps d, reporting progress, unless the run must end.
	phase := "warm-up"
	lastCommitted, lastAt := uint64(0), time.Now()
	wait := func(d time.Duration, until func() bool) error {
		end := time.Now().Add(d)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		poll := time.NewTicker(20 * time.Millisecond)
		defer poll.Stop()
		for time.Now().Before(end) {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-cl.failed():
				return cl.failure()
			case now := <-poll.C:
				watchKeys(now)
				if err := l.failure(); err != nil {
					return err
				}
				if until != nil && until() {
					return nil
				}
			case now := <-tick.C:
				watchKeys(now)
				l.tracker.expire(expireAfter)
				c := l.tracker.committed.Load()
				rate := float64(c-lastCommitted) / now.Sub(lastAt).Seconds()
				lastCommitted, lastAt = c, now
				fmt.Fprintf(progress, "bench: %5.0fs  %-9s  committed %9d  %7.0f tx/s  in flight %6d\n",
					now.Sub(start).Seconds(), phase, c, rate, l.slots.inUse())
			}
		}
		return nil
	}

	if err := wait(cfg.Warmup, nil); err != nil {
		return rep, err
	}

	// The window: counters before the nodes' sample at its start, after
	// it at its end, so that committed ≤ offered + in flight at start.
	phase = "measuring"
	inFlight0 := uint64(l.slots.inUse())
	offered0, submitted0, shed0 := l.offered.Load(), l.submitted.Load(), l.shed.Load()
	l.tracker.startWindow()
	gen0, self0 := th.cpu(), mustCPU()
	t0 := time.Now()
	s0, err := cl.sample()
	if err != nil {
		return rep, err
	}
	var profile *os.File
	if cfg.CPUProfile != "" {
		if profile, err = os.Create(cfg.CPUProfile); err != nil {
			return rep, fmt.Errorf("bench: %w", err)
		}
		if err := pprof.StartCPUProfile(profile); err != nil {
			profile.Close()
			return rep, fmt.Errorf("bench: %w", err)
		}
	}
	werr := wait(cfg.Duration, nil)
	if profile != nil {
		pprof.StopCPUProfile()
		profile.Close()
	}
	if werr != nil {
		return rep, werr
	}
	s1, err := cl.sample()
	if err != nil {
		return rep, err
	}
	t1 := time.Now()
	gen1, self1 := th.cpu(), mustCPU()
	l.tracker.endWindow()
	offered1, submitted1, shed1 := l.offered.Load(), l.submitted.Load(), l.shed.Load()

	phase = "draining"
	l.stop()
	stopped = true
	if err := l.failure(); err != nil {
		return rep, err
	}
	if err := wait(cfg.Drain, func() bool { return l.tracker.windowLeft() == 0 }); err != nil {
		return rep, err
	}
	mem := cl.memory()

	res := &rep.Result
	watchKeys(time.Now())
	res.Keys = keys
	n, f := cfg.Nodes, (cfg.Nodes-1)/3
	res.Keys.Bytes = n*(dkg.PartSize(n, f)+ledger.KeyTxOverhead) + n*n*(dkg.AckSize(n)+ledger.KeyTxOverhead)
	res.Window = t1.Sub(t0).Seconds()
	res.OfferedTxs, res.SubmittedTxs, res.Shed = offered1-offered0, submitted1-submitted0, shed1-shed0
	res.OfferedTPS = float64(res.OfferedTxs) / res.Window
	res.InFlightAtStart = inFlight0
	res.Rejected, res.RejectMessages = l.rejected.Load(), l.rejectMessages()
	res.CommittedTxs = s1.Committed - s0.Committed
	res.CommittedTPS = float64(res.CommittedTxs) / res.Window
	res.FailedInBlock = l.tracker.failed.Load()
	if n := l.txCount.Load(); n > 0 {
		res.MeanTxBytes = float64(l.txBytes.Load()) / float64(n)
	}
	lat, unfinished := l.tracker.result()
	res.Latency = summarize(lat, unfinished)
	res.CPU = CPU{Scope: cl.cpuScope(), Seconds: (s1.CPU - s0.CPU).Seconds()}
	for i := range s1.PerNode {
		res.CPU.PerNode = append(res.CPU.PerNode, (s1.PerNode[i] - s0.PerNode[i]).Seconds())
	}
	res.CPU.Utilization = res.CPU.Seconds / res.Window
	if th != nil {
		res.CPU.LoadGenerator = (gen1 - gen0).Seconds()
	} else {
		res.CPU.LoadGenerator = (self1 - self0).Seconds()
	}
	res.BytesSent = s1.BytesSent - s0.BytesSent
	if res.CommittedTxs > 0 {
		res.CPU.Per1000Txs = res.CPU.Seconds / float64(res.CommittedTxs) * 1000
		res.BytesPerTx = float64(res.BytesSent) / float64(res.CommittedTxs)
	}
	res.Consensus = consensusWork(s0.Progress, s1.Progress)
	res.Memory = mem
	res.MissedEvents = l.missed.Load()
	return rep, nil
}

func netOpts(cfg Config, app string, appState []byte) netOptions {
	return netOptions{
		Nodes: cfg.Nodes, App: app, AppState: appState, BatchSize: cfg.BatchSize, Agreement: cfg.Agreement,
		Executable: cfg.Executable, LogLevel: cfg.LogLevel, Keep: cfg.Keep,
		Ready: 60*time.Second + time.Duration(cfg.Nodes)*2*time.Second,
	}
}

func mustCPU() time.Duration {
	d, _ := selfCPU()
	return d
}
