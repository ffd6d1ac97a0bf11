package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mass-consensus/mass/internal/apijson"
	"github.com/mass-consensus/mass/internal/app/orgapp"
	"github.com/mass-consensus/mass/internal/app/sale"
	"github.com/mass-consensus/mass/internal/app/tx"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/home"
)

const testChainID = "cli-test-chain"

func testKey(t *testing.T, b byte) *crypto.PrivateKey {
	t.Helper()
	k, err := crypto.KeyFromSeed(bytes.Repeat([]byte{b}, crypto.SeedSize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func keyFile(t *testing.T, k *crypto.PrivateKey) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "key.json")
	if err := home.SaveKey(p, k); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestActionKinds checks that every action kind has its JSON fields.
func TestActionKinds(t *testing.T) {
	for _, k := range tx.ActionKinds() {
		if _, ok := actionFields[k]; !ok {
			t.Errorf("action kind %s has no JSON fields", k)
		}
		if got, ok := actionKind(k.String()); !ok || got != k {
			t.Errorf("actionKind(%q) = %v, %v", k.String(), got, ok)
		}
	}
	if len(actionFields) != len(tx.ActionKinds()) {
		t.Errorf("JSON fields for %d kinds, there are %d", len(actionFields), len(tx.ActionKinds()))
	}
}

func TestParseActions(t *testing.T) {
	node, member := testKey(t, 1).Public(), testKey(t, 2).Public()
	id := member.ID()
	cases := []struct {
		json string
		want tx.Action
	}{
		{fmt.Sprintf(`{"kind": "add_member", "id": %q, "name": "Alice"}`, id), &tx.AddMember{ID: id, Name: "Alice"}},
		{fmt.Sprintf(`{"kind": "add_member", "id": %q, "name": "Alice Smith"}`, member), &tx.AddMember{ID: id, Name: "Alice Smith"}},
		{fmt.Sprintf(`{"kind": "remove_member", "id": %q}`, id), &tx.RemoveMember{ID: id}},
		{fmt.Sprintf(`{"kind": "confirm_join", "id": %q}`, strings.ToUpper(id.String())), &tx.ConfirmJoin{ID: id}},
		{fmt.Sprintf(`{"kind": "add_node", "key": %q, "addrs": ["/ip4/10.0.0.5/tcp/26600", "/ip4/10.0.0.5/udp/26600/quic-v1"]}`, node),
			&tx.AddNode{Key: node, Addrs: []string{"/ip4/10.0.0.5/tcp/26600", "/ip4/10.0.0.5/udp/26600/quic-v1"}}},
		{fmt.Sprintf(`{"kind": "add_node", "key": %q}`, node), &tx.AddNode{Key: node}},
		{fmt.Sprintf(`{"kind": "remove_node", "key": %q}`, node), &tx.RemoveNode{Key: node}},
		{`{"kind": "set_param", "domain": "general", "param": "active_limit", "value": 2}`,
			&tx.SetParam{Domain: "general", Param: "active_limit", Value: 2}},
		{`{"kind": "set_param", "domain": "tech", "param": "review_window", "value": "72h"}`,
			&tx.SetParam{Domain: "tech", Param: "review_window", Value: 72 * 3600 * 1000}},
		{`{"kind": "set_param", "domain": "tech", "param": "aggregate", "value": "median"}`,
			&tx.SetParam{Domain: "tech", Param: "aggregate", Value: 1}},
		{`{"kind": "add_domain", "name": "tech"}`, &tx.AddDomain{Name: "tech"}},
		{`{"kind": "remove_domain", "name": "tech"}`, &tx.RemoveDomain{Name: "tech"}},
		{`{"kind": "rename_domain", "name": "tech", "new_name": "engineering"}`, &tx.RenameDomain{Name: "tech", NewName: "engineering"}},
		{`{"kind": "open_sale", "item": "Row A", "supply": 100, "per_request": 2, "start": "1m", "window": "10m", "max_age": "30s", "difficulty": 12, "price": 5, "max_requests": 1000}`,
			&tx.OpenSale{Params: sale.Params{Item: "Row A", Supply: 100, PerRequest: 2, Start: 60_000, Window: 600_000, MaxAge: 30_000, Difficulty: 12, Price: 5, MaxRequests: 1000}}},
		{fmt.Sprintf(`{"kind": "mint", "to": %q, "amount": 100}`, id), &tx.Mint{To: id, Amount: 100}},
		{`{"kind": "mint", "to": "treasury", "amount": 18446744073709551615}`, &tx.Mint{To: tx.TreasuryID, Amount: 1<<64 - 1}},
		{fmt.Sprintf(`{"kind": "pay", "to": %q, "amount": 5}`, member), &tx.Pay{To: id, Amount: 5}},
		{`{"kind": "set_version", "version": 2, "height": 50000}`, &tx.SetVersion{Version: 2, Height: 50000}},
		{fmt.Sprintf(`{"kind": "appoint", "role": "treasurer", "member": %q, "term": "30d"}`, id),
			&tx.Appoint{Role: "treasurer", Member: id, Term: 30 * 24 * 3600 * 1000}},
		{fmt.Sprintf(`{"kind": "appoint", "role": "treasurer", "member": %q, "term": 1000}`, id),
			&tx.Appoint{Role: "treasurer", Member: id, Term: 1000}},
		{`{"kind": "dismiss", "role": "treasurer"}`, &tx.Dismiss{Role: "treasurer"}},
		// The text form, as a JSON string.
		{fmt.Sprintf(`"pay %s 5"`, id), &tx.Pay{To: id, Amount: 5}},
		{`"set_param general aggregate mean"`, &tx.SetParam{Domain: "general", Param: "aggregate", Value: 0}},
		{`"add_member ` + id.String() + ` \"Ada Lovelace\""`, &tx.AddMember{ID: id, Name: "Ada Lovelace"}},
	}
	seen := map[tx.ActionKind]bool{}
	for _, c := range cases {
		got, err := parseActionsJSON([]byte("[" + c.json + "]"))
		if err != nil {
			t.Errorf("%s: %v", c.json, err)
			continue
		}
		if len(got) != 1 || !reflect.DeepEqual(got[0], c.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.json, got, c.want)
		}
		seen[c.want.Kind()] = true
		if err := checkOption(tx.Option{Title: "x", Actions: got}); err != nil {
			t.Errorf("%s: the tx package refuses it: %v", c.json, err)
		}
	}
	if len(seen) != len(actionFields) {
		t.Errorf("the cases cover %d action kinds of %d", len(seen), len(actionFields))
	}
}

func TestParseActionsRefused(t *testing.T) {
	node := testKey(t, 1).Public()
	id := node.ID()
	nine := strings.Repeat(`{"kind": "add_domain", "name": "a"},`, 9)
	cases := []struct{ json, want string }{
		{`{"kind": "launch"}`, `unknown action kind "launch"`},
		{`{"to": "x"}`, `"kind"`},
		{`5`, `neither the text form of an action nor an object with a "kind"`},
		{`"mint"`, `mint: ACCOUNT is missing (mint ACCOUNT AMOUNT)`},
		{`"launch now"`, `unknown action "launch"`},
		{`{"kind": "mint", "to": "abc", "amount": 1}`, `ACCOUNT "abc" is not an account`},
		{`{"kind": "mint", "to": "zz` + id.String()[2:] + `", "amount": 1}`, `is not an account`},
		{fmt.Sprintf(`{"kind": "mint", "to": %q}`, id), `"amount" is missing`},
		{fmt.Sprintf(`{"kind": "mint", "to": %q, "amount": 0}`, id), `mint: an amount of 0`},
		{fmt.Sprintf(`{"kind": "mint", "to": %q, "amount": -1}`, id), `"amount": -1 is neither a string nor a whole number`},
		{fmt.Sprintf(`{"kind": "mint", "to": %q, "amount": "five"}`, id), `AMOUNT "five" is not a whole number`},
		{fmt.Sprintf(`{"kind": "mint", "to": %q, "amount": 5, "memo": "x"}`, id), `unknown field "memo"`},
		{`{"kind": "pay", "to": "treasury", "amount": 5}`, `pay: a payment from the treasury to itself`},
		{fmt.Sprintf(`{"kind": "add_member", "id": %q, "name": " Alice"}`, id), `starts with a space`},
		{fmt.Sprintf(`{"kind": "add_member", "id": %q}`, id), `"name" is missing`},
		{`{"kind": "remove_member", "id": null}`, `"id" is missing`},
		{fmt.Sprintf(`{"kind": "add_node", "key": %q}`, id), `is not a public key`},
		{`{"kind": "add_node", "key": "` + strings.Repeat("00", 32) + `"}`, `small order`},
		{fmt.Sprintf(`{"kind": "add_node", "key": %q, "addrs": [""]}`, node), `an address has`},
		{fmt.Sprintf(`{"kind": "add_node", "key": %q, "addrs": "a"}`, node), `"addrs": "a" is not a list of strings`},
		{`{"kind": "set_param", "domain": "general", "param": "speed", "value": 1}`, `there is no parameter "speed" (active_limit, max_queued`},
		{`{"kind": "set_param", "domain": "general", "param": "active_limit", "value": 17}`, `out of its bounds`},
		{`{"kind": "set_param", "domain": "general", "param": "aggregate", "value": "mode"}`, `"mode" is not an aggregate (mean or median)`},
		{`{"kind": "set_param", "domain": "General", "param": "active_limit", "value": 1}`, `identifier`},
		{`{"kind": "set_param", "domain": "general", "param": "review_window", "value": "3 days"}`, `not a duration`},
		{`{"kind": "add_domain", "name": "1st"}`, `identifier`},
		{`{"kind": "remove_domain", "name": "general"}`, `the domain general cannot be removed`},
		{`{"kind": "rename_domain", "name": "tech", "new_name": "general"}`, `the domain general keeps its name`},
		{`{"kind": "rename_domain", "name": "tech"}`, `"new_name" is missing`},
		{`{"kind": "set_version", "version": 4294967296, "height": 5}`, `VERSION 4294967296 is over`},
		{`{"kind": "set_version", "version": 2, "height": 0}`, `both must be above 0`},
		{fmt.Sprintf(`{"kind": "appoint", "role": "treasurer", "member": %q, "term": "367d"}`, id), `a term of`},
		{fmt.Sprintf(`{"kind": "appoint", "role": "treasurer", "member": %q, "term": 0}`, id), `a term of 0 ms`},
		{`{"kind": "dismiss"}`, `"role" is missing`},
		{nine + `{"kind": "add_domain", "name": "a"}`, `10 actions: at most 8`},
	}
	for _, c := range cases {
		_, err := parseActionsJSON([]byte("[" + c.json + "]"))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one with %q", c.json, err, c.want)
		}
	}
}

func TestParseOptions(t *testing.T) {
	id := testKey(t, 2).Public().ID()
	got, err := parseOptionsFile(fmt.Appendf(nil, `
	[
		{"title": "Pay Bob", "actions": [{"kind": "pay", "to": %q, "amount": 5}, "dismiss clerk"]},
		{"title": "Nothing"},
		{"title": "Nothing either", "actions": []}
	]`, id))
	if err != nil {
		t.Fatal(err)
	}
	want := []tx.Option{
		{Title: "Pay Bob", Actions: []tx.Action{&tx.Pay{To: id, Amount: 5}, &tx.Dismiss{Role: "clerk"}}},
		{Title: "Nothing"},
		{Title: "Nothing either"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	for _, c := range []struct{ json, want string }{
		{`[{"title": "x"}`, "not a JSON list"},
		{`[]`, "an empty list"},
		{`[{"actions": []}]`, `option 0: "title" is missing`},
		{`[{"title": ""}]`, "option 0: title"},
		{`[{"title": "a\u0007b"}]`, "control character"},
		{`[{"title": "x", "body": "y"}]`, `unknown field "body"`},
		{`[{"title": "x"}, {"title": "y", "actions": [{"kind": "nope"}]}]`, `option 1 ("y"): action 0: unknown action kind`},
		{`[{"title": "x"}] [1]`, "not a JSON list"},
	} {
		if _, err := parseOptionsFile([]byte(c.json)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one with %q", c.json, err, c.want)
		}
	}
}

// TestParseOptionsText reads options in the text form: a title a line,
// its actions indented below it.
func TestParseOptionsText(t *testing.T) {
	bob := testKey(t, 2).Public()
	got, err := parseOptionsFile(fmt.Appendf(nil, `# The budget of 2026.
Pay Bob
    pay %s 5
	mint treasury 100

# comments and empty lines are skipped
Engineering, not tech
  rename_domain tech engineering
  set_param engineering aggregate median
Nothing
`, bob))
	if err != nil {
		t.Fatal(err)
	}
	want := []tx.Option{
		{Title: "Pay Bob", Actions: []tx.Action{&tx.Pay{To: bob.ID(), Amount: 5}, &tx.Mint{To: tx.TreasuryID, Amount: 100}}},
		{Title: "Engineering, not tech", Actions: []tx.Action{&tx.RenameDomain{Name: "tech", NewName: "engineering"},
			&tx.SetParam{Domain: "engineering", Param: "aggregate", Value: 1}}},
		{Title: "Nothing"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	for _, c := range []struct{ text, want string }{
		{"", "no options"},
		{"# only a comment\n", "no options"},
		{"  pay treasury 5\n", "line 1: an action before any option's title"},
		{"Pay\n  pay bob 5\n", `line 2: option "Pay": pay: ACCOUNT "bob" is not an account`},
		{"Pay\n  launch\n", `line 2: option "Pay": unknown action "launch"`},
		{"Tune\n  set_param general gather_min 1y\n", `"1y" is not a duration`},
		{"Drop general\n  remove_domain general\n", "the domain general cannot be removed"},
		{"Many\n" + strings.Repeat("  add_domain a\n", 9), `line 10: option "Many" has more than 8 actions`},
		{"Bad\u0007title\n", "line 1: option title"},
	} {
		if _, err := parseOptionsFile([]byte(c.text)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want one with %q", c.text, err, c.want)
		}
	}
}

// TestParseActionsText reads --actions in the text form: one action a
// line.
func TestParseActionsText(t *testing.T) {
	got, err := parseActionsFile([]byte("add_domain tech\n\n# then\n  set_param tech gather_min 10m\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []tx.Action{&tx.AddDomain{Name: "tech"}, &tx.SetParam{Domain: "tech", Param: "gather_min", Value: 600_000}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if _, err := parseActionsFile([]byte("add_domain tech\nadd_domain\n")); err == nil || !strings.Contains(err.Error(), "line 2: add_domain: DOMAIN is missing") {
		t.Fatalf("a bad line: %v", err)
	}
	if _, err := parseActionsFile([]byte(strings.Repeat("add_domain a\n", 9))); err == nil || !strings.Contains(err.Error(), "9 actions: at most 8") {
		t.Fatalf("nine actions: %v", err)
	}
}

func TestParseMillis(t *testing.T) {
	for s, want := range map[string]uint64{
		"90s": 90_000, "10m": 600_000, "24h": 86_400_000, "1h30m": 5_400_000, "1ms": 1, "1.5s": 1500,
		"7d": 7 * 86_400_000, "1d12h": 36 * 3_600_000, "366d": tx.MaxWindow, "0": 0,
	} {
		got, err := parseMillis(s)
		if err != nil || got != want {
			t.Errorf("parseMillis(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", "10", "ten minutes", "-5m", "1.5ms", "d", "1.5d", "3dd", "1d-1h", "99999999999999999d"} {
		if got, err := parseMillis(s); err == nil {
			t.Errorf("parseMillis(%q) = %d, want an error", s, got)
		}
	}
	if _, err := windowArg("--meeting", "367d"); err == nil {
		t.Error("a window of 367 days was accepted")
	}
	if _, err := windowArg("--meeting", "0s"); err == nil {
		t.Error("a window of 0 was accepted")
	}
	if _, err := windowArg("--meeting", ""); err == nil || !strings.Contains(err.Error(), "--meeting is required") {
		t.Errorf("a missing window: %v", err)
	}
	for ms, want := range map[uint64]string{0: "0s", 500: "500ms", 90_000: "1m30s", 600_000: "10m", 3_600_000: "1h",
		5_400_000: "1h30m", 86_400_000: "1d", 36 * 3_600_000: "1d12h", tx.MaxWindow: "366d"} {
		if got := fmtMillis(ms); got != want {
			t.Errorf("fmtMillis(%d) = %q, want %q", ms, got, want)
		}
	}
}

func TestParseApprove(t *testing.T) {
	for s, want := range map[string][]uint8{"0": {0}, "0,2": {0, 2}, "2, 0,31": {0, 2, 31}} {
		got, err := parseApprove(s)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("parseApprove(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", " ", "0,0", "32", "-1", "a", "0,,1", "1;2"} {
		if got, err := parseApprove(s); err == nil {
			t.Errorf("parseApprove(%q) = %v, want an error", s, got)
		}
	}
}

// fakeNode answers the API calls the CLI makes and keeps what is submitted.
type fakeNode struct {
	t         *testing.T
	nonce     uint64
	created   uint64 // the proposal a committed transaction made, in its result
	proposals map[string]orgapp.ProposalView

	mu    sync.Mutex
	calls []string
	txs   [][]byte
}

func newFakeNode(t *testing.T) (*fakeNode, *httptest.Server) {
	f := &fakeNode{t: t, nonce: 7, proposals: map[string]orgapp.ProposalView{}}
	mux := http.NewServeMux()
	reply := func(w http.ResponseWriter, code int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, map[string]any{"chain_id": testChainID, "height": 12})
	})
	mux.HandleFunc("GET /v1/accounts/{id}", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, map[string]any{"height": 12, "found": true, "account": map[string]any{"id": r.PathValue("id"), "nonce": f.nonce}})
	})
	mux.HandleFunc("GET /v1/treasury", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, map[string]any{"height": 12, "found": true, "account": map[string]any{"id": "ab", "name": "treasury", "balance": 90}})
	})
	mux.HandleFunc("POST /v1/txs", func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.txs = append(f.txs, raw)
		f.mu.Unlock()
		if _, err := tx.Unmarshal(raw); err != nil {
			reply(w, 400, map[string]any{"error": map[string]string{"code": "bad_request", "message": err.Error()}})
			return
		}
		h := sha256.Sum256(raw)
		reply(w, 202, map[string]string{"hash": hex.EncodeToString(h[:])})
	})
	mux.HandleFunc("GET /v1/txs/{hash}", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, map[string]any{"hash": r.PathValue("hash"), "status": "committed", "height": 13, "code": 0, "proposal": f.created})
	})
	mux.HandleFunc("GET /v1/proposals/{id}", func(w http.ResponseWriter, r *http.Request) {
		p, ok := f.proposals[r.PathValue("id")]
		if !ok {
			reply(w, 404, map[string]any{"error": map[string]string{"code": "not_found", "message": "no such proposal"}})
			return
		}
		reply(w, 200, map[string]any{"height": 12, "proposal": p})
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.calls = append(f.calls, r.Method+" "+r.URL.Path)
		f.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return f, srv
}

// submitted returns the only transaction submitted, checked and verified.
func (f *fakeNode) submitted(signer *crypto.PrivateKey) *tx.Tx {
	f.t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.txs) != 1 {
		f.t.Fatalf("%d transactions submitted, want 1", len(f.txs))
	}
	t, err := tx.Unmarshal(f.txs[0])
	if err != nil {
		f.t.Fatal(err)
	}
	if err := t.Verify(testChainID); err != nil {
		f.t.Fatalf("the signature does not verify for the node's chain: %v", err)
	}
	if t.Sender != signer.Public() || t.Nonce != f.nonce {
		f.t.Fatalf("sender %s nonce %d, want %s nonce %d", t.Sender, t.Nonce, signer.Public(), f.nonce)
	}
	return t
}

func TestCreateSubmits(t *testing.T) {
	f, srv := newFakeNode(t)
	k, bob := testKey(t, 3), testKey(t, 4).Public()
	options := writeFile(t, "options.txt", fmt.Sprintf(`Add Bob's node
  add_node %s /ip4/10.0.0.9/tcp/26600
  add_member %s Bob
  mint treasury 50
  pay %s 5
`, bob, bob.ID(), bob))
	more := writeFile(t, "options.json", fmt.Sprintf(`[
		{"title": "Elect Bob", "actions": [{"kind": "appoint", "role": "clerk", "member": %q, "term": "30d"}]}
	]`, bob.ID()))
	body := writeFile(t, "body.txt", "First line.\r\nSecond line.\n")
	f.created = 4
	out, err := stdout(t, func() error {
		return runProposal([]string{"create", "--api", srv.URL, "--key", keyFile(t, k), "--domain", "tech", "--title", "Grow",
			"--body-file", body, "--option", "Keep things as they are", "--options", options, "--options", more,
			"--meeting", "10m", "--publicity", "1d", "--capacity", "5"})
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "committed at height 13\nproposal 4\n") {
		t.Errorf("create did not print the new proposal's ID:\n%s", out)
	}
	got := f.submitted(k)
	want := &tx.Create{Domain: "tech", Title: "Grow", Body: "First line.\nSecond line.", Options: []tx.Option{
		{Title: "Keep things as they are"},
		{Title: "Add Bob's node", Actions: []tx.Action{
			&tx.AddNode{Key: bob, Addrs: []string{"/ip4/10.0.0.9/tcp/26600"}},
			&tx.AddMember{ID: bob.ID(), Name: "Bob"},
			&tx.Mint{To: tx.TreasuryID, Amount: 50},
			&tx.Pay{To: bob.ID(), Amount: 5},
		}},
		{Title: "Elect Bob", Actions: []tx.Action{&tx.Appoint{Role: "clerk", Member: bob.ID(), Term: 30 * 86_400_000}}},
	}, Desire: tx.Desire{Meeting: 600_000, Publicity: 86_400_000, Capacity: 5}}
	if !reflect.DeepEqual(got.Body, want) {
		t.Fatalf("submitted %+v\nwant %+v", got.Body, want)
	}
	hash := sha256.Sum256(f.txs[0])
	if c := strings.Join(f.calls, ", "); !strings.Contains(c, "GET /v1/txs/"+hex.EncodeToString(hash[:])) {
		t.Errorf("create did not wait for the result: %s", c)
	}
	out, err = stdout(t, func() error { return runTx([]string{"status", "--api", srv.URL, hex.EncodeToString(hash[:])}) })
	if err != nil || !strings.Contains(out, `"proposal": 4`) {
		t.Errorf("mass tx status: %v\n%s", err, out)
	}
}

func TestSubcommandsSubmit(t *testing.T) {
	k, target := testKey(t, 5), testKey(t, 6).Public()
	me := k.Public().ID().String()
	other := testKey(t, 7).Public().ID().String()
	actions := writeFile(t, "actions.json", `[{"kind": "add_domain", "name": "tech"}]`)
	actionsText := writeFile(t, "actions.txt", "add_domain tech\nset_param tech aggregate median\n")
	voting := orgapp.ProposalView{ID: 3, State: "voting", Round: 2, Rounds: []orgapp.RoundView{
		{Round: 1, Meetings: []orgapp.MeetingView{{Index: 0, Members: []string{me}}}},
		{Round: 2, Meetings: []orgapp.MeetingView{{Index: 0, Members: []string{other}}, {Index: 1, Members: []string{other, me}}}},
	}}
	review := orgapp.ProposalView{ID: 4, State: "review", Freezes: 2}
	cases := []struct {
		args []string
		want tx.Body
	}{
		{[]string{"join", "--proposal", "3", "--meeting", "1h", "--publicity", "2h", "--capacity", "12"},
			&tx.Join{Proposal: 3, Desire: tx.Desire{Meeting: 3_600_000, Publicity: 7_200_000, Capacity: 12}}},
		{[]string{"option", "--proposal", "3", "--title", "Tech", "--actions", actions},
			&tx.AddOption{Proposal: 3, Option: tx.Option{Title: "Tech", Actions: []tx.Action{&tx.AddDomain{Name: "tech"}}}}},
		{[]string{"option", "--proposal", "3", "--title", "Tech", "--actions", actionsText},
			&tx.AddOption{Proposal: 3, Option: tx.Option{Title: "Tech", Actions: []tx.Action{&tx.AddDomain{Name: "tech"},
				&tx.SetParam{Domain: "tech", Param: "aggregate", Value: 1}}}}},
		{[]string{"option", "--proposal", "3", "--title", "Nothing"}, &tx.AddOption{Proposal: 3, Option: tx.Option{Title: "Nothing"}}},
		{[]string{"comment", "--proposal", "3", "--text", "I agree."}, &tx.Comment{Proposal: 3, Text: "I agree."}},
		{[]string{"vote", "--proposal", "3", "--approve", "2,0"}, &tx.Vote{Proposal: 3, Round: 2, Meeting: 1, Approve: []uint8{0, 2}}},
		{[]string{"vote", "--proposal", "3", "--approve", "1", "--round", "1"}, &tx.Vote{Proposal: 3, Round: 1, Meeting: 0, Approve: []uint8{1}}},
		{[]string{"vote", "--proposal", "9", "--approve", "1", "--round", "4", "--meeting", "6"}, &tx.Vote{Proposal: 9, Round: 4, Meeting: 6, Approve: []uint8{1}}},
		{[]string{"freeze", "--proposal", "3"}, &tx.Freeze{Proposal: 3}},
		{[]string{"review", "--proposal", "4", "--lift"}, &tx.Review{Proposal: 4, Freeze: 2, Lift: true}},
		{[]string{"review", "--proposal", "9", "--cancel", "--freeze", "1"}, &tx.Review{Proposal: 9, Freeze: 1}},
		{[]string{"challenge", "--target", target.String(), "--reason", "Absent.\nTwice.", "--meeting", "1h", "--publicity", "1h", "--capacity", "2"},
			&tx.Challenge{Target: target.ID(), Domain: "general", Reason: "Absent.\nTwice.", Desire: tx.Desire{Meeting: 3_600_000, Publicity: 3_600_000, Capacity: 2}}},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args[:3], " "), func(t *testing.T) {
			f, srv := newFakeNode(t)
			f.proposals["3"], f.proposals["4"] = voting, review
			args := append([]string{c.args[0], "--api", srv.URL, "--key", keyFile(t, k)}, c.args[1:]...)
			if err := runProposal(args); err != nil {
				t.Fatal(err)
			}
			if got := f.submitted(k); !reflect.DeepEqual(got.Body, c.want) {
				t.Fatalf("submitted %+v, want %+v", got.Body, c.want)
			}
		})
	}
}

// TestOutAndNonce checks --out and --nonce: the transaction is written, not
// submitted, and the node is asked for nothing but its chain id.
func TestOutAndNonce(t *testing.T) {
	f, srv := newFakeNode(t)
	k := testKey(t, 8)
	out := filepath.Join(t.TempDir(), "tx.hex")
	if err := runProposal([]string{"freeze", "--api", srv.URL, "--key", keyFile(t, k), "--proposal", "5", "--nonce", "41", "--out", out}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	got, err := tx.Unmarshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := got.Verify(testChainID); err != nil {
		t.Fatal(err)
	}
	if got.Nonce != 41 || !reflect.DeepEqual(got.Body, &tx.Freeze{Proposal: 5}) {
		t.Fatalf("wrote nonce %d %+v", got.Nonce, got.Body)
	}
	if c := strings.Join(f.calls, ", "); c != "GET /v1/status" {
		t.Fatalf("the node was asked: %s", c)
	}
}

// TestRefusedBeforeTheNode checks that bad flags are refused before the node
// is contacted, and that a voter in no sub-meeting is told so.
func TestRefusedBeforeTheNode(t *testing.T) {
	k := testKey(t, 9)
	key := keyFile(t, k)
	badOptions := writeFile(t, "bad.json", `[{"title": "x", "actions": [{"kind": "mint", "to": "nothex", "amount": 1}]}]`)
	desire := []string{"--meeting", "10m", "--publicity", "1h", "--capacity", "3"}
	cases := []struct {
		args []string
		want string
	}{
		{append([]string{"create", "--title", "T", "--option", "A"}, desire...), "--key is required"},
		{append([]string{"create", "--key", key, "--option", "A"}, desire...), "--title is required"},
		{append([]string{"create", "--key", key, "--title", "T"}, desire...), "at least one option"},
		{append([]string{"create", "--key", key, "--title", "T", "--options", badOptions}, desire...), `ACCOUNT "nothex" is not an account`},
		{append([]string{"create", "--key", key, "--title", "T", "--option", "A", "--domain", "Tech"}, desire...), "--domain"},
		{append([]string{"create", "--key", key, "--title", "T", "--option", "A", "--body", "x", "--body-file", badOptions}, desire...), "not both"},
		{[]string{"create", "--key", key, "--title", "T", "--option", "A", "--meeting", "10m", "--publicity", "1h"}, "--capacity is required"},
		{[]string{"create", "--key", key, "--title", "T", "--option", "A", "--meeting", "10m", "--publicity", "1h", "--capacity", "1025"}, "not in 2 … 1024"},
		{[]string{"create", "--key", key, "--title", "T", "--option", "A", "--meeting", "soon", "--publicity", "1h", "--capacity", "3"}, "--meeting"},
		{append([]string{"join", "--key", key}, desire...), "--proposal is required"},
		{[]string{"option", "--key", key, "--proposal", "1"}, "--title is required"},
		{[]string{"comment", "--key", key, "--proposal", "1"}, "--text is required"},
		{[]string{"vote", "--key", key, "--proposal", "1"}, "--approve is required"},
		{[]string{"vote", "--key", key, "--proposal", "1", "--approve", "1,1"}, "given twice"},
		{[]string{"vote", "--key", key, "--proposal", "1", "--approve", "1", "--round", "256"}, "--round"},
		{[]string{"review", "--key", key, "--proposal", "1"}, "--lift and --cancel"},
		{[]string{"review", "--key", key, "--proposal", "1", "--lift", "--cancel"}, "--lift and --cancel"},
		{append([]string{"challenge", "--key", key, "--reason", "r"}, desire...), "--target is required"},
		{append([]string{"challenge", "--key", key, "--target", "beef", "--reason", "r"}, desire...), "--target"},
		{append([]string{"challenge", "--key", key, "--target", k.Public().String()}, desire...), "--reason is required"},
		{[]string{"freeze", "--key", key, "--proposal", "1", "extra"}, `unexpected argument "extra"`},
		{[]string{"show"}, "usage"},
		{[]string{"show", "x"}, "not a proposal ID"},
		{[]string{"list", "--domain", "No"}, "--domain"},
		{[]string{"launch"}, `unknown proposal command "launch"`},
	}
	for _, c := range cases {
		f, srv := newFakeNode(t)
		args := c.args
		if len(args) > 0 && args[0] != "launch" {
			args = append([]string{args[0], "--api", srv.URL}, args[1:]...)
		}
		err := runProposal(args)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want one with %q", c.args, err, c.want)
		}
		if len(f.calls) > 0 {
			t.Errorf("%v: the node was contacted: %v", c.args, f.calls)
		}
	}

	// Told by the node: not in any sub-meeting, not voting, not under review.
	other := testKey(t, 10).Public().ID().String()
	for _, c := range []struct {
		args []string
		p    orgapp.ProposalView
		want string
	}{
		{[]string{"vote", "--approve", "0"}, orgapp.ProposalView{ID: 3, State: "voting", Round: 1, Rounds: []orgapp.RoundView{
			{Round: 1, Meetings: []orgapp.MeetingView{{Index: 0, Members: []string{other}}}}}}, "in none of the 1 sub-meetings of round 1"},
		{[]string{"vote", "--approve", "0"}, orgapp.ProposalView{ID: 3, State: "meeting"}, "proposal 3 is meeting, not voting"},
		{[]string{"vote", "--approve", "0", "--round", "2"}, orgapp.ProposalView{ID: 3, State: "voting", Round: 1}, "has no round 2"},
		{[]string{"review", "--lift"}, orgapp.ProposalView{ID: 3, State: "publicity"}, "never been frozen"},
		{[]string{"review", "--lift"}, orgapp.ProposalView{ID: 3, State: "publicity", Freezes: 1}, "not under review"},
	} {
		f, srv := newFakeNode(t)
		f.proposals["3"] = c.p
		args := append([]string{c.args[0], "--api", srv.URL, "--key", key, "--proposal", "3"}, c.args[1:]...)
		err := runProposal(args)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want one with %q", c.args, err, c.want)
		}
		if len(f.txs) > 0 {
			t.Errorf("%v: a transaction was submitted", c.args)
		}
	}
}

func TestPrintProposal(t *testing.T) {
	now := time.UnixMilli(1_800_000_000_000)
	zero, two := uint8(0), uint8(2)
	r := &apijson.Proposal{Height: 40, Proofs: []apijson.Leaf{{}, {}}, Proposal: &orgapp.ProposalView{
		ID: 3, Kind: "proposal", Domain: "general", Author: "aa", AuthorName: "alice", Title: "Grow", Body: "Line one.\nLine two.",
		Created: now.UnixMilli() - 600_000, State: "voting", Deadline: now.UnixMilli() + 200_000, Round: 2,
		MeetingWindow: 600_000, Capacity: 3, Participants: 4,
		Options: []orgapp.OptionView{{Index: 0, Title: "Keep", Actions: []string{}}, {Index: 1, Title: "Pay", Actions: []string{"pay bb 5"}}},
		Roster:  []orgapp.ParticipantView{{Position: 0, Member: "aa", MeetingWindow: 600_000, PublicityWindow: 3_600_000, Capacity: 3}},
		Rounds: []orgapp.RoundView{{Round: 1, Options: []uint8{0, 1}, Ended: true, Winners: []uint8{0, 1},
			Meetings: []orgapp.MeetingView{{Index: 0, Members: []string{"aa", "cc"}, Names: []string{"alice", ""}, Ballots: 2, Winner: &zero,
				Tally: []orgapp.TallyView{{Option: 0, Approvals: 2}, {Option: 1, Approvals: 1}}}}}},
	}}
	var b bytes.Buffer
	printProposal(&b, r, now)
	out := b.String()
	for _, want := range []string{"proposal 3 in general: Grow", "round 2 ends", "(in 3m20s)", "(10m ago)", "  Line two.",
		"pay bb 5", "meeting 10m, publicity 1h, capacity 3", "round 1: split into 1 sub-meeting, options 0 1; ended; winners 0 1",
		"2 ballots of 2 members; approvals 0:2 1:1; winner 0", "proofs      2", "author      alice (aa)", "    alice (aa)\n    cc\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("the summary lacks %q:\n%s", want, out)
		}
	}
	r.Proposal.State, r.Proposal.Winner, r.Proposal.Supporters, r.Proposal.Members = "review", &two, 3, 10
	r.Proposal.Options = append(r.Proposal.Options, orgapp.OptionView{Index: 2, Title: "Elect"})
	r.Proposal.Review = &orgapp.ReviewView{Freeze: 1, Freezer: "cc", Lift: 2, Cancel: 1, Remaining: 1_200_000}
	b.Reset()
	printProposal(&b, r, now)
	for _, want := range []string{`winner 2 "Elect": 3 supporters of 10 members`, "review ends", "lift 2, cancel 1; 20m of publicity left"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the summary lacks %q:\n%s", want, b.String())
		}
	}
}

// TestTxStillWorks checks 'mass tx' over the shared signing path: a
// transfer signed by both parties at once, and an application.
func TestTxStillWorks(t *testing.T) {
	alice, bob := testKey(t, 11), testKey(t, 12)
	for _, c := range []struct {
		args []string
		want tx.Body
	}{
		{[]string{"transfer", "--to", bob.Public().String(), "--amount", "9", "--memo", "rent", "--cosign", keyFile(t, bob)},
			&tx.Transfer{To: bob.Public(), Amount: 9, Memo: []byte("rent")}},
		{[]string{"apply", "--name", "Alice", "--note", "hello"}, &tx.Apply{Name: "Alice", Note: "hello"}},
	} {
		f, srv := newFakeNode(t)
		args := append([]string{c.args[0], "--api", srv.URL, "--key", keyFile(t, alice), "--wait"}, c.args[1:]...)
		if err := runTx(args); err != nil {
			t.Fatal(err)
		}
		if got := f.submitted(alice); !reflect.DeepEqual(got.Body, c.want) {
			t.Fatalf("submitted %+v, want %+v", got.Body, c.want)
		}
	}
}

// TestPrintGovernance shows each parameter as its text form writes it:
// counts, durations, and the aggregate by name.
func TestPrintGovernance(t *testing.T) {
	g := &orgapp.GovernanceView{NextProposal: 3, Domains: []orgapp.DomainView{{Name: "general", Total: 1,
		Params: map[string]uint64{"active_limit": 2, "gather_min": 3_600_000, "aggregate": 1, "review_window": 259_200_000}}}}
	var b bytes.Buffer
	printGovernance(&b, 7, g, time.UnixMilli(0))
	for _, want := range []string{"general: 1 proposal, 0 active", "active_limit       2\n", "gather_min         1h\n", "aggregate          median\n", "review_window      3d\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the summary lacks %q:\n%s", want, b.String())
		}
	}
}
