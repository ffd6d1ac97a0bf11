package orgapp

import (
	"github.com/mass-consensus/mass/internal/app"
	"github.com/mass-consensus/mass/internal/app/gov"
	"github.com/mass-consensus/mass/internal/app/sale"
)

var _ app.Deadliner = (*App)(nil)

// NextDeadline returns the earliest block time at which governance has
// something to do on its own — the end of an active proposal's phase, a
// queued proposal's expiry, the end of a queued proposal's gathering time
// in a domain with room for it, an executor's term, a sale's allocation
// (its window's end plus the grace) — read from the latest state
// (app.Deadliner). It reads the registry, each domain, the executors and
// the sales registry: a few records.
func (a *App) NextDeadline() (int64, bool, error) {
	s, err := a.at(a.Height())
	if err != nil {
		return 0, false, err
	}
	reg, err := gov.ReadRegistry(s)
	if err != nil {
		return 0, false, a.govErr(s, err)
	}
	var next int64
	found := false
	note := func(t int64) {
		if !found || t < next {
			next, found = t, true
		}
	}
	for _, name := range reg.Domains {
		d, err := gov.ReadDomain(s, name)
		if err != nil {
			return 0, false, a.govErr(s, err)
		}
		for _, x := range d.Active {
			note(x.Deadline)
		}
		room := len(d.Active) < int(d.Params[gov.ActiveLimit])
		for _, q := range d.Queue {
			note(q.Created + int64(d.Params[gov.QueueExpiry]))
			if room {
				note(q.Created + int64(d.Params[gov.GatherMin]))
			}
		}
	}
	if ex, err := gov.ReadExecutors(s); err == nil {
		for _, x := range ex.List {
			note(x.Until)
		}
	}
	sales, err := sale.ReadRegistry(s)
	if err != nil {
		return 0, false, a.saleErr(s, err)
	}
	if t, ok := sale.NextDue(sales); ok {
		note(t)
	}
	return next, found, nil
}
