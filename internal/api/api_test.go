package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/mass-consensus/mass/internal/apijson"
	"github.com/mass-consensus/mass/internal/app"
	"github.com/mass-consensus/mass/internal/chain"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/node"
	"github.com/mass-consensus/mass/internal/protocol/epoch"
	"github.com/mass-consensus/mass/internal/wire"
)

// fakeBackend is an in-memory Backend.
type fakeBackend struct {
	mu        sync.Mutex
	submitErr error
	submitted [][]byte
	txs       map[epoch.TxHash]fakeTx
	txErr     error
	blocks    map[uint64]*chain.Block
	certs     map[uint64]*chain.Certificate
	blockErr  error
	status    node.Status
	set       chain.NodeSet // the genesis node set

	subs       map[chan node.Commit]bool
	subscribed chan struct{} // one value per Subscribe
	cancelled  int
}

type fakeTx struct {
	height             uint64
	committed, pending bool
}

func newFake() *fakeBackend {
	return &fakeBackend{
		txs:        map[epoch.TxHash]fakeTx{},
		blocks:     map[uint64]*chain.Block{},
		certs:      map[uint64]*chain.Certificate{},
		subs:       map[chan node.Commit]bool{},
		subscribed: make(chan struct{}, 16),
	}
}

func (f *fakeBackend) Submit(ctx context.Context, tx []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.submitted = append(f.submitted, bytes.Clone(tx))
	return f.submitErr
}

func (f *fakeBackend) SubmitBatch(ctx context.Context, txs [][]byte) []error {
	errs := make([]error, len(txs))
	for i, tx := range txs {
		errs[i] = f.Submit(ctx, tx)
	}
	return errs
}

func (f *fakeBackend) TxStatus(h epoch.TxHash) (uint64, bool, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := f.txs[h]
	return t.height, t.committed, t.pending, f.txErr
}

func (f *fakeBackend) Block(height uint64) (*chain.Block, *chain.Certificate, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.blockErr != nil {
		return nil, nil, f.blockErr
	}
	b, ok := f.blocks[height]
	if !ok {
		return nil, nil, fmt.Errorf("%w: height %d", chain.ErrNoBlock, height)
	}
	return b, f.certs[height], nil
}

func (f *fakeBackend) NodeSet(hash chain.Hash) (chain.NodeSet, bool) {
	if hash == f.set.Hash() {
		return f.set, true
	}
	return chain.NodeSet{}, false
}

func (f *fakeBackend) GenesisNodeSet() chain.NodeSet { return f.set }

func (f *fakeBackend) Status() node.Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.status
}

// Subscribe behaves as the node's: cancel closes the channel.
func (f *fakeBackend) Subscribe(buffer int) (<-chan node.Commit, func()) {
	ch := make(chan node.Commit, buffer)
	f.mu.Lock()
	f.subs[ch] = true
	f.mu.Unlock()
	f.subscribed <- struct{}{}
	return ch, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.subs[ch] {
			delete(f.subs, ch)
			close(ch)
			f.cancelled++
		}
	}
}

// publish offers a commit to every subscriber, dropping it for a full one.
func (f *fakeBackend) publish(c node.Commit) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.subs {
		select {
		case ch <- c:
		default:
		}
	}
}

func (f *fakeBackend) subscriptions() (open, cancelled int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs), f.cancelled
}

func (f *fakeBackend) lastSubmitted() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.submitted) == 0 {
		return nil
	}
	return f.submitted[len(f.submitted)-1]
}

func (f *fakeBackend) submitCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.submitted)
}

func startServer(t *testing.T, f *fakeBackend, m Metrics) (*Server, *httptest.Server) {
	t.Helper()
	s := New(f, m, nil)
	ts := httptest.NewServer(s)
	t.Cleanup(func() {
		s.Shutdown()
		ts.Close()
	})
	return s, ts
}

// do sends a request and returns the response with its body read.
func do(t *testing.T, method, url, contentType string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, data
}

// decodeJSON decodes a JSON response strictly into v.
func decodeJSON(t *testing.T, resp *http.Response, body []byte, v any) {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q, want application/json; body %s", ct, body)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decoding %s: %v", body, err)
	}
}

// wantError checks an error response: its status and the JSON error shape
// with the code; it returns the message.
func wantError(t *testing.T, resp *http.Response, body []byte, status int, code string) string {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d; body %s", resp.StatusCode, status, body)
	}
	var e apijson.ErrorBody
	decodeJSON(t, resp, body, &e)
	if e.Error.Code != code {
		t.Fatalf("error code %q, want %q; body %s", e.Error.Code, code, body)
	}
	if e.Error.Message == "" {
		t.Fatalf("empty error message; body %s", body)
	}
	// The shape, key by key.
	var raw map[string]map[string]any
	if err := json.Unmarshal(body, &raw); err != nil || len(raw) != 1 || len(raw["error"]) != 2 {
		t.Fatalf("error body %s is not {\"error\": {\"code\", \"message\"}}", body)
	}
	return e.Error.Message
}

func hexHash(tx []byte) string {
	h := sha256.Sum256(tx)
	return hex.EncodeToString(h[:])
}

func TestSubmit(t *testing.T) {
	f := newFake()
	_, ts := startServer(t, f, nil)
	tx := []byte("name=alice\x00\xff")
	b64 := base64.StdEncoding.EncodeToString(tx)
	for _, c := range []struct {
		name, ctype string
		body        []byte
	}{
		{"octet-stream", "application/octet-stream", tx},
		{"text/plain with charset", "text/plain; charset=utf-8", tx},
		{"curl --data (form type, raw body)", "application/x-www-form-urlencoded", tx},
		{"no Content-Type", "", tx},
		{"json", "application/json", []byte(`{"tx": "` + b64 + `"}`)},
		{"json with charset", "application/json; charset=utf-8", []byte(`{"tx":"` + b64 + `"}` + "\n")},
		{"body of the limit", "application/octet-stream", bytes.Repeat([]byte{'a'}, MaxBodySize)},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body := do(t, "POST", ts.URL+"/v1/txs", c.ctype, c.body)
			if resp.StatusCode != http.StatusAccepted {
				t.Fatalf("status %d, want 202; body %s", resp.StatusCode, body)
			}
			var got apijson.Submitted
			decodeJSON(t, resp, body, &got)
			want := tx
			if c.name == "body of the limit" {
				want = c.body
			}
			if got.Hash != hexHash(want) {
				t.Fatalf("hash %s, want %s", got.Hash, hexHash(want))
			}
			if !bytes.Equal(f.lastSubmitted(), want) {
				t.Fatalf("backend got %q, want %q", f.lastSubmitted(), want)
			}
		})
	}
}

func TestSubmitErrors(t *testing.T) {
	tx := []byte("k=v")
	big := bytes.Repeat([]byte{'a'}, MaxBodySize+1)
	bigJSON := []byte(`{"tx":"` + base64.StdEncoding.EncodeToString(big[:MaxBodySize*3/4+1]) + `"}`)
	for _, c := range []struct {
		name       string
		ctype      string
		body       []byte
		backendErr error
		status     int
		code       string
		retryAfter bool
		reaches    bool   // the backend is asked
		message    string // part of the message, if checked
	}{
		{name: "rejected", body: tx, backendErr: fmt.Errorf("%w: want key=value", app.ErrRejected),
			status: 400, code: "rejected", reaches: true, message: "want key=value"},
		{name: "duplicate", body: tx, backendErr: fmt.Errorf("%w: pending already", node.ErrDuplicate),
			status: 409, code: "duplicate", reaches: true},
		{name: "node busy", body: tx, backendErr: node.ErrBusy, status: 503, code: "busy", retryAfter: true, reaches: true},
		{name: "pending full", body: tx, backendErr: fmt.Errorf("%w: 9 transactions", epoch.ErrPendingFull),
			status: 503, code: "busy", retryAfter: true, reaches: true},
		{name: "tx too large", body: tx, backendErr: fmt.Errorf("%w: 70000 bytes", epoch.ErrTxTooLarge),
			status: 413, code: "too_large", reaches: true},
		{name: "tx empty", body: tx, backendErr: epoch.ErrTxEmpty, status: 400, code: "bad_request", reaches: true},
		{name: "stopped", body: tx, backendErr: node.ErrStopped, status: 503, code: "stopped", reaches: true},
		{name: "timeout", body: tx, backendErr: context.DeadlineExceeded, status: 503, code: "unavailable",
			retryAfter: true, reaches: true},
		{name: "other", body: tx, backendErr: errors.New("disk on fire"), status: 500, code: "internal",
			reaches: true, message: "internal error"},
		{name: "body too large", ctype: "application/octet-stream", body: big, status: 413, code: "too_large"},
		{name: "json body too large", ctype: "application/json", body: bigJSON, status: 413, code: "too_large"},
		{name: "empty body", ctype: "application/octet-stream", status: 400, code: "bad_request"},
		{name: "malformed json", ctype: "application/json", body: []byte(`{"tx":`), status: 400, code: "bad_request"},
		{name: "json not an object", ctype: "application/json", body: []byte(`"azE="`), status: 400, code: "bad_request"},
		{name: "json unknown field", ctype: "application/json", body: []byte(`{"tx":"az12","x":1}`), status: 400, code: "bad_request"},
		{name: "json trailing data", ctype: "application/json", body: []byte(`{"tx":"az12"} {}`), status: 400, code: "bad_request"},
		{name: "json without tx", ctype: "application/json", body: []byte(`{}`), status: 400, code: "bad_request"},
		{name: "bad base64", ctype: "application/json", body: []byte(`{"tx":"not base64!"}`), status: 400, code: "bad_request",
			message: "base64"},
		{name: "json empty tx", ctype: "application/json", body: []byte(`{"tx":""}`), status: 400, code: "bad_request"},
		{name: "unknown content type", ctype: "multipart/form-data", body: tx, status: 415, code: "unsupported_media_type"},
		{name: "malformed content type", ctype: "text/plain; =", body: tx, status: 400, code: "bad_request"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFake()
			f.submitErr = c.backendErr
			_, ts := startServer(t, f, nil)
			ctype := c.ctype
			if ctype == "" {
				ctype = "application/octet-stream"
			}
			resp, body := do(t, "POST", ts.URL+"/v1/txs", ctype, c.body)
			msg := wantError(t, resp, body, c.status, c.code)
			if got := resp.Header.Get("Retry-After"); (got != "") != c.retryAfter {
				t.Fatalf("Retry-After %q, want one: %v", got, c.retryAfter)
			}
			if got := f.submitCount() > 0; got != c.reaches {
				t.Fatalf("backend asked: %v, want %v", got, c.reaches)
			}
			if !strings.Contains(msg, c.message) {
				t.Fatalf("message %q does not contain %q", msg, c.message)
			}
			if c.code == "internal" && strings.Contains(msg, "disk") {
				t.Fatalf("message %q shows the internal error to the client", msg)
			}
		})
	}
}

func TestTxStatus(t *testing.T) {
	f := newFake()
	committed, pending := []byte("a=1"), []byte("b=2")
	f.txs[sha256.Sum256(committed)] = fakeTx{height: 12, committed: true}
	f.txs[sha256.Sum256(pending)] = fakeTx{pending: true}
	_, ts := startServer(t, f, nil)

	resp, body := do(t, "GET", ts.URL+"/v1/txs/"+hexHash(committed), "", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("committed: status %d; body %s", resp.StatusCode, body)
	}
	var got apijson.TxStatus
	decodeJSON(t, resp, body, &got)
	if want := (apijson.TxStatus{Hash: hexHash(committed), Status: "committed", Height: 12}); got != want {
		t.Fatalf("committed: got %+v, want %+v", got, want)
	}

	// Upper-case hex is the same hash.
	resp, body = do(t, "GET", ts.URL+"/v1/txs/"+strings.ToUpper(hexHash(pending)), "", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("pending: status %d; body %s", resp.StatusCode, body)
	}
	got = apijson.TxStatus{}
	decodeJSON(t, resp, body, &got)
	if want := (apijson.TxStatus{Hash: hexHash(pending), Status: "pending"}); got != want {
		t.Fatalf("pending: got %+v, want %+v", got, want)
	}
	if strings.Contains(string(body), "height") {
		t.Fatalf("pending: %s has a height", body)
	}

	resp, body = do(t, "GET", ts.URL+"/v1/txs/"+hexHash([]byte("unknown")), "", nil)
	wantError(t, resp, body, 404, "not_found")

	for _, bad := range []string{"abc", strings.Repeat("zz", 32), hexHash(nil) + "00", hexHash(nil)[:62]} {
		resp, body = do(t, "GET", ts.URL+"/v1/txs/"+bad, "", nil)
		wantError(t, resp, body, 400, "bad_request")
	}

	f.mu.Lock()
	f.txErr = errors.New("store closed")
	f.mu.Unlock()
	resp, body = do(t, "GET", ts.URL+"/v1/txs/"+hexHash(committed), "", nil)
	wantError(t, resp, body, 500, "internal")
}

// testBlock returns a block at a height, with a certificate of two votes.
func testBlock(height uint64) (*chain.Block, *chain.Certificate) {
	txs := [][]byte{[]byte("a=1"), {0, 1, 2, 0xff}}
	b := &chain.Block{Header: chain.Header{
		ChainID: "mass-test", Height: height, Prev: chain.Hash{1, 2, 3}, Epoch: height - 1, Time: 1_700_000_000_123,
		BatchHash: chain.BatchHash(txs), StateRoot: chain.Hash{0xab},
	}, Txs: txs}
	c := &chain.Certificate{Height: height, BlockHash: b.Hash(), Votes: []chain.Vote{
		{Signer: 0, Sig: crypto.Signature{0x11}},
		{Signer: 2, Sig: crypto.Signature{0x22, 0x33}},
	}}
	return b, c
}

func TestBlocks(t *testing.T) {
	f := newFake()
	for h := uint64(1); h <= 3; h++ {
		f.blocks[h], f.certs[h] = testBlock(h)
	}
	f.status.Certified = 3
	_, ts := startServer(t, f, nil)

	check := func(path string, height uint64) {
		t.Helper()
		resp, body := do(t, "GET", ts.URL+path, "", nil)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d; body %s", path, resp.StatusCode, body)
		}
		var got apijson.Block
		decodeJSON(t, resp, body, &got)
		b, _ := testBlock(height)
		zeros := strings.Repeat("0", 64)
		want := apijson.Block{
			Height: height, Hash: b.Hash().String(), Prev: "010203" + zeros[6:], Epoch: height - 1,
			TimeMs: 1_700_000_000_123, BatchHash: chain.BatchHash(b.Txs).String(), StateRoot: "ab" + zeros[2:],
			ChainID: "mass-test", Txs: []string{"YT0x", "AAEC/w=="},
			Certificate: apijson.Certificate{Height: height, BlockHash: b.Hash().String(), Votes: []apijson.Vote{
				{Signer: 0, Signature: "11" + strings.Repeat("0", 126)},
				{Signer: 2, Signature: "2233" + strings.Repeat("0", 124)},
			}},
		}
		gotJSON, _ := json.Marshal(got)
		wantJSON, _ := json.Marshal(want)
		if !bytes.Equal(gotJSON, wantJSON) {
			t.Fatalf("%s:\n got %s\nwant %s", path, gotJSON, wantJSON)
		}
		// The documented keys, no others.
		var keys map[string]json.RawMessage
		json.Unmarshal(body, &keys)
		for _, k := range []string{"height", "hash", "prev", "epoch", "time_ms", "batch_hash", "state_root", "chain_id", "txs", "certificate"} {
			if _, ok := keys[k]; !ok {
				t.Fatalf("%s: no %q in %s", path, k, body)
			}
		}
	}
	check("/v1/blocks/2", 2)
	check("/v1/blocks/latest", 3)

	resp, body := do(t, "GET", ts.URL+"/v1/blocks/4", "", nil)
	wantError(t, resp, body, 404, "not_found")
	for _, bad := range []string{"abc", "-1", "1.5", "0x10", "18446744073709551616"} {
		resp, body = do(t, "GET", ts.URL+"/v1/blocks/"+bad, "", nil)
		wantError(t, resp, body, 400, "bad_request")
	}

	f.mu.Lock()
	f.status.Certified = 0
	f.mu.Unlock()
	resp, body = do(t, "GET", ts.URL+"/v1/blocks/latest", "", nil)
	wantError(t, resp, body, 404, "not_found")

	f.mu.Lock()
	f.blockErr = errors.New("corrupt block")
	f.mu.Unlock()
	resp, body = do(t, "GET", ts.URL+"/v1/blocks/1", "", nil)
	wantError(t, resp, body, 500, "internal")
}

func TestStatus(t *testing.T) {
	f := newFake()
	f.status = node.Status{ChainID: "mass-test", Node: 2, Key: "k2", Height: 10, Certified: 9, Epoch: 11, Pending: 4, Peers: 3, Synced: 5,
		Coin: "threshold", KeysAt: 6, CoinFrom: 12, KeyParts: 3, KeyDealers: []int{0, 1, 3}, GroupKey: "ab"}
	_, ts := startServer(t, f, nil)
	resp, body := do(t, "GET", ts.URL+"/v1/status", "", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d; body %s", resp.StatusCode, body)
	}
	var got node.Status
	decodeJSON(t, resp, body, &got)
	if !reflect.DeepEqual(got, f.status) {
		t.Fatalf("got %+v, want %+v", got, f.status)
	}
	if !strings.Contains(string(body), `"certified":9`) {
		t.Fatalf("body %s lacks the JSON names of node.Status", body)
	}
}

func TestUnknownRouteAndWrongMethod(t *testing.T) {
	_, ts := startServer(t, newFake(), nil)
	for _, path := range []string{"/", "/v2/status", "/v1/nothing", "/v1/blocks/1/extra"} {
		resp, body := do(t, "GET", ts.URL+path, "", nil)
		wantError(t, resp, body, 404, "not_found")
	}
	for _, c := range []struct{ method, path, allow string }{
		{"GET", "/v1/txs", "POST"},
		{"PUT", "/v1/txs", "POST"},
		{"DELETE", "/v1/status", "GET"},
		{"POST", "/v1/blocks/1", "GET"},
		{"POST", "/metrics", "GET"},
	} {
		resp, body := do(t, c.method, ts.URL+c.path, "", nil)
		wantError(t, resp, body, 405, "method_not_allowed")
		if allow := resp.Header.Get("Allow"); !strings.Contains(allow, c.allow) {
			t.Fatalf("%s %s: Allow %q, want %s in it", c.method, c.path, allow, c.allow)
		}
	}
}

// recordHandler keeps the log records.
type recordHandler struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r.Clone())
	return nil
}
func (h *recordHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recordHandler) WithGroup(string) slog.Handler      { return h }

func TestLogging(t *testing.T) {
	f := newFake()
	f.txErr = errors.New("store closed")
	rh := &recordHandler{}
	s := New(f, nil, slog.New(rh))

	serve := func(method, path string) map[string]string {
		t.Helper()
		rh.mu.Lock()
		rh.records = nil
		rh.mu.Unlock()
		s.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(method, path, nil))
		rh.mu.Lock()
		defer rh.mu.Unlock()
		if len(rh.records) != 1 {
			t.Fatalf("%s %s: %d log records, want 1", method, path, len(rh.records))
		}
		r := rh.records[0]
		attrs := map[string]string{"level": r.Level.String()}
		r.Attrs(func(a slog.Attr) bool {
			attrs[a.Key] = a.Value.String()
			return true
		})
		return attrs
	}
	a := serve("GET", "/v1/status")
	if a["level"] != "DEBUG" || a["method"] != "GET" || a["path"] != "/v1/status" || a["status"] != "200" || a["duration"] == "" {
		t.Fatalf("a 200 logged %v", a)
	}
	a = serve("GET", "/nowhere")
	if a["level"] != "DEBUG" || a["status"] != "404" {
		t.Fatalf("a 404 logged %v", a)
	}
	a = serve("GET", "/v1/txs/"+hexHash(nil))
	if a["level"] != "WARN" || a["status"] != "500" || !strings.Contains(a["err"], "store closed") {
		t.Fatalf("a 500 logged %v", a)
	}
}

func TestSubmitBatch(t *testing.T) {
	f := newFake()
	srv := httptest.NewServer(New(f, nil, nil))
	defer srv.Close()
	encode := func(txs ...string) []byte {
		w := wire.NewWriter(64)
		w.U32(uint32(len(txs)))
		for _, tx := range txs {
			w.Bytes([]byte(tx))
		}
		return w.Finish()
	}
	post := func(body []byte) (int, string) {
		resp, err := http.Post(srv.URL+"/v1/txs/batch", "application/octet-stream", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := post(encode("a=1", "b=2", "c=3")); code != http.StatusOK || !strings.Contains(body, `"accepted":3`) {
		t.Fatalf("%d %s", code, body)
	}
	if f.submitCount() != 3 {
		t.Fatalf("%d submitted", f.submitCount())
	}
	for name, body := range map[string][]byte{
		"trailing":  append(encode("a=1"), 0),
		"truncated": encode("a=1")[:6],
		"too many":  {0xff, 0xff, 0xff, 0xff},
	} {
		if code, _ := post(body); code != http.StatusBadRequest {
			t.Errorf("%s: %d", name, code)
		}
	}
	f.mu.Lock()
	f.submitErr = fmt.Errorf("%w: no", app.ErrRejected)
	f.mu.Unlock()
	if code, body := post(encode("x=1", "y=2")); code != http.StatusOK || !strings.Contains(body, `"accepted":0`) || !strings.Contains(body, `"index":1,"code":"rejected"`) {
		t.Fatalf("%d %s", code, body)
	}
}
