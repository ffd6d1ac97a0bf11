package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/mass-consensus/mass/internal/genesis"
	"github.com/mass-consensus/mass/light"
)

// runVerify is the light client: it trusts only the genesis file, verifies
// the certificate chain a node sends, then the proof of one record.
func runVerify(args []string) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	genesisFile := fs.String("genesis", "", "the network's genesis file (the only thing trusted)")
	api := fs.String("api", "127.0.0.1:8080", "a node's API address (not trusted)")
	account := fs.String("account", "", "the account to prove: ID, public key or key file")
	org := fs.Bool("organization", false, "prove the organization record instead of an account")
	height := fs.Uint64("height", 0, "the height to prove at (default: the node's latest certified)")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *genesisFile == "" || (*account == "") == !*org {
		return errors.New("usage: mass verify --genesis FILE [--api ADDR] [--height H] (--account ACCOUNT | --organization)")
	}
	g, err := genesis.Load(*genesisFile)
	if err != nil {
		return err
	}
	client, err := light.New(g)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	remote := &light.Remote{Base: newAPIClient(*api).base}
	var leaf *light.Leaf
	if *org {
		leaf, err = remote.Organization(ctx, *height)
	} else {
		id, aerr := accountArg(*account)
		if aerr != nil {
			return aerr
		}
		leaf, err = remote.Account(ctx, id, *height)
	}
	if err != nil {
		return err
	}
	if err := client.Sync(ctx, remote, leaf.Height); err != nil {
		return fmt.Errorf("verifying the chain to height %d: %w", leaf.Height, err)
	}
	set, err := client.NodeSet(leaf.Height)
	if err != nil {
		return err
	}
	signers := make([]uint16, len(leaf.Certificate.Votes))
	for i, v := range leaf.Certificate.Votes {
		signers[i] = v.Signer
	}
	where := fmt.Sprintf("at height %d (state root %s, certified by nodes %v of %d)", leaf.Height, leaf.Header.StateRoot, signers, set.N())
	if *org {
		o, err := client.VerifyOrganization(leaf)
		if err != nil {
			return err
		}
		supply, err := client.VerifyLeaf(leaf)
		if err != nil {
			return err
		}
		fmt.Printf("verified: organization %q, policy %s, %d members (%d supervisors), %d applications pending, total supply %d\n  %s\n",
			o.Name, o.Policy, o.Members, o.Supervisors, o.Applicants, supply, where)
		return nil
	}
	id, _ := accountArg(*account)
	acct, balance, err := client.VerifyAccount(leaf, id)
	if err != nil {
		return err
	}
	if acct == nil {
		fmt.Printf("verified: account %s does not exist\n  %s\n", id, where)
		return nil
	}
	name := ""
	if acct.Name != "" {
		name = fmt.Sprintf(" (%s)", acct.Name)
	}
	fmt.Printf("verified: account %s%s has balance %d, role %s, next nonce %d\n  %s\n", id, name, balance, acct.Role, acct.Nonce, where)
	return nil
}
