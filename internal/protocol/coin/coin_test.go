package coin

import (
	"math/rand/v2"
	"testing"

	"github.com/mass-consensus/mass/internal/crypto/tbls"
	"github.com/mass-consensus/mass/internal/protocol"
)

func TestLocalCoin(t *testing.T) {
	c := NewLocal(rand.NewPCG(1, 2))
	var ones int
	for r := uint32(1); r <= 1000; r++ {
		s := c.Toss(r)
		if len(s.Output) != 1 || s.Output[0].Round != r || len(s.Messages) != 0 {
			t.Fatalf("round %d: %+v", r, s)
		}
		if s.Output[0].Value {
			ones++
		}
	}
	if ones < 400 || ones > 600 {
		t.Fatalf("%d heads in 1000 tosses", ones)
	}
	if c.Common() {
		t.Fatal("a local coin claims to be common")
	}
	if s := c.HandleMessage(3, 1, []byte("share")); len(s.Faults) != 1 || s.Faults[0].Node != 3 {
		t.Fatalf("a message to a local coin: %+v", s)
	}
}

// dealtCoins returns the threshold coins of n nodes for one agreement, with
// keys from a test dealer.
func dealtCoins(t *testing.T, n int, seed uint64) ([]*Threshold, []tbls.SecretShare) {
	t.Helper()
	p, err := protocol.NewParams(n)
	if err != nil {
		t.Fatal(err)
	}
	pk, sks, err := tbls.Deal(n, p.F+1, rand.NewChaCha8([32]byte{byte(seed)}))
	if err != nil {
		t.Fatal(err)
	}
	coins := make([]*Threshold, n)
	for i := range coins {
		coins[i] = NewThreshold(&Keys{Public: pk, Share: sks[i]}, protocol.NodeID(i), 1, 7, 2)
	}
	return coins, sks
}

// TestThresholdCoinIsCommon: every node gets the same value once F+1 nodes
// tossed, not before, and the values of different rounds differ.
func TestThresholdCoinIsCommon(t *testing.T) {
	const n = 7 // F = 2, T = 3
	coins, _ := dealtCoins(t, n, 1)
	var ones int
	for r := uint32(3); r < 43; r++ {
		shares := make([][]byte, n)
		for i, c := range coins {
			s := c.Toss(r)
			if len(s.Messages) != 1 || len(s.Output) != 0 {
				t.Fatalf("round %d node %d toss: %+v", r, i, s)
			}
			shares[i] = s.Messages[0].Body
		}
		// Node 0 gets the shares of nodes 1 and 2 (with its own: T).
		if s := coins[0].HandleMessage(1, r, shares[1]); len(s.Output) != 0 {
			t.Fatalf("round %d: a value from two shares", r)
		}
		s := coins[0].HandleMessage(2, r, shares[2])
		if len(s.Output) != 1 || s.Output[0].Round != r {
			t.Fatalf("round %d: no value from three shares: %+v", r, s)
		}
		want := s.Output[0].Value
		if want {
			ones++
		}
		// Every other node, from other shares.
		for i := 1; i < n; i++ {
			a, b := (i+1)%n, (i+3)%n
			coins[i].HandleMessage(protocol.NodeID(a), r, shares[a])
			got := coins[i].HandleMessage(protocol.NodeID(b), r, shares[b])
			if len(got.Output) != 1 || got.Output[0].Value != want {
				t.Fatalf("round %d node %d: %+v, want %v", r, i, got, want)
			}
		}
	}
	if ones == 0 || ones == 40 {
		t.Fatalf("%d ones in 40 rounds", ones)
	}
}

// TestThresholdCoinSharesBeforeToss: shares that arrive before the node
// tosses give the value at its toss.
func TestThresholdCoinSharesBeforeToss(t *testing.T) {
	coins, _ := dealtCoins(t, 4, 2) // T = 2
	share := coins[1].Toss(5).Messages[0].Body
	if s := coins[0].HandleMessage(1, 5, share); len(s.Output) != 0 {
		t.Fatalf("a value before the node tossed: %+v", s)
	}
	if s := coins[0].Toss(5); len(s.Output) != 1 || len(s.Messages) != 1 {
		t.Fatalf("toss after a share arrived: %+v", s)
	}
}

// TestThresholdCoinBadShares: a share signed on another name, garbage, and a
// share of another node's index are faults; the coin waits for valid ones.
func TestThresholdCoinBadShares(t *testing.T) {
	coins, sks := dealtCoins(t, 4, 3) // T = 2
	coins[0].Toss(9)
	wrong, err := sks[1].Sign(Name(1, 7, 2, 10)) // the next round's name
	if err != nil {
		t.Fatal(err)
	}
	wb, _ := wrong.MarshalBinary()
	s := coins[0].HandleMessage(1, 9, wb)
	if len(s.Output) != 0 || len(s.Faults) != 1 || s.Faults[0].Node != 1 || s.Faults[0].Kind != FaultBadShare {
		t.Fatalf("a share of another round: %+v", s)
	}
	if s := coins[0].HandleMessage(2, 9, []byte{1, 2, 3}); len(s.Faults) != 1 || s.Faults[0].Kind != FaultBadShare {
		t.Fatalf("garbage: %+v", s)
	}
	good3 := coins[3].Toss(9).Messages[0].Body
	if s := coins[0].HandleMessage(2, 9, good3); len(s.Faults) != 0 || len(s.Output) != 0 {
		t.Fatalf("node 2 sending again after garbage: %+v", s) // one message per node and round
	}
	s = coins[0].HandleMessage(3, 9, good3)
	if len(s.Output) != 1 {
		t.Fatalf("no value from two valid shares: %+v", s)
	}
	if s := coins[1].HandleMessage(2, 9, good3); len(s.Faults) != 1 || s.Faults[0].Kind != FaultForeignIdx {
		t.Fatalf("node 3's share sent by node 2: %+v", s)
	}
}

func TestNameIsDistinct(t *testing.T) {
	seen := map[string]bool{}
	for _, nm := range [][]byte{Name(1, 2, 3, 4), Name(2, 1, 3, 4), Name(1, 2, 4, 3), Name(1, 2, 3, 5)} {
		if len(nm) != NameSize || seen[string(nm)] {
			t.Fatalf("name %x", nm)
		}
		seen[string(nm)] = true
	}
}
