package gateway

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mass-consensus/mass/internal/app/gov"
	"github.com/mass-consensus/mass/internal/app/state"
)

// liar serves an honest node's answers with tampering: tamper edits the
// JSON of each 200 answer (and may replace it by an error answer).
type liar struct {
	honest http.Handler
	tamper func(r *http.Request, v map[string]any) (status int)
	// hardened: GET /v1/accounts/{key} of a key that holds another
	// record answers 404 (as the node's API may) rather than 500.
	hardened bool
}

func (l *liar) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := httptest.NewRecorder()
	l.honest.ServeHTTP(rec, r)
	status, body := rec.Code, rec.Body.Bytes()
	if l.hardened && status == http.StatusInternalServerError && strings.HasPrefix(r.URL.Path, "/v1/accounts/") {
		status, body = http.StatusNotFound, []byte(`{"error":{"code":"not_found","message":"no account: that key holds another record"}}`)
	}
	var v map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if status == http.StatusOK && dec.Decode(&v) == nil {
		if s := l.tamper(r, v); s != 0 {
			status = s
		}
		body, _ = json.Marshal(v)
	}
	maps.Copy(w.Header(), rec.Header())
	w.Header().Del("Content-Length")
	w.WriteHeader(status)
	w.Write(body)
}

func objectAt(v map[string]any, key string) map[string]any {
	m, _ := v[key].(map[string]any)
	return m
}

// bump adds delta to the number at key, if there is one.
func bump(m map[string]any, key string, delta int64) {
	if m == nil {
		return
	}
	if n, ok := m[key].(json.Number); ok {
		x, _ := strconv.ParseInt(string(n), 10, 64)
		m[key] = json.Number(strconv.FormatInt(x+delta, 10))
	}
}

// flipHex changes the last hex digit of a field.
func flipHex(m map[string]any, key string) {
	s, ok := m[key].(string)
	if !ok || s == "" {
		return
	}
	last := s[len(s)-1]
	repl := byte('0')
	if last == '0' {
		repl = '1'
	}
	m[key] = s[:len(s)-1] + string(repl)
}

// proofObjects are the proofs of an answer.
func proofObjects(v map[string]any) []map[string]any {
	var out []map[string]any
	if p := objectAt(v, "proof"); p != nil {
		out = append(out, p)
	}
	if ps, ok := v["proofs"].([]any); ok {
		for _, p := range ps {
			if m, ok := p.(map[string]any); ok {
				out = append(out, m)
			}
		}
	}
	return out
}

// lies are the ways a liar tampers with its answers; detected says
// whether the gateway can tell (a forged view over genuine proofs is not
// a lie it needs to tell: it never uses the view).
var lies = []struct {
	name     string
	detected bool
	tamper   func(r *http.Request, v map[string]any) int
}{
	{"balance in the value and the proof's sum", true, func(r *http.Request, v map[string]any) int {
		bump(objectAt(v, "account"), "balance", 1000)
		for _, p := range proofObjects(v) {
			if p["found"] == true {
				bump(p, "sum", 1000)
			}
		}
		return 0
	}},
	{"a record's value", true, func(r *http.Request, v map[string]any) int {
		for _, p := range proofObjects(v) {
			flipHex(p, "value")
		}
		return 0
	}},
	{"a flipped proof byte", true, func(r *http.Request, v map[string]any) int {
		for _, p := range proofObjects(v) {
			flipHex(p, "proof")
		}
		return 0
	}},
	{"the value of the last proof of a view", true, func(r *http.Request, v map[string]any) int {
		// The first proof is genuine (the gateway verifies it in full);
		// the last, with the same header and certificate, is not.
		if ps := proofObjects(v); len(ps) > 1 {
			flipHex(ps[len(ps)-1], "value")
		}
		return 0
	}},
	{"a certificate of another header", true, func(r *http.Request, v map[string]any) int {
		for _, p := range proofObjects(v) {
			flipHex(p, "certificate")
		}
		return 0
	}},
	{"a forged view over genuine proofs", false, func(r *http.Request, v map[string]any) int {
		bump(objectAt(v, "account"), "balance", 1_000_000)
		if o := objectAt(v, "organization"); o != nil {
			o["name"] = "Forged Inc."
		}
		if p := objectAt(v, "proposal"); p != nil {
			p["title"], p["author_name"] = "Forged", "mallory"
		}
		if l := objectAt(v, "list"); l != nil {
			bump(l, "total", 10)
		}
		if g := objectAt(v, "governance"); g != nil {
			bump(g, "next_proposal", 10)
		}
		if cs, ok := v["comments"].([]any); ok && len(cs) > 0 {
			c, _ := cs[0].(map[string]any)
			c["text"], c["name"] = "forged", "mallory"
		}
		if ex, ok := v["executors"].([]any); ok {
			v["executors"] = append(ex, map[string]any{"role": "treasurer", "member": strings.Repeat("ab", 20), "proposal": 1, "since": 0, "until": 1})
		}
		return 0
	}},
	{"a record left out of a view", true, func(r *http.Request, v map[string]any) int {
		// The roster's record and its proof go, as if the view did not
		// need it.
		p := objectAt(v, "proposal")
		if p == nil {
			return 0
		}
		roster := keyHex(gov.RosterKey(1))
		recs, _ := p["records"].([]any)
		var kept []any
		for _, k := range recs {
			if k != roster {
				kept = append(kept, k)
			}
		}
		p["records"] = kept
		ps, _ := v["proofs"].([]any)
		var keptProofs []any
		for _, x := range ps {
			if m, _ := x.(map[string]any); m["key"] != roster {
				keptProofs = append(keptProofs, x)
			}
		}
		v["proofs"] = keptProofs
		return 0
	}},
	{"a name's account left out of a view", false, func(r *http.Request, v map[string]any) int {
		// The last record of a proposal's view is an account whose name
		// it shows: it goes, with its proof. The gateway asks for it.
		p := objectAt(v, "proposal")
		if p == nil {
			return 0
		}
		recs, _ := p["records"].([]any)
		gone := recs[len(recs)-1]
		p["records"] = recs[:len(recs)-1]
		ps, _ := v["proofs"].([]any)
		var kept []any
		for _, x := range ps {
			if m, _ := x.(map[string]any); m["key"] != gone {
				kept = append(kept, x)
			}
		}
		v["proofs"] = kept
		return 0
	}},
	{"a comment left out of a page", true, func(r *http.Request, v map[string]any) int {
		// The first comment goes, with its record and its proof, as if
		// the proposal had one comment fewer.
		cs, ok := v["comments"].([]any)
		if !ok || len(cs) == 0 {
			return 0
		}
		c, _ := cs[0].(map[string]any)
		n, _ := c["index"].(json.Number)
		id, _ := strconv.ParseUint(strings.Split(strings.TrimPrefix(r.URL.Path, "/v1/proposals/"), "/")[0], 10, 64)
		i, _ := strconv.ParseUint(string(n), 10, 32)
		gone := keyHex(gov.CommentKey(id, uint32(i)))
		v["comments"] = cs[1:]
		recs, _ := v["records"].([]any)
		var kept []any
		for _, k := range recs {
			if k != gone {
				kept = append(kept, k)
			}
		}
		v["records"] = kept
		ps, _ := v["proofs"].([]any)
		var keptProofs []any
		for _, x := range ps {
			if m, _ := x.(map[string]any); m["key"] != gone {
				keptProofs = append(keptProofs, x)
			}
		}
		v["proofs"] = keptProofs
		return 0
	}},
	{"a proposal said not to exist", true, func(r *http.Request, v map[string]any) int {
		if strings.HasPrefix(r.URL.Path, "/v1/proposals/") {
			clear(v)
			v["error"] = map[string]any{"code": "not_found", "message": "no such proposal"}
			return http.StatusNotFound
		}
		return 0
	}},
}

func keyHex(k state.Key) string { return hex.EncodeToString(k[:]) }

// TestLiarsAreNeverServed: beside an honest node, a lying node's answers
// never reach a client: every read through the gateway equals the honest
// node's, and a liar the gateway can catch is marked faulty. With only the
// liar, every read it lies about answers 502 unverified, naming it — but
// a forged view over genuine proofs: the gateway rebuilds the truth.
func TestLiarsAreNeverServed(t *testing.T) {
	f := newFixture(t, "honest")
	honest := f.node()
	paths := append(accountPaths(f), readPaths...)
	want := map[string]string{}
	for _, p := range paths {
		_, want[p] = getURL(t, honest.URL+p)
	}
	type run struct {
		name     string
		detected bool
		tamper   func(r *http.Request, v map[string]any) int
		hardened bool
	}
	var runs []run
	for _, lie := range lies {
		runs = append(runs, run{lie.name, lie.detected, lie.tamper, false})
	}
	// Where the gateway asks for a proof the liar cannot give, its node
	// may answer 404 rather than 500.
	for _, lie := range lies {
		if strings.Contains(lie.name, "left out") || strings.Contains(lie.name, "not to exist") {
			runs = append(runs, run{lie.name + ", hardened", lie.detected, lie.tamper, true})
		}
	}
	for _, lie := range runs {
		t.Run(lie.name, func(t *testing.T) {
			api := honest.Config.Handler
			bad := httptest.NewServer(&liar{honest: api, tamper: lie.tamper, hardened: lie.hardened})
			defer bad.Close()

			g := newGateway(t, f.genesis, bad.URL, honest.URL)
			waitHeight(t, g, 4)
			for pass := range 2 {
				for _, p := range paths {
					if pass == 0 {
						// The liar is asked first for every read's first
						// fetch (order takes turns from turn+1; the liar
						// is node 0); the second pass takes turns.
						g.turn.Store(uint64(len(g.nodes) - 1))
					}
					code, got := get(t, g, p)
					if code == http.StatusNotFound && errorCode(got) == "not_found" && contains(got, "proven absent") &&
						contains(want[p], "not_found") {
						continue
					}
					if got != want[p] {
						t.Fatalf("%s: the gateway served %d %s\nthe truth: %s", p, code, got, want[p])
					}
				}
			}
			st := g.Status()
			if lie.detected && st.Gateway.Nodes[0].State != stateFaulty {
				t.Fatalf("the liar is not marked faulty: %+v", st.Gateway.Nodes)
			}
			if st.Gateway.Nodes[1].State != stateOK {
				t.Fatalf("the honest node is marked %+v", st.Gateway.Nodes[1])
			}

			alone := newGateway(t, f.genesis, bad.URL)
			waitHeight(t, alone, 4)
			lied := 0
			for _, p := range paths {
				code, got := get(t, alone, p)
				switch {
				case got == want[p]:
				case code == http.StatusNotFound && contains(got, "proven absent") && contains(want[p], "not_found"):
				case code == http.StatusBadGateway && errorCode(got) == CodeUnverified && contains(got, bad.URL):
					if lied++; lied == 1 {
						t.Logf("%s: %s", p, got)
					}
				default:
					t.Fatalf("%s: alone, the liar's gateway served %d %s\nthe truth: %s", p, code, got, want[p])
				}
			}
			if lie.detected != (lied > 0) {
				t.Fatalf("%d reads refused", lied)
			}
		})
	}
}

// TestHeadersOfAnotherChain: a node that serves the headers of another
// chain (the same chain ID, other node keys), claiming a greater height,
// is marked faulty and the gateway follows the honest node; alone, it
// leaves the gateway with nothing verified, and reads answer 503.
func TestHeadersOfAnotherChain(t *testing.T) {
	f := newFixture(t, "honest")
	other := newFixture(t, "other")
	other.block(other.transfer(other.alice, other.bob, 1))
	other.block(other.transfer(other.alice, other.bob, 2))
	honest, bad := f.node(), other.node()

	g := newGateway(t, f.genesis, bad.URL, honest.URL)
	waitHeight(t, g, 4)
	waitFor(t, 5*time.Second, "the other chain's node marked faulty", func() bool {
		return g.Status().Gateway.Nodes[0].State == stateFaulty
	})
	if h := g.Height(); h != 4 {
		t.Fatalf("verified height %d, want the honest 4", h)
	}
	if code, got := get(t, g, "/v1/organization"); code != http.StatusOK || !contains(got, `"height":4`) {
		t.Fatalf("%d %s", code, got)
	}

	alone := newGateway(t, f.genesis, bad.URL)
	waitFor(t, 5*time.Second, "the other chain's node marked faulty", func() bool {
		return alone.Status().Gateway.Nodes[0].State == stateFaulty
	})
	if h := alone.Height(); h != 0 {
		t.Fatalf("verified height %d from another chain", h)
	}
	if code, got := get(t, alone, "/v1/accounts/"+f.alice.Public().ID().String()); code != http.StatusServiceUnavailable {
		t.Fatalf("%d %s", code, got)
	}
}
