package bench

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"

	"github.com/mass-consensus/mass/internal/app/orgapp"
	"github.com/mass-consensus/mass/internal/app/tx"
	"github.com/mass-consensus/mass/internal/crypto"
)

// generatorBuffer is how many transactions the generator makes ahead of
// the load.
const generatorBuffer = 4096

// payload makes the transactions of a run: make(k) is the k-th one. It is
// safe for concurrent use.
type payload interface {
	make(k uint64, rng *rand.ChaCha8) []byte
	// parallel says whether making a transaction costs enough to spread
	// the generator over every core.
	parallel() bool
}

// rawPayload is size random bytes, the first eight the counter k (so no two
// are alike, whatever the size).
type rawPayload struct{ size int }

func (p rawPayload) make(k uint64, rng *rand.ChaCha8) []byte {
	b := make([]byte, p.size)
	var ctr [8]byte
	binary.LittleEndian.PutUint64(ctr[:], k) // the low bytes first: tiny sizes still differ
	n := copy(b, ctr[:])
	_, _ = rng.Read(b[n:])
	return b
}

func (rawPayload) parallel() bool { return false }

// transferPayload is signed transfers of 1 token between genesis accounts:
// the k-th moves from account k mod A, at nonce k div A (genesis accounts
// start at nonce 0), to another account, signed by both, with a memo that
// brings it to the requested size where it can.
type transferPayload struct {
	chainID string
	keys    []*crypto.PrivateKey
	memo    int
}

// Balance of each benchmark account at genesis.
const accountBalance = 1_000_000_000_000

func accountKey(i int) *crypto.PrivateKey {
	seed := sha256.Sum256(fmt.Appendf(nil, "mass-bench/account/%d", i))
	k, err := crypto.KeyFromSeed(seed[:])
	if err != nil {
		panic(err) // a 32-byte seed always makes a key
	}
	return k
}

func newTransferPayload(chainID string, accounts, size int) *transferPayload {
	p := &transferPayload{chainID: chainID}
	for i := range max(accounts, 2) {
		p.keys = append(p.keys, accountKey(i))
	}
	base := len(p.build(0, nil))
	p.memo = min(max(size-base, 0), tx.MaxMemo)
	return p
}

// genesis is the organization application's genesis section: account 0
// is the supervisor, the others guests, all with large balances.
func (p *transferPayload) genesis() (json.RawMessage, error) {
	g := orgapp.Genesis{Organization: "Benchmark", Policy: "supervisor"}
	for i, k := range p.keys {
		a := orgapp.GenesisAccount{Key: k.Public().String(), Balance: accountBalance}
		if i == 0 {
			a.Name, a.Role = "bench", "supervisor"
		}
		g.Accounts = append(g.Accounts, a)
	}
	return json.Marshal(g)
}

func (p *transferPayload) build(k uint64, memo []byte) []byte {
	a := uint64(len(p.keys))
	from, nonce := k%a, k/a
	to := (from + 1 + nonce%(a-1)) % a
	t := tx.New(p.keys[from].Public(), nonce, &tx.Transfer{To: p.keys[to].Public(), Amount: 1, Memo: memo})
	if err := t.Sign(p.chainID, p.keys[from]); err != nil {
		panic(err) // the signers are the sender then the recipient, by construction
	}
	if err := t.Sign(p.chainID, p.keys[to]); err != nil {
		panic(err)
	}
	return t.Marshal()
}

func (p *transferPayload) make(k uint64, _ *rand.ChaCha8) []byte {
	return p.build(k, make([]byte, p.memo))
}

func (*transferPayload) parallel() bool { return true }
