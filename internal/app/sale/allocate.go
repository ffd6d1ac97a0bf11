package sale

import (
	"crypto/sha256"
	"slices"

	"github.com/mass-consensus/mass/internal/crypto"
)

// Tie is the tie-break hash of an identity under the closing block's
// seed: SHA-256("mass/sale/tie/v1" ‖ 0x00 ‖ seed ‖ identity). No buyer
// knows the seed when it chooses its key, nor can choose the seed (it
// hashes the closing block's transactions, out of the common subset of
// n−f nodes' proposals), so none can place itself first among equals.
func Tie(seed [32]byte, identity crypto.ID) [32]byte {
	b := make([]byte, 0, 17+32+crypto.IDSize)
	b = append(b, "mass/sale/tie/v1\x00"...)
	b = append(b, seed[:]...)
	b = append(b, identity[:]...)
	return sha256.Sum256(b)
}

// Ranked is a kept request in allocation order.
type Ranked struct {
	Slot
	Key OrderKey
}

// Order sorts kept requests into allocation order: by fair time, then by
// Tie under the seed. It is pure and, the order keys being distinct (two
// identities' tie hashes collide with negligible probability; the identity
// then decides), independent of the slots' order.
func Order(slots []Slot, seed [32]byte) []Ranked {
	out := make([]Ranked, len(slots))
	for i, sl := range slots {
		out[i] = Ranked{Slot: sl, Key: OrderKey{Fair: sl.Fair, Tie: Tie(seed, sl.Identity)}}
	}
	slices.SortFunc(out, func(a, b Ranked) int {
		if c := a.Key.Compare(b.Key); c != 0 {
			return c
		}
		return compareIDs(a.Identity, b.Identity)
	})
	return out
}

// Grant is what allocation gives one request: its rank (from 1) and the
// items, min(asked, left).
type Grant struct {
	Ranked
	Rank    uint32
	Granted uint32
}

// Allocate serves ranked requests in order while items remain, each its
// quantity or what is left. pay says whether a buyer pays for the items it
// is granted (it is asked in order, so a buyer who cannot pay is passed
// over and its items go on to the next); nil means all pay. It returns the
// requests served (granted > 0) and those passed over (granted 0), in
// order.
func Allocate(ranked []Ranked, supply uint32, pay func(r *Ranked, items uint32) (bool, error)) ([]Grant, error) {
	var out []Grant
	left := supply
	for i := range ranked {
		if left == 0 {
			break
		}
		r := &ranked[i]
		items := min(r.Quantity, left)
		ok := true
		if pay != nil {
			var err error
			if ok, err = pay(r, items); err != nil {
				return nil, err
			}
		}
		g := Grant{Ranked: *r, Rank: uint32(i + 1)}
		if ok {
			g.Granted = items
			left -= items
		}
		out = append(out, g)
	}
	return out, nil
}

func compareIDs(a, b crypto.ID) int {
	for i := range a {
		if a[i] != b[i] {
			return int(a[i]) - int(b[i])
		}
	}
	return 0
}
