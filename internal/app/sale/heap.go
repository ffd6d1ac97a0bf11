package sale

import "bytes"

// The kept requests of a sale are a binary max-heap in the tree, slot i at
// SlotKey(sale, i) for i < Kept, ordered by eviction order: fair time, then
// identity. Its root is the latest kept request, the one a better request
// evicts when the sale is full. An insertion writes at most ⌈log₂ Kept⌉+1
// slots; the allocation reads the Kept slots once.

// evictAfter says whether a comes after b in eviction order (a is the
// worse): later fair time, then the larger identity.
func evictAfter(a, b *Slot) bool {
	if a.Fair != b.Fair {
		return a.Fair > b.Fair
	}
	return bytes.Compare(a.Identity[:], b.Identity[:]) > 0
}

type heap struct {
	s  Store
	id uint64
	n  uint32
}

func (h *heap) get(i uint32) (*Slot, error) {
	v, _, ok := h.s.Get(SlotKey(h.id, i))
	if !ok {
		return nil, corrupt("sale %d: slot %d of %d is missing", h.id, i, h.n)
	}
	sl, err := UnmarshalSlot(v)
	if err != nil {
		return nil, corrupt("sale %d: slot %d: %v", h.id, i, err)
	}
	return sl, nil
}

func (h *heap) put(i uint32, sl *Slot) { h.s.Put(SlotKey(h.id, i), sl.Marshal(), 0) }

// top is the worst kept request.
func (h *heap) top() (*Slot, error) { return h.get(0) }

// push adds a slot (the heap is not full).
func (h *heap) push(sl *Slot) error {
	i := h.n
	h.n++
	for i > 0 {
		p := (i - 1) / 2
		parent, err := h.get(p)
		if err != nil {
			return err
		}
		if !evictAfter(sl, parent) {
			break
		}
		h.put(i, parent)
		i = p
	}
	h.put(i, sl)
	return nil
}

// replaceTop puts a slot in the root's place and sifts it down.
func (h *heap) replaceTop(sl *Slot) error {
	i := uint32(0)
	for {
		l, r := 2*i+1, 2*i+2
		if l >= h.n {
			break
		}
		c, child := l, (*Slot)(nil)
		left, err := h.get(l)
		if err != nil {
			return err
		}
		child = left
		if r < h.n {
			right, err := h.get(r)
			if err != nil {
				return err
			}
			if evictAfter(right, left) {
				c, child = r, right
			}
		}
		if !evictAfter(child, sl) {
			break
		}
		h.put(i, child)
		i = c
	}
	h.put(i, sl)
	return nil
}

// all reads every slot.
func (h *heap) all() ([]Slot, error) {
	out := make([]Slot, h.n)
	for i := uint32(0); i < h.n; i++ {
		sl, err := h.get(i)
		if err != nil {
			return nil, err
		}
		out[i] = *sl
	}
	return out, nil
}
