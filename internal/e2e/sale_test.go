package e2e

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mass-consensus/mass/internal/apijson"
	"github.com/mass-consensus/mass/internal/app/sale"
	"github.com/mass-consensus/mass/internal/app/tx"
	"github.com/mass-consensus/mass/internal/client"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/light"
)

// saleBuyer is one buyer of the e2e sale.
type saleBuyer struct {
	key    *crypto.PrivateKey
	member bool
	id     light.AccountID
}

// TestSaleThousandBuyers runs a sale on a devnet of 4 mass processes: the
// founder opens 100 items, 1,000 non-members (proof of work of 2 bits) and
// the 2 genesis members each ask every node's stamping route, choose 2f+1
// stamps and submit their request; after the close every buyer's outcome
// is read with proofs and verified by the light client from the genesis
// file alone, and the allocation is checked from the proven records:
// exactly the supply sold, the winners exactly the earliest by (fair time,
// tie-break), every loser after the cut-off.
func TestSaleThousandBuyers(t *testing.T) {
	began := time.Now()
	c := newClusterOf(t, 4, "org")
	for i := range c.procs {
		c.start(i)
	}
	g := newGov(c)
	clients := make([]*client.Client, len(c.procs))
	for i, p := range c.procs {
		var err error
		if clients[i], err = client.New(p.api, client.WithTimeout(10*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	params := sale.Params{Item: "Row A", Supply: 100, PerRequest: 1, Window: 12_000, MaxAge: 8_000, Difficulty: 2, MaxRequests: 2000}
	g.send(0, "founder", &tx.SaleOpen{Params: params})
	var sl *sale.Sale
	c.waitFor("sale 1 to open on every node", func() bool {
		for _, cl := range clients {
			s, err := cl.Sale(ctx, 1, client.At{})
			if err != nil {
				return false
			}
			if sl, err = s.Sale.Sale(); err != nil {
				return false
			}
		}
		return true
	})
	var buyers []*saleBuyer
	for _, name := range []string{"alice", "bob"} {
		buyers = append(buyers, &saleBuyer{key: g.keys[name], member: true})
	}
	for i := 0; i < 1000; i++ {
		seed := sha256.Sum256([]byte(fmt.Sprint("sale buyer ", i)))
		k, _ := crypto.KeyFromSeed(seed[:])
		buyers = append(buyers, &saleBuyer{key: k})
	}
	for _, b := range buyers {
		b.id, _ = light.ParseAccountID(b.key.Public().ID().String())
	}
	opened := time.Now()
	var wg sync.WaitGroup
	work := make(chan int)
	errs := make(chan error, len(buyers))
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if err := buySale(ctx, clients, g.chainID, sl, buyers[i], i); err != nil {
					errs <- fmt.Errorf("buyer %d: %w", i, err)
				}
			}
		}()
	}
	for i := range buyers {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("%d buyers stamped (4 nodes each) and submitted in %v", len(buyers), time.Since(opened).Round(time.Millisecond))
	// The close: the sale's deadline makes the block.
	var closedAt uint64
	c.waitFor("the sale to close", func() bool {
		s, err := clients[1].Sale(ctx, 1, client.At{})
		if err == nil && s.Sale.State == "closed" {
			closedAt = s.Height
			return true
		}
		return false
	})
	gen, err := os.ReadFile(filepath.Join(c.procs[0].home, "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	lc, err := light.New(gen)
	if err != nil {
		t.Fatal(err)
	}
	remote := &light.Remote{Base: c.procs[2].api}
	if err := lc.Sync(ctx, remote, closedAt); err != nil {
		t.Fatal(err)
	}
	outcomes := make([]*light.SaleOutcome, len(buyers))
	for i, b := range buyers {
		if outcomes[i], err = lc.ProveSaleOutcome(ctx, &light.Remote{Base: c.procs[i%4].api}, 1, b.id, closedAt); err != nil {
			t.Fatalf("buyer %d: %v", i, err)
		}
	}
	if err := checkAllocation(outcomes, params.Supply); err != nil {
		t.Fatal(err)
	}
	// The checks catch a wrong allocation: a winner and a loser swapped,
	// a loser placed before the cut-off, an item too many, a lost request.
	planted := map[string]func([]light.SaleOutcome){
		"swapped": func(o []light.SaleOutcome) {
			w := slices.IndexFunc(o, func(x light.SaleOutcome) bool { return x.Won })
			l := slices.IndexFunc(o, func(x light.SaleOutcome) bool { return !x.Won })
			o[w].Won, o[w].Granted, o[l].Won, o[l].Granted = false, 0, true, 1
		},
		"loser before the cut": func(o []light.SaleOutcome) {
			l := slices.IndexFunc(o, func(x light.SaleOutcome) bool { return !x.Won })
			o[l].Fair = o[l].CutFair - 1
		},
		"one too many": func(o []light.SaleOutcome) {
			l := slices.IndexFunc(o, func(x light.SaleOutcome) bool { return !x.Won })
			o[l].Won, o[l].Granted = true, 1
		},
		"not kept": func(o []light.SaleOutcome) { o[len(o)-1].Kept = false },
	}
	for name, plant := range planted {
		copies := make([]light.SaleOutcome, len(outcomes))
		ptrs := make([]*light.SaleOutcome, len(outcomes))
		for i, o := range outcomes {
			copies[i] = *o
		}
		plant(copies)
		for i := range copies {
			ptrs[i] = &copies[i]
		}
		if checkAllocation(ptrs, params.Supply) == nil {
			t.Errorf("the allocation check misses %s", name)
		}
	}
	// The CLI's light client says the same from the genesis file alone:
	// one winner and one loser, at the close's height.
	for _, want := range []string{"won", "lost"} {
		i := slices.IndexFunc(outcomes, func(o *light.SaleOutcome) bool { return o.Won == (want == "won") })
		out, err := exec.Command(binary, "verify", "--genesis", filepath.Join(c.procs[0].home, "genesis.json"), "--api", c.procs[3].api,
			"--account", buyers[i].id.String(), "--sale", "1", "--height", fmt.Sprint(closedAt)).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "verified: "+buyers[i].id.String()+" "+want) {
			t.Fatalf("mass verify --sale for a buyer who %s: %v\n%s", want, err, out)
		}
		t.Logf("%s", out)
	}
	won := 0
	for _, o := range outcomes {
		if o.Won {
			won++
		}
	}
	t.Logf("sale closed at height %d: %d winners of %d buyers, verified by the light client; the test took %v",
		closedAt, won, len(buyers), time.Since(began).Round(time.Millisecond))
}

// buySale stamps a buyer's request at every node, chooses 2f+1 stamps and
// submits the request, retrying what a busy or rate-limited node refuses.
func buySale(ctx context.Context, clients []*client.Client, chainID string, sl *sale.Sale, b *saleBuyer, i int) error {
	q := sale.Request{Sale: sl.ID, Buyer: b.key.Public(), Quantity: 1}
	if !b.member {
		nonce, err := sale.SolvePoW(chainID, sl.ID, q.Buyer, sl.Params.Difficulty, 0, 1<<20)
		if err != nil {
			return err
		}
		q.Nonce = nonce
	}
	ask := sale.SignAsk(b.key, chainID, &q)
	var stamps []sale.Stamp
	for _, cl := range clients {
		st, err := retry(ctx, func() (sale.Stamp, error) { return cl.Stamp(ctx, chainID, &ask) })
		if err != nil {
			return fmt.Errorf("stamp from %s: %w", cl.Base(), err)
		}
		stamps = append(stamps, st)
	}
	chosen, err := sale.Choose(sl, chainID, q.Hash(chainID), stamps)
	if err != nil {
		return err
	}
	q.Stamps = chosen
	t := tx.New(b.key.Public(), 0, &tx.SaleRequest{Request: q})
	if err := t.Sign(chainID, b.key); err != nil {
		return err
	}
	_, err = retry(ctx, func() (*apijson.Submitted, error) { return clients[i%len(clients)].Submit(ctx, t.Marshal()) })
	return err
}

// retry calls f until it succeeds, or fails otherwise than busy, rate
// limited or before the window (a node's clock a little behind), or ctx
// ends.
func retry[T any](ctx context.Context, f func() (T, error)) (T, error) {
	for {
		v, err := f()
		if err == nil || !(client.IsCode(err, apijson.CodeRateLimited) || client.IsCode(err, apijson.CodeBusy) || client.IsCode(err, apijson.CodeSaleWindow)) {
			return v, err
		}
		select {
		case <-ctx.Done():
			return v, errors.Join(err, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// checkAllocation checks the outcomes of every buyer of a closed sale,
// proven at one height, against the rules: every request kept, its fair
// time the median of its stamps; the winners exactly the earliest by
// (fair time, tie-break), served one item each until the supply is sold
// out; every loser after the cut-off.
func checkAllocation(outcomes []*light.SaleOutcome, supply uint32) error {
	type ranked struct {
		o    *light.SaleOutcome
		fair int64
	}
	var all []ranked
	sold := uint32(0)
	for i, o := range outcomes {
		switch {
		case !o.Closed:
			return fmt.Errorf("buyer %d: the sale is not closed", i)
		case !o.Kept:
			return fmt.Errorf("buyer %d: its request is not kept", i)
		case o.Won != (o.Granted > 0) || o.Unpaid:
			return fmt.Errorf("buyer %d: won %v with %d granted (unpaid %v)", i, o.Won, o.Granted, o.Unpaid)
		}
		times := make([]int64, len(o.Stamps))
		for j, s := range o.Stamps {
			times[j] = s.Time
		}
		if fair := sale.FairTime(times); fair != o.Fair {
			return fmt.Errorf("buyer %d: fair time %d, its stamps' median is %d", i, o.Fair, fair)
		}
		sold += o.Granted
		all = append(all, ranked{o, o.Fair})
	}
	if sold != supply {
		return fmt.Errorf("%d items granted, the supply is %d", sold, supply)
	}
	slices.SortFunc(all, func(a, b ranked) int {
		ka := sale.OrderKey{Fair: a.fair, Tie: [32]byte(a.o.Tie)}
		return ka.Compare(sale.OrderKey{Fair: b.fair, Tie: [32]byte(b.o.Tie)})
	})
	cut := sale.OrderKey{Fair: all[0].o.CutFair, Tie: [32]byte(all[0].o.CutTie)}
	for i, r := range all {
		key := sale.OrderKey{Fair: r.fair, Tie: [32]byte(r.o.Tie)}
		winner := i < int(supply)
		switch {
		case r.o.Won != winner:
			return fmt.Errorf("the %d-th earliest request (buyer %s) won %v", i+1, r.o.Buyer, r.o.Won)
		case winner && (r.o.Rank != uint32(i+1) || key.Compare(cut) > 0):
			return fmt.Errorf("winner %s: rank %d at place %d, or after the cut-off", r.o.Buyer, r.o.Rank, i+1)
		case !winner && key.Compare(cut) <= 0:
			return fmt.Errorf("loser %s: its order key is not after the cut-off", r.o.Buyer)
		}
	}
	return nil
}
