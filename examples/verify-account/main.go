// Command verify-account proves an account's record to someone who trusts
// only the network's genesis file: it asks a node (which it does not
// trust) for the account and its proof, verifies the chain of certified
// headers from the genesis up to the answer's height, then the proof, and
// prints the account with the height and the nodes that certified it.
//
//	verify-account --genesis genesis.json --api 127.0.0.1:8080 --account ID
//
// It uses nothing of Mass but the public package light, as any program
// outside the module would: it builds in its own module (examples/).
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

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "verify-account:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("verify-account", flag.ContinueOnError)
	genesisFile := fs.String("genesis", "", "the network's genesis file: the only thing trusted")
	api := fs.String("api", "127.0.0.1:8080", "a node's API address (not trusted)")
	account := fs.String("account", "", "the account: its ID (40 hex digits) or public key (64)")
	height := fs.Uint64("height", 0, "the height to prove at (default: the node's latest certified)")
	timeout := fs.Duration("timeout", time.Minute, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *genesisFile == "" || *account == "" {
		return errors.New("usage: verify-account --genesis FILE --account ID [--api ADDR] [--height H]")
	}
	id, err := light.ParseAccountID(*account)
	if err != nil {
		return err
	}
	genesis, err := os.ReadFile(*genesisFile)
	if err != nil {
		return err
	}
	client, err := light.New(genesis)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	acct, rec, err := client.ProveAccount(ctx, &light.Remote{Base: *api}, id, *height)
	if err != nil {
		return err
	}
	set, err := client.NodeSet(rec.Height)
	if err != nil {
		return err
	}
	if acct == nil {
		fmt.Fprintf(out, "account %s does not exist\n", id)
	} else {
		fmt.Fprintf(out, "account %s %q: balance %d, role %s, next nonce %d\n", acct.ID, acct.Name, acct.Balance, acct.Role, acct.Nonce)
	}
	fmt.Fprintf(out, "verified at height %d, block %s, state root %s\n", rec.Height, rec.BlockHash, rec.StateRoot)
	fmt.Fprintf(out, "certified by %d of the %d nodes (a quorum is %d):\n", len(rec.Signers), rec.Nodes, set.Quorum())
	for _, i := range rec.Signers {
		fmt.Fprintf(out, "  node %d  %s\n", i, set.Keys[i])
	}
	return nil
}
