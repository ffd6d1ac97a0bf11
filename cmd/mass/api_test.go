package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/mass-consensus/mass/internal/app/tx"
)

// stdout runs fn and returns what it printed.
func stdout(t *testing.T, fn func() error) (string, error) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stdout
	os.Stdout = w
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		done <- string(b)
	}()
	err = fn()
	os.Stdout = saved
	w.Close()
	return <-done, err
}

// TestStatusAndAccount: 'mass status' and 'mass account' print the node's
// answers as the API's JSON shapes.
func TestStatusAndAccount(t *testing.T) {
	_, srv := newFakeNode(t)
	out, err := stdout(t, func() error { return runStatus([]string{"--api", srv.URL}) })
	var st map[string]any
	if err != nil || json.Unmarshal([]byte(out), &st) != nil || st["chain_id"] != testChainID {
		t.Fatalf("status: %v\n%s", err, out)
	}
	id := testKey(t, 20).Public().ID().String()
	out, err = stdout(t, func() error { return runAccount([]string{"--api", srv.URL, id}) })
	if err != nil || !strings.Contains(out, `"nonce": 7`) || !strings.Contains(out, `"id": "`+id+`"`) {
		t.Fatalf("account: %v\n%s", err, out)
	}
	out, err = stdout(t, func() error { return runAccount([]string{"--api", srv.URL, "treasury"}) })
	if err != nil || !strings.Contains(out, `"name": "treasury"`) {
		t.Fatalf("account treasury: %v\n%s", err, out)
	}
}

// TestAPIAddressRefused: a malformed --api is refused when the flags are
// parsed, before anything is signed or sent.
func TestAPIAddressRefused(t *testing.T) {
	k := keyFile(t, testKey(t, 21))
	for _, run := range []func() error{
		func() error { return runStatus([]string{"--api", "ftp://node"}) },
		func() error { return runAccount([]string{"--api", "http://", "x"}) },
		func() error { return runTx([]string{"leave", "--api", "http://x?y", "--key", k}) },
		func() error { return runProposal([]string{"list", "--api", ""}) },
	} {
		if err := run(); err == nil || !strings.Contains(err.Error(), "node address") {
			t.Errorf("error %v, want one about the node address", err)
		}
	}
}

// TestRefusalShowsItsCode: the node's refusal reaches the user with its
// reason and code, and a malformed answer is not taken for a success.
func TestRefusalShowsItsCode(t *testing.T) {
	k := keyFile(t, testKey(t, 22))
	for answer, want := range map[string]string{
		`409 {"error":{"code":"duplicate","message":"the transaction is pending already"}}`: "the node refused it: the transaction is pending already (duplicate, HTTP 409)",
		`400 {"error":{"code":"rejected","message":"nonce 7 is used already"}}`:             "nonce 7 is used already (rejected, HTTP 400)",
		`202 {"hash":"ab12"}`: "malformed answer",
	} {
		status, body, _ := strings.Cut(answer, " ")
		mux := http.NewServeMux()
		mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"chain_id":"`+testChainID+`"}`)
		})
		mux.HandleFunc("GET /v1/accounts/{id}", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"height":1,"found":false}`)
		})
		mux.HandleFunc("POST /v1/txs", func(w http.ResponseWriter, r *http.Request) {
			raw, _ := io.ReadAll(r.Body)
			if _, err := tx.Unmarshal(raw); err != nil {
				t.Errorf("the node got a malformed transaction: %v", err)
			}
			w.WriteHeader(map[string]int{"409": 409, "400": 400, "202": 202}[status])
			io.WriteString(w, body)
		})
		srv := httptest.NewServer(mux)
		err := runTx([]string{"leave", "--api", srv.URL, "--key", k})
		srv.Close()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one with %q", answer, err, want)
		}
	}
}
