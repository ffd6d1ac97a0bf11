package web

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/mass-consensus/mass/internal/apijson"
)

// TestAppInclusion checks, in headless Chromium, how the app confirms that
// a committed transaction is in its block (web/node.js, verifyInclusion):
// the block's transactions must hash to the batch hash of the header the
// light client verified, and hold the transaction. A node that leaves a
// transaction out, adds one, or names a block not certified yet does not
// get a "verified".
func TestAppInclusion(t *testing.T) {
	f := newFixture(t)
	b := newBrowser(t, f.base)
	const h = 2 // a transfer and carol's application
	tr := f.blocks[h-1].Txs[0]
	other := f.blocks[h].Txs[0] // a transfer of block 3
	honest := f.get(t, "/v1/blocks/2")
	edit := func(fn func(*apijson.Block)) any {
		var blk apijson.Block
		if err := json.Unmarshal([]byte(honest), &blk); err != nil {
			t.Fatal(err)
		}
		fn(&blk)
		return blk
	}
	var honestBlock any
	if err := json.Unmarshal([]byte(honest), &honestBlock); err != nil {
		t.Fatal(err)
	}
	b64 := base64.StdEncoding.EncodeToString
	cases := []struct {
		name  string
		tx    []byte
		block any
		want  any // true, false, or nil (not certified yet)
	}{
		{"in the block", tr, honestBlock, true},
		{"the other transaction of the block", f.blocks[h-1].Txs[1], honestBlock, true},
		{"a transaction of another block", other, honestBlock, false},
		{"the block without it", tr, edit(func(b *apijson.Block) { b.Txs = b.Txs[1:] }), false},
		{"the block with another added", other, edit(func(b *apijson.Block) { b.Txs = append(b.Txs, b64(other)) }), false},
		{"the block's transactions swapped", tr, edit(func(b *apijson.Block) { b.Txs[0], b.Txs[1] = b.Txs[1], b.Txs[0] }), false},
		{"not certified yet", tr, nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out struct {
				OK       bool
				Included any
				Error    *struct{ Name, Message string }
			}
			b.callApp(t, "inclusion", map[string]any{"genesis": f.genesisText, "height": h, "tx": hex.EncodeToString(c.tx), "block": c.block}, &out)
			if !out.OK || out.Included != c.want {
				t.Fatalf("%+v, want included = %v", out, c.want)
			}
		})
	}
}
