package orgapp

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/mass-consensus/mass/internal/app"
	"github.com/mass-consensus/mass/internal/app/state"
	"github.com/mass-consensus/mass/internal/app/tx"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/genesis"
	"github.com/mass-consensus/mass/internal/store/mem"
)

const chainID = "test-chain"

func key(t testing.TB, i int) *crypto.PrivateKey {
	t.Helper()
	seed := make([]byte, crypto.SeedSize)
	seed[0], seed[1] = byte(i), byte(i>>8)
	seed[31] = 0x5a
	k, err := crypto.KeyFromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// fixture is an application with a supervisor (key 0), members (keys 1..)
// holding balances, and the next nonce of each key.
type fixture struct {
	t      *testing.T
	kv     *mem.Store
	app    *App
	keys   []*crypto.PrivateKey
	nonces map[crypto.PublicKey]uint64
	free   map[crypto.PublicKey][]uint64 // nonces of failed transactions, to use again
	height uint64
	gen    json.RawMessage
}

func genesisOf(t testing.TB, policy string, keys []*crypto.PrivateKey, balance uint64) json.RawMessage {
	g := Genesis{Organization: "Test Co-op", Policy: policy}
	for i, k := range keys {
		role := "member"
		if i == 0 {
			role = "supervisor"
		}
		g.Accounts = append(g.Accounts, GenesisAccount{Key: k.Public().String(), Name: fmt.Sprintf("m%d", i), Role: role, Balance: balance})
	}
	raw, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func newFixture(t *testing.T, policy string, members int, balance uint64) *fixture {
	f := &fixture{t: t, kv: mem.New(), nonces: map[crypto.PublicKey]uint64{}, free: map[crypto.PublicKey][]uint64{}}
	for i := 0; i < members; i++ {
		f.keys = append(f.keys, key(t, i))
	}
	f.gen = genesisOf(t, policy, f.keys, balance)
	f.open()
	return f
}

func (f *fixture) open() {
	a, err := New(f.kv, &genesis.Genesis{ChainID: chainID, Nodes: []genesis.Node{{Key: key(f.t, 999).Public().String()}}, App: f.gen}, Options{})
	if err != nil {
		f.t.Fatal(err)
	}
	f.app = a
}

// sign builds and signs a transaction from key, with its next nonce.
func (f *fixture) sign(from *crypto.PrivateKey, body tx.Body, cosigner ...*crypto.PrivateKey) []byte {
	n := f.nonces[from.Public()]
	if free := f.free[from.Public()]; len(free) > 0 {
		n, f.free[from.Public()] = free[0], free[1:]
	} else {
		f.nonces[from.Public()] = n + 1
	}
	t := tx.New(from.Public(), n, body)
	if err := t.Sign(chainID, from); err != nil {
		f.t.Fatal(err)
	}
	for _, c := range cosigner {
		if err := t.Sign(chainID, c); err != nil {
			f.t.Fatal(err)
		}
	}
	return t.Marshal()
}

func (f *fixture) transfer(from, to *crypto.PrivateKey, amount uint64) []byte {
	return f.sign(from, &tx.Transfer{To: to.Public(), Amount: amount}, to)
}

func (f *fixture) block(txs ...[]byte) app.Result {
	f.t.Helper()
	f.height++
	res, err := f.app.ApplyBlock(app.Block{Height: f.height, Time: int64(f.height) * 1000, Txs: txs})
	if err != nil {
		f.t.Fatal(err)
	}
	return res
}

func (f *fixture) balance(k *crypto.PrivateKey) uint64 {
	f.t.Helper()
	_, bal, err := f.app.Account(f.app.Height(), k.Public().ID())
	if errors.Is(err, app.ErrNotFound) {
		return 0
	}
	if err != nil {
		f.t.Fatal(err)
	}
	return bal
}

func (f *fixture) account(k *crypto.PrivateKey) *state.Account {
	f.t.Helper()
	a, _, err := f.app.Account(f.app.Height(), k.Public().ID())
	if err != nil {
		f.t.Fatal(err)
	}
	return a
}

func (f *fixture) org() *state.Organization {
	f.t.Helper()
	o, err := f.app.Organization(f.app.Height())
	if err != nil {
		f.t.Fatal(err)
	}
	return o
}

// mustReject checks that CheckTx refuses raw with a reason containing
// want, and that applying it in a block fails with code and changes
// nothing.
func (f *fixture) mustReject(raw []byte, code uint32, want string) {
	f.t.Helper()
	err := f.app.CheckTx(raw)
	if !errors.Is(err, app.ErrRejected) || !strings.Contains(err.Error(), want) {
		f.t.Fatalf("CheckTx: %v, want a rejection saying %q", err, want)
	}
	_, before, _ := f.app.Info()
	res := f.block(raw)
	if res.Txs[0].Code != code || !strings.Contains(res.Txs[0].Log, want) {
		f.t.Fatalf("in a block: code %d %q, want %d %q", res.Txs[0].Code, res.Txs[0].Log, code, want)
	}
	if res.StateRoot != before {
		f.t.Fatal("a failed transaction changed the state")
	}
}

func TestTransferAndSupply(t *testing.T) {
	f := newFixture(t, "supervisor", 3, 1000)
	a, b := f.keys[1], f.keys[2]
	if err := f.app.CheckTx(f.transfer(a, b, 10)); err != nil {
		t.Fatal(err)
	}
	f.nonces[a.Public()]-- // CheckTx does not use the nonce
	res := f.block(f.transfer(a, b, 300))
	if res.Txs[0].Code != CodeOK {
		t.Fatalf("transfer failed: %+v", res.Txs[0])
	}
	if f.balance(a) != 700 || f.balance(b) != 1300 {
		t.Fatalf("balances %d %d", f.balance(a), f.balance(b))
	}
	if s, _ := f.app.Supply(f.app.Height()); s != 3000 {
		t.Fatalf("supply %d", s)
	}
	// A new account comes into being by a transfer.
	c := key(t, 99)
	f.block(f.transfer(b, c, 5))
	if f.balance(c) != 5 || f.account(c).Role != state.Guest {
		t.Fatalf("new account %d %v", f.balance(c), f.account(c).Role)
	}
}

func TestRejections(t *testing.T) {
	f := newFixture(t, "supervisor", 3, 100)
	sup, a, b := f.keys[0], f.keys[1], f.keys[2]
	f.mustReject(f.transfer(a, b, 101), CodeFunds, "balance 100 is less than 101")
	f.mustReject(f.transfer(a, a, 1), CodeInvalid, "to oneself")

	// A nonce used twice.
	raw := f.transfer(a, b, 1)
	f.block(raw)
	used, _ := tx.Unmarshal(raw)
	replay := tx.New(a.Public(), used.Nonce, &tx.Transfer{To: b.Public(), Amount: 2})
	_ = replay.Sign(chainID, a)
	_ = replay.Sign(chainID, b)
	f.mustReject(replay.Marshal(), CodeBadNonce, "used already")
	far := tx.New(a.Public(), 500, &tx.Leave{})
	_ = far.Sign(chainID, a)
	f.mustReject(far.Marshal(), CodeBadNonce, "too far ahead")

	// Permissions.
	f.mustReject(f.sign(a, &tx.Decide{Applicant: b.Public().ID(), Accept: true}), CodeNotPermitted, "only a supervisor")
	f.mustReject(f.sign(sup, &tx.Decide{Applicant: b.Public().ID(), Accept: true}), CodeInvalid, "no pending application")
	f.mustReject(f.sign(a, &tx.Apply{Name: "again"}), CodeNotPermitted, "already a member")
	f.mustReject(f.sign(sup, &tx.Leave{}), CodeNotPermitted, "last supervisor")

	// Signed for another chain.
	other := tx.New(a.Public(), f.nonces[a.Public()], &tx.Leave{})
	_ = other.Sign("other-chain", a)
	if err := f.app.CheckTx(other.Marshal()); !errors.Is(err, app.ErrRejected) || !strings.Contains(err.Error(), "does not verify") {
		t.Fatalf("foreign chain: %v", err)
	}
	res := f.block(other.Marshal())
	if res.Txs[0].Code != CodeBadSignature {
		t.Fatalf("foreign chain in a block: %+v", res.Txs[0])
	}
	if err := f.app.CheckTx([]byte("garbage")); !errors.Is(err, app.ErrRejected) {
		t.Fatalf("garbage: %v", err)
	}
}

func TestMembership(t *testing.T) {
	f := newFixture(t, "supervisor", 2, 10)
	sup := f.keys[0]
	guest, other := key(t, 50), key(t, 51)
	if o := f.org(); o.Members != 2 || o.Supervisors != 1 || o.Applicants != 0 {
		t.Fatalf("genesis organization %+v", o)
	}
	f.block(f.sign(guest, &tx.Apply{Name: "Grace", Note: "I build things"}), f.sign(other, &tx.Apply{Name: "Olaf"}))
	if !f.account(guest).Applying() || f.org().Applicants != 2 {
		t.Fatalf("application not recorded: %+v %+v", f.account(guest), f.org())
	}
	f.mustReject(f.sign(guest, &tx.Apply{Name: "Grace"}), CodeNotPermitted, "pending already")
	res := f.block(
		f.sign(sup, &tx.Decide{Applicant: guest.Public().ID(), Accept: true}),
		f.sign(sup, &tx.Decide{Applicant: other.Public().ID(), Accept: false}),
	)
	for i, r := range res.Txs {
		if r.Code != CodeOK {
			t.Fatalf("decision %d: %+v", i, r)
		}
	}
	if g := f.account(guest); g.Role != state.Member || g.Applying() || g.Name != "Grace" {
		t.Fatalf("accepted applicant %+v", g)
	}
	if o := f.account(other); o.Role != state.Guest || o.Applying() {
		t.Fatalf("refused applicant %+v", o)
	}
	if o := f.org(); o.Members != 3 || o.Applicants != 0 {
		t.Fatalf("organization %+v", o)
	}
	f.block(f.sign(guest, &tx.Leave{}))
	if f.account(guest).Role != state.Guest || f.org().Members != 2 {
		t.Fatalf("leave: %+v %+v", f.account(guest), f.org())
	}
}

func TestVotePolicyRefusesSupervisorDecisions(t *testing.T) {
	f := newFixture(t, "vote", 2, 10)
	g := key(t, 60)
	f.block(f.sign(g, &tx.Apply{Name: "Gus"}))
	f.mustReject(f.sign(f.keys[0], &tx.Decide{Applicant: g.Public().ID(), Accept: true}), CodeNotPermitted, "vote of the members")
}

func TestBadSignatureInBlock(t *testing.T) {
	f := newFixture(t, "supervisor", 3, 100)
	good := f.transfer(f.keys[1], f.keys[2], 1)
	bad := bytes.Clone(f.transfer(f.keys[2], f.keys[1], 1))
	bad[len(bad)-1] ^= 1
	res := f.block(bad, good, []byte{1, 2, 3})
	if res.Txs[0].Code != CodeBadSignature || res.Txs[1].Code != CodeOK || res.Txs[2].Code != CodeMalformed {
		t.Fatalf("results %+v", res.Txs)
	}
	if f.balance(f.keys[2]) != 101 {
		t.Fatalf("balance %d", f.balance(f.keys[2]))
	}
	// The failure is recorded by hash, the success is not.
	if r, err := f.app.TxResult(sha256.Sum256(bad)); err != nil || r.Code != CodeBadSignature || r.Log == "" {
		t.Fatalf("recorded result of the bad one: %+v %v", r, err)
	}
	if r, err := f.app.TxResult(sha256.Sum256(good)); err != nil || r.Code != CodeOK {
		t.Fatalf("recorded result of the good one: %+v %v", r, err)
	}
}

func TestGenesisValidation(t *testing.T) {
	k := key(t, 1)
	cases := map[string]string{
		"no section":    ``,
		"no supervisor": fmt.Sprintf(`{"organization":"o","policy":"supervisor","accounts":[{"key":%q,"role":"member","name":"a"}]}`, k.Public()),
		"bad policy":    fmt.Sprintf(`{"organization":"o","policy":"anarchy","accounts":[{"key":%q,"role":"supervisor","name":"a"}]}`, k.Public()),
		"twice":         fmt.Sprintf(`{"organization":"o","policy":"vote","accounts":[{"key":%q,"role":"supervisor","name":"a"},{"key":%q,"balance":1}]}`, k.Public(), k.Public()),
		"overflow":      fmt.Sprintf(`{"organization":"o","policy":"vote","accounts":[{"key":%q,"role":"supervisor","name":"a","balance":18446744073709551615},{"key":%q,"balance":1}]}`, k.Public(), key(t, 2).Public()),
		"no name":       fmt.Sprintf(`{"organization":"o","policy":"vote","accounts":[{"key":%q,"role":"supervisor"}]}`, k.Public()),
		"no org":        fmt.Sprintf(`{"policy":"vote","accounts":[{"key":%q,"role":"supervisor","name":"a"}]}`, k.Public()),
	}
	for name, raw := range cases {
		if _, err := ParseGenesis(json.RawMessage(raw)); !errors.Is(err, ErrBadGenesis) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestRandomBlocks applies random blocks of transfers (some failing) and
// membership changes, and checks after every block that the balances match
// a model, that the sum at the root is the sum of the balances, and that
// proofs at every earlier height still verify against that height's root.
func TestRandomBlocks(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			f := newFixture(t, "supervisor", 8, 1_000)
			model := map[crypto.ID]uint64{}
			for _, k := range f.keys {
				model[k.Public().ID()] = 1_000
			}
			var total uint64 = 8 * 1_000
			keys := append([]*crypto.PrivateKey(nil), f.keys...)
			for i := 0; i < 6; i++ {
				keys = append(keys, key(t, 200+i)) // accounts that start empty
			}
			roots := map[uint64][32]byte{}
			for h := 1; h <= 30; h++ {
				var txs [][]byte
				for j := rng.IntN(40); j > 0; j-- {
					from, to := keys[rng.IntN(len(keys))], keys[rng.IntN(len(keys))]
					if from == to {
						continue
					}
					txs = append(txs, f.transfer(from, to, 1+uint64(rng.IntN(400))))
				}
				res := f.block(txs...)
				// Replay the successes on the model; failures must be for
				// a reason the model agrees with.
				for i, r := range res.Txs {
					x, _ := tx.Unmarshal(txs[i])
					tr := x.Body.(*tx.Transfer)
					fromID, toID := x.Sender.ID(), tr.To.ID()
					switch r.Code {
					case CodeOK:
						if model[fromID] < tr.Amount {
							t.Fatalf("height %d: transfer of %d from a balance of %d succeeded", h, tr.Amount, model[fromID])
						}
						model[fromID] -= tr.Amount
						model[toID] += tr.Amount
					case CodeFunds:
						if model[fromID] >= tr.Amount {
							t.Fatalf("height %d: transfer of %d from %d refused", h, tr.Amount, model[fromID])
						}
						f.free[x.Sender] = append(f.free[x.Sender], x.Nonce) // unused: free again
					default:
						t.Fatalf("height %d: %+v", h, r)
					}
				}
				var sum uint64
				for id, bal := range model {
					sum += bal
					_, got, err := f.app.Account(f.app.Height(), id)
					if err != nil && !(errors.Is(err, app.ErrNotFound) && bal == 0) {
						t.Fatal(err)
					}
					if got != bal {
						t.Fatalf("height %d: %s has %d, model %d", h, id, got, bal)
					}
				}
				supply, _ := f.app.Supply(f.app.Height())
				if sum != total || supply != total {
					t.Fatalf("height %d: model sum %d, root sum %d, want %d", h, sum, supply, total)
				}
				_, roots[uint64(h)], _ = f.app.Info()
				if res.StateRoot != roots[uint64(h)] {
					t.Fatal("result root differs from Info")
				}
			}
			// Old heights: each account proves against its height's root.
			for h := uint64(1); h <= 30; h += 7 {
				for _, k := range keys {
					l, err := f.app.Prove(h, k.Public().ID())
					if err != nil {
						t.Fatal(err)
					}
					if l.Root != roots[h] {
						t.Fatalf("height %d: proof root differs", h)
					}
					if l.Found {
						err = l.Proof.VerifyInclusion(roots[h], l.Key, l.Value, l.Sum)
					} else {
						err = l.Proof.VerifyExclusion(roots[h], l.Key)
					}
					if err != nil {
						t.Fatalf("height %d: %v", h, err)
					}
				}
			}
			// Reopening resumes at the same height and root.
			height, root, _ := f.app.Info()
			f.open()
			if h2, r2, _ := f.app.Info(); h2 != height || r2 != root {
				t.Fatalf("reopened at %d %x, was %d %x", h2, r2, height, root)
			}
		})
	}
}

// TestCrashResumes cuts the power after each block: the application comes
// back at a height whose state was fully written.
func TestCrashResumes(t *testing.T) {
	f := newFixture(t, "supervisor", 3, 100)
	for i := 0; i < 5; i++ {
		f.block(f.transfer(f.keys[1], f.keys[2], 1))
		_, root, _ := f.app.Info()
		f.kv = f.kv.Crash()
		f.open()
		h, r, err := f.app.Info()
		if err != nil || h != f.height || r != root {
			t.Fatalf("after crash at %d: %d %x %v", f.height, h, r, err)
		}
	}
	if f.balance(f.keys[2]) != 105 {
		t.Fatalf("balance %d", f.balance(f.keys[2]))
	}
}

// TestVerifiedAtSubmission: a transaction checked at submission is
// remembered as verified and applies alike; one never checked is verified
// in its block (a bad signature is still caught).
func TestVerifiedAtSubmission(t *testing.T) {
	f := newFixture(t, "supervisor", 3, 100)
	checked := f.transfer(f.keys[1], f.keys[2], 3)
	if err := f.app.CheckTx(checked); err != nil {
		t.Fatal(err)
	}
	if !f.app.verified.has(sha256.Sum256(checked)) {
		t.Fatal("a checked transaction is not remembered as verified")
	}
	bad := bytes.Clone(f.transfer(f.keys[2], f.keys[1], 1))
	bad[len(bad)-1] ^= 1
	if err := f.app.CheckTx(bad); err == nil || f.app.verified.has(sha256.Sum256(bad)) {
		t.Fatal("a bad signature passed or was remembered")
	}
	res := f.block(checked, bad)
	if res.Txs[0].Code != CodeOK || res.Txs[1].Code != CodeBadSignature {
		t.Fatalf("results %+v", res.Txs)
	}
	// The set is bounded: the oldest are forgotten.
	var v verifiedSet
	for i := 0; i < verifiedCap+5; i++ {
		v.add([32]byte{byte(i), byte(i >> 8), byte(i >> 16)})
	}
	if v.has([32]byte{0, 0, 0}) || !v.has([32]byte{5, 0, 0}) || len(v.in) != verifiedCap {
		t.Fatalf("bounded set: %d kept", len(v.in))
	}
}

// TestCheckTxsAnswersAsCheckTx: a batch of good, badly signed, foreign,
// malformed and invalid transactions, large enough to be verified on
// several cores, gets for each the answer CheckTx gives alone.
func TestCheckTxsAnswersAsCheckTx(t *testing.T) {
	f := newFixture(t, "supervisor", 3, 1_000_000)
	a, b := f.keys[1], f.keys[2]
	var raws [][]byte
	for i := range 300 {
		raw := f.transfer(a, b, 1)
		switch i % 7 {
		case 1:
			raw[len(raw)-1] ^= 1 // the last signature spoiled
		case 2:
			other := tx.New(a.Public(), f.nonces[a.Public()]+uint64(i), &tx.Leave{})
			_ = other.Sign("other-chain", a)
			raw = other.Marshal()
		case 3:
			raw = []byte("garbage")
		case 4:
			raw = f.transfer(a, b, 2_000_000) // more than the balance
		}
		raws = append(raws, raw)
	}
	got := f.app.CheckTxs(raws)
	bad := 0
	for i, raw := range raws {
		want := f.app.CheckTx(raw)
		if fmt.Sprint(got[i]) != fmt.Sprint(want) {
			t.Fatalf("transaction %d: CheckTxs says %v, CheckTx %v", i, got[i], want)
		}
		if want != nil {
			bad++
		}
	}
	if bad < 4*300/7 {
		t.Fatalf("only %d of 300 refused: the batch does not hold what the test meant", bad)
	}
}
