package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The schedule of TestKillRandomNodeRepeatedly.
const (
	kills      = 20
	pauseEvery = 6                       // a SIGSTOP pause after every sixth kill
	maxDown    = 1500 * time.Millisecond // a killed node stays down 0 to maxDown
	minPause   = 2 * time.Second         // a paused node stays stopped minPause to maxPause
	maxPause   = 5 * time.Second
	settleTime = 60 * time.Second
)

// seedVar overrides the seed of the random schedules.
const seedVar = "MASS_E2E_SEED"

// TestKillRandomNodeRepeatedly keeps four nodes under steady load while,
// twenty times, a random node is killed with SIGKILL, left down for up to
// 1.5 s, restarted and given time to catch up; every sixth time a node is
// also paused with SIGSTOP for 2 to 5 s. Once the load stops the nodes must
// settle on one height, certified up to the height applied, serve the same
// certified blocks, and hold every accepted transaction exactly once.
func TestKillRandomNodeRepeatedly(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts nodes for one to two minutes")
	}
	rng := rand.New(rand.NewPCG(seed(t), 0))
	c := newCluster(t, 4)
	for i := range c.procs {
		c.start(i)
	}
	tr := startTraffic(c, 4)
	t.Cleanup(func() { tr.stop() })
	for k := 1; k <= kills; k++ {
		i := rng.IntN(len(c.procs))
		c.killFor(tr, i, time.Duration(rng.Int64N(int64(maxDown))))
		c.catchUp(i, fmt.Sprintf("kill %d", k))
		if k%pauseEvery == 0 {
			i := rng.IntN(len(c.procs))
			c.pause(tr, i, minPause+time.Duration(rng.Int64N(int64(maxPause-minPause))))
			c.catchUp(i, fmt.Sprintf("the pause after kill %d", k))
		}
	}
	accepted, errs := tr.stop()
	for _, e := range errs {
		t.Errorf("a submission failed: %s", e)
	}
	t.Logf("%d transactions accepted", len(accepted))
	height := c.settle(settleTime)
	chains := c.chains()
	ref := c.sameBlocks(chains, height)
	c.eachOnce(chains[ref], accepted)
	c.certifiedAll()
}

// seed returns the seed of the schedule, from $MASS_E2E_SEED if set.
func seed(t *testing.T) uint64 {
	t.Helper()
	s := uint64(time.Now().UnixNano())
	if v := os.Getenv(seedVar); v != "" {
		var err error
		if s, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("%s=%q: %v", seedVar, v, err)
		}
	}
	t.Logf("seed %d (rerun with %s=%d)", s, seedVar, s)
	return s
}

// killFor kills node i with SIGKILL and restarts it after down.
func (c *cluster) killFor(tr *traffic, i int, down time.Duration) {
	c.t.Helper()
	tr.down[i].Store(true)
	c.kill(i)
	time.Sleep(down)
	c.start(i)
	tr.down[i].Store(false)
	c.t.Logf("node %d killed, down %v", i, down.Round(time.Millisecond))
}

// pause stops node i with SIGSTOP for d, then lets it go on with SIGCONT.
func (c *cluster) pause(tr *traffic, i int, d time.Duration) {
	c.t.Helper()
	pid := c.procs[i].cmd.Process.Pid
	tr.down[i].Store(true)
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		c.t.Fatalf("SIGSTOP node %d: %v", i, err)
	}
	time.Sleep(d)
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		c.t.Fatalf("SIGCONT node %d: %v", i, err)
	}
	tr.down[i].Store(false)
	c.t.Logf("node %d paused for %v", i, d.Round(time.Millisecond))
}

// catchUp waits until node i has certified the height the others had
// reached when it came back (the others go on under load meanwhile), and
// logs its status.
func (c *cluster) catchUp(i int, after string) {
	c.t.Helper()
	start := time.Now()
	target := c.topHeight(i)
	c.waitFor(fmt.Sprintf("node %d to certify height %d after %s", i, target, after), func() bool {
		st, err := c.status(i)
		return err == nil && st.Certified >= target
	})
	st, _ := c.status(i)
	c.t.Logf("node %d caught up in %v: height %d, certified %d", i, time.Since(start).Round(time.Millisecond), st.Height, st.Certified)
}

// topHeight is the highest applied height of the nodes other than i that
// answer.
func (c *cluster) topHeight(i int) uint64 {
	var top uint64
	for j := range c.procs {
		if j == i {
			continue
		}
		if st, err := c.status(j); err == nil {
			top = max(top, st.Height)
		}
	}
	return top
}

// traffic submits transactions through the HTTP API from a few clients, each
// to the next node that is up, and keeps those accepted (202).
type traffic struct {
	c    *cluster
	down []atomic.Bool // nodes the clients leave alone
	next atomic.Int64  // number of the next transaction
	quit chan struct{}
	wg   sync.WaitGroup
	once sync.Once

	mu       sync.Mutex
	accepted map[string]string // transaction → hash
	errs     []string
}

func startTraffic(c *cluster, clients int) *traffic {
	tr := &traffic{c: c, down: make([]atomic.Bool, len(c.procs)), quit: make(chan struct{}), accepted: map[string]string{}}
	for range clients {
		tr.wg.Add(1)
		go tr.run()
	}
	return tr
}

// stop ends the load and returns the transactions accepted and the
// submissions that failed.
func (tr *traffic) stop() (map[string]string, []string) {
	tr.once.Do(func() {
		close(tr.quit)
		tr.wg.Wait()
	})
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.accepted, tr.errs
}

func (tr *traffic) run() {
	defer tr.wg.Done()
	for {
		select {
		case <-tr.quit:
			return
		case <-time.After(10 * time.Millisecond):
		}
		k := tr.next.Add(1)
		tr.submit(fmt.Sprintf("kill-%d=%d", k, k), int(k))
	}
}

// submit posts tx to the nodes that are up, from node first on, until one
// takes it. A refusal because the node is down or busy moves on to the
// next; a duplicate after such a refusal means an earlier attempt was
// taken after all (it is not counted as accepted).
func (tr *traffic) submit(tx string, first int) {
	n := len(tr.down)
	tried := false
	for attempt := 0; attempt < 1000; attempt++ {
		i := (first + attempt) % n
		if tr.down[i].Load() {
			continue
		}
		code, body, err := tr.c.post(i, tx)
		switch {
		case err != nil || code == http.StatusServiceUnavailable:
			time.Sleep(10 * time.Millisecond)
		case code == http.StatusAccepted:
			var r submitResponse
			if err := json.Unmarshal(body, &r); err != nil {
				tr.fail(fmt.Sprintf("%q to node %d: 202 %s: %v", tx, i, body, err))
				return
			}
			tr.mu.Lock()
			tr.accepted[tx] = r.Hash
			tr.mu.Unlock()
			return
		case code == http.StatusConflict && tried:
			return
		default:
			tr.fail(fmt.Sprintf("%q to node %d: %d %s", tx, i, code, body))
			return
		}
		tried = true
	}
	tr.fail(fmt.Sprintf("%q: no node took it", tx))
}

func (tr *traffic) fail(msg string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.errs = append(tr.errs, msg)
}

type submitResponse struct {
	Hash string `json:"hash"`
}

// post submits tx to node i once and returns the answer.
func (c *cluster) post(i int, tx string) (int, []byte, error) {
	resp, err := c.client.Post("http://"+c.procs[i].api+"/v1/txs", "text/plain", strings.NewReader(tx))
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// get returns the status and body of GET path at node i, for messages.
func (c *cluster) get(i int, path string) string {
	resp, err := c.client.Get("http://" + c.procs[i].api + path)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(body)))
}

// settle waits up to within for every node to report the same applied
// height, certified as far as applied, with nothing pending, and returns
// that height. If they do not, it reports every node's status and returns
// the highest height applied, for the checks to show what differs.
func (c *cluster) settle(within time.Duration) uint64 {
	c.t.Helper()
	start := time.Now()
	deadline := start.Add(within)
	for {
		height, ok := c.settled()
		if ok {
			c.t.Logf("settled at height %d in %v", height, time.Since(start).Round(time.Millisecond))
			return height
		}
		if time.Now().After(deadline) {
			c.t.Errorf("the nodes did not settle on one certified height within %v:\n%s", within, c.everywhere("/v1/status"))
			return height
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// settled returns the highest applied height and whether every node is
// there, certified that far, with nothing pending.
func (c *cluster) settled() (uint64, bool) {
	sts := make([]settleStatus, len(c.procs))
	ok := true
	var top uint64
	for i := range c.procs {
		code, err := c.getJSON(i, "/v1/status", &sts[i])
		ok = ok && err == nil && code == http.StatusOK
		top = max(top, sts[i].Height)
	}
	for _, st := range sts {
		ok = ok && st.Height == top && st.Certified == top && st.Pending == 0
	}
	return top, ok
}

// settleStatus is what settled reads of /v1/status.
type settleStatus struct {
	Height    uint64 `json:"height"`
	Certified uint64 `json:"certified"`
	Pending   int    `json:"pending"`
}

// chains fetches every node's certified blocks from height 1 on, the nodes
// in parallel.
func (c *cluster) chains() []map[uint64]block {
	out := make([]map[uint64]block, len(c.procs))
	var wg sync.WaitGroup
	for i := range c.procs {
		out[i] = map[uint64]block{}
		wg.Go(func() { c.blocks(i, 1, out[i]) })
	}
	wg.Wait()
	return out
}

// sameBlocks checks that every node serves every height up to height and
// that the nodes' blocks are the same; it returns the node with the
// longest chain.
func (c *cluster) sameBlocks(chains []map[uint64]block, height uint64) int {
	c.t.Helper()
	ref := 0
	for i := range chains {
		if len(chains[i]) > len(chains[ref]) {
			ref = i
		}
	}
	for i, chain := range chains {
		if n := uint64(len(chain)); n < height {
			c.t.Errorf("node %d serves heights 1 to %d of %d; GET /v1/blocks/%d: %s", i, n, height, n+1, c.get(i, fmt.Sprintf("/v1/blocks/%d", n+1)))
		}
		for h := uint64(1); h <= uint64(len(chain)); h++ {
			a, b := chains[ref][h], chain[h]
			if a.Hash != b.Hash || a.StateRoot != b.StateRoot || !slices.Equal(a.Txs, b.Txs) {
				c.t.Errorf("nodes %d and %d differ first at height %d:\nnode %d: %s\nnode %d: %s", ref, i, h, ref, describe(a), i, describe(b))
				break
			}
		}
	}
	c.t.Logf("node %d's chain: %d blocks", ref, len(chains[ref]))
	return ref
}

func describe(b block) string {
	return fmt.Sprintf("hash %s, state root %s, %d transactions", b.Hash, b.StateRoot, len(b.Txs))
}

// eachOnce checks that no transaction is in the chain twice and that every
// accepted one is in it.
func (c *cluster) eachOnce(chain map[uint64]block, accepted map[string]string) {
	c.t.Helper()
	at := map[string][]uint64{} // transaction → heights
	for h := uint64(1); h <= uint64(len(chain)); h++ {
		for _, tx := range chain[h].Txs {
			at[tx] = append(at[tx], h)
		}
	}
	twice := 0
	for tx, hs := range at {
		if len(hs) > 1 {
			if twice++; twice <= 5 {
				raw, _ := base64.StdEncoding.DecodeString(tx)
				c.t.Errorf("transaction %q is committed %d times, at heights %v", raw, len(hs), hs)
			}
		}
	}
	missing := 0
	for tx, hash := range accepted {
		if len(at[base64.StdEncoding.EncodeToString([]byte(tx))]) == 0 {
			if missing++; missing <= 5 {
				c.t.Errorf("accepted transaction %q (hash %s) is in no block; GET /v1/txs/%s:\n%s", tx, hash, hash, c.everywhere("/v1/txs/"+hash))
			}
		}
	}
	if twice+missing > 0 {
		c.t.Errorf("%d transactions committed more than once, %d of %d accepted in no block", twice, missing, len(accepted))
	}
}

// everywhere shows every node's answer to GET path.
func (c *cluster) everywhere(path string) string {
	var out []string
	for i := range c.procs {
		out = append(out, fmt.Sprintf("node %d: %s", i, c.get(i, path)))
	}
	return strings.Join(out, "\n")
}

// certifiedAll checks that every node has certified every height it
// applied.
func (c *cluster) certifiedAll() {
	c.t.Helper()
	for i := range c.procs {
		st, err := c.status(i)
		if err != nil {
			c.t.Errorf("node %d: %v", i, err)
		} else if st.Certified != st.Height {
			c.t.Errorf("node %d applied height %d but certified only %d", i, st.Height, st.Certified)
		}
	}
}
