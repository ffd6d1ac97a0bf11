package raba

import (
	"fmt"

	"github.com/mass-consensus/mass/internal/protocol"
	"github.com/mass-consensus/mass/internal/protocol/coin"
)

// This file holds what the explorer (explore_test.go) needs to store the
// real Agreement values compactly: the message types it delivers, an
// encoding of an Agreement and its decoding back, and the liveness of each
// part of a round, which the canonical encoding uses to forget what can no
// longer change anything.

// The explored system: N = 4, F = 1, nodes 0–2 honest, node 3 Byzantine.
const (
	exN      = 4
	exHonest = 3
	exQuorum = 3 // N−F
	exByz    = protocol.NodeID(3)
	// exRounds is the last round whose messages any search delivers: a
	// search with a common coin delivers rounds 1 to 3 (round 1's coin is
	// scheduled, the later ones tossed), one with a local coin rounds 1 and
	// 2 (exLocalRounds).
	exRounds      = 3
	exLocalRounds = 2
)

// Every message the explorer delivers has one of exTypes types, a bit of a
// uint32 mask: per round BVal(0), BVal(1), Aux(0), Aux(1), Conf({0}),
// Conf({1}), Conf({0,1}), Final(0), Final(1), Final(⊥); then Term(0),
// Term(1): 32 types for three rounds.
const (
	exPerRound = 10
	exBVal     = 0
	exAux      = 2
	exConf     = 4
	exFinal    = 7
	exTerm     = exRounds * exPerRound
	exTypes    = exTerm + 2
	exAll      = uint32(1<<exTypes - 1)
)

// upTo is the mask of every type of rounds 1..rounds, and Term.
func upTo(rounds uint32) uint32 {
	return roundTypes(1, 0, int(rounds)*exPerRound) | 3<<exTerm
}

// finalTypes is the mask of the Final types of every round: with a common
// coin nothing reads a Final (there is no Final step).
func finalTypes() uint32 {
	var m uint32
	for r := uint32(1); r <= exRounds; r++ {
		m |= roundTypes(r, exFinal, 3)
	}
	return m
}

// msgType returns the type of m, false for a message the explorer never
// delivers (a round beyond exRounds, a coin message).
func msgType(m *Message) (int, bool) {
	if m.Kind == KindTerm {
		return exTerm + int(m.Value), true
	}
	if m.Round < 1 || m.Round > exRounds {
		return 0, false
	}
	base := int(m.Round-1) * exPerRound
	switch m.Kind {
	case KindBVal:
		return base + exBVal + int(m.Value), true
	case KindAux:
		return base + exAux + int(m.Value), true
	case KindConf:
		return base + exConf + int(m.Value-SetZero), true
	case KindFinal:
		return base + exFinal + int(m.Value), true
	}
	return 0, false
}

// typeMessage returns a fresh message of type t.
func typeMessage(t int) *Message {
	if t >= exTerm {
		return &Message{Kind: KindTerm, Value: uint8(t - exTerm)}
	}
	r, k := uint32(t/exPerRound+1), t%exPerRound
	switch {
	case k < exAux:
		return &Message{Kind: KindBVal, Round: r, Value: uint8(k - exBVal)}
	case k < exConf:
		return &Message{Kind: KindAux, Round: r, Value: uint8(k - exAux)}
	case k < exFinal:
		return &Message{Kind: KindConf, Round: r, Value: SetZero + uint8(k-exConf)}
	}
	return &Message{Kind: KindFinal, Round: r, Value: uint8(k - exFinal)}
}

// typeName is a short name of type t, as in BVal(r1,0), Conf(r2,{0,1}).
func typeName(t int) string {
	m := typeMessage(t)
	switch m.Kind {
	case KindTerm:
		return fmt.Sprintf("Term(%d)", m.Value)
	case KindConf:
		sets := map[uint8]string{SetZero: "{0}", SetOne: "{1}", SetBoth: "{0,1}"}
		return fmt.Sprintf("Conf(r%d,%s)", m.Round, sets[m.Value])
	case KindFinal:
		if m.Value == Bottom {
			return fmt.Sprintf("Final(r%d,⊥)", m.Round)
		}
		return fmt.Sprintf("Final(r%d,%d)", m.Round, m.Value)
	case KindAux:
		return fmt.Sprintf("Aux(r%d,%d)", m.Round, m.Value)
	}
	return fmt.Sprintf("BVal(r%d,%d)", m.Round, m.Value)
}

// roundTypes are the bits of the types of round r of one kind (first..last
// offsets within the round).
func roundTypes(r uint32, first, count int) uint32 {
	return (uint32(1)<<count - 1) << (int(r-1)*exPerRound + first)
}

// liveness is how much of a node's record of one round can still change
// what the node does. Reading raba.go and round.go: auxValid is read only
// in phase waitAux of the node's current round, confValid only in waitConf,
// finalValid only in waitFinal, firstBin only in waitBin; the Aux slots only
// feed auxValid, the Conf slots only confValid and confSingle (read for
// Final validity), the Final slots only finalValid, bin only validation and
// firstBin. Once a round is over for the node, only the BVal relays of that
// round remain (bval, bvalCount, bvalSent). With a common coin the round is
// over after Conf (waitCoin, then the next round): there is no waitFinal,
// and the Final slots are never read; values is read only in waitCoin.
type liveness uint8

const (
	liveAll   liveness = iota // a later round, or Aux still awaited
	liveConf                  // Conf awaited: the Aux are spent
	liveFinal                 // Final awaited: the order of the Conf is spent too
	liveBVal                  // the round is over: only the BVal relays remain
)

func roundLiveness(a *Agreement, r uint32) liveness {
	switch {
	case r > a.round:
		return liveAll
	case r < a.round:
		return liveBVal
	}
	switch a.phase {
	case waitBin, waitAux:
		return liveAll
	case waitConf:
		return liveConf
	case waitFinal:
		return liveFinal
	}
	return liveBVal // waitCoin (never seen: the explorer's coin answers at once), stopped
}

// bvalSettled reports whether BVal(v) of a round can no longer change
// anything: the node relayed it and it is in bin_values, or bin_values no
// longer matters.
func bvalSettled(rs *round, v int, l liveness) bool {
	return rs.bvalSent[v] && (rs.bin[v] || l == liveBVal)
}

// deadTypes are the message types whose delivery to a can change nothing
// but what the canonical encoding forgets: the explorer drops them.
func deadTypes(a *Agreement) uint32 {
	if a.terminated {
		return exAll
	}
	var dead uint32
	if a.common {
		dead = finalTypes()
	}
	for r := uint32(1); r <= exRounds; r++ {
		l := roundLiveness(a, r)
		if rs := a.rounds[r]; rs != nil {
			for v := range 2 {
				if bvalSettled(rs, v, l) {
					dead |= roundTypes(r, exBVal+v, 1)
				}
			}
		}
		if l >= liveConf {
			dead |= roundTypes(r, exAux, 2)
		}
		if l == liveBVal {
			dead |= roundTypes(r, exConf, 3) | roundTypes(r, exFinal, 3)
		}
	}
	return dead
}

// byzantineOpen are the types among menu node 3 can still send a with an
// effect: its slot at a is empty (a second, different value in a slot is
// refused as an equivocation and changes nothing; a repeat is ignored) and,
// if canon, the type is not dead at a.
func byzantineOpen(a *Agreement, menu uint32, canon bool) uint32 {
	if a.terminated {
		return 0
	}
	if canon {
		menu &^= deadTypes(a)
	}
	for r := uint32(1); r <= exRounds; r++ {
		rs := a.rounds[r]
		if rs == nil {
			continue
		}
		for v := range 2 {
			if rs.bval[v][exByz] {
				menu &^= roundTypes(r, exBVal+v, 1)
			}
		}
		if rs.aux[exByz] != 0 {
			menu &^= roundTypes(r, exAux, 2)
		}
		if rs.conf[exByz] != 0 {
			menu &^= roundTypes(r, exConf, 3)
		}
		if rs.final[exByz] != 0 {
			menu &^= roundTypes(r, exFinal, 3)
		}
	}
	if a.term[exByz] != 0 {
		menu &^= roundTypes(1, exTerm, 2)
	}
	return menu
}

// arrivalsNeeded is, per message type, how many messages of that type must
// still arrive at a (from distinct senders) for the last one to have an
// effect: for a BVal, to bring its count to F+1 while the relay is not sent
// or to 2F+1 while the value is not in bin_values; for a Term, to F+1
// (decide) or 2F+1 (terminate); for an Aux, Conf or Final, 1 if valid on
// arrival, 0 if not (pending, see the steps of the explorer).
func arrivalsNeeded(a *Agreement) [exTypes]uint8 {
	var need [exTypes]uint8
	if a.terminated {
		return need
	}
	next := func(count int, thresholds ...int) uint8 {
		for _, t := range thresholds {
			if t > count {
				return uint8(t - count)
			}
		}
		return 0
	}
	f := a.p.F
	for r := uint32(1); r <= exRounds; r++ {
		var count [2]int
		var sent, bin [2]bool
		if rs := a.rounds[r]; rs != nil {
			count, sent, bin = rs.bvalCount, rs.bvalSent, rs.bin
		}
		for v := range 2 {
			relay, enter := f+1, 2*f+1
			if sent[v] {
				relay = 0
			}
			if bin[v] {
				enter = 0
			}
			need[int(r-1)*exPerRound+exBVal+v] = next(count[v], relay, enter)
		}
	}
	for v := range 2 {
		need[exTerm+v] = next(a.termCount[v], f+1, 2*f+1)
	}
	for t := range eachBit(justifiedTypes(a)) {
		need[t] = 1
	}
	return need
}

// pendingTypes are the Aux, Conf and Final types that would not be valid on
// arrival at a.
func pendingTypes(a *Agreement) uint32 {
	var all uint32
	for r := uint32(1); r <= exRounds; r++ {
		all |= roundTypes(r, exAux, 2) | roundTypes(r, exConf, 3) | roundTypes(r, exFinal, 3)
	}
	return all &^ justifiedTypes(a)
}

// justifiedTypes are the Aux, Conf and Final types valid on arrival at a,
// by the rules validate applies.
func justifiedTypes(a *Agreement) uint32 {
	var just uint32
	for r := uint32(1); r <= exRounds; r++ {
		rs := a.rounds[r]
		if rs == nil {
			continue
		}
		for v := range uint8(2) {
			if rs.bin[v] {
				just |= roundTypes(r, exAux+int(v), 1)
			}
		}
		for set := SetZero; set <= SetBoth; set++ {
			if rs.holds(set) {
				just |= roundTypes(r, exConf+int(set-SetZero), 1)
			}
		}
		for v := range Bottom + 1 {
			if a.finalJustified(rs, v) {
				just |= roundTypes(r, exFinal+int(v), 1)
			}
		}
	}
	return just
}

// validated reports whether every message in pre (per sender) was
// validated at a.
func validated(a *Agreement, pre [exN]uint32) bool {
	for from, types := range pre {
		for t := range eachBit(types) {
			m := typeMessage(t)
			rs := a.rounds[m.Round]
			if rs == nil {
				return false
			}
			ok := rs.finalOK
			switch m.Kind {
			case KindAux:
				ok = rs.auxOK
			case KindConf:
				ok = rs.confOK
			}
			if !ok[from] {
				return false
			}
		}
	}
	return true
}

// encodeNode appends the encoding of a's state (not its configuration: p,
// self, coin, common, slack, decideQuorum, looseFinal, eagerDecide come
// from a template when decoding). Lossless unless canon; canon writes what
// is dead (see liveness) as zero, leaves out a round whose record is then
// empty (a fresh record behaves the same), and leaves out the senders'
// rounds: they only set the admission limit max(round, reached)+Slack ≥ 5,
// above every round the explorer delivers, so they never matter here.
func encodeNode(b []byte, a *Agreement, canon bool) []byte {
	if canon && a.terminated { // HandleMessage and Repropose return at once
		return append(b, bits(a.decided, a.decision, a.terminated), 0)
	}
	values := a.values
	if canon && a.phase != waitCoin { // set in waitConf before waitCoin reads it
		values = 0
	}
	b = append(b,
		bits(a.decided, a.decision, a.terminated, a.started, a.firstIn, a.est, a.sentTerm, a.rounds == nil),
		small(a.round), byte(a.phase), values, small(a.decidedAt), slots(a.term),
		small(a.termCount[0]), small(a.termCount[1]), small(a.dropped))
	if !canon {
		for _, r := range a.reached.Seen() {
			b = append(b, small(r))
		}
	}
	for r, seen := uint32(1), 0; seen < len(a.rounds); r++ {
		rs := a.rounds[r]
		if rs == nil {
			continue
		}
		seen++
		start := len(b)
		b = append(b, small(r))
		b = encodeRound(b, rs, roundLiveness(a, r), canon)
		if canon && allZero(b[start+1:]) {
			b = b[:start]
		}
	}
	return append(b, 0) // no round 0
}

func encodeRound(b []byte, rs *round, l liveness, canon bool) []byte {
	c := *rs // a shallow copy whose dead parts are cleared below
	if canon {
		for v := range 2 {
			if bvalSettled(rs, v, l) {
				c.bval[v], c.bvalCount[v] = nil, 0
			}
		}
		if l >= liveConf {
			c.firstBin, c.aux, c.auxOK, c.auxValid = 0, nil, nil, nil
		}
		if l >= liveFinal {
			c.confValid = nil
		}
		if l == liveBVal {
			c.bin, c.conf, c.confOK, c.final, c.finalOK, c.finalValid = [2]bool{}, nil, nil, nil, nil, nil
			c.confSingle = [2]int{}
		}
	}
	b = append(b, mask(c.bval[0]), mask(c.bval[1]), small(c.bvalCount[0]), small(c.bvalCount[1]),
		bits(c.bvalSent[0], c.bvalSent[1], c.bin[0], c.bin[1]), c.firstBin,
		slots(c.aux), slots(c.final), mask(c.auxOK), mask(c.confOK), mask(c.finalOK),
		small(c.confSingle[0]), small(c.confSingle[1]))
	b = append(b, wide(c.conf)...) // a Conf slot holds up to SetBoth+1 = 4
	for _, list := range [][]uint8{c.auxValid, c.confValid, c.finalValid} {
		if canon {
			list = firstQuorum(list)
		}
		b = append(b, small(len(list)), slots(list))
	}
	return b
}

// decodeNode rebuilds an Agreement from its encoding, with the
// configuration of tmpl and the coin c.
func decodeNode(enc string, tmpl *Agreement, c coin.Coin, canon bool) *Agreement {
	return new(exScratch).decode(enc, tmpl, c, canon)
}

// exScratch is an Agreement and round records that decoding reuses: the
// explorer decodes one node per step and is done with it before the next.
type exScratch struct {
	a      Agreement
	spares []*round
}

// decode rebuilds an Agreement from its encoding into sc, with the
// configuration of tmpl and the coin c.
func (sc *exScratch) decode(enc string, tmpl *Agreement, c coin.Coin, canon bool) *Agreement {
	a := &sc.a
	term, rounds := a.term, a.rounds
	for _, rs := range rounds {
		sc.spares = append(sc.spares, rs)
	}
	*a = Agreement{p: tmpl.p, self: tmpl.self, coin: c, common: tmpl.common, slack: tmpl.slack,
		decideQuorum: tmpl.decideQuorum, looseFinal: tmpl.looseFinal, eagerDecide: tmpl.eagerDecide,
		term: reuse(term, exN), reached: protocol.NewReached(tmpl.p)}
	d := decoder{s: enc}
	f := d.byte()
	a.decided, a.decision, a.terminated = bit(f, 0), bit(f, 1), bit(f, 2)
	if canon && a.terminated {
		return a
	}
	a.started, a.firstIn, a.est, a.sentTerm = bit(f, 3), bit(f, 4), bit(f, 5), bit(f, 6)
	a.round, a.phase, a.values, a.decidedAt = uint32(d.byte()), phase(d.byte()), d.byte(), uint32(d.byte())
	d.slots(a.term)
	a.termCount = [2]int{int(d.byte()), int(d.byte())}
	a.dropped = uint64(d.byte())
	if !canon {
		for i := range exN {
			a.reached.Note(protocol.NodeID(i), uint32(d.byte()))
		}
	}
	if !bit(f, 7) {
		if a.rounds = rounds; a.rounds == nil {
			a.rounds = make(map[uint32]*round)
		}
		clear(a.rounds)
	}
	for r := d.byte(); r != 0; r = d.byte() {
		a.rounds[uint32(r)] = d.round(sc.spare())
	}
	return a
}

// spare returns a cleared round record.
func (sc *exScratch) spare() *round {
	if len(sc.spares) == 0 {
		return newRound(exN)
	}
	rs := sc.spares[len(sc.spares)-1]
	sc.spares = sc.spares[:len(sc.spares)-1]
	*rs = round{
		bval: [2][]bool{reuse(rs.bval[0], exN), reuse(rs.bval[1], exN)},
		aux:  reuse(rs.aux, exN), conf: reuse(rs.conf, exN), final: reuse(rs.final, exN),
		auxOK: reuse(rs.auxOK, exN), confOK: reuse(rs.confOK, exN), finalOK: reuse(rs.finalOK, exN),
		auxValid: rs.auxValid[:0], confValid: rs.confValid[:0], finalValid: rs.finalValid[:0],
	}
	return rs
}

// reuse returns s cleared, with length n, allocating if it is too short.
func reuse[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	s = s[:n]
	clear(s)
	return s
}

type decoder struct {
	s string
	i int
}

func (d *decoder) byte() byte {
	b := d.s[d.i]
	d.i++
	return b
}

func bit(b byte, i int) bool { return b>>i&1 == 1 }

func (d *decoder) mask(out []bool) {
	b := d.byte()
	for i := range out {
		out[i] = bit(b, i)
	}
}

func (d *decoder) slots(out []uint8) {
	b := d.byte()
	for i := range out {
		out[i] = b >> (2 * i) & 3
	}
}

// round decodes a round record into rs, cleared.
func (d *decoder) round(rs *round) *round {
	d.mask(rs.bval[0])
	d.mask(rs.bval[1])
	rs.bvalCount = [2]int{int(d.byte()), int(d.byte())}
	f := d.byte()
	rs.bvalSent, rs.bin = [2]bool{bit(f, 0), bit(f, 1)}, [2]bool{bit(f, 2), bit(f, 3)}
	rs.firstBin = d.byte()
	d.slots(rs.aux)
	d.slots(rs.final)
	d.mask(rs.auxOK)
	d.mask(rs.confOK)
	d.mask(rs.finalOK)
	rs.confSingle = [2]int{int(d.byte()), int(d.byte())}
	for i := range rs.conf {
		rs.conf[i] = d.byte()
	}
	for _, list := range []*[]uint8{&rs.auxValid, &rs.confValid, &rs.finalValid} {
		if n := int(d.byte()); n > 0 {
			*list = reuse(*list, n)
			d.slots(*list)
		} else {
			d.byte()
			*list = nil
		}
	}
	return rs
}

// firstQuorum is the canonical form of a list of valid values: only the
// first N−F are ever read (auxSet, confirmed, finalCounts), and only as a
// multiset, so it keeps them, sorted. A shorter list is read only for its
// length, which it keeps.
func firstQuorum(list []uint8) []uint8 {
	var q [exQuorum]uint8
	n := copy(q[:], list)
	for i := 1; i < n; i++ { // insertion sort of at most three values
		for j := i; j > 0 && q[j] < q[j-1]; j-- {
			q[j], q[j-1] = q[j-1], q[j]
		}
	}
	return q[:n:n]
}

// bits packs up to 8 flags into a byte.
func bits(flags ...bool) byte {
	var b byte
	for i, f := range flags {
		if f {
			b |= 1 << i
		}
	}
	return b
}

// mask packs up to 8 per-node flags into a byte.
func mask(flags []bool) byte { return bits(flags...) }

// slots packs up to 4 values below 4 into a byte.
func slots(vs []uint8) byte {
	var b byte
	for i, v := range vs {
		if v > 3 || i >= 4 {
			panic(fmt.Sprintf("explore: slot value %d at %d", v, i))
		}
		b |= v << (2 * i)
	}
	return b
}

// wide is a per-node slice of values, or zeros for nil (a dead part).
func wide(vs []uint8) []byte {
	if vs == nil {
		return make([]byte, exN)
	}
	return vs
}

// small is a counter or round that must fit a byte.
func small[T int | uint32 | uint64](v T) byte {
	if v < 0 || v > 255 {
		panic(fmt.Sprintf("explore: %d does not fit a byte", v))
	}
	return byte(v)
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}
