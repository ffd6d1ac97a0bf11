package web

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"reflect"
	"testing"

	"github.com/mass-consensus/mass/internal/apijson"
	"github.com/mass-consensus/mass/internal/app/state"
	"github.com/mass-consensus/mass/internal/chain"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/smt"
)

// TestBrowserLightClient runs the JavaScript light client (web/light.js)
// in headless Chromium on a real chain, served by the real API, and checks
// it against Go's light client: the same values from honest answers, and
// the same rejections of tampered ones.
func TestBrowserLightClient(t *testing.T) {
	f := newFixture(t)
	b := newBrowser(t, f.base)
	t.Run("honest answers", func(t *testing.T) { testHonest(t, f, b) })
	t.Run("tampered answers", func(t *testing.T) { testTampered(t, f, b) })
	t.Run("crafted proofs", func(t *testing.T) { testCrafted(t, f, b) })
	t.Run("fetched from the node", func(t *testing.T) { testFetched(t, f, b) })
	t.Run("genesis", func(t *testing.T) { testGenesis(t, f, b) })
	t.Run("keys and signatures", func(t *testing.T) { testKeys(t, f, b) })
	t.Run("time", func(t *testing.T) { testTime(t, f, b) })
}

// testHonest verifies two segments across the change of node set, then
// accounts present and absent (both kinds of exclusion) and the
// organization at several heights: the JS and Go clients must prove the
// same values, and those must be the chain's.
func testHonest(t *testing.T, f *fixture, b *browser) {
	bob, alice, carol := f.bob.Public().String(), f.alice.Public().ID().String(), f.carol.Public().String()
	empty, other := f.absent(t, heights, smt.TerminalEmpty).String(), f.absent(t, 75, smt.TerminalOther).String()
	// An answer whose unproven "account" view lies: only the proof counts.
	lying := editAccount(t, f.account(t, bob, heights), func(a *apijson.Account) {
		a.Account.Balance, a.Account.Name, a.Account.Role, a.Account.Nonce = 999999, "mallory", "supervisor", 7
	})
	sc := scenario{Genesis: f.genesisText, Steps: []step{
		segStep(f.segment(t, 1, 40)),
		segStep(f.segment(t, 41, heights)),
		acctStep(bob, f.account(t, bob, heights)),
		acctStep(bob, f.account(t, bob, 30)),
		acctStep(alice, f.account(t, alice, heights)),
		acctStep(carol, f.account(t, carol, heights)),
		acctStep(empty, f.account(t, empty, heights)),
		acctStep(other, f.account(t, other, 75)),
		orgStep(f.organization(t, heights)),
		orgStep(f.organization(t, 1)),
		acctStep(bob, lying),
	}}
	goOut, jsOut := runGo(t, sc), b.runJS(t, sc)

	// Go's values are the chain's.
	paid := uint64(heights * (heights + 1) / 2)
	supply := u64s(aliceBalance + bobBalance + carolBalance)
	signers := signersOf(f.sets[1], heights)
	want := []*proven{
		{From: 1, To: 40},
		{From: 41, To: heights},
		{Height: heights, Found: true, Balance: u64s(bobBalance + paid), Nonce: "0", Used: "0", Name: "bob", Role: "member", Supply: supply, Signers: signers, Nodes: 7},
		{Height: 30, Found: true, Balance: u64s(bobBalance + 30*31/2), Nonce: "0", Used: "0", Name: "bob", Role: "member", Supply: supply, Signers: signersOf(f.sets[0], 30), Nodes: 4},
		{Height: heights, Found: true, Balance: u64s(aliceBalance - paid), Nonce: u64s(heights), Used: "0", Name: "alice", Role: "supervisor", Supply: supply, Signers: signers, Nodes: 7},
		{Height: heights, Found: true, Balance: u64s(carolBalance), Nonce: "1", Used: "0", Name: "carol", Role: "guest", Flags: state.FlagApplying, Supply: supply, Signers: signers, Nodes: 7},
		{Height: heights, Balance: "0", Supply: supply, Signers: signers, Nodes: 7},
		{Height: 75, Balance: "0", Supply: supply, Signers: signersOf(f.sets[1], 75), Nodes: 7},
		{Height: heights, Found: true, Name: "Web", Policy: "supervisor", Members: "2", Supervisors: "1", Applicants: "1", Supply: supply, Signers: signers, Nodes: 7},
		{Height: 1, Found: true, Name: "Web", Policy: "supervisor", Members: "2", Supervisors: "1", Applicants: "0", Supply: supply, Signers: signersOf(f.sets[0], 1), Nodes: 4},
		{Height: heights, Found: true, Balance: u64s(bobBalance + paid), Nonce: "0", Used: "0", Name: "bob", Role: "member", Supply: supply, Signers: signers, Nodes: 7},
	}
	if len(goOut.Steps) != len(want) {
		t.Fatalf("Go: %d steps of %d: %+v", len(goOut.Steps), len(want), goOut.Steps[len(goOut.Steps)-1].Error)
	}
	for i, w := range want {
		if got := goOut.Steps[i].Result; !reflect.DeepEqual(got, w) {
			t.Errorf("Go, step %d: %+v, want %+v", i, got, w)
		}
	}
	// The browser's are Go's.
	if jsOut.GenesisError != nil {
		t.Fatalf("JS refused the genesis: %+v", jsOut.GenesisError)
	}
	for i, s := range jsOut.Steps {
		if !s.OK {
			t.Fatalf("JS, step %d failed: %+v", i, s.Error)
		}
	}
	if !reflect.DeepEqual(jsOut.Steps, goOut.Steps) {
		t.Fatalf("JS and Go differ:\nJS %s\nGo %s", mustJSON(t, jsOut.Steps), mustJSON(t, goOut.Steps))
	}
	wantEras := []eraResult{{From: 1, Hash: f.sets[0].Hash().String(), Nodes: 4}, {From: changeAt + 1, Hash: f.sets[1].Hash().String(), Nodes: 7}}
	if jsOut.Height != heights || goOut.Height != heights || !reflect.DeepEqual(jsOut.Eras, wantEras) {
		t.Fatalf("JS at %d with sets %+v, Go at %d", jsOut.Height, jsOut.Eras, goOut.Height)
	}
}

// tampering is an answer changed to prove something false: after the
// honest steps before it, both clients must reject it, keep nothing of it,
// and the JS client must name the check that failed.
type tampering struct {
	name  string
	steps []step // the last is the tampered one
	check string
}

func tamperings(t *testing.T, f *fixture) []tampering {
	bob, alice := f.bob.Public().String(), f.alice.Public().String()
	seg40, seg110 := f.segment(t, 1, 40), f.segment(t, 1, heights)
	bob110 := f.account(t, bob, heights)
	sync := segStep(seg110)
	set1 := f.sets[1].Hash().String()
	editCert40 := func(edit func(*chain.Certificate)) string {
		return editSegment(t, seg40, func(j *apijson.Headers) { j.Certificates["40"] = editCertificate(t, j.Certificates["40"], edit) })
	}
	editBob := func(edit func(*apijson.Leaf)) []step { return []step{sync, acctStep(bob, editLeaf(t, bob110, edit))} }

	// Forgeries signed by real node keys.
	h1 := f.header(1)
	otherChain := h1
	otherChain.ChainID = "another-chain"
	backInTime := f.header(2)
	backInTime.Time = h1.Time - 1
	after := f.header(changeAt + 1) // a continuation signed by the set that left
	after.StateRoot[0] ^= 1
	weakSet := chain.NodeSet{Keys: append([]crypto.PublicKey(nil), f.sets[1].Keys...)}
	weakSet.Keys[6] = crypto.PublicKey{1} // the identity point: small order
	weakChange := f.header(changeAt)
	weakChange.NextNodes = weakSet.Hash()
	dupSet := chain.NodeSet{Keys: append([]crypto.PublicKey(nil), f.sets[1].Keys...)}
	dupSet.Keys[6] = dupSet.Keys[0]
	dupChange := f.header(changeAt)
	dupChange.NextNodes = dupSet.Hash()
	upTo := func(h uint64) []chain.Header {
		var hs []chain.Header
		for i := uint64(1); i <= h; i++ {
			hs = append(hs, f.header(i))
		}
		return hs
	}
	certs := func(hs ...*chain.Header) map[uint64]*chain.Certificate {
		m := map[uint64]*chain.Certificate{}
		for _, h := range hs {
			m[h.Height] = f.certify(h, 0, signersOf(f.sets[0], h.Height))
		}
		return m
	}
	withAfter := append(upTo(changeAt), after)
	withWeak := append(upTo(changeAt-1), weakChange)
	withDup := append(upTo(changeAt-1), dupChange)

	return []tampering{
		{"a header's byte flipped (between certificates)", []step{segStep(editSegment(t, seg40, func(j *apijson.Headers) {
			j.Headers[19] = flipByte(t, j.Headers[19], -40) // header 20's state root
		}))}, "link"},
		{"a header's byte flipped (the certified one)", []step{segStep(editSegment(t, seg40, func(j *apijson.Headers) {
			j.Headers[39] = flipByte(t, j.Headers[39], -40)
		}))}, "certificate_header"},
		{"a certificate's signature flipped", []step{segStep(editCert40(func(c *chain.Certificate) { c.Votes[1].Sig[7] ^= 1 }))}, "certificate_signature"},
		{"a certificate with too few votes", []step{segStep(editCert40(func(c *chain.Certificate) { c.Votes = c.Votes[:len(c.Votes)-1] }))}, "certificate_quorum"},
		{"a certificate with a duplicate signer", []step{segStep(editCert40(func(c *chain.Certificate) { c.Votes[2] = c.Votes[1] }))}, "certificate_signers"},
		{"a certificate with a signer outside the set", []step{segStep(editCert40(func(c *chain.Certificate) { c.Votes[2].Signer = 4 }))}, "certificate_signers"},
		{"no certificate for the header that changes the set", []step{segStep(editSegment(t, seg110, func(j *apijson.Headers) {
			delete(j.Certificates, u64s(changeAt))
		}))}, "certificate_missing"},
		{"a node set that does not hash to next_nodes", []step{segStep(editSegment(t, seg110, func(j *apijson.Headers) {
			j.NodeSets[set1] = nodeSetHex(f.sets[0])
		}))}, "node_set_hash"},
		{"the new node set left out", []step{segStep(editSegment(t, seg110, func(j *apijson.Headers) { j.NodeSets = nil }))}, "node_set_missing"},
		{"a new node set with a key of small order", []step{segStep(segmentOf(t, withWeak, certs(&withWeak[changeAt-1]),
			map[chain.Hash]chain.NodeSet{weakSet.Hash(): weakSet}))}, "node_set_invalid"},
		{"a new node set with a key twice", []step{segStep(segmentOf(t, withDup, certs(&withDup[changeAt-1]),
			map[chain.Hash]chain.NodeSet{dupSet.Hash(): dupSet}))}, "node_set_invalid"},
		{"a bad last certificate after a node-set change", []step{segStep(editSegment(t, seg110, func(j *apijson.Headers) {
			j.Certificates[u64s(heights)] = editCertificate(t, j.Certificates[u64s(heights)], func(c *chain.Certificate) { c.Votes[0].Sig[0] ^= 1 })
		}))}, "certificate_signature"},
		{"a header after the change signed by the set that left", []step{segStep(segmentOf(t, withAfter,
			map[uint64]*chain.Certificate{changeAt: f.certs[changeAt-1], changeAt + 1: f.certify(&after, 0, []int{0, 1, 2, 3})},
			map[chain.Hash]chain.NodeSet{f.sets[1].Hash(): f.sets[1]}))}, "certificate_quorum"},
		{"a header for another chain ID", []step{segStep(segmentOf(t, []chain.Header{otherChain}, certs(&otherChain), nil))}, "chain_id"},
		{"a header back in time", []step{segStep(segmentOf(t, []chain.Header{h1, backInTime}, certs(&backInTime), nil))}, "time"},
		{"an empty segment", []step{segStep(`{"headers":[],"certificates":{}}`)}, "segment"},
		{"a segment that does not follow the client's height", []step{segStep(f.segment(t, 2, 40))}, "height"},
		{"a proof's sibling flipped", editBob(func(l *apijson.Leaf) {
			l.Proof = editProof(t, l.Proof, func(p *smt.Proof) {
				for i := range p.Siblings {
					if p.Siblings[i].Hash != smt.EmptyHash {
						p.Siblings[i].Hash[31] ^= 1
						return
					}
				}
				t.Fatal("no sibling to flip")
			})
		}), "state_root"},
		{"a wrong sum (alice's balance + 1, above 2^53)", []step{sync, acctStep(alice, editLeaf(t, f.account(t, alice, heights), func(l *apijson.Leaf) { l.Sum++ }))}, "state_root"},
		{"a value that does not match the proof", editBob(func(l *apijson.Leaf) {
			l.Value = hex.EncodeToString((&state.Account{Role: state.Supervisor, Name: "bob"}).Marshal())
		}), "state_root"},
		{"a present account's proof claimed absent", editBob(func(l *apijson.Leaf) { l.Found, l.Value, l.Sum = false, "", 0 }), "proof"},
		{"an absent account with a value", []step{sync, acctStep(bob, editLeaf(t, f.account(t, f.absent(t, heights, smt.TerminalEmpty).String(), heights), func(l *apijson.Leaf) {
			l.Value = "01"
		}))}, "absent_with_value"},
		{"an exclusion proof's other leaf changed", func() []step {
			other := f.absent(t, 75, smt.TerminalOther).String()
			return []step{sync, acctStep(other, editLeaf(t, f.account(t, other, 75), func(l *apijson.Leaf) {
				l.Proof = editProof(t, l.Proof, func(p *smt.Proof) { p.OtherSum++ })
			}))}
		}(), "state_root"},
		{"an answer about another account", []step{sync, acctStep(bob, f.account(t, alice, heights))}, "key"},
		{"the header of another height", editBob(func(l *apijson.Leaf) { l.Header = headerHex(&f.blocks[heights-2].Header) }), "header"},
		{"the certificate of another height", editBob(func(l *apijson.Leaf) { l.Certificate = certHex(f.certs[heights-2]) }), "certificate_header"},
		{"the proof of another height", func() []step {
			next := f.account(t, bob, 101)
			var a apijson.Account
			if err := json.Unmarshal([]byte(next), &a); err != nil {
				t.Fatal(err)
			}
			return []step{sync, acctStep(bob, editLeaf(t, f.account(t, bob, 100), func(l *apijson.Leaf) {
				l.Proof, l.Value, l.Sum = a.Proof.Proof, a.Proof.Value, a.Proof.Sum
			}))}
		}(), "state_root"},
		{"the organization's value changed", []step{sync, orgStep(editJSON(t, f.organization(t, heights), func(a *apijson.Organization) {
			a.Proof.Value = flipByte(t, a.Proof.Value, -1) // applicants
		}))}, "state_root"},
		{"a proof at a height not verified", []step{segStep(seg40), acctStep(bob, bob110)}, "unknown_height"},

		// Encodings: every decoder is strict.
		{"a header with a trailing byte", []step{segStep(editSegment(t, seg40, func(j *apijson.Headers) { j.Headers[5] += "00" }))}, "encoding"},
		{"a certificate cut short", []step{segStep(editCert40Raw(t, seg40, func(h string) string { return h[:len(h)-2] }))}, "encoding"},
		{"a header that is not hex", []step{segStep(editSegment(t, seg40, func(j *apijson.Headers) { j.Headers[0] = "zz" + j.Headers[0][2:] }))}, "encoding"},
		{"a proof with an empty sibling written out", func() []step {
			who, answer := f.withEmptySibling(t)
			return []step{sync, acctStep(who, editLeaf(t, answer, func(l *apijson.Leaf) { l.Proof = writeEmptySiblings(t, l.Proof) }))}
		}(), "encoding"},
		{"a sum written as a string", []step{sync, acctStep(bob, sumAsString(t, bob110))}, "encoding"},
	}
}

// editCert40Raw changes the hex of certificate 40 of a segment.
func editCert40Raw(t *testing.T, seg string, edit func(string) string) string {
	return editSegment(t, seg, func(j *apijson.Headers) { j.Certificates["40"] = edit(j.Certificates["40"]) })
}

// sumAsString writes an answer's proof sum as a JSON string.
func sumAsString(t *testing.T, answer string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(answer), &m); err != nil {
		t.Fatal(err)
	}
	p := m["proof"].(map[string]any)
	p["sum"] = fmt.Sprint(p["sum"])
	return mustJSON(t, m)
}

// withEmptySibling finds an account (present or absent) whose proof at the
// latest height has an empty sibling, and returns it with the API's answer.
func (f *fixture) withEmptySibling(t *testing.T) (string, string) {
	t.Helper()
	for i := range 64 {
		who := seeded(t, fmt.Sprint("nobody", i)).Public().String()
		answer := f.account(t, who, heights)
		var a apijson.Account
		if err := json.Unmarshal([]byte(answer), &a); err != nil {
			t.Fatal(err)
		}
		raw, _ := hex.DecodeString(a.Proof.Proof)
		p, err := smt.UnmarshalProof(raw)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range p.Siblings {
			if s.Hash == smt.EmptyHash {
				return who, answer
			}
		}
	}
	t.Fatal("no proof with an empty sibling in 64 accounts")
	return "", ""
}

// writeEmptySiblings re-encodes a proof with its empty siblings written
// out (bitmap bit set, H(0x00) and sum 0): the same path, a non-canonical
// encoding.
func writeEmptySiblings(t *testing.T, h string) string {
	t.Helper()
	raw, _ := hex.DecodeString(h)
	p, err := smt.UnmarshalProof(raw)
	if err != nil {
		t.Fatal(err)
	}
	d := len(p.Siblings)
	out := []byte{0x01, byte(p.Terminal), byte(d)}
	bitmap := make([]byte, (d+7)/8)
	for i := range d {
		bitmap[i>>3] |= 0x80 >> uint(i&7)
	}
	out = append(out, bitmap...)
	for _, s := range p.Siblings {
		out = append(out, s.Hash[:]...)
		out = binary.BigEndian.AppendUint64(out, s.Sum)
	}
	if p.Terminal == smt.TerminalOther {
		out = append(out, p.OtherKey[:]...)
		out = binary.BigEndian.AppendUint64(out, p.OtherSum)
		out = append(out, p.OtherValueHash[:]...)
	}
	return hex.EncodeToString(out)
}

// testTampered checks that each tampering is rejected by both clients, with
// the same class of error, the right check named by JS, and nothing kept.
func testTampered(t *testing.T, f *fixture, b *browser) {
	for _, c := range tamperings(t, f) {
		t.Run(c.name, func(t *testing.T) {
			sc := scenario{Genesis: f.genesisText, Steps: c.steps}
			goOut, jsOut := runGo(t, sc), b.runJS(t, sc)
			last := len(c.steps) - 1
			for name, out := range map[string]outcome{"Go": goOut, "JS": jsOut} {
				if len(out.Steps) != len(c.steps) {
					t.Fatalf("%s stopped at step %d of %d: %+v", name, len(out.Steps)-1, len(c.steps), out.Steps[len(out.Steps)-1])
				}
				for i, s := range out.Steps[:last] {
					if !s.OK {
						t.Fatalf("%s: the honest step %d failed: %+v", name, i, s.Error)
					}
				}
				if out.Steps[last].OK {
					t.Fatalf("%s accepted the tampered answer: %+v", name, out.Steps[last].Result)
				}
			}
			goErr, jsErr := goOut.Steps[last].Error, jsOut.Steps[last].Error
			if jsErr.Check != c.check || jsErr.Name != goErr.Name {
				t.Fatalf("JS %s (%s): %s; want check %s and Go's class\nGo %s: %s", jsErr.Name, jsErr.Check, jsErr.Message, c.check, goErr.Name, goErr.Message)
			}
			// Nothing of the rejected answer is kept: not its headers, not
			// the node set it changed to.
			eras := 1
			if jsOut.Height >= changeAt {
				eras = 2
			}
			if jsOut.Height != goOut.Height || len(jsOut.Eras) != eras {
				t.Fatalf("after the rejection JS is at height %d with %d node sets, Go at %d", jsOut.Height, len(jsOut.Eras), goOut.Height)
			}
			t.Logf("JS %s: %s\n    Go: %s", jsErr.Check, jsErr.Message, goErr.Message)
		})
	}
}

// testFetched lets the page fetch from its node: the headers, bob's account
// and the organization at the latest height, verified as it goes.
func testFetched(t *testing.T, f *fixture, b *browser) {
	bob := f.bob.Public().String()
	var out struct {
		Account      proven `json:"account"`
		Organization proven `json:"organization"`
		Height       uint64 `json:"height"`
	}
	b.call(t, "fetchRun", map[string]string{"genesis": f.genesisText, "account": bob}, &out)
	sc := scenario{Genesis: f.genesisText, Steps: []step{
		segStep(f.segment(t, 1, heights)),
		acctStep(bob, f.account(t, bob, heights)),
		orgStep(f.organization(t, heights)),
	}}
	goOut := runGo(t, sc)
	if len(goOut.Steps) != 3 || !goOut.Steps[2].OK {
		t.Fatalf("Go: %+v", goOut.Steps)
	}
	if out.Height != heights || !reflect.DeepEqual(&out.Account, goOut.Steps[1].Result) || !reflect.DeepEqual(&out.Organization, goOut.Steps[2].Result) {
		t.Fatalf("fetched by JS: %+v\nGo: %+v %+v", out, goOut.Steps[1].Result, goOut.Steps[2].Result)
	}
	// A node's refusal is a RemoteError, not a failed proof: no claim was made.
	var refused struct {
		Name, Code string
		Status     int
	}
	b.call(t, "fetchError", map[string]any{"genesis": f.genesisText, "account": bob, "height": heights + 1}, &refused)
	if refused.Name != "RemoteError" || refused.Status != 404 || refused.Code != "not_found" {
		t.Fatalf("an account above the certified height: %+v", refused)
	}
}

// testGenesis checks that both clients refuse the same bad genesis files.
func testGenesis(t *testing.T, f *fixture, b *browser) {
	edit := func(change func(m map[string]any)) string {
		var m map[string]any
		if err := json.Unmarshal([]byte(f.genesisText), &m); err != nil {
			t.Fatal(err)
		}
		change(m)
		return mustJSON(t, m)
	}
	node := func(m map[string]any, i int) map[string]any { return m["nodes"].([]any)[i].(map[string]any) }
	for name, text := range map[string]string{
		"a node key of small order": edit(func(m map[string]any) { node(m, 2)["key"] = hex.EncodeToString(make([]byte, 32)) }),
		"a node key twice":          edit(func(m map[string]any) { node(m, 2)["key"] = node(m, 0)["key"] }),
		"a node key not hex":        edit(func(m map[string]any) { node(m, 1)["key"] = "zz" }),
		"no nodes":                  edit(func(m map[string]any) { m["nodes"] = []any{} }),
		"a chain ID too long":       edit(func(m map[string]any) { m["chain_id"] = string(make([]byte, 65)) }),
		"an unknown application":    edit(func(m map[string]any) { m["application"] = "chess" }),
	} {
		sc := scenario{Genesis: text}
		goOut, jsOut := runGo(t, sc), b.runJS(t, sc)
		if goOut.GenesisError == nil || jsOut.GenesisError == nil || jsOut.GenesisError.Check != "genesis" {
			t.Errorf("%s: Go %+v, JS %+v", name, goOut.GenesisError, jsOut.GenesisError)
		}
	}
}

// testKeys checks the JS key and signature rules against Go's: which keys
// are refused as not on the curve or of small order (ZIP-215 decoding,
// non-canonical encodings included), and which signatures verify.
func testKeys(t *testing.T, f *fixture, b *browser) {
	keys := []string{
		// The eight points of small order, then non-canonical encodings
		// of some (y ≥ p, or x = 0 with the sign bit set).
		"0100000000000000000000000000000000000000000000000000000000000000",
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"0000000000000000000000000000000000000000000000000000000000000000",
		"0000000000000000000000000000000000000000000000000000000000000080",
		"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
		"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
		"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
		"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
		"0100000000000000000000000000000000000000000000000000000000000080",
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
		"0200000000000000000000000000000000000000000000000000000000000000",
	}
	for _, k := range f.sets[1].Keys {
		keys = append(keys, k.String())
	}
	rng := mrand.New(mrand.NewPCG(1, 2))
	for range 64 {
		var k [32]byte
		for i := range k {
			k[i] = byte(rng.UintN(256))
		}
		keys = append(keys, hex.EncodeToString(k[:]))
	}
	var reasons []*string
	b.call(t, "weakKeys", keys, &reasons)
	weak := 0
	for i, k := range keys {
		pk, _ := crypto.ParsePublicKey(k)
		goErr := pk.CheckStrong()
		if (goErr == nil) != (reasons[i] == nil) {
			t.Errorf("key %s: Go %v, JS %v", k, goErr, reasons[i])
		}
		if goErr != nil {
			weak++
		}
	}
	if weak < 13+20 { // the listed ones, and about half the random ones
		t.Fatalf("only %d of %d keys refused: the test lost its teeth", weak, len(keys))
	}

	// Signatures: a real vote, then altered (a byte of R, S + ℓ, another
	// message, another key).
	h := f.header(1)
	msg := append([]byte(crypto.DomainBlock+"\x00"), h.Marshal()...)
	vote := chain.SignHeader(f.eras[0][0], 0, &h).Sig
	key := f.sets[0].Keys[0]
	flipped := vote
	flipped[3] ^= 1
	type sigCase struct {
		Key  string `json:"key"`
		Msg  string `json:"msg"`
		Sig  string `json:"sig"`
		want bool
	}
	cases := []sigCase{
		{key.String(), hex.EncodeToString(msg), hex.EncodeToString(vote[:]), true},
		{key.String(), hex.EncodeToString(msg), hex.EncodeToString(flipped[:]), false},
		{key.String(), hex.EncodeToString(msg), hex.EncodeToString(addOrder(vote)), false},
		{key.String(), hex.EncodeToString(append(msg, 0)), hex.EncodeToString(vote[:]), false},
		{f.sets[0].Keys[1].String(), hex.EncodeToString(msg), hex.EncodeToString(vote[:]), false},
	}
	var got struct{ OK, Canonical []bool }
	b.call(t, "verifySignatures", cases, &got)
	if !reflect.DeepEqual(got.Canonical, []bool{true, true, false, true, true}) {
		t.Errorf("S canonical: %v", got.Canonical)
	}
	for i, c := range cases {
		var sig crypto.Signature
		raw, _ := hex.DecodeString(c.Sig)
		copy(sig[:], raw)
		pk, _ := crypto.ParsePublicKey(c.Key)
		m, _ := hex.DecodeString(c.Msg)
		goOK := pk.Verify(crypto.DomainBlock, m[len(crypto.DomainBlock)+1:], sig) == nil
		if got.OK[i] != c.want || goOK != c.want {
			t.Errorf("signature case %d: JS %v, Go %v, want %v", i, got.OK[i], goOK, c.want)
		}
	}
}

// addOrder returns the signature with ℓ added to its S: the same point
// equation, an S that is not canonical.
func addOrder(sig crypto.Signature) []byte {
	l, _ := new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)
	le := func(b []byte) []byte {
		r := make([]byte, len(b))
		for i := range b {
			r[i] = b[len(b)-1-i]
		}
		return r
	}
	s := new(big.Int).SetBytes(le(sig[32:]))
	s.Add(s, l)
	out := append([]byte(nil), sig[:32]...)
	return append(out, le(s.FillBytes(make([]byte, 32)))...)
}

// testTime measures the JS verification of a 100-header segment (with the
// change of node set: two certificates) and of one account proof, and the
// same fetched from the node; reported, not asserted (issue 12 asks for a
// page load with its proof verified under 300 ms).
func testTime(t *testing.T, f *fixture, b *browser) {
	const runs = 20
	bob := f.bob.Public().String()
	var out struct {
		SegmentMedian, SegmentMax float64
		AccountMedian, AccountMax float64
		FetchMedian, FetchMax     float64
	}
	b.call(t, "bench", map[string]any{
		"genesis": f.genesisText, "segment": f.segment(t, 1, 100), "answer": f.account(t, bob, 100),
		"account": bob, "height": 100, "runs": runs,
	}, &out)
	if out.SegmentMedian <= 0 || out.FetchMedian < out.SegmentMedian/2 {
		t.Fatalf("implausible times: %+v", out)
	}
	t.Logf("JS light client in headless Chromium, %d runs: a 100-header segment (a node-set change, 2 certificates) %.1f ms median (max %.1f); one account proof %.1f ms (max %.1f); fetching and verifying both from the node %.1f ms (max %.1f)",
		runs, out.SegmentMedian, out.SegmentMax, out.AccountMedian, out.AccountMax, out.FetchMedian, out.FetchMax)
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
