package acs_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/mass-consensus/mass/internal/protocol/acs"
)

// BenchmarkSubset runs one full common subset among n honest nodes per
// iteration, every node proposing a value of the given size, with local
// coins and messages through their encoding, delivered in a random order
// drawn from a fixed seed. bytes/node is the encoded size of what a node
// sends times its recipients; msgs/node counts point-to-point messages.
func BenchmarkSubset(b *testing.B) {
	for _, agreement := range []acs.Agreement{acs.Quadratic, acs.Bracha} {
		for _, n := range []int{4, 7, 16} {
			for _, size := range []int{1 << 10, 64 << 10} {
				benchmarkSubset(b, agreement, n, size)
			}
		}
	}
}

func benchmarkSubset(b *testing.B, agreement acs.Agreement, n, size int) {
	{
		{
			b.Run(fmt.Sprintf("%v/n=%d/value=%dKiB", agreement, n, size>>10), func(b *testing.B) {
				rng := rand.New(rand.NewPCG(1, uint64(n)))
				values := make([][]byte, n)
				for i := range values {
					values[i] = testValue(rng, i, size)
				}
				var sentBytes, sentMsgs, iters int
				for b.Loop() {
					nw := newNetwork(b, n, nil, uint64(iters), rng, agreement)
					for i, v := range values {
						nw.propose(i, v, nil)
					}
					nw.run(100_000_000)
					nw.check()
					for i := range n {
						sentBytes += nw.sentBytes[i]
						sentMsgs += nw.sentMsgs[i]
					}
					iters++
				}
				b.ReportMetric(float64(sentBytes)/float64(iters*n), "bytes/node")
				b.ReportMetric(float64(sentMsgs)/float64(iters*n), "msgs/node")
			})
		}
	}
}
