package orgapp

import "sync"

// verifiedCap bounds the transactions whose signatures CheckTx verified
// and ApplyBlock then need not verify again.
const verifiedCap = 1 << 16

// verifiedSet remembers, by hash, the latest transactions whose every
// signature verified at submission on this node, so that their block does
// not verify them a second time here. Whether a signature verifies is a
// function of the bytes alone, so skipping it changes no result.
type verifiedSet struct {
	mu   sync.Mutex
	ring [][32]byte
	next int
	in   map[[32]byte]int
}

func (v *verifiedSet) add(h [32]byte) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.in == nil {
		v.in = make(map[[32]byte]int, 1024)
	}
	if len(v.ring) < verifiedCap {
		v.ring = append(v.ring, h)
	} else {
		old := v.ring[v.next]
		if v.in[old]--; v.in[old] <= 0 {
			delete(v.in, old)
		}
		v.ring[v.next] = h
		v.next = (v.next + 1) % verifiedCap
	}
	v.in[h]++
}

func (v *verifiedSet) has(h [32]byte) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.in[h] > 0
}
