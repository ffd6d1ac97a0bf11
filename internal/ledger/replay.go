package ledger

import (
	"fmt"

	"github.com/mass-consensus/mass/internal/protocol"
	"github.com/mass-consensus/mass/internal/protocol/epoch"
)

// replayState is the replay of the epoch log after a restart. It goes on
// only while the application has no block to apply: a block that changes
// the node set must be applied before the engine touches the epochs where
// the new set starts (see era), as when the records were first handled.
type replayState struct {
	active   bool
	waiting  []LogRecord // this pass's records
	next     int         // the next of them
	later    []LogRecord // records the engine could not take in this pass
	progress bool        // this pass took a record
}

// startReplay gives a fresh engine the log of the epochs from from on,
// held from proposing meanwhile: it then sends exactly what it sent
// before. The engine may start lower than it was before the crash (at the
// certified height): what it cannot take yet (an epoch beyond its window)
// waits for a later pass, as the epochs before it complete.
func (l *Ledger) startReplay(log []LogRecord, from uint64) error {
	l.engine.Hold()
	l.rd.LogBelow = from
	l.rp = replayState{active: true}
	for _, rec := range log {
		if rec.Epoch >= from {
			l.rp.waiting = append(l.rp.waiting, rec)
		}
	}
	return l.continueReplay()
}

// continueReplay handles log records until the application has a block
// to apply or the log is done.
func (l *Ledger) continueReplay() error {
	for l.rp.active && l.apply.idle() {
		if l.rp.next == len(l.rp.waiting) {
			if !l.rp.progress || len(l.rp.later) == 0 {
				return l.endReplay()
			}
			l.rp = replayState{active: true, waiting: l.rp.later}
			continue
		}
		rec := l.rp.waiting[l.rp.next]
		l.rp.next++
		done, err := l.replayOne(rec)
		if err != nil {
			return err
		}
		if done {
			l.rp.progress = true
		} else {
			l.rp.later = append(l.rp.later, rec)
		}
	}
	return nil
}

// endReplay lets the engine propose again.
func (l *Ledger) endReplay() error {
	if len(l.rp.later) > 0 {
		l.log.Warn("log records the engine could not take again", "count", len(l.rp.later), "first_epoch", l.rp.later[0].Epoch)
	}
	l.rp = replayState{}
	if l.engine == nil {
		return nil
	}
	l.moved = true
	return l.handleStep(l.engine.Release())
}

// replayOne handles one log record again, if the engine can take it now
// (done); a message the engine refuses for good counts as done.
func (l *Ledger) replayOne(rec LogRecord) (done bool, err error) {
	if len(rec.Data) < 3 {
		return false, fmt.Errorf("ledger: malformed log record of epoch %d (%d bytes)", rec.Epoch, len(rec.Data))
	}
	kind, payload := rec.Data[0], rec.Data[3:]
	from := protocol.NodeID(uint16(rec.Data[1])<<8 | uint16(rec.Data[2]))
	var msgs []*epoch.Message
	switch kind {
	case logProposal:
		next, limit := l.engine.Next(), l.engine.Limit()
		if rec.Epoch >= next+uint64(l.windowSize()) || limit > 0 && rec.Epoch >= limit {
			return false, nil
		}
		st, err := l.engine.Restore(rec.Epoch, payload)
		if err != nil {
			return false, fmt.Errorf("ledger: replaying the proposal of epoch %d: %w", rec.Epoch, err)
		}
		return true, l.handleStep(st)
	case logMessage:
		var m *epoch.Message
		m, err = epoch.UnmarshalMessage(payload, l.params, epoch.DefaultMaxProposalSize)
		msgs = []*epoch.Message{m}
	case logBundle:
		msgs, err = epoch.UnmarshalBundle(payload, l.params, epoch.DefaultMaxProposalSize)
	default:
		return false, fmt.Errorf("ledger: log record of epoch %d of unknown kind %d", rec.Epoch, kind)
	}
	if err != nil {
		return false, fmt.Errorf("ledger: log of epoch %d: %w", rec.Epoch, err)
	}
	for _, m := range msgs {
		if l.engine.Admit(from, m) == epoch.Later {
			return false, nil
		}
	}
	for _, m := range msgs {
		if l.engine.Admit(from, m) != epoch.Now {
			continue
		}
		if err := l.handleStep(l.engine.HandleMessage(from, m)); err != nil {
			return false, err
		}
	}
	return true, nil
}
