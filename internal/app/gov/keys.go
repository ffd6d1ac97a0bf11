package gov

import (
	"crypto/sha256"

	"github.com/mass-consensus/mass/internal/app/state"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/wire"
)

// Keys of the singleton records.
var (
	// RegistryKey is the key of the registry: the next proposal ID, the
	// total supply and the domains.
	RegistryKey = state.NamedKey("gov")
	// ExecutorsKey is the key of the executors record.
	ExecutorsKey = state.NamedKey("executors")
)

// key derives the key of a governance record: the first 20 bytes of
// SHA-256("mass/gov/" ‖ tag ‖ 0x00 ‖ fields).
func key(tag string, fields func(w *wire.Writer)) state.Key {
	w := wire.NewWriter(64)
	w.Raw([]byte("mass/gov/" + tag))
	w.U8(0)
	fields(w)
	h := sha256.Sum256(w.Finish())
	return state.Key(h[:20])
}

// DomainKey is the key of a domain: tag "domain", fields name (raw bytes).
func DomainKey(name string) state.Key {
	return key("domain", func(w *wire.Writer) { w.Raw([]byte(name)) })
}

// PageKey is the key of page n of a domain's list of proposals, filed
// under the domain's serial number: tag "page", fields n:u32 ‖ serial:u32.
func PageKey(serial, n uint32) state.Key {
	return key("page", func(w *wire.Writer) { w.U32(n); w.U32(serial) })
}

// ProposalKey is the key of a proposal's record: tag "proposal", id:u64.
func ProposalKey(id uint64) state.Key {
	return key("proposal", func(w *wire.Writer) { w.U64(id) })
}

// TextKey is the key of a proposal's text: tag "text", id:u64.
func TextKey(id uint64) state.Key {
	return key("text", func(w *wire.Writer) { w.U64(id) })
}

// OptionKey is the key of option i of a proposal: tag "option", id:u64 ‖ i:u8.
func OptionKey(id uint64, i uint8) state.Key {
	return key("option", func(w *wire.Writer) { w.U64(id); w.U8(i) })
}

// RosterKey is the key of a proposal's participants: tag "roster", id:u64.
func RosterKey(id uint64) state.Key {
	return key("roster", func(w *wire.Writer) { w.U64(id) })
}

// RoundKey is the key of round r of a proposal: tag "round", id:u64 ‖ r:u8.
func RoundKey(id uint64, r uint8) state.Key {
	return key("round", func(w *wire.Writer) { w.U64(id); w.U8(r) })
}

// MeetingKey is the key of sub-meeting m of round r: tag "meeting",
// id:u64 ‖ r:u8 ‖ m:u16.
func MeetingKey(id uint64, r uint8, m uint16) state.Key {
	return key("meeting", func(w *wire.Writer) { w.U64(id); w.U8(r); w.U16(m) })
}

// BallotKey is the key of a member's ballot in round r: tag "ballot",
// id:u64 ‖ r:u8 ‖ member:[20].
func BallotKey(id uint64, r uint8, member crypto.ID) state.Key {
	return key("ballot", func(w *wire.Writer) { w.U64(id); w.U8(r); w.Raw(member[:]) })
}

// ReviewKey is the key of a member's ballot in the review of freeze f: tag
// "review", id:u64 ‖ f:u8 ‖ member:[20].
func ReviewKey(id uint64, f uint8, member crypto.ID) state.Key {
	return key("review", func(w *wire.Writer) { w.U64(id); w.U8(f); w.Raw(member[:]) })
}

// CommentKey is the key of comment n (from 0) of a proposal: tag
// "comment", id:u64 ‖ n:u32.
func CommentKey(id uint64, n uint32) state.Key {
	return key("comment", func(w *wire.Writer) { w.U64(id); w.U32(n) })
}

// ChallengeKey is the key of the open challenge of a member: tag
// "challenge", member:[20].
func ChallengeKey(member crypto.ID) state.Key {
	return key("challenge", func(w *wire.Writer) { w.Raw(member[:]) })
}
