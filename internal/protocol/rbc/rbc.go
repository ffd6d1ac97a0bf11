// Package rbc is erasure-coded reliable broadcast (AVID, as used by
// HoneyBadgerBFT): one proposer disseminates a value so that either every
// honest node delivers the same value, or none does, while each node uploads
// only about N/(N−2F) times the value instead of N times.
//
// # Encoding
//
// With n = N nodes, f = F of them faulty, and k = n − 2f, the proposer writes
// the value as a uint32 big-endian length followed by the value, zero-padded
// to k·S bytes with S = max(1, ceil((4+len)/k)) (rounded up to a multiple of
// 64 when n > 256, where the code works over GF(2^16)). It cuts this into k
// data shards of S bytes and adds n − k Reed–Solomon parity shards, so that
// any k shards rebuild the value. It commits to the n shards with a Merkle
// tree: leaf i is SHA-256(0x00 ‖ uint16 i ‖ shard_i), an inner node is
// SHA-256(0x01 ‖ left ‖ right), and the leaf layer is padded to a power of
// two with SHA-256(0x02). A branch is the list of sibling hashes from a leaf
// up to the root.
//
// # Protocol
//
//   - VAL(root, i, shard_i, branch_i): the proposer sends node i its shard.
//   - ECHO(root, j, shard_j, branch_j): on the first valid VAL, node j sends
//     its shard to all.
//   - READY(root): a node sends READY once, either when it holds n − f ECHOs
//     for root and has checked that they rebuild a value whose honest
//     encoding commits to root, or when it holds f + 1 READYs for root (at
//     least one of them from an honest node).
//   - A node delivers when it holds 2f + 1 READYs and k ECHOs for a root: it
//     rebuilds the value from k shards and checks the encoding (the result of
//     the check is kept per root, so a root checked before READY is not
//     checked twice).
//
// Every message is checked against the root by its Merkle branch; a node
// keeps at most one VAL, one ECHO and one READY per sender, so its memory is
// bounded by n shards of at most ceil((MaxValueSize+4)/k) bytes.
//
// # Why two honest nodes never deliver different values
//
// Honest READYs all name one root. The first honest READY for any root
// follows n − f ECHOs for it; two roots with n − f ECHOs each would share
// n − 2f ≥ f + 1 senders, one of them honest, but an honest node echoes only
// once. Every later honest READY follows f + 1 READYs, hence one honest READY,
// so by induction it names the same root. A delivery needs 2f + 1 ≥ f + 1
// READYs, so every honest delivery is for that one root.
//
// One root yields one value. Before an honest node sends READY from ECHOs,
// and before it delivers (if it has not checked that root yet), it rebuilds a
// value v from k shards proven under the root and re-encodes v: the root must
// come out equal, which (barring a
// SHA-256 collision) means the n committed shards are exactly the honest
// encoding of v. Then any k committed shards rebuild the same v, because the
// Reed–Solomon code is MDS. If the committed shards are not an honest
// encoding, no choice of k shards passes the check, so every honest node
// rejects the root alike (a Fault for the proposer), and no honest node
// sends READY for it.
//
// Totality: if an honest node delivers, f + 1 honest nodes sent READY, so
// every honest node gets f + 1 READYs and sends READY, giving n − f ≥ 2f + 1;
// the first honest READY followed n − f ECHOs, at least k of them from honest
// nodes, which echo to all, so every honest node gets k shards.
//
// The package is pure: no goroutines, clocks, I/O or randomness.
package rbc

import (
	"bytes"
	"fmt"

	"github.com/klauspost/reedsolomon"

	"github.com/mass-consensus/mass/internal/protocol"
)

// DefaultMaxValueSize bounds a value when Config.MaxValueSize is 0.
const DefaultMaxValueSize = 8 << 20

// Faults a broadcast reports.
const (
	// FaultValNotFromProposer: a VAL from a node other than the proposer.
	FaultValNotFromProposer protocol.FaultKind = "rbc: VAL not from the proposer"
	// FaultWrongIndex: a VAL whose index is not the recipient's, or an ECHO
	// whose index is not the sender's.
	FaultWrongIndex protocol.FaultKind = "rbc: wrong shard index"
	// FaultBadBranch: a Merkle branch that does not prove the shard under the
	// root, or has the wrong length.
	FaultBadBranch protocol.FaultKind = "rbc: invalid Merkle branch"
	// FaultDuplicate: a second VAL, ECHO or READY from a sender that differs
	// from its first.
	FaultDuplicate protocol.FaultKind = "rbc: conflicting duplicate message"
	// FaultInconsistentEncoding: the proposer committed to shards that are
	// not the honest encoding of any value.
	FaultInconsistentEncoding protocol.FaultKind = "rbc: shards are not an encoding of a value"
	// FaultMalformed: a nil message, an unknown kind, a shard over the size
	// limit, or a READY carrying shard fields.
	FaultMalformed protocol.FaultKind = "rbc: malformed message"
)

// Config configures one broadcast instance.
type Config struct {
	Params       protocol.Params
	Self         protocol.NodeID
	Proposer     protocol.NodeID
	MaxValueSize int // bytes; 0 means DefaultMaxValueSize (8 MiB)
}

// Step is what one call into a Broadcast produces.
type Step = protocol.Step[*Message, []byte]

var _ protocol.Protocol[[]byte, *Message, []byte] = (*Broadcast)(nil)

// Broadcast is one node's instance of a reliable broadcast from one
// proposer.
type Broadcast struct {
	p        protocol.Params
	self     protocol.NodeID
	proposer protocol.NodeID
	maxValue int
	maxShard int
	depth    int
	enc      reedsolomon.Encoder // nil when there are no parity shards

	inputDone bool
	val       *Message   // first valid VAL from the proposer
	echoes    []*Message // first valid ECHO per sender
	readies   []*[32]byte
	echoCount map[[32]byte]int
	readyCnt  map[[32]byte]int
	readySent bool
	bad       map[[32]byte]bool   // roots found not to be an honest encoding
	checked   map[[32]byte][]byte // roots found to be one, and their value
	delivered bool
}

// New validates cfg and returns a fresh instance.
func New(cfg Config) (*Broadcast, error) {
	if err := checkParams(cfg.Params); err != nil {
		return nil, err
	}
	if !cfg.Params.Valid(cfg.Self) || !cfg.Params.Valid(cfg.Proposer) {
		return nil, fmt.Errorf("%w: Self %d, Proposer %d with %d nodes", ErrInvalidConfig, cfg.Self, cfg.Proposer, cfg.Params.N)
	}
	maxValue, err := resolveMaxValueSize(cfg.MaxValueSize)
	if err != nil {
		return nil, err
	}
	enc, err := newCodec(cfg.Params)
	if err != nil {
		return nil, err
	}
	n := cfg.Params.N
	return &Broadcast{
		p:         cfg.Params,
		self:      cfg.Self,
		proposer:  cfg.Proposer,
		maxValue:  maxValue,
		maxShard:  shardSize(cfg.Params, maxValue),
		depth:     treeDepth(n),
		enc:       enc,
		echoes:    make([]*Message, n),
		readies:   make([]*[32]byte, n),
		echoCount: make(map[[32]byte]int),
		readyCnt:  make(map[[32]byte]int),
		bad:       make(map[[32]byte]bool),
		checked:   make(map[[32]byte][]byte),
	}, nil
}

// Terminated reports whether the value has been delivered.
func (b *Broadcast) Terminated() bool { return b.delivered }

// HandleInput gives the proposer its value: it sends every other node its
// VAL and handles its own at once. It fails, changing nothing, at a node
// other than the proposer, on a second input, or for a value over the
// configured maximum.
func (b *Broadcast) HandleInput(value []byte) (Step, error) {
	var s Step
	switch {
	case b.self != b.proposer:
		return s, fmt.Errorf("%w: node %d, proposer %d", ErrNotProposer, b.self, b.proposer)
	case b.inputDone:
		return s, ErrInputTwice
	case len(value) > b.maxValue:
		return s, fmt.Errorf("%w: %d bytes, limit %d", ErrValueTooLarge, len(value), b.maxValue)
	}
	c, err := encode(b.p, b.enc, value)
	if err != nil {
		return s, err
	}
	b.inputDone = true
	for i := range b.p.N {
		if protocol.NodeID(i) != b.self {
			s.Send(protocol.NodeID(i), c.Message(KindVal, i))
		}
	}
	s.Merge(b.HandleMessage(b.self, c.Message(KindVal, int(b.self))))
	return s, nil
}

// HandleMessage handles a message from node from. A misbehaving sender is
// reported as a Fault and changes nothing. After delivery every message is
// ignored.
func (b *Broadcast) HandleMessage(from protocol.NodeID, msg *Message) Step {
	var s Step
	if b.delivered || !b.p.Valid(from) {
		return s
	}
	if msg == nil {
		s.Fault(from, FaultMalformed)
		return s
	}
	switch msg.Kind {
	case KindVal:
		b.handleVal(&s, from, msg)
	case KindEcho:
		b.handleEcho(&s, from, msg)
	case KindReady:
		if msg.Index != 0 || len(msg.Shard) != 0 || len(msg.Branch) != 0 {
			s.Fault(from, FaultMalformed)
			return s
		}
		b.handleReady(&s, from, msg.Root)
	default:
		s.Fault(from, FaultMalformed)
	}
	return s
}

// checkShard checks a VAL's or ECHO's shard against its root, for the shard
// index want; it returns the fault, or "" if the shard is proven.
func (b *Broadcast) checkShard(msg *Message, want protocol.NodeID) protocol.FaultKind {
	switch {
	case msg.Index != uint16(want):
		return FaultWrongIndex
	case len(msg.Shard) > b.maxShard:
		return FaultMalformed
	case len(msg.Branch) != b.depth || !verifyBranch(msg.Root, b.p.N, int(msg.Index), msg.Shard, msg.Branch):
		return FaultBadBranch
	}
	return ""
}

func (b *Broadcast) handleVal(s *Step, from protocol.NodeID, msg *Message) {
	if from != b.proposer {
		s.Fault(from, FaultValNotFromProposer)
		return
	}
	if b.val != nil {
		if !sameShardMessage(b.val, msg) {
			s.Fault(from, FaultDuplicate)
		}
		return
	}
	if fault := b.checkShard(msg, b.self); fault != "" {
		s.Fault(from, fault)
		return
	}
	b.val = msg
	echo := &Message{Kind: KindEcho, Root: msg.Root, Index: msg.Index, Shard: msg.Shard, Branch: msg.Branch}
	s.Broadcast(echo)
	b.handleEcho(s, b.self, echo)
}

func (b *Broadcast) handleEcho(s *Step, from protocol.NodeID, msg *Message) {
	if prev := b.echoes[from]; prev != nil {
		if !sameShardMessage(prev, msg) {
			s.Fault(from, FaultDuplicate)
		}
		return
	}
	if fault := b.checkShard(msg, from); fault != "" {
		s.Fault(from, fault)
		return
	}
	b.echoes[from] = msg
	root := msg.Root
	b.echoCount[root]++
	if !b.readySent && b.echoCount[root] >= b.p.N-b.p.F {
		if _, ok := b.check(s, root); ok {
			b.sendReady(s, root)
		}
	}
	b.tryDeliver(s, root)
}

func (b *Broadcast) handleReady(s *Step, from protocol.NodeID, root [32]byte) {
	if prev := b.readies[from]; prev != nil {
		if *prev != root {
			s.Fault(from, FaultDuplicate)
		}
		return
	}
	b.readies[from] = &root
	b.readyCnt[root]++
	if !b.readySent && b.readyCnt[root] >= b.p.F+1 && !b.bad[root] {
		b.sendReady(s, root)
	}
	b.tryDeliver(s, root)
}

// sendReady sends READY(root) to all and handles it locally.
func (b *Broadcast) sendReady(s *Step, root [32]byte) {
	b.readySent = true
	s.Broadcast(&Message{Kind: KindReady, Root: root})
	b.handleReady(s, b.self, root)
}

// tryDeliver delivers the value of root once 2f+1 READYs and k ECHOs for it
// are held.
func (b *Broadcast) tryDeliver(s *Step, root [32]byte) {
	if b.delivered || b.readyCnt[root] < 2*b.p.F+1 || b.echoCount[root] < dataShards(b.p) {
		return
	}
	value, ok := b.check(s, root)
	if !ok {
		return
	}
	b.delivered = true
	s.Emit(value)
	// Nothing more will be handled: drop the shards.
	b.val, b.echoes, b.readies = nil, nil, nil
	b.echoCount, b.readyCnt, b.bad, b.checked = nil, nil, nil, nil
}

// check rebuilds the value of root from the ECHO shards held for it and
// checks that its honest encoding commits to root; on failure it faults the
// proposer and marks the root bad. The result depends on the root only, not
// on which shards are held, so it is computed once per root. Only a root
// with at least k ECHOs is checked, and a sender echoes one root, so at most
// n/k ≤ 3 roots are ever checked.
func (b *Broadcast) check(s *Step, root [32]byte) ([]byte, bool) {
	if b.bad[root] {
		return nil, false
	}
	if v, ok := b.checked[root]; ok {
		return v, true
	}
	shards := make([][]byte, b.p.N)
	for i, e := range b.echoes {
		if e != nil && e.Root == root {
			shards[i] = e.Shard
		}
	}
	v, ok := decode(b.p, b.enc, b.maxValue, root, shards)
	if !ok {
		b.bad[root] = true
		s.Fault(b.proposer, FaultInconsistentEncoding)
		return nil, false
	}
	b.checked[root] = v
	return v, true
}

// sameShardMessage reports whether two VALs or ECHOs are identical.
func sameShardMessage(a, b *Message) bool {
	if a.Kind != b.Kind || a.Root != b.Root || a.Index != b.Index || !bytes.Equal(a.Shard, b.Shard) || len(a.Branch) != len(b.Branch) {
		return false
	}
	for i := range a.Branch {
		if a.Branch[i] != b.Branch[i] {
			return false
		}
	}
	return true
}
