package daemon

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/mass-consensus/mass/internal/api"
	"github.com/mass-consensus/mass/internal/genesis"
	"github.com/mass-consensus/mass/internal/home"
	"github.com/mass-consensus/mass/internal/localport"
	"github.com/mass-consensus/mass/internal/store/pebble"
	"github.com/mass-consensus/mass/internal/web"
)

// The tests start one-node networks of the key-value application, on
// 127.0.0.1.

const waitLimit = 60 * time.Second

// records keeps the log records at Error level.
type records struct {
	mu     sync.Mutex
	errors []string
}

func (r *records) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelError }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	var b strings.Builder
	b.WriteString(rec.Message)
	rec.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.String())
		return true
	})
	r.mu.Lock()
	r.errors = append(r.errors, b.String())
	r.mu.Unlock()
	return nil
}
func (r *records) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *records) WithGroup(string) slog.Handler      { return r }

func (r *records) lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.errors...)
}

// start starts a one-node network's daemon.
func start(t *testing.T, opts Options) (*Daemon, *home.Home, *records) {
	t.Helper()
	return startHome(t, nil, opts)
}

// post submits a transaction and returns the status and the error code.
func post(t *testing.T, d *Daemon, tx string) (int, string) {
	t.Helper()
	resp, err := http.Post("http://"+d.APIAddr()+"/v1/txs", "text/plain", strings.NewReader(tx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Error struct{ Code, Message string }
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body.Error.Code + ": " + body.Error.Message
}

// fullDisk is an in-memory file system for the store that refuses every
// write once full is set, as a full disk does.
func fullDisk(full *atomic.Bool) vfs.FS {
	return errorfs.Wrap(vfs.NewMem(), errorfs.InjectorFunc(func(op errorfs.Op) error {
		if full.Load() && op.Kind.ReadOrWrite() == errorfs.OpIsWrite && op.Kind != errorfs.OpRemove && op.Kind != errorfs.OpRemoveAll {
			return &fs.PathError{Op: "write", Path: op.Path, Err: syscall.ENOSPC}
		}
		return nil
	}))
}

// TestFullDiskStopsTheDaemon: the store's disk fills up under load. The
// node refuses submissions (503) from the first failed write, stops with
// one logged error and an error that names the full disk, and Stop
// returns; no panic.
func TestFullDiskStopsTheDaemon(t *testing.T) {
	full := &atomic.Bool{}
	d, _, rec := start(t, Options{StoreFS: fullDisk(full)})
	if code, msg := post(t, d, "before=1"); code != http.StatusAccepted {
		t.Fatalf("a submission before the disk fills: %d %s", code, msg)
	}
	full.Store(true)
	deadline := time.Now().Add(waitLimit)
	for i := 0; ; i++ {
		code, msg := post(t, d, fmt.Sprintf("k%d=v", i))
		if code == http.StatusServiceUnavailable {
			if !strings.HasPrefix(msg, "stopped: ") || !strings.Contains(msg, "no space left") {
				t.Fatalf("503 %q, want stopped, saying the disk is full", msg)
			}
			break
		}
		if code != http.StatusAccepted {
			t.Fatalf("a submission while the disk fills: %d %s", code, msg)
		}
		if time.Now().After(deadline) {
			t.Fatal("submissions still accepted on a full disk")
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case <-d.Done():
	case <-time.After(waitLimit):
		t.Fatal("the node did not stop")
	}
	if err := d.Err(); !errors.Is(err, pebble.ErrFailed) || !errors.Is(err, pebble.ErrNoSpace) {
		t.Fatalf("the node stopped with %v, want the store's failure", err)
	}
	if code, msg := post(t, d, "after=1"); code != http.StatusServiceUnavailable {
		t.Fatalf("a submission after the node stopped: %d %s", code, msg)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- d.Stop() }()
	select {
	case err := <-stopped:
		if !errors.Is(err, pebble.ErrFailed) {
			t.Fatalf("Stop: %v, want the store's failure", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("Stop does not return")
	}
	if lines := rec.lines(); len(lines) != 1 || !strings.Contains(lines[0], "no space left") {
		t.Fatalf("logged errors %q, want one saying the disk is full", lines)
	}
}

// TestFullDiskAtStart: a store that cannot be written at all fails the
// start with an error naming the cause, not a lock.
func TestFullDiskAtStart(t *testing.T) {
	full := &atomic.Bool{}
	full.Store(true)
	port, err := localport.Free(2, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := home.Init(dir, home.InitOptions{Nodes: 1, ChainID: "daemon-test", Host: "127.0.0.1", P2PPort: port, APIPort: port + 1, App: genesis.AppKV}); err != nil {
		t.Fatal(err)
	}
	h, err := home.Load(filepath.Join(dir, "node0"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := StartWith(h, slog.New(slog.DiscardHandler), Options{StoreFS: fullDisk(full)})
	if err == nil {
		d.Stop()
		t.Fatal("a daemon started on a full disk")
	}
	if !errors.Is(err, pebble.ErrNoSpace) || errors.Is(err, pebble.ErrLocked) {
		t.Fatalf("start on a full disk: %v, want ErrNoSpace", err)
	}
}

// hungDisk is an in-memory file system for the store whose writes to the
// log block once hang is set (blocked is closed when the first does),
// until release is closed.
type hungDisk struct {
	vfs.FS
	hang             atomic.Bool
	blocked, release chan struct{}
	once             sync.Once
}

func newHungDisk() *hungDisk {
	d := &hungDisk{blocked: make(chan struct{}), release: make(chan struct{})}
	d.FS = errorfs.Wrap(vfs.NewMem(), errorfs.InjectorFunc(func(op errorfs.Op) error {
		if d.hang.Load() && op.Kind.ReadOrWrite() == errorfs.OpIsWrite && strings.HasSuffix(op.Path, ".log") {
			d.once.Do(func() { close(d.blocked) })
			<-d.release
		}
		return nil
	}))
	return d
}

// TestStuckLoopIsGivenUp: the store fails in the background while the
// loop is stuck in it (a write that never returns). Submissions are
// refused at once, the daemon is done within stopWait with the failure,
// and Stop returns.
func TestStuckLoopIsGivenUp(t *testing.T) {
	disk := newHungDisk()
	t.Cleanup(func() { close(disk.release) })
	d, _, _ := start(t, Options{StoreFS: disk})
	disk.hang.Store(true)
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(waitLimit)
	for i := 0; ; i++ {
		select {
		case <-disk.blocked:
		default:
			if time.Now().After(deadline) {
				t.Fatal("the loop never wrote to the store")
			}
			if resp, err := client.Post("http://"+d.APIAddr()+"/v1/txs", "text/plain", strings.NewReader(fmt.Sprintf("k%d=v", i))); err == nil {
				resp.Body.Close()
			}
			continue
		}
		break
	}
	injected := errors.New("injected: the disk failed")
	d.storeFailed(injected) // as the store's OnFailure, from a background flush
	if code, msg := post(t, d, "after=1"); code != http.StatusServiceUnavailable || !strings.Contains(msg, injected.Error()) {
		t.Fatalf("a submission after the failure: %d %s", code, msg)
	}
	select {
	case <-d.Done():
	case <-time.After(waitLimit):
		t.Fatal("the daemon is not done")
	}
	if !errors.Is(d.Err(), injected) {
		t.Fatalf("done with %v, want the failure", d.Err())
	}
	stopped := make(chan error, 1)
	go func() { stopped <- d.Stop() }()
	select {
	case err := <-stopped:
		if !errors.Is(err, injected) {
			t.Fatalf("Stop: %v", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("Stop does not return")
	}
}

// metric reads one sample of the daemon's /metrics.
func metric(t *testing.T, d *Daemon, sample string) string {
	t.Helper()
	resp, err := http.Get("http://" + d.APIAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), sample+" "); ok {
			return v
		}
	}
	return ""
}

func waitMetric(t *testing.T, d *Daemon, sample, want string) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		got := metric(t, d, sample)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %q, want %q", sample, got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestGarbageOnTheP2PPortIsCounted writes raw bytes to the node's p2p
// port: mass_transport_rejected_total{reason="garbage"} counts it.
func TestGarbageOnTheP2PPortIsCounted(t *testing.T) {
	d, h, _ := start(t, Options{})
	const sample = `mass_transport_rejected_total{reason="garbage"}`
	if got := metric(t, d, sample); got != "0" {
		t.Fatalf("%s = %q before any garbage", sample, got)
	}
	var addr string
	for _, s := range h.Config.Listen {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.ValueForProtocol(ma.P_TCP); err == nil {
			na, err := manet.ToNetAddr(a)
			if err != nil {
				t.Fatal(err)
			}
			addr = na.String()
		}
	}
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(waitLimit))
	if _, err := c.Write(bytes.Repeat([]byte("garbage\r\n"), 64)); err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, c)
	waitMetric(t, d, sample, "1")
}

// TestAPILimitsApply: the daemon serves its API with the limits it is
// given: beyond MaxConns, connections are refused and counted.
func TestAPILimitsApply(t *testing.T) {
	d, _, _ := start(t, Options{API: api.Limits{MaxConns: 2}})
	refusesAThirdConnection(t, d)
	if _, err := StartWith(nil, nil, Options{API: api.Limits{MaxConns: -1}}); err == nil {
		t.Fatal("negative MaxConns accepted")
	}
}

// TestAPILimitsFromTheConfig: config.json's api_limits bound the API as
// options do; options win over the file, the file over the defaults.
func TestAPILimitsFromTheConfig(t *testing.T) {
	d, _, _ := startWithConfig(t, &home.APILimits{MaxConns: 2, StampRate: 7})
	refusesAThirdConnection(t, d)

	file := &home.APILimits{ReadTimeout: home.Duration(time.Minute), MaxConns: 2, BodyBudget: 1 << 20, StampRate: 7, StampBurst: 9}
	got := withConfigLimits(Options{API: api.Limits{MaxConns: 5}, StampBurst: 3}, file)
	if got.API.MaxConns != 5 || got.StampBurst != 3 || got.API.ReadTimeout != time.Minute || got.API.BodyBudget != 1<<20 ||
		got.StampRate != 7 || got.API.WriteTimeout != 0 {
		t.Fatalf("options with the file's limits: %+v", got)
	}
	if got := withConfigLimits(Options{API: api.Limits{MaxConns: 5}}, nil); got.API.MaxConns != 5 || got.StampRate != 0 {
		t.Fatalf("options without a file's limits: %+v", got)
	}
}

// startWithConfig is start with api_limits in the home's config.
func startWithConfig(t *testing.T, limits *home.APILimits) (*Daemon, *home.Home, *records) {
	t.Helper()
	return startHome(t, limits, Options{})
}

// startHome starts a one-node kv network's node with api_limits in its
// config and options; it stops at the test's end.
func startHome(t *testing.T, limits *home.APILimits, opts Options) (*Daemon, *home.Home, *records) {
	t.Helper()
	port, err := localport.Free(2, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := home.Init(dir, home.InitOptions{Nodes: 1, ChainID: "daemon-test", Host: "127.0.0.1",
		P2PPort: port, APIPort: port + 1, App: genesis.AppKV}); err != nil {
		t.Fatal(err)
	}
	h, err := home.Load(filepath.Join(dir, "node0"))
	if err != nil {
		t.Fatal(err)
	}
	h.Config.APILimits = limits
	rec := &records{}
	d, err := StartWith(h, slog.New(rec), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Stop() })
	return d, h, rec
}

// refusesAThirdConnection checks that a daemon allowed two connections
// answers a third 503 and counts it.
func refusesAThirdConnection(t *testing.T, d *Daemon) {
	t.Helper()
	var conns []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", d.APIAddr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	extra, err := net.Dial("tcp", d.APIAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	_ = extra.SetDeadline(time.Now().Add(waitLimit))
	resp, err := http.ReadResponse(bufio.NewReader(extra), nil)
	if err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a third connection: %v %v", resp, err)
	}
	for _, c := range conns { // room for the scrape
		c.Close()
	}
	deadline := time.Now().Add(waitLimit)
	for d.api.Usage().Conns > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the closed connections are still counted open")
		}
		time.Sleep(time.Millisecond)
	}
	if got := metric(t, d, "mass_api_connections_refused_total"); got != "1" {
		t.Fatalf("mass_api_connections_refused_total = %q, want 1", got)
	}
}

// TestTheWebAppIsServed: a node given the members' app (as mass start and
// mass devnet give it) serves it at / and the genesis file it trusts at
// /genesis.json, beside the API, whose unknown routes stay JSON errors.
func TestTheWebAppIsServed(t *testing.T) {
	port, err := localport.Free(2, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := home.Init(dir, home.InitOptions{Nodes: 1, ChainID: "daemon-test", Host: "127.0.0.1", P2PPort: port, APIPort: port + 1}); err != nil {
		t.Fatal(err)
	}
	h, err := home.Load(filepath.Join(dir, "node0"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "node0", "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := StartWith(h, slog.New(&records{}), Options{App: web.Handler(web.WithGenesis(raw))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Stop() })
	get := func(path string) (int, string, string) {
		t.Helper()
		resp, err := http.Get("http://" + d.APIAddr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(body)
	}
	if code, ctype, body := get("/"); code != http.StatusOK || !strings.HasPrefix(ctype, "text/html") || !strings.Contains(body, "app.js") {
		t.Fatalf("GET /: %d %s\n%.200s", code, ctype, body)
	}
	if code, _, body := get("/genesis.json"); code != http.StatusOK || body != string(raw) {
		t.Fatalf("GET /genesis.json: %d, not the node's genesis file", code)
	}
	if code, ctype, body := get("/v1/nowhere"); code != http.StatusNotFound || !strings.Contains(ctype, "json") || !strings.Contains(body, "not_found") {
		t.Fatalf("GET /v1/nowhere: %d %s %s", code, ctype, body)
	}
}
