package web

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mass-consensus/mass/internal/app/gov"
	"github.com/mass-consensus/mass/internal/app/orgapp"
	"github.com/mass-consensus/mass/internal/smt"
)

// phaseTimeout bounds a wait for a proposal's phase (the fast profile's
// phases last seconds).
const phaseTimeout = 120 * time.Second

// Ways the test's proxy lies in the answers about a proposal
// (GET /v1/proposals/{id}…), set in govLies.
const (
	tellTruth  = iota
	flipProof  // a bit of a sibling of the first proof
	flipRecord // the last hex digit of the proven value of the record govLies.key
	lieTally   // the view's first tally, one approval more: the records genuine
)

// govLies says how the proxy lies: mode, and the key (hex) of flipRecord.
type govLies struct {
	mode atomic.Int32
	key  atomic.Value
}

// newGovNetwork is newNetwork with the fast governance profile, and a
// proxy that lies about a proposal's answers as lies says.
func newGovNetwork(t *testing.T, lies *govLies) *network {
	t.Helper()
	fast, err := orgapp.LoadGovernance("fast")
	if err != nil {
		t.Fatal(err)
	}
	n := startNetwork(t, fast)
	n.serveProxied(t, func(resp *http.Response) error {
		if !strings.HasPrefix(resp.Request.URL.Path, "/v1/proposals/") || resp.StatusCode != http.StatusOK {
			return nil
		}
		switch lies.mode.Load() {
		case flipProof:
			return tamperFirstProof(resp)
		case flipRecord:
			key, _ := lies.key.Load().(string)
			return rewriteAnswer(resp, func(a map[string]any) {
				ps, _ := a["proofs"].([]any)
				for _, p := range ps {
					if m, _ := p.(map[string]any); m["key"] == key {
						v, _ := m["value"].(string)
						last := "0"
						if strings.HasSuffix(v, "0") {
							last = "1"
						}
						m["value"] = v[:len(v)-1] + last
					}
				}
			})
		case lieTally:
			return rewriteAnswer(resp, func(a map[string]any) {
				p, _ := a["proposal"].(map[string]any)
				rounds, _ := p["rounds"].([]any)
				if len(rounds) == 0 {
					return
				}
				ms, _ := rounds[0].(map[string]any)["meetings"].([]any)
				tally, _ := ms[0].(map[string]any)["tally"].([]any)
				x := tally[0].(map[string]any)
				n, _ := strconv.Atoi(string(x["approvals"].(json.Number)))
				x["approvals"] = n + 1
			})
		}
		return nil
	})
	n.waitCertified(t, 1)
	return n
}

// tamperFirstProof flips a bit of a sibling of the answer's first proof.
func tamperFirstProof(resp *http.Response) error {
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	var a map[string]json.RawMessage
	if err := json.Unmarshal(body, &a); err != nil {
		return err
	}
	var proofs []map[string]any
	if raw, ok := a["proofs"]; ok {
		if err := json.Unmarshal(raw, &proofs); err != nil {
			return err
		}
	}
	if len(proofs) > 0 {
		raw, err := hex.DecodeString(proofs[0]["proof"].(string))
		if err != nil {
			return err
		}
		p, err := smt.UnmarshalProof(raw)
		if err != nil {
			return err
		}
		if len(p.Siblings) == 0 {
			return fmt.Errorf("web test: a proof without siblings to tamper with")
		}
		p.Siblings[0].Hash[0] ^= 0x01
		proofs[0]["proof"] = hex.EncodeToString(p.Marshal())
		if a["proofs"], err = json.Marshal(proofs); err != nil {
			return err
		}
	}
	if body, err = json.Marshal(a); err != nil {
		return err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return nil
}

// rewriteAnswer edits a JSON answer (numbers kept exact).
func rewriteAnswer(resp *http.Response, edit func(a map[string]any)) error {
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	var a map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&a); err != nil {
		return err
	}
	edit(a)
	if body, err = json.Marshal(a); err != nil {
		return err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return nil
}

// waitLong waits until a JS expression is true, for up to d.
func (u *ui) waitLong(expr string, d time.Duration) {
	u.t.Helper()
	u.page().WaitLong(expr, d)
}

// choose sets a select's value and tells the page.
func (u *ui) choose(sel, value string) {
	u.t.Helper()
	eval[bool](u, fmt.Sprintf(`(() => { const s = document.querySelector(%q); s.value = %q; s.dispatchEvent(new Event('change')); return s.value === %q; })()`, sel, value, value))
}

// clickAct clears the status line status and clicks button.
func (u *ui) clickAct(button, status string) {
	u.t.Helper()
	eval[bool](u, fmt.Sprintf(`(() => { const s = document.querySelector(%q); if (s) s.dataset.state = ''; return true; })()`, status))
	u.click(button)
}

// settled is true once the status line sel has a final state.
func settled(sel string) string {
	return fmt.Sprintf(`['committed', 'failed', 'refused', 'invalid', 'timeout'].includes(document.querySelector(%q)?.dataset.state)`, sel)
}

// TestGovernanceInBrowser runs a proposal's whole course in headless
// Chromium on a real one-node network with the fast governance profile:
// alice creates a proposal with two options (their titles and actions
// shown from the decoded option records), a join the node refuses shows
// its reason, bob joins, alice comments (the comment proven), the meeting
// ends, both vote in their sub-meeting (its members named), the round's
// tallies and winner appear, the publicity counts down, and the proposal
// is executed; names, not IDs, are shown. Then the lies: a tampered
// proof, an option's and a sub-meeting's record with a byte changed, a
// view that lies about a tally over genuine records — each shows "proof
// failed" and none of the proposal's data —, a comment's record changed
// (its badge fails, the proposal's stays). Last, with the network cut,
// the proposal, its comments and the domains open offline from the last
// verified state, labelled with its height and time.
func TestGovernanceInBrowser(t *testing.T) {
	var lies govLies
	n := newGovNetwork(t, &lies)
	f := newFront(t, n.base)
	b := newBrowser(t, f.url)
	u := &ui{t: t, b: b, base: f.url}
	alice, bob := n.key(t, "alice").Public().String(), n.key(t, "bob").Public().String()
	u.do(chromedp.EmulateViewport(1100, 900))
	u.waitFor(`document.body.dataset.app === 'ready'`)
	// The worker installs and takes the page (for the offline part).
	u.waitFor(`!!navigator.serviceWorker.controller && navigator.serviceWorker.controller.state === 'activated'`)

	// The wallet with alice's and bob's keys.
	setUpWallet(u, n)

	// The organization, verified.
	u.visit("#/org")
	u.waitFor(`document.querySelector('#org-card')?.dataset.state === 'verified'`)
	if got := u.text("#org-members"); got != "3" {
		t.Errorf("the organization has %q members, want 3", got)
	}

	// The governance page: the domain general, verified; alice creates.
	u.visit("#/governance")
	u.waitFor(`document.querySelector('#gov')?.dataset.state === 'verified' && !!document.querySelector('#create-form')`)
	if !strings.Contains(u.text("#domain"), "meeting_min") || !strings.HasPrefix(u.text("#gov #badge"), "✓ verified at height") {
		t.Errorf("the domain reads %q", u.text("#domain"))
	}
	u.waitFor(`['verified', 'failed'].includes(document.querySelector('#proposal-list')?.dataset.state) && ['verified', 'failed'].includes(document.querySelector('#executors')?.dataset.state)`)
	u.screenshot("governance")
	u.choose("#create-actor", alice)
	u.set("#create-title", "Where do we have lunch?")
	u.set("#create-body", "Pick one.")
	u.set("#create-option-title-0", "The canteen")
	u.set("#create-option-title-1", "The park")
	u.set("#create-option-actions-1", "add_domain lunch")
	u.set("#create-meeting", "6s")
	u.set("#create-publicity", "3s")
	u.set("#create-capacity", "2")
	u.click("#create")
	u.waitLong(`location.hash.startsWith('#/proposal/') || `+settled("#create-status")+` && document.querySelector('#create-status').dataset.state !== 'committed'`, 60*time.Second)
	if !strings.HasPrefix(eval[string](u, `location.hash`), "#/proposal/") {
		t.Fatalf("the create is %s: %s", u.attr("#create-status", "data-state"), u.text("#create-status"))
	}
	id := strings.TrimPrefix(eval[string](u, `location.hash`), "#/proposal/")
	u.waitFor(`document.querySelector('#proposal')?.dataset.state === 'verified'`)
	if got := u.text("#proposal-author strong"); got != "alice" {
		t.Errorf("the author is shown as %q, want alice", got)
	}
	if got := eval[int](u, `document.querySelectorAll('#options > li').length`); got != 2 {
		t.Errorf("%d options shown", got)
	}
	// The options' titles and actions, from the decoded option records.
	if got := u.text(`#options > li[data-index="1"] .option-title`); got != "The park" {
		t.Errorf("option 1 is %q", got)
	}
	if got := u.text(`#options > li[data-index="1"] .actions code`); got != "add_domain lunch" {
		t.Errorf("option 1's action is %q", got)
	}
	if got := u.text(`#options > li[data-index="0"]`); !strings.Contains(got, "The canteen") || !strings.Contains(got, "no actions") || !strings.Contains(got, "alice") {
		t.Errorf("option 0 reads %q", got)
	}

	// A join the node refuses: a meeting window below the domain's minimum.
	u.choose("#proposal-actor", bob)
	u.waitFor(`!!document.querySelector('#join-form') && !document.querySelector('#join-form').hidden`)
	u.set("#join-meeting", "10ms")
	u.clickAct("#join", "#join-status")
	u.waitLong(settled("#join-status"), 60*time.Second)
	if st, got := u.attr("#join-status", "data-state"), u.text("#join-status"); (st != "refused" && st != "failed") || !strings.Contains(got, "meeting") {
		t.Errorf("the refused join: %s: %q", st, got)
	} else {
		t.Logf("the refused join says: %s", got)
	}
	u.screenshot("gov-refused-join")

	// Bob joins.
	u.set("#join-meeting", "6s")
	u.set("#join-publicity", "3s")
	u.set("#join-capacity", "2")
	u.clickAct("#join", "#join-status")
	u.waitLong(settled("#join-status"), 60*time.Second)
	if st := u.attr("#join-status", "data-state"); st != "committed" {
		t.Fatalf("bob's join is %s: %s", st, u.text("#join-status"))
	}
	u.waitLong(`[...document.querySelectorAll('#roster td strong')].map((e) => e.textContent).join(',') === 'alice,bob'`, 30*time.Second)

	// Alice comments; the comment is shown from its proven record.
	u.choose("#proposal-actor", alice)
	u.waitFor(`document.querySelector('#comments')?.dataset.state === 'verified' && !!document.querySelector('#comment-form')`)
	u.set("#comment-text", "我选公园 🌳")
	u.clickAct("#comment", "#comment-status")
	u.waitLong(settled("#comment-status"), 60*time.Second)
	if st := u.attr("#comment-status", "data-state"); st != "committed" {
		t.Fatalf("the comment is %s: %s", st, u.text("#comment-status"))
	}
	u.waitLong(`[...document.querySelectorAll('#comment-list li pre')].some((e) => e.textContent === '我选公园 🌳')`, 30*time.Second)
	if got, badge := u.text(`#comment-list li[data-index="0"] strong`), u.attr("#comments-badge", "data-state"); got != "alice" || badge != "verified" {
		t.Errorf("the comment is by %q, its badge %q", got, badge)
	}
	u.waitLong(`['meeting', 'voting'].includes(document.querySelector('#proposal')?.dataset.phase)`, phaseTimeout)
	u.screenshot("proposal")

	// The meeting ends; both vote in their sub-meeting.
	u.waitLong(`document.querySelector('#proposal')?.dataset.phase === 'voting' && !!document.querySelector('#my-meeting')`, phaseTimeout)
	if got := u.text("#my-meeting"); !strings.Contains(got, "alice") || !strings.Contains(got, "bob") {
		t.Errorf("bob's meeting reads %q, want the names", got)
	}
	u.screenshot("meeting")
	for _, who := range []string{bob, alice} {
		u.choose("#proposal-actor", who)
		u.waitFor(`!!document.querySelector('#approve-1')`)
		u.click("#approve-1")
		u.clickAct("#vote", "#vote-status")
		u.waitLong(settled("#vote-status"), 60*time.Second)
		if st := u.attr("#vote-status", "data-state"); st != "committed" {
			t.Fatalf("the vote is %s: %s", st, u.text("#vote-status"))
		}
	}

	// The tallies and the winner; the publicity counts down; executed.
	u.waitLong(`!!document.querySelector('#round-1-winners') && !!document.querySelector('#proposal-winner')`, phaseTimeout)
	if got := u.text("#proposal-winner"); got != "The park" {
		t.Errorf("the winner is %q", got)
	}
	if got := u.attr("#round-1 tr[data-option='1']", "data-approvals"); got != "2" {
		t.Errorf("option 1 has %q approvals, want 2", got)
	}
	// The round's sub-meeting with its members' names, its tally and
	// winner, from the decoded round and sub-meeting records.
	if got := u.text(`#round-1 .submeeting[data-meeting="0"] .members`); got != "alice, bob" {
		t.Errorf("the sub-meeting's members read %q", got)
	}
	if got := u.attr("#round-1 tr[data-option='0']", "data-approvals"); got != "0" {
		t.Errorf("option 0 has %q approvals, want 0", got)
	}
	if got := u.text("#round-1 tr.winner td"); got != "The park" {
		t.Errorf("the sub-meeting's winner is %q", got)
	}
	if got := u.text("#round-1-winners"); !strings.Contains(got, "The park") {
		t.Errorf("the round's winners read %q", got)
	}
	u.waitLong(`['publicity', 'executed'].includes(document.querySelector('#proposal')?.dataset.phase)`, phaseTimeout)
	if u.attr("#proposal", "data-phase") == "publicity" {
		u.waitFor(`!!document.querySelector('#deadline-countdown')`)
		t.Logf("publicity: %s", u.text("#deadline-countdown"))
	}
	u.waitLong(`document.querySelector('#proposal')?.dataset.phase === 'executed'`, phaseTimeout)
	u.screenshot("proposal-executed")
	u.click("#lang-switch")
	u.waitFor(`document.querySelector('#proposal')?.dataset.state === 'verified' && document.querySelector('#proposal-winner')?.textContent === 'The park' && document.querySelector('#nav-wallet')?.textContent === '钱包'`)
	u.screenshot("proposal-executed-zh")
	u.click("#lang-switch")
	u.waitFor(`document.querySelector('#proposal')?.dataset.state === 'verified' && document.querySelector('#nav-wallet')?.textContent === 'Wallet'`)
	if strings.Contains(u.text("#proposal"), n.key(t, "alice").Public().ID().String()[:8]) {
		t.Errorf("the page shows alice's ID where it has her name")
	}

	idn, err := strconv.ParseUint(id, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	hexKey := func(k [20]byte) string { return hex.EncodeToString(k[:]) }
	for _, lie := range []struct {
		name  string
		mode  int32
		key   string
		check string
	}{
		{"a tampered proof", flipProof, "", "state_root"},
		{"an option's record", flipRecord, hexKey(gov.OptionKey(idn, 1)), "state_root"},
		{"a sub-meeting's record (its tally)", flipRecord, hexKey(gov.MeetingKey(idn, 1, 0)), "state_root"},
		{"a view that lies about a tally", lieTally, "", "record"},
	} {
		t.Run(lie.name, func(t *testing.T) {
			u := u.with(t)
			lies.key.Store(lie.key)
			lies.mode.Store(lie.mode)
			defer lies.mode.Store(tellTruth)
			u.visit("#/governance")
			u.visit("#/proposal/" + id)
			u.waitLong(`document.querySelector('#proposal')?.dataset.state === 'failed'`, 30*time.Second)
			if got := u.text("#proposal #badge"); got != "✗ proof failed: "+lie.check {
				t.Errorf("the badge says %q, want the check %s", got, lie.check)
			}
			if page := u.text("#proposal"); u.exists("#options") || strings.Contains(page, "The park") || strings.Contains(page, "alice") {
				t.Errorf("the page shows data from a proof that failed: %s", page)
			}
			t.Logf("%s", u.text("#proposal-error"))
		})
	}

	t.Run("a comment's record", func(t *testing.T) {
		u := u.with(t)
		lies.key.Store(hexKey(gov.CommentKey(idn, 0)))
		lies.mode.Store(flipRecord)
		defer lies.mode.Store(tellTruth)
		u.visit("#/governance")
		u.visit("#/proposal/" + id)
		u.waitLong(`document.querySelector('#comments')?.dataset.state === 'failed'`, 30*time.Second)
		if st := u.attr("#proposal", "data-state"); st != "verified" {
			t.Errorf("the proposal is %s", st)
		}
		if u.exists("#comment-list") || strings.Contains(u.text("#comments"), "公园") {
			t.Errorf("the comments show data from a proof that failed: %s", u.text("#comments"))
		}
	})

	t.Run("offline", func(t *testing.T) {
		u := u.with(t)
		u.visit("#/governance")
		u.visit("#/proposal/" + id)
		u.waitLong(`document.querySelector('#proposal')?.dataset.state === 'verified' && document.querySelector('#comments')?.dataset.state === 'verified'`, 30*time.Second)
		height, _ := strconv.Atoi(u.attr("#proposal", "data-height"))
		f.setCut(true)
		defer f.setCut(false)
		u.load(f.url + "/#/proposal/" + id)
		u.waitLong(`['offline', 'verified', 'unreachable', 'failed'].includes(document.querySelector('#proposal')?.dataset.state)`, 30*time.Second)
		if st := u.attr("#proposal", "data-state"); st != "offline" {
			t.Fatalf("offline, the proposal is %s: %s", st, u.text("#proposal"))
		}
		badge := u.text("#proposal #badge")
		saved, _ := strconv.Atoi(u.attr("#proposal #badge", "data-height"))
		if !strings.HasPrefix(badge, "⚠ offline — verified at height ") || saved < height || !strings.Contains(badge, ", ") {
			t.Errorf("the badge says %q (height %d), want offline at %d or later with a time", badge, saved, height)
		}
		if got := u.text(`#options > li[data-index="1"] .option-title`); got != "The park" || u.attr("#proposal", "data-phase") != "executed" {
			t.Errorf("offline, option 1 is %q, the phase %s", got, u.attr("#proposal", "data-phase"))
		}
		u.waitFor(`document.querySelector('#comments')?.dataset.state === 'offline'`)
		if got := u.text("#comment-list"); !strings.Contains(got, "我选公园 🌳") || !strings.HasPrefix(u.text("#comments-badge"), "⚠ offline") {
			t.Errorf("offline, the comments read %q", got)
		}
		u.screenshot("proposal-offline")

		// The governance page: the domains last verified.
		u.visit("#/governance")
		u.waitLong(`['offline', 'verified', 'unreachable', 'failed'].includes(document.querySelector('#gov')?.dataset.state)`, 30*time.Second)
		if st, badge := u.attr("#gov", "data-state"), u.text("#gov #badge"); st != "offline" || !strings.HasPrefix(badge, "⚠ offline — verified at height ") {
			t.Errorf("offline, the governance page is %s: %s", st, badge)
		}
		if !strings.Contains(u.text("#domain"), "meeting_min") {
			t.Errorf("offline, the domain reads %q", u.text("#domain"))
		}
	})
}
