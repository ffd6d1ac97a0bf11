package dkg

import (
	"bytes"
	"slices"
)

// WithCorruptRows returns a copy of p as a Byzantine dealer would post it,
// for simulations and tests: the sealed row of every node m ≠ dealer with
// bad(m) is replaced by bytes that open under no key. Those nodes post no
// ack for it; with more than F of them the part cannot complete and is left
// out of the keys. A node never posts such a part unless told to act
// Byzantine.
func (p *Part) WithCorruptRows(bad func(m int) bool) *Part {
	c := *p
	c.rows = slices.Clone(p.rows)
	for m, row := range c.rows {
		if m != c.dealer && bad(m) {
			c.rows[m] = bytes.Repeat([]byte{0xA5}, len(row))
		}
	}
	return &c
}
