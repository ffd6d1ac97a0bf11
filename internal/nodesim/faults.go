package nodesim

// planFaults draws the fault phase's events: crashes (some long, so that
// the node falls far behind), power cuts inside a flush, pauses and
// partitions, at random times; and, with a joiner, the node-set changes.
func (s *Sim) planFaults() {
	if s.cfg.Fair {
		return
	}
	phase := s.cfg.FaultPhase
	n := len(s.members)
	count := 2 + s.rng.IntN(6)
	for range count {
		at := s.rng.Int64N(phase)
		i := s.rng.IntN(n)
		switch s.rng.IntN(5) {
		case 0:
			s.push(event{at: at, kind: evCrash, to: i, duration: s.rng.Int64N(3_000)})
		case 1:
			// Down long enough for the others to run far ahead.
			s.push(event{at: at, kind: evCrash, to: i, duration: 3_000 + s.rng.Int64N(6_000)})
		case 2:
			s.push(event{at: at, kind: evArmCut, to: i})
		case 3:
			s.push(event{at: at, kind: evPause, to: i, duration: 500 + s.rng.Int64N(4_500)})
		case 4:
			s.push(event{at: at, kind: evPartition, duration: 500 + s.rng.Int64N(4_500)})
		}
	}
	if !s.cfg.Joiner {
		return
	}
	if s.org != nil {
		s.push(event{at: s.rng.Int64N(phase / 2), kind: evGov})
		return
	}
	all := make([][32]byte, n)
	for i, m := range s.members {
		all[i] = m.key.Public()
	}
	// The joiner enters; later the first genesis node leaves.
	join := s.rng.Int64N(phase / 2)
	s.push(event{at: join, kind: evNodes, keys: all})
	s.push(event{at: join + phase/4 + s.rng.Int64N(phase/4), kind: evNodes, keys: all[1:]})
}

// planLoad spreads the clients' transactions over the fault phase.
func (s *Sim) planLoad() {
	total := int(int64(s.cfg.Rate) * s.cfg.FaultPhase / 1000)
	for range total {
		s.push(event{at: s.rng.Int64N(s.cfg.FaultPhase), kind: evSubmit})
	}
}
