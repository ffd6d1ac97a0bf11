package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mass-consensus/mass/internal/apijson"
	"github.com/mass-consensus/mass/internal/app/sale"
	"github.com/mass-consensus/mass/internal/app/tx"
	"github.com/mass-consensus/mass/internal/client"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/home"
	"github.com/mass-consensus/mass/light"
)

const saleUsage = `usage:
  mass sale open     --key FILE ITEM SUPPLY PER_REQUEST START WINDOW MAX_AGE DIFFICULTY PRICE MAX_REQUESTS
  mass sale stamp    --key FILE --sale ID [--quantity N] --nodes ADDR,ADDR,... [--out FILE]
  mass sale request  --key FILE --sale ID --stamps FILE [--wait=false]
  mass sale show     ID [--json]
  mass sale results  --sale ID --account ACCOUNT [--verify --genesis FILE] [--json]

Every command takes --api ADDR (default 127.0.0.1:8080). open (a supervisor's
key) opens a sale (docs/SALE.md; the arguments as the open_sale action's, e.g.
"Row A" 100 2 1m 10m 30s 12 5 1000), waits for its commit and prints the sale's
ID. stamp signs the buyer's ask (solving the proof of work if the buyer is not
a member), asks every node of --nodes for its stamp and writes the answers to
--out (default: sale-ID-stamps.json). request chooses the 2f+1 earliest valid
stamps of that file, submits the request (nonce 0) and waits for its commit.
results shows a buyer's outcome; --verify proves it with the light client from
the genesis file alone.`

// runSale runs 'mass sale CMD'.
func runSale(args []string) error {
	return runSubcommand(saleUsage, "sale", map[string]func([]string) error{
		"open": saleOpenCmd, "stamp": saleStampCmd, "request": saleRequestCmd, "show": saleShowCmd, "results": saleResultsCmd,
	}, args)
}

func saleFlags(name string) *flag.FlagSet { return silentFlags("sale " + name) }

// saleParamsArg parses the open_sale action's arguments.
func saleParamsArg(args []string) (sale.Params, error) {
	if len(args) != 9 {
		return sale.Params{}, fmt.Errorf("want 9 arguments: ITEM SUPPLY PER_REQUEST START WINDOW MAX_AGE DIFFICULTY PRICE MAX_REQUESTS, got %d", len(args))
	}
	quoted := []string{"open_sale", strconv.Quote(args[0])}
	quoted = append(quoted, args[1:]...)
	a, err := parseActionText(strings.Join(quoted, " "))
	if err != nil {
		return sale.Params{}, err
	}
	return a.(*tx.OpenSale).Params, nil
}

func saleOpenCmd(args []string) error {
	fs := saleFlags("open")
	f := addTxFlags(fs)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	p, err := saleParamsArg(pos)
	if err != nil {
		return err
	}
	k, err := f.signer()
	if err != nil {
		return err
	}
	c := f.client()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	chain, err := chainID(c)
	if err != nil {
		return err
	}
	nonce, err := nextNonce(c, k.Public().ID())
	if err != nil {
		return err
	}
	t := tx.New(k.Public(), nonce, &tx.SaleOpen{Params: p})
	if err := t.Sign(chain, k); err != nil {
		return err
	}
	height, err := submitAndWait(ctx, c, t.Marshal())
	if err != nil {
		return err
	}
	id, err := openedSale(ctx, c, k.Public().ID(), height)
	if err != nil {
		return err
	}
	fmt.Printf("committed at height %d\nsale %d\n", height, id)
	return nil
}

// submitAndWait submits a transaction and waits for its commit; a failed
// one is an error with its log.
func submitAndWait(ctx context.Context, c *client.Client, raw []byte) (uint64, error) {
	sub, err := c.Submit(ctx, raw)
	if err != nil {
		return 0, fmt.Errorf("the node refused it: %w", err)
	}
	for {
		st, err := c.Tx(ctx, sub.Hash)
		if err == nil && st.Status == apijson.TxCommitted {
			if st.Code != nil && *st.Code != 0 {
				return st.Height, fmt.Errorf("committed at height %d but failed (code %d): %s", st.Height, *st.Code, st.Log)
			}
			return st.Height, nil
		}
		if errors.Is(err, client.ErrMalformed) {
			return 0, err
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("transaction %s not committed: %w", sub.Hash, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// openedSale finds the sale an opener's transaction opened in the block
// at height: a sale below the registry's next ID there, present at that
// height and absent before, whose opener is the signer.
func openedSale(ctx context.Context, c *client.Client, opener crypto.ID, height uint64) (uint64, error) {
	g, err := c.Sales(ctx, client.At{Height: height})
	if err != nil {
		return 0, err
	}
	for id := g.Next - 1; id >= 1 && id+uint64(sale.MaxOpen) >= g.Next; id-- {
		s, err := c.Sale(ctx, id, client.At{Height: height})
		if err != nil {
			return 0, err
		}
		if _, err := c.Sale(ctx, id, client.At{Height: height - 1}); err == nil {
			break // opened before this block
		}
		if s.Sale.Opener == opener.String() {
			return id, nil
		}
	}
	return 0, fmt.Errorf("no sale opened by %s at height %d", opener, height)
}

// stampFile is what 'mass sale stamp' writes: the request the stamps are
// of, and the nodes' answers.
type stampFile struct {
	Chain    string          `json:"chain_id"`
	Sale     uint64          `json:"sale"`
	Buyer    string          `json:"buyer"`
	Quantity uint32          `json:"quantity"`
	Nonce    uint64          `json:"nonce"`
	Stamps   []apijson.Stamp `json:"stamps"`
	Refused  []string        `json:"refused,omitempty"`
}

func saleStampCmd(args []string) error {
	fs := saleFlags("stamp")
	api := addAPIFlag(fs)
	keyFile := fs.String("key", "", "the buyer's key file")
	id := fs.Uint64("sale", 0, "the sale")
	quantity := fs.Uint("quantity", 1, "the items asked")
	nodes := fs.String("nodes", "", "the API addresses of the nodes to ask, comma-separated (default: --api only)")
	out := fs.String("out", "", "the file to write (default sale-ID-stamps.json)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *keyFile == "" || *id == 0 || *quantity == 0 || *quantity > sale.MaxSupply {
		return errors.New("--key, --sale and a --quantity of 1 or more are required")
	}
	k, err := home.LoadKey(*keyFile)
	if err != nil {
		return err
	}
	addrs := []string{api.client().Base()}
	if *nodes != "" {
		addrs = strings.Split(*nodes, ",")
	}
	var clients []*client.Client
	for _, a := range addrs {
		c, err := client.New(a, client.WithTimeout(apiTimeout))
		if err != nil {
			return err
		}
		clients = append(clients, c)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	file, err := gatherStamps(ctx, api.client(), clients, k, *id, uint32(*quantity))
	if err != nil {
		return err
	}
	path := *out
	if path == "" {
		path = fmt.Sprintf("sale-%d-stamps.json", *id)
	}
	raw, _ := json.MarshalIndent(file, "", "  ")
	if err := os.WriteFile(path, append(raw, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Printf("%d stamps of %d nodes written to %s\n", len(file.Stamps), len(clients), path)
	for _, r := range file.Refused {
		fmt.Fprintln(os.Stderr, "refused:", r)
	}
	return nil
}

// gatherStamps reads the sale and the buyer's standing, solves the proof
// of work of a non-member, signs the ask and asks each node for its stamp.
func gatherStamps(ctx context.Context, c *client.Client, nodes []*client.Client, k *crypto.PrivateKey, id uint64, quantity uint32) (*stampFile, error) {
	chain, err := chainID(c)
	if err != nil {
		return nil, err
	}
	s, err := c.Sale(ctx, id, client.At{})
	if err != nil {
		return nil, err
	}
	sl, err := s.Sale.Sale()
	if err != nil {
		return nil, err
	}
	q := sale.Request{Sale: id, Buyer: k.Public(), Quantity: quantity}
	acct, err := c.Account(ctx, k.Public().ID(), client.At{})
	if err != nil {
		return nil, err
	}
	if !acct.Found || (acct.Account.Role != "member" && acct.Account.Role != "supervisor") {
		if sl.Params.Difficulty == 0 {
			return nil, fmt.Errorf("sale %d admits members only", id)
		}
		if q.Nonce, err = sale.SolvePoW(chain, id, q.Buyer, sl.Params.Difficulty, 0, 1<<48); err != nil {
			return nil, err
		}
	}
	ask := sale.SignAsk(k, chain, &q)
	f := &stampFile{Chain: chain, Sale: id, Buyer: q.Buyer.String(), Quantity: quantity, Nonce: q.Nonce}
	for _, n := range nodes {
		st, err := n.Stamp(ctx, chain, &ask)
		if err != nil {
			f.Refused = append(f.Refused, fmt.Sprintf("%s: %v", n.Base(), err))
			continue
		}
		f.Stamps = append(f.Stamps, apijson.StampOf(id, q.Hash(chain), st))
	}
	if len(f.Stamps) < sl.Quorum() {
		return f, fmt.Errorf("%d stamps, a request needs %d: %s", len(f.Stamps), sl.Quorum(), strings.Join(f.Refused, "; "))
	}
	return f, nil
}

// requestOf builds the stamped request of a stamp file: the 2f+1 earliest
// valid stamps (sale.Choose).
func requestOf(f *stampFile, sl *sale.Sale, buyer crypto.PublicKey) (*sale.Request, error) {
	if f.Sale != sl.ID || f.Buyer != buyer.String() {
		return nil, fmt.Errorf("the stamps are of sale %d and buyer %s, not of sale %d and %s", f.Sale, f.Buyer, sl.ID, buyer)
	}
	q := &sale.Request{Sale: f.Sale, Buyer: buyer, Quantity: f.Quantity, Nonce: f.Nonce}
	var stamps []sale.Stamp
	for i, j := range f.Stamps {
		s, err := j.Stamp()
		if err != nil {
			return nil, fmt.Errorf("stamp %d: %w", i, err)
		}
		stamps = append(stamps, s)
	}
	chosen, err := sale.Choose(sl, f.Chain, q.Hash(f.Chain), stamps)
	if err != nil {
		return nil, err
	}
	q.Stamps = chosen
	return q, nil
}

func saleRequestCmd(args []string) error {
	fs := saleFlags("request")
	api := addAPIFlag(fs)
	keyFile := fs.String("key", "", "the buyer's key file")
	id := fs.Uint64("sale", 0, "the sale")
	stampsFile := fs.String("stamps", "", "the file 'mass sale stamp' wrote")
	wait := fs.Bool("wait", true, "wait for the commit and show the result")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *keyFile == "" || *id == 0 || *stampsFile == "" {
		return errors.New("--key, --sale and --stamps are required")
	}
	k, err := home.LoadKey(*keyFile)
	if err != nil {
		return err
	}
	raw, err := os.ReadFile(*stampsFile)
	if err != nil {
		return err
	}
	var f stampFile
	if err := json.Unmarshal(raw, &f); err != nil {
		return fmt.Errorf("%s: %w", *stampsFile, err)
	}
	c := api.client()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := c.Sale(ctx, *id, client.At{})
	if err != nil {
		return err
	}
	sl, err := s.Sale.Sale()
	if err != nil {
		return err
	}
	q, err := requestOf(&f, sl, k.Public())
	if err != nil {
		return err
	}
	t := tx.New(k.Public(), 0, &tx.SaleRequest{Request: *q})
	if err := t.Sign(f.Chain, k); err != nil {
		return err
	}
	if !*wait {
		sub, err := c.Submit(ctx, t.Marshal())
		if err != nil {
			return err
		}
		fmt.Printf("submitted sale_request %s\n", sub.Hash)
		return nil
	}
	height, err := submitAndWait(ctx, c, t.Marshal())
	if err != nil {
		return err
	}
	fmt.Printf("committed at height %d: request kept with fair time %d\n", height, sale.FairTime(sale.Times(q.Stamps)))
	return nil
}

func saleShowCmd(args []string) error {
	fs := saleFlags("show")
	api := addAPIFlag(fs)
	asJSON := fs.Bool("json", false, "print the answer as JSON")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("usage: mass sale show ID [--json]")
	}
	id, err := strconv.ParseUint(pos[0], 10, 64)
	if err != nil || id == 0 {
		return fmt.Errorf("sale %q: want a number from 1", pos[0])
	}
	s, err := api.client().Sale(context.Background(), id, client.At{})
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(os.Stdout, s)
	}
	printSale(os.Stdout, s)
	return nil
}

// printSale shows a sale's record.
func printSale(w io.Writer, s *apijson.Sale) {
	v := s.Sale
	fmt.Fprintf(w, "sale %d: %q, %s (at most %d per request), price %d, %s\n", v.ID, v.Item, plural(int(v.Supply), "item"), v.PerRequest, v.Price, v.State)
	fmt.Fprintf(w, "  window [%d, %d) ms, allocated from %d; stamps from %d of %d nodes; proof of work %d bits\n",
		v.Opens, v.Closes, v.Due, v.Quorum, len(v.Nodes), v.Difficulty)
	fmt.Fprintf(w, "  requests kept %d (at most %d), accepted %d, evicted %d\n", v.Kept, v.MaxRequests, v.Accepted, v.Evicted)
	if v.State == "closed" {
		fmt.Fprintf(w, "  sold %d to %s (%d passed over unpaid); cut-off fair time %d, tie %s\n", v.Sold, plural(int(v.Winners), "winner"), v.Unpaid, v.CutFair, v.CutTie)
	}
	fmt.Fprintf(w, "  at height %d\n", s.Height)
}

func saleResultsCmd(args []string) error {
	fs := saleFlags("results")
	api := addAPIFlag(fs)
	id := fs.Uint64("sale", 0, "the sale")
	account := fs.String("account", "", "the buyer: ID, public key or key file")
	verify := fs.Bool("verify", false, "prove the outcome with the light client")
	genesisFile := fs.String("genesis", "", "the network's genesis file (with --verify)")
	asJSON := fs.Bool("json", false, "print the answer as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *id == 0 || *account == "" || *verify != (*genesisFile != "") {
		return errors.New("usage: mass sale results --sale ID --account ACCOUNT [--verify --genesis FILE] [--json]")
	}
	buyer, err := accountArg(*account)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if *verify {
		return verifySaleOutcome(ctx, os.Stdout, *genesisFile, api.client().Base(), *id, buyer.String())
	}
	b, err := api.client().SaleBuyer(ctx, *id, buyer, client.At{})
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(os.Stdout, b)
	}
	fmt.Printf("buyer %s in sale %d at height %d: %s\n", b.Buyer, *id, b.Height, b.Outcome)
	if b.Request != nil {
		fmt.Printf("  request: %s, fair time %d\n", plural(int(b.Request.Quantity), "item"), b.Request.Fair)
	}
	if b.Result != nil {
		fmt.Printf("  result: rank %d, %d granted, %d paid\n", b.Result.Rank, b.Result.Granted, b.Result.Paid)
	}
	return nil
}

// verifySaleOutcome proves a buyer's outcome from the genesis file alone.
func verifySaleOutcome(ctx context.Context, w io.Writer, genesisFile, api string, id uint64, account string) error {
	gen, err := readGenesis(genesisFile)
	if err != nil {
		return err
	}
	lc, err := light.New(gen)
	if err != nil {
		return fmt.Errorf("%s: %w", genesisFile, err)
	}
	buyer, err := light.ParseAccountID(account)
	if err != nil {
		return err
	}
	return printSaleOutcome(ctx, w, lc, &light.Remote{Base: api}, id, buyer, 0)
}

// printSaleOutcome proves a buyer's outcome in a sale at a height (0: the
// latest certified) and prints it (mass verify --sale, mass sale results
// --verify).
func printSaleOutcome(ctx context.Context, w io.Writer, lc *light.Client, remote *light.Remote, id uint64, buyer light.AccountID, height uint64) error {
	o, err := lc.ProveSaleOutcome(ctx, remote, id, buyer, height)
	if err != nil {
		return err
	}
	switch {
	case !o.Closed:
		fmt.Fprintf(w, "verified: sale %d is not allocated yet (request kept: %v)\n", id, o.Kept)
	case o.Won:
		fmt.Fprintf(w, "verified: %s won %s in sale %d (rank %d, paid %d)\n", buyer, plural(int(o.Granted), "item"), id, o.Rank, o.Paid)
	case o.Unpaid:
		fmt.Fprintf(w, "verified: %s was served in sale %d but passed over: the balance did not cover the price\n", buyer, id)
	case o.Kept:
		fmt.Fprintf(w, "verified: %s lost in sale %d: fair time %d is after the cut-off %d (sold out: %d of %d)\n", buyer, id, o.Fair, o.CutFair, o.Sold, o.Supply)
	default:
		fmt.Fprintf(w, "verified: %s lost in sale %d: no request kept, no result\n", buyer, id)
	}
	fmt.Fprintf(w, "  %s\n", where(o.Record))
	return nil
}
