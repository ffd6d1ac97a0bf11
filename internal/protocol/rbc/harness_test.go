package rbc

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/mass-consensus/mass/internal/protocol"
	"github.com/mass-consensus/mass/internal/wire"
)

// envelope is a message in flight.
type envelope struct {
	from, to protocol.NodeID
	msg      *Message
}

// network runs n instances in memory. A nil node is silent or Byzantine:
// messages to it are dropped, and the test injects its messages by hand.
type network struct {
	tb    testing.TB
	p     protocol.Params
	nodes []*Broadcast
	rng   *rand.Rand // nil: first in, first out
	wire  bool       // send every message through its encoding

	queue []envelope
	head  int

	outputs  [][][]byte         // per node, in order
	faults   [][]protocol.Fault // per node, the faults it reported
	sent     [][]*Message       // per node, every message it sent
	uploaded []int              // per node, encoded bytes times recipients
}

// newNetwork builds a network with an instance at every node not in absent.
func newNetwork(tb testing.TB, p protocol.Params, proposer protocol.NodeID, absent map[protocol.NodeID]bool, rng *rand.Rand) *network {
	tb.Helper()
	nw := &network{
		tb:       tb,
		p:        p,
		nodes:    make([]*Broadcast, p.N),
		rng:      rng,
		outputs:  make([][][]byte, p.N),
		faults:   make([][]protocol.Fault, p.N),
		sent:     make([][]*Message, p.N),
		uploaded: make([]int, p.N),
	}
	for i := range p.N {
		if absent[protocol.NodeID(i)] {
			continue
		}
		b, err := New(Config{Params: p, Self: protocol.NodeID(i), Proposer: proposer})
		if err != nil {
			tb.Fatalf("New(node %d): %v", i, err)
		}
		nw.nodes[i] = b
	}
	return nw
}

// input gives the proposer its value.
func (nw *network) input(proposer protocol.NodeID, value []byte) {
	nw.tb.Helper()
	s, err := nw.nodes[proposer].HandleInput(value)
	if err != nil {
		nw.tb.Fatalf("HandleInput: %v", err)
	}
	nw.absorb(proposer, s)
}

// absorb records a node's step and queues its messages.
func (nw *network) absorb(from protocol.NodeID, s Step) {
	nw.outputs[from] = append(nw.outputs[from], s.Output...)
	nw.faults[from] = append(nw.faults[from], s.Faults...)
	for _, m := range s.Messages {
		nw.sent[from] = append(nw.sent[from], m.Body)
		recipients := 0
		for to := range nw.p.N {
			if m.To.Includes(from, protocol.NodeID(to)) {
				recipients++
				nw.inject(from, protocol.NodeID(to), m.Body)
			}
		}
		if m.To.All && recipients != nw.p.N-1 || !m.To.All && recipients != 1 {
			nw.tb.Fatalf("node %d: message %v to %+v reaches %d nodes", from, m.Body.Kind, m.To, recipients)
		}
		nw.uploaded[from] += encodedLen(m.Body) * recipients
	}
}

// inject queues a message; messages to absent nodes are dropped.
func (nw *network) inject(from, to protocol.NodeID, msg *Message) {
	if nw.nodes[to] != nil {
		nw.queue = append(nw.queue, envelope{from, to, msg})
	}
}

// run delivers queued messages until none is left.
func (nw *network) run() {
	nw.tb.Helper()
	for nw.head < len(nw.queue) {
		var e envelope
		if nw.rng == nil {
			e = nw.queue[nw.head]
			nw.queue[nw.head] = envelope{}
			nw.head++
		} else {
			i := nw.head + nw.rng.IntN(len(nw.queue)-nw.head)
			e = nw.queue[i]
			nw.queue[i] = nw.queue[len(nw.queue)-1]
			nw.queue = nw.queue[:len(nw.queue)-1]
		}
		msg := e.msg
		if nw.wire {
			msg = roundTrip(nw.tb, nw.p, msg)
		}
		nw.absorb(e.to, nw.nodes[e.to].HandleMessage(e.from, msg))
	}
	nw.queue, nw.head = nw.queue[:0], 0
}

// roundTrip encodes and decodes a message.
func roundTrip(tb testing.TB, p protocol.Params, m *Message) *Message {
	tb.Helper()
	w := wire.NewWriter(encodedLen(m))
	m.MarshalTo(w)
	r := wire.NewReader(w.Finish())
	got, err := Unmarshal(r, p, 0)
	if err != nil {
		tb.Fatalf("Unmarshal(%v): %v", m.Kind, err)
	}
	if err := r.Done(); err != nil {
		tb.Fatalf("Unmarshal(%v): %v", m.Kind, err)
	}
	if !equalMessages(m, got) {
		tb.Fatalf("round trip of %v changed the message", m.Kind)
	}
	return got
}

// encodedLen is the size of a message's encoding.
func encodedLen(m *Message) int {
	if m.Kind != KindVal && m.Kind != KindEcho {
		return 1 + 32
	}
	return 1 + 32 + 2 + 4 + len(m.Shard) + 4 + 32*len(m.Branch)
}

func equalMessages(a, b *Message) bool {
	if a.Kind == KindReady || b.Kind == KindReady {
		return a.Kind == b.Kind && a.Root == b.Root
	}
	return sameShardMessage(a, b)
}

// readiesSent returns the roots a node sent READY for.
func (nw *network) readiesSent(i int) [][32]byte {
	var roots [][32]byte
	for _, m := range nw.sent[i] {
		if m.Kind == KindReady {
			roots = append(roots, m.Root)
		}
	}
	return roots
}

// checkAgreement fails unless every node with an instance output at most one
// value, all the same, and each among allowed.
func (nw *network) checkAgreement(allowed ...[]byte) (delivered int) {
	nw.tb.Helper()
	var first []byte
	for i, outs := range nw.outputs {
		if len(outs) > 1 {
			nw.tb.Fatalf("node %d delivered %d times", i, len(outs))
		}
		if len(outs) == 0 {
			if nw.nodes[i] != nil && nw.nodes[i].Terminated() {
				nw.tb.Fatalf("node %d terminated without delivering", i)
			}
			continue
		}
		if !nw.nodes[i].Terminated() {
			nw.tb.Fatalf("node %d delivered but has not terminated", i)
		}
		v := outs[0]
		if delivered > 0 && !bytes.Equal(v, first) {
			nw.tb.Fatalf("node %d delivered a value of %d bytes, another node one of %d bytes", i, len(v), len(first))
		}
		ok := false
		for _, a := range allowed {
			ok = ok || bytes.Equal(v, a)
		}
		if !ok {
			nw.tb.Fatalf("node %d delivered a value (%d bytes) nobody proposed", i, len(v))
		}
		first = v
		delivered++
	}
	return delivered
}

// randomBytes draws n bytes from rng.
func randomBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

func mustParams(tb testing.TB, n int) protocol.Params {
	tb.Helper()
	p, err := protocol.NewParams(n)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}
