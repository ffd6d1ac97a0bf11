package nodesim

import (
	"container/heap"

	"github.com/mass-consensus/mass/internal/transport"
)

type eventKind uint8

const (
	evDeliver   eventKind = iota // the head of link from→to arrives
	evTick                       // a node's clock ticks
	evSubmit                     // a client submits a transaction
	evNodes                      // a client submits a node-set change
	evCrash                      // a node loses power
	evArmCut                     // a node will lose power in the middle of a flush
	evRestart                    // a crashed node starts again
	evPause                      // a node stops handling anything (SIGSTOP)
	evResume                     // and goes on
	evPartition                  // the network splits in two
	evHeal                       // and heals
	evEndFaults                  // the fault phase ends
	evCheck                      // the checkers look at the nodes
	evGov                        // the governance script of an organization run
)

type event struct {
	at          int64
	seq         uint64
	kind        eventKind
	from, to    int
	incarnation int
	keys        [][32]byte // evNodes
	duration    int64      // evPause, evPartition
}

// eventQueue is a min-heap of events by (time, sequence).
type eventQueue []event

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}
func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)   { *q = append(*q, x.(event)) }
func (q *eventQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

func (s *Sim) push(ev event) {
	s.seq++
	ev.seq = s.seq
	heap.Push(&s.events, ev)
}

// handle runs one event.
func (s *Sim) handle(ev event) {
	switch ev.kind {
	case evDeliver:
		s.deliver(ev.from, ev.to)
	case evTick:
		s.tick(ev)
	case evSubmit:
		s.submit()
	case evNodes:
		s.submitNodes(ev.keys)
	case evCrash:
		if s.members[ev.to].up {
			s.crash(ev.to)
			s.push(event{at: s.now + ev.duration, kind: evRestart, to: ev.to})
		}
	case evArmCut:
		s.armCut(ev.to)
	case evRestart:
		if !s.members[ev.to].up {
			if err := s.start(ev.to); err != nil {
				s.violate("%v", err)
				s.fatal = true
			}
		}
	case evPause:
		if m := s.members[ev.to]; m.up && !m.paused {
			m.paused = true
			s.stats.Pauses++
			s.push(event{at: s.now + ev.duration, kind: evResume, to: ev.to})
		}
	case evResume:
		s.resume(ev.to)
	case evPartition:
		s.partition(ev.duration)
	case evHeal:
		clear(s.group)
		s.unblock()
	case evEndFaults:
		s.endFaults()
	case evGov:
		s.govStep()
	case evCheck:
		s.watch.check()
		s.push(event{at: s.now + checkEvery, kind: evCheck})
	}
}

func (s *Sim) tick(ev event) {
	m := s.members[ev.to]
	if !m.up || m.incarnation != ev.incarnation {
		return // a tick of a crashed incarnation
	}
	s.push(event{at: s.now + tickEvery, kind: evTick, to: ev.to, incarnation: ev.incarnation})
	if !m.paused {
		s.step(ev.to, func(m *member) error { return m.node.Tick() })
	}
}

// deliverable says whether a link's messages can reach the receiver now.
func (s *Sim) deliverable(from, to int) bool {
	a, b := s.members[from], s.members[to]
	return a.up && b.up && !b.paused && s.group[from] == s.group[to] &&
		b.ep.peers[transport.NodeKey(a.key.Public())]
}

// delay draws a message's delay: anything up to 400 ms while faults run,
// short once they stop (or in a Fair run).
func (s *Sim) delay() int64 {
	if s.fair || s.cfg.Fair {
		return 1 + s.rng.Int64N(20)
	}
	if s.rng.IntN(10) == 0 {
		return s.rng.Int64N(400)
	}
	return 1 + s.rng.Int64N(40)
}

// schedule plans the delivery of a link's head, if it can go.
func (s *Sim) schedule(from, to int) {
	l := s.links[from][to]
	if l.scheduled || len(l.queue) == 0 || !s.deliverable(from, to) {
		return
	}
	l.scheduled = true
	s.push(event{at: s.now + s.delay(), kind: evDeliver, from: from, to: to})
}

// unblock schedules every link that may have become deliverable.
func (s *Sim) unblock() {
	for from := range s.links {
		for to, l := range s.links[from] {
			if l != nil {
				s.schedule(from, to)
			}
		}
	}
}

// deliver hands the head of a link to its receiver, in order.
func (s *Sim) deliver(from, to int) {
	l := s.links[from][to]
	l.scheduled = false
	if len(l.queue) == 0 || !s.deliverable(from, to) {
		return // sender crashed, or blocked: scheduled again when it clears
	}
	p := l.queue[0]
	l.queue[0] = packet{}
	l.queue = l.queue[1:]
	in := transport.Inbound{From: transport.NodeKey(s.members[from].key.Public()), Tag: p.tag, Data: p.data}
	s.step(to, func(m *member) error { return m.node.Deliver(in) })
	s.schedule(from, to)
}

func (s *Sim) resume(i int) {
	if m := s.members[i]; m.paused {
		m.paused = false
		s.unblock()
	}
}

// partition splits the nodes in two random non-empty groups for a while.
func (s *Sim) partition(duration int64) {
	n := len(s.members)
	mask := 1 + s.rng.IntN(1<<n-2)
	for i := range s.group {
		s.group[i] = (mask >> i) & 1
	}
	s.stats.Partitions++
	s.push(event{at: s.now + duration, kind: evHeal})
}

// armCut arms a power cut inside one of the node's next flushes: at a
// store write (before or after it lands), in the log, or among its sends.
func (s *Sim) armCut(i int) {
	m := s.members[i]
	if !m.up {
		return
	}
	switch s.rng.IntN(3) {
	case 0:
		m.cutAt, m.cutAfter = 1+s.rng.IntN(20), s.rng.IntN(2) == 0
	case 1:
		m.fs.FailAfter(1 + s.rng.IntN(20))
	case 2:
		m.ep.cut = 1 + s.rng.IntN(30)
	}
}

// endFaults ends the fault phase: every node runs, the network heals and
// becomes fair.
func (s *Sim) endFaults() {
	s.fair = true
	clear(s.group)
	for i, m := range s.members {
		switch {
		case !m.up:
			if err := s.start(i); err != nil {
				s.violate("%v", err)
				s.fatal = true
				return
			}
		case m.paused:
			s.resume(i)
		}
		m.cutAt = 0
		m.ep.cut = -1
		m.fs.FailAfter(-1)
	}
	s.unblock()
}
