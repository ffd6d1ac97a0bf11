package orgapp

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/mass-consensus/mass/internal/app"
	"github.com/mass-consensus/mass/internal/app/gov"
	"github.com/mass-consensus/mass/internal/app/state"
	"github.com/mass-consensus/mass/internal/app/tx"
	"github.com/mass-consensus/mass/internal/chain"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/genesis"
	"github.com/mass-consensus/mass/internal/store/mem"
)

func TestCodesMatchGov(t *testing.T) {
	for _, c := range [][2]uint32{{CodeFunds, gov.CodeFunds}, {CodeNotPermitted, gov.CodeNotPermitted},
		{CodeInvalid, gov.CodeInvalid}, {CodePhase, gov.CodePhase}, {CodeLimit, gov.CodeLimit}} {
		if c[0] != c[1] {
			t.Fatalf("orgapp code %d, gov %d", c[0], c[1])
		}
	}
}

// TestBlockSeed: the seed is SHA-256 over a tag, the height and the
// header's batch hash, which a light client can check.
func TestBlockSeed(t *testing.T) {
	txs := [][]byte{[]byte("one"), {}, []byte("three")}
	h := chain.BatchHash(txs)
	msg := append([]byte("mass/gov/seed/v1\x00"), binary.BigEndian.AppendUint64(nil, 42)...)
	if gov.BlockSeed(42, txs) != sha256.Sum256(append(msg, h[:]...)) {
		t.Fatal("the block seed is not over the header's batch hash")
	}
}

// govFixture is a fixture whose genesis has governance parameters fit for
// quick tests, and a treasury.
func govFixture(t *testing.T, members int, treasury uint64, params map[string]uint64) *fixture {
	f := &fixture{t: t, kv: mem.New(), nonces: map[crypto.PublicKey]uint64{}, free: map[crypto.PublicKey][]uint64{}}
	for i := 0; i < members; i++ {
		f.keys = append(f.keys, key(t, i))
	}
	var g Genesis
	if err := json.Unmarshal(genesisOf(t, "supervisor", f.keys, 100), &g); err != nil {
		t.Fatal(err)
	}
	g.Treasury = treasury
	g.Governance = &GenesisGovernance{Domains: []GenesisDomain{{Name: "general", Params: params}}}
	raw, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	f.gen = raw
	f.open()
	return f
}

func (f *fixture) blockAt(ms int64, txs ...[]byte) app.Result {
	f.t.Helper()
	f.height++
	res, err := f.app.ApplyBlock(app.Block{Height: f.height, Time: ms, Txs: txs})
	if err != nil {
		f.t.Fatal(err)
	}
	return res
}

func quick() map[string]uint64 {
	return map[string]uint64{"active_limit": 8, "publicity_unit": 60_000, "publicity_floor": 60_000, "review_window": 300_000, "gather_min": 0}
}

// TestSplitFollowsTheSeed runs the same proposal on three applications: two
// get the same blocks and split the meeting the same way; the third gets a
// different transaction in the block that draws the split, and splits it
// differently.
func TestSplitFollowsTheSeed(t *testing.T) {
	split := func(extra bool) []string {
		f := govFixture(t, 12, 0, quick())
		d := tx.Desire{Meeting: 600_000, Publicity: 600_000, Capacity: 2}
		f.blockAt(1000, f.sign(f.keys[0], &tx.Create{Domain: "general", Title: "Split", Options: []tx.Option{{Title: "A"}, {Title: "B"}}, Desire: d}))
		var joins [][]byte
		for _, k := range f.keys[1:] {
			joins = append(joins, f.sign(k, &tx.Join{Proposal: 1, Desire: d}))
		}
		f.blockAt(2000, joins...)
		var txs [][]byte
		if extra {
			txs = append(txs, f.transfer(f.keys[1], f.keys[2], 1))
		}
		f.blockAt(601_000, txs...) // the meeting ends: round 1 is drawn here
		p, err := f.app.Proposal(f.height, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Rounds) != 1 || len(p.Rounds[0].Meetings) != 6 {
			t.Fatalf("%+v", p.Rounds)
		}
		var out []string
		for _, m := range p.Rounds[0].Meetings {
			out = append(out, fmt.Sprint(m.Members))
		}
		return out
	}
	a, b, c := split(false), split(false), split(true)
	if !slices.Equal(a, b) {
		t.Fatal("the same blocks split differently")
	}
	if slices.Equal(a, c) {
		t.Fatal("another seed split the same way")
	}
}

// TestProposalRecordsProve reads a proposal in voting through the query
// path and checks that every record the view names proves against the
// height's root.
func TestProposalRecordsProve(t *testing.T) {
	f := govFixture(t, 5, 0, quick())
	d := tx.Desire{Meeting: 600_000, Publicity: 600_000, Capacity: 2}
	f.blockAt(1000, f.sign(f.keys[0], &tx.Create{Domain: "general", Title: "Prove me", Options: []tx.Option{{Title: "A"}, {Title: "B"}}, Desire: d}))
	var joins [][]byte
	for _, k := range f.keys[1:] {
		joins = append(joins, f.sign(k, &tx.Join{Proposal: 1, Desire: d}))
	}
	joins = append(joins, f.sign(f.keys[1], &tx.Comment{Proposal: 1, Text: "hello"}))
	res := f.blockAt(2000, joins...)
	for i, r := range res.Txs {
		if r.Code != CodeOK {
			t.Fatalf("tx %d: %+v", i, r)
		}
	}
	f.blockAt(601_000)
	raw, err := f.app.Query("proposal/1")
	if err != nil {
		t.Fatal(err)
	}
	var v ProposalView
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if v.State != "voting" || v.Participants != 5 || len(v.Rounds) != 1 || len(v.Rounds[0].Meetings) != 3 || v.Comments != 1 {
		t.Fatalf("%s", raw)
	}
	// 3 (proposal, text, roster) + 2 options + the round + 3 meetings, then
	// the 5 participants' accounts, whose names the view shows.
	if len(v.Records) != 9+5 {
		t.Fatalf("%d records: %v", len(v.Records), v.Records)
	}
	if v.AuthorName == "" || v.Roster[4].Name == "" || len(v.Rounds[0].Meetings[0].Names) != len(v.Rounds[0].Meetings[0].Members) {
		t.Fatalf("names missing: %s", raw)
	}
	for _, m := range v.Rounds[0].Meetings {
		for i, name := range m.Names {
			if name == "" || name != v.Roster[slices.IndexFunc(v.Roster, func(p ParticipantView) bool { return p.Member == m.Members[i] })].Name {
				t.Fatalf("meeting %d: member %s named %q", m.Index, m.Members[i], name)
			}
		}
	}
	if !strings.Contains(string(raw), `"options":[0,1]`) {
		t.Fatalf("a round's options are not a list of numbers: %s", raw)
	}
	_, root, _ := f.app.Info()
	for _, h := range v.Records {
		var k state.Key
		b, _ := hex.DecodeString(h)
		copy(k[:], b)
		l, err := f.app.Prove(f.height, k)
		if err != nil || !l.Found {
			t.Fatalf("%s: %v", h, err)
		}
		if err := l.Proof.VerifyInclusion(root, l.Key, l.Value, l.Sum); err != nil {
			t.Fatalf("%s: %v", h, err)
		}
	}
	for _, path := range []string{"governance", "domain/general", "proposals/general", "executors"} {
		if _, err := f.app.Query(path); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	if l, err := f.app.Proposals(f.height, "general", 0); err != nil || len(l.Proposals) != 1 || l.Proposals[0].State != "voting" {
		t.Fatalf("%+v %v", l, err)
	}
	if _, err := f.app.Query("proposal/9"); err == nil {
		t.Fatal("an absent proposal found")
	}
	if c, err := f.app.Comments(f.height, 1, 0, 10); err != nil || len(c) != 1 || c[0].Text != "hello" {
		t.Fatalf("%+v %v", c, err)
	}
	// Earlier heights stay readable: at height 1 the proposal was meeting
	// alone.
	if p, err := f.app.Proposal(1, 1); err != nil || p.State != "meeting" || p.Participants != 1 {
		t.Fatalf("%+v %v", p, err)
	}
}

// TestLastTimeSurvivesRestart: CheckTx takes the last block's time, kept
// outside the tree.
func TestLastTimeSurvivesRestart(t *testing.T) {
	f := govFixture(t, 2, 0, nil)
	f.blockAt(123_456)
	f.open()
	if got := f.app.lastTime.Load(); got != 123_456 {
		t.Fatalf("last time %d", got)
	}
}

// TestGenesisGovernance validates the governance section.
func TestGenesisGovernance(t *testing.T) {
	k := key(t, 1)
	acct := fmt.Sprintf(`{"key":%q,"role":"supervisor","name":"a"}`, k.Public())
	for name, gv := range map[string]string{
		"unknown parameter": `{"domains":[{"name":"general","params":{"nope":1}}]}`,
		"out of bounds":     `{"domains":[{"name":"general","params":{"active_limit":0}}]}`,
		"inconsistent":      `{"domains":[{"name":"x","params":{"capacity_min":9,"capacity_max":8}}]}`,
		"bad name":          `{"domains":[{"name":"X Y"}]}`,
	} {
		raw := fmt.Sprintf(`{"organization":"o","policy":"vote","accounts":[%s],"governance":%s}`, acct, gv)
		if _, err := ParseGenesis(json.RawMessage(raw)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	raw := fmt.Sprintf(`{"organization":"o","policy":"vote","accounts":[%s],"treasury":50,"governance":{"domains":[{"name":"tech","params":{"active_limit":3}}]}}`, acct)
	a, err := New(mem.New(), &genesis.Genesis{ChainID: chainID, Nodes: []genesis.Node{{Key: key(t, 999).Public().String()}}, App: json.RawMessage(raw)}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	g, err := a.Governance(0)
	if err != nil || g.Supply != 50 || len(g.Domains) != 2 || g.Domains[0].Name != "general" || g.Domains[1].Params["active_limit"] != 3 {
		t.Fatalf("%+v %v", g, err)
	}
	if s, _ := a.Supply(0); s != 50 {
		t.Fatalf("supply %d", s)
	}
	if v, err := a.Versions(0); err != nil || v.At(1) != 1 {
		t.Fatalf("%+v %v", v, err)
	}
}

// TestSupplyProperty drives random governance (proposals that mint and pay,
// joins, ballots, freezes and reviews, transfers) and checks after every
// block that the sum at the root is the genesis supply plus what the
// executed proposals minted, and that the registry says the same.
func TestSupplyProperty(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 11))
			const members = 7
			f := govFixture(t, members, 500, quick())
			want := uint64(members*100 + 500)
			counted := map[uint64]bool{}
			now := int64(1000)
			next := uint64(1)
			desire := func() tx.Desire {
				return tx.Desire{Meeting: uint64(60_000 * (1 + rng.IntN(5))), Publicity: uint64(60_000 * (1 + rng.IntN(5))), Capacity: uint16(2 + rng.IntN(4))}
			}
			member := func() *crypto.PrivateKey { return f.keys[rng.IntN(members)] }
			for h := 0; h < 150; h++ {
				var txs [][]byte
				// A new proposal now and then.
				if rng.IntN(4) == 0 {
					var opts []tx.Option
					for i := 0; i <= rng.IntN(3); i++ {
						o := tx.Option{Title: fmt.Sprint("o", i)}
						for j := rng.IntN(3); j > 0; j-- {
							to := crypto.ID(state.TreasuryKey)
							if rng.IntN(2) == 0 {
								to = member().Public().ID()
							}
							amount := 1 + uint64(rng.IntN(300))
							if rng.IntN(2) == 0 {
								o.Actions = append(o.Actions, &tx.Pay{To: member().Public().ID(), Amount: amount})
							} else {
								o.Actions = append(o.Actions, &tx.Mint{To: to, Amount: amount})
							}
						}
						opts = append(opts, o)
					}
					txs = append(txs, f.sign(member(), &tx.Create{Domain: "general", Title: "P", Options: opts, Desire: desire()}))
				}
				// Act on the live proposals.
				for id := uint64(1); id < next; id++ {
					p, err := f.app.Proposal(f.height, id)
					if err != nil {
						t.Fatal(err)
					}
					k := member()
					switch p.State {
					case "queued", "meeting":
						txs = append(txs, f.sign(k, &tx.Join{Proposal: id, Desire: desire()}))
					case "voting":
						r := p.Rounds[len(p.Rounds)-1]
						for _, m := range r.Meetings {
							if slices.Contains(m.Members, k.Public().ID().String()) {
								txs = append(txs, f.sign(k, &tx.Vote{Proposal: id, Round: r.Round, Meeting: m.Index, Approve: r.Options[:1+rng.IntN(len(r.Options))]}))
							}
						}
					case "publicity":
						if rng.IntN(6) == 0 {
							txs = append(txs, f.sign(k, &tx.Freeze{Proposal: id}))
						}
					case "review":
						txs = append(txs, f.sign(k, &tx.Review{Proposal: id, Freeze: p.Freezes, Lift: rng.IntN(3) > 0}))
					}
				}
				if rng.IntN(2) == 0 {
					a, b := member(), member()
					if a != b {
						txs = append(txs, f.transfer(a, b, 1+uint64(rng.IntN(50))))
					}
				}
				now += int64(rng.IntN(4)) * 60_000
				res := f.blockAt(now, txs...)
				for i, r := range res.Txs {
					x, _ := tx.Unmarshal(txs[i])
					if r.Code == CodeOK {
						if _, ok := x.Body.(*tx.Create); ok {
							next++
						}
						continue
					}
					f.free[x.Sender] = append(f.free[x.Sender], x.Nonce)
				}
				// What the newly executed proposals minted.
				for id := uint64(1); id < next; id++ {
					p, err := f.app.Proposal(f.height, id)
					if err != nil {
						t.Fatal(err)
					}
					if p.State == "executed" && !counted[id] {
						counted[id] = true
						raw, _, _ := f.app.tree.Get(version(f.height), gov.OptionKey(id, *p.Winner))
						o, err := gov.UnmarshalOption(raw)
						if err != nil {
							t.Fatal(err)
						}
						for _, a := range o.Option.Actions {
							if m, ok := a.(*tx.Mint); ok {
								want += m.Amount
							}
						}
					}
				}
				supply, _ := f.app.Supply(f.height)
				g, err := f.app.Governance(f.height)
				if err != nil {
					t.Fatal(err)
				}
				if supply != want || g.Supply != want {
					t.Fatalf("height %d: root sum %d, registry %d, want %d", f.height, supply, g.Supply, want)
				}
			}
			executed, failed := 0, 0
			for id := uint64(1); id < next; id++ {
				p, _ := f.app.Proposal(f.height, id)
				switch p.State {
				case "executed":
					executed++
				case "failed":
					failed++
				}
			}
			t.Logf("%d proposals: %d executed, %d failed; supply %d", next-1, executed, failed, want)
			if executed == 0 || want == members*100+500 {
				t.Fatalf("a scenario that minted nothing proves little: %d proposals, %d executed, %d failed", next-1, executed, failed)
			}
		})
	}
}

// TestTxResultNamesTheCreatedProposal: a create or a challenge that
// succeeded is read back by its hash with the ID it got, also after a
// restart; a failed one and other transactions carry none.
func TestTxResultNamesTheCreatedProposal(t *testing.T) {
	f := govFixture(t, 3, 0, quick())
	d := tx.Desire{Meeting: 600_000, Publicity: 600_000, Capacity: 2}
	first := f.sign(f.keys[0], &tx.Create{Domain: "general", Title: "One", Options: []tx.Option{{Title: "A"}}, Desire: d})
	second := f.sign(f.keys[1], &tx.Create{Domain: "general", Title: "Two", Options: []tx.Option{{Title: "A"}}, Desire: d})
	nowhere := f.sign(f.keys[1], &tx.Create{Domain: "nowhere", Title: "Three", Options: []tx.Option{{Title: "A"}}, Desire: d})
	challenge := f.sign(f.keys[2], &tx.Challenge{Target: f.keys[0].Public().ID(), Domain: "general", Reason: "why", Desire: d})
	join := f.sign(f.keys[2], &tx.Join{Proposal: 1, Desire: d})
	f.blockAt(1000, first, second, nowhere, challenge, join)
	f.open()
	for _, c := range []struct {
		tx       []byte
		code     uint32
		proposal uint64
	}{{first, CodeOK, 1}, {second, CodeOK, 2}, {challenge, CodeOK, 3}, {join, CodeOK, 0}} {
		r, err := f.app.TxResult(sha256.Sum256(c.tx))
		if err != nil || r.Code != c.code || r.Proposal != c.proposal {
			t.Errorf("result %+v (%v), want code %d proposal %d", r, err, c.code, c.proposal)
		}
	}
	if r, err := f.app.TxResult(sha256.Sum256(nowhere)); err != nil || r.Code == CodeOK || r.Proposal != 0 {
		t.Errorf("a create into no domain: %+v (%v)", r, err)
	}
}

func TestIndexesAreNumbers(t *testing.T) {
	raw, err := json.Marshal(struct {
		X Indexes `json:"x"`
		E Indexes `json:"e"`
	}{X: Indexes{0, 7, 255}, E: Indexes{}})
	if err != nil || string(raw) != `{"x":[0,7,255],"e":[]}` {
		t.Fatalf("%s %v", raw, err)
	}
	var back Indexes
	if err := json.Unmarshal([]byte(`[0,7,255]`), &back); err != nil || !slices.Equal(back, Indexes{0, 7, 255}) {
		t.Fatalf("%v %v", back, err)
	}
	for _, bad := range []string{`[256]`, `"AAE="`, `[-1]`, `[1.5]`} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("%s decoded", bad)
		}
	}
}

// TestNextDeadlineNamesTheGatheringEnd: a queued proposal in a domain with
// room is due when its gathering time ends, so an idle network makes the
// block that activates it; in a full domain it is not (its activation
// waits for room, which another deadline brings).
func TestNextDeadlineNamesTheGatheringEnd(t *testing.T) {
	f := govFixture(t, 3, 0, map[string]uint64{"gather_min": 600_000})
	d := tx.Desire{Meeting: 120_000, Publicity: 120_000, Capacity: 2}
	create := func(k *crypto.PrivateKey) []byte {
		return f.sign(k, &tx.Create{Domain: "general", Title: "P", Options: []tx.Option{{Title: "A"}}, Desire: d})
	}
	next := func() int64 {
		t.Helper()
		at, ok, err := f.app.NextDeadline()
		if err != nil || !ok {
			t.Fatalf("NextDeadline: %d %v %v", at, ok, err)
		}
		return at
	}
	f.blockAt(1000, create(f.keys[0]))
	if at := next(); at != 1000+600_000 {
		t.Fatalf("a gathering proposal in an idle domain is due at %d, not at the end of its gathering", at)
	}
	f.blockAt(1000 + 600_000)
	if p, _ := f.app.Proposal(f.height, 1); p.State != "meeting" {
		t.Fatalf("proposal 1 is %s", p.State)
	}
	// The domain is full (active_limit 1): the second's gathering end is
	// not a deadline; the meeting's end is.
	f.blockAt(1000+600_000+1000, create(f.keys[1]))
	if at := next(); at != 1000+600_000+120_000 {
		t.Fatalf("next deadline %d, want the meeting's end %d", at, 1000+600_000+120_000)
	}
}

// TestAKeyWithNoAccountIsNotCalledAGuest: refusals name what the sender is;
// a key that never held anything "has no account".
func TestAKeyWithNoAccountIsNotCalledAGuest(t *testing.T) {
	f := govFixture(t, 2, 0, quick())
	stranger := key(t, 99)
	d := tx.Desire{Meeting: 600_000, Publicity: 600_000, Capacity: 2}
	res := f.blockAt(1000,
		f.sign(stranger, &tx.Create{Domain: "general", Title: "Mine", Options: []tx.Option{{Title: "A"}}, Desire: d}),
		f.sign(stranger, &tx.Decide{Applicant: f.keys[1].Public().ID(), Accept: true}))
	for i, r := range res.Txs {
		if r.Code != CodeNotPermitted || !strings.Contains(r.Log, "has no account") || strings.Contains(r.Log, "guest") {
			t.Errorf("tx %d: code %d %q, want not permitted: has no account", i, r.Code, r.Log)
		}
	}
}
