package web

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/mass-consensus/mass/internal/app/tx"
	"github.com/mass-consensus/mass/internal/client"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/daemon"
	"github.com/mass-consensus/mass/internal/home"
	"github.com/mass-consensus/mass/internal/localport"
	"github.com/mass-consensus/mass/internal/web/browsertest"
)

// pageLoadHeight makes BenchmarkAccountPageLoad grow the chain to this
// height first (one transfer per block), to see how the load scales with
// the headers the light client verifies; 0 keeps the few blocks of a new
// devnet.
var pageLoadHeight = flag.Uint64("web.height", 0, "BenchmarkAccountPageLoad: grow the devnet's chain to this height first")

// devnet is what `mass devnet` runs, in this process: four nodes of the
// organization on 127.0.0.1 (internal/home.Init, internal/daemon), each
// serving the members' app at / with the genesis file, as cmd/mass's
// webApp gives it.
type devnet struct {
	dir     string
	genesis []byte
	daemons []*daemon.Daemon
	api     *client.Client // node 0's API
	base    string         // node 0's URL: the app and its API
}

// startDevnet starts the four nodes; they stop at the test's end.
func startDevnet(tb testing.TB, nodes int) *devnet {
	tb.Helper()
	d := &devnet{dir: tb.TempDir()}
	p2p, err := localport.Free(nodes, nil)
	if err != nil {
		tb.Fatal(err)
	}
	apiPort, err := localport.Free(nodes, func(p int) bool { return p >= p2p && p < p2p+nodes })
	if err != nil {
		tb.Fatal(err)
	}
	homes, err := home.Init(d.dir, home.InitOptions{Nodes: nodes, ChainID: "mass-devnet", Host: "127.0.0.1", P2PPort: p2p, APIPort: apiPort})
	if err != nil {
		tb.Fatal(err)
	}
	if d.genesis, err = os.ReadFile(filepath.Join(homes[0], "genesis.json")); err != nil {
		tb.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	tb.Cleanup(func() {
		for i, dm := range d.daemons {
			if err := dm.Stop(); err != nil {
				tb.Errorf("stopping node %d: %v", i, err)
			}
		}
	})
	for i, dir := range homes {
		h, err := home.Load(dir)
		if err != nil {
			tb.Fatal(err)
		}
		dm, err := daemon.StartWith(h, logger.With("node", i), daemon.Options{App: Handler(WithGenesis(d.genesis))})
		if err != nil {
			tb.Fatalf("node %d: %v", i, err)
		}
		d.daemons = append(d.daemons, dm)
	}
	d.base = "http://" + d.daemons[0].APIAddr()
	if d.api, err = client.New(d.daemons[0].APIAddr(), client.WithTimeout(10*time.Second)); err != nil {
		tb.Fatal(err)
	}
	return d
}

// waitCertified waits until node 0 has certified height h.
func (d *devnet) waitCertified(tb testing.TB, h uint64) {
	tb.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, err := d.api.Status(context.Background())
		if err == nil && st.Certified >= h {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("height %d not certified after 60 s: %+v %v", h, st, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// grow makes the chain reach height h at least: one transfer of 1 from
// alice to bob (cosigned) at a time, each waited for in a block, so that
// every transfer makes a block.
func (d *devnet) grow(tb testing.TB, h uint64) {
	tb.Helper()
	alice, bob := d.key(tb, "alice"), d.key(tb, "bob")
	ctx := context.Background()
	for nonce := uint64(0); ; nonce++ {
		st, err := d.api.Status(ctx)
		if err != nil {
			tb.Fatal(err)
		}
		if st.Certified >= h {
			return
		}
		tr := tx.New(alice.Public(), nonce, &tx.Transfer{To: bob.Public(), Amount: 1})
		if err := tr.Sign("mass-devnet", alice); err != nil {
			tb.Fatal(err)
		}
		if err := tr.Sign("mass-devnet", bob); err != nil {
			tb.Fatal(err)
		}
		if _, err := d.api.Submit(ctx, tr.Marshal()); err != nil {
			tb.Fatalf("transfer %d: %v", nonce, err)
		}
		d.waitCertified(tb, st.Certified+1)
	}
}

// key loads a devnet account's key (founder, alice, bob).
func (d *devnet) key(tb testing.TB, name string) *crypto.PrivateKey {
	tb.Helper()
	k, err := home.LoadKey(home.KeyPath(d.dir, name))
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// loadProbe runs in every document before the page's own scripts: it
// counts WebCrypto's verifications and digests, and notes when the app is
// ready and when the account view first shows "verified" (ms from the
// navigation's start).
const loadProbe = `(() => {
  const m = { verifies: 0, verifyMs: 0, digests: 0 };
  window.__massLoad = m;
  const sc = SubtleCrypto.prototype;
  const wrap = (name, count, ms) => {
    const f = sc[name];
    sc[name] = function (...args) {
      m[count]++;
      const t0 = performance.now();
      const p = f.apply(this, args);
      if (ms) p.then(() => { m[ms] += performance.now() - t0; }, () => {});
      return p;
    };
  };
  wrap('verify', 'verifies', 'verifyMs');
  wrap('digest', 'digests', null);
  new MutationObserver(() => {
    if (m.ready === undefined && document.body?.dataset.app === 'ready') m.ready = performance.now();
    const a = document.getElementById('account');
    if (m.badge === undefined && a?.dataset.state === 'verified') {
      m.badge = performance.now();
      m.height = Number(a.dataset.height);
    }
  }).observe(document, { subtree: true, childList: true, attributes: true });
})();`

// loadReport is what a page load did until the badge, from the probe and
// the browser's Navigation and Resource Timing.
const loadReport = `JSON.stringify((() => {
  const m = window.__massLoad;
  const nav = performance.getEntriesByType('navigation')[0];
  const res = performance.getEntriesByType('resource').filter((r) => r.startTime < m.badge);
  const path = (r) => new URL(r.name).pathname;
  const api = res.filter((r) => path(r).startsWith('/v1/'));
  const files = res.filter((r) => !path(r).startsWith('/v1/'));
  const first = (p) => res.find((r) => path(r).startsWith(p));
  const span = (r) => r ? [r.startTime, r.responseEnd] : [0, 0];
  return {
    worker: !!navigator.serviceWorker?.controller,
    badge: m.badge, ready: m.ready, height: m.height,
    verifies: m.verifies, verifyMs: m.verifyMs, digests: m.digests,
    requests: 1 + res.length, apiRequests: api.length,
    filesEnd: Math.max(nav.responseEnd, ...files.map((r) => r.responseEnd)),
    dcl: nav.domContentLoadedEventEnd,
    bytes: nav.transferSize + res.reduce((s, r) => s + r.transferSize, 0),
    headersBytes: first('/v1/headers')?.encodedBodySize ?? 0,
    headers: span(first('/v1/headers')), account: span(first('/v1/accounts/')),
  };
})())`

// pageLoad is one load's report.
type pageLoad struct {
	Worker      bool       `json:"worker"` // the service worker controlled the page
	Badge       float64    `json:"badge"`  // ms from the navigation's start to the "verified" badge
	Ready       float64    `json:"ready"`  // … to the app's shell being ready
	Height      int        `json:"height"`
	Verifies    int        `json:"verifies"` // WebCrypto Ed25519 verifications
	VerifyMs    float64    `json:"verifyMs"` // their summed durations (they overlap)
	Digests     int        `json:"digests"`
	Requests    int        `json:"requests"` // the document, files and API requests started before the badge
	APIRequests int        `json:"apiRequests"`
	FilesEnd    float64    `json:"filesEnd"` // the last of the app's files received
	DCL         float64    `json:"dcl"`
	Bytes       int        `json:"bytes"` // transferred (0 for what a cache or the worker served)
	HeadersSize int        `json:"headersBytes"`
	Headers     [2]float64 `json:"headers"` // GET /v1/headers: start, end
	Account     [2]float64 `json:"account"` // GET /v1/accounts/…: start, end
}

// loadAccount navigates tab to url and waits for the verified badge;
// it returns the load's report.
func loadAccount(b *testing.B, tab context.Context, url string) pageLoad {
	p := &browsertest.Page{TB: b, Ctx: tab, Wait: 60 * time.Second}
	b.StartTimer()
	p.Do(chromedp.Navigate(url))
	p.WaitFor(`window.__massLoad?.badge !== undefined`)
	b.StopTimer()
	var r pageLoad
	if err := json.Unmarshal([]byte(browsertest.Eval[string](p, loadReport)), &r); err != nil {
		b.Fatal(err)
	}
	p.Do(chromedp.Navigate("about:blank"))
	return r
}

// newTab opens a tab in a new browser context (its own empty HTTP cache,
// storage and service workers) with the probe installed.
func newTab(b *testing.B, browser context.Context) (context.Context, context.CancelFunc) {
	tab, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	if _, err := chromedp.Call(tab, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: loadProbe}); err != nil {
		cancel()
		b.Fatal(err)
	}
	return tab, cancel
}

// report gives the loads' medians as the benchmark's metrics.
func report(b *testing.B, loads []pageLoad) {
	median := func(f func(pageLoad) float64) float64 {
		v := make([]float64, len(loads))
		for i, l := range loads {
			v[i] = f(l)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	b.ReportMetric(median(func(l pageLoad) float64 { return l.Badge }), "ms-to-badge")
	b.ReportMetric(median(func(l pageLoad) float64 { return l.Ready }), "ms-to-ready")
	b.ReportMetric(median(func(l pageLoad) float64 { return l.FilesEnd }), "ms-to-files")
	b.ReportMetric(median(func(l pageLoad) float64 { return l.Account[0] }), "ms-account-asked")
	b.ReportMetric(median(func(l pageLoad) float64 { return l.Account[1] - l.Account[0] }), "ms-account-answer")
	b.ReportMetric(median(func(l pageLoad) float64 { return l.Headers[1] - l.Headers[0] }), "ms-headers-answer")
	b.ReportMetric(median(func(l pageLoad) float64 { return float64(l.Requests) }), "requests")
	b.ReportMetric(median(func(l pageLoad) float64 { return float64(l.APIRequests) }), "api-requests")
	b.ReportMetric(median(func(l pageLoad) float64 { return float64(l.Verifies) }), "verifies")
	b.ReportMetric(median(func(l pageLoad) float64 { return l.VerifyMs }), "ms-verifying")
	b.ReportMetric(median(func(l pageLoad) float64 { return float64(l.HeadersSize) }), "B-headers")
	b.ReportMetric(median(func(l pageLoad) float64 { return float64(l.Bytes) }), "B-transferred")
	b.ReportMetric(median(func(l pageLoad) float64 { return float64(l.Height) }), "height")
	for i, l := range loads {
		b.Logf("load %d: %+v", i, l)
	}
}

// BenchmarkAccountPageLoad measures a page load of the account view of
// alice (#/account/<alice>) from node 0 of a 4-node devnet run in this
// process, until the badge "verified at height H by nodes [..] of 4":
// the light client starts from the genesis file, syncs the headers and
// verifies the proof.
//
//	MASS_BROWSER_REQUIRED=1 go test ./internal/web -run '^$' -bench AccountPageLoad -benchtime 20x
//
// cold: each load in a new browser context (an empty HTTP cache, no
// service worker, no storage: a first visit). warm: the same browser
// context each time, the service worker installed by a first load (the
// app's files from its cache) and what the app keeps in IndexedDB.
//
// ns/op is the time the test waits for a load (from the navigation's
// command to the badge, seen by a poll); the metrics are medians from
// the browser: ms-to-badge from the navigation's start to the badge,
// ms-to-ready to the app's shell, ms-to-files to the last of its files,
// ms-account-asked when GET /v1/accounts/… starts, the answers' times,
// requests and API requests before the badge, WebCrypto Ed25519
// verifications and their summed time, the headers' answer size, the
// bytes transferred and the height verified.
func BenchmarkAccountPageLoad(b *testing.B) {
	d := startDevnet(b, 4)
	d.waitCertified(b, 3)
	d.grow(b, *pageLoadHeight)
	alice := d.key(b, "alice")
	url := fmt.Sprintf("%s/#/account/%s", d.base, alice.Public())
	browser := browsertest.Start(b, 30*time.Minute)

	b.Run("cold", func(b *testing.B) {
		b.StopTimer()
		var loads []pageLoad
		for range b.N {
			tab, cancel := newTab(b, browser)
			loads = append(loads, loadAccount(b, tab, url))
			cancel()
		}
		report(b, loads)
	})
	b.Run("warm", func(b *testing.B) {
		b.StopTimer()
		tab, cancel := newTab(b, browser)
		defer cancel()
		loadAccount(b, tab, url)
		p := &browsertest.Page{TB: b, Ctx: tab, Wait: 60 * time.Second}
		p.Do(chromedp.Navigate(url))
		browsertest.Eval[bool](p, `navigator.serviceWorker.ready.then(() => true)`)
		p.Do(chromedp.Navigate("about:blank"))
		var loads []pageLoad
		for range b.N {
			loads = append(loads, loadAccount(b, tab, url))
		}
		report(b, loads)
	})
}
