package sale

import (
	"crypto/sha256"

	"github.com/mass-consensus/mass/internal/app/state"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/wire"
)

// RegistryKey is the key of the sales registry: state.NamedKey("sales").
var RegistryKey = state.NamedKey("sales")

// key derives the key of a sale record: the first 20 bytes of
// SHA-256("mass/sale/" ‖ tag ‖ 0x00 ‖ fields), as package gov derives its.
func key(tag string, fields func(w *wire.Writer)) state.Key {
	w := wire.NewWriter(64)
	w.Raw([]byte("mass/sale/" + tag))
	w.U8(0)
	fields(w)
	h := sha256.Sum256(w.Finish())
	return state.Key(h[:20])
}

// SaleKey is the key of a sale's record: tag "sale", id:u64.
func SaleKey(id uint64) state.Key {
	return key("sale", func(w *wire.Writer) { w.U64(id) })
}

// RequestKey is the key of an identity's kept request: tag "request",
// id:u64 ‖ identity:[20].
func RequestKey(id uint64, identity crypto.ID) state.Key {
	return key("request", func(w *wire.Writer) { w.U64(id); w.Raw(identity[:]) })
}

// SlotKey is the key of slot i of a sale's kept requests (a max-heap by
// fair time): tag "slot", id:u64 ‖ i:u32.
func SlotKey(id uint64, i uint32) state.Key {
	return key("slot", func(w *wire.Writer) { w.U64(id); w.U32(i) })
}

// ResultKey is the key of a winner's result: tag "result", id:u64 ‖
// identity:[20].
func ResultKey(id uint64, identity crypto.ID) state.Key {
	return key("result", func(w *wire.Writer) { w.U64(id); w.Raw(identity[:]) })
}
