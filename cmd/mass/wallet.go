package main

import (
	"context"
	cryptorand "crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/mass-consensus/mass/internal/apijson"
	"github.com/mass-consensus/mass/internal/app/tx"
	"github.com/mass-consensus/mass/internal/client"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/home"
)

// defaultAPI is the --api of every command that talks to a node.
const defaultAPI = "127.0.0.1:8080"

// apiTimeout bounds one request to a node.
const apiTimeout = 15 * time.Second

// apiFlag is the --api flag: a node's API address (host:port or a URL),
// checked when the flag is parsed, and the client of that API.
type apiFlag struct{ c *client.Client }

func addAPIFlag(fs *flag.FlagSet) *apiFlag {
	a := &apiFlag{}
	fs.Var(a, "api", "the node's API address (host:port or http(s)://host:port)")
	return a
}

func (a *apiFlag) String() string {
	if a == nil || a.c == nil {
		return defaultAPI
	}
	return a.c.Base()
}

// Set checks an address and makes its client.
func (a *apiFlag) Set(s string) error {
	c, err := client.New(s, client.WithTimeout(apiTimeout))
	if err != nil {
		return err
	}
	a.c = c
	return nil
}

// client is the client of the node at --api (the default if not given).
func (a *apiFlag) client() *client.Client {
	if a.c == nil {
		if err := a.Set(defaultAPI); err != nil {
			panic(fmt.Sprintf("the default --api %q is refused: %v", defaultAPI, err))
		}
	}
	return a.c
}

// chainID asks the node for its chain ID, which signatures cover.
func chainID(c *client.Client) (string, error) {
	st, err := c.Status(context.Background())
	if err != nil {
		return "", fmt.Errorf("asking the node for its chain id: %w", err)
	}
	return st.ChainID, nil
}

// nextNonce is the account's lowest unused nonce in the latest certified
// state (0 for an account that does not exist yet).
func nextNonce(c *client.Client, id crypto.ID) (uint64, error) {
	a, err := c.Account(context.Background(), id, client.At{})
	if err != nil {
		return 0, fmt.Errorf("reading the account's nonce: %w", err)
	}
	if !a.Found {
		return 0, nil
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
  mass tx status   [--wait] HASH            a transaction's status and result (with the
                                            proposal a create or challenge made)
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
	case "status":
		return txStatus(c, fs.Args(), *f.wait)
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
			chain, err := chainID(c)
			if err != nil {
				return err
			}
			if err := t.Sign(chain, k); err != nil {
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
	api   *apiFlag
	key   *string
	nonce *int64
	out   *string
	wait  *bool
}

func addTxFlags(fs *flag.FlagSet) *txFlags {
	return &txFlags{
		api:   addAPIFlag(fs),
		key:   fs.String("key", "", "the signer's key file"),
		nonce: fs.Int64("nonce", -1, "the transaction's nonce (default: the account's next)"),
		out:   fs.String("out", "", "write the transaction (hex) to this file instead of sending it"),
		wait:  fs.Bool("wait", false, "wait until the transaction is committed and show its result"),
	}
}

func (f *txFlags) client() *client.Client { return f.api.client() }

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
func sendTx(c *client.Client, f *txFlags, k *crypto.PrivateKey, body tx.Body, cosigners ...*crypto.PrivateKey) error {
	chain, err := chainID(c)
	if err != nil {
		return err
	}
	nonce := uint64(*f.nonce)
	if *f.nonce < 0 {
		if nonce, err = nextNonce(c, k.Public().ID()); err != nil {
			return err
		}
	}
	t := tx.New(k.Public(), nonce, body)
	for _, s := range append([]*crypto.PrivateKey{k}, cosigners...) {
		if err := t.Sign(chain, s); err != nil {
			return err
		}
	}
	return deliver(c, f, t)
}

// deliver writes the transaction to --out, or prints it when it still lacks
// signatures, or else submits it and, with --wait, waits for its result.
func deliver(c *client.Client, f *txFlags, t *tx.Tx) error {
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
	sub, err := c.Submit(context.Background(), raw)
	if err != nil {
		return fmt.Errorf("the node refused it: %w", err)
	}
	fmt.Printf("submitted %s %s (nonce %d)\n", t.Body.Type(), sub.Hash, t.Nonce)
	if !*f.wait {
		return nil
	}
	return waitCommit(c, sub.Hash)
}

// txStatus prints a transaction's status, or waits for its commit.
func txStatus(c *client.Client, args []string, wait bool) error {
	if len(args) != 1 {
		return errors.New("usage: mass tx status [--api ADDR] [--wait] HASH")
	}
	if wait {
		return waitCommit(c, args[0])
	}
	st, err := c.Tx(context.Background(), args[0])
	if err != nil {
		return err
	}
	return printJSON(os.Stdout, st)
}

// waitCommit asks for the transaction's status until it is committed, for
// at most a minute.
func waitCommit(c *client.Client, hash string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		st, err := c.Tx(ctx, hash)
		if err == nil && st.Status == apijson.TxCommitted {
			if st.Code != nil && *st.Code != 0 {
				return fmt.Errorf("committed at height %d but failed (code %d): %s", st.Height, *st.Code, st.Log)
			}
			fmt.Printf("committed at height %d\n", st.Height)
			if st.Proposal != 0 {
				fmt.Printf("proposal %d\n", st.Proposal)
			}
			return nil
		}
		if errors.Is(err, client.ErrMalformed) || errors.Is(err, client.ErrArgument) {
			return err
		}
		var last string
		if err != nil {
			last = err.Error()
		} else {
			last = st.Status
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not committed after 60 s (last answer: %s)", last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func runAccount(args []string) error {
	fs := flag.NewFlagSet("account", flag.ContinueOnError)
	api := addAPIFlag(fs)
	height := fs.Uint64("height", 0, "height to read at (default: the latest certified)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: mass account [--api ADDR] [--height H] ACCOUNT (ID, public key, key file, or treasury: the organization's)")
	}
	if fs.Arg(0) == "treasury" {
		a, err := api.client().Treasury(context.Background(), client.At{Height: *height})
		if err != nil {
			return err
		}
		return printJSON(os.Stdout, a)
	}
	id, err := accountArg(fs.Arg(0))
	if err != nil {
		return err
	}
	a, err := api.client().Account(context.Background(), id, client.At{Height: *height})
	if err != nil {
		return err
	}
	return printJSON(os.Stdout, a)
}
