package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
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

	"github.com/mass-consensus/mass/internal/genesis"
	"github.com/mass-consensus/mass/internal/home"
	"github.com/mass-consensus/mass/internal/localport"
)

// httpNodes reaches running nodes through their HTTP APIs: submissions
// (POST /v1/txs/batch), node 0's commits (GET /v1/events) and the
// counters (GET /metrics). Both clusters of real daemons use it.
type httpNodes struct {
	apis   []string
	chain  string
	client *http.Client // submissions and scrapes
	events chan commitEvent
	sseEnd context.CancelFunc

	closing  atomic.Bool
	failOnce sync.Once
	failCh   chan struct{}
	failErr  error
}

func newHTTPNodes(chain string, apis []string) *httpNodes {
	return &httpNodes{
		apis: apis, chain: chain, failCh: make(chan struct{}), events: make(chan commitEvent, 1024),
		client: &http.Client{
			Timeout:   60 * time.Second,
			Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64, IdleConnTimeout: time.Minute},
		},
	}
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
	vals := make([]map[string]float64, len(c.apis))
	errs := make([]error, len(c.apis))
	var wg sync.WaitGroup
	for i, a := range c.apis {
		wg.Go(func() { vals[i], errs[i] = c.scrape(a, scraped...) })
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
		for _, a := range c.apis {
			var st struct {
				Peers int `json:"peers"`
			}
			if err := c.getJSON(a, "/v1/status", &st); err == nil && st.Peers >= len(c.apis)-1 {
				ready++
			}
		}
		if ready == len(c.apis) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: only %d of %d nodes were up and connected after %s; node 0's log ends:\n%s", ready, len(c.apis), timeout, tail())
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

func (c *httpNodes) getJSON(addr, path string, v any) error {
	resp, err := c.client.Get("http://" + addr + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("bench: GET %s: %s", path, resp.Status)
	}
	return json.Unmarshal(body, v)
}

// subscribe opens node 0's event stream; it returns once the stream is
// open, so no later commit is missed.
func (c *httpNodes) subscribe() error {
	ctx, cancel := context.WithCancel(context.Background())
	c.sseEnd = cancel
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+c.apis[0]+"/v1/events", nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{}).Do(req) // no timeout: the stream lasts the run
	if err != nil {
		return fmt.Errorf("bench: event stream: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return fmt.Errorf("bench: event stream: %s", resp.Status)
	}
	go func() {
		defer close(c.events)
		defer resp.Body.Close()
		err := readEvents(resp.Body, func(ev commitEvent) {
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

// sseCommit is the data of a commit event of /v1/events.
type sseCommit struct {
	Height  uint64   `json:"height"`
	Txs     []string `json:"txs"`
	Results []struct {
		Code uint32 `json:"code"`
	} `json:"results"`
}

// readEvents parses a server-sent event stream of commits, calling fn for
// each.
func readEvents(r io.Reader, fn func(commitEvent)) error {
	br := bufio.NewReaderSize(r, 1<<20)
	for {
		line, err := br.ReadBytes('\n')
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		data, ok := bytes.CutPrefix(line, []byte("data: "))
		if !ok {
			continue // event names, comments, blank lines
		}
		var sc sseCommit
		if err := json.Unmarshal(data, &sc); err != nil {
			return fmt.Errorf("malformed commit event: %w", err)
		}
		ev := commitEvent{Height: sc.Height, Txs: make([]txHash, 0, len(sc.Txs))}
		for _, s := range sc.Txs {
			var h txHash
			if hex.DecodedLen(len(s)) != len(h) {
				return fmt.Errorf("malformed transaction hash %q", s)
			}
			if _, err := hex.Decode(h[:], []byte(s)); err != nil {
				return fmt.Errorf("malformed transaction hash %q", s)
			}
			ev.Txs = append(ev.Txs, h)
		}
		for _, res := range sc.Results {
			if res.Code != 0 {
				ev.Failed++
			}
		}
		fn(ev)
	}
}

func (c *httpNodes) size() int       { return len(c.apis) }
func (c *httpNodes) chainID() string { return c.chain }

// encodeBatch is the body of POST /v1/txs/batch: count:u32 ‖ (len:u32 ‖
// tx) × count, big-endian.
func encodeBatch(txs [][]byte) []byte {
	n := 4
	for _, t := range txs {
		n += 4 + len(t)
	}
	b := make([]byte, 0, n)
	b = binary.BigEndian.AppendUint32(b, uint32(len(txs)))
	for _, t := range txs {
		b = binary.BigEndian.AppendUint32(b, uint32(len(t)))
		b = append(b, t...)
	}
	return b
}

// batchAnswer is the answer of POST /v1/txs/batch.
type batchAnswer struct {
	Accepted int `json:"accepted"`
	Rejected []struct {
		Index   int    `json:"index"`
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"rejected"`
}

// parseBatchAnswer turns an answer into rejections: a duplicate counts as
// accepted (a retried submission the node took the first time), busy and
// unavailable may be retried.
func parseBatchAnswer(body []byte, count int) ([]rejection, error) {
	var a batchAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, fmt.Errorf("bench: malformed batch answer: %w", err)
	}
	var out []rejection
	for _, r := range a.Rejected {
		if r.Index < 0 || r.Index >= count {
			return nil, fmt.Errorf("bench: batch answer rejects index %d of %d", r.Index, count)
		}
		switch r.Code {
		case "duplicate":
		case "busy", "unavailable":
			out = append(out, rejection{Index: r.Index, Busy: true, Message: r.Message})
		default:
			out = append(out, rejection{Index: r.Index, Message: r.Code + ": " + r.Message})
		}
	}
	return out, nil
}

func (c *httpNodes) submit(ctx context.Context, i int, txs [][]byte) ([]rejection, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+c.apis[i]+"/v1/txs/batch", bytes.NewReader(encodeBatch(txs)))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return parseBatchAnswer(body, len(txs))
	case http.StatusServiceUnavailable, http.StatusTooManyRequests:
		out := make([]rejection, len(txs))
		for k := range out {
			out[k] = rejection{Index: k, Busy: true, Message: resp.Status}
		}
		return out, nil
	}
	return nil, fmt.Errorf("bench: POST /v1/txs/batch to node %d: %s: %s", i, resp.Status, truncate(string(body), 200))
}

func (c *httpNodes) commits() <-chan commitEvent { return c.events }

// scrape reads counters from a node's /metrics.
func (c *httpNodes) scrape(addr string, names ...string) (map[string]float64, error) {
	resp, err := c.client.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("bench: GET /metrics: %s", resp.Status)
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
	for i, a := range c.apis {
		var st struct {
			KeysAt   uint64 `json:"keys_at"`
			KeyParts int    `json:"key_parts"`
		}
		if err := c.getJSON(a, "/v1/status", &st); err != nil {
			return ks, err
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
