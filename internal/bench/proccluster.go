package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// procCluster runs each node as a `mass start` process over libp2p, with
// its home in a temporary directory.
type procCluster struct {
	*httpNodes
	dir    string
	keep   bool
	cmds   []*exec.Cmd
	exited []chan struct{}
	logs   []string
	closed bool
}

var _ cluster = (*procCluster)(nil)

func newProcCluster(ctx context.Context, o netOptions) (_ *procCluster, err error) {
	dir, homes, apis, err := writeHomes(o)
	if err != nil {
		return nil, err
	}
	c := &procCluster{httpNodes: newHTTPNodes(chainID, apis), dir: dir, keep: o.Keep}
	defer func() {
		if err != nil {
			c.close()
		}
	}()
	for i, h := range homes {
		c.logs = append(c.logs, filepath.Join(h, "node.log"))
		logf, err := os.Create(c.logs[i])
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		args := []string{"start", "--home", h, "--log-level", o.LogLevel}
		if o.StampRate > 0 || o.StampBurst > 0 {
			args = append(args, "--stamp-rate", strconv.FormatFloat(o.StampRate, 'f', -1, 64), "--stamp-burst", strconv.Itoa(o.StampBurst))
		}
		cmd := exec.Command(o.Executable, args...)
		cmd.Stdout, cmd.Stderr = logf, logf
		detach(cmd)
		err = cmd.Start()
		logf.Close() // the child has its own descriptor
		if err != nil {
			return nil, fmt.Errorf("bench: starting node %d: %w", i, err)
		}
		c.cmds = append(c.cmds, cmd)
		done := make(chan struct{})
		c.exited = append(c.exited, done)
		go func() {
			err := cmd.Wait()
			close(done)
			if !c.closing.Load() {
				c.fail(fmt.Errorf("%w: node %d exited (%v); its log ends:\n%s", errClusterFailed, i, err, logTail(c.logs[i])))
			}
		}()
	}
	if err := c.waitConnected(ctx, o.Ready, func() string { return logTail(c.logs[0]) }); err != nil {
		return nil, err
	}
	if err := c.subscribe(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *procCluster) sample() (sample, error) {
	var s sample
	if err := c.counters(&s); err != nil {
		return s, err
	}
	for _, cmd := range c.cmds {
		d, err := procCPU(fmt.Sprintf("/proc/%d/stat", cmd.Process.Pid))
		if err != nil {
			return s, err
		}
		s.PerNode = append(s.PerNode, d)
		s.CPU += d
	}
	return s, nil
}

func (c *procCluster) cpuScope() string { return "the node processes (utime+stime)" }

func (c *procCluster) memory() Memory {
	m := Memory{Scope: "each node process (VmHWM)"}
	for _, cmd := range c.cmds {
		v, _ := peakRSS(strconv.Itoa(cmd.Process.Pid))
		m.PerNode = append(m.PerNode, v)
	}
	return m
}

// close stops the nodes with SIGTERM, waits for them (SIGKILL after 20
// s), and removes their homes unless kept.
func (c *procCluster) close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	c.stop()
	for _, cmd := range c.cmds {
		_ = cmd.Process.Signal(syscall.SIGTERM)
	}
	var errs []error
	for i, cmd := range c.cmds {
		select {
		case <-c.exited[i]:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-c.exited[i]
			errs = append(errs, fmt.Errorf("bench: node %d did not stop within 20 s of SIGTERM; killed", i))
		}
		if st := cmd.ProcessState; st != nil && !st.Success() && st.ExitCode() != -1 {
			errs = append(errs, fmt.Errorf("bench: node %d exited with %s; its log ends:\n%s", i, st, logTail(c.logs[i])))
		}
	}
	errs = append(errs, removeHomes(c.dir, c.keep))
	return errors.Join(errs...)
}

// removeHomes removes the nodes' homes, or says where they are kept.
func removeHomes(dir string, keep bool) error {
	if keep {
		fmt.Fprintf(os.Stderr, "bench: the nodes' homes are kept in %s\n", dir)
		return nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	return nil
}
