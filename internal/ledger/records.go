package ledger

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/mass-consensus/mass/internal/chain"
	"github.com/mass-consensus/mass/internal/protocol"
	"github.com/mass-consensus/mass/internal/protocol/epoch"
	"github.com/mass-consensus/mass/internal/store"
)

// Prefixes of the ledger's keys in the node's store: its own records, and
// the certified chain (package chain's layout).
const (
	RecordPrefix = "node/"
	ChainPrefix  = "chain/"
)

// Kinds of the ledger's records (after RecordPrefix).
const (
	recSeed = 's' // the coin seed
	recHead = 'h' // the height of the last block applied and recorded
	recTx   = 't' // + tx hash: the height the transaction was committed at
	recEra  = 'e' // + start epoch: an era learned from a block
)

// Kinds of log records (the first byte of LogRecord.Data).
const (
	logProposal = 1 // the node's own proposal
	logMessage  = 2 // one epoch message from a peer
	logBundle   = 3 // the epoch messages of one peer, handled together
	logOwn      = 4 // a block this node applied and signed (until certified)
	logPending  = 5 // a transaction accepted and not yet committed
)

// LogRecord is one entry of the epoch log: what the ledger handled in an
// epoch (its own proposal, or peers' messages), which it replays after a
// restart to send exactly what it sent before. Data is a kind byte, the
// sender's index (two bytes, big-endian) and the payload.
type LogRecord struct {
	Epoch uint64
	Data  []byte
}

func logRecord(ep uint64, kind byte, from protocol.NodeID, payload []byte) LogRecord {
	data := make([]byte, 3+len(payload))
	data[0], data[1], data[2] = kind, byte(from>>8), byte(from)
	copy(data[3:], payload)
	return LogRecord{Epoch: ep, Data: data}
}

func key(rec byte, parts ...[]byte) []byte {
	k := append([]byte(RecordPrefix), rec)
	for _, p := range parts {
		k = append(k, p...)
	}
	return k
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// records reads the ledger's records from the store, and stages its writes
// in the batch of the Ready being built.
type records struct {
	kv    store.KV
	batch *store.Batch
}

// coinSeed returns the stored coin seed, or stages fresh (a seed the driver
// drew) to be stored with the first Ready.
func (r records) coinSeed(fresh [32]byte) ([32]byte, error) {
	var seed [32]byte
	v, err := r.kv.Get(key(recSeed))
	switch {
	case err == nil && len(v) == 32:
		copy(seed[:], v)
		return seed, nil
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return seed, fmt.Errorf("ledger: reading the coin seed: %w", err)
	case err == nil:
		return seed, fmt.Errorf("ledger: malformed coin seed of %d bytes", len(v))
	}
	if fresh == ([32]byte{}) {
		return seed, errors.New("ledger: no coin seed stored and none given")
	}
	r.batch.Put(key(recSeed), fresh[:])
	return fresh, nil
}

func (r records) committed(h epoch.TxHash, height uint64) { r.batch.Put(key(recTx, h[:]), u64(height)) }

// head records the height of the block just applied: the store's sync
// then also makes the application's deferred writes of it durable.
func (r records) head(height uint64) { r.batch.Put(key(recHead), u64(height)) }

// certified stages a certified block into the chain.
func (r records) certified(b *chain.Block, c *chain.Certificate) error {
	return chain.Stage(r.batch, ChainPrefix, b, c)
}

// TxHeight reads, from a node's store, the height a transaction was
// committed at, if it was.
func TxHeight(kv store.KV, h epoch.TxHash) (height uint64, committed bool, err error) {
	v, err := kv.Get(key(recTx, h[:]))
	switch {
	case err == nil && len(v) == 8:
		return binary.BigEndian.Uint64(v), true, nil
	case err == nil:
		return 0, false, fmt.Errorf("ledger: malformed tx index record of %d bytes", len(v))
	case errors.Is(err, store.ErrNotFound):
		return 0, false, nil
	}
	return 0, false, fmt.Errorf("ledger: reading the tx index: %w", err)
}

// sampleSeed derives the seed of the proposal sampling of an era from the
// driver's entropy: distinct per era, so a restarted node samples afresh.
func sampleSeed(entropy [32]byte, era int) [32]byte {
	return sha256.Sum256(append(entropy[:], byte(era>>8), byte(era)))
}
