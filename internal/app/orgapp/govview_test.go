package orgapp

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"testing"

	"github.com/mass-consensus/mass/internal/app/gov"
	"github.com/mass-consensus/mass/internal/app/state"
	"github.com/mass-consensus/mass/internal/app/tx"
)

// provenRecords is a RecordReader over the records a view lists, each
// read through Prove (as a gateway holds the records whose proofs it
// verified); it remembers the keys asked for that it does not hold.
type provenRecords struct {
	leaves  map[state.Key]*Leaf
	missing []state.Key
}

func (p *provenRecords) Get(k state.Key) ([]byte, uint64, bool) {
	l, ok := p.leaves[k]
	if !ok {
		p.missing = append(p.missing, k)
		return nil, 0, false
	}
	return l.Value, l.Sum, l.Found
}

func proveAll(t *testing.T, a *App, height uint64, records []string) *provenRecords {
	t.Helper()
	p := &provenRecords{leaves: map[state.Key]*Leaf{}}
	for _, h := range records {
		raw, err := hex.DecodeString(h)
		if err != nil || len(raw) != len(state.Key{}) {
			t.Fatalf("record %q", h)
		}
		l, err := a.Prove(height, state.Key(raw))
		if err != nil {
			t.Fatal(err)
		}
		p.leaves[l.Key] = l
	}
	return p
}

func sameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Fatalf("%s built from its records:\n%s\nthe node's:\n%s", what, g, w)
	}
}

// TestViewsFromRecords: each governance view built from only the records
// it lists (ProposalViewOf …) equals the application's; a record left out
// is asked for, and the view then differs or fails, never silently.
func TestViewsFromRecords(t *testing.T) {
	f := govFixture(t, 4, 0, quick())
	d := tx.Desire{Meeting: 600_000, Publicity: 600_000, Capacity: 2}
	f.blockAt(1000, f.sign(f.keys[0], &tx.Create{Domain: "general", Title: "From records", Options: []tx.Option{{Title: "A"}, {Title: "B"}}, Desire: d}))
	var joins [][]byte
	for _, k := range f.keys[1:] {
		joins = append(joins, f.sign(k, &tx.Join{Proposal: 1, Desire: d}))
	}
	joins = append(joins, f.sign(f.keys[2], &tx.Comment{Proposal: 1, Text: "hi"}))
	f.blockAt(2000, joins...)
	f.blockAt(601_000)
	h := f.height

	want, err := f.app.Proposal(h, 1)
	if err != nil {
		t.Fatal(err)
	}
	recs := proveAll(t, f.app, h, want.Records)
	got, err := ProposalViewOf(recs, 1)
	if err != nil || len(recs.missing) > 0 {
		t.Fatalf("%v, missing %x", err, recs.missing)
	}
	sameJSON(t, "the proposal", got, want)

	wantList, err := f.app.Proposals(h, "general", 0)
	if err != nil {
		t.Fatal(err)
	}
	recs = proveAll(t, f.app, h, wantList.Records)
	gotList, err := ProposalListOf(recs, "general", 0)
	if err != nil || len(recs.missing) > 0 {
		t.Fatalf("%v, missing %x", err, recs.missing)
	}
	sameJSON(t, "the list", gotList, wantList)

	wantGov, err := f.app.Governance(h)
	if err != nil {
		t.Fatal(err)
	}
	records := []string{wantGov.Record}
	for _, dv := range wantGov.Domains {
		records = append(records, dv.Record)
	}
	recs = proveAll(t, f.app, h, records)
	gotGov, err := GovernanceViewOf(recs)
	if err != nil || len(recs.missing) > 0 {
		t.Fatalf("%v, missing %x", err, recs.missing)
	}
	sameJSON(t, "the governance", gotGov, wantGov)

	wantEx, err := f.app.Executors(h)
	if err != nil {
		t.Fatal(err)
	}
	recs = proveAll(t, f.app, h, wantEx.Records)
	gotEx, err := ExecutorsViewOf(recs)
	if err != nil || len(recs.missing) > 0 {
		t.Fatalf("%v, missing %x", err, recs.missing)
	}
	sameJSON(t, "the executors", gotEx, wantEx)

	wantComments, err := f.app.Comments(h, 1, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	gotComments, err := CommentsOf(f.app.mustAt(t, h), 1, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "the comments", gotComments, wantComments)

	// Without the roster's record the reader is asked for it: a reader
	// that holds only proven records knows the view is incomplete.
	partial := proveAll(t, f.app, h, want.Records)
	delete(partial.leaves, gov.RosterKey(1))
	if _, err := ProposalViewOf(partial, 1); err == nil && len(partial.missing) == 0 {
		t.Fatal("a view was built without asking for the roster")
	}
	// An absent proposal is gov.ErrNotFound.
	none := proveAll(t, f.app, h, []string{keyHex(gov.ProposalKey(9))})
	if _, err := ProposalViewOf(none, 9); !errors.Is(err, gov.ErrNotFound) || len(none.missing) > 0 {
		t.Fatalf("absent proposal: %v, missing %x", err, none.missing)
	}
}

func (a *App) mustAt(t *testing.T, height uint64) *snapshot {
	t.Helper()
	s, err := a.at(height)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
