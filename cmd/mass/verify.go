package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/mass-consensus/mass/light"
)

// runVerify is the light client: it trusts only the genesis file, verifies
// the certificate chain a node sends, then the proof of one record. It uses
// package light as any program outside this module would.
func runVerify(args []string) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	genesisFile := fs.String("genesis", "", "the network's genesis file (the only thing trusted)")
	api := fs.String("api", defaultAPI, "a node's API address (not trusted)")
	account := fs.String("account", "", "the account to prove: ID, public key or key file")
	org := fs.Bool("organization", false, "prove the organization record instead of an account")
	saleID := fs.Uint64("sale", 0, "with --account: prove the account's outcome in this sale (won, lost, not allocated yet)")
	height := fs.Uint64("height", 0, "the height to prove at (default: the node's latest certified)")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *genesisFile == "" || (*account == "") == !*org || (*saleID != 0 && *org) {
		return errors.New("usage: mass verify --genesis FILE [--api ADDR] [--height H] (--account ACCOUNT [--sale ID] | --organization)")
	}
	var id light.AccountID
	if !*org {
		var err error
		if id, err = verifiedAccountArg(*account); err != nil {
			return err
		}
	}
	gen, err := readGenesis(*genesisFile)
	if err != nil {
		return err
	}
	client, err := light.New(gen)
	if err != nil {
		return fmt.Errorf("%s: %w", *genesisFile, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	remote := &light.Remote{Base: *api}
	if *saleID != 0 {
		return printSaleOutcome(ctx, os.Stdout, client, remote, *saleID, id, *height)
	}
	if *org {
		o, rec, err := client.ProveOrganization(ctx, remote, *height)
		if err != nil {
			return err
		}
		fmt.Printf("verified: organization %q, policy %s, %d members (%d supervisors), %d applications pending, total supply %d\n  %s\n",
			o.Name, o.Policy, o.Members, o.Supervisors, o.Applicants, rec.Supply, where(rec))
		return nil
	}
	acct, rec, err := client.ProveAccount(ctx, remote, id, *height)
	if err != nil {
		return err
	}
	if acct == nil {
		fmt.Printf("verified: account %s does not exist\n  %s\n", id, where(rec))
		return nil
	}
	name := ""
	if acct.Name != "" {
		name = fmt.Sprintf(" (%s)", acct.Name)
	}
	fmt.Printf("verified: account %s%s has balance %d, role %s, next nonce %d\n  %s\n", id, name, acct.Balance, acct.Role, acct.Nonce, where(rec))
	return nil
}

// where says at which height a record is proven, and by which nodes.
func where(rec *light.Record) string {
	return fmt.Sprintf("at height %d (state root %s, certified by nodes %v of %d)", rec.Height, rec.StateRoot, rec.Signers, rec.Nodes)
}

// verifiedAccountArg reads an account given as an ID, a public key or a
// key file.
func verifiedAccountArg(s string) (light.AccountID, error) {
	if id, err := light.ParseAccountID(s); err == nil {
		return id, nil
	}
	id, err := accountArg(s) // a key file
	if err != nil {
		return light.AccountID{}, err
	}
	return light.ParseAccountID(id.String())
}

// readGenesis reads a genesis file, at most light.MaxGenesis bytes of it
// (light.New refuses a longer one).
func readGenesis(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, light.MaxGenesis+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return raw, nil
}
