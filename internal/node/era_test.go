package node

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/mass-consensus/mass/internal/app"
	"github.com/mass-consensus/mass/internal/app/kvapp"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/store"
	"github.com/mass-consensus/mass/light"
)

// setApp is the key-value application plus one transaction that changes
// the node set: "nodes=<hex key>,<hex key>,…".
type setApp struct {
	*kvapp.App
	kv store.KV
}

func newSetApp(kv store.KV) (app.Application, error) {
	a, err := kvapp.New(store.WithPrefix(kv, "kv/"))
	if err != nil {
		return nil, err
	}
	return &setApp{App: a, kv: kv}, nil
}

func parseNodes(tx []byte) ([]app.NodeInfo, bool) {
	s, ok := strings.CutPrefix(string(tx), "nodes=")
	if !ok {
		return nil, false
	}
	var out []app.NodeInfo
	for _, h := range strings.Split(s, ",") {
		b, err := hex.DecodeString(h)
		if err != nil || len(b) != 32 {
			return nil, false
		}
		out = append(out, app.NodeInfo{Key: [32]byte(b)})
	}
	return out, true
}

func (a *setApp) ApplyBlock(b app.Block) (app.Result, error) {
	res, err := a.App.ApplyBlock(b)
	if err != nil {
		return res, err
	}
	for _, tx := range b.Txs {
		if nodes, ok := parseNodes(tx); ok {
			res.NodeSet = nodes
		}
	}
	if res.NodeSet != nil {
		var batch store.Batch
		batch.Put([]byte(fmt.Sprintf("change/%020d", b.Height)), []byte(joinKeys(res.NodeSet)))
		if err := a.kv.Apply(&batch, true); err != nil {
			return res, err
		}
	}
	return res, nil
}

func (a *setApp) NodeSetChange(height uint64) ([]app.NodeInfo, error) {
	v, err := a.kv.Get([]byte(fmt.Sprintf("change/%020d", height)))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	nodes, _ := parseNodes(append([]byte("nodes="), v...))
	return nodes, nil
}

func joinKeys(nodes []app.NodeInfo) string {
	var parts []string
	for _, n := range nodes {
		parts = append(parts, hex.EncodeToString(n.Key[:]))
	}
	return strings.Join(parts, ",")
}

func nodesTx(keys ...*crypto.PrivateKey) []byte {
	var parts []string
	for _, k := range keys {
		parts = append(parts, k.Public().String())
	}
	return []byte("nodes=" + strings.Join(parts, ","))
}

// TestNodeSetChanges: a block adds a fifth node, which follows the chain
// until its era, then takes part (its signature appears in certificates);
// a later block removes a node of the first set and the others go on. A
// light client from the genesis follows both changes.
func TestNodeSetChanges(t *testing.T) {
	c := newCluster(t, 5)
	c.gen.Nodes = c.gen.Nodes[:4] // node 4 is not in the genesis set
	c.app = newSetApp
	keys := make([]*crypto.PrivateKey, 5)
	for i, m := range c.members {
		keys[i] = m.key
		c.start(i)
	}
	if st := c.members[4].node.Status(); st.Member {
		t.Fatal("node 4 is a member before any change")
	}
	if err := c.submit(4, []byte("k=v")); !errors.Is(err, ErrNotMember) {
		t.Fatalf("a non-member took a transaction: %v", err)
	}
	first := txs("before", 200)
	c.submitTo([]int{0, 1, 2, 3}, first)
	c.waitFor("commits by the genesis set", c.committedEverywhere([]int{0, 1, 2, 3}, first))

	// Add node 4.
	if err := c.submit(0, nodesTx(keys...)); err != nil {
		t.Fatal(err)
	}
	c.waitFor("node 4 a member", func() bool { return c.members[4].node.Status().Member })
	for i := 0; i < 4; i++ {
		c.waitFor("every node in era 1", func() bool { return c.members[i].node.Status().Era == 1 })
	}
	five := []int{0, 1, 2, 3, 4}
	second := txs("five", 300)
	c.submitTo(five, second)
	c.waitFor("commits by five nodes", c.committedEverywhere(five, second))
	// A certificate signed by node 4.
	signedBy4 := func() bool {
		nd := c.members[0].node
		for h := nd.Status().Certified; h > 0; h-- {
			_, cert, err := nd.Block(h)
			if err != nil {
				return false
			}
			for _, v := range cert.Votes {
				if v.Signer == 4 {
					return true
				}
			}
		}
		return false
	}
	round := 0
	c.waitFor("a certificate with node 4's signature", func() bool {
		if !signedBy4() {
			round++
			c.submitTo(five, txs(fmt.Sprint("more-", round), 20))
			return false
		}
		return true
	})

	// Remove node 0.
	if err := c.submit(1, nodesTx(keys[1:]...)); err != nil {
		t.Fatal(err)
	}
	rest := []int{1, 2, 3, 4}
	for _, i := range rest {
		c.waitFor("era 2", func() bool { return c.members[i].node.Status().Era == 2 })
	}
	third := txs("after", 300)
	c.submitTo(rest, third)
	c.waitFor("commits without node 0", c.committedEverywhere(rest, third))
	top := c.sameChain(rest)
	c.votes.check(t)

	// A light client, from the genesis alone, follows both changes.
	nd := c.members[1].node
	genesisJSON, err := json.Marshal(c.gen)
	if err != nil {
		t.Fatal(err)
	}
	client, err := light.New(genesisJSON)
	if err != nil {
		t.Fatal(err)
	}
	seg := &light.Segment{Certificates: map[uint64][]byte{}, NodeSets: map[light.Hash]light.NodeSet{}}
	inForce := nd.GenesisNodeSet().Hash()
	changes := 0
	for h := uint64(1); h <= top; h++ {
		b, cert, err := nd.Block(h)
		if err != nil {
			t.Fatal(err)
		}
		hdr := b.Header
		seg.Headers = append(seg.Headers, hdr.Marshal())
		if hdr.NextNodes != inForce || h == top {
			seg.Certificates[h] = cert.Marshal()
		}
		if hdr.NextNodes != inForce {
			set, ok := nd.NodeSet(hdr.NextNodes)
			if !ok {
				t.Fatalf("the node does not know set %s", hdr.NextNodes)
			}
			var keys []light.PublicKey
			for _, k := range set.Keys {
				keys = append(keys, light.PublicKey(k))
			}
			seg.NodeSets[light.Hash(hdr.NextNodes)] = light.NodeSet{Keys: keys}
			inForce = hdr.NextNodes
			changes++
		}
	}
	if changes != 2 {
		t.Fatalf("%d changes of the node set in the headers, want 2", changes)
	}
	if err := client.Verify(seg); err != nil {
		t.Fatal(err)
	}
	if set, _ := client.NodeSet(top); set.N() != 4 || set.Keys[0] != light.PublicKey(keys[1].Public()) {
		t.Fatalf("the light client ends with %+v", set)
	}
	// Dropping the certificate of a change breaks the chain for it.
	for h, cert := range seg.Certificates {
		if h == top {
			continue
		}
		delete(seg.Certificates, h)
		fresh, _ := light.New(genesisJSON)
		if err := fresh.Verify(seg); err == nil {
			t.Fatalf("verified without the certificate of the change at %d", h)
		}
		seg.Certificates[h] = cert
	}
}

// TestNodeSetChangeSurvivesCrashes: nodes that lose power around the change
// of the node set (one of the old set, and the joining node) come back in
// the right era and take part.
func TestNodeSetChangeSurvivesCrashes(t *testing.T) {
	c := newCluster(t, 5)
	c.gen.Nodes = c.gen.Nodes[:4]
	c.app = newSetApp
	keys := make([]*crypto.PrivateKey, 5)
	for i, m := range c.members {
		keys[i] = m.key
		c.start(i)
	}
	first := txs("before", 100)
	c.submitTo([]int{0, 1, 2, 3}, first)
	c.waitFor("commits by the genesis set", c.committedEverywhere([]int{0, 1, 2, 3}, first))
	if err := c.submit(0, nodesTx(keys...)); err != nil {
		t.Fatal(err)
	}
	c.waitFor("node 3 learns the change", func() bool {
		nd := c.members[3].node
		nd.setsMu.RLock()
		defer nd.setsMu.RUnlock()
		return len(nd.sets) == 2
	})
	c.crash(3)
	c.crash(4)
	c.start(3)
	c.start(4)
	five := []int{0, 1, 2, 3, 4}
	for _, i := range five {
		c.waitFor("era 1 everywhere", func() bool { return c.members[i].node.Status().Era == 1 })
	}
	load := txs("five", 300)
	c.submitTo(five, load)
	c.waitFor("commits by five nodes after the crashes", c.committedEverywhere(five, load))
	c.sameChain(five)
	c.votes.check(t)
}

// TestDeferredSyncSurvivesCrashes: with an application that leaves its
// block writes to the node's synced record (DeferSync), power cuts during
// load, of one node and then of all, lose nothing certified and the nodes
// agree afterwards.
func TestDeferredSyncSurvivesCrashes(t *testing.T) {
	c := newCluster(t, 4)
	c.app = func(kv store.KV) (app.Application, error) {
		a, err := kvapp.NewRaw(kv)
		if err != nil {
			return nil, err
		}
		a.DeferSync = true
		return a, nil
	}
	all := []int{0, 1, 2, 3}
	for _, i := range all {
		c.start(i)
	}
	load := txs("g", 600)
	c.submitTo(all, load[:300])
	c.waitFor("some blocks", func() bool { return c.members[1].node.Status().Height >= 2 })
	c.crash(1)
	c.submitTo([]int{0, 2, 3}, load[300:])
	c.start(1)
	c.waitFor("everything after node 1's crash", c.committedEverywhere(all, load))
	c.crashAllAndRestart(all)
	more := txs("h", 200)
	c.submitTo(all, more)
	c.waitFor("commits after everyone restarted", c.committedEverywhere(all, more))
	c.sameChain(all)
	c.votes.check(t)
}
