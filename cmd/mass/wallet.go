package main

import (
	"bytes"
	"context"
	cryptorand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/mass-consensus/mass/internal/app/tx"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/home"
)

// apiClient talks to a node's HTTP API.
type apiClient struct {
	base string
	http *http.Client
}

func newAPIClient(addr string) *apiClient {
	base := addr
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	return &apiClient{base: strings.TrimRight(base, "/"), http: &http.Client{Timeout: 15 * time.Second}}
}

// do sends a request and decodes a JSON answer; an error answer becomes
// an error with the node's message.
func (c *apiClient) do(method, path string, body []byte, into any) error {
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(raw, &e) == nil && e.Error.Message != "" {
			return fmt.Errorf("%s (%s)", e.Error.Message, e.Error.Code)
		}
		return fmt.Errorf("%s: %s", resp.Status, raw)
	}
	if into == nil {
		return nil
	}
	return json.Unmarshal(raw, into)
}

func (c *apiClient) chainID() (string, error) {
	var st struct {
		ChainID string `json:"chain_id"`
	}
	if err := c.do(http.MethodGet, "/v1/status", nil, &st); err != nil {
		return "", fmt.Errorf("asking the node for its chain id: %w", err)
	}
	return st.ChainID, nil
}

// nextNonce is the account's lowest unused nonce in the latest certified
// state (0 for an account that does not exist yet).
func (c *apiClient) nextNonce(id crypto.ID) (uint64, error) {
	var a struct {
		Found   bool `json:"found"`
		Account struct {
			Nonce uint64 `json:"nonce"`
		} `json:"account"`
	}
	if err := c.do(http.MethodGet, "/v1/accounts/"+id.String(), nil, &a); err != nil {
		return 0, fmt.Errorf("reading the account's nonce: %w", err)
	}
	return a.Account.Nonce, nil
}

func runKey(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: mass key new --out FILE | mass key show FILE")
	}
	switch args[0] {
	case "new":
		fs := flag.NewFlagSet("key new", flag.ContinueOnError)
		out := fs.String("out", "", "file to write the key to (required; never overwritten)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *out == "" {
			return errors.New("--out is required")
		}
		k, err := crypto.GenerateKey(cryptorand.Reader)
		if err != nil {
			return err
		}
		if err := home.SaveKey(*out, k); err != nil {
			return err
		}
		fmt.Printf("public key %s\naccount    %s\n", k.Public(), k.Public().ID())
		return nil
	case "show":
		if len(args) != 2 {
			return errors.New("usage: mass key show FILE")
		}
		k, err := home.LoadKey(args[1])
		if err != nil {
			return err
		}
		fmt.Printf("public key %s\naccount    %s\n", k.Public(), k.Public().ID())
		return nil
	}
	return fmt.Errorf("unknown key command %q (new, show)", args[0])
}

// publicKeyArg reads a public key given as hex or as a key file.
func publicKeyArg(s string) (crypto.PublicKey, error) {
	if k, err := crypto.ParsePublicKey(s); err == nil {
		return k, nil
	}
	k, err := home.LoadKey(s)
	if err != nil {
		return crypto.PublicKey{}, fmt.Errorf("%q is neither a public key (64 hex digits) nor a key file: %w", s, err)
	}
	return k.Public(), nil
}

// accountArg reads an account given as an ID, a public key or a key file.
func accountArg(s string) (crypto.ID, error) {
	if id, err := crypto.ParseID(s); err == nil {
		return id, nil
	}
	k, err := publicKeyArg(s)
	if err != nil {
		return crypto.ID{}, fmt.Errorf("%q is not an account ID (40 hex digits), a public key or a key file", s)
	}
	return k.ID(), nil
}

const txUsage = `usage:
  mass tx transfer --key FILE --to KEY|FILE --amount N [--memo TEXT] [--cosign FILE]
  mass tx apply    --key FILE --name NAME [--note TEXT]
  mass tx decide   --key FILE --applicant ACCOUNT (--accept | --refuse)
  mass tx leave    --key FILE
  mass tx cosign   --key FILE --in FILE     add the next signature (the recipient's)
  mass tx send     --in FILE                submit a fully signed transaction
common flags: --api ADDR (default 127.0.0.1:8080), --nonce N (default: the account's
next), --out FILE (write the transaction as hex instead of sending it), --wait
(wait for the commit and show the result).
A transfer needs the recipient's signature too: give --cosign with the recipient's
key, or write it with --out, have the recipient run 'mass tx cosign', then send.`

func runTx(args []string) error {
	if len(args) == 0 {
		return errors.New(txUsage)
	}
	fs := flag.NewFlagSet("tx "+args[0], flag.ContinueOnError)
	f := addTxFlags(fs)
	in := fs.String("in", "", "a transaction file (hex), for cosign and send")
	to := fs.String("to", "", "recipient: public key or key file")
	amount := fs.Uint64("amount", 0, "tokens to transfer")
	memo := fs.String("memo", "", "a note for the recipient (at most 256 bytes)")
	cosign := fs.String("cosign", "", "the recipient's key file, to sign a transfer at once")
	name := fs.String("name", "", "your name in the organization")
	note := fs.String("note", "", "a note to the organization")
	applicant := fs.String("applicant", "", "the applicant: account ID, public key or key file")
	accept := fs.Bool("accept", false, "accept the application")
	refuse := fs.Bool("refuse", false, "refuse the application")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	c := f.client()
	switch args[0] {
	case "cosign", "send":
		if *in == "" {
			return errors.New("--in is required")
		}
		raw, err := os.ReadFile(*in)
		if err != nil {
			return err
		}
		b, err := hex.DecodeString(strings.TrimSpace(string(raw)))
		if err != nil {
			return fmt.Errorf("%s: not hex: %w", *in, err)
		}
		t, err := tx.UnmarshalPartial(b)
		if err != nil {
			return fmt.Errorf("%s: %w", *in, err)
		}
		if args[0] == "cosign" {
			k, err := home.LoadKey(*f.key)
			if err != nil {
				return err
			}
			chainID, err := c.chainID()
			if err != nil {
				return err
			}
			if err := t.Sign(chainID, k); err != nil {
				return err
			}
		}
		return deliver(c, f, t)
	}
	var body tx.Body
	switch args[0] {
	case "transfer":
		k, err := publicKeyArg(*to)
		if err != nil {
			return fmt.Errorf("--to: %w", err)
		}
		body = &tx.Transfer{To: k, Amount: *amount, Memo: []byte(*memo)}
	case "apply":
		body = &tx.Apply{Name: *name, Note: *note}
	case "decide":
		id, err := accountArg(*applicant)
		if err != nil {
			return fmt.Errorf("--applicant: %w", err)
		}
		if *accept == *refuse {
			return errors.New("give one of --accept and --refuse")
		}
		body = &tx.Decide{Applicant: id, Accept: *accept}
	case "leave":
		body = &tx.Leave{}
	default:
		return fmt.Errorf("unknown tx command %q\n%s", args[0], txUsage)
	}
	k, err := f.signer()
	if err != nil {
		return err
	}
	var cosigners []*crypto.PrivateKey
	if *cosign != "" {
		ck, err := home.LoadKey(*cosign)
		if err != nil {
			return err
		}
		cosigners = append(cosigners, ck)
	}
	return sendTx(c, f, k, body, cosigners...)
}

// txFlags are the flags of every command that signs and submits a
// transaction.
type txFlags struct {
	api   *string
	key   *string
	nonce *int64
	out   *string
	wait  *bool
}

func addTxFlags(fs *flag.FlagSet) *txFlags {
	return &txFlags{
		api:   fs.String("api", "127.0.0.1:8080", "the node's API address"),
		key:   fs.String("key", "", "the signer's key file"),
		nonce: fs.Int64("nonce", -1, "the transaction's nonce (default: the account's next)"),
		out:   fs.String("out", "", "write the transaction (hex) to this file instead of sending it"),
		wait:  fs.Bool("wait", false, "wait until the transaction is committed and show its result"),
	}
}

func (f *txFlags) client() *apiClient { return newAPIClient(*f.api) }

// signer loads the --key file.
func (f *txFlags) signer() (*crypto.PrivateKey, error) {
	if *f.key == "" {
		return nil, errors.New("--key is required")
	}
	return home.LoadKey(*f.key)
}

// sendTx signs body with k, then with each cosigner, for the node's chain
// and with the account's next nonce unless --nonce gives one, and delivers
// it.
func sendTx(c *apiClient, f *txFlags, k *crypto.PrivateKey, body tx.Body, cosigners ...*crypto.PrivateKey) error {
	chainID, err := c.chainID()
	if err != nil {
		return err
	}
	nonce := uint64(*f.nonce)
	if *f.nonce < 0 {
		if nonce, err = c.nextNonce(k.Public().ID()); err != nil {
			return err
		}
	}
	t := tx.New(k.Public(), nonce, body)
	for _, s := range append([]*crypto.PrivateKey{k}, cosigners...) {
		if err := t.Sign(chainID, s); err != nil {
			return err
		}
	}
	return deliver(c, f, t)
}

// deliver writes the transaction to --out, or prints it when it still lacks
// signatures, or else submits it and, with --wait, waits for its result.
func deliver(c *apiClient, f *txFlags, t *tx.Tx) error {
	raw := t.Marshal()
	if *f.out != "" || len(t.Sigs) < len(t.Signers()) {
		if *f.out == "" {
			fmt.Println(hex.EncodeToString(raw))
			fmt.Fprintf(os.Stderr, "signed %d of %d: the next signer is %s (mass tx cosign)\n", len(t.Sigs), len(t.Signers()), t.Signers()[len(t.Sigs)])
			return nil
		}
		return os.WriteFile(*f.out, []byte(hex.EncodeToString(raw)+"\n"), 0o644)
	}
	if _, err := tx.Unmarshal(raw); err != nil {
		return err
	}
	var sub struct {
		Hash string `json:"hash"`
	}
	if err := c.do(http.MethodPost, "/v1/txs", raw, &sub); err != nil {
		return fmt.Errorf("the node refused it: %w", err)
	}
	fmt.Printf("submitted %s %s (nonce %d)\n", t.Body.Type(), sub.Hash, t.Nonce)
	if !*f.wait {
		return nil
	}
	return waitCommit(c, sub.Hash)
}

func waitCommit(c *apiClient, hash string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		var st struct {
			Status string  `json:"status"`
			Height uint64  `json:"height"`
			Code   *uint32 `json:"code"`
			Log    string  `json:"log"`
		}
		err := c.do(http.MethodGet, "/v1/txs/"+hash, nil, &st)
		if err == nil && st.Status == "committed" {
			if st.Code != nil && *st.Code != 0 {
				return fmt.Errorf("committed at height %d but failed (code %d): %s", st.Height, *st.Code, st.Log)
			}
			fmt.Printf("committed at height %d\n", st.Height)
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not committed after 60 s (last answer: %v %s)", err, st.Status)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func runAccount(args []string) error {
	fs := flag.NewFlagSet("account", flag.ContinueOnError)
	api := fs.String("api", "127.0.0.1:8080", "the node's API address")
	height := fs.Uint64("height", 0, "height to read at (default: the latest certified)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: mass account [--api ADDR] [--height H] ACCOUNT (ID, public key or key file)")
	}
	id, err := accountArg(fs.Arg(0))
	if err != nil {
		return err
	}
	path := "/v1/accounts/" + id.String()
	if *height > 0 {
		path += fmt.Sprintf("?height=%d", *height)
	}
	var v any
	if err := newAPIClient(*api).do(http.MethodGet, path, nil, &v); err != nil {
		return err
	}
	outJSON, _ := json.MarshalIndent(v, "", "  ")
	fmt.Println(string(outJSON))
	return nil
}
