package gov

import (
	"fmt"

	"github.com/mass-consensus/mass/internal/app/tx"
)

// Durations in milliseconds.
const (
	Second = 1000
	Minute = 60 * Second
	Hour   = 60 * Minute
	Day    = 24 * Hour
)

// The parameters of a domain, by index (their order in the domain record).
const (
	ActiveLimit      = iota // proposals active at once
	MaxQueued               // proposals waiting at once
	QueueExpiry             // ms a proposal may wait before it expires
	MeetingMin              // bounds of a desired meeting window (ms)
	MeetingMax              //
	PublicityMin            // bounds of a desired publicity window (ms)
	PublicityMax            //
	CapacityMin             // bounds of a desired sub-meeting capacity
	CapacityMax             //
	PublicityUnit           // ms of minimum publicity per (members / supporters)
	PublicityFloor          // the minimum publicity's floor (ms)
	PublicityCeiling        // the minimum publicity's ceiling (ms)
	ReviewWindow            // ms a freeze's review lasts
	Aggregate               // how the wishes make a deadline or a capacity: AggregateMean or AggregateMedian
	GatherMin               // ms a proposal waits in the queue, at least, before it can be activated
	NumParams
)

// The values of the parameter aggregate.
const (
	// AggregateMean is the mean of the wishes, rounded down: the seed's
	// rule (通过这些期望时间的平均值得出截止时间), the default.
	AggregateMean = tx.AggregateMean
	// AggregateMedian is the lower median of the wishes, which one
	// extreme wish cannot move far.
	AggregateMedian = tx.AggregateMedian
)

// ParamDef is a parameter's name, default, bounds and how its value is
// written in an action's text form (tx.ParamUnitOf must agree).
type ParamDef struct {
	Name     string
	Default  uint64
	Min, Max uint64
	Unit     tx.ParamUnit
}

// ParamDefs are the parameters of every domain; docs/GOVERNANCE.md lists
// them with their meaning.
var ParamDefs = [NumParams]ParamDef{
	ActiveLimit:      {"active_limit", 1, 1, MaxActive, tx.UnitCount},
	MaxQueued:        {"max_queued", 32, 1, MaxQueue, tx.UnitCount},
	QueueExpiry:      {"queue_expiry", 30 * Day, Second, tx.MaxWindow, tx.UnitDuration},
	MeetingMin:       {"meeting_min", Minute, Second, tx.MaxWindow, tx.UnitDuration},
	MeetingMax:       {"meeting_max", 30 * Day, Second, tx.MaxWindow, tx.UnitDuration},
	PublicityMin:     {"publicity_min", Minute, Second, tx.MaxWindow, tx.UnitDuration},
	PublicityMax:     {"publicity_max", 30 * Day, Second, tx.MaxWindow, tx.UnitDuration},
	CapacityMin:      {"capacity_min", tx.MinCapacity, tx.MinCapacity, tx.MaxCapacity, tx.UnitCount},
	CapacityMax:      {"capacity_max", tx.MaxCapacity, tx.MinCapacity, tx.MaxCapacity, tx.UnitCount},
	PublicityUnit:    {"publicity_unit", Hour, 0, tx.MaxWindow, tx.UnitDuration},
	PublicityFloor:   {"publicity_floor", Hour, 0, tx.MaxWindow, tx.UnitDuration},
	PublicityCeiling: {"publicity_ceiling", 30 * Day, 0, tx.MaxWindow, tx.UnitDuration},
	ReviewWindow:     {"review_window", 3 * Day, Second, tx.MaxWindow, tx.UnitDuration},
	Aggregate:        {"aggregate", AggregateMean, AggregateMean, AggregateMedian, tx.UnitAggregate},
	// An hour: long enough for members who look at the organization a few
	// times a day to see a new proposal and join it before a free domain
	// activates it, short beside a proposal's whole course (a meeting,
	// rounds, and a publicity of at least publicity_floor, an hour by
	// default). 0 activates a proposal in its own block when there is
	// room, for a small organization whose members are all present.
	GatherMin: {"gather_min", Hour, 0, tx.MaxWindow, tx.UnitDuration},
}

// Params are a domain's parameters, by index.
type Params [NumParams]uint64

// DefaultParams returns every parameter's default.
func DefaultParams() Params {
	var p Params
	for i, d := range ParamDefs {
		p[i] = d.Default
	}
	return p
}

// ParamIndex returns the index of a parameter's name.
func ParamIndex(name string) (int, bool) {
	for i, d := range ParamDefs {
		if d.Name == name {
			return i, true
		}
	}
	return 0, false
}

// checkParam checks a value against its parameter's bounds.
func checkParam(i int, v uint64) error {
	d := ParamDefs[i]
	if v < d.Min || v > d.Max {
		return fmt.Errorf("parameter %s = %s is out of its bounds %s … %s", d.Name,
			tx.FormatParamValue(d.Name, v), tx.FormatParamValue(d.Name, d.Min), tx.FormatParamValue(d.Name, d.Max))
	}
	return nil
}

// Validate checks every parameter's bounds and the pairs that must be
// ordered: meeting_min ≤ meeting_max, publicity_min ≤ publicity_max,
// capacity_min ≤ capacity_max, publicity_floor ≤ publicity_ceiling, and
// gather_min < queue_expiry (else every proposal would expire before it
// could be activated).
func (p *Params) Validate() error {
	for i, v := range p {
		if err := checkParam(i, v); err != nil {
			return err
		}
	}
	for _, pair := range [][2]int{{MeetingMin, MeetingMax}, {PublicityMin, PublicityMax}, {CapacityMin, CapacityMax}, {PublicityFloor, PublicityCeiling}} {
		if p[pair[0]] > p[pair[1]] {
			lo, hi := ParamDefs[pair[0]].Name, ParamDefs[pair[1]].Name
			return fmt.Errorf("parameter %s = %s is above %s = %s", lo, tx.FormatParamValue(lo, p[pair[0]]), hi, tx.FormatParamValue(hi, p[pair[1]]))
		}
	}
	if p[GatherMin] >= p[QueueExpiry] {
		return fmt.Errorf("parameter gather_min = %s is not below queue_expiry = %s", tx.FormatDuration(p[GatherMin]), tx.FormatDuration(p[QueueExpiry]))
	}
	return nil
}

// Map returns the parameters by name.
func (p *Params) Map() map[string]uint64 {
	m := make(map[string]uint64, NumParams)
	for i, d := range ParamDefs {
		m[d.Name] = p[i]
	}
	return m
}

// checkDesire checks a participant's desire against a domain's bounds.
func (p *Params) checkDesire(d tx.Desire) error {
	switch {
	case d.Meeting < p[MeetingMin] || d.Meeting > p[MeetingMax]:
		return fail(CodeInvalid, "a desired meeting window of %d ms is out of the domain's bounds %d … %d", d.Meeting, p[MeetingMin], p[MeetingMax])
	case d.Publicity < p[PublicityMin] || d.Publicity > p[PublicityMax]:
		return fail(CodeInvalid, "a desired publicity window of %d ms is out of the domain's bounds %d … %d", d.Publicity, p[PublicityMin], p[PublicityMax])
	case uint64(d.Capacity) < p[CapacityMin] || uint64(d.Capacity) > p[CapacityMax]:
		return fail(CodeInvalid, "a desired capacity of %d is out of the domain's bounds %d … %d", d.Capacity, p[CapacityMin], p[CapacityMax])
	}
	return nil
}
