package dkg

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/crypto/tbls"
)

// seeded is a deterministic io.Reader.
func seeded(seed uint64) *rand.ChaCha8 {
	var s [32]byte
	for i := range 8 {
		s[i] = byte(seed >> (8 * i))
	}
	return rand.NewChaCha8(s)
}

// cluster is the nodes of one key generation: keys and configs.
type cluster struct {
	n, f  int
	ctx   []byte
	privs []*crypto.PrivateKey
	keys  []crypto.PublicKey
}

func newCluster(t testing.TB, n int, ctx string, seed uint64) *cluster {
	t.Helper()
	c := &cluster{n: n, f: (n - 1) / 3, ctx: []byte(ctx)}
	r := seeded(seed)
	for range n {
		k, err := crypto.GenerateKey(r)
		if err != nil {
			t.Fatal(err)
		}
		c.privs = append(c.privs, k)
		c.keys = append(c.keys, k.Public())
	}
	return c
}

// cfg is node self's Config; self -1 is an observer.
func (c *cluster) cfg(self int) Config {
	cfg := Config{N: c.n, F: c.f, Self: self, Keys: c.keys, Context: c.ctx}
	if self >= 0 {
		cfg.Secret = c.privs[self]
	}
	return cfg
}

// keyGens are the KeyGens of nodes 0..n-1, then of an observer.
func (c *cluster) keyGens(t testing.TB) []*KeyGen {
	t.Helper()
	kgs := make([]*KeyGen, c.n+1)
	for i := range kgs {
		self := i
		if i == c.n {
			self = -1
		}
		kg, err := New(c.cfg(self))
		if err != nil {
			t.Fatal(err)
		}
		kgs[i] = kg
	}
	return kgs
}

func (c *cluster) part(t testing.TB, dealer int, seed uint64) *Part {
	t.Helper()
	p, err := NewPart(c.cfg(dealer), seeded(seed))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (c *cluster) parts(t testing.TB, seed uint64) []*Part {
	t.Helper()
	ps := make([]*Part, c.n)
	for d := range ps {
		ps[d] = c.part(t, d, seed*1000+uint64(d))
	}
	return ps
}

// entry is one message of the log: a Part or an Ack and its sender.
type entry struct {
	sender int
	part   *Part
	ack    *Ack
}

// runner feeds a log to every KeyGen in lockstep. The Ack a node makes on
// handling a Part is posted (after post, if set, replaces it; nil posts
// nothing) at a later position: the end of the log, or one drawn from rng.
type runner struct {
	kgs  []*KeyGen
	log  []entry
	pos  int
	rng  *rand.Rand
	post func(acker int, p *Part, honest *Ack) *Ack
}

func partsLog(ps []*Part) []entry {
	log := make([]entry, len(ps))
	for d, p := range ps {
		log[d] = entry{sender: d, part: p}
	}
	return log
}

// step feeds the next entry to every KeyGen.
func (r *runner) step(t testing.TB) {
	t.Helper()
	e := r.log[r.pos]
	r.pos++
	for i, kg := range r.kgs {
		if e.ack != nil {
			if err := kg.HandleAck(e.sender, e.ack); err != nil {
				t.Fatalf("node %d: HandleAck(%d): %v", i, e.sender, err)
			}
			continue
		}
		ack, err := kg.HandlePart(e.sender, e.part)
		if err != nil {
			t.Fatalf("node %d: HandlePart(%d): %v", i, e.sender, err)
		}
		if r.post != nil && i < len(r.kgs)-1 {
			ack = r.post(i, e.part, ack)
		}
		if ack != nil {
			r.insert(entry{sender: i, ack: ack})
		}
	}
}

func (r *runner) insert(e entry) {
	at := len(r.log)
	if r.rng != nil {
		at = r.pos + r.rng.IntN(len(r.log)-r.pos+1)
	}
	r.log = append(r.log[:at], append([]entry{e}, r.log[at:]...)...)
}

func (r *runner) all(t testing.TB) {
	t.Helper()
	for r.pos < len(r.log) {
		r.step(t)
	}
}

// replay feeds a finished log to kg, ignoring the Acks it makes.
func replay(t testing.TB, kg *KeyGen, log []entry) {
	t.Helper()
	for _, e := range log {
		var err error
		if e.ack != nil {
			err = kg.HandleAck(e.sender, e.ack)
		} else {
			_, err = kg.HandlePart(e.sender, e.part)
		}
		if err != nil {
			t.Fatalf("replay: %v", err)
		}
	}
}

func keyBytes(t testing.TB, pk *tbls.PublicKey) []byte {
	t.Helper()
	b, err := pk.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// generateAll runs Generate at every KeyGen (nodes, then an observer) and
// checks that all give one public key, that each node's share matches it
// and signs shares it accepts, and that the observer gets no share.
func generateAll(t testing.TB, kgs []*KeyGen) (*tbls.PublicKey, []*tbls.SecretShare) {
	t.Helper()
	var pk *tbls.PublicKey
	var shares []*tbls.SecretShare
	name := []byte("dkg test")
	for i, kg := range kgs {
		got, sh, err := kg.Generate()
		if err != nil {
			t.Fatalf("node %d: Generate: %v", i, err)
		}
		if pk == nil {
			pk = got
		} else if !bytes.Equal(keyBytes(t, got), keyBytes(t, pk)) {
			t.Fatalf("node %d has another public key", i)
		}
		if i == len(kgs)-1 && kg.prm.self < 0 {
			if sh != nil {
				t.Fatal("an observer got a secret share")
			}
			continue
		}
		if sh == nil || sh.Index != i {
			t.Fatalf("node %d: share %v", i, sh)
		}
		if err := pk.CheckSecretShare(*sh); err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		sig, err := sh.Sign(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := pk.VerifyShare(name, sig); err != nil {
			t.Fatalf("node %d: VerifyShare: %v", i, err)
		}
		shares = append(shares, sh)
	}
	return pk, shares
}

// checkThreshold checks that T shares of the key combine into a signature
// that verifies, the same for several sets, and that T-1 shares do not.
func checkThreshold(t testing.TB, pk *tbls.PublicKey, shares []*tbls.SecretShare, rng *rand.Rand) {
	t.Helper()
	name := []byte("threshold")
	sigs := make([]tbls.SigShare, len(shares))
	for i, s := range shares {
		var err error
		if sigs[i], err = s.Sign(name); err != nil {
			t.Fatal(err)
		}
	}
	th := pk.T()
	var want []byte
	for try := range 4 {
		perm := rng.Perm(len(sigs))
		if try == 0 {
			perm = perm[:0]
			for i := range sigs {
				perm = append(perm, i)
			}
		}
		set := make([]tbls.SigShare, th)
		for j := range set {
			set[j] = sigs[perm[j]]
		}
		sig, err := pk.Combine(name, set)
		if err != nil {
			t.Fatalf("Combine(%v): %v", perm[:th], err)
		}
		if err := pk.Verify(name, sig); err != nil {
			t.Fatal(err)
		}
		if want != nil && !bytes.Equal(sig, want) {
			t.Fatal("two sets of T shares gave two signatures")
		}
		want = sig
		if _, err := pk.Combine(name, set[:th-1]); !errors.Is(err, tbls.ErrNotEnoughShares) {
			t.Fatalf("Combine of T-1 shares = %v, want ErrNotEnoughShares", err)
		}
	}
}
