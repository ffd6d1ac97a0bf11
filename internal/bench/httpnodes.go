package bench

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mass-consensus/mass/internal/apijson"
	"github.com/mass-consensus/mass/internal/client"
	"github.com/mass-consensus/mass/internal/genesis"
	"github.com/mass-consensus/mass/internal/home"
	"github.com/mass-consensus/mass/internal/localport"
)

// httpNodes reaches running nodes through their HTTP APIs, with the API
// client: submissions (POST /v1/txs/batch), node 0's commits (GET
// /v1/events) and the counters (GET /metrics). Both clusters of real
// daemons use it.
type httpNodes struct {
	nodes  []*client.Client // sharing one transport
	stream *client.Client   // node 0's event stream, on a transport of its own
	chain  string
	apis   []string // host:port of each node's API
	events chan commitEvent
	sseEnd context.CancelFunc

	closing  atomic.Bool
	failOnce sync.Once
	failCh   chan struct{}
	failErr  error
}

// newHTTPNodes reaches the nodes at apis (host:port, as writeHomes makes
// them: an address the client refuses is a bug).
func newHTTPNodes(chain string, apis []string) *httpNodes {
	hc := &http.Client{
		Timeout:   60 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64, IdleConnTimeout: time.Minute},
	}
	c := &httpNodes{chain: chain, apis: apis, failCh: make(chan struct{}), events: make(chan commitEvent, 1024)}
	for _, a := range apis {
		c.nodes = append(c.nodes, nodeClient(a, client.WithHTTP(hc), client.WithTimeout(hc.Timeout)))
	}
	// The stream holds a connection for the whole run: not one the
	// submissions to node 0 could use.
	c.stream = nodeClient(apis[0], client.WithHTTP(&http.Client{}))
	return c
}

func nodeClient(addr string, opts ...client.Option) *client.Client {
	c, err := client.New(addr, opts...)
	if err != nil {
		panic(fmt.Sprintf("bench: a node address of our own making: %v", err))
	}
	return c
}

func (c *httpNodes) fail(err error) {
	c.failOnce.Do(func() {
		c.failErr = err
		close(c.failCh)
	})
}

func (c *httpNodes) failed() <-chan struct{} { return c.failCh }
func (c *httpNodes) failure() error          { return c.failErr }

// stop ends the event stream; failures are no longer reported.
func (c *httpNodes) stop() {
	c.closing.Store(true)
	if c.sseEnd != nil {
		c.sseEnd()
	}
}

// counters reads into s node 0's committed transactions, the sum of the
// nodes' bytes sent and each node's consensus progress.
func (c *httpNodes) counters(s *sample) error {
	vals := make([]map[string]float64, len(c.nodes))
	errs := make([]error, len(c.nodes))
	var wg sync.WaitGroup
	for i, n := range c.nodes {
		wg.Go(func() { vals[i], errs[i] = scrape(n, scraped...) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	s.Committed = uint64(vals[0][metricCommitted])
	for _, v := range vals {
		s.BytesSent += uint64(v[metricBytesSent])
		s.Progress = append(s.Progress, progress{Messages: uint64(v[metricMessages]), Epoch: uint64(v[metricEpoch])})
	}
	return nil
}

// netOptions describe a network of real daemons on 127.0.0.1.
type netOptions struct {
	Nodes     int
	App       string
	AppState  []byte // the genesis "app" section, if set
	BatchSize int
	Agreement string
	LogLevel  string
	Keep      bool
	// Ready bounds the wait for the nodes to start and connect.
	Ready time.Duration
	// Executable is the mass binary (processes only).
	Executable string
	// StampRate and StampBurst, if set, are the stamping route's bucket
	// per remote address (mass start --stamp-rate, --stamp-burst).
	StampRate  float64
	StampBurst int
}

// writeHomes writes the nodes' homes in a new temporary directory, on
// free ports, with the genesis patched to the options.
func writeHomes(o netOptions) (dir string, homes, apis []string, err error) {
	if dir, err = os.MkdirTemp("", "mass-bench-"); err != nil {
		return "", nil, nil, fmt.Errorf("bench: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	p2pPort, err := localport.Free(o.Nodes, nil)
	if err != nil {
		return dir, nil, nil, err
	}
	apiPort, err := localport.Free(o.Nodes, func(p int) bool { return p >= p2pPort && p < p2pPort+o.Nodes })
	if err != nil {
		return dir, nil, nil, err
	}
	homes, err = home.Init(dir, home.InitOptions{Nodes: o.Nodes, ChainID: chainID, Host: "127.0.0.1", P2PPort: p2pPort, APIPort: apiPort, App: o.App, Agreement: o.Agreement})
	if err != nil {
		return dir, nil, nil, err
	}
	if o.AppState != nil || o.BatchSize > 0 {
		g, err := genesis.Load(filepath.Join(homes[0], "genesis.json"))
		if err != nil {
			return dir, nil, nil, err
		}
		if o.AppState != nil {
			g.App = o.AppState
		}
		if o.BatchSize > 0 {
			g.BatchSize = o.BatchSize
		}
		for _, h := range homes {
			if err := g.Write(filepath.Join(h, "genesis.json")); err != nil {
				return dir, nil, nil, err
			}
		}
	}
	for i := range homes {
		apis = append(apis, fmt.Sprintf("127.0.0.1:%d", apiPort+i))
	}
	return dir, homes, apis, nil
}

// logTail is the end of a log file.
func logTail(path string) string {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	const keep = 2000
	if len(raw) > keep {
		raw = raw[len(raw)-keep:]
	}
	return string(raw)
}

// waitConnected waits until every node answers and is connected to all
// the others.
func (c *httpNodes) waitConnected(ctx context.Context, timeout time.Duration, tail func() string) error {
	deadline := time.Now().Add(timeout)
	for {
		ready := 0
		for _, n := range c.nodes {
			if st, err := n.Status(ctx); err == nil && st.Peers >= len(c.nodes)-1 {
				ready++
			}
		}
		if ready == len(c.nodes) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: only %d of %d nodes were up and connected after %s; node 0's log ends:\n%s", ready, len(c.nodes), timeout, tail())
		}
		select {
		case <-c.failCh:
			return c.failErr
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// subscribe opens node 0's event stream; it returns once the stream is
// open, so no later commit is missed.
func (c *httpNodes) subscribe() error {
	ctx, cancel := context.WithCancel(context.Background())
	c.sseEnd = cancel
	stream, err := c.stream.Events(ctx)
	if err != nil {
		return fmt.Errorf("bench: event stream: %w", err)
	}
	go func() {
		defer close(c.events)
		defer stream.Close()
		err := readEvents(stream, func(ev commitEvent) {
			select {
			case c.events <- ev:
			case <-ctx.Done():
			}
		})
		if err != nil && ctx.Err() == nil && !c.closing.Load() {
			c.fail(fmt.Errorf("%w: node 0's event stream: %w", errClusterFailed, err))
		}
	}()
	return nil
}

// readEvents reads commits from a stream until it ends, calling fn for
// each.
func readEvents(stream *client.Events, fn func(commitEvent)) error {
	for {
		ce, err := stream.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		ev, err := commitOf(ce)
		if err != nil {
			return err
		}
		fn(ev)
	}
}

// commitOf is a commit as the load tracks it: the transactions' hashes
// and how many failed.
func commitOf(ce *apijson.CommitEvent) (commitEvent, error) {
	ev := commitEvent{Height: ce.Height, Txs: make([]txHash, len(ce.Txs)), Time: ce.TimeMs, Apply: time.Duration(ce.ApplyMs * float64(time.Millisecond))}
	for i, s := range ce.Txs {
		if hex.DecodedLen(len(s)) != len(txHash{}) {
			return ev, fmt.Errorf("bench: malformed transaction hash %q", s)
		}
		if _, err := hex.Decode(ev.Txs[i][:], []byte(s)); err != nil {
			return ev, fmt.Errorf("bench: malformed transaction hash %q", s)
		}
	}
	for i, res := range ce.Results {
		if res.Code != 0 {
			ev.Failed++
			ev.Failures = append(ev.Failures, txFailure{Index: i, Code: res.Code, Log: res.Log})
		}
	}
	return ev, nil
}

func (c *httpNodes) size() int { return len(c.nodes) }

// apiAddr is node i's API address, host:port.
func (c *httpNodes) apiAddr(i int) string { return c.apis[i] }
func (c *httpNodes) chainID() string      { return c.chain }

// rejectionsOf turns a batch's answer into rejections: a duplicate counts
// as accepted (a retried submission the node took the first time), busy and
// unavailable may be retried.
func rejectionsOf(a *apijson.BatchResult) []rejection {
	var out []rejection
	for _, r := range a.Rejected {
		switch r.Code {
		case apijson.CodeDuplicate:
		case apijson.CodeBusy, apijson.CodeUnavailable:
			out = append(out, rejection{Index: r.Index, Busy: true, Message: r.Message})
		default:
			out = append(out, rejection{Index: r.Index, Message: r.Code + ": " + r.Message})
		}
	}
	return out
}

// allBusy says whether a refused batch may be submitted again as a whole:
// the node had no room for any of it.
func allBusy(err error) bool {
	e, ok := errors.AsType[*client.Error](err)
	return ok && (e.Status == http.StatusServiceUnavailable || e.Status == http.StatusTooManyRequests)
}

func (c *httpNodes) submit(ctx context.Context, i int, txs [][]byte) ([]rejection, error) {
	res, err := c.nodes[i].SubmitBatch(ctx, txs)
	switch {
	case err == nil:
		return rejectionsOf(res), nil
	case allBusy(err):
		out := make([]rejection, len(txs))
		for k := range out {
			out[k] = rejection{Index: k, Busy: true, Message: err.Error()}
		}
		return out, nil
	}
	return nil, fmt.Errorf("bench: submitting to node %d: %w", i, err)
}

func (c *httpNodes) commits() <-chan commitEvent { return c.events }

// scrape reads counters from a node's /metrics.
func scrape(n *client.Client, names ...string) (map[string]float64, error) {
	body, err := n.Metrics(context.Background())
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	return parseMetrics(body, names...)
}

// parseMetrics reads unlabelled samples of the Prometheus text format.
func parseMetrics(text []byte, names ...string) (map[string]float64, error) {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string]float64{}
	for line := range strings.SplitSeq(string(text), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		name, value, ok := strings.Cut(line, " ")
		if !ok || !want[name] {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			return nil, fmt.Errorf("bench: metric %s: %q", name, value)
		}
		out[name] = v
	}
	for _, n := range names {
		if _, ok := out[n]; !ok {
			return nil, fmt.Errorf("bench: no metric %s", n)
		}
	}
	return out, nil
}

const (
	metricCommitted = "mass_committed_txs_total"
	metricBytesSent = "mass_transport_bytes_sent_total"
	metricMessages  = "mass_consensus_messages_total"
	metricEpoch     = "mass_epoch"
)

// scraped are the metrics a sample reads from every node.
var scraped = []string{metricCommitted, metricBytesSent, metricMessages, metricEpoch}

func (c *httpNodes) keys() (keyState, error) {
	var ks keyState
	for i, n := range c.nodes {
		st, err := n.Status(context.Background())
		if err != nil {
			return ks, fmt.Errorf("bench: %w", err)
		}
		if st.KeysAt > 0 {
			ks.Ready++
		}
		if i == 0 {
			ks.Block, ks.Parts = st.KeysAt, st.KeyParts
		}
	}
	return ks, nil
}
