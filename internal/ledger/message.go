package ledger

import (
	"errors"
	"fmt"

	"github.com/mass-consensus/mass/internal/chain"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/protocol"
	"github.com/mass-consensus/mass/internal/protocol/epoch"
	"github.com/mass-consensus/mass/internal/wire"
)

// The kinds of messages between nodes.
const (
	kindConsensus    = 1 // a bundle of epoch messages
	kindVote         = 2 // a vote for a block header
	kindStatus       = 3 // the sender's certified height
	kindSyncRequest  = 4 // certified blocks from a height
	kindSyncResponse = 5 // certified blocks
	kindForward      = 6 // transactions a node that left the set hands on
)

// Limits of node messages.
const (
	maxForwardTxs   = 4096
	maxForwardBytes = 8 << 20
	maxSyncBlocks   = 64
	maxSyncBytes    = 32 << 20
)

// ErrBadMessage is wrapped by every node message decoding error.
var ErrBadMessage = errors.New("ledger: bad message")

type voteMsg struct {
	Height uint64
	Vote   chain.Vote
}

type syncRequest struct {
	From  uint64
	Count uint16
}

type certified struct {
	Block *chain.Block
	Cert  *chain.Certificate
}

func encodeConsensus(bundle []byte) []byte {
	return append([]byte{kindConsensus}, bundle...)
}

func encodeVote(v voteMsg) []byte {
	w := wire.NewWriter(80)
	w.U8(kindVote)
	w.U64(v.Height)
	w.U16(v.Vote.Signer)
	w.Raw(v.Vote.Sig[:])
	return w.Finish()
}

func decodeVote(r *wire.Reader) (voteMsg, error) {
	var v voteMsg
	v.Height = r.U64("vote height")
	v.Vote.Signer = r.U16("vote signer")
	copy(v.Vote.Sig[:], r.Raw(crypto.SignatureSize, "vote signature"))
	return v, r.Done()
}

func encodeStatus(height uint64) []byte {
	w := wire.NewWriter(9)
	w.U8(kindStatus)
	w.U64(height)
	return w.Finish()
}

func decodeStatus(r *wire.Reader) (uint64, error) {
	h := r.U64("status height")
	return h, r.Done()
}

func encodeSyncRequest(q syncRequest) []byte {
	w := wire.NewWriter(11)
	w.U8(kindSyncRequest)
	w.U64(q.From)
	w.U16(q.Count)
	return w.Finish()
}

func decodeSyncRequest(r *wire.Reader) (syncRequest, error) {
	q := syncRequest{From: r.U64("sync from"), Count: r.U16("sync count")}
	return q, r.Done()
}

func encodeSyncResponse(blocks []certified) []byte {
	w := wire.NewWriter(1024)
	w.U8(kindSyncResponse)
	w.U32(uint32(len(blocks)))
	for _, c := range blocks {
		w.Bytes(c.Block.Marshal())
		w.Bytes(c.Cert.Marshal())
	}
	return w.Finish()
}

func decodeSyncResponse(r *wire.Reader) ([]certified, error) {
	n := r.Count(maxSyncBlocks, "sync blocks")
	var out []certified
	for i := 0; i < n && r.Err() == nil; i++ {
		rawBlock := r.Bytes(chain.MaxBlock, "sync block")
		rawCert := r.Bytes(chain.MaxCertificate, "sync certificate")
		if r.Err() != nil {
			break
		}
		b, err := chain.UnmarshalBlock(rawBlock)
		if err != nil {
			return nil, err
		}
		c, err := chain.UnmarshalCertificate(rawCert)
		if err != nil {
			return nil, err
		}
		out = append(out, certified{Block: b, Cert: c})
	}
	if err := r.Done(); err != nil {
		return nil, err
	}
	return out, nil
}

func encodeForward(txs [][]byte) []byte {
	w := wire.NewWriter(1024)
	w.U8(kindForward)
	w.U32(uint32(len(txs)))
	for _, tx := range txs {
		w.Bytes(tx)
	}
	return w.Finish()
}

func decodeForward(r *wire.Reader) ([][]byte, error) {
	n := r.Count(maxForwardTxs, "forwarded transactions")
	out := make([][]byte, 0, n)
	for i := 0; i < n && r.Err() == nil; i++ {
		out = append(out, r.Bytes(epoch.DefaultMaxTxSize, "forwarded transaction"))
	}
	return out, r.Done()
}

// message is a message from a peer, decoded: kind says which other field
// is set.
type message struct {
	kind    byte
	bundle  []*epoch.Message // kindConsensus
	vote    voteMsg          // kindVote
	height  uint64           // kindStatus
	request syncRequest      // kindSyncRequest
	blocks  []certified      // kindSyncResponse
	txs     [][]byte         // kindForward
}

// decodeMessage decodes a whole message from a peer, for a node set of
// parameters p: this is all the parsing a received message goes through.
// It checks the encoding only (a vote's signature, say, is the caller's to
// check). On error the kind is still set when it was read, so that the
// caller can count the rejection where it belongs.
func decodeMessage(data []byte, p protocol.Params) (message, error) {
	kind, body, err := kindOf(data)
	if err != nil {
		return message{}, err
	}
	m := message{kind: kind}
	switch kind {
	case kindConsensus:
		m.bundle, err = epoch.UnmarshalBundle(body, p, epoch.DefaultMaxProposalSize)
	case kindVote:
		m.vote, err = decodeVote(wire.NewReader(body))
	case kindStatus:
		m.height, err = decodeStatus(wire.NewReader(body))
	case kindSyncRequest:
		m.request, err = decodeSyncRequest(wire.NewReader(body))
	case kindSyncResponse:
		m.blocks, err = decodeSyncResponse(wire.NewReader(body))
	case kindForward:
		m.txs, err = decodeForward(wire.NewReader(body))
	default:
		return m, fmt.Errorf("%w: unknown kind %d", ErrBadMessage, kind)
	}
	if err != nil {
		return m, fmt.Errorf("%w: kind %d: %w", ErrBadMessage, kind, err)
	}
	return m, nil
}

// kindOf splits a message into its kind and body.
func kindOf(data []byte) (byte, []byte, error) {
	if len(data) == 0 {
		return 0, nil, fmt.Errorf("%w: empty", ErrBadMessage)
	}
	return data[0], data[1:], nil
}

// DecodeVote reads a node message that is a block vote: its height and the
// vote (not verified). ok is false for any other message. Tests and the
// simulator use it to watch what nodes sign.
func DecodeVote(data []byte) (height uint64, v chain.Vote, ok bool) {
	kind, body, err := kindOf(data)
	if err != nil || kind != kindVote {
		return 0, chain.Vote{}, false
	}
	m, err := decodeVote(wire.NewReader(body))
	if err != nil {
		return 0, chain.Vote{}, false
	}
	return m.Height, m.Vote, true
}

// DecodeConsensus reads a node message that is a bundle of consensus
// messages, for a node set of n nodes. ok is false for any other message.
// The simulator uses it to watch what nodes propose.
func DecodeConsensus(data []byte, n int) (msgs []*epoch.Message, ok bool) {
	kind, body, err := kindOf(data)
	if err != nil || kind != kindConsensus {
		return nil, false
	}
	p, err := protocol.NewParams(n)
	if err != nil {
		return nil, false
	}
	msgs, err = epoch.UnmarshalBundle(body, p, epoch.DefaultMaxProposalSize)
	return msgs, err == nil
}

// Kinds of node messages a test or a simulated adversary may need to tell.
const (
	KindStatus       = kindStatus
	KindSyncResponse = kindSyncResponse
)

// MessageKind returns the kind of a node message (0 for an empty one).
func MessageKind(data []byte) byte {
	if len(data) == 0 {
		return 0
	}
	return data[0]
}

// EncodeStatus is the status message that claims a certified height (a
// simulated liar claims one it does not have).
func EncodeStatus(height uint64) []byte { return encodeStatus(height) }
