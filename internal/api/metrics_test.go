package api

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/mass-consensus/mass/internal/app"
	"github.com/mass-consensus/mass/internal/node"
)

var errInternal = errors.New("disk on fire")

func errRejected(reason string) error { return fmt.Errorf("%w: %s", app.ErrRejected, reason) }

var (
	helpLine   = regexp.MustCompile(`^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (?:[^\\\n]|\\[\\n])*$`)
	typeLine   = regexp.MustCompile(`^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|untyped)$`)
	sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)` +
		`(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")*\})? (\S+)$`)
)

// scrape reads /metrics and parses it line by line: HELP and TYPE once per
// family, before its samples; a family's samples together; every other line
// `name{labels} value`. It returns the values by `name{labels}`.
func scrape(t *testing.T, url string) (map[string]float64, string) {
	t.Helper()
	resp, body := do(t, "GET", url+"/metrics", "", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d; body %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Fatalf("Content-Type %q", ct)
	}
	text := string(body)
	if !strings.HasSuffix(text, "\n") {
		t.Fatal("the exposition does not end with a newline")
	}
	values := map[string]float64{}
	typed := map[string]bool{}
	helped := map[string]bool{}
	done := map[string]bool{} // families whose samples are over
	current := ""
	for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		var family string
		switch {
		case strings.HasPrefix(line, "# HELP "):
			m := helpLine.FindStringSubmatch(line)
			if m == nil || helped[m[1]] {
				t.Fatalf("line %d: bad or repeated HELP %q", i+1, line)
			}
			family, helped[m[1]] = m[1], true
		case strings.HasPrefix(line, "# TYPE "):
			m := typeLine.FindStringSubmatch(line)
			if m == nil || typed[m[1]] {
				t.Fatalf("line %d: bad or repeated TYPE %q", i+1, line)
			}
			family, typed[m[1]] = m[1], true
		default:
			m := sampleLine.FindStringSubmatch(line)
			if m == nil {
				t.Fatalf("line %d: %q is not `name{labels} value`", i+1, line)
			}
			family = m[1]
			if !typed[family] || !helped[family] {
				t.Fatalf("line %d: sample of %s before its HELP and TYPE", i+1, family)
			}
			v, err := strconv.ParseFloat(m[3], 64)
			if err != nil {
				t.Fatalf("line %d: value %q: %v", i+1, m[3], err)
			}
			key := m[1] + m[2]
			if _, dup := values[key]; dup {
				t.Fatalf("line %d: series %s twice", i+1, key)
			}
			values[key] = v
		}
		if family != current {
			if done[family] {
				t.Fatalf("line %d: family %s is split", i+1, family)
			}
			done[current] = current != ""
			current = family
		}
	}
	return values, text
}

func TestMetrics(t *testing.T) {
	f := newFake()
	f.status = node.Status{Height: 7, Certified: 6, Epoch: 9, Pending: 3, Peers: 2}
	f.submitErr = node.ErrDuplicate
	extra := func() []Metric {
		return []Metric{
			{Name: "mass_committed_txs_total", Help: "Transactions committed.", Type: "counter", Value: 42},
			{Name: "mass_peer_queue", Help: "Messages queued.\nper peer \\ link", Type: "gauge", Value: 5,
				Labels: map[string]string{"peer": "a\"b\\c\nd"}},
			{Name: "mass_bytes_sent_total", Help: "Bytes sent.", Type: "counter", Value: 1e12},
			{Name: "mass_peer_queue", Value: 1.5, Labels: map[string]string{"peer": "plain", "kind": "vote"}},
			{Name: "mass_peer_queue", Value: 77, Labels: map[string]string{"peer": "plain", "kind": "vote"}}, // a repeat: dropped
			{Name: "mass_ratio", Help: "No type.", Value: math.Inf(1)},
			{Name: "mass_height", Help: "clashes with a built-in", Type: "gauge", Value: 999},
			{Name: "bad-name", Help: "invalid", Type: "gauge", Value: 1},
			{Name: "mass_bad_label", Help: "invalid label", Type: "gauge", Value: 1, Labels: map[string]string{"__x": "y"}},
		}
	}
	_, ts := startServer(t, f, extra)
	do(t, "POST", ts.URL+"/v1/txs", "text/plain", []byte("k=v"))
	do(t, "GET", ts.URL+"/nowhere", "", nil)

	values, text := scrape(t, ts.URL)
	for _, want := range []string{
		"# TYPE mass_height gauge\n",
		"mass_height 7\n",
		"mass_certified_height 6\n",
		"mass_epoch 9\n",
		"mass_pending_txs 3\n",
		"mass_peers 2\n",
		"# HELP mass_committed_txs_total Transactions committed.\n# TYPE mass_committed_txs_total counter\nmass_committed_txs_total 42\n",
		"# HELP mass_peer_queue Messages queued.\\nper peer \\\\ link\n# TYPE mass_peer_queue gauge\n",
		`mass_peer_queue{peer="a\"b\\c\nd"} 5` + "\n",
		`mass_peer_queue{kind="vote",peer="plain"} 1.5` + "\n",
		"mass_bytes_sent_total 1e+12\n",
		"# TYPE mass_ratio untyped\nmass_ratio +Inf\n",
		"# TYPE mass_api_requests_total counter\n",
		`mass_api_requests_total{code="409",route="POST /v1/txs"} 1` + "\n",
		`mass_api_requests_total{code="404",route="unmatched"} 1` + "\n",
		"# TYPE mass_api_rejected_total counter\n",
		`mass_api_rejected_total{reason="duplicate"} 1` + "\n",
		`mass_api_rejected_total{reason="not_found"} 1` + "\n",
		`mass_api_rejected_total{reason="busy"} 0` + "\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if !strings.Contains(text, `mass_peer_queue{kind="vote",peer="plain"} 1.5`+"\n"+`mass_peer_queue{peer="a\"b\\c\nd"} 5`+"\n") {
		t.Error("the samples of mass_peer_queue are not sorted by labels")
	}
	if values["mass_height"] != 7 {
		t.Errorf("mass_height is %v, want the node's 7 (not the clashing extra)", values["mass_height"])
	}
	for _, absent := range []string{"bad-name", "mass_bad_label"} {
		if strings.Contains(text, absent) {
			t.Errorf("metrics have the invalid %s", absent)
		}
	}
	if t.Failed() {
		t.Log(text)
	}
}

func TestRejectedCountersMove(t *testing.T) {
	f := newFake()
	f.status.Certified = 0
	_, ts := startServer(t, f, nil)
	before, _ := scrape(t, ts.URL)

	setErr := func(err error) {
		f.mu.Lock()
		f.submitErr = err
		f.mu.Unlock()
	}
	do(t, "GET", ts.URL+"/v1/txs/nothex", "", nil)                             // bad_request
	do(t, "POST", ts.URL+"/v1/txs", "text/plain", make([]byte, MaxBodySize+1)) // too_large
	setErr(node.ErrDuplicate)
	do(t, "POST", ts.URL+"/v1/txs", "text/plain", []byte("k=v")) // duplicate
	setErr(node.ErrBusy)
	do(t, "POST", ts.URL+"/v1/txs", "text/plain", []byte("k=v"))          // busy
	do(t, "GET", ts.URL+"/v1/blocks/latest", "", nil)                     // not_found
	do(t, "DELETE", ts.URL+"/v1/status", "", nil)                         // method_not_allowed
	do(t, "POST", ts.URL+"/v1/txs", "multipart/form-data", []byte("k=v")) // unsupported_media_type
	setErr(errRejected("bad key"))
	do(t, "POST", ts.URL+"/v1/txs", "text/plain", []byte("k=v")) // rejected
	setErr(errInternal)
	do(t, "POST", ts.URL+"/v1/txs", "text/plain", []byte("k=v")) // internal: not a rejection

	after, text := scrape(t, ts.URL)
	for _, reason := range []string{"bad_request", "too_large", "rejected", "duplicate", "busy", "not_found", "method_not_allowed", "unsupported_media_type"} {
		key := `mass_api_rejected_total{reason="` + reason + `"}`
		b, ok := before[key]
		if !ok {
			t.Errorf("%s not exposed before any rejection", key)
		}
		if after[key] != b+1 {
			t.Errorf("%s went from %v to %v, want +1", key, b, after[key])
		}
	}
	for _, key := range []string{`mass_api_rejected_total{reason="internal"}`, `mass_api_rejected_total{reason="stopped"}`} {
		if after[key] != before[key] {
			t.Errorf("%s moved: %v to %v", key, before[key], after[key])
		}
	}
	for key, want := range map[string]float64{
		`mass_api_requests_total{code="500",route="POST /v1/txs"}`:          1,
		`mass_api_requests_total{code="503",route="POST /v1/txs"}`:          1,
		`mass_api_requests_total{code="413",route="POST /v1/txs"}`:          1,
		`mass_api_requests_total{code="405",route="unmatched"}`:             1,
		`mass_api_requests_total{code="404",route="GET /v1/blocks/latest"}`: 1,
		`mass_api_requests_total{code="200",route="GET /metrics"}`:          1, // the first scrape
	} {
		if after[key] != want {
			t.Errorf("%s = %v, want %v", key, after[key], want)
		}
	}
	if t.Failed() {
		t.Log(text)
	}
}
