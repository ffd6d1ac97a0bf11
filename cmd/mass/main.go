// Command mass is the command line of Mass: it parses, wires and runs; the
// logic lives in the internal packages.
package main

import (
	"fmt"
	"os"
)

const usage = `mass: a leaderless asynchronous BFT ledger for direct democracy

Usage:
  mass devnet [flags]      run a whole network on this machine (4 nodes on 127.0.0.1)
  mass init [flags]        write the home directories of a new network
  mass start --home DIR    run one node
  mass join [flags]        write the home of a node outside the node set (to be added by a proposal)
  mass status [--api ADDR] show a node's status
  mass key new|show        make or show an account key
  mass tx TYPE [flags]     sign and submit a transaction (transfer, apply, decide, leave, cosign, send)
  mass account ACCOUNT     show an account
  mass members [flags]     list the organization's members and applicants (checked against its counts)
  mass proposal CMD        governance: create, join, option, comment, vote, freeze, review,
                           challenge, show, list, domains ('mass proposal help')
  mass sale CMD            fair ticket sales: open, stamp, request, show, results ('mass sale help')
  mass verify [flags]      prove an account (or the organization) from the genesis file alone
  mass gateway [flags]     serve the app and a verified read API over nodes it does not trust
  mass sim [flags]         run the deterministic Byzantine simulator
  mass sim nodes [flags]   run the whole-node simulator (crashes, pauses, partitions, node-set changes)
  mass bench [flags]       measure a network on this machine: throughput, latency, CPU, bytes per tx
                           ('mass bench sweep' runs a series up to saturation and draws charts)

Run 'mass <command> -h' for the flags of a command.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "sim":
		err = runSim(os.Args[2:])
	case "bench":
		err = runBench(os.Args[2:])
	case "init":
		err = runInit(os.Args[2:])
	case "start":
		err = runStart(os.Args[2:])
	case "join":
		err = runJoin(os.Args[2:])
	case "devnet":
		err = runDevnet(os.Args[2:])
	case "status":
		err = runStatus(os.Args[2:])
	case "key":
		err = runKey(os.Args[2:])
	case "tx":
		err = runTx(os.Args[2:])
	case "account":
		err = runAccount(os.Args[2:])
	case "members":
		err = runMembers(os.Args[2:])
	case "proposal":
		err = runProposal(os.Args[2:])
	case "sale":
		err = runSale(os.Args[2:])
	case "verify":
		err = runVerify(os.Args[2:])
	case "gateway":
		err = runGateway(os.Args[2:])
	case "-h", "--help", "help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "mass: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "mass %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}
