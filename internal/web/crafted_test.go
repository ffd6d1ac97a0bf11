package web

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"reflect"
	"testing"

	"github.com/mass-consensus/mass/internal/apijson"
	"github.com/mass-consensus/mass/internal/app/orgapp"
	"github.com/mass-consensus/mass/internal/app/state"
	"github.com/mass-consensus/mass/internal/chain"
	"github.com/mass-consensus/mass/internal/smt"
)

// forged answers a record at height 1 of a chain whose only header has the
// given state root and is certified by the genesis nodes: a proof that is
// wrong in shape can then lead to a certified root, so the proof's own
// checks, not the root, must refuse it.
func (f *fixture) forged(t *testing.T, key smt.Key, value []byte, sum uint64, p *smt.Proof, root smt.Hash) []step {
	t.Helper()
	h := chain.Header{ChainID: chainID, Height: 1, Time: blockTime(1), BatchHash: chain.BatchHash(nil),
		StateRoot: chain.Hash(root), NextNodes: f.sets[0].Hash()}
	cert := f.certify(&h, 0, signersOf(f.sets[0], 1))
	leaf := apijson.LeafOf(&orgapp.Leaf{Height: 1, Key: state.Key(key), Found: value != nil, Value: value, Sum: sum, Proof: p}, &h, cert)
	answer := mustJSON(t, apijson.Account{Height: 1, Found: value != nil, Proof: &leaf})
	seg := segmentOf(t, []chain.Header{h}, map[uint64]*chain.Certificate{1: cert}, nil)
	return []step{segStep(seg), acctStep(hex.EncodeToString(key[:]), answer)}
}

// fold computes the root a proof implies, without any of its checks (sums
// wrap).
func fold(k smt.Key, cur smt.Hash, sum uint64, siblings []smt.Sibling) smt.Hash {
	for i := len(siblings) - 1; i >= 0; i-- {
		s := siblings[i]
		if k[i>>3]>>(7-uint(i&7))&1 == 0 {
			cur = smt.InnerHash(cur, sum, s.Hash, s.Sum)
		} else {
			cur = smt.InnerHash(s.Hash, s.Sum, cur, sum)
		}
		sum += s.Sum
	}
	return cur
}

// testCrafted checks the rules of a proof's shape on forged chains: each
// case has a control that both clients accept and a variant, different
// only in the rule's point, that both refuse.
func testCrafted(t *testing.T, f *fixture, b *browser) {
	k := smt.Key(f.bob.Public().ID())
	sib := []smt.Sibling{{Hash: sha256.Sum256([]byte("sibling")), Sum: 3}}
	otherValue := []byte("another record")
	exclusion := func(other smt.Key) []step {
		p := &smt.Proof{Siblings: sib, Terminal: smt.TerminalOther, OtherKey: other, OtherSum: 4, OtherValueHash: sha256.Sum256(otherValue)}
		return f.forged(t, k, nil, 0, p, fold(k, smt.LeafHash(other, 4, otherValue), 4, sib))
	}
	value := (&state.Account{Role: state.Member, Name: "bob"}).Marshal()
	inclusion := func(sum, sibSum uint64) []step {
		s := []smt.Sibling{{Hash: sib[0].Hash, Sum: sibSum}}
		return f.forged(t, k, value, sum, &smt.Proof{Siblings: s, Terminal: smt.TerminalLeaf}, fold(k, smt.LeafHash(k, sum, value), sum, s))
	}
	onPath, offPath := k, k
	onPath[19] ^= 0x01 // differs from k after the first sibling's depth
	offPath[0] ^= 0x80 // differs at depth 0, where the path has gone on
	for _, c := range []struct {
		name          string
		control, bad  []step
		want          proven // the control's
		wantBadJSFail string
	}{
		{"the other leaf of an exclusion off the key's path", exclusion(onPath), exclusion(offPath),
			proven{Height: 1, Balance: "0", Supply: "7"}, "proof"},
		{"the other leaf of an exclusion is the key itself", exclusion(onPath), exclusion(k),
			proven{Height: 1, Balance: "0", Supply: "7"}, "proof"},
		{"sums that overflow (a balance of 2^64−1, a sibling of 1)", inclusion(math.MaxUint64, 0), inclusion(math.MaxUint64, 1),
			proven{Height: 1, Found: true, Balance: u64s(math.MaxUint64), Nonce: "0", Used: "0", Name: "bob", Role: "member", Supply: u64s(math.MaxUint64)}, "proof"},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.want.Signers, c.want.Nodes = signersOf(f.sets[0], 1), 4
			for name, sc := range map[string]scenario{"control": {f.genesisText, c.control}, "bad": {f.genesisText, c.bad}} {
				goOut, jsOut := runGo(t, sc), b.runJS(t, sc)
				if len(goOut.Steps) != 2 || len(jsOut.Steps) != 2 || !goOut.Steps[0].OK || !jsOut.Steps[0].OK {
					t.Fatalf("%s: the forged segment: Go %+v, JS %+v", name, goOut.Steps, jsOut.Steps)
				}
				goLast, jsLast := goOut.Steps[1], jsOut.Steps[1]
				if name == "control" {
					if !goLast.OK || !reflect.DeepEqual(goLast.Result, &c.want) || !reflect.DeepEqual(jsLast, goLast) {
						t.Fatalf("control: Go %+v %+v, JS %+v %+v, want %+v", goLast.Result, goLast.Error, jsLast.Result, jsLast.Error, c.want)
					}
					continue
				}
				if goLast.OK || jsLast.OK || jsLast.Error.Check != c.wantBadJSFail {
					t.Fatalf("bad: Go %+v %+v, JS %+v %+v", goLast.Result, goLast.Error, jsLast.Result, jsLast.Error)
				}
				t.Logf("JS %s: %s\n    Go: %s", jsLast.Error.Check, jsLast.Error.Message, goLast.Error.Message)
			}
		})
	}
}
