package web

import (
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mass-consensus/mass/internal/app/tx"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/web/browsertest"
)

// screenshots makes the browser tests write pictures of the app's pages to
// docs/screenshots/: screenshotCommand makes them all.
var screenshots = flag.Bool("web.screenshots", false, "write screenshots of the app's pages to docs/screenshots/")

// screenshotDir is where the screenshots go, from this package's directory.
const screenshotDir = "../../docs/screenshots"

// screenshotCommand runs every test that takes screenshots (docs/GUIDE.md,
// docs/GUIDE.zh.md and web/README.md give it; TestScreenshotCommand checks
// that they do, and that it names every test calling screenshot).
const screenshotCommand = `go test ./internal/web -run 'TestAppInBrowser|TestGovernanceInBrowser|TestMembersInBrowser|TestAppOffline|TestSaleInBrowser' -web.screenshots`

// waitTimeout bounds each wait for the page.
const waitTimeout = 30 * time.Second

// The passphrase of the test's wallet.
const passphrase = "a passphrase for the test"

// TestAppInBrowser uses the app as a member would, in headless Chromium,
// on a real network (one node of the organization application, the
// devnet's accounts): a wallet with alice's and bob's key files, alice's
// verified account, a transfer signed by alice, cosigned by bob through
// the link and submitted, its commit, and bob's verified balance after
// it; then the same account in Chinese, a node that lies about a proof,
// a node that cannot be reached, a transfer the node refuses, and a wrong
// passphrase.
func TestAppInBrowser(t *testing.T) {
	n := newNetwork(t)
	b := newBrowser(t, n.base)
	u := &ui{t: t, b: b, base: n.base}
	alice, bob := n.key(t, "alice").Public().String(), n.key(t, "bob").Public().String()
	u.do(chromedp.EmulateViewport(1100, 860))
	u.waitFor(`document.body.dataset.app === 'ready'`)

	// The wallet: set up, then alice's key file chosen as a file, bob's pasted.
	createWallet(u)
	u.do(chromedp.SetUploadFiles(chromedp.CSS("#import-file"), []string{n.keyFile("alice")}))
	u.click("#import")
	u.waitFor(fmt.Sprintf(`!!document.querySelector('li.account[data-public="%s"]')`, alice))
	bobFile, err := os.ReadFile(n.keyFile("bob"))
	if err != nil {
		t.Fatal(err)
	}
	u.set("#import-text", string(bobFile))
	u.set("#import-label", "bob")
	u.click("#import")
	u.waitFor(fmt.Sprintf(`!!document.querySelector('li.account[data-public="%s"]')`, bob))
	if got := u.text(fmt.Sprintf(`li.account[data-public="%s"] .label`, alice)); got != "alice" {
		t.Errorf("alice's label %q (from the file's name)", got)
	}
	u.screenshot("wallet")

	// Alice's account, verified.
	u.visit("#/account/" + alice)
	u.waitFor(`document.querySelector('#account')?.dataset.state === 'verified'`)
	u.expectAccount("alice", "member", 10_000, 0)
	u.screenshot("account")

	// Alice signs a transfer to bob.
	const amount, memo = 25, "rent for May"
	u.visit("#/transfer?from=" + alice)
	u.waitFor(`!!document.querySelector('#from-balance') && document.querySelector('#nonce').value !== ''`)
	if got := u.value("#nonce"); got != "0" {
		t.Errorf("the nonce offered is %s, want alice's lowest unused, 0", got)
	}
	u.set("#to", bob)
	u.set("#amount", strconv.Itoa(amount))
	u.set("#memo", memo)
	u.click("#sign")
	u.waitFor(`!!document.querySelector('#cosign-link')`)
	link := u.attr("#cosign-link", "href")
	if !strings.HasPrefix(link, n.base+"/#cosign=") {
		t.Fatalf("the cosign link is %q", link)
	}
	// Nonce 0 is held by the transfer waiting for bob: the next takes 1.
	u.waitFor(`document.querySelector('#nonce')?.value === '1'`)
	u.screenshot("transfer")

	// Bob opens the link in a new page (the wallet locked), sees what he
	// cosigns, unlocks, cosigns and submits.
	u.load(link)
	u.waitFor(`!!document.querySelector('#tx-view')`)
	u.waitFor(`document.querySelector('#tx-from strong')?.textContent === 'alice' && document.querySelector('#tx-to strong')?.textContent === 'bob'`)
	if got := u.attr("#tx-from", "data-key") + " " + u.attr("#tx-to", "data-key"); got != alice+" "+bob {
		t.Errorf("from and to: %s", got)
	}
	if got := u.attr("#tx-amount", "data-value"); got != strconv.Itoa(amount) {
		t.Errorf("amount %s", got)
	}
	if got := u.text("#tx-memo"); got != memo {
		t.Errorf("memo %q", got)
	}
	if got := u.attr("#tx-signatures", "data-count"); got != "1" {
		t.Errorf("%s signatures before bob's", got)
	}
	u.set("#cosign-unlock-passphrase", passphrase)
	u.click("#cosign-unlock-button")
	u.waitFor(`!!document.querySelector('#cosign')`)
	u.screenshot("cosign")
	u.click("#cosign")
	u.waitFor(`document.querySelector('#tx-view')?.dataset.complete === 'yes'`)
	u.click("#submit")
	u.waitFor(`['committed', 'failed', 'refused', 'timeout'].includes(document.querySelector('#tx-status')?.dataset.state)`)
	if state := u.attr("#tx-status", "data-state"); state != "committed" {
		t.Fatalf("the transfer is %s: %s", state, u.text("#tx-status"))
	}
	height := u.attr("#tx-status", "data-height")
	if got, want := u.text("#tx-status"), "committed at height "+height; got != want {
		t.Errorf("the status says %q, want %q", got, want)
	}
	u.waitFor(`['verified', 'failed'].includes(document.querySelector('#tx-inclusion')?.dataset.state)`)
	if state := u.attr("#tx-inclusion", "data-state"); state != "verified" {
		t.Errorf("inclusion: %s: %s", state, u.text("#tx-inclusion"))
	}
	u.screenshot("committed")
	if got := n.balance(t, "bob"); got != 10_000+amount {
		t.Fatalf("bob has %d on the node, want %d", got, 10_000+amount)
	}

	// Bob's account, verified at that height or later, with the amount.
	u.click("#view-recipient")
	u.waitFor(fmt.Sprintf(`document.querySelector('#account')?.dataset.state === 'verified' && Number(document.querySelector('#account').dataset.height) >= %s`, height))
	u.expectAccount("bob", "member", 10_000+amount, 0)
	u.visit("#/account/" + alice)
	u.waitFor(`document.querySelector('#balance')?.dataset.value === '9975'`)
	u.expectAccount("alice", "member", 10_000-amount, 1)

	// A new page load of the account view (the wallet locked: its public
	// keys are in clear), verified from the genesis: the time it takes.
	u.load(n.base + "/#/account/" + bob)
	u.waitFor(`document.querySelector('#account')?.dataset.state === 'verified'`)
	u.expectAccount("bob", "member", 10_000+amount, 0)
	t.Logf("a page load of the account view, verified: %.0f ms (navigation start to the badge)", eval[float64](u, `performance.now()`))

	// In Chinese.
	u.click("#lang-switch")
	u.waitFor(`document.querySelector('#badge')?.textContent.includes('已在高度') && document.querySelector('#nav-wallet')?.textContent === '钱包'`)
	u.screenshot("account-zh")
	u.click("#lang-switch")
	u.waitFor(`document.querySelector('#badge')?.textContent.includes('verified at height')`)

	t.Run("an account that does not exist", func(t *testing.T) {
		u := u.with(t)
		nobody := seeded(t, "nobody").Public().String()
		u.visit("#/account/" + nobody)
		u.waitFor(`['absent', 'verified', 'failed', 'unreachable'].includes(document.querySelector('#account')?.dataset.state)`)
		if state := u.attr("#account", "data-state"); state != "absent" {
			t.Fatalf("the account is %s", state)
		}
		if got := u.text("#absent"); !strings.HasPrefix(got, "No account holds this key: proven absent at height ") || !strings.HasPrefix(u.text("#badge"), "✓ verified at height") {
			t.Errorf("the page says %q, badge %q", got, u.text("#badge"))
		}
	})

	t.Run("links to cosign", func(t *testing.T) {
		u := u.with(t)
		// A transfer to someone whose key is not in the wallet.
		stranger := seeded(t, "stranger")
		u.visit("#cosign=" + partialTransfer(t, n.key(t, "alice"), stranger.Public(), networkChainID))
		u.waitFor(`!!document.querySelector('#cosign-wait')`)
		if u.exists("#cosign") {
			t.Error("the page offers to cosign for a key the wallet lacks")
		}
		// One signed for another network.
		u.visit("#cosign=" + partialTransfer(t, n.key(t, "alice"), n.key(t, "bob").Public(), "another-chain"))
		u.waitFor(`!!document.querySelector('#cosign-error')`)
		if got := u.text("#cosign-error"); !strings.HasPrefix(got, "Signature 1 does not verify on this network (web-app-test)") {
			t.Errorf("the page says %q", got)
		}
		// Not a transaction.
		u.visit("#cosign=0102")
		u.waitFor(`!!document.querySelector('#cosign-error')`)
		if got := u.text("#cosign-error"); !strings.HasPrefix(got, "Not a valid transfer: ") {
			t.Errorf("the page says %q", got)
		}
	})

	t.Run("a tampered proof", func(t *testing.T) {
		u := u.with(t)
		n.tamper.Store(true)
		defer n.tamper.Store(false)
		u.visit("#/account/" + bob)
		u.waitFor(`['failed', 'verified', 'unreachable'].includes(document.querySelector('#account')?.dataset.state)`)
		if state := u.attr("#account", "data-state"); state != "failed" {
			t.Fatalf("the account is %s with a tampered proof", state)
		}
		if got := u.text("#badge"); got != "✗ proof failed: state_root" {
			t.Errorf("the badge says %q", got)
		}
		if u.exists("#balance") || u.exists("#name") || strings.Contains(u.text("#account"), "10,025") {
			t.Errorf("the page shows data from a proof that failed: %q", u.text("#account"))
		}
		u.screenshot("proof-failed")
	})

	t.Run("an unreachable node", func(t *testing.T) {
		u := u.with(t)
		n.down.Store(true)
		defer n.down.Store(false)
		// An account never verified in this browser: nothing to show.
		u.visit("#/account/" + seeded(t, "never seen").Public().String())
		u.waitFor(`['failed', 'verified', 'unreachable', 'offline'].includes(document.querySelector('#account')?.dataset.state)`)
		if state := u.attr("#account", "data-state"); state != "unreachable" {
			t.Fatalf("the account is %s with the node down", state)
		}
		if got := u.text("#badge"); !strings.HasPrefix(got, "node unreachable: ") {
			t.Errorf("the badge says %q", got)
		}
		// Alice's, verified before: the last verified state, labelled
		// offline (TestAppOffline checks more).
		u.visit("#/account/" + alice)
		u.waitFor(`['failed', 'verified', 'unreachable', 'offline'].includes(document.querySelector('#account')?.dataset.state)`)
		if state := u.attr("#account", "data-state"); state != "offline" {
			t.Fatalf("alice's account is %s with the node down", state)
		}
		if got := u.text("#badge"); !strings.HasPrefix(got, "⚠ offline — verified at height ") {
			t.Errorf("the badge says %q", got)
		}
	})

	t.Run("a transfer the node refuses", func(t *testing.T) {
		u := u.with(t)
		u.visit("#/transfer?from=" + alice)
		u.waitFor(`!!document.querySelector('#from-balance') && document.querySelector('#nonce').value !== ''`)
		u.set("#to", bob)
		u.set("#amount", "1000000000")
		u.set("#memo", "房租")
		u.set("#sign-passphrase", passphrase) // the page was loaded again: the wallet is locked
		u.click("#sign")
		u.waitFor(`!!document.querySelector('#cosign-link')`)
		link := u.attr("#cosign-link", "href")
		u.visit(link[strings.Index(link, "#"):]) // the wallet is unlocked: bob cosigns at once
		u.click("#cosign")
		u.waitFor(`document.querySelector('#tx-view')?.dataset.complete === 'yes'`)
		if got := u.text("#tx-memo"); got != "房租" {
			t.Errorf("the memo reads %q", got)
		}
		u.click("#submit")
		u.waitFor(`['committed', 'failed', 'refused', 'timeout'].includes(document.querySelector('#tx-status')?.dataset.state)`)
		if state := u.attr("#tx-status", "data-state"); state != "refused" {
			t.Fatalf("the transfer is %s: %s", state, u.text("#tx-status"))
		}
		got := u.text("#tx-status")
		if !strings.HasPrefix(got, "refused by the node: ") || !strings.Contains(got, "balance 9975 is less than 1000000000") {
			t.Errorf("the page says %q, want the node's reason", got)
		}
		u.screenshot("refused")
	})

	t.Run("a transfer never included", func(t *testing.T) {
		u := u.with(t)
		n.swallow.Store(true)
		defer n.swallow.Store(false)
		// The app waits 30 s; the test, 1.5 (the module is the page's own).
		eval[bool](u, `import('/app.js').then((m) => { m.app.node.followTimeoutMs = 1500; return true; })`)
		u.visit("#/transfer?from=" + alice)
		u.waitFor(`!!document.querySelector('#from-balance') && document.querySelector('#nonce').value !== ''`)
		u.set("#to", bob)
		u.set("#amount", "1")
		u.click("#sign")
		u.waitFor(`!!document.querySelector('#cosign-link')`)
		link := u.attr("#cosign-link", "href")
		u.visit(link[strings.Index(link, "#"):])
		u.click("#cosign")
		u.waitFor(`document.querySelector('#tx-view')?.dataset.complete === 'yes'`)
		u.click("#submit")
		u.waitFor(`['committed', 'failed', 'refused', 'timeout'].includes(document.querySelector('#tx-status')?.dataset.state)`)
		if state := u.attr("#tx-status", "data-state"); state != "timeout" {
			t.Fatalf("the transfer is %s: %s", state, u.text("#tx-status"))
		}
		if got := u.text("#tx-status"); !strings.HasPrefix(got, "Not in a block after 1.5 s. It may still be included") || !u.exists("#follow-again") {
			t.Errorf("the page says %q", got)
		}
	})

	t.Run("a wrong passphrase", func(t *testing.T) {
		u := u.with(t)
		u.visit("#/wallet")
		u.click("#lock")
		u.waitFor(`!!document.querySelector('#wallet-locked')`)
		u.set("#unlock-passphrase", passphrase+"!")
		u.click("#unlock-button")
		u.waitFor(`document.querySelector('#unlock-error')?.hidden === false`)
		if got := u.text("#unlock-error"); got != "Wrong passphrase." {
			t.Errorf("the page says %q", got)
		}
		if !u.exists("#wallet-locked") || u.exists("#wallet-unlocked") {
			t.Error("a wrong passphrase unlocked the wallet")
		}
		u.set("#unlock-passphrase", passphrase)
		u.click("#unlock-button")
		u.waitFor(`!!document.querySelector('#wallet-unlocked')`)
	})
}

// ui drives the app's page.
type ui struct {
	t    *testing.T
	b    *browser
	base string
}

// with is u for a subtest: failures are the subtest's.
func (u *ui) with(t *testing.T) *ui { return &ui{t: t, b: u.b, base: u.base} }

// page is the browsertest.Page the helpers below drive.
func (u *ui) page() *browsertest.Page {
	return &browsertest.Page{TB: u.t, Ctx: u.b.ctx, Wait: waitTimeout}
}

// do runs actions on the page.
func (u *ui) do(actions ...chromedp.Action[chromedp.Void]) {
	u.t.Helper()
	u.page().Do(actions...)
}

// set sets the value of an input.
func (u *ui) set(sel, value string) {
	u.t.Helper()
	u.page().Set(sel, value)
}

// click clicks an element, once it is there and visible.
func (u *ui) click(sel string) {
	u.t.Helper()
	u.page().Click(sel)
}

// waitFor waits until a JS expression is true.
func (u *ui) waitFor(expr string) {
	u.t.Helper()
	u.page().WaitFor(expr)
}

// eval evaluates a JS expression.
func eval[T any](u *ui, expr string) T {
	u.t.Helper()
	return browsertest.Eval[T](u.page(), expr)
}

// text is the text of the first element matching a CSS selector ("" if none).
func (u *ui) text(sel string) string {
	u.t.Helper()
	return u.page().Text(sel)
}

// attr is an attribute of the first element matching sel ("" if none).
func (u *ui) attr(sel, name string) string {
	u.t.Helper()
	return u.page().Attr(sel, name)
}

// value is the value of an input.
func (u *ui) value(sel string) string {
	u.t.Helper()
	return u.page().Value(sel)
}

func (u *ui) exists(sel string) bool {
	u.t.Helper()
	return u.page().Exists(sel)
}

// visit goes to a route of the app (a hash) in the same page.
func (u *ui) visit(hash string) {
	u.t.Helper()
	u.page().Visit(hash)
}

// load opens url in a new page load (the app starts again: the wallet is
// locked).
func (u *ui) load(url string) {
	u.t.Helper()
	u.page().Load(url)
}

// expectAccount checks the verified account the page shows.
func (u *ui) expectAccount(name, role string, balance, nonce uint64) {
	u.t.Helper()
	got := fmt.Sprintf("%s %s %s %s", u.text("#name"), u.attr("#role", "data-value"), u.attr("#balance", "data-value"), u.attr("#nonce", "data-value"))
	if want := fmt.Sprintf("%s %s %d %d", name, role, balance, nonce); got != want {
		u.t.Errorf("the account shows %q, want %q", got, want)
	}
	badge := u.text("#badge")
	height := u.attr("#account", "data-height")
	if want := fmt.Sprintf("✓ verified at height %s by nodes [0] of 1", height); badge != want {
		u.t.Errorf("the badge says %q, want %q", badge, want)
	}
}

// screenshot writes the page to docs/screenshots/NAME.png when
// -web.screenshots is given.
func (u *ui) screenshot(name string) {
	u.t.Helper()
	if !*screenshots {
		return
	}
	// Let the last render reach the screen: the fonts loaded, then two
	// frames drawn.
	eval[bool](u, `document.fonts.ready.then(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => done(true)))))`)
	png, err := chromedp.Run(u.b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		u.t.Fatal(err)
	}
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		u.t.Fatal(err)
	}
	path := filepath.Join(screenshotDir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		u.t.Fatal(err)
	}
	u.t.Logf("wrote %s", path)
}

// partialTransfer is a transfer of 1 from one key to another, signed by the
// sender for chainID only, in hex.
func partialTransfer(t *testing.T, from *crypto.PrivateKey, to crypto.PublicKey, chainID string) string {
	t.Helper()
	tr := tx.New(from.Public(), 0, &tx.Transfer{To: to, Amount: 1})
	if err := tr.Sign(chainID, from); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(tr.Marshal())
}
