package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mass-consensus/mass/internal/apijson"
	"github.com/mass-consensus/mass/internal/app/orgapp"
	"github.com/mass-consensus/mass/internal/client"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/daemon"
	"github.com/mass-consensus/mass/internal/home"
	"github.com/mass-consensus/mass/internal/localport"
	"github.com/mass-consensus/mass/internal/smt"
)

// networkChainID is the chain of the test network.
const networkChainID = "web-app-test"

// network is a real organization network of one node, run in this process
// as `mass start` runs it (internal/daemon: Pebble, libp2p, the API), with
// the devnet's accounts (founder, alice, bob; their key files in
// DIR/keys/). In front of it, on one test server on 127.0.0.1, is what the
// daemon will serve once it mounts the app: the app (Handler, with the
// network's genesis at /genesis.json) and the node's API under /v1/ (here
// a reverse proxy to the node, which can tamper with proofs).
type network struct {
	dir     string // the homes and keys
	genesis []byte // the genesis file's bytes
	daemon  *daemon.Daemon
	api     *client.Client // the node's API, directly
	base    string         // the test server's URL
	// tamper, when set, makes the proxy flip a byte of the proof in every
	// account answer: a node that lies.
	tamper atomic.Bool
	// down, when set, makes the proxy drop every request to /v1/ without
	// an answer: a node that cannot be reached.
	down atomic.Bool
	// swallow, when set, makes the proxy accept transactions (202) without
	// passing them to the node: a node that never commits them.
	swallow atomic.Bool
	// hideMember, when set, makes the proxy leave the first member (and
	// its proof) out of every page of GET /v1/members: a node that hides
	// a member.
	hideMember atomic.Bool

	logMu sync.Mutex
	log   bytes.Buffer // the node's log
}

// newNetwork starts the node and the test server; both stop at the test's
// end.
func newNetwork(t *testing.T) *network {
	t.Helper()
	n := startNetwork(t, nil)
	n.serve(t)
	n.waitCertified(t, 1)
	return n
}

// startNetwork starts one real node of the organization application (the
// devnet's accounts; governance as given, nil for the default) as mass
// start runs it, and its API client; the node stops at the test's end,
// its log shown if the test failed.
func startNetwork(t *testing.T, governance *orgapp.GenesisGovernance) *network {
	t.Helper()
	n := &network{dir: t.TempDir()}
	ports, err := localport.Free(2, nil)
	if err != nil {
		t.Fatal(err)
	}
	homes, err := home.Init(n.dir, home.InitOptions{Nodes: 1, ChainID: networkChainID, Host: "127.0.0.1", P2PPort: ports, APIPort: ports + 1,
		Governance: governance})
	if err != nil {
		t.Fatal(err)
	}
	h, err := home.Load(homes[0])
	if err != nil {
		t.Fatal(err)
	}
	if n.genesis, err = os.ReadFile(filepath.Join(homes[0], "genesis.json")); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(lockedWriter{&n.logMu, &n.log}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if n.daemon, err = daemon.Start(h, logger); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.daemon.Stop(); err != nil {
			t.Errorf("stopping the node: %v", err)
		}
		if t.Failed() {
			n.logMu.Lock()
			defer n.logMu.Unlock()
			t.Logf("the node's log (tail):\n%s", tail(n.log.String(), 4000))
		}
	})
	if n.api, err = client.New(n.daemon.APIAddr(), client.WithTimeout(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	return n
}

// listen starts the test server on 127.0.0.1 with handler and sets n.base;
// it closes at the test's end, before the node stops (cleanups run last
// first), so that the event streams the page holds end with it.
func (n *network) listen(t *testing.T, handler http.Handler) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(handler)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
	})
	n.base = srv.URL
}

// serveProxied starts the test server: /v1/ proxied to the node, its
// answers passed through modify; the rest the app.
func (n *network) serveProxied(t *testing.T, modify func(*http.Response) error) {
	t.Helper()
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: n.daemon.APIAddr()})
	proxy.ModifyResponse = modify
	mux := http.NewServeMux()
	mux.Handle("/v1/", proxy)
	mux.Handle("/", Handler(WithGenesis(n.genesis)))
	n.listen(t, mux)
}

// serve starts the test server: /v1/ proxied to the node, /test/ the test
// pages, the rest the app.
func (n *network) serve(t *testing.T) {
	t.Helper()
	target := &url.URL{Scheme: "http", Host: n.daemon.APIAddr()}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = n.modify
	mux := http.NewServeMux()
	mux.Handle("/v1/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.down.Load() {
			panic(http.ErrAbortHandler) // the connection closes with no answer
		}
		if n.swallow.Load() && r.Method == http.MethodPost && r.URL.Path == "/v1/txs" {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				panic(http.ErrAbortHandler)
			}
			h := sha256.Sum256(body)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusAccepted)
			_ = json.NewEncoder(w).Encode(apijson.Submitted{Hash: hex.EncodeToString(h[:])})
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	mux.Handle("/test/", http.StripPrefix("/test", newHandler(os.DirFS("testdata"))))
	mux.Handle("/", Handler(WithGenesis(n.genesis)))
	n.listen(t, mux)
}

// modify tampers with an account's proof when n.tamper is set: it flips a
// bit of the first sibling's hash, so that the proof no longer leads to
// the certified state root.
func (n *network) modify(resp *http.Response) error {
	if n.hideMember.Load() && resp.Request.URL.Path == "/v1/members" && resp.StatusCode == http.StatusOK {
		return hideFirstMember(resp)
	}
	if !n.tamper.Load() || !strings.HasPrefix(resp.Request.URL.Path, "/v1/accounts/") || resp.StatusCode != http.StatusOK {
		return nil
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	var a apijson.Account
	if err := json.Unmarshal(body, &a); err != nil {
		return err
	}
	if a.Proof != nil {
		raw, err := hex.DecodeString(a.Proof.Proof)
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
		a.Proof.Proof = hex.EncodeToString(p.Marshal())
	}
	if body, err = json.Marshal(a); err != nil {
		return err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return nil
}

// keyFile is the path of a genesis account's key file (founder, alice,
// bob).
func (n *network) keyFile(name string) string { return home.KeyPath(n.dir, name) }

// key loads a genesis account's key.
func (n *network) key(t *testing.T, name string) *crypto.PrivateKey {
	t.Helper()
	k, err := home.LoadKey(n.keyFile(name))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// balance is an account's balance in the node's latest certified state
// (read directly, without a proof: the test's own view).
func (n *network) balance(t *testing.T, name string) uint64 {
	t.Helper()
	a, err := n.api.Account(context.Background(), n.key(t, name).Public().ID(), client.At{})
	if err != nil {
		t.Fatal(err)
	}
	return a.Account.Balance
}

// waitCertified waits until the node has certified height h.
func (n *network) waitCertified(t *testing.T, h uint64) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, err := n.api.Status(context.Background())
		if err == nil && st.Certified >= h {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("height %d not certified after 60 s: %+v %v", h, st, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// lockedWriter serializes the node's log writes to a buffer.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// hideFirstMember takes the first member of a page of GET /v1/members out,
// with its proof (the proofs after the organization's are the members').
func hideFirstMember(resp *http.Response) error {
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	var m apijson.Members
	if err := json.Unmarshal(body, &m); err != nil {
		return err
	}
	if len(m.Members) > 0 {
		m.Members = m.Members[1:]
		if len(m.Proofs) > 1 {
			m.Proofs = append(m.Proofs[:1], m.Proofs[2:]...)
		}
	}
	if body, err = json.Marshal(m); err != nil {
		return err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return nil
}
