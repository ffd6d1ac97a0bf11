package dkg

import (
	"bytes"
	"crypto/ecdh"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"go.dedis.ch/kyber/v4"

	"github.com/mass-consensus/mass/internal/crypto/tbls"
)

// Every node and an observer, fed one interleaved log, agree on a key whose
// shares sign, any T of them combining.
func TestAllHonest(t *testing.T) {
	for _, n := range []int{4, 7, 10} {
		t.Run(fmt.Sprint("n=", n), func(t *testing.T) {
			c := newCluster(t, n, "era 1", uint64(n))
			r := &runner{kgs: c.keyGens(t), log: partsLog(c.parts(t, 1)), rng: rand.New(rand.NewPCG(uint64(n), 1))}
			r.all(t)
			if len(r.log) != n+n*n {
				t.Fatalf("log of %d messages, want %d parts and %d acks", len(r.log), n, n*n)
			}
			for i, kg := range r.kgs {
				if !kg.Ready() || kg.Complete() != n || len(kg.Faults()) != 0 {
					t.Fatalf("node %d: ready %v, %d complete, faults %v", i, kg.Ready(), kg.Complete(), kg.Faults())
				}
			}
			pk, shares := generateAll(t, r.kgs)
			if pk.N() != n || pk.T() != c.f+1 {
				t.Fatalf("key with n=%d t=%d", pk.N(), pk.T())
			}
			checkThreshold(t, pk, shares, rand.New(rand.NewPCG(2, uint64(n))))
		})
	}
}

// Before N-F Parts are complete there is no key.
func TestNotReadyBeforeQuorum(t *testing.T) {
	c := newCluster(t, 4, "era 1", 3)
	kgs := c.keyGens(t)
	r := &runner{kgs: kgs, log: partsLog(c.parts(t, 2))}
	for r.pos < len(r.log) && !kgs[0].Ready() {
		if _, _, err := kgs[0].Generate(); !errors.Is(err, ErrNotReady) {
			t.Fatalf("Generate with %d complete = %v, want ErrNotReady", kgs[0].Complete(), err)
		}
		r.step(t)
	}
	if kgs[0].Complete() != c.n-c.f {
		t.Fatalf("ready with %d complete parts, want %d", kgs[0].Complete(), c.n-c.f)
	}
}

// badPart is dealer's Part whose rows for the nodes in bad do not match its
// commitment (they open, but one coefficient is off by one).
func badPart(t testing.TB, c *cluster, dealer int, bad []int, seed uint64) *Part {
	t.Helper()
	prm, err := c.cfg(dealer).setup()
	if err != nil {
		t.Fatal(err)
	}
	poly, err := randomBivar(c.f, seeded(seed))
	if err != nil {
		t.Fatal(err)
	}
	eph, _ := ecdh.X25519().NewPrivateKey(bytes.Repeat([]byte{byte(seed)}, 32))
	return newPart(prm, poly.commit(), eph, func(x int) []kyber.Scalar {
		row := poly.row(x)
		if slices.Contains(bad, x-1) {
			row[c.f].Add(row[c.f], g2().Scalar().One())
		}
		return row
	})
}

// sumKey is the public key of the given dealers' Parts, summed here.
func sumKey(t testing.TB, c *cluster, parts []*Part, dealers []int) []byte {
	t.Helper()
	commits := make([]kyber.Point, c.f+1)
	for i := range commits {
		commits[i] = g2().Point().Null()
		for _, d := range dealers {
			commits[i].Add(commits[i], parts[d].commit.c[0][i])
		}
	}
	pk, err := tbls.NewPublicKeyFromCommits(c.n, commits)
	if err != nil {
		t.Fatal(err)
	}
	return keyBytes(t, pk)
}

func rowFaults(kg *KeyGen, dealer int) int {
	count := 0
	for _, f := range kg.Faults() {
		if f.Kind == FaultRow && f.Node == dealer && f.Dealer == dealer {
			count++
		}
	}
	return count
}

// A dealer sending bad rows to F+1 nodes gets too few acks: its Part is
// left out. Sending them to F nodes, it is in, and those F nodes get their
// shares from the others' acks.
func TestBadRows(t *testing.T) {
	const n, dealer = 7, 6
	for _, bad := range [][]int{{0, 1, 2}, {0, 1}} {
		t.Run(fmt.Sprint("bad rows for ", bad), func(t *testing.T) {
			c := newCluster(t, n, "era 2", 7)
			parts := c.parts(t, 3)
			parts[dealer] = badPart(t, c, dealer, bad, 99)
			r := &runner{kgs: c.keyGens(t), log: partsLog(parts), rng: rand.New(rand.NewPCG(5, 5))}
			r.all(t)
			included := len(bad) <= c.f
			dealers := []int{0, 1, 2, 3, 4, 5}
			if included {
				dealers = append(dealers, dealer)
			}
			for i, kg := range r.kgs {
				if kg.PartComplete(dealer) != included || kg.Complete() != len(dealers) || !kg.Ready() {
					t.Fatalf("node %d: part complete %v, %d complete", i, kg.PartComplete(dealer), kg.Complete())
				}
				if want := b2i(slices.Contains(bad, i)); rowFaults(kg, dealer) != want {
					t.Fatalf("node %d: faults %v, want %d of dealer %d", i, kg.Faults(), want, dealer)
				}
			}
			pk, shares := generateAll(t, r.kgs)
			if !bytes.Equal(keyBytes(t, pk), sumKey(t, c, parts, dealers)) {
				t.Fatal("the key is not the sum of the complete parts")
			}
			checkThreshold(t, pk, shares, rand.New(rand.NewPCG(3, 3)))
		})
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Rows that do not open (garbage, or an ephemeral key of small order) are
// bad rows: no ack, a fault, and nothing else changes.
func TestGarbageRows(t *testing.T) {
	const n = 7
	c := newCluster(t, n, "era 3", 8)
	parts := c.parts(t, 4)
	garbage := *parts[5] // node 0's row is garbage
	garbage.rows = slices.Clone(garbage.rows)
	garbage.rows[0] = bytes.Repeat([]byte{0x5A}, len(garbage.rows[0]))
	parts[5] = &garbage
	smallOrder := *parts[6] // u = 0: no shared secret with anyone
	smallOrder.eph = [KeySize]byte{}
	parts[6] = &smallOrder

	r := &runner{kgs: c.keyGens(t), log: partsLog(parts)}
	r.all(t)
	for i, kg := range r.kgs[:n] {
		if rowFaults(kg, 6) != 1 || rowFaults(kg, 5) != b2i(i == 0) {
			t.Fatalf("node %d: faults %v", i, kg.Faults())
		}
		if kg.PartComplete(6) || !kg.PartComplete(5) || kg.Complete() != 6 {
			t.Fatalf("node %d: %d complete", i, kg.Complete())
		}
	}
	pk, shares := generateAll(t, r.kgs)
	if !bytes.Equal(keyBytes(t, pk), sumKey(t, c, parts, []int{0, 1, 2, 3, 4, 5})) {
		t.Fatal("the key is not the sum of the complete parts")
	}
	checkThreshold(t, pk, shares, rand.New(rand.NewPCG(4, 4)))
}

// byzantineAcks makes the ackers in liars send target a wrong value (off by
// one) or, with garbage, a piece that does not open.
func byzantineAcks(kgs []*KeyGen, liars []int, target int, garbage bool) func(int, *Part, *Ack) *Ack {
	return func(acker int, p *Part, honest *Ack) *Ack {
		if !slices.Contains(liars, acker) || honest == nil {
			return honest
		}
		if garbage {
			a := *honest
			a.values = slices.Clone(a.values)
			a.values[target] = bytes.Clone(a.values[target])
			a.values[target][3] ^= 0x10
			return &a
		}
		kg := kgs[acker]
		row, err := kg.openRow(p, p.commit.row(acker+1))
		if err != nil {
			panic(err)
		}
		return sealAck(kg.prm, p, func(x int) kyber.Scalar {
			v := evalScalars(row, g2().Scalar().SetInt64(int64(x)))
			if x == target+1 {
				v.Add(v, g2().Scalar().One())
			}
			return v
		})
	}
}

// F ackers sending one node bad values, ahead of every honest acker: that
// node skips them and still gets its share.
func TestBadValues(t *testing.T) {
	for _, garbage := range []bool{false, true} {
		t.Run(fmt.Sprint("garbage=", garbage), func(t *testing.T) {
			const n, target = 7, 5
			c := newCluster(t, n, "era 4", 9)
			liars := []int{0, 1} // F of them; acks are posted in node order
			kgs := c.keyGens(t)
			r := &runner{kgs: kgs, log: partsLog(c.parts(t, 5)), post: byzantineAcks(kgs, liars, target, garbage)}
			r.all(t)
			for i, kg := range kgs[:n] {
				faults := kg.Faults()
				if i != target {
					if len(faults) != 0 {
						t.Fatalf("node %d: faults %v", i, faults)
					}
					continue
				}
				if len(faults) != n*len(liars) {
					t.Fatalf("node %d: %d faults, want %d: %v", i, len(faults), n*len(liars), faults)
				}
				for j, f := range faults {
					if f.Kind != FaultValue || f.Node != liars[j%2] || f.Dealer != j/2 {
						t.Fatalf("fault %d: %v", j, f)
					}
				}
			}
			pk, shares := generateAll(t, kgs)
			checkThreshold(t, pk, shares, rand.New(rand.NewPCG(6, 6)))
		})
	}
}

// Two orders of the same messages give one key and the same shares; a key
// generated when the first N-F parts complete is the same at every node
// and observer, and does not include parts completing later.
func TestOrder(t *testing.T) {
	const n = 4
	c := newCluster(t, n, "era 5", 10)
	parts := c.parts(t, 6)

	a := &runner{kgs: c.keyGens(t), log: partsLog(parts)}
	a.all(t)
	pkA, sharesA := generateAll(t, a.kgs)

	reversed := partsLog(parts)
	slices.Reverse(reversed)
	b := &runner{kgs: c.keyGens(t), log: reversed, rng: rand.New(rand.NewPCG(7, 7))}
	for !b.kgs[0].Ready() {
		b.step(t)
	}
	early, _ := generateAll(t, b.kgs)
	completeEarly := b.kgs[0].Complete()
	b.all(t)
	pkB, sharesB := generateAll(t, b.kgs)

	if slices.EqualFunc(a.log, b.log, func(x, y entry) bool { return x == y }) {
		t.Fatal("the two orders are the same")
	}
	if !bytes.Equal(keyBytes(t, pkA), keyBytes(t, pkB)) {
		t.Fatal("two orders of the same messages gave two keys")
	}
	for i := range sharesA {
		sa, _ := sharesA[i].Sign([]byte("x"))
		sb, _ := sharesB[i].Sign([]byte("x"))
		if sa != sb {
			t.Fatalf("node %d has two shares", i)
		}
	}
	if completeEarly != n-c.f || bytes.Equal(keyBytes(t, early), keyBytes(t, pkB)) {
		t.Fatalf("the key at %d complete parts is the final key", completeEarly)
	}
}

// refusal is a message a KeyGen must refuse, and why.
type refusal struct {
	what   string
	sender int
	part   *Part
	ack    *Ack
	want   error
}

// Refused messages return an error and change nothing: the state after
// each, and the final key and share, are those of a node that never saw
// them.
func TestRefusals(t *testing.T) {
	const n, self = 4, 1
	c := newCluster(t, n, "era 6", 11)
	r := &runner{kgs: c.keyGens(t), log: partsLog(c.parts(t, 7)), rng: rand.New(rand.NewPCG(8, 8))}
	r.all(t)
	log := r.log
	firstAck := slices.IndexFunc(log, func(e entry) bool { return e.ack != nil })
	ack := log[firstAck]
	other := newCluster(t, n, "era 7", 11) // the same keys, another context
	otherRun := &runner{kgs: other.keyGens(t), log: partsLog(other.parts(t, 7))}
	otherRun.step(t)
	var otherAck *Ack
	for _, e := range otherRun.log {
		if e.ack != nil {
			otherAck = e.ack
		}
	}

	refusals := map[int][]refusal{ // by the log position they come before
		0: {
			{what: "ack before its part", sender: ack.sender, ack: ack.ack, want: ErrUnknownPart},
			{what: "part of another context", sender: 0, part: otherRun.log[0].part, want: ErrContext},
			{what: "nil part", sender: 0, want: ErrEncoding},
			{what: "part of dealer 0 posted by 1", sender: 1, part: log[0].part, want: ErrSender},
			{what: "part posted by -1", sender: -1, part: log[0].part, want: ErrSender},
		},
		n: {
			{what: "second part from dealer 0", sender: 0, part: c.part(t, 0, 12345), want: ErrDuplicatePart},
			{what: "the same part again", sender: 0, part: log[0].part, want: ErrDuplicatePart},
		},
		firstAck + 1: {
			{what: "duplicate ack", sender: ack.sender, ack: ack.ack, want: ErrDuplicateAck},
			{what: "ack by node n", sender: n, ack: ack.ack, want: ErrSender},
			{what: "ack by node -1", sender: -1, ack: ack.ack, want: ErrSender},
			{what: "ack of another context", sender: 0, ack: otherAck, want: ErrContext},
		},
		len(log): {
			{what: "late duplicate ack", sender: ack.sender, ack: ack.ack, want: ErrDuplicateAck},
		},
	}
	for _, self := range []int{self, -1} {
		control, err := New(c.cfg(self))
		if err != nil {
			t.Fatal(err)
		}
		kg, _ := New(c.cfg(self))
		for pos := 0; pos <= len(log); pos++ {
			for _, ref := range refusals[pos] {
				before := kg.Complete()
				if err := handle(kg, ref.sender, ref.part, ref.ack); !errors.Is(err, ref.want) {
					t.Fatalf("%s: %v, want %v", ref.what, err, ref.want)
				}
				if kg.Complete() != before || len(kg.Faults()) != 0 {
					t.Fatalf("%s changed the state", ref.what)
				}
			}
			if pos < len(log) {
				replay(t, kg, log[pos:pos+1])
				replay(t, control, log[pos:pos+1])
			}
			if kg.Complete() != control.Complete() {
				t.Fatalf("at %d: %d complete, control %d", pos, kg.Complete(), control.Complete())
			}
		}
		pk, sh, err := kg.Generate()
		pk2, sh2, err2 := control.Generate()
		if err != nil || err2 != nil || !bytes.Equal(keyBytes(t, pk), keyBytes(t, pk2)) {
			t.Fatalf("keys differ: %v, %v", err, err2)
		}
		if (sh == nil) != (self < 0) || (sh != nil && pk.CheckSecretShare(*sh) != nil) || (sh2 == nil) != (sh == nil) {
			t.Fatalf("shares %v %v", sh, sh2)
		}
	}
}

func handle(kg *KeyGen, sender int, p *Part, a *Ack) error {
	if a != nil {
		return kg.HandleAck(sender, a)
	}
	_, err := kg.HandlePart(sender, p)
	return err
}

// Generate changes nothing: called twice it gives the same key and share.
func TestGenerateTwice(t *testing.T) {
	c := newCluster(t, 4, "era 8", 12)
	full := &runner{kgs: c.keyGens(t), log: partsLog(c.parts(t, 8))}
	full.all(t)
	kg, _ := New(c.cfg(2))
	replay(t, kg, full.log)
	pk1, sh1, err1 := kg.Generate()
	pk2, sh2, err2 := kg.Generate()
	if err1 != nil || err2 != nil || !bytes.Equal(keyBytes(t, pk1), keyBytes(t, pk2)) {
		t.Fatal("two calls, two keys")
	}
	s1, _ := sh1.Sign([]byte("x"))
	s2, _ := sh2.Sign([]byte("x"))
	if s1 != s2 {
		t.Fatal("two calls, two shares")
	}
}

// A KeyGen draws no randomness: a node acks a Part with the same bytes
// every time, and another Part under another ephemeral key.
func TestAckIsDeterministic(t *testing.T) {
	c := newCluster(t, 4, "acks", 13)
	p, q := c.part(t, 0, 14), c.part(t, 0, 15)
	ack := func(p *Part) []byte {
		kg, _ := New(c.cfg(1))
		a, err := kg.HandlePart(0, p)
		if err != nil || a == nil {
			t.Fatal(err)
		}
		b, _ := a.MarshalBinary()
		return b
	}
	a1, a2, b := ack(p), ack(p), ack(q)
	if !bytes.Equal(a1, a2) {
		t.Fatal("one part, two acks")
	}
	if eph := TagSize + 2; bytes.Equal(a1[eph:eph+KeySize], b[eph:eph+KeySize]) {
		t.Fatal("two parts acked under one ephemeral key")
	}
}
