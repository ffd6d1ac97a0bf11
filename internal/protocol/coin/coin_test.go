package coin

import (
	"math/rand/v2"
	"testing"
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
	if s := c.HandleMessage(3, []byte("share")); len(s.Faults) != 1 || s.Faults[0].Node != 3 {
		t.Fatalf("a message to a local coin: %+v", s)
	}
}
