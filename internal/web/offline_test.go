package web

import (
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chromedp/chromedp"

	webfiles "github.com/mass-consensus/mass/web"
)

// TestServiceWorkerFiles checks that the service worker (web/sw.js) keeps
// every file the app loads: each module of the app (what index.html
// preloads, which TestHandlerServesTheApp checks is every module), the
// style sheet, the page ("./") and the genesis; and that it is served as
// JavaScript from the root, so that its scope is the whole app.
func TestServiceWorkerFiles(t *testing.T) {
	src, err := fs.ReadFile(webfiles.FS, "sw.js")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)const FILES = \[(.*?)\];`).FindSubmatch(src)
	if m == nil {
		t.Fatal("sw.js has no FILES list")
	}
	var files []string
	for _, f := range regexp.MustCompile(`'([^']*)'`).FindAllSubmatch(m[1], -1) {
		files = append(files, string(f[1]))
	}
	want := []string{"./", "app.css", "genesis.json"}
	err = fs.WalkDir(webfiles.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".js") || p == "sw.js" {
			return err
		}
		want = append(want, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	index, err := fs.ReadFile(webfiles.FS, "index.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range regexp.MustCompile(`(?:href|src)="([^"#]+)"`).FindAllSubmatch(index, -1) {
		want = append(want, string(l[1]))
	}
	slices.Sort(want)
	want = slices.Compact(want)
	have := slices.Sorted(slices.Values(files))
	if !slices.Equal(have, want) {
		t.Errorf("sw.js's FILES differ from the app's files:\nFILES %v\napp   %v", have, want)
	}
	for _, f := range files {
		if f == "./" || f == "genesis.json" {
			continue
		}
		if _, err := fs.Stat(webfiles.FS, f); err != nil {
			t.Errorf("sw.js keeps %s, which the app lacks", f)
		}
	}

	srv := httptest.NewServer(Handler(WithGenesis([]byte(`{}`))))
	t.Cleanup(srv.Close)
	resp, err := httpClient.Get(srv.URL + "/sw.js")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != contentTypes[".js"] || resp.Header.Get("Cache-Control") != "no-cache" || string(body) != string(src) {
		t.Fatalf("/sw.js: %s %v", resp.Status, resp.Header)
	}
}

// front is a server between the browser and the test network's server
// that can vanish: while cut, every request (the app's files included) is
// dropped without an answer, and the connections it holds are closed, as
// when the machine loses the network.
type front struct {
	srv *httptest.Server
	url string
	cut atomic.Bool
}

func newFront(t *testing.T, target string) *front {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	f := &front{}
	proxy := httputil.NewSingleHostReverseProxy(u)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.cut.Load() {
			panic(http.ErrAbortHandler)
		}
		proxy.ServeHTTP(w, r)
	}))
	f.srv.Listener.Close()
	f.srv.Listener = ln
	f.srv.Start()
	t.Cleanup(func() {
		f.srv.CloseClientConnections()
		f.srv.Close()
	})
	f.url = f.srv.URL
	return f
}

// setCut cuts the network (true) or restores it.
func (f *front) setCut(on bool) {
	f.cut.Store(on)
	if on {
		f.srv.CloseClientConnections()
	}
}

// setUpWallet makes the wallet and imports alice's and bob's keys.
func setUpWallet(u *ui, n *network) {
	u.t.Helper()
	u.visit("#/wallet")
	createWallet(u)
	for _, name := range []string{"alice", "bob"} {
		file, err := os.ReadFile(n.keyFile(name))
		if err != nil {
			u.t.Fatal(err)
		}
		u.set("#import-text", string(file))
		u.set("#import-label", name)
		u.click("#import")
		u.waitFor(fmt.Sprintf(`!!document.querySelector('li.account[data-public="%s"]')`, n.key(u.t, name).Public()))
	}
}

// createWallet sets the wallet up with the test's passphrase (on the
// wallet page, which shows the form when there is no wallet yet); it is
// left unlocked.
func createWallet(u *ui) {
	u.t.Helper()
	u.waitFor(`!!document.querySelector('#wallet-create')`)
	u.set("#new-passphrase", passphrase)
	u.set("#new-passphrase2", passphrase)
	u.click("#create-wallet")
	u.waitFor(`!!document.querySelector('#wallet-unlocked')`)
}

// signOffline signs a transfer from alice to bob on the transfer page (the
// wallet locked), has bob cosign it through the link, and submits it: the
// node being unreachable, it goes to the outbox. Returns the nonce used.
func signOffline(u *ui, alice, bob string, amount string) string {
	u.t.Helper()
	u.load(u.base + "/#/transfer?from=" + alice)
	u.waitFor(`!!document.querySelector('#from-balance') && document.querySelector('#nonce').value !== ''`)
	if state := u.attr("#from-state #badge", "data-state"); state != "offline" {
		u.t.Errorf("the sender's state is %q, want offline: %s", state, u.text("#from-state"))
	}
	nonce := u.value("#nonce")
	u.set("#to", bob)
	u.set("#amount", amount)
	u.set("#sign-passphrase", passphrase)
	u.click("#sign")
	u.waitFor(`!!document.querySelector('#cosign-link')`)
	link := u.attr("#cosign-link", "href")
	u.load(link)
	u.waitFor(`!!document.querySelector('#cosign-unlock-passphrase')`)
	u.set("#cosign-unlock-passphrase", passphrase)
	u.click("#cosign-unlock-button")
	u.waitFor(`!!document.querySelector('#cosign')`)
	u.click("#cosign")
	u.waitFor(`document.querySelector('#tx-view')?.dataset.complete === 'yes'`)
	u.click("#submit")
	u.waitFor(`['outbox', 'committed', 'failed', 'refused', 'timeout'].includes(document.querySelector('#tx-status')?.dataset.state)`)
	if state := u.attr("#tx-status", "data-state"); state != "outbox" {
		u.t.Fatalf("submitted offline, the transfer is %s: %s", state, u.text("#tx-status"))
	}
	return nonce
}

// TestAppOffline uses the app without its node: the service worker keeps
// the app, which opens with the network cut and shows alice's last
// verified account labelled offline with its height; two transfers signed
// offline wait in the outbox (with two nonces); when the network returns
// the outbox submits them: one is committed (bob's verified balance shows
// it), the other refused by the node with its reason. Then the network
// page: the node reachable with its height, unreachable when cut.
func TestAppOffline(t *testing.T) {
	n := newNetwork(t)
	f := newFront(t, n.base)
	b := newBrowser(t, f.url)
	u := &ui{t: t, b: b, base: f.url}
	alice, bob := n.key(t, "alice").Public().String(), n.key(t, "bob").Public().String()
	u.do(chromedp.EmulateViewport(1100, 860))
	u.waitFor(`document.body.dataset.app === 'ready'`)
	// The worker installs and takes the page.
	u.waitFor(`!!navigator.serviceWorker.controller && navigator.serviceWorker.controller.state === 'activated'`)
	setUpWallet(u, n)

	// Alice's account, verified and saved.
	u.visit("#/account/" + alice)
	u.waitFor(`document.querySelector('#account')?.dataset.state === 'verified'`)
	height := u.attr("#account", "data-height")

	// The network cut: the app still opens, from the worker's cache, and
	// shows the last verified state, labelled offline.
	f.setCut(true)
	u.load(f.url + "/#/account/" + alice)
	u.waitFor(`['offline', 'verified', 'unreachable', 'failed'].includes(document.querySelector('#account')?.dataset.state)`)
	if state := u.attr("#account", "data-state"); state != "offline" {
		t.Fatalf("offline, the account is %s: %s", state, u.text("#account"))
	}
	if got, want := u.text("#badge"), "⚠ offline — verified at height "+height+", "; !strings.HasPrefix(got, want) || len(got) <= len(want) {
		t.Errorf("the badge says %q, want %q and a time", got, want)
	}
	if got := u.attr("#balance", "data-value"); got != "10000" {
		t.Errorf("offline, the balance is %s", got)
	}
	u.screenshot("offline")
	u.click("#lang-switch")
	u.waitFor(`document.querySelector('#badge')?.textContent.startsWith('⚠ 离线 — 已在高度 ` + height + `')`)
	u.click("#lang-switch")
	u.waitFor(`document.querySelector('#badge')?.textContent.startsWith('⚠ offline')`)

	// Two transfers signed offline: 25, then more than alice has.
	if nonce := signOffline(u, alice, bob, "25"); nonce != "0" {
		t.Errorf("the first transfer took nonce %s, want 0", nonce)
	}
	if nonce := signOffline(u, alice, bob, "1000000000"); nonce != "1" {
		t.Errorf("the second transfer took nonce %s, want 1 (0 is held by the outbox)", nonce)
	}
	u.visit("#/outbox")
	u.waitFor(`document.querySelectorAll('#outbox-list li.outbox-item').length === 2`)
	if got := eval[string](u, `[...document.querySelectorAll('#outbox-list li.outbox-item')].map((e) => e.dataset.state).join(' ')`); got != "waiting waiting" {
		t.Errorf("the outbox holds %q", got)
	}

	// The network returns: the outbox submits both.
	f.setCut(false)
	u.waitFor(`[...document.querySelectorAll('#outbox-list li.outbox-item')].every((e) => ['committed', 'refused', 'failed'].includes(e.dataset.state))`)
	states := eval[string](u, `[...document.querySelectorAll('#outbox-list li.outbox-item')].map((e) => e.dataset.state).join(' ')`)
	if states != "committed refused" {
		t.Fatalf("the outbox's items ended %q:\n%s", states, u.text("#outbox-list"))
	}
	first := `#outbox-list li.outbox-item:nth-child(1)`
	committedAt := u.attr(first, "data-height")
	if got, want := u.text(first+" .outbox-state"), "accepted — committed at height "+committedAt; got != want || committedAt == "" {
		t.Errorf("the first item says %q, want %q", got, want)
	}
	if got := u.text(`#outbox-list li.outbox-item:nth-child(2) .outbox-state`); !strings.HasPrefix(got, "refused: rejected: balance ") {
		t.Errorf("the second item says %q", got)
	}
	u.screenshot("outbox")
	if got := n.balance(t, "bob"); got != 10_025 {
		t.Errorf("bob has %d on the node, want 10025", got)
	}
	u.visit("#/account/" + bob)
	u.waitFor(`document.querySelector('#account')?.dataset.state === 'verified' && document.querySelector('#balance')?.dataset.value === '10025'`)

	// The network page: the node reachable with its height, then not.
	u.visit("#/network")
	u.waitFor(`document.querySelector('#node-0')?.dataset.reachable === 'yes' && Number(document.querySelector('#node-0').dataset.height) >= ` + committedAt)
	u.waitFor(`Number(document.querySelector('#net-line')?.dataset.points) >= 2`)
	if got := u.text("#net-self-state"); !strings.HasPrefix(got, "reachable: node 0, height ") {
		t.Errorf("the network page says %q", got)
	}
	u.screenshot("network")
	f.setCut(true)
	u.waitFor(`document.querySelector('#node-0')?.dataset.reachable === 'no' && document.querySelector('#net-self')?.dataset.reachable === 'no'`)
	f.setCut(false)
	u.waitFor(`document.querySelector('#node-0')?.dataset.reachable === 'yes'`)
	u.click("#lang-switch")
	u.waitFor(`document.querySelector('#net-self-state')?.textContent.startsWith('可达：节点 0')`)
	u.waitFor(`Number(document.querySelector('#net-line')?.dataset.points) >= 2`)
	u.screenshot("network-zh")
	u.click("#lang-switch")

}
