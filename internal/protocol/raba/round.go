package raba

// round holds what a node received in one round and which of it is valid.
//
// A message is valid once the receiver's own state justifies it: Aux(v) once
// v is in bin_values; Conf(S) once S ⊆ bin_values; Final(w) once F+1 valid
// Conf({w}) arrived (so an honest node sent Conf({w})); Final(⊥) once both
// values are in bin_values. Each justification only grows, and whatever
// justified an honest sender's message eventually holds at every honest
// receiver, so honest messages all become valid.
type round struct {
	bval      [2][]bool // per value, per sender
	bvalCount [2]int
	bvalSent  [2]bool
	bin       [2]bool // bin_values
	firstBin  uint8   // the first value that entered bin_values, plus one

	// Per sender: 0 none, else the value plus one.
	aux, conf, final       []uint8
	auxOK, confOK, finalOK []bool
	// The valid messages' values in the order they became valid.
	auxValid, confValid, finalValid []uint8
	confSingle                      [2]int // valid Conf({0}) and Conf({1})
}

func newRound(n int) *round {
	return &round{
		bval: [2][]bool{make([]bool, n), make([]bool, n)},
		aux:  make([]uint8, n), conf: make([]uint8, n), final: make([]uint8, n),
		auxOK: make([]bool, n), confOK: make([]bool, n), finalOK: make([]bool, n),
	}
}

// validate moves every received message whose justification now holds into
// the valid lists, Aux, then Conf (which can justify Final), then Final.
func (a *Agreement) validate(rs *round) {
	for i := range rs.aux {
		if rs.aux[i] != 0 && !rs.auxOK[i] && rs.bin[rs.aux[i]-1] {
			rs.auxOK[i] = true
			rs.auxValid = append(rs.auxValid, rs.aux[i]-1)
		}
	}
	for i := range rs.conf {
		if set := rs.conf[i]; set != 0 && !rs.confOK[i] && rs.holds(set-1) {
			rs.confOK[i] = true
			rs.confValid = append(rs.confValid, set-1)
			if set-1 != SetBoth {
				rs.confSingle[set-1-SetZero]++
			}
		}
	}
	for i := range rs.final {
		if v := rs.final[i]; v != 0 && !rs.finalOK[i] && a.finalJustified(rs, v-1) {
			rs.finalOK[i] = true
			rs.finalValid = append(rs.finalValid, v-1)
		}
	}
}

// holds reports whether the set (a Conf value) is within bin_values.
func (rs *round) holds(set uint8) bool {
	return (set&SetZero == 0 || rs.bin[0]) && (set&SetOne == 0 || rs.bin[1])
}

func (a *Agreement) finalJustified(rs *round, v uint8) bool {
	if v == Bottom {
		return rs.bin[0] && rs.bin[1]
	}
	if a.looseFinal {
		return rs.bin[v]
	}
	return rs.confSingle[v] >= a.p.F+1
}

// auxSet is the set of values among the first q valid Aux messages.
func (rs *round) auxSet(q int) uint8 {
	var set uint8
	for _, v := range rs.auxValid[:q] {
		set |= 1 << v
	}
	return set
}

// confirmed is w if the first q valid Conf messages are all Conf({w}), else
// Bottom.
func (rs *round) confirmed(q int) uint8 {
	for _, set := range rs.confValid[:q] {
		if set != rs.confValid[0] || set == SetBoth {
			return Bottom
		}
	}
	return rs.confValid[0] - SetZero
}

// finalCounts counts the values of the first q valid Final messages.
func (rs *round) finalCounts(q int) [3]int {
	var c [3]int
	for _, v := range rs.finalValid[:q] {
		c[v]++
	}
	return c
}
