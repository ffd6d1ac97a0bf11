package dkg

import (
	"crypto/ecdh"
	"fmt"
	"testing"

	"go.dedis.ch/kyber/v4"
)

// The encoded sizes, checked against real messages, for the report.
func TestSizes(t *testing.T) {
	for _, n := range []int{4, 16, 31} {
		c := newCluster(t, n, "sizes", 50)
		p := c.part(t, 1, 51)
		kg, _ := New(c.cfg(0))
		a, err := kg.HandlePart(1, p)
		if err != nil || a == nil {
			t.Fatal(err)
		}
		pb, _ := p.MarshalBinary()
		ab, _ := a.MarshalBinary()
		if len(pb) != PartSize(n, c.f) || len(ab) != AckSize(n) {
			t.Fatalf("n=%d: part %d bytes, ack %d", n, len(pb), len(ab))
		}
		t.Logf("n=%2d f=%2d: part %6d bytes, ack %5d bytes; all parts and acks %8d bytes",
			n, c.f, len(pb), len(ab), n*len(pb)+n*n*len(ab))
	}
}

var benchSizes = []int{16, 31}

func BenchmarkNewPart(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint("n=", n), func(b *testing.B) {
			c := newCluster(b, n, "bench", 60)
			r := seeded(61)
			for b.Loop() {
				if _, err := NewPart(c.cfg(0), r); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(PartSize(n, c.f)), "part-bytes")
		})
	}
}

// UnmarshalPart: a decompression and subgroup check per commitment point.
func BenchmarkUnmarshalPart(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint("n=", n), func(b *testing.B) {
			c := newCluster(b, n, "bench", 67)
			pb, _ := c.part(b, 0, 68).MarshalBinary()
			for b.Loop() {
				if _, err := UnmarshalPart(c.cfg(-1), pb); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// HandlePart at a node: the row's commitment, opening and checking the
// row, and making and sealing the Ack.
func BenchmarkHandlePart(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint("n=", n), func(b *testing.B) {
			c := newCluster(b, n, "bench", 62)
			p := c.part(b, 1, 63)
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				kg, _ := New(c.cfg(0))
				b.StartTimer()
				if a, err := kg.HandlePart(1, p); err != nil || a == nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(AckSize(n)), "ack-bytes")
		})
	}
}

// HandleAck at a node that still needs values: opening and checking one.
func BenchmarkHandleAck(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint("n=", n), func(b *testing.B) {
			c := newCluster(b, n, "bench", 64)
			p := c.part(b, 1, 65)
			acker, _ := New(c.cfg(2))
			a, _ := acker.HandlePart(1, p)
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				kg, _ := New(c.cfg(0))
				kg.HandlePart(1, p)
				b.StartTimer()
				if err := kg.HandleAck(2, a); err != nil || len(kg.parts[1].values) != 1 {
					b.Fatal(err)
				}
			}
		})
	}
}

// Generate at node 0 with every Part complete: the key (N*T
// multiplications to derive the key shares), interpolating our share, and
// checking it.
func BenchmarkGenerate(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint("n=", n), func(b *testing.B) {
			kg := completeKeyGen(b, newCluster(b, n, "bench", 66))
			for b.Loop() {
				if _, sh, err := kg.Generate(); err != nil || sh == nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// completeKeyGen is node 0 having handled a Part of every node, each acked
// by N-F nodes. To keep the setup short, the acks hold a real value only
// for node 0.
func completeKeyGen(b *testing.B, c *cluster) *KeyGen {
	b.Helper()
	kg, _ := New(c.cfg(0))
	ackers := make([]*params, c.n)
	for m := range ackers {
		ackers[m], _ = c.cfg(m).setup()
	}
	for d := range c.n {
		poly, _ := randomBivar(c.f, seeded(uint64(70+d)))
		eph, _ := ecdh.X25519().NewPrivateKey(make([]byte, 32))
		p := newPart(ackers[d], poly.commit(), eph, poly.row)
		if _, err := kg.HandlePart(d, p); err != nil {
			b.Fatal(err)
		}
		for m := range c.n - c.f {
			a := nodeZeroAck(ackers[m], p, poly.row(m+1))
			if err := kg.HandleAck(m, a); err != nil {
				b.Fatal(err)
			}
		}
	}
	if !kg.Ready() || kg.Complete() != c.n {
		b.Fatalf("%d complete", kg.Complete())
	}
	return kg
}

// nodeZeroAck is an Ack whose value for node 0 is right and whose others
// are zero bytes.
func nodeZeroAck(prm *params, p *Part, row []kyber.Scalar) *Ack {
	eph := ackKey(prm.secret, prm.tag, p.digest())
	a := &Ack{tag: prm.tag, dealer: p.dealer, values: make([][]byte, prm.n)}
	copy(a.eph[:], eph.PublicKey().Bytes())
	for k := range a.values {
		a.values[k] = make([]byte, valueSize)
	}
	l := &label{tag: prm.tag, kind: kindValue, dealer: p.dealer, sender: prm.self, recipient: 0}
	v := evalScalars(row, g2().Scalar().One())
	a.values[0] = seal(eph, prm.keys[0], l, encodeScalars([]kyber.Scalar{v}))
	return a
}
