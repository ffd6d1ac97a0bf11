package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/mass-consensus/mass/internal/chain"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/genesis"
	"github.com/mass-consensus/mass/light"
)

// browserTimeout bounds each test's use of the browser: starting it,
// loading the page and every evaluation.
const browserTimeout = 2 * time.Minute

// chromiumNames are the executables tried, in order, when MASS_CHROMIUM
// does not name one.
var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless_shell"}

// findChromium returns the browser to run: $MASS_CHROMIUM, or the first of
// chromiumNames on the PATH; "" if none.
func findChromium() string {
	if p := os.Getenv("MASS_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range chromiumNames {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browserRequired says whether a missing browser fails the tests
// (MASS_BROWSER_REQUIRED set, and not to "0") rather than skipping them.
func browserRequired() bool {
	v := os.Getenv("MASS_BROWSER_REQUIRED")
	return v != "" && v != "0"
}

// browser is a headless Chromium with one tab on the test server's page.
type browser struct {
	ctx context.Context // bounded by browserTimeout

	mu      sync.Mutex
	console []string // the page's console and uncaught exceptions
}

// newBrowser starts a headless Chromium with a fresh profile and opens the
// app's page at base, waiting until the page has loaded the light client
// and found WebCrypto Ed25519. Without a Chromium the test is skipped, or
// fails if MASS_BROWSER_REQUIRED is set.
func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	path := findChromium()
	if path == "" {
		msg := "no Chromium found (tried $MASS_CHROMIUM and " + strings.Join(chromiumNames, ", ") +
			" on the PATH): install Debian's chromium package (apt-get install -y chromium)"
		if browserRequired() {
			t.Fatal(msg + "; MASS_BROWSER_REQUIRED is set, so this is a failure")
		}
		t.Skip(msg + "; set MASS_BROWSER_REQUIRED=1 to make this a failure")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // the tests may run as root
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("mute-audio", true),
	)
	timeout, cancelTimeout := context.WithTimeout(context.Background(), browserTimeout)
	alloc, cancelAlloc := chromedp.NewExecAllocator(timeout, opts...)
	ctx, cancelTab := chromedp.NewContext(alloc)
	// Runs before t.TempDir's removal (cleanups run last first): the
	// browser is gone before its profile is deleted.
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		cancelTimeout()
	})
	// The first Do starts the browser and binds it to ctx (bounded by
	// browserTimeout).
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	b := &browser{ctx: ctx}
	if err := chromedp.Listen(ctx, b.listen); err != nil {
		t.Fatalf("listening to the page: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			b.mu.Lock()
			defer b.mu.Unlock()
			t.Logf("the page's console:\n%s", strings.Join(b.console, "\n"))
		}
	})
	status := chromedp.CSS("#status")
	err := chromedp.Do(ctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#status[data-ready]")))
	if err != nil {
		t.Fatalf("loading the page: %v", err)
	}
	ready, err := chromedp.Run(ctx, chromedp.AttributeValue(status, "data-ready"))
	if err != nil {
		t.Fatal(err)
	}
	if text, err := chromedp.Run(ctx, chromedp.Text(status)); err != nil || ready.Value != "yes" {
		t.Fatalf("the page cannot verify: %q %v", text, err)
	}
	return b
}

// listen keeps the page's console messages and uncaught exceptions.
func (b *browser) listen(ev any) {
	var line string
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		var args []string
		for _, a := range e.Args {
			args = append(args, string(a.Value))
		}
		line = fmt.Sprintf("console.%s: %s", e.Type, strings.Join(args, " "))
	case *runtime.EventExceptionThrown:
		line = (&chromedp.ExceptionError{ExceptionDetails: e.ExceptionDetails}).Error()
	default:
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.console = append(b.console, line)
}

// call runs export fn of the harness (testdata/harness.js) on arg and
// decodes the JSON text it returns into out.
func (b *browser) call(t *testing.T, fn string, arg, out any) {
	t.Helper()
	in, err := json.Marshal(arg)
	if err != nil {
		t.Fatal(err)
	}
	expr := fmt.Sprintf(`import('/test/harness.js').then((h) => h.%s(%s))`, fn, in)
	text, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("harness %s: %v", fn, err)
	}
	if err := json.Unmarshal([]byte(text), out); err != nil {
		t.Fatalf("harness %s answered %q: %v", fn, text, err)
	}
}

// step is one answer for a light client to verify: a segment, an account
// (about Account, an ID or public key in hex) or the organization.
type step struct {
	Kind    string `json:"kind"`
	Answer  string `json:"answer"` // the JSON text, as served
	Account string `json:"account,omitempty"`
}

func segStep(answer string) step { return step{Kind: "segment", Answer: answer} }

func acctStep(who, answer string) step { return step{Kind: "account", Answer: answer, Account: who} }

func orgStep(answer string) step { return step{Kind: "organization", Answer: answer} }

// scenario is a client started from a genesis and the answers it verifies
// in order, until one fails.
type scenario struct {
	Genesis string `json:"genesis"`
	Steps   []step `json:"steps"`
}

// outcome is what a client made of a scenario: each step's proven values
// or failure (the steps after a failure are not run), then its height and
// node sets.
type outcome struct {
	GenesisError *failure     `json:"genesisError,omitempty"`
	Steps        []stepResult `json:"steps"`
	Height       uint64       `json:"height"`
	Eras         []eraResult  `json:"eras,omitempty"`
}

type stepResult struct {
	OK     bool     `json:"ok"`
	Result *proven  `json:"result,omitempty"`
	Error  *failure `json:"error,omitempty"`
}

// failure is a rejection: its class (ProofError, UnknownHeightError), the
// check that failed (JS only) and the message.
type failure struct {
	Name    string `json:"name"`
	Check   string `json:"check"`
	Message string `json:"message"`
}

type eraResult struct {
	From  uint64 `json:"from"`
	Hash  string `json:"hash"`
	Nodes int    `json:"nodes"`
}

// proven is what a step proved, in the same shape from both clients:
// u64s as decimal strings.
type proven struct {
	From uint64 `json:"from,omitempty"` // segments
	To   uint64 `json:"to,omitempty"`

	Height  uint64 `json:"height,omitempty"` // records
	Found   bool   `json:"found,omitempty"`
	Supply  string `json:"supply,omitempty"`
	Signers []int  `json:"signers,omitempty"`
	Nodes   int    `json:"nodes,omitempty"`
	Name    string `json:"name,omitempty"`

	Balance string `json:"balance,omitempty"` // accounts
	Nonce   string `json:"nonce,omitempty"`
	Used    string `json:"used,omitempty"`
	Role    string `json:"role,omitempty"`
	Flags   int    `json:"flags,omitempty"`

	Policy      string `json:"policy,omitempty"` // the organization
	Members     string `json:"members,omitempty"`
	Supervisors string `json:"supervisors,omitempty"`
	Applicants  string `json:"applicants,omitempty"`
}

// runJS runs a scenario in the browser.
func (b *browser) runJS(t *testing.T, sc scenario) outcome {
	t.Helper()
	var out outcome
	b.call(t, "run", sc, &out)
	return out
}

// runGo runs a scenario with Go's light client, reading the answers as
// light.Remote does.
func runGo(t *testing.T, sc scenario) outcome {
	t.Helper()
	var out outcome
	g, err := genesis.Parse([]byte(sc.Genesis))
	if err != nil {
		out.GenesisError = goFailure(err)
		return out
	}
	c, err := light.New(g)
	if err != nil {
		out.GenesisError = goFailure(err)
		return out
	}
	for _, s := range sc.Steps {
		p, err := goStep(c, s)
		if err != nil {
			out.Steps = append(out.Steps, stepResult{Error: goFailure(err)})
			break
		}
		out.Steps = append(out.Steps, stepResult{OK: true, Result: p})
	}
	out.Height = c.Height()
	return out
}

func goFailure(err error) *failure {
	name := "Error"
	switch {
	case errors.Is(err, light.ErrUnknownHeight):
		name = "UnknownHeightError"
	case errors.Is(err, light.ErrInvalid):
		name = "ProofError"
	}
	return &failure{Name: name, Message: err.Error()}
}

// invalidJSON wraps a JSON error as light.Remote does.
func invalidJSON(err error) error { return errors.Join(light.ErrInvalid, err) }

func goStep(c *light.Client, s step) (*proven, error) {
	switch s.Kind {
	case "segment":
		var j light.SegmentJSON
		if err := json.Unmarshal([]byte(s.Answer), &j); err != nil {
			return nil, invalidJSON(err)
		}
		seg, err := j.Decode()
		if err != nil {
			return nil, err
		}
		from := c.Height() + 1
		if err := c.Verify(seg); err != nil {
			return nil, err
		}
		return &proven{From: from, To: c.Height()}, nil
	case "account":
		var a light.AccountAnswer
		if err := json.Unmarshal([]byte(s.Answer), &a); err != nil {
			return nil, invalidJSON(err)
		}
		return goAccount(c, a.Proof, s.Account)
	case "organization":
		var a orgAnswer
		if err := json.Unmarshal([]byte(s.Answer), &a); err != nil {
			return nil, invalidJSON(err)
		}
		return goOrganization(c, a.Proof)
	}
	return nil, fmt.Errorf("unknown step kind %q", s.Kind)
}

// goLeaf decodes an answer's proof and returns the parts of what it proves
// common to every record.
func goLeaf(c *light.Client, j *light.LeafJSON) (*light.Leaf, *proven, error) {
	if j == nil {
		return nil, nil, fmt.Errorf("%w: the answer has no proof", light.ErrInvalid)
	}
	l, err := j.Decode()
	if err != nil {
		return nil, nil, err
	}
	p := &proven{Height: l.Height, Found: l.Found}
	for _, v := range l.Certificate.Votes {
		p.Signers = append(p.Signers, int(v.Signer))
	}
	return l, p, nil
}

// complete adds what only a verified leaf gives: the supply and the set.
func complete(c *light.Client, l *light.Leaf, p *proven) error {
	total, err := c.VerifyLeaf(l)
	if err != nil {
		return err
	}
	set, err := c.NodeSet(l.Height)
	if err != nil {
		return err
	}
	p.Supply, p.Nodes = u64s(total), set.N()
	return nil
}

func goAccount(c *light.Client, j *light.LeafJSON, who string) (*proven, error) {
	l, p, err := goLeaf(c, j)
	if err != nil {
		return nil, err
	}
	id, err := crypto.ParseID(who)
	if k, kerr := crypto.ParsePublicKey(who); kerr == nil {
		id, err = k.ID(), nil
	}
	if err != nil {
		return nil, err
	}
	acct, bal, err := c.VerifyAccount(l, id)
	if err != nil {
		return nil, err
	}
	if err := complete(c, l, p); err != nil {
		return nil, err
	}
	p.Balance = u64s(bal)
	if acct != nil {
		p.Nonce, p.Used, p.Name, p.Role, p.Flags = u64s(acct.Nonce), u64s(acct.Used), acct.Name, acct.Role.String(), int(acct.Flags)
	}
	return p, nil
}

func goOrganization(c *light.Client, j *light.LeafJSON) (*proven, error) {
	l, p, err := goLeaf(c, j)
	if err != nil {
		return nil, err
	}
	o, err := c.VerifyOrganization(l)
	if err != nil {
		return nil, err
	}
	if err := complete(c, l, p); err != nil {
		return nil, err
	}
	p.Name, p.Policy = o.Name, o.Policy.String()
	p.Members, p.Supervisors, p.Applicants = u64s(o.Members), u64s(o.Supervisors), u64s(o.Applicants)
	return p, nil
}

// nodeSetHex is a node set's keys in hex.
func nodeSetHex(s chain.NodeSet) []string {
	var keys []string
	for _, k := range s.Keys {
		keys = append(keys, k.String())
	}
	return keys
}
