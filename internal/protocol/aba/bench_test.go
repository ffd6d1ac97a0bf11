package aba

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/mass-consensus/mass/internal/protocol"
	"github.com/mass-consensus/mass/internal/protocol/coin"
	"github.com/mass-consensus/mass/internal/wire"
)

// agreementRun is what one full agreement cost.
type agreementRun struct {
	messages    int // point-to-point messages sent by all nodes
	roundSum    int // sum of the decision rounds of nodes that decided by votes
	roundCount  int // number of such nodes
	termDecided int // nodes that decided through TERM messages
}

type benchPacket struct {
	from, to protocol.NodeID
	bytes    []byte
}

// agreeOnce runs one agreement among len(inputs) honest nodes in memory,
// every message through its encoding, delivered in an order drawn from rng;
// node i's coin is seeded by (seed, i). It fails unless every node
// terminates with one common decision.
func agreeOnce(tb testing.TB, inputs []bool, seed uint64, rng *rand.Rand) agreementRun {
	tb.Helper()
	n := len(inputs)
	p, err := protocol.NewParams(n)
	if err != nil {
		tb.Fatal(err)
	}
	nodes := make([]*Agreement, n)
	for i := range nodes {
		nodes[i], err = New(Config{Params: p, Self: protocol.NodeID(i), Coin: coin.NewLocal(rand.NewPCG(seed, uint64(i)))})
		if err != nil {
			tb.Fatal(err)
		}
	}
	var (
		run     agreementRun
		pool    []benchPacket
		outputs = make([][]bool, n)
	)
	absorb := func(from protocol.NodeID, s Step) {
		outputs[from] = append(outputs[from], s.Output...)
		if len(s.Faults) > 0 {
			tb.Fatalf("node %d reported faults among honest nodes: %v", from, s.Faults)
		}
		for _, m := range s.Messages {
			b := encode(m.Body)
			for to := range n {
				if id := protocol.NodeID(to); m.To.Includes(from, id) {
					pool = append(pool, benchPacket{from: from, to: id, bytes: b})
					run.messages++
				}
			}
		}
	}
	for i, v := range inputs {
		s, err := nodes[i].HandleInput(v)
		if err != nil {
			tb.Fatal(err)
		}
		absorb(protocol.NodeID(i), s)
	}
	for delivered := 0; len(pool) > 0; delivered++ {
		if delivered > 50_000_000 {
			tb.Fatalf("n=%d seed=%d: no termination after %d deliveries", n, seed, delivered)
		}
		i := rng.IntN(len(pool))
		pk := pool[i]
		pool[i] = pool[len(pool)-1]
		pool = pool[:len(pool)-1]
		r := wire.NewReader(pk.bytes)
		m, err := Unmarshal(r, p)
		if err == nil {
			err = r.Done()
		}
		if err != nil {
			tb.Fatalf("decode: %v", err)
		}
		absorb(pk.to, nodes[pk.to].HandleMessage(pk.from, m))
	}
	for i, a := range nodes {
		if !a.Terminated() || len(outputs[i]) != 1 || outputs[i][0] != outputs[0][0] {
			tb.Fatalf("n=%d seed=%d: node %d terminated %v with decisions %v, node 0 %v", n, seed, i, a.Terminated(), outputs[i], outputs[0])
		}
		if r := a.DecisionRound(); r > 0 {
			run.roundSum += int(r)
			run.roundCount++
		} else {
			run.termDecided++
		}
	}
	return run
}

// BenchmarkAgreement runs one full agreement among n honest nodes per
// iteration, with local coins, messages delivered in a random order drawn
// from a fixed seed. msgs/node counts point-to-point messages (a broadcast
// counts once per recipient); round is the mean decision round of the nodes
// that decided by their own votes (the others decide through TERM).
func BenchmarkAgreement(b *testing.B) {
	for _, n := range []int{4, 7, 16} {
		for _, mode := range []string{"unanimous", "mixed"} {
			b.Run(fmt.Sprintf("n=%d/%s", n, mode), func(b *testing.B) {
				inputs := make([]bool, n)
				for i := range inputs {
					inputs[i] = mode == "unanimous" || i%2 == 1
				}
				rng := rand.New(rand.NewPCG(1, uint64(n)))
				var total agreementRun
				iters := 0
				for b.Loop() {
					r := agreeOnce(b, inputs, uint64(iters), rng)
					total.messages += r.messages
					total.roundSum += r.roundSum
					total.roundCount += r.roundCount
					total.termDecided += r.termDecided
					iters++
				}
				b.ReportMetric(float64(total.messages)/float64(iters*n), "msgs/node")
				b.ReportMetric(float64(total.roundSum)/float64(total.roundCount), "round")
			})
		}
	}
}
