package gov_test

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/mass-consensus/mass/internal/app/orgapp"
	"github.com/mass-consensus/mass/internal/crypto"
)

// expect checks a line's key=value (equal; numbers and durations compare
// as numbers) and key~=text (contains) pairs against a flat view of what it
// names; a key the view lacks fails.
func (r *runner) expect(args []string) {
	r.t.Helper()
	if len(args) == 0 {
		r.fatalf("expect <what> …")
	}
	what, rest := args[0], args[1:]
	pos := func(n int) []string {
		if len(rest) < n {
			r.fatalf("expect %s needs %d arguments", what, n)
		}
		p := rest[:n]
		rest = rest[n:]
		return p
	}
	var got map[string]string
	switch what {
	case "proposal":
		got = r.proposalFlat(r.u64(pos(1)[0]))
	case "round":
		p := pos(2)
		got = r.roundFlat(r.u64(p[0]), int(r.u64(p[1])))
	case "meeting":
		p := pos(3)
		got = r.meetingFlat(r.u64(p[0]), int(r.u64(p[1])), int(r.u64(p[2])))
	case "account":
		got = r.accountFlat(pos(1)[0])
	case "domain":
		got = r.domainFlat(pos(1)[0])
	case "org":
		o, err := r.app.Organization(r.height)
		if err != nil {
			r.fatalf("%v", err)
		}
		got = map[string]string{"members": fmt.Sprint(o.Members), "supervisors": fmt.Sprint(o.Supervisors),
			"applicants": fmt.Sprint(o.Applicants), "policy": o.Policy.String()}
	case "executor":
		got = r.executorFlat(pos(1)[0])
	case "supply":
		s, err := r.app.Supply(r.height)
		if err != nil {
			r.fatalf("%v", err)
		}
		got = map[string]string{"value": fmt.Sprint(s)}
		rest = []string{"value=" + pos(1)[0]}
	case "treasury":
		s, err := r.app.Treasury(r.height)
		if err != nil {
			r.fatalf("%v", err)
		}
		got = map[string]string{"value": fmt.Sprint(s)}
		rest = []string{"value=" + pos(1)[0]}
	case "version":
		p := pos(2)
		v, err := r.app.Versions(r.height)
		if err != nil {
			r.fatalf("%v", err)
		}
		got = map[string]string{"value": fmt.Sprint(v.At(r.num(p[0])))}
		rest = []string{"value=" + p[1]}
	case "nodes":
		n, err := r.app.Nodes(r.height)
		if err != nil {
			r.fatalf("%v", err)
		}
		var names []string
		for _, x := range n.Nodes {
			names = append(names, r.nodeName(x.Key))
		}
		got = map[string]string{"value": strings.Join(names, ",")}
		rest = []string{"value=" + pos(1)[0]}
	case "nodeset":
		v := "nil"
		if r.last.NodeSet != nil {
			var names []string
			for _, x := range r.last.NodeSet {
				names = append(names, r.nodeName(x.Key))
			}
			v = strings.Join(names, ",")
		}
		got = map[string]string{"value": v}
		rest = []string{"value=" + pos(1)[0]}
	case "list":
		d := pos(1)[0]
		l, err := r.app.Proposals(r.height, d, 0)
		if err != nil {
			r.fatalf("%v", err)
		}
		var items []string
		for _, p := range l.Proposals {
			items = append(items, fmt.Sprintf("%d:%s", p.ID, p.State))
		}
		got = map[string]string{"value": strings.Join(items, ",")}
		rest = []string{"value=" + pos(1)[0]}
	default:
		r.fatalf("expect: unknown %q", what)
	}
	if len(rest) == 0 {
		r.fatalf("expect %s: nothing to check", what)
	}
	for _, kv := range rest {
		contains := false
		k, v, ok := strings.Cut(kv, "~=")
		if ok {
			contains = true
		} else if k, v, ok = strings.Cut(kv, "="); !ok {
			r.fatalf("expect: %q is not key=value", kv)
		}
		g, ok := got[k]
		if !ok {
			keys := make([]string, 0, len(got))
			for k := range got {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			r.fatalf("expect %s: no %q (there are %s)", what, k, strings.Join(keys, " "))
		}
		switch {
		case contains:
			if !strings.Contains(g, v) {
				r.fatalf("expect %s: %s is %q, which lacks %q", what, k, g, v)
			}
		case g == v:
		default:
			if n, err := num(v); err == nil && g == fmt.Sprint(n) {
				continue
			}
			r.fatalf("expect %s: %s is %q, not %q", what, k, g, v)
		}
	}
}

func (r *runner) nodeName(k crypto.PublicKey) string {
	for _, n := range []string{"n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7"} {
		if named(n).Public() == k {
			return n
		}
	}
	return k.String()
}

func winner(w *uint8) string {
	if w == nil {
		return "none"
	}
	return fmt.Sprint(*w)
}

func join8(xs []uint8) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ",")
}

func (r *runner) proposal(id uint64) *orgapp.ProposalView {
	p, err := r.app.Proposal(r.height, id)
	if err != nil {
		r.fatalf("proposal %d: %v", id, err)
	}
	return p
}

func (r *runner) proposalFlat(id uint64) map[string]string {
	p := r.proposal(id)
	m := map[string]string{
		"state": p.State, "kind": p.Kind, "domain": p.Domain, "title": p.Title, "author": r.nameOf(p.Author),
		"participants": fmt.Sprint(p.Participants), "options": fmt.Sprint(len(p.Options)), "comments": fmt.Sprint(p.Comments),
		"activated": fmt.Sprint(p.Activated), "deadline": fmt.Sprint(p.Deadline), "window": fmt.Sprint(p.MeetingWindow),
		"capacity": fmt.Sprint(p.Capacity), "round": fmt.Sprint(p.Round), "winner": winner(p.Winner),
		"supporters": fmt.Sprint(p.Supporters), "members": fmt.Sprint(p.Members), "publicity_min": fmt.Sprint(p.PublicityMin),
		"publicity": fmt.Sprint(p.Publicity), "freezes": fmt.Sprint(p.Freezes), "closed": fmt.Sprint(p.Closed), "reason": p.Reason,
		"lift": "0", "cancel": "0", "remaining": "0", "freezer": "none",
	}
	if p.Review != nil {
		m["lift"], m["cancel"] = fmt.Sprint(p.Review.Lift), fmt.Sprint(p.Review.Cancel)
		m["remaining"], m["freezer"] = fmt.Sprint(p.Review.Remaining), r.nameOf(p.Review.Freezer)
	}
	var roster []string
	for _, x := range p.Roster {
		roster = append(roster, r.nameOf(x.Member))
	}
	m["roster"] = strings.Join(roster, ",")
	for _, o := range p.Options {
		m[fmt.Sprintf("option%d", o.Index)] = o.Title
	}
	return m
}

func (r *runner) roundFlat(id uint64, n int) map[string]string {
	p := r.proposal(id)
	if n < 1 || n > len(p.Rounds) {
		r.fatalf("proposal %d has %d rounds, not %d", id, len(p.Rounds), n)
	}
	x := p.Rounds[n-1]
	var sizes []string
	for _, m := range x.Meetings {
		sizes = append(sizes, fmt.Sprint(len(m.Members)))
	}
	return map[string]string{
		"plenary": fmt.Sprint(x.Plenary), "options": join8(x.Options), "winners": join8(x.Winners), "ended": fmt.Sprint(x.Ended),
		"meetings": fmt.Sprint(len(x.Meetings)), "sizes": strings.Join(sizes, ","), "start": fmt.Sprint(x.Start), "end": fmt.Sprint(x.End),
	}
}

func (r *runner) meetingFlat(id uint64, n, m int) map[string]string {
	p := r.proposal(id)
	if n < 1 || n > len(p.Rounds) || m < 0 || m >= len(p.Rounds[n-1].Meetings) {
		r.fatalf("proposal %d has no meeting %d in round %d", id, m, n)
	}
	x := p.Rounds[n-1].Meetings[m]
	var names, tally []string
	for _, id := range x.Members {
		names = append(names, r.nameOf(id))
	}
	slices.Sort(names)
	for _, t := range x.Tally {
		tally = append(tally, fmt.Sprint(t.Approvals))
	}
	return map[string]string{"members": strings.Join(names, ","), "size": fmt.Sprint(len(x.Members)), "ballots": fmt.Sprint(x.Ballots),
		"tally": strings.Join(tally, ","), "winner": winner(x.Winner)}
}

func (r *runner) accountFlat(who string) map[string]string {
	a, bal, err := r.app.Account(r.height, r.id(who))
	if err != nil {
		return map[string]string{"exists": "false", "balance": "0", "role": "none"}
	}
	v := orgapp.AccountJSON(r.id(who), a, bal)
	return map[string]string{"exists": "true", "role": v.Role, "frozen": fmt.Sprint(v.Frozen), "suspended": fmt.Sprint(v.Suspended),
		"applying": fmt.Sprint(v.Applying), "balance": fmt.Sprint(v.Balance), "name": v.Name}
}

func (r *runner) domainFlat(name string) map[string]string {
	d, err := r.app.Domain(r.height, name)
	if err != nil {
		return map[string]string{"exists": "false"}
	}
	var q, act []string
	for _, x := range d.Queue {
		q = append(q, fmt.Sprint(x.ID))
	}
	for _, x := range d.Active {
		act = append(act, fmt.Sprint(x.ID))
	}
	m := map[string]string{"exists": "true", "queue": strings.Join(q, ","), "active": strings.Join(act, ","), "total": fmt.Sprint(d.Total),
		"serial": fmt.Sprint(d.Serial)}
	for k, v := range d.Params {
		m[k] = strconv.FormatUint(v, 10)
	}
	return m
}

func (r *runner) executorFlat(role string) map[string]string {
	es, err := r.app.Executors(r.height)
	if err != nil {
		r.fatalf("%v", err)
	}
	for _, e := range es.List {
		if e.Role == role {
			return map[string]string{"holder": r.nameOf(e.Member), "until": fmt.Sprint(e.Until), "since": fmt.Sprint(e.Since), "proposal": fmt.Sprint(e.Proposal)}
		}
	}
	return map[string]string{"holder": "none"}
}
