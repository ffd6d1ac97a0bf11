package node

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/mass-consensus/mass/internal/chain"
	"github.com/mass-consensus/mass/internal/protocol"
	"github.com/mass-consensus/mass/internal/protocol/epoch"
	"github.com/mass-consensus/mass/internal/store"
)

// Keys of the node's own records (under the store's "node/" prefix).
const (
	recSeed    = 's' // the coin seed
	recWAL     = 'w' // + epoch + sequence: a proposal or a handled message
	recPending = 'p' // + tx hash: a transaction accepted but not committed
	recOwn     = 'o' // + height: a block this node applied and signed
	recTx      = 't' // + tx hash: the height the transaction was committed at
)

const (
	walProposal = 1
	walMessage  = 2
	walBundle   = 3 // the encoded messages of one epoch from one peer, handled together
)

// journal collects the writes of one round of the loop; flush makes them
// durable before any message of that round leaves the node.
type journal struct {
	kv    store.KV
	batch store.Batch
	seq   uint64
	// mustSync makes the next flush sync even with nothing to write: an
	// application block write waits for it.
	mustSync bool
	// wal are the sequence numbers of the log records of each open epoch,
	// to delete them one by one when the epoch closes: a range deletion
	// would make every later read of the store slower until compacted.
	wal map[uint64][]uint64
}

func key(rec byte, parts ...[]byte) []byte {
	k := []byte{rec}
	for _, p := range parts {
		k = append(k, p...)
	}
	return k
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// coinSeed returns the node's coin seed, creating it on first use.
func (j *journal) coinSeed() ([32]byte, error) {
	var seed [32]byte
	v, err := j.kv.Get([]byte{recSeed})
	switch {
	case err == nil && len(v) == 32:
		copy(seed[:], v)
		return seed, nil
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return seed, fmt.Errorf("node: reading the coin seed: %w", err)
	case err == nil:
		return seed, fmt.Errorf("node: malformed coin seed of %d bytes", len(v))
	}
	if _, err := rand.Read(seed[:]); err != nil {
		return seed, fmt.Errorf("node: drawing a coin seed: %w", err)
	}
	var b store.Batch
	b.Put([]byte{recSeed}, seed[:])
	if err := j.kv.Apply(&b, true); err != nil {
		return seed, fmt.Errorf("node: storing the coin seed: %w", err)
	}
	return seed, nil
}

func (j *journal) proposal(p *epoch.Proposed) {
	j.log(p.Epoch, append([]byte{walProposal, 0, 0}, p.Value...))
}

func (j *journal) message(ep uint64, from protocol.NodeID, msg []byte) {
	j.log(ep, append([]byte{walMessage, byte(from >> 8), byte(from)}, msg...))
}

func (j *journal) bundle(ep uint64, from protocol.NodeID, bundle []byte) {
	j.log(ep, append([]byte{walBundle, byte(from >> 8), byte(from)}, bundle...))
}

func (j *journal) log(ep uint64, rec []byte) {
	j.seq++
	j.batch.Put(key(recWAL, u64(ep), u64(j.seq)), rec)
	j.track(ep, j.seq)
}

func (j *journal) track(ep, seq uint64) {
	if j.wal == nil {
		j.wal = make(map[uint64][]uint64)
	}
	j.wal[ep] = append(j.wal[ep], seq)
}

// forgetEpochs drops the log of epochs before below.
func (j *journal) forgetEpochs(below uint64) {
	for ep, seqs := range j.wal {
		if ep >= below {
			continue
		}
		for _, seq := range seqs {
			j.batch.Delete(key(recWAL, u64(ep), u64(seq)))
		}
		delete(j.wal, ep)
	}
}

// dropLogBelow deletes whatever log records of epochs before below a crash
// left behind (once, at recovery).
func (j *journal) dropLogBelow(below uint64) {
	j.batch.DeleteRange(key(recWAL), key(recWAL, u64(below)))
}

// walEntry is one logged proposal or message.
type walEntry struct {
	epoch uint64
	kind  byte
	from  protocol.NodeID
	data  []byte
}

// replayLog returns the logged entries of epochs from `from` on, each
// epoch's entries in the order they were logged, and the last sequence
// number used.
func (j *journal) replayLog(from uint64) ([]walEntry, error) {
	var out []walEntry
	var bad error
	err := j.kv.Scan(key(recWAL, u64(from)), store.PrefixEnd([]byte{recWAL}), func(k, v []byte) bool {
		if len(k) != 17 || len(v) < 3 {
			bad = fmt.Errorf("node: malformed log record %x", k)
			return false
		}
		seq := binary.BigEndian.Uint64(k[9:])
		j.seq = max(j.seq, seq)
		ep := binary.BigEndian.Uint64(k[1:9])
		j.track(ep, seq)
		out = append(out, walEntry{epoch: ep, kind: v[0], from: protocol.NodeID(uint16(v[1])<<8 | uint16(v[2])), data: v[3:]})
		return true
	})
	if err == nil {
		err = bad
	}
	return out, err
}

func (j *journal) pending(h epoch.TxHash, tx []byte) { j.batch.Put(key(recPending, h[:]), tx) }

func (j *journal) committed(h epoch.TxHash, height uint64) {
	j.batch.Delete(key(recPending, h[:]))
	j.batch.Put(key(recTx, h[:]), u64(height))
}

func (j *journal) pendingTxs() ([][]byte, error) {
	var out [][]byte
	err := j.kv.Scan([]byte{recPending}, store.PrefixEnd([]byte{recPending}), func(_, v []byte) bool {
		out = append(out, v)
		return true
	})
	return out, err
}

// txHeight returns the height a transaction was committed at.
func (j *journal) txHeight(h epoch.TxHash) (uint64, bool, error) {
	v, err := j.kv.Get(key(recTx, h[:]))
	if errors.Is(err, store.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil || len(v) != 8 {
		return 0, false, fmt.Errorf("node: reading tx index: %w", err)
	}
	return binary.BigEndian.Uint64(v), true, nil
}

func (j *journal) isPending(h epoch.TxHash) (bool, error) {
	return j.kv.Has(key(recPending, h[:]))
}

func (j *journal) own(b *chain.Block) { j.batch.Put(key(recOwn, u64(b.Height)), b.Marshal()) }

func (j *journal) forgetOwn(height uint64) { j.batch.Delete(key(recOwn, u64(height))) }

// ownBlocks returns the blocks this node applied and signed but has no
// certificate for, by height.
func (j *journal) ownBlocks() (map[uint64]*chain.Block, error) {
	out := map[uint64]*chain.Block{}
	var bad error
	err := j.kv.Scan([]byte{recOwn}, store.PrefixEnd([]byte{recOwn}), func(k, v []byte) bool {
		b, err := chain.UnmarshalBlock(v)
		if err != nil {
			bad = fmt.Errorf("node: stored own block %x: %w", k, err)
			return false
		}
		out[b.Height] = b
		return true
	})
	if err == nil {
		err = bad
	}
	return out, err
}

// flush makes the round's writes durable, and with them every earlier
// write to the store (the application's unsynced block writes among them).
func (j *journal) flush() error {
	if j.batch.Len() == 0 && !j.mustSync {
		return nil
	}
	j.mustSync = false
	err := j.kv.Apply(&j.batch, true)
	j.batch.Reset()
	if err != nil {
		return fmt.Errorf("node: writing the journal: %w", err)
	}
	return nil
}
