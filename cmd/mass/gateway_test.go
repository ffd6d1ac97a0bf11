package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mass-consensus/mass/internal/home"
)

// TestGatewayCommand: mass gateway refuses missing flags, serves its
// status and the app on the address it listens on, refuses reads it
// cannot verify, and stops cleanly when its context ends.
func TestGatewayCommand(t *testing.T) {
	for _, args := range [][]string{{}, {"--genesis", "x.json"}, {"--nodes", "127.0.0.1:1"}, {"--genesis", "/no/such/file", "--nodes", "127.0.0.1:1"}} {
		if _, _, err := gatewayConfig(args); err == nil {
			t.Fatalf("%q accepted", args)
		}
	}
	dir := t.TempDir()
	homes, err := home.Init(dir, home.InitOptions{Nodes: 1, ChainID: "cmd-gateway", Host: "127.0.0.1", P2PPort: 1, APIPort: 2})
	if err != nil {
		t.Fatal(err)
	}
	cfg, listen, err := gatewayConfig([]string{"--genesis", filepath.Join(homes[0], "genesis.json"), "--nodes", " 127.0.0.1:1 ,127.0.0.1:2", "--listen", "127.0.0.1:0", "--log-level", "error"})
	if err != nil || len(cfg.Nodes) != 2 || listen != "127.0.0.1:0" {
		t.Fatalf("%+v %q %v", cfg.Nodes, listen, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- serveGateway(ctx, cfg, listen, func(a string) { addr <- a }) }()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case err := <-done:
		t.Fatal(err)
	case <-time.After(10 * time.Second):
		t.Fatal("the gateway did not start")
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	get := func(path string) (int, string) {
		resp, err := hc.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("/v1/status")
	var st struct {
		ChainID string `json:"chain_id"`
		Gateway struct {
			Nodes []struct{ Address string }
		}
	}
	if code != http.StatusOK || json.Unmarshal([]byte(body), &st) != nil || st.ChainID != "cmd-gateway" || len(st.Gateway.Nodes) != 2 {
		t.Fatalf("status: %d %s", code, body)
	}
	if code, body := get("/v1/organization"); code != http.StatusServiceUnavailable {
		t.Fatalf("a read with nothing verified: %d %s", code, body)
	}
	if code, body := get("/"); code != http.StatusOK || !strings.Contains(body, "<html") {
		t.Fatalf("the app: %d %.100s", code, body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the gateway did not stop")
	}
}
