package epoch

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/mass-consensus/mass/internal/protocol"
)

// BenchmarkEpoch4 runs whole epochs of 4 engines delivering every message,
// each node proposing 500 transactions of 250 bytes: the engine's and the
// protocol's CPU per committed transaction, without network or disk.
func BenchmarkEpoch4(b *testing.B) {
	const n, perNode, size = 4, 500, 250
	tn := newTestNet(&testing.T{}, n, 1, Config{Window: 1, BatchSize: perNode * n})
	rng := rand.New(rand.NewPCG(1, 2))
	committed := 0
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		for i := 0; i < n; i++ {
			for k := 0; k < perNode; k++ {
				tx := make([]byte, size)
				for j := range tx {
					tx[j] = byte(rng.Uint32())
				}
				if err := tn.input(i, Input{Tx: tx}); err != nil {
					b.Fatal(err)
				}
			}
		}
		before := len(tn.out[0])
		for tn.deliver() {
		}
		for _, batch := range tn.out[0][before:] {
			committed += len(batch.Txs)
		}
	}
	b.ReportMetric(float64(committed)/b.Elapsed().Seconds(), "tx/s")
}

// BenchmarkBundleCodec encodes and decodes a bundle of epoch messages as
// the node sends them.
func BenchmarkBundleCodec(b *testing.B) {
	p, _ := protocol.NewParams(4)
	tn := newTestNet(&testing.T{}, 4, 3, Config{Window: 1})
	for i := 0; i < 4; i++ {
		if err := tn.input(i, Input{Tx: []byte(fmt.Sprint("tx", i))}); err != nil {
			b.Fatal(err)
		}
	}
	var msgs [][]byte
	for _, pk := range tn.pool {
		msgs = append(msgs, pk.data)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		bundle := MarshalBundle(msgs)
		if _, err := UnmarshalBundle(bundle, p, DefaultMaxProposalSize); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(msgs)), "msgs/bundle")
}
