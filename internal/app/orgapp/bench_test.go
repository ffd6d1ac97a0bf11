package orgapp

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/mass-consensus/mass/internal/app"
	"github.com/mass-consensus/mass/internal/app/tx"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/genesis"
	"github.com/mass-consensus/mass/internal/store/mem"
)

// BenchmarkApplyTransfers applies blocks of 1,000 signed transfers among
// 1,000 accounts: decoding, batch signature verification, execution and
// the tree commit (in-memory store) — the application's cost per transfer.
func BenchmarkApplyTransfers(b *testing.B) {
	const accounts, perBlock = 1000, 1000
	keys := make([]*crypto.PrivateKey, accounts)
	g := Genesis{Organization: "Bench", Policy: "supervisor"}
	for i := range keys {
		keys[i] = key(b, i+1)
		role := "member"
		if i == 0 {
			role = "supervisor"
		}
		g.Accounts = append(g.Accounts, GenesisAccount{Key: keys[i].Public().String(), Name: fmt.Sprint("m", i), Role: role, Balance: 1 << 40})
	}
	raw, _ := json.Marshal(g)
	a, err := New(mem.New(), &genesis.Genesis{ChainID: chainID, Nodes: []genesis.Node{{Key: key(b, 5000).Public().String()}}, App: raw}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	nonces := make([]uint64, accounts)
	blocks := make([][][]byte, b.N)
	for i := range blocks {
		for k := 0; k < perBlock; k++ {
			from, to := (i*perBlock+k)%accounts, (i*perBlock+k+1)%accounts
			t := tx.New(keys[from].Public(), nonces[from], &tx.Transfer{To: keys[to].Public(), Amount: 1})
			nonces[from]++
			_ = t.Sign(chainID, keys[from])
			_ = t.Sign(chainID, keys[to])
			blocks[i] = append(blocks[i], t.Marshal())
		}
	}
	b.ResetTimer()
	for i := range blocks {
		res, err := a.ApplyBlock(app.Block{Height: uint64(i + 1), Time: int64(i), Txs: blocks[i]})
		if err != nil {
			b.Fatal(err)
		}
		if res.Txs[0].Code != CodeOK {
			b.Fatalf("transfer failed: %+v", res.Txs[0])
		}
	}
	b.ReportMetric(float64(b.N*perBlock)/b.Elapsed().Seconds(), "transfers/s")
}
