package rbc

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
)

// upload is what one full broadcast cost in encoded bytes sent.
type upload struct {
	proposer int   // bytes the proposer uploaded
	perNode  []int // bytes each node uploaded
}

// ratios returns the proposer's upload and the mean upload per node, each
// divided by the value size.
func (u upload) ratios(valueSize int) (proposerX, meanX float64) {
	total := 0
	for _, b := range u.perNode {
		total += b
	}
	return float64(u.proposer) / float64(valueSize), float64(total) / float64(len(u.perNode)) / float64(valueSize)
}

// broadcastOnce runs a full broadcast of value from node 0 through n
// instances in memory, messages first in first out, and counts the encoded
// bytes each node sends: a message's size times its recipients (n−1 for a
// broadcast), not counting what a node handles itself.
func broadcastOnce(tb testing.TB, n int, value []byte) upload {
	tb.Helper()
	p := mustParams(tb, n)
	nw := newNetwork(tb, p, 0, nil, nil)
	nw.input(0, value)
	nw.run()
	if d := nw.checkAgreement(value); d != n {
		tb.Fatalf("n=%d: %d nodes delivered", n, d)
	}
	return upload{proposer: nw.uploaded[0], perNode: nw.uploaded}
}

func TestUploadPerNode(t *testing.T) {
	const size = 1 << 20
	value := randomBytes(rand.New(rand.NewPCG(1, 1)), size)
	for _, n := range []int{4, 7, 16} {
		u := broadcastOnce(t, n, value)
		px, mx := u.ratios(size)
		t.Logf("n=%2d: proposer uploads %.3f× the value, mean per node %.3f×", n, px, mx)
		if limit := 3.1*size + 4096; mx*size > limit {
			t.Errorf("n=%d: mean upload %.0f bytes, over %.0f", n, mx*size, limit)
		}
	}
}

func BenchmarkBroadcast1MiB(b *testing.B) {
	const size = 1 << 20
	value := randomBytes(rand.New(rand.NewPCG(1, 1)), size)
	for _, n := range []int{4, 7, 16} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			b.SetBytes(size)
			var u upload
			for b.Loop() {
				u = broadcastOnce(b, n, value)
			}
			px, mx := u.ratios(size)
			b.ReportMetric(px, "proposer-x")
			b.ReportMetric(mx, "mean-x")
		})
	}
}

func BenchmarkEncode1MiB(b *testing.B) {
	const size = 1 << 20
	value := randomBytes(rand.New(rand.NewPCG(1, 1)), size)
	for _, n := range []int{4, 16} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			p := mustParams(b, n)
			b.SetBytes(size)
			for b.Loop() {
				if _, err := Encode(p, value); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Decoding from parity shards only, as a node that missed the data shards
// would.
func TestDecodeFromAnyShards(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for _, n := range []int{4, 7, 16} {
		p := mustParams(t, n)
		k := dataShards(p)
		enc, err := newCodec(p)
		if err != nil {
			t.Fatal(err)
		}
		value := randomBytes(rng, 1000+rng.IntN(1000))
		c, err := Encode(p, value)
		if err != nil {
			t.Fatal(err)
		}
		for range 20 {
			shards := make([][]byte, n)
			for _, i := range rng.Perm(n)[:k] {
				shards[i] = c.Shards[i]
			}
			got, ok := decode(p, enc, DefaultMaxValueSize, c.Root, shards)
			if !ok || !bytes.Equal(got, value) {
				t.Fatalf("n=%d: decode failed", n)
			}
		}
		// Fewer than k shards do not decode.
		shards := make([][]byte, n)
		for _, i := range rng.Perm(n)[:k-1] {
			shards[i] = c.Shards[i]
		}
		if _, ok := decode(p, enc, DefaultMaxValueSize, c.Root, shards); ok {
			t.Fatalf("n=%d: decoded from k−1 shards", n)
		}
		// A value over the instance's limit does not decode.
		full := append([][]byte(nil), c.Shards...)
		if _, ok := decode(p, enc, len(value)-1, c.Root, full); ok {
			t.Fatalf("n=%d: decoded a value over the limit", n)
		}
	}
}
