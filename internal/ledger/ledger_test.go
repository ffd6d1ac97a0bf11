package ledger

import (
	"bytes"
	"testing"

	"github.com/mass-consensus/mass/internal/chain"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/genesis"
	"github.com/mass-consensus/mass/internal/protocol/epoch"
	"github.com/mass-consensus/mass/internal/store/mem"
	"github.com/mass-consensus/mass/internal/transport"
)

func testKeys(t *testing.T, n int) []*crypto.PrivateKey {
	t.Helper()
	var keys []*crypto.PrivateKey
	for i := range n {
		k, err := crypto.KeyFromSeed(bytes.Repeat([]byte{byte(i + 1)}, crypto.SeedSize))
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	return keys
}

func testGenesis(keys []*crypto.PrivateKey) *genesis.Genesis {
	g := &genesis.Genesis{ChainID: "test", Time: 1_000, BatchSize: 500}
	for _, k := range keys {
		g.Nodes = append(g.Nodes, genesis.Node{Key: k.Public().String()})
	}
	return g
}

// TestBadMessagesAreCountedAndChangeNothing gives a ledger, from a member
// of the node set, messages of every kind malformed, and checks each is
// counted and that none makes it write, send or apply anything.
func TestBadMessagesAreCountedAndChangeNothing(t *testing.T) {
	keys := testKeys(t, 4)
	l, err := Open(Config{Genesis: testGenesis(keys), Key: keys[0], Store: mem.New(), Entropy: [32]byte{1}}, Restart{})
	if err != nil {
		t.Fatal(err)
	}
	l.Ready() // the coin seed and the peers
	from := transport.NodeKey(keys[3].Public())
	bad := map[string][]byte{
		"empty":                 {},
		"unknown kind":          {99, 1, 2},
		"garbage bundle":        append([]byte{kindConsensus}, 0, 0, 0, 5, 1, 2),
		"bundle, trailing byte": append(encodeConsensus(epoch.MarshalBundle([][]byte{{1, 2, 3}})), 0),
		"status, trailing byte": append(encodeStatus(3), 7),
		"sync request, short":   encodeSyncRequest(syncRequest{From: 1, Count: 2})[:5],
		"sync response, bad":    {kindSyncResponse, 0, 0, 0, 1, 0, 0, 0, 9, 1},
	}
	for name, msg := range bad {
		before := l.Counters.Rejected.Load()
		if err := l.Receive(from, 0, msg); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if l.Counters.Rejected.Load() != before+1 {
			t.Errorf("%s: not counted as rejected", name)
		}
	}
	// Votes: one truncated, one claiming another node's signature, one
	// from a key outside the set.
	votes := map[string][]byte{
		"truncated":      encodeVote(voteMsg{Height: 1})[:20],
		"another signer": encodeVote(voteMsg{Height: 1, Vote: chain.Vote{Signer: 0}}),
	}
	for name, msg := range votes {
		before := l.Counters.VotesRejected.Load()
		if err := l.Receive(from, 0, msg); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if l.Counters.VotesRejected.Load() != before+1 {
			t.Errorf("vote %s: not counted as rejected", name)
		}
	}
	stranger := transport.NodeKey(testKeys(t, 5)[4].Public())
	before := l.Counters.Rejected.Load()
	if err := l.Receive(stranger, 0, encodeStatus(3)); err != nil || l.Counters.Rejected.Load() != before+1 {
		t.Errorf("a message from outside the set: err %v, not counted", err)
	}
	if l.HasReady() {
		rd := l.Ready()
		t.Fatalf("bad messages made the ledger act: %d log records, %d writes, %d messages, apply %v",
			len(rd.Log), rd.Writes.Len(), len(rd.Messages), rd.Apply != nil)
	}
}
