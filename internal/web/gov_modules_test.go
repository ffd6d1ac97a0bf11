package web

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/mass-consensus/mass/internal/app/tx"
	"github.com/mass-consensus/mass/internal/wire"
)

// TestGovModules runs web/govtx.js in headless Chromium against Go: every
// governance transaction type built and signed in JavaScript is Go's
// bytes (tx.Unmarshal and Verify accept it, and its body equals the one
// Go builds), actions in their text form encode as tx.ParseAction's, and
// durations read and print as tx.ParseDuration and FormatDuration.
func TestGovModules(t *testing.T) {
	b := newBrowser(t, serveApp(t))
	t.Run("transactions", func(t *testing.T) { testGovBytes(t, b) })
	t.Run("actions", func(t *testing.T) { testGovActions(t, b) })
	t.Run("durations", func(t *testing.T) { testGovDurations(t, b) })
}

// govCase is one transaction: the JS fields and Go's body.
type govCase struct {
	kind   string
	nonce  uint64
	fields map[string]any
	body   tx.Body
}

func mustAction(t *testing.T, s string) tx.Action {
	t.Helper()
	a, err := tx.ParseAction(s)
	if err != nil {
		t.Fatalf("Go cannot parse %q: %v", s, err)
	}
	return a
}

func testGovBytes(t *testing.T, b *browser) {
	const chainID = "web-gov-test"
	alice, bob := seeded(t, "alice"), seeded(t, "bob")
	bobID := bob.Public().ID()
	desire := map[string]any{"meeting": 60000, "publicity": 3600000, "capacity": 5}
	goDesire := tx.Desire{Meeting: 60000, Publicity: 3600000, Capacity: 5}
	actions := []string{"pay treasury 100", "set_param general aggregate median", "add_domain budget", "appoint treasurer " + bobID.String() + " 30d",
		"set_param general meeting_min 1h30m", "mint " + bob.Public().String() + " 5", "rename_domain budget money", "dismiss treasurer",
	}
	var goActions []tx.Action
	for _, a := range actions {
		goActions = append(goActions, mustAction(t, a))
	}
	cases := []govCase{
		{"apply", 0, map[string]any{"name": "carol", "note": "hi 你好"}, &tx.Apply{Name: "carol", Note: "hi 你好"}},
		{"decide", 1, map[string]any{"applicant": bobID.String(), "accept": true}, &tx.Decide{Applicant: bobID, Accept: true}},
		{"decide", 2, map[string]any{"applicant": bobID.String(), "accept": false}, &tx.Decide{Applicant: bobID}},
		{"create", 3, map[string]any{"domain": "general", "title": "Lunch", "body": "Where?\n\tnot far", "desire": desire,
			"options": []any{map[string]any{"title": "yes", "actions": actions}, map[string]any{"title": "no"}}},
			&tx.Create{Domain: "general", Title: "Lunch", Body: "Where?\n\tnot far", Desire: goDesire,
				Options: []tx.Option{{Title: "yes", Actions: goActions}, {Title: "no"}}}},
		{"create", 4, map[string]any{"domain": "general", "title": "t", "desire": desire, "options": []any{map[string]any{"title": "only"}}},
			&tx.Create{Domain: "general", Title: "t", Desire: goDesire, Options: []tx.Option{{Title: "only"}}}},
		{"join", 1 << 60, map[string]any{"proposal": "18446744073709551615", "desire": desire}, &tx.Join{Proposal: 1<<64 - 1, Desire: goDesire}},
		{"option", 5, map[string]any{"proposal": 7, "option": map[string]any{"title": "maybe", "actions": []string{`add_member ` + bobID.String() + ` "Bob Smith"`}}},
			&tx.AddOption{Proposal: 7, Option: tx.Option{Title: "maybe", Actions: []tx.Action{mustAction(t, `add_member `+bobID.String()+` "Bob Smith"`)}}}},
		{"comment", 6, map[string]any{"proposal": 7, "text": "我同意\nyes"}, &tx.Comment{Proposal: 7, Text: "我同意\nyes"}},
		{"vote", 7, map[string]any{"proposal": 7, "round": 2, "meeting": 300, "approve": []int{0, 2, 31}}, &tx.Vote{Proposal: 7, Round: 2, Meeting: 300, Approve: []uint8{0, 2, 31}}},
		{"freeze", 8, map[string]any{"proposal": 7}, &tx.Freeze{Proposal: 7}},
		{"review", 9, map[string]any{"proposal": 7, "freeze": 1, "lift": true}, &tx.Review{Proposal: 7, Freeze: 1, Lift: true}},
		{"review", 10, map[string]any{"proposal": 7, "freeze": 2, "lift": false}, &tx.Review{Proposal: 7, Freeze: 2}},
		{"challenge", 11, map[string]any{"target": bobID.String(), "domain": "general", "reason": "absent", "desire": desire},
			&tx.Challenge{Target: bobID, Domain: "general", Reason: "absent", Desire: goDesire}},
	}
	var in []map[string]any
	for _, c := range cases {
		in = append(in, map[string]any{"kind": c.kind, "nonce": fmt.Sprint(c.nonce), "fields": c.fields})
	}
	var out []struct{ Tx, Body, Hash, Error string }
	b.callModule(t, "/test/gov.js", "signGov", map[string]any{"chainID": chainID, "seed": hex.EncodeToString(alice.Seed()), "cases": in}, &out)
	if len(out) != len(cases) {
		t.Fatalf("%d answers for %d cases", len(out), len(cases))
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("%d %s", i, c.kind), func(t *testing.T) {
			js := out[i]
			if js.Error != "" {
				t.Fatalf("JS refuses: %s", js.Error)
			}
			g := tx.New(alice.Public(), c.nonce, c.body)
			if err := g.Sign(chainID, alice); err != nil {
				t.Fatal(err)
			}
			if want := hex.EncodeToString(g.Marshal()); js.Tx != want {
				t.Fatalf("bytes:\nJS %s\nGo %s", js.Tx, want)
			}
			raw, _ := hex.DecodeString(js.Tx)
			got, err := tx.Unmarshal(raw)
			if err != nil {
				t.Fatalf("Go refuses the browser's bytes: %v", err)
			}
			if err := got.Verify(chainID); err != nil {
				t.Fatalf("Go refuses the browser's signature: %v", err)
			}
			if got.Body.Type() != c.body.Type() || got.Sender != alice.Public() || got.Nonce != c.nonce {
				t.Fatalf("decoded %+v", got)
			}
			if !bytes.Equal(tx.New(alice.Public(), c.nonce, got.Body).SignedBytes(chainID), g.SignedBytes(chainID)) {
				t.Fatal("the decoded body differs from Go's")
			}
			if h := got.Hash(); js.Hash != hex.EncodeToString(h[:]) {
				t.Fatalf("hash: JS %s, Go %x", js.Hash, h)
			}
		})
	}
	// What building refuses, as Go's decoder would.
	bad := []map[string]any{
		{"kind": "join", "nonce": "0", "fields": map[string]any{"proposal": 1, "desire": map[string]any{"meeting": 1, "publicity": 1, "capacity": 1}}},
		{"kind": "create", "nonce": "0", "fields": map[string]any{"domain": "General", "title": "x", "desire": desire, "options": []any{map[string]any{"title": "a"}}}},
		{"kind": "create", "nonce": "0", "fields": map[string]any{"domain": "general", "title": "x", "desire": desire, "options": []any{}}},
		{"kind": "vote", "nonce": "0", "fields": map[string]any{"proposal": 1, "round": 1, "meeting": 0, "approve": []int{2, 1}}},
		{"kind": "apply", "nonce": "0", "fields": map[string]any{"name": " carol"}},
		{"kind": "option", "nonce": "0", "fields": map[string]any{"proposal": 1, "option": map[string]any{"title": "a", "actions": []string{"pay nobody 1"}}}},
	}
	var refused []struct{ Error string }
	b.callModule(t, "/test/gov.js", "signGov", map[string]any{"chainID": chainID, "seed": hex.EncodeToString(alice.Seed()), "cases": bad}, &refused)
	for i, r := range refused {
		if r.Error == "" {
			t.Errorf("JS builds bad case %d: %v", i, bad[i])
		}
	}
}

// saleLines are open_sale actions in their text form: action_test.go's,
// a Chinese item, the largest values, items that must be quoted or are
// written with escapes; then ones Go refuses, each at an edge.
func saleLines() []string {
	longest := strings.Repeat("座", 21) + "x" // 64 bytes
	return []string{
		`open_sale "Concert, row A" 100 2 1m 10m 30s 12 5 1000`, "open_sale seat 1 1 0 1ms 1s 0 0 1",
		"open_sale 音乐会门票 3 1 1h 2h 1m 40 18446744073709551615 3",
		`open_sale "` + longest + `" 100000 100000 366d 366d 1h 40 18446744073709551615 100000`,
		`open_sale "\U000e0001 tag\u00ad" 2 2 90000 1d12h 1s500ms 0 1 2`, `open_sale "\xe5\xba\xa7 \"A\" \\" 1 1 0 1 3600000 0 0 1`,
		`open_sale "\u3000x\u2028" 7 3 0 1d 1000 1 0 9`, "open_sale\u2003seat 1 1 0 1m 1s 0 0 1\u0085",
		// refused by both
		"open_sale seat 0 1 0 1m 1s 0 0 1", "open_sale seat 5 1 0 1m 1s 0 0 4", "open_sale seat 1 1 0 1m 999 0 0 1",
		"open_sale seat 1 1 0 1m 1h1ms 0 0 1", "open_sale seat 1 0 0 1m 1s 0 0 1", "open_sale seat 2 3 0 1m 1s 0 0 3",
		"open_sale seat 1 1 366d1ms 1m 1s 0 0 1", "open_sale seat 1 1 0 0 1s 0 0 1", "open_sale seat 1 1 0 367d 1s 0 0 1",
		"open_sale seat 1 1 0 1m 1s 41 0 1", "open_sale seat 1 1 0 1m 1s 256 0 1", "open_sale seat 1 1 0 1m 1s 0 0 4294967296",
		"open_sale seat 4294967297 1 0 1m 1s 0 0 1", "open_sale seat 100001 1 0 1m 1s 0 0 100001", "open_sale seat 1 1 0 1m 1s 0 0 100001",
		"open_sale seat 1 1 0 1m", "open_sale seat 1 1 0 1m 1s 0 0 1 1", `open_sale "" 1 1 0 1m 1s 0 0 1`,
		`open_sale "` + longest + `y" 1 1 0 1m 1s 0 0 1`, `open_sale "a\tb" 1 1 0 1m 1s 0 0 1`, `open_sale "\xff" 1 1 0 1m 1s 0 0 1`,
		`open_sale "\ud800" 1 1 0 1m 1s 0 0 1`, `open_sale "\q" 1 1 0 1m 1s 0 0 1`, "open_sale seat 1 1 0 1m 1s 0 18446744073709551616 1",
		"open_sale seat 1 1 0 1m 1s 0 -1 1", "open_sale seat 1 1 0 1m 1s 01 0 1", "open_sale seat\u00a0x 1 1 0 1m 1s 0 0 1",
		"open_sale seat 1 1 0 1m 1s 0 0 1\ufeff", `open_sale "a\/b" 1 1 0 1m 1s 0 0 1`,
	}
}

func testGovActions(t *testing.T, b *browser) {
	key := seeded(t, "node").Public().String()
	id := seeded(t, "carol").Public().ID().String()
	lines := []string{
		"pay treasury 1", "pay " + id + " 18446744073709551615", "mint treasury 10", "add_member " + id + " carol", "remove_member " + id,
		"confirm_join " + id, "add_node " + key + " /ip4/1.2.3.4/tcp/5 \"a b\"", "add_node " + key, "remove_node " + key,
		"set_param tech gather_min 0", "set_param tech capacity_max 12", "set_param tech aggregate mean", "add_domain x-1_",
		"set_version 2 1000", "appoint chair " + id + " 7d", "dismiss chair", "remove_domain tech", "rename_domain a b",
		`add_member ` + id + ` "\U0001F600 \x41\101"`, "add_member " + id + " \ufeffcarol",
		// refused by both
		"pay treasury 0", "pay 12 3", "frobnicate", "set_param tech aggregate mode", "rename_domain a a", "add_domain 1x",
		"set_param tech nope 1", "appoint chair " + id + " 367d", "dismiss", "pay treasury 1 2", `add_member ` + id + ` "unterminated`,
		"add_member " + id + " \"a\\\nb\"", "add_member " + id + " \"\u00a0carol\"",
	}
	lines = append(lines, saleLines()...)
	accepted := map[tx.ActionKind]bool{}
	// parsed checks that JS parses each line as Go does; it returns Go's
	// text form and encoding of the actions both accept.
	parsed := func(lines []string, what string) (goLines, encodings []string) {
		var out []struct{ Hex, Error string }
		b.callModule(t, "/test/gov.js", "parseActions", lines, &out)
		for i, l := range lines {
			a, err := tx.ParseAction(l)
			switch {
			case err != nil && out[i].Error == "":
				t.Errorf("%s %q: Go refuses (%v), JS accepts", what, l, err)
			case err == nil && out[i].Error != "":
				t.Errorf("%s %q: JS refuses (%s), Go accepts", what, l, out[i].Error)
			case err == nil:
				accepted[a.Kind()] = true
				w := wire.NewWriter(64)
				tx.MarshalAction(w, a)
				want := hex.EncodeToString(w.Finish())
				if out[i].Hex != want {
					t.Errorf("%s %q:\nJS %s\nGo %s", what, l, out[i].Hex, want)
				}
				goLines, encodings = append(goLines, a.String()), append(encodings, want)
			}
		}
		return goLines, encodings
	}
	goLines, encodings := parsed(lines, "")
	// Every kind has a case, so that a new kind without its JS twin fails here.
	for _, k := range tx.ActionKinds() {
		if !accepted[k] {
			t.Errorf("no action of kind %s (%d) parsed: add its cases here and its twin to govtx.js and govrecords.js", k, k)
		}
	}
	// Go's text form of each action is the one JS writes from its
	// encoding, and JS reads it back to Go's bytes.
	var texts []struct{ Text, Error string }
	b.callModule(t, "/test/gov.js", "actionTexts", encodings, &texts)
	for i, want := range goLines {
		if texts[i].Text != want {
			t.Errorf("the text of %s:\nJS %q %s\nGo %q", encodings[i], texts[i].Text, texts[i].Error, want)
		}
	}
	parsed(goLines, "Go's text")
}

func testGovDurations(t *testing.T, b *browser) {
	list := []string{"0", "1500", "90s", "1h30m", "7d", "1d2h3m4s5ms", "5ms", "1m", "", "1x", "1s1h", "01s", "m"}
	var out []struct{ Ms, Text, Error string }
	b.callModule(t, "/test/gov.js", "durations", list, &out)
	for i, s := range list {
		v, err := tx.ParseDuration(s)
		switch {
		case (err != nil) != (out[i].Error != ""):
			t.Errorf("%q: Go %v, JS %+v", s, err, out[i])
		case err == nil && (out[i].Ms != fmt.Sprint(v) || out[i].Text != tx.FormatDuration(v)):
			t.Errorf("%q: JS %s %s, Go %d %s", s, out[i].Ms, out[i].Text, v, tx.FormatDuration(v))
		}
	}
}
