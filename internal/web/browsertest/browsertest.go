// Package browsertest starts a headless Chromium for the tests and
// benchmarks that use the members' web app in a real browser (those of
// internal/web and internal/gateway), and drives its pages.
//
// Without a Chromium a test is skipped, unless MASS_BROWSER_REQUIRED is
// set (and not "0"), which makes that a failure (for CI). The browser is
// $MASS_CHROMIUM, or the first of Names on the PATH. Each browser gets a
// fresh profile and flags for a quiet, offline browser; it stops at the
// test's end.
//
// It imports chromedp and the standard library only; it is for tests.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Names are the executables tried, in order, when MASS_CHROMIUM does not
// name one.
var Names = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless_shell"}

// Chromium returns the browser to run: $MASS_CHROMIUM, or the first of
// Names on the PATH; "" if none.
func Chromium() string {
	if p := os.Getenv("MASS_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range Names {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Required says whether a missing browser fails the tests
// (MASS_BROWSER_REQUIRED set, and not to "0") rather than skipping them.
func Required() bool {
	v := os.Getenv("MASS_BROWSER_REQUIRED")
	return v != "" && v != "0"
}

// Start starts a headless Chromium with a fresh profile (in tb.TempDir())
// and returns the context of its first tab. The browser lives until the
// test's end, and at most timeout: every action on it fails after that.
// Without a Chromium the test is skipped, or fails if Required.
func Start(tb testing.TB, timeout time.Duration) context.Context {
	tb.Helper()
	path := Chromium()
	if path == "" {
		msg := "no Chromium found (tried $MASS_CHROMIUM and " + strings.Join(Names, ", ") +
			" on the PATH): install Debian's chromium package (apt-get install -y chromium)"
		if Required() {
			tb.Fatal(msg + "; MASS_BROWSER_REQUIRED is set, so this is a failure")
		}
		tb.Skip(msg + "; set MASS_BROWSER_REQUIRED=1 to make this a failure")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // the tests may run as root
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.UserDataDir(tb.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("mute-audio", true),
	)
	bounded, cancelTimeout := context.WithTimeout(context.Background(), timeout)
	alloc, cancelAlloc := chromedp.NewExecAllocator(bounded, opts...)
	ctx, cancelTab := chromedp.NewContext(alloc)
	// Runs before tb.TempDir's removal (cleanups run last first): the
	// browser is gone before its profile is deleted.
	tb.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		cancelTimeout()
	})
	// The first Do starts the browser and binds it to ctx.
	if err := chromedp.Do(ctx); err != nil {
		tb.Fatalf("starting %s: %v", path, err)
	}
	return ctx
}

// Page drives one tab of the app.
type Page struct {
	TB  testing.TB
	Ctx context.Context // a tab's chromedp context
	// Wait bounds each WaitFor.
	Wait time.Duration
}

// Do runs actions on the page.
func (p *Page) Do(actions ...chromedp.Action[chromedp.Void]) {
	p.TB.Helper()
	if err := chromedp.Do(p.Ctx, actions...); err != nil {
		p.TB.Fatalf("on the page: %v", err)
	}
}

// Set sets the value of an input.
func (p *Page) Set(sel, value string) {
	p.TB.Helper()
	p.Do(chromedp.SetValue(chromedp.CSS(sel), value))
}

// Click clicks an element, once it is there and visible.
func (p *Page) Click(sel string) {
	p.TB.Helper()
	p.Do(chromedp.Click(chromedp.CSS(sel)))
}

// WaitFor waits until a JS expression is true, for up to p.Wait.
func (p *Page) WaitFor(expr string) {
	p.TB.Helper()
	p.WaitLong(expr, p.Wait)
}

// WaitLong waits until a JS expression is true, for up to d; failing, it
// shows what the page's main element says.
func (p *Page) WaitLong(expr string, d time.Duration) {
	p.TB.Helper()
	if _, err := chromedp.Run(p.Ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(d))); err != nil {
		body, _ := chromedp.Run(p.Ctx, chromedp.Evaluate[string](`document.querySelector('main')?.innerText ?? ''`))
		p.TB.Fatalf("waiting for %s: %v\nthe page shows:\n%s", expr, err, body)
	}
}

// Eval evaluates a JS expression (awaiting a promise) on the page.
func Eval[T any](p *Page, expr string) T {
	p.TB.Helper()
	v, err := chromedp.Run(p.Ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		p.TB.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// Text is the text of the first element matching a CSS selector ("" if
// none).
func (p *Page) Text(sel string) string {
	p.TB.Helper()
	return Eval[string](p, fmt.Sprintf(`document.querySelector(%q)?.textContent ?? ''`, sel))
}

// Attr is an attribute of the first element matching sel ("" if none).
func (p *Page) Attr(sel, name string) string {
	p.TB.Helper()
	return Eval[string](p, fmt.Sprintf(`document.querySelector(%q)?.getAttribute(%q) ?? ''`, sel, name))
}

// Value is the value of an input.
func (p *Page) Value(sel string) string {
	p.TB.Helper()
	return Eval[string](p, fmt.Sprintf(`document.querySelector(%q)?.value ?? ''`, sel))
}

// Exists says whether an element matches sel.
func (p *Page) Exists(sel string) bool {
	p.TB.Helper()
	return Eval[bool](p, fmt.Sprintf(`!!document.querySelector(%q)`, sel))
}

// Visit goes to a route of the app (a hash) in the same page load.
func (p *Page) Visit(hash string) {
	p.TB.Helper()
	// The same hash again makes no hashchange: go through another.
	Eval[bool](p, fmt.Sprintf(`(location.hash === %[1]q && (location.hash = '#/'), location.hash = %[1]q, true)`, hash))
}

// Load opens url in a new page load (the app starts again: the wallet is
// locked) and waits until the app is ready.
func (p *Page) Load(url string) {
	p.TB.Helper()
	p.Do(chromedp.Navigate("about:blank"), chromedp.Navigate(url))
	p.WaitFor(`document.body?.dataset.app === 'ready'`)
}
