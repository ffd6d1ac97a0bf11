package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode"

	"github.com/mass-consensus/mass/internal/apijson"
	"github.com/mass-consensus/mass/internal/app/gov"
	"github.com/mass-consensus/mass/internal/app/orgapp"
	salepkg "github.com/mass-consensus/mass/internal/app/sale"
	"github.com/mass-consensus/mass/internal/app/state"
	"github.com/mass-consensus/mass/internal/app/tx"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/wire"
)

// TestGovRecords runs web/govrecords.js in headless Chromium against Go:
// every governance record kind encoded by Go (edge cases: the largest
// counts, Chinese text, u64 values above 2^53, every action kind of
// tx.ActionKinds and the quoting of their text form, open_sale with its
// largest values) decodes in JS to Go's values, and the
// malformed encodings (truncated, trailing bytes, another kind, counts
// and values out of bounds) are refused by both; and the views rebuilt
// in JS from records are Go's (orgapp's builders), field for field, a
// node's view that lies about one field is caught, and a record the view
// needs without a proof is refused.
func TestGovRecords(t *testing.T) {
	b := newBrowser(t, serveApp(t))
	t.Run("records", func(t *testing.T) { testRecordDecoding(t, b) })
	t.Run("views", func(t *testing.T) { testViewRebuilding(t, b) })
}

// recordDecoders are Go's decoders by the kind names of the JS harness.
var recordDecoders = map[string]func([]byte) (any, error){
	"registry":  func(b []byte) (any, error) { return gov.UnmarshalRegistry(b) },
	"domain":    func(b []byte) (any, error) { return gov.UnmarshalDomain(b) },
	"page":      func(b []byte) (any, error) { return gov.UnmarshalPage(b) },
	"text":      func(b []byte) (any, error) { return gov.UnmarshalText(b) },
	"proposal":  func(b []byte) (any, error) { return gov.UnmarshalProposal(b) },
	"option":    func(b []byte) (any, error) { return gov.UnmarshalOption(b) },
	"roster":    func(b []byte) (any, error) { return gov.UnmarshalRoster(b) },
	"round":     func(b []byte) (any, error) { return gov.UnmarshalRound(b) },
	"meeting":   func(b []byte) (any, error) { return gov.UnmarshalMeeting(b) },
	"ballot":    func(b []byte) (any, error) { return gov.UnmarshalBallot(b) },
	"review":    func(b []byte) (any, error) { return gov.UnmarshalReviewBallot(b) },
	"comment":   func(b []byte) (any, error) { return gov.UnmarshalComment(b) },
	"executors": func(b []byte) (any, error) { return gov.UnmarshalExecutors(b) },
	"challenge": func(b []byte) (any, error) { return gov.UnmarshalChallenge(b) },
}

// jsName is a Go field's name in the JS decoders' objects.
func jsName(s string) string {
	switch {
	case s == "IDs":
		return "ids"
	case strings.ToUpper(s) == s:
		return strings.ToLower(s)
	}
	return string(unicode.ToLower(rune(s[0]))) + s[1:]
}

// plainOf is a decoded Go record as the JS harness writes it: fields in
// lowerCamelCase, u64 and i64 as decimal strings, IDs, keys and seeds as
// hex, a state by name, parameters by name, actions in their text form.
func plainOf(v reflect.Value) any {
	switch x := v.Interface().(type) {
	case crypto.ID:
		return hex.EncodeToString(x[:])
	case [32]byte:
		return hex.EncodeToString(x[:])
	case gov.State:
		return x.String()
	case gov.Params:
		m := map[string]any{}
		for k, n := range x.Map() {
			m[k] = fmt.Sprint(n)
		}
		return m
	case tx.Action:
		return x.String()
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		return plainOf(v.Elem())
	case reflect.Struct:
		m := map[string]any{}
		for i := 0; i < v.NumField(); i++ {
			m[jsName(v.Type().Field(i).Name)] = plainOf(v.Field(i))
		}
		return m
	case reflect.Slice:
		out := []any{}
		for i := 0; i < v.Len(); i++ {
			out = append(out, plainOf(v.Index(i)))
		}
		return out
	case reflect.Uint64, reflect.Int64:
		return fmt.Sprint(v.Interface())
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Int:
		return v.Convert(reflect.TypeFor[float64]()).Interface()
	}
	return v.Interface()
}

// viaJSON is v encoded and decoded as JSON, to compare with what JS sent.
func viaJSON(t *testing.T, v any) any {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// recordCase is an encoding to decode in both languages.
type recordCase struct {
	name, kind string
	raw        []byte
}

// idOf is the account ID of a key made from a tag.
func idOf(tag string) crypto.ID {
	seed := sha256.Sum256([]byte(tag))
	k, err := crypto.KeyFromSeed(seed[:])
	if err != nil {
		panic(err)
	}
	return k.Public().ID()
}

// writeRec builds an encoding field by field, for the malformed ones Go
// cannot marshal.
func writeRec(f func(w *wire.Writer)) []byte {
	w := wire.NewWriter(64)
	f(w)
	return w.Finish()
}

// validRecords are well-formed encodings of every kind, with edge cases.
func validRecords(t *testing.T) []recordCase {
	alice, bob, carol := idOf("alice"), idOf("bob"), idOf("carol")
	node := seeded(t, "node").Public()
	big := uint64(1)<<53 + 1
	var domains []string
	for i := range gov.MaxDomains {
		domains = append(domains, fmt.Sprintf("d%02d-x_y", i))
	}
	d := &gov.Domain{Name: "general", Serial: 1<<32 - 1, Params: gov.DefaultParams(), Total: 1<<64 - 1}
	for i := range gov.MaxQueue {
		d.Queue = append(d.Queue, gov.Queued{ID: big + uint64(i), Created: -int64(i), Participants: uint16(i * 1000)})
	}
	for i := range gov.MaxActive {
		d.Active = append(d.Active, gov.Active{ID: uint64(i), Deadline: 1<<62 + int64(i)})
	}
	longName := strings.Repeat("z", tx.MaxIdent)
	minParams := gov.DefaultParams()
	for i, def := range gov.ParamDefs {
		minParams[i] = def.Min
	}
	minParams[gov.QueueExpiry] = minParams[gov.GatherMin] + 1
	var page []uint64
	for i := range gov.PageSize {
		page = append(page, big*uint64(i))
	}
	reason := strings.Repeat("理", gov.MaxReason/3) + "ab"
	actionLines := [][]string{
		{"add_member " + bob.String() + " \"Bob Smith\"", "add_member " + carol.String() + " 张伟", `add_member ` + alice.String() + ` "Ada \"the\" \\L"`,
			"remove_member " + bob.String(), "confirm_join treasury", "add_node " + node.String() + " /ip4/1.2.3.4/tcp/5 \"a\\x01b\" \"x\u3000y\" 节点",
			"remove_node " + node.String(), "set_param general aggregate median"},
		{"set_param general meeting_min 1h30m", "set_param tech capacity_max 12", "add_domain budget", "mint treasury 18446744073709551615",
			"pay " + carol.String() + " 9007199254740993", "set_version 4294967295 18446744073709551615", "appoint treasurer " + bob.String() + " 366d",
			"dismiss treasurer"},
		{"remove_domain tech", "rename_domain budget money", "add_node " + node.String(), "set_param x nope 5", "add_member " + bob.String() + " \"a\u00a0b\"",
			"add_node " + node.String() + ` "\"q" "\U000e0001x" "e\u0301\t" 😀`, "add_member " + bob.String() + " \"\ufeffbob\""},
		saleLines()[:7],
	}
	var options []recordCase
	for i, lines := range actionLines {
		o := &gov.OptionRecord{Author: alice, Added: -5, Option: tx.Option{Title: fmt.Sprintf("选项 %d «ok»", i)}}
		for _, l := range lines {
			a, err := tx.ParseAction(l)
			if err != nil {
				t.Fatalf("%q: %v", l, err)
			}
			o.Option.Actions = append(o.Option.Actions, a)
		}
		options = append(options, recordCase{fmt.Sprintf("option %d", i), "option", o.Marshal()})
	}
	// Every action kind is among them, so that a new kind without its JS
	// twin fails here.
	for _, k := range tx.ActionKinds() {
		found := false
		for _, lines := range actionLines {
			for _, l := range lines {
				found = found || strings.HasPrefix(l, k.String()+" ")
			}
		}
		if !found {
			t.Errorf("no option holds an action of kind %s (%d): add one here and its twin to govrecords.js", k, k)
		}
	}
	roster := &gov.Roster{}
	for i := range gov.MaxParticipants {
		roster.Participants = append(roster.Participants, gov.Participant{Member: idOf(fmt.Sprint("m", i%7)), Desire: tx.Desire{Meeting: big, Publicity: uint64(i), Capacity: uint16(i)}, Joined: int64(i) - 3})
	}
	var roles []gov.Executor
	for i := range gov.MaxExecutors {
		roles = append(roles, gov.Executor{Role: fmt.Sprintf("r%03d", i), Member: bob, Proposal: big, Since: -1, Until: 1 << 62})
	}
	all := make([]uint8, tx.MaxOptions)
	for i := range all {
		all[i] = uint8(i)
	}
	assign := make([]uint16, gov.MaxParticipants)
	for i := range assign {
		assign[i] = uint16(i % 300)
	}
	cases := []recordCase{
		{"registry", "registry", (&gov.Registry{NextID: big, Supply: 1<<64 - 1, NextDomain: 7, Domains: domains}).Marshal()},
		{"registry, empty", "registry", (&gov.Registry{}).Marshal()},
		{"domain, full", "domain", d.Marshal()},
		{"domain, least parameters", "domain", (&gov.Domain{Name: longName, Params: minParams}).Marshal()},
		{"page, full", "page", (&gov.Page{IDs: page}).Marshal()},
		{"page, one", "page", (&gov.Page{IDs: []uint64{1<<64 - 1}}).Marshal()},
		{"text", "text", (&gov.Text{Author: alice, Created: 1 << 60, Domain: "general", Title: "午饭吃什么？", Body: "一\n\t二"}).Marshal()},
		{"text, challenge, longest", "text", (&gov.Text{Kind: gov.KindChallengeTopic, Author: alice, Created: -1, Domain: longName,
			Title: strings.Repeat("题", tx.MaxTitle/3), Body: strings.Repeat("x", tx.MaxBody), Target: bob}).Marshal()},
		{"proposal", "proposal", (&gov.Proposal{ID: 1<<64 - 1, Domain: "general", State: gov.StateReview, Options: tx.MaxOptions, Participants: gov.MaxParticipants,
			Comments: gov.MaxComments, Activated: 1 << 61, Deadline: -(1 << 61), Window: big, Capacity: 1024, Round: gov.MaxRounds, Winner: 31,
			Supporters: 1<<32 - 1, Members: big, PublicityMin: big + 2, Publicity: 1<<64 - 1, Freezes: gov.MaxFreezes, Freezer: carol,
			Lift: 3, Cancel: 4, Remaining: big, Closed: 1, Reason: reason}).Marshal()},
		{"proposal, no winner", "proposal", (&gov.Proposal{ID: 2, Domain: "b", State: gov.StateDropped, Options: 1, Winner: gov.NoWinner}).Marshal()},
		{"proposal, winner 0", "proposal", (&gov.Proposal{ID: 3, Domain: "b", State: gov.StateQueued, Options: 1, Winner: 0}).Marshal()},
		{"roster, full", "roster", roster.Marshal()},
		{"roster, one", "roster", (&gov.Roster{Participants: []gov.Participant{{Member: bob, Desire: tx.Desire{Meeting: 1, Publicity: 2, Capacity: 3}, Joined: 4}}}).Marshal()},
		{"round, ended", "round", (&gov.Round{Number: 33, Start: -1, End: int64(big), Seed: [32]byte{1, 2, 255}, Plenary: true, Options: all, Meetings: 300,
			Assign: assign, Ended: true, Winners: []uint8{0, 7, 31}}).Marshal()},
		{"round, open", "round", (&gov.Round{Number: 1, Options: []uint8{3}, Meetings: 1}).Marshal()},
		{"meeting", "meeting", (&gov.Meeting{Members: []uint16{0, 5, 1023}, Ballots: 3, Tally: []uint16{0, 3, 1}, Winner: gov.NoWinner}).Marshal()},
		{"meeting, winner", "meeting", (&gov.Meeting{Members: []uint16{2}, Ballots: 1, Tally: make([]uint16, 32), Winner: 0}).Marshal()},
		{"ballot", "ballot", (&gov.Ballot{Meeting: 65535, Time: int64(big), Approve: all}).Marshal()},
		{"review", "review", (&gov.ReviewBallot{Lift: true, Time: -7}).Marshal()},
		{"review, cancel", "review", (&gov.ReviewBallot{Time: 1 << 62}).Marshal()},
		{"comment", "comment", (&gov.CommentRecord{Author: bob, Time: int64(big), Text: "我同意\nyes"}).Marshal()},
		{"comment, longest", "comment", (&gov.CommentRecord{Author: bob, Text: strings.Repeat("字", tx.MaxComment/3) + "ab"}).Marshal()},
		{"executors, full", "executors", (&gov.Executors{List: roles}).Marshal()},
		{"executors, none", "executors", (&gov.Executors{}).Marshal()},
		{"challenge", "challenge", (&gov.ChallengeRecord{Proposal: 1<<64 - 1}).Marshal()},
	}
	return append(cases, options...)
}

// malformedRecords are encodings Go refuses, each an edge of a bound.
func malformedRecords(t *testing.T, valid []recordCase) []recordCase {
	bob := idOf("bob")
	var out []recordCase
	kinds := map[string]uint8{}
	for _, c := range valid {
		kinds[c.kind] = c.raw[0]
		out = append(out,
			recordCase{c.name + ", truncated", c.kind, c.raw[:len(c.raw)-1]},
			recordCase{c.name + ", a trailing byte", c.kind, append(bytes.Clone(c.raw), 0)},
			recordCase{c.name + ", empty", c.kind, nil},
		)
		other := bytes.Clone(c.raw)
		other[0] ^= 0x01
		out = append(out, recordCase{c.name + ", another kind", c.kind, other})
	}
	option := func(title string, actions ...func(w *wire.Writer)) []byte {
		return writeRec(func(w *wire.Writer) {
			w.U8(gov.KindOption)
			w.Raw(bob[:])
			w.I64(0)
			w.Bytes([]byte(title))
			w.U8(uint8(len(actions)))
			for _, a := range actions {
				a(w)
			}
		})
	}
	act := func(kind uint8, f func(w *wire.Writer)) func(w *wire.Writer) {
		return func(w *wire.Writer) { w.U8(kind); f(w) }
	}
	name := func(s string) func(w *wire.Writer) {
		return act(1, func(w *wire.Writer) { w.Raw(bob[:]); w.Bytes([]byte(s)) })
	}
	dismiss := act(12, func(w *wire.Writer) { w.Bytes([]byte("chair")) })
	// sale writes valid parameters changed by f, bypassing Params.Check.
	sale := func(f func(p *salepkg.Params)) func(w *wire.Writer) {
		p := salepkg.Params{Item: "seat", Supply: 10, PerRequest: 2, Start: 0, Window: 60_000, MaxAge: 1000, Difficulty: 0, Price: 1, MaxRequests: 20}
		f(&p)
		return p.MarshalTo
	}
	openSale := func(f func(p *salepkg.Params)) func(w *wire.Writer) { return act(uint8(tx.ActOpenSale), sale(f)) }
	actionKinds := tx.ActionKinds()
	unknownKind := uint8(actionKinds[len(actionKinds)-1]) + 1
	var identity [32]byte
	identity[0] = 1 // the neutral point: of small order
	var nine []func(w *wire.Writer)
	for range 9 {
		nine = append(nine, dismiss)
	}
	domain := func(f func(d *gov.Domain)) []byte {
		d := &gov.Domain{Name: "general", Params: gov.DefaultParams()}
		f(d)
		return d.Marshal()
	}
	round := func(f func(r *gov.Round)) []byte {
		r := &gov.Round{Number: 1, Options: []uint8{0, 1}, Meetings: 1, Assign: []uint16{0}}
		f(r)
		return r.Marshal()
	}
	many := make([]string, gov.MaxDomains+1)
	for i := range many {
		many[i] = "d"
	}
	out = append(out,
		recordCase{"registry, 33 domains", "registry", (&gov.Registry{Domains: many}).Marshal()},
		recordCase{"registry, a domain not an identifier", "registry", (&gov.Registry{Domains: []string{"General"}}).Marshal()},
		recordCase{"registry, an empty domain name", "registry", (&gov.Registry{Domains: []string{""}}).Marshal()},
		recordCase{"domain, 14 parameters", "domain", writeRec(func(w *wire.Writer) { w.U8(gov.KindDomain); w.Bytes([]byte("g")); w.U32(0); w.U8(14) })},
		recordCase{"domain, active_limit 0", "domain", domain(func(d *gov.Domain) { d.Params[gov.ActiveLimit] = 0 })},
		recordCase{"domain, active_limit 17", "domain", domain(func(d *gov.Domain) { d.Params[gov.ActiveLimit] = 17 })},
		recordCase{"domain, aggregate 2", "domain", domain(func(d *gov.Domain) { d.Params[gov.Aggregate] = 2 })},
		recordCase{"domain, meeting_min above meeting_max", "domain", domain(func(d *gov.Domain) { d.Params[gov.MeetingMin] = d.Params[gov.MeetingMax] + 1 })},
		recordCase{"domain, gather_min = queue_expiry", "domain", domain(func(d *gov.Domain) { d.Params[gov.GatherMin] = d.Params[gov.QueueExpiry] })},
		recordCase{"domain, 65 queued", "domain", domain(func(d *gov.Domain) { d.Queue = make([]gov.Queued, gov.MaxQueue+1) })},
		recordCase{"domain, 17 active", "domain", domain(func(d *gov.Domain) { d.Active = make([]gov.Active, gov.MaxActive+1) })},
		recordCase{"domain, a name of 33 bytes", "domain", domain(func(d *gov.Domain) { d.Name = strings.Repeat("a", 33) })},
		recordCase{"page, empty", "page", (&gov.Page{}).Marshal()},
		recordCase{"page, 257", "page", (&gov.Page{IDs: make([]uint64, gov.PageSize+1)}).Marshal()},
		recordCase{"text, kind 2", "text", (&gov.Text{Kind: 2, Domain: "g", Target: bob}).Marshal()},
		recordCase{"text, a proposal with a target", "text", (&gov.Text{Domain: "g", Target: bob}).Marshal()},
		recordCase{"text, a title of 201 bytes", "text", (&gov.Text{Domain: "g", Title: strings.Repeat("t", tx.MaxTitle+1)}).Marshal()},
		recordCase{"proposal, state 0", "proposal", (&gov.Proposal{Domain: "g", Winner: gov.NoWinner}).Marshal()},
		recordCase{"proposal, state 12", "proposal", (&gov.Proposal{Domain: "g", State: 12, Winner: gov.NoWinner}).Marshal()},
		recordCase{"proposal, winner beyond the options", "proposal", (&gov.Proposal{Domain: "g", State: 1, Options: 2, Winner: 2}).Marshal()},
		recordCase{"proposal, 33 options", "proposal", (&gov.Proposal{Domain: "g", State: 1, Options: 33, Winner: gov.NoWinner}).Marshal()},
		recordCase{"proposal, 1025 participants", "proposal", (&gov.Proposal{Domain: "g", State: 1, Participants: 1025, Winner: gov.NoWinner}).Marshal()},
		recordCase{"proposal, 5 freezes", "proposal", (&gov.Proposal{Domain: "g", State: 1, Freezes: 5, Winner: gov.NoWinner}).Marshal()},
		recordCase{"proposal, round 34", "proposal", (&gov.Proposal{Domain: "g", State: 1, Round: 34, Winner: gov.NoWinner}).Marshal()},
		recordCase{"proposal, a reason of 513 bytes", "proposal", (&gov.Proposal{Domain: "g", State: 1, Winner: gov.NoWinner, Reason: strings.Repeat("r", 513)}).Marshal()},
		recordCase{"option, 9 actions", "option", option("t", nine...)},
		recordCase{"option, no title", "option", option("")},
		recordCase{"option, a control character in the title", "option", option("a\nb")},
		recordCase{"option, a title not UTF-8", "option", option("a\xffb")},
		recordCase{"option, the first unknown action kind", "option", option("t", act(unknownKind, func(w *wire.Writer) { sale(func(*salepkg.Params) {})(w) }))},
		recordCase{"option, open_sale, a supply of 0", "option", option("t", openSale(func(p *salepkg.Params) { p.Supply = 0 }))},
		recordCase{"option, open_sale, a supply over 100000", "option", option("t", openSale(func(p *salepkg.Params) { p.Supply, p.MaxRequests = 100_001, 100_001 }))},
		recordCase{"option, open_sale, 0 per request", "option", option("t", openSale(func(p *salepkg.Params) { p.PerRequest = 0 }))},
		recordCase{"option, open_sale, more per request than the supply", "option", option("t", openSale(func(p *salepkg.Params) { p.PerRequest = p.Supply + 1 }))},
		recordCase{"option, open_sale, max_requests below the supply", "option", option("t", openSale(func(p *salepkg.Params) { p.MaxRequests = p.Supply - 1 }))},
		recordCase{"option, open_sale, max_requests over 100000", "option", option("t", openSale(func(p *salepkg.Params) { p.MaxRequests = 100_001 }))},
		recordCase{"option, open_sale, max_age 999 ms", "option", option("t", openSale(func(p *salepkg.Params) { p.MaxAge = 999 }))},
		recordCase{"option, open_sale, max_age over an hour", "option", option("t", openSale(func(p *salepkg.Params) { p.MaxAge = 3600*1000 + 1 }))},
		recordCase{"option, open_sale, max_age 2^64-1", "option", option("t", openSale(func(p *salepkg.Params) { p.MaxAge = 1<<64 - 1 }))},
		recordCase{"option, open_sale, a start over 366 days", "option", option("t", openSale(func(p *salepkg.Params) { p.Start = salepkg.MaxWindow + 1 }))},
		recordCase{"option, open_sale, a window of 0", "option", option("t", openSale(func(p *salepkg.Params) { p.Window = 0 }))},
		recordCase{"option, open_sale, a window over 366 days", "option", option("t", openSale(func(p *salepkg.Params) { p.Window = salepkg.MaxWindow + 1 }))},
		recordCase{"option, open_sale, difficulty 41", "option", option("t", openSale(func(p *salepkg.Params) { p.Difficulty = 41 }))},
		recordCase{"option, open_sale, no item", "option", option("t", openSale(func(p *salepkg.Params) { p.Item = "" }))},
		recordCase{"option, open_sale, an item of 65 bytes", "option", option("t", openSale(func(p *salepkg.Params) { p.Item = strings.Repeat("座", 21) + "xy" }))},
		recordCase{"option, open_sale, an item not UTF-8", "option", option("t", openSale(func(p *salepkg.Params) { p.Item = "a\xffb" }))},
		recordCase{"option, open_sale, an item with a control character", "option", option("t", openSale(func(p *salepkg.Params) { p.Item = "a\u0085b" }))},
		recordCase{"option, open_sale, truncated", "option", option("t", act(uint8(tx.ActOpenSale), func(w *wire.Writer) {
			b := wire.NewWriter(64)
			sale(func(*salepkg.Params) {})(b)
			raw := b.Finish()
			w.Raw(raw[:len(raw)-1])
		}))},
		recordCase{"option, open_sale, a trailing byte before the next action", "option", option("t",
			act(uint8(tx.ActOpenSale), func(w *wire.Writer) { sale(func(*salepkg.Params) {})(w); w.U8(0) }), dismiss)},
		recordCase{"option, action kind 0", "option", option("t", act(0, func(*wire.Writer) {}))},
		recordCase{"option, pay 0", "option", option("t", act(9, func(w *wire.Writer) { w.Raw(bob[:]); w.U64(0) }))},
		recordCase{"option, a name with a space first", "option", option("t", name(" bob"))},
		recordCase{"option, a name with a space last", "option", option("t", name("bob\u3000"))},
		recordCase{"option, a name with a control character", "option", option("t", name("b\u0085ob"))},
		recordCase{"option, a name of 65 bytes", "option", option("t", name(strings.Repeat("n", 65)))},
		recordCase{"option, a node key of small order", "option", option("t", act(4, func(w *wire.Writer) { w.Raw(identity[:]); w.U8(0) }))},
		recordCase{"option, 9 addresses", "option", option("t", act(4, func(w *wire.Writer) {
			pub := seeded(t, "node").Public()
			w.Raw(pub[:])
			w.U8(9)
		}))},
		recordCase{"option, an empty address", "option", option("t", act(4, func(w *wire.Writer) {
			pub := seeded(t, "node").Public()
			w.Raw(pub[:])
			w.U8(1)
			w.Bytes(nil)
		}))},
		recordCase{"option, renamed to itself", "option", option("t", act(14, func(w *wire.Writer) { w.Bytes([]byte("a")); w.Bytes([]byte("a")) }))},
		recordCase{"option, a term of 0", "option", option("t", act(11, func(w *wire.Writer) { w.Bytes([]byte("chair")); w.Raw(bob[:]); w.U64(0) }))},
		recordCase{"option, a term over 366 days", "option", option("t", act(11, func(w *wire.Writer) { w.Bytes([]byte("chair")); w.Raw(bob[:]); w.U64(tx.MaxWindow + 1) }))},
		recordCase{"option, version 0", "option", option("t", act(10, func(w *wire.Writer) { w.U32(0); w.U64(5) }))},
		recordCase{"option, a parameter not an identifier", "option", option("t", act(6, func(w *wire.Writer) { w.Bytes([]byte("g")); w.Bytes([]byte("Max")); w.U64(1) }))},
		recordCase{"roster, empty", "roster", (&gov.Roster{}).Marshal()},
		recordCase{"roster, 1025", "roster", (&gov.Roster{Participants: make([]gov.Participant, gov.MaxParticipants+1)}).Marshal()},
		recordCase{"round, no options", "round", round(func(r *gov.Round) { r.Options = nil })},
		recordCase{"round, options not increasing", "round", round(func(r *gov.Round) { r.Options = []uint8{1, 1} })},
		recordCase{"round, option 32", "round", round(func(r *gov.Round) { r.Options = []uint8{32} })},
		recordCase{"round, winners before its end", "round", round(func(r *gov.Round) { r.Winners = []uint8{0} })},
		recordCase{"round, more winners than options", "round", round(func(r *gov.Round) { r.Ended, r.Winners = true, []uint8{0, 1, 2} })},
		recordCase{"round, a meeting beyond the count", "round", round(func(r *gov.Round) { r.Assign = []uint16{1} })},
		recordCase{"round, no meetings", "round", round(func(r *gov.Round) { r.Meetings, r.Assign = 0, nil })},
		recordCase{"round, more meetings than positions", "round", round(func(r *gov.Round) { r.Meetings = 2 })},
		recordCase{"round, plenary 2", "round", writeRec(func(w *wire.Writer) {
			w.U8(gov.KindRound)
			w.U8(1)
			w.I64(0)
			w.I64(0)
			w.Raw(make([]byte, 32))
			w.U8(2)
		})},
		recordCase{"meeting, no members", "meeting", (&gov.Meeting{Tally: []uint16{0}}).Marshal()},
		recordCase{"meeting, members not increasing", "meeting", (&gov.Meeting{Members: []uint16{3, 3}, Tally: []uint16{0}}).Marshal()},
		recordCase{"meeting, more ballots than members", "meeting", (&gov.Meeting{Members: []uint16{1}, Ballots: 2, Tally: []uint16{0}}).Marshal()},
		recordCase{"meeting, approvals above ballots", "meeting", (&gov.Meeting{Members: []uint16{1}, Ballots: 1, Tally: []uint16{2}}).Marshal()},
		recordCase{"meeting, no options", "meeting", (&gov.Meeting{Members: []uint16{1}}).Marshal()},
		recordCase{"ballot, empty", "ballot", (&gov.Ballot{}).Marshal()},
		recordCase{"ballot, not increasing", "ballot", (&gov.Ballot{Approve: []uint8{2, 1}}).Marshal()},
		recordCase{"review, lift 2", "review", []byte{gov.KindReview, 2, 0, 0, 0, 0, 0, 0, 0, 0}},
		recordCase{"comment, 2049 bytes", "comment", (&gov.CommentRecord{Author: bob, Text: strings.Repeat("c", tx.MaxComment+1)}).Marshal()},
		recordCase{"executors, roles not increasing", "executors", (&gov.Executors{List: []gov.Executor{{Role: "b"}, {Role: "a"}}}).Marshal()},
		recordCase{"executors, a role twice", "executors", (&gov.Executors{List: []gov.Executor{{Role: "a"}, {Role: "a"}}}).Marshal()},
		recordCase{"executors, 65", "executors", writeRec(func(w *wire.Writer) { w.U8(gov.KindExecutors); w.U8(65) })},
	)
	return out
}

func testRecordDecoding(t *testing.T, b *browser) {
	valid := validRecords(t)
	cases := append(valid, malformedRecords(t, valid)...)
	var in []map[string]string
	for _, c := range cases {
		in = append(in, map[string]string{"kind": c.kind, "hex": hex.EncodeToString(c.raw)})
	}
	var out []struct {
		Value json.RawMessage
		Error string
	}
	b.callModule(t, "/test/gov.js", "decodeRecords", in, &out)
	if len(out) != len(cases) {
		t.Fatalf("%d answers for %d cases", len(out), len(cases))
	}
	refused := 0
	for i, c := range cases {
		got, err := recordDecoders[c.kind](c.raw)
		js := out[i]
		switch {
		case err != nil && js.Error == "":
			t.Errorf("%s: Go refuses (%v), JS decodes %s", c.name, err, js.Value)
		case err == nil && js.Error != "":
			t.Errorf("%s: JS refuses (%s), Go decodes", c.name, js.Error)
		case err != nil:
			refused++
			if !strings.HasPrefix(js.Error, "ProofError: record:") {
				t.Errorf("%s: JS refuses with %s, want a ProofError(record)", c.name, js.Error)
			}
		default:
			var jv any
			if err := json.Unmarshal(js.Value, &jv); err != nil {
				t.Fatal(err)
			}
			if want := viaJSON(t, plainOf(reflect.ValueOf(got))); !reflect.DeepEqual(jv, want) {
				gj, _ := json.Marshal(want)
				t.Errorf("%s:\nJS %.2000s\nGo %.2000s", c.name, js.Value, gj)
			}
		}
	}
	t.Logf("%d encodings: %d decoded alike, %d refused by both", len(cases), len(cases)-refused, refused)
}

// recordMap is a store of records, an orgapp.RecordReader.
type recordMap map[state.Key][]byte

func (m recordMap) Get(k state.Key) ([]byte, uint64, bool) {
	v, ok := m[k]
	return v, 0, ok
}

// govRecords is a governance state with every kind of view: two domains,
// a list page, a challenge under review with a round of three
// sub-meetings (one naming a position beyond the roster), a plain
// proposal with comments (one author without an account), executors.
func govRecords(t *testing.T) recordMap {
	alice, bob, carol, dave := idOf("alice"), idOf("bob"), idOf("carol"), idOf("dave") // dave has no account
	big := uint64(1)<<53 + 3
	m := recordMap{}
	put := func(k state.Key, v []byte) { m[k] = v }
	for id, name := range map[crypto.ID]string{alice: "alice", bob: "鲍勃", carol: ""} {
		put(state.AccountKey(id), (&state.Account{Role: state.Member, Name: name}).Marshal())
	}
	put(gov.RegistryKey, (&gov.Registry{NextID: 3, Supply: big, NextDomain: 2, Domains: []string{"general", "tech"}}).Marshal())
	put(gov.DomainKey("general"), (&gov.Domain{Name: "general", Serial: 0, Params: gov.DefaultParams(), Total: 2,
		Queue: []gov.Queued{{ID: 2, Created: 5, Participants: 1}}, Active: []gov.Active{{ID: 1, Deadline: 1 << 60}}}).Marshal())
	put(gov.DomainKey("tech"), (&gov.Domain{Name: "tech", Serial: 1, Params: gov.DefaultParams()}).Marshal())
	put(gov.PageKey(0, 0), (&gov.Page{IDs: []uint64{1, 2}}).Marshal())
	put(gov.ExecutorsKey, (&gov.Executors{List: []gov.Executor{{Role: "chair", Member: bob, Proposal: 1, Since: 1, Until: 1 << 61},
		{Role: "clerk", Member: dave, Proposal: 1, Since: 2, Until: 3}}}).Marshal())

	// Proposal 1: a challenge of carol by alice, in review.
	put(gov.TextKey(1), (&gov.Text{Kind: gov.KindChallengeTopic, Author: alice, Created: 7, Domain: "general", Title: "质询 carol", Body: "why\nnot", Target: carol}).Marshal())
	put(gov.ProposalKey(1), (&gov.Proposal{ID: 1, Domain: "general", State: gov.StateReview, Options: 2, Participants: 3, Comments: 0,
		Activated: 9, Deadline: 1 << 60, Window: big, Capacity: 2, Round: 1, Winner: 0, Supporters: 2, Members: 3, PublicityMin: 60000,
		Publicity: big, Freezes: 1, Freezer: bob, Lift: 1, Cancel: 0, Remaining: 5000}).Marshal())
	put(gov.RosterKey(1), (&gov.Roster{Participants: []gov.Participant{
		{Member: alice, Desire: tx.Desire{Meeting: big, Publicity: 1000, Capacity: 2}, Joined: 7},
		{Member: bob, Desire: tx.Desire{Meeting: 60000, Publicity: 2000, Capacity: 3}, Joined: 8},
		{Member: dave, Desire: tx.Desire{Meeting: 60000, Publicity: 2000, Capacity: 3}, Joined: 9},
	}}).Marshal())
	pay, _ := tx.ParseAction("remove_member " + carol.String())
	put(gov.OptionKey(1, 0), (&gov.OptionRecord{Author: alice, Added: 7, Option: tx.Option{Title: "remove", Actions: []tx.Action{pay}}}).Marshal())
	sell, _ := tx.ParseAction(`open_sale "Concert, row A" 100 2 1m 10m 30s 12 5 1000`)
	put(gov.OptionKey(1, 1), (&gov.OptionRecord{Author: alice, Added: 7, Option: tx.Option{Title: "keep", Actions: []tx.Action{sell}}}).Marshal())
	put(gov.RoundKey(1, 1), (&gov.Round{Number: 1, Start: 10, End: 20, Seed: [32]byte{9}, Options: []uint8{0, 1}, Meetings: 3,
		Assign: []uint16{0, 1, 2}, Ended: true, Winners: []uint8{0}}).Marshal())
	put(gov.MeetingKey(1, 1, 0), (&gov.Meeting{Members: []uint16{0}, Ballots: 1, Tally: []uint16{1, 0}, Winner: 0}).Marshal())
	put(gov.MeetingKey(1, 1, 1), (&gov.Meeting{Members: []uint16{1, 7}, Ballots: 1, Tally: []uint16{1, 1}, Winner: 0}).Marshal())
	put(gov.MeetingKey(1, 1, 2), (&gov.Meeting{Members: []uint16{2}, Ballots: 0, Tally: []uint16{0, 0}, Winner: gov.NoWinner}).Marshal())

	// Proposal 2: queued, with comments.
	put(gov.TextKey(2), (&gov.Text{Author: bob, Created: 5, Domain: "general", Title: "午饭", Body: ""}).Marshal())
	put(gov.ProposalKey(2), (&gov.Proposal{ID: 2, Domain: "general", State: gov.StateQueued, Options: 1, Participants: 1, Comments: 3, Winner: gov.NoWinner}).Marshal())
	put(gov.RosterKey(2), (&gov.Roster{Participants: []gov.Participant{{Member: bob, Desire: tx.Desire{Meeting: 1, Publicity: 1, Capacity: 2}, Joined: 5}}}).Marshal())
	put(gov.OptionKey(2, 0), (&gov.OptionRecord{Author: bob, Added: 5, Option: tx.Option{Title: "面条"}}).Marshal())
	put(gov.CommentKey(2, 0), (&gov.CommentRecord{Author: bob, Time: 6, Text: "我同意\nyes"}).Marshal())
	put(gov.CommentKey(2, 1), (&gov.CommentRecord{Author: dave, Time: 7, Text: "no account"}).Marshal())
	put(gov.CommentKey(2, 2), (&gov.CommentRecord{Author: bob, Time: int64(big), Text: "again"}).Marshal())
	return m
}

// viewRead is a read for the harness: a view, its arguments and the
// node's view (JSON) to compare with the rebuilt one.
type viewRead struct {
	View string `json:"view"`
	Args []any  `json:"args"`
	Node string `json:"node"`
}

func jsonText(t *testing.T, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// sameJSON says whether two JSON texts hold the same values (numbers
// compared exactly).
func sameJSON(t *testing.T, a, b string) bool {
	t.Helper()
	dec := func(s string) any {
		d := json.NewDecoder(strings.NewReader(s))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			t.Fatalf("%v: %s", err, s)
		}
		return v
	}
	return reflect.DeepEqual(dec(a), dec(b))
}

func testViewRebuilding(t *testing.T, b *browser) {
	m := govRecords(t)
	values := map[string]any{}
	for k, v := range m {
		values[hex.EncodeToString(k[:])] = hex.EncodeToString(v)
	}
	// The absent author's account, proven absent (as a node proves it).
	dave := idOf("dave")
	values[hex.EncodeToString(dave[:])] = nil

	var reads []viewRead
	var want []string
	add := func(view string, args []any, v any, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("Go cannot build %s %v: %v", view, args, err)
		}
		reads = append(reads, viewRead{view, args, jsonText(t, v)})
		want = append(want, jsonText(t, v))
	}
	for _, id := range []uint64{1, 2} {
		v, err := orgapp.ProposalViewOf(m, id)
		add("proposal", []any{fmt.Sprint(id)}, v, err)
	}
	for _, page := range []uint32{0, 1} {
		l, err := orgapp.ProposalListOf(m, "general", page)
		add("list", []any{"general", page}, l, err)
	}
	g, err := orgapp.GovernanceViewOf(m)
	add("governance", nil, g, err)
	e, err := orgapp.ExecutorsViewOf(m)
	add("executors", nil, e, err)
	for _, from := range []uint32{0, 2, 3} {
		cs, err := orgapp.CommentsOf(m, 2, from, apijson.MaxComments)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := apijson.CommentRecords(2, cs)
		add("comments", []any{"2", from}, map[string]any{"comments": cs, "records": recs}, err)
	}
	honest := len(reads)

	// A node's view that lies about one tally, one action, one name, the
	// price of a sale an option opens.
	p1 := reads[0].Node
	for _, lie := range [][2]string{{`{"option":1,"approvals":1}`, `{"option":1,"approvals":2}`}, {`"remove_member `, `"pay treasury 1 `}, {`"name":"鲍勃"`, `"name":"bob"`}, {` 30s 12 5 1000"`, ` 30s 12 0 1000"`}} {
		if !strings.Contains(p1, lie[0]) {
			t.Fatalf("proposal 1's view has no %s: %s", lie[0], p1)
		}
		reads = append(reads, viewRead{"proposal", []any{"1"}, strings.Replace(p1, lie[0], lie[1], 1)})
	}
	var out []struct{ View, Diff, Error string }
	b.callModule(t, "/test/gov.js", "rebuildViews", map[string]any{"values": values, "reads": reads}, &out)
	for i, r := range reads[:honest] {
		if out[i].Error != "" {
			t.Errorf("%s %v: JS cannot rebuild: %s", r.View, r.Args, out[i].Error)
			continue
		}
		if !sameJSON(t, out[i].View, want[i]) {
			t.Errorf("%s %v:\nJS %s\nGo %s", r.View, r.Args, out[i].View, want[i])
		}
		if out[i].Diff != "" {
			t.Errorf("%s %v: JS finds the honest view differs: %s", r.View, r.Args, out[i].Diff)
		}
	}
	wantAt := []string{".rounds[0].meetings[1].tally[1].approvals", ".options[0].actions[0]", ".roster[1].name", ".options[1].actions[0]"}
	for i, r := range reads[honest:] {
		if d := out[honest+i].Diff; !strings.HasPrefix(d, "ProofError: record:") || !strings.Contains(d, wantAt[i]) {
			t.Errorf("a lying view (%s …): %q, want a ProofError at %s", r.Node[:40], d, wantAt[i])
		}
	}

	// A record the view needs without a proof; one proven absent.
	for _, k := range []state.Key{gov.OptionKey(1, 1), gov.MeetingKey(1, 1, 2), gov.TextKey(1), gov.CommentKey(2, 1), state.AccountKey(dave)} {
		for _, absent := range []bool{false, true} {
			vals := map[string]any{}
			for kk, v := range values {
				vals[kk] = v
			}
			kh := hex.EncodeToString(k[:])
			delete(vals, kh)
			if absent {
				vals[kh] = nil
			}
			view, args := "proposal", []any{"1"}
			if k == gov.CommentKey(2, 1) || k == state.AccountKey(dave) {
				view, args = "comments", []any{"2", 0}
			}
			var got []struct{ View, Diff, Error string }
			b.callModule(t, "/test/gov.js", "rebuildViews", map[string]any{"values": vals, "reads": []viewRead{{view, args, "{}"}}}, &got)
			switch {
			case k == state.AccountKey(dave) && absent:
				// proven absent: no name, as Go
				if got[0].Error != "" {
					t.Errorf("dave's account proven absent: %s", got[0].Error)
				}
			case k == gov.CommentKey(2, 1) && absent:
				if !strings.HasPrefix(got[0].Error, "NotFoundError") {
					t.Errorf("a comment proven absent: %+v", got[0])
				}
			case !strings.HasPrefix(got[0].Error, "ProofError: record:"):
				t.Errorf("%s without its record %s (absent %v): %+v", view, kh, absent, got[0])
			}
		}
	}
}
