package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mass-consensus/mass/internal/localport"
)

// binary is the mass binary built for the tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mass-e2e")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "mass")
	root, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		panic(err)
	}
	build := exec.Command("go", "build", "-o", binary, "./cmd/mass")
	build.Dir = filepath.Dir(strings.TrimSpace(string(root)))
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		panic(fmt.Sprintf("building mass: %v", err))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type proc struct {
	home string
	api  string
	args []string // extra arguments of mass start
	cmd  *exec.Cmd
	log  *bytes.Buffer
}

type cluster struct {
	t      *testing.T
	dir    string // where mass init wrote the homes (and DIR/keys)
	procs  []*proc
	client *http.Client
}

// freePorts finds count consecutive ports free for TCP and UDP on 127.0.0.1.
func freePorts(t *testing.T, count int) int {
	t.Helper()
	p, err := localport.Free(count, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// newCluster makes n nodes of the key-value test application.
func newCluster(t *testing.T, n int) *cluster { return newClusterOf(t, n, "kv") }

func newClusterOf(t *testing.T, n int, application string) *cluster {
	t.Helper()
	dir := t.TempDir()
	// One range for both, so that no node's API port is another's P2P
	// port (two separate searches could overlap: nothing is bound yet).
	p2p := freePorts(t, 2*n)
	api := p2p + n
	out, err := exec.Command(binary, "init", "--app", application, "--dir", dir, "--nodes", fmt.Sprint(n),
		"--p2p-port", fmt.Sprint(p2p), "--api-port", fmt.Sprint(api), "--chain-id", "e2e").CombinedOutput()
	if err != nil {
		t.Fatalf("mass init: %v\n%s", err, out)
	}
	c := &cluster{t: t, dir: dir, client: &http.Client{Timeout: 10 * time.Second}}
	for i := 0; i < n; i++ {
		c.procs = append(c.procs, &proc{home: filepath.Join(dir, fmt.Sprintf("node%d", i)), api: fmt.Sprintf("127.0.0.1:%d", api+i)})
	}
	t.Cleanup(func() {
		for i, p := range c.procs {
			if p.cmd != nil {
				p.cmd.Process.Kill()
				p.cmd.Wait()
			}
			if t.Failed() {
				t.Logf("node %d log (tail):\n%s", i, tail(p.log.String(), 3000))
			}
		}
	})
	return c
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func (c *cluster) start(i int) {
	c.t.Helper()
	p := c.procs[i]
	if p.log == nil {
		p.log = &bytes.Buffer{}
	}
	p.cmd = exec.Command(binary, append([]string{"start", "--home", p.home, "--log-level", "info"}, p.args...)...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.waitFor(fmt.Sprintf("node %d's API", i), func() bool {
		_, err := c.status(i)
		return err == nil
	})
}

// kill ends a node with SIGKILL.
func (c *cluster) kill(i int) {
	p := c.procs[i]
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
	p.cmd = nil
}

// stop ends a node with SIGTERM and checks it exits cleanly.
func (c *cluster) stop(i int) {
	p := c.procs[i]
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.cmd.Wait(); err != nil {
		c.t.Errorf("node %d did not stop cleanly: %v", i, err)
	}
	p.cmd = nil
}

func (c *cluster) waitFor(what string, cond func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(120 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			var st []string
			for i := range c.procs {
				s, err := c.status(i)
				st = append(st, fmt.Sprintf("node %d: %+v %v", i, s, err))
			}
			c.t.Fatalf("timed out waiting for %s; %s", what, strings.Join(st, "; "))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type status struct {
	Height    uint64 `json:"height"`
	Certified uint64 `json:"certified"`
}

func (c *cluster) getJSON(i int, path string, v any) (int, error) {
	resp, err := c.client.Get("http://" + c.procs[i].api + path)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode == http.StatusOK && v != nil {
		return resp.StatusCode, json.Unmarshal(body, v)
	}
	return resp.StatusCode, nil
}

func (c *cluster) status(i int) (status, error) {
	var st status
	code, err := c.getJSON(i, "/v1/status", &st)
	if err == nil && code != http.StatusOK {
		err = fmt.Errorf("status %d", code)
	}
	return st, err
}

// submit posts a transaction to node i, retrying while the node is busy.
func (c *cluster) submit(i int, tx string) {
	c.t.Helper()
	for attempt := 0; ; attempt++ {
		resp, err := c.client.Post("http://"+c.procs[i].api+"/v1/txs", "text/plain", strings.NewReader(tx))
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch resp.StatusCode {
			case http.StatusAccepted:
				return
			case http.StatusServiceUnavailable:
			default:
				c.t.Fatalf("submitting %q to node %d: %d %s", tx, i, resp.StatusCode, body)
			}
		}
		if attempt > 2000 {
			c.t.Fatalf("submitting %q to node %d: %v", tx, i, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type block struct {
	Height    uint64   `json:"height"`
	Hash      string   `json:"hash"`
	StateRoot string   `json:"state_root"`
	Txs       []string `json:"txs"`
}

// chain reads node i's certified blocks from height from on.
func (c *cluster) blocks(i int, from uint64, into map[uint64]block) uint64 {
	h := from
	for {
		var b block
		code, err := c.getJSON(i, fmt.Sprintf("/v1/blocks/%d", h), &b)
		if err != nil || code != http.StatusOK {
			return h
		}
		into[h] = b
		h++
	}
}

// committedEverywhere waits until every node holds every transaction in its
// certified blocks, then checks that the nodes hold the same blocks.
func (c *cluster) committedEverywhere(nodes []int, txs []string) {
	c.t.Helper()
	want := map[string]bool{}
	for _, tx := range txs {
		want[base64.StdEncoding.EncodeToString([]byte(tx))] = true
	}
	chains := make([]map[uint64]block, len(c.procs))
	next := make([]uint64, len(c.procs))
	have := make([]map[string]int, len(c.procs))
	for _, i := range nodes {
		chains[i], next[i], have[i] = map[uint64]block{}, 1, map[string]int{}
	}
	missing := func() string {
		var out []string
		for _, i := range nodes {
			m := 0
			for tx := range want {
				if have[i][tx] == 0 {
					m++
				}
			}
			out = append(out, fmt.Sprintf("node %d misses %d", i, m))
		}
		return strings.Join(out, ", ")
	}
	defer func() {
		if c.t.Failed() {
			c.t.Log(missing())
		}
	}()
	c.waitFor(fmt.Sprintf("%d transactions certified at nodes %v", len(txs), nodes), func() bool {
		done := true
		for _, i := range nodes {
			from := next[i]
			next[i] = c.blocks(i, from, chains[i])
			for h := from; h < next[i]; h++ {
				for _, tx := range chains[i][h].Txs {
					have[i][tx]++
				}
			}
			for tx := range want {
				if have[i][tx] == 0 {
					done = false
					break
				}
			}
		}
		return done
	})
	for _, i := range nodes {
		// A node that signed two blocks at one height would have its vote
		// for one of them rejected by the others.
		if v := c.metric(i, "mass_votes_rejected_total"); v != "0" {
			c.t.Fatalf("node %d rejected %s votes", i, v)
		}
		for _, n := range have[i] {
			if n > 1 {
				c.t.Fatalf("node %d committed a transaction %d times", i, n)
			}
		}
		for h := uint64(1); h < min(next[i], next[nodes[0]]); h++ {
			a, b := chains[nodes[0]][h], chains[i][h]
			if a.Hash != b.Hash || a.StateRoot != b.StateRoot {
				c.t.Fatalf("nodes %d and %d differ at height %d", nodes[0], i, h)
			}
		}
	}
}

func load(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d=%d", prefix, i, i)
	}
	return out
}

// submitAll posts the transactions round-robin to the given nodes from
// several clients at once.
func (c *cluster) submitAll(nodes []int, txs []string, during func(done int)) {
	c.t.Helper()
	const clients = 8
	type job struct {
		k  int
		tx string
	}
	jobs := make(chan job)
	finished := make(chan int, len(txs))
	errs := make(chan string, 1)
	for w := 0; w < clients; w++ {
		go func() {
			for j := range jobs {
				i := nodes[j.k%len(nodes)]
				ok := false
				for attempt := 0; attempt < 4000 && !ok; attempt++ {
					resp, err := c.client.Post("http://"+c.procs[i].api+"/v1/txs", "text/plain", strings.NewReader(j.tx))
					if err != nil {
						time.Sleep(5 * time.Millisecond)
						i = nodes[(j.k+attempt+1)%len(nodes)] // the node may be down: try another
						continue
					}
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					switch resp.StatusCode {
					case http.StatusAccepted:
						ok = true
					case http.StatusConflict: // already pending or committed (a retry after a crash)
						ok = true
					case http.StatusServiceUnavailable:
						time.Sleep(5 * time.Millisecond)
					default:
						select {
						case errs <- fmt.Sprintf("%q: %d %s", j.tx, resp.StatusCode, body):
						default:
						}
						ok = true
					}
				}
				finished <- j.k
			}
		}()
	}
	go func() {
		for k, tx := range txs {
			jobs <- job{k, tx}
		}
		close(jobs)
	}()
	for n := 1; n <= len(txs); n++ {
		<-finished
		if during != nil {
			during(n)
		}
	}
	select {
	case e := <-errs:
		c.t.Fatalf("a submission failed: %s", e)
	default:
	}
}

// metric reads one unlabelled metric of node i.
func (c *cluster) metric(i int, name string) string {
	c.t.Helper()
	resp, err := c.client.Get("http://" + c.procs[i].api + "/metrics")
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	c.t.Fatalf("node %d has no metric %s", i, name)
	return ""
}
