package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/crypto/dkg"
	"github.com/mass-consensus/mass/internal/protocol/coin"
	"github.com/mass-consensus/mass/internal/protocol/epoch"
	"github.com/mass-consensus/mass/internal/wire"
)

// The threshold keys of an era, generated through the log (issue #15).
//
// A node of an era's set posts its key generation part as a key
// transaction when it enters the era; every node of the set applies the key
// transactions of each block, in block order, to the era's key generation
// (package crypto/dkg), and posts an ack for each part whose row to it is
// valid. After the first block at which N−F parts are complete, every node
// derives the same public key and its own secret share; the threshold coin
// runs from epoch h + horizon, h being that block: no engine can have
// touched that epoch before applying block h (limitEngine), so every node
// switches at the same epoch. Until then, and in an era whose key
// generation never completes, the local coin serves.
//
// Key transactions never reach the application. Their encoding is
// KeyTxMagic, a kind (1 part, 2 ack), the sender's index in the era's set
// (uint16), the payload (uint32 length, bytes), and the sender's ed25519
// signature over everything before it under the domain DomainKeyTx. One
// that does not decode, is not signed by its sender, or that the key
// generation refuses is ignored, at every node alike.

// KeyTxMagic heads every key transaction.
const KeyTxMagic = "mass/keys/v1\x00"

// DomainKeyTx is the signature domain of key transactions.
const DomainKeyTx = "mass/keys/v1"

// KeyTxOverhead is the size of a key transaction beyond its payload.
const KeyTxOverhead = len(KeyTxMagic) + 1 + 2 + 4 + crypto.SignatureSize

// Kinds of key transaction.
const (
	keyPart uint8 = 1
	keyAck  uint8 = 2
)

// maxKeyPayload bounds a key transaction's payload: a part for the largest
// set the transaction size allows.
const maxKeyPayload = epoch.DefaultMaxTxSize

// ErrReserved is returned by Submit for a transaction shaped as a key
// transaction: only nodes make those.
var ErrReserved = errors.New("ledger: key transactions are made by nodes, not submitted")

// IsKeyTx reports whether tx is a key transaction (of any validity).
func IsKeyTx(tx []byte) bool { return bytes.HasPrefix(tx, []byte(KeyTxMagic)) }

type keyTx struct {
	kind    uint8
	sender  uint16
	payload []byte
	sig     crypto.Signature
	signed  []byte // the bytes signed
}

func encodeKeyTx(key *crypto.PrivateKey, kind uint8, sender int, payload []byte) []byte {
	w := wire.NewWriter(len(KeyTxMagic) + 8 + len(payload) + crypto.SignatureSize)
	w.Raw([]byte(KeyTxMagic))
	w.U8(kind)
	w.U16(uint16(sender))
	w.Bytes(payload)
	b := w.Finish()
	sig := key.Sign(DomainKeyTx, b)
	return append(b, sig[:]...)
}

func decodeKeyTx(tx []byte) (keyTx, error) {
	r := wire.NewReader(tx)
	r.Raw(len(KeyTxMagic), "magic")
	k := keyTx{kind: r.U8("kind"), sender: r.U16("sender"), payload: r.Bytes(maxKeyPayload, "payload")}
	body := len(tx) - r.Remaining()
	copy(k.sig[:], r.Raw(crypto.SignatureSize, "signature"))
	if err := r.Done(); err != nil {
		return k, fmt.Errorf("ledger: key transaction: %w", err)
	}
	if k.kind != keyPart && k.kind != keyAck {
		return k, fmt.Errorf("ledger: key transaction of kind %d", k.kind)
	}
	k.signed = tx[:body]
	return k, nil
}

// eraKeys is the key generation of the current era, at a member.
type eraKeys struct {
	era    *era
	cfg    dkg.Config
	kg     *dkg.KeyGen
	height uint64 // the last block whose key transactions were handled
	// After the keys exist: the block they came with, the first epoch of
	// the threshold coin, and the keys.
	readyAt uint64
	from    uint64
	keys    *coin.Keys
	dealers []int  // the parts the keys are made of
	group   string // SHA-256 of the encoded public key, hex
	// What this node posts until it is in a block: its part, and its acks
	// by dealer.
	part     []byte
	acks     map[int][]byte
	partIn   bool
	ackedIn  map[int]bool
	rejected int // key transactions ignored
}

// startKeys starts the key generation of the current era at a member, and
// brings it up to the blocks applied (after a restart, or when entering an
// era). It sets the engine's threshold coin if the keys exist already, and
// posts nothing: after a restart the engine must first replay its log
// (postKeys comes after).
func (l *Ledger) startKeys() error {
	l.keys = nil
	if l.engine == nil {
		return nil
	}
	e := l.eras[l.cur]
	cfg := dkg.Config{N: l.params.N, F: l.params.F, Self: int(l.self), Keys: e.set.Keys, Secret: l.cfg.Key,
		Context: keyContext(e)}
	kg, err := dkg.New(cfg)
	if err != nil {
		return fmt.Errorf("ledger: key generation of the era from epoch %d: %w", e.start, err)
	}
	l.keys = &eraKeys{era: e, cfg: cfg, kg: kg, height: e.start, acks: map[int][]byte{}, ackedIn: map[int]bool{}}
	for h := e.start + 1; h <= l.votes.applied; h++ {
		b, err := l.blockAt(h)
		if err != nil {
			return fmt.Errorf("ledger: reading block %d for the era's keys: %w", h, err)
		}
		if err := l.keyBlock(h, b.Txs); err != nil {
			return err
		}
	}
	return nil
}

// keyContext binds an era's key generation to the era: its first epoch and
// its node set's hash.
func keyContext(e *era) []byte {
	return append(u64(e.start), e.hash[:]...)
}

// keyBlock handles the key transactions of block height, once, until the
// keys exist (later ones change nothing). An error deriving the keys (which
// at most F faulty nodes cannot cause) stops the node: going on with the
// local coin while the others toss the common one would mix the two kinds
// of rounds in one agreement.
func (l *Ledger) keyBlock(height uint64, txs [][]byte) error {
	k := l.keys
	if k == nil || height <= k.height {
		return nil
	}
	k.height = height
	if k.keys != nil {
		return nil
	}
	for _, tx := range txs {
		if IsKeyTx(tx) {
			if err := l.keyTx(tx); err != nil {
				k.rejected++
				l.log.Debug("ignoring a key transaction", "height", height, "err", err)
			}
		}
	}
	if !k.kg.Ready() {
		return nil
	}
	pk, share, err := k.kg.Generate()
	if err != nil {
		return fmt.Errorf("ledger: deriving the era's keys at block %d: %w", height, err)
	}
	k.readyAt, k.from, k.keys = height, height+uint64(l.horizon), &coin.Keys{Public: pk, Share: *share}
	if l.cfg.Knobs.SkewCoinSwitch {
		k.from += uint64(l.self)
	}
	public, err := pk.MarshalBinary()
	if err != nil {
		return fmt.Errorf("ledger: encoding the era's public key: %w", err)
	}
	sum := sha256.Sum256(public)
	k.group = hex.EncodeToString(sum[:])
	for d := range k.cfg.N {
		if k.kg.PartComplete(d) {
			k.dealers = append(k.dealers, d)
		}
	}
	k.part, k.acks = nil, nil
	l.log.Info("threshold keys ready", "block", height, "coin_from_epoch", k.from, "parts", k.kg.Complete())
	if err := l.engine.SetThreshold(k.from, k.keys); err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	return nil
}

// keyTx applies one key transaction to the key generation.
func (l *Ledger) keyTx(tx []byte) error {
	k := l.keys
	t, err := decodeKeyTx(tx)
	if err != nil {
		return err
	}
	if int(t.sender) >= len(k.cfg.Keys) {
		return fmt.Errorf("ledger: key transaction from node %d of %d", t.sender, len(k.cfg.Keys))
	}
	if err := k.cfg.Keys[t.sender].Verify(DomainKeyTx, t.signed, t.sig); err != nil {
		return fmt.Errorf("ledger: key transaction of node %d: %w", t.sender, err)
	}
	sender := int(t.sender)
	if t.kind == keyAck {
		a, err := dkg.UnmarshalAck(k.cfg, t.payload)
		if err != nil {
			return err
		}
		if err := k.kg.HandleAck(sender, a); err != nil {
			return err
		}
		if sender == k.cfg.Self {
			k.ackedIn[a.Dealer()] = true
		}
		return nil
	}
	p, err := dkg.UnmarshalPart(k.cfg, t.payload)
	if err != nil {
		return err
	}
	if p.Dealer() != sender {
		return fmt.Errorf("ledger: node %d posted the part of node %d", sender, p.Dealer())
	}
	ack, err := k.kg.HandlePart(sender, p)
	if err != nil {
		return err
	}
	if sender == k.cfg.Self {
		k.partIn = true
	}
	if ack != nil && k.keys == nil {
		b, err := ack.MarshalBinary()
		if err != nil {
			return fmt.Errorf("ledger: encoding an ack: %w", err)
		}
		k.acks[sender] = encodeKeyTx(l.cfg.Key, keyAck, k.cfg.Self, b)
	}
	return nil
}

// postKeys gives the engine this node's part and acks not yet in a block
// (again after a restart: the part is drawn from the node's secret coin
// seed and the era, so it is the same part).
func (l *Ledger) postKeys() error {
	k := l.keys
	if k == nil || k.keys != nil || l.engine == nil {
		return nil
	}
	if !k.partIn {
		if k.part == nil {
			p, err := dkg.NewPart(k.cfg, l.partRandom(k.era))
			if err != nil {
				return fmt.Errorf("ledger: making this node's key part: %w", err)
			}
			if l.cfg.Knobs.BadKeyPart {
				p = p.WithCorruptRows(func(i int) bool { return i%2 != k.cfg.Self%2 })
			}
			b, err := p.MarshalBinary()
			if err != nil {
				return fmt.Errorf("ledger: encoding this node's key part: %w", err)
			}
			k.part = encodeKeyTx(l.cfg.Key, keyPart, k.cfg.Self, b)
		}
		if err := l.postKeyTx(k.part); err != nil {
			return err
		}
	}
	dealers := make([]int, 0, len(k.acks))
	for d := range k.acks {
		dealers = append(dealers, d)
	}
	slices.Sort(dealers)
	for _, d := range dealers {
		if k.ackedIn[d] {
			delete(k.acks, d)
			continue
		}
		if err := l.postKeyTx(k.acks[d]); err != nil {
			return err
		}
	}
	return nil
}

func (l *Ledger) postKeyTx(tx []byte) error {
	st, err := l.engine.HandleInput(epoch.Input{Tx: tx, Urgent: true})
	if errors.Is(err, epoch.ErrDuplicate) {
		return nil // still pending
	}
	if err != nil {
		l.log.Warn("a key transaction was not taken", "err", err)
		return nil
	}
	return l.handleStep(st)
}

// partRandom is the source of this node's part in an era: its secret coin
// seed and the era's first epoch.
func (l *Ledger) partRandom(e *era) *rand.ChaCha8 {
	h := sha256.New()
	h.Write([]byte("mass/keys/part"))
	h.Write(l.coinSeed[:])
	h.Write(u64(e.start))
	var seed [32]byte
	copy(seed[:], h.Sum(nil))
	return rand.NewChaCha8(seed)
}

// appTxs returns the transactions of a block the application sees: all but
// the key transactions.
func appTxs(txs [][]byte) [][]byte {
	if !slices.ContainsFunc(txs, IsKeyTx) {
		return txs
	}
	out := make([][]byte, 0, len(txs))
	for _, tx := range txs {
		if !IsKeyTx(tx) {
			out = append(out, tx)
		}
	}
	return out
}

// KeyStatus is what the ledger tells of the current era's keys.
type KeyStatus struct {
	Coin     string // "threshold" once the keys exist at a member, else "local"
	Parts    int    // complete parts
	ReadyAt  uint64 // the block the keys came with (0: not yet)
	CoinFrom uint64 // the first epoch of the threshold coin
	GroupKey string // SHA-256 of the era's threshold public key (hex), once it exists
	Dealers  []int  // the nodes whose parts the keys are made of
	Ignored  int    // key transactions ignored
}

// Keys tells where the current era's key generation is.
func (l *Ledger) Keys() KeyStatus {
	k := l.keys
	if k == nil {
		return KeyStatus{Coin: "local"}
	}
	st := KeyStatus{Coin: "local", Parts: k.kg.Complete(), Ignored: k.rejected}
	if k.keys != nil {
		st.ReadyAt, st.CoinFrom, st.Dealers = k.readyAt, k.from, slices.Clone(k.dealers)
		st.GroupKey = k.group
		if l.engine != nil && l.engine.Next() >= k.from {
			st.Coin = "threshold"
		}
	}
	return st
}

// appHashes returns the hashes of a block's application transactions,
// given the hashes of all of them.
func appHashes(txs [][]byte, hashes []epoch.TxHash) []epoch.TxHash {
	if !slices.ContainsFunc(txs, IsKeyTx) {
		return hashes
	}
	out := make([]epoch.TxHash, 0, len(hashes))
	for i, tx := range txs {
		if !IsKeyTx(tx) {
			out = append(out, hashes[i])
		}
	}
	return out
}
