package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/mass-consensus/mass/internal/apijson"
	"github.com/mass-consensus/mass/internal/app/state"
	"github.com/mass-consensus/mass/internal/chain"
	"github.com/mass-consensus/mass/internal/web/browsertest"
	"github.com/mass-consensus/mass/light"
)

// browserTimeout bounds each test's use of the browser: starting it,
// loading the page and every evaluation.
const browserTimeout = 2 * time.Minute

// browser is a headless Chromium with one tab on the test server's page.
type browser struct {
	ctx context.Context // bounded by browserTimeout

	mu      sync.Mutex
	console []string // the page's console and uncaught exceptions
}

// newBrowser starts a headless Chromium with a fresh profile and opens the
// app's page at base, waiting until the page has loaded the light client
// and found WebCrypto Ed25519. Without a Chromium the test is skipped, or
// fails if MASS_BROWSER_REQUIRED is set (package browsertest).
func newBrowser(t testing.TB, base string) *browser {
	t.Helper()
	ctx := browsertest.Start(t, browserTimeout)
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
	b.callModule(t, "/test/harness.js", fn, arg, out)
}

// callModule runs export fn of the module at path on arg and decodes the
// JSON text it returns into out.
func (b *browser) callModule(t *testing.T, path, fn string, arg, out any) {
	t.Helper()
	in, err := json.Marshal(arg)
	if err != nil {
		t.Fatal(err)
	}
	expr := fmt.Sprintf(`import(%q).then((h) => h.%s(%s))`, path, fn, in)
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
// light.Remote does: in the API's shapes (package apijson), each proof and
// segment through package light's own strict JSON decoding, then verified
// by the client. The answers' shape checks (apijson's Check) are left out:
// what the tamperings change must be refused by the light client itself.
func runGo(t *testing.T, sc scenario) outcome {
	t.Helper()
	var out outcome
	c, err := light.New([]byte(sc.Genesis))
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

// decodeAnswer decodes an answer's JSON text; a malformed answer is
// invalid, as light.Remote has it.
func decodeAnswer(text string, v any) error {
	err := json.Unmarshal([]byte(text), v)
	if err != nil && !errors.Is(err, light.ErrInvalid) {
		return errors.Join(light.ErrInvalid, err)
	}
	return err
}

// accountAnswer is GET /v1/accounts/{id}'s answer, its proof read by
// package light.
type accountAnswer struct {
	apijson.Account
	Proof *light.Leaf `json:"proof"`
}

// organizationAnswer is GET /v1/organization's answer, its proof read by
// package light.
type organizationAnswer struct {
	apijson.Organization
	Proof *light.Leaf `json:"proof"`
}

func goStep(c *light.Client, s step) (*proven, error) {
	switch s.Kind {
	case "segment":
		var seg light.Segment
		if err := decodeAnswer(s.Answer, &seg); err != nil {
			return nil, err
		}
		from := c.Height() + 1
		if err := c.Verify(&seg); err != nil {
			return nil, err
		}
		return &proven{From: from, To: c.Height()}, nil
	case "account":
		var a accountAnswer
		if err := decodeAnswer(s.Answer, &a); err != nil {
			return nil, err
		}
		return goAccount(c, a.Proof, s.Account)
	case "organization":
		var a organizationAnswer
		if err := decodeAnswer(s.Answer, &a); err != nil {
			return nil, err
		}
		return goOrganization(c, a.Proof)
	}
	return nil, fmt.Errorf("unknown step kind %q", s.Kind)
}

// provenRecord is what every verified record proves: its height, presence,
// the supply, and who certified it.
func provenRecord(r *light.Record) *proven {
	return &proven{Height: r.Height, Found: r.Found, Supply: u64s(r.Supply), Signers: r.Signers, Nodes: r.Nodes}
}

func noProof() error { return fmt.Errorf("%w: the answer has no proof", light.ErrInvalid) }

func goAccount(c *light.Client, l *light.Leaf, who string) (*proven, error) {
	if l == nil {
		return nil, noProof()
	}
	id, err := light.ParseAccountID(who)
	if err != nil {
		return nil, err
	}
	acct, r, err := c.VerifyAccount(l, id)
	if err != nil {
		return nil, err
	}
	if set, err := c.NodeSet(r.Height); err != nil || set.N() != r.Nodes {
		return nil, fmt.Errorf("the record names %d nodes, the client's set of height %d: %+v %v", r.Nodes, r.Height, set, err)
	}
	p := provenRecord(r)
	p.Balance = u64s(r.Sum)
	if acct == nil {
		return p, nil
	}
	// light.Account leaves out the record's used-nonce bitmap: it is read
	// from the proven record's encoding, which light.Account must agree
	// with in all it has.
	rec, err := state.UnmarshalAccount(r.Value)
	if err != nil {
		return nil, fmt.Errorf("the proven record of %s: %w", id, err)
	}
	var flags uint8
	for bit, on := range map[uint8]bool{state.FlagApplying: acct.Applying, state.FlagFrozen: acct.Frozen, state.FlagSuspended: acct.Suspended} {
		if on {
			flags |= bit
		}
	}
	if acct.ID != id || acct.Balance != r.Sum || acct.Name != rec.Name || acct.Role != rec.Role.String() || acct.Nonce != rec.Nonce || flags != rec.Flags {
		return nil, fmt.Errorf("light.Account %+v disagrees with its proven record %+v (sum %d)", acct, rec, r.Sum)
	}
	p.Nonce, p.Used, p.Name, p.Role, p.Flags = u64s(acct.Nonce), u64s(rec.Used), acct.Name, acct.Role, int(flags)
	return p, nil
}

func goOrganization(c *light.Client, l *light.Leaf) (*proven, error) {
	if l == nil {
		return nil, noProof()
	}
	o, r, err := c.VerifyOrganization(l)
	if err != nil {
		return nil, err
	}
	if set, err := c.NodeSet(r.Height); err != nil || set.N() != r.Nodes {
		return nil, fmt.Errorf("the record names %d nodes, the client's set of height %d: %+v %v", r.Nodes, r.Height, set, err)
	}
	p := provenRecord(r)
	p.Name, p.Policy = o.Name, o.Policy
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
