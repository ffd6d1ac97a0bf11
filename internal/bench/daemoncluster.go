package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/mass-consensus/mass/internal/daemon"
	"github.com/mass-consensus/mass/internal/home"
)

// daemonCluster runs the same daemons as `mass start` (Pebble, libp2p,
// the HTTP API) in this process, so that a CPU profile sees them.
type daemonCluster struct {
	*httpNodes
	dir     string
	keep    bool
	daemons []*daemon.Daemon
	logFile *os.File
	exclude func() time.Duration
	closed  bool
}

var _ cluster = (*daemonCluster)(nil)

func newDaemonCluster(ctx context.Context, o netOptions, exclude func() time.Duration) (_ *daemonCluster, err error) {
	dir, homes, apis, err := writeHomes(o)
	if err != nil {
		return nil, err
	}
	c := &daemonCluster{httpNodes: newHTTPNodes(chainID, apis), dir: dir, keep: o.Keep, exclude: exclude}
	defer func() {
		if err != nil {
			c.close()
		}
	}()
	if c.logFile, err = os.Create(filepath.Join(dir, "nodes.log")); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	var level slog.Level
	_ = level.UnmarshalText([]byte(o.LogLevel))
	for i, hd := range homes {
		h, err := home.Load(hd)
		if err != nil {
			return nil, err
		}
		logger := slog.New(slog.NewTextHandler(c.logFile, &slog.HandlerOptions{Level: level})).With("node", i)
		d, err := daemon.StartWith(h, logger, daemon.Options{StampRate: o.StampRate, StampBurst: o.StampBurst})
		if err != nil {
			return nil, fmt.Errorf("bench: node %d: %w", i, err)
		}
		c.daemons = append(c.daemons, d)
		go func() {
			<-d.Done()
			if !c.closing.Load() {
				c.fail(fmt.Errorf("%w: node %d stopped: %v", errClusterFailed, i, d.Err()))
			}
		}()
	}
	tail := func() string { return logTail(c.logFile.Name()) }
	if err := c.waitConnected(ctx, o.Ready, tail); err != nil {
		return nil, err
	}
	if err := c.subscribe(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *daemonCluster) sample() (sample, error) {
	var s sample
	if err := c.counters(&s); err != nil {
		return s, err
	}
	cpu, err := selfCPU()
	if err != nil {
		return s, err
	}
	s.CPU = cpu - c.exclude()
	return s, nil
}

func (c *daemonCluster) cpuScope() string {
	return "this process (all nodes, their HTTP APIs and the bench's HTTP client) minus the load generator's threads"
}

func (c *daemonCluster) memory() Memory {
	m := Memory{Scope: "this process: all nodes and the load generator"}
	m.Process, _ = peakRSS("self")
	return m
}

// close stops the daemons and removes their homes unless kept.
func (c *daemonCluster) close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	c.stop()
	var errs []error
	for i, d := range c.daemons {
		if err := d.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("bench: node %d: %w", i, err))
		}
	}
	if c.logFile != nil {
		c.logFile.Close()
	}
	errs = append(errs, removeHomes(c.dir, c.keep))
	return errors.Join(errs...)
}
