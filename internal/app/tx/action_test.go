package tx

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/mass-consensus/mass/internal/app/sale"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/wire"
)

// textSamples are actions with their canonical text form.
func textSamples(t testing.TB) []struct {
	action Action
	text   string
} {
	node := key(t, 2).Public()
	var id crypto.ID
	id[0], id[19] = 0xab, 0x01
	ids, nodes := id.String(), node.String()
	return []struct {
		action Action
		text   string
	}{
		{&AddMember{ID: id, Name: "Eve"}, "add_member " + ids + " Eve"},
		{&AddMember{ID: id, Name: "Ada Lovelace"}, "add_member " + ids + ` "Ada Lovelace"`},
		{&AddMember{ID: id, Name: `"Q"`}, "add_member " + ids + ` "\"Q\""`},
		{&AddMember{ID: id, Name: "李雷"}, "add_member " + ids + " 李雷"},
		{&RemoveMember{ID: id}, "remove_member " + ids},
		{&ConfirmJoin{ID: id}, "confirm_join " + ids},
		{&AddNode{Key: node}, "add_node " + nodes},
		{&AddNode{Key: node, Addrs: []string{"/ip4/10.0.0.1/tcp/4001", "/dns4/n1.example/tcp/4001"}},
			"add_node " + nodes + " /ip4/10.0.0.1/tcp/4001 /dns4/n1.example/tcp/4001"},
		{&RemoveNode{Key: node}, "remove_node " + nodes},
		{&SetParam{Domain: "general", Param: "active_limit", Value: 2}, "set_param general active_limit 2"},
		{&SetParam{Domain: "general", Param: "aggregate", Value: AggregateMedian}, "set_param general aggregate median"},
		{&SetParam{Domain: "general", Param: "aggregate", Value: AggregateMean}, "set_param general aggregate mean"},
		{&SetParam{Domain: "general", Param: "aggregate", Value: 7}, "set_param general aggregate 7"},
		{&SetParam{Domain: "tech", Param: "review_window", Value: 72 * 3600_000}, "set_param tech review_window 3d"},
		{&SetParam{Domain: "tech", Param: "gather_min", Value: 5400_000}, "set_param tech gather_min 1h30m"},
		{&SetParam{Domain: "tech", Param: "publicity_unit", Value: 0}, "set_param tech publicity_unit 0"},
		{&SetParam{Domain: "tech", Param: "no_such", Value: 9}, "set_param tech no_such 9"},
		{&AddDomain{Name: "tech"}, "add_domain tech"},
		{&RemoveDomain{Name: "tech"}, "remove_domain tech"},
		{&RenameDomain{Name: "tech", NewName: "engineering"}, "rename_domain tech engineering"},
		{&Mint{To: TreasuryID, Amount: 1<<64 - 1}, "mint treasury 18446744073709551615"},
		{&Mint{To: id, Amount: 5}, "mint " + ids + " 5"},
		{&Pay{To: id, Amount: 100}, "pay " + ids + " 100"},
		{&SetVersion{Version: 1<<32 - 1, Height: 50_000}, "set_version 4294967295 50000"},
		{&Appoint{Role: "treasurer", Member: id, Term: 30 * 86_400_000}, "appoint treasurer " + ids + " 30d"},
		{&Appoint{Role: "clerk", Member: id, Term: 1500}, "appoint clerk " + ids + " 1s500ms"},
		{&Dismiss{Role: "clerk"}, "dismiss clerk"},
		{&OpenSale{Params: saleParams()}, `open_sale "Concert, row A" 100 2 1m 10m 30s 12 5 1000`},
		{&OpenSale{Params: sale.Params{Item: "seat", Supply: 1, PerRequest: 1, Window: 1, MaxAge: 1000, MaxRequests: 1}},
			"open_sale seat 1 1 0 1ms 1s 0 0 1"},
	}
}

func TestActionTextRoundTrip(t *testing.T) {
	seen := map[ActionKind]bool{}
	for _, c := range textSamples(t) {
		if got := c.action.String(); got != c.text {
			t.Errorf("%s prints %q, want %q", c.action.Kind(), got, c.text)
		}
		back, err := ParseAction(c.text)
		if err != nil {
			t.Fatalf("%q: %v", c.text, err)
		}
		if !reflect.DeepEqual(back, c.action) {
			t.Fatalf("%q reads as %#v, want %#v", c.text, back, c.action)
		}
		seen[c.action.Kind()] = true
	}
	if len(seen) != len(ActionKinds()) {
		t.Fatalf("%d kinds of %d have a text sample", len(seen), len(ActionKinds()))
	}
}

// TestActionTextForms: the forms that are not canonical read as the
// canonical ones do.
func TestActionTextForms(t *testing.T) {
	node := key(t, 2).Public()
	id := node.ID()
	for _, c := range []struct {
		text string
		want Action
	}{
		{"pay " + node.String() + " 5", &Pay{To: id, Amount: 5}},                    // a public key for its account
		{"pay " + strings.ToUpper(id.String()) + " 5", &Pay{To: id, Amount: 5}},     // uppercase hex
		{"  pay\t" + id.String() + "   5  ", &Pay{To: id, Amount: 5}},               // spaces and tabs
		{`add_member "` + id.String() + `" "Eve"`, &AddMember{ID: id, Name: "Eve"}}, // quotes where none are needed
		{"set_param tech review_window 259200000", &SetParam{Domain: "tech", Param: "review_window", Value: 259_200_000}},
		{"set_param tech review_window 72h", &SetParam{Domain: "tech", Param: "review_window", Value: 259_200_000}},
		{"set_param tech aggregate 1", &SetParam{Domain: "tech", Param: "aggregate", Value: AggregateMedian}},
		{"appoint clerk " + id.String() + " 90m", &Appoint{Role: "clerk", Member: id, Term: 5400_000}},
		{"appoint clerk " + id.String() + " 1d12h", &Appoint{Role: "clerk", Member: id, Term: 36 * 3600_000}},
		{"appoint clerk " + id.String() + " 5ms", &Appoint{Role: "clerk", Member: id, Term: 5}},
	} {
		got, err := ParseAction(c.text)
		if err != nil {
			t.Fatalf("%q: %v", c.text, err)
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Fatalf("%q reads as %s, want %s", c.text, got, c.want)
		}
	}
}

func TestActionTextRefused(t *testing.T) {
	node := key(t, 2).Public()
	ids := node.ID().String()
	var small crypto.PublicKey
	small[0] = 1
	for _, c := range []struct{ text, want string }{
		{"", "an empty action"},
		{"   ", "an empty action"},
		{"payy x 1", `unknown action "payy" (add_member, remove_member`},
		{"pay", "pay: ACCOUNT is missing (pay ACCOUNT AMOUNT)"},
		{"pay " + ids, "pay: AMOUNT is missing"},
		{"pay " + ids + " 5 6", "pay: 3 arguments, not 2"},
		{"pay bob 5", `pay: ACCOUNT "bob" is not an account: an ID (40 hex digits), a public key (64 hex digits) or treasury`},
		{"pay " + ids + " five", `pay: AMOUNT "five" is not a whole number`},
		{"pay " + ids + " -5", `AMOUNT "-5" is not a whole number`},
		{"pay " + ids + " 18446744073709551616", "is not a whole number"},
		{"pay " + ids + " 0", "pay: an amount of 0"},
		{"mint " + ids + " 05", "is not a whole number"},
		{"add_member " + ids + ` " Eve"`, "add_member: name starts with a space"},
		{"add_member " + ids + ` "Eve`, "an unterminated or invalid quoted string at byte"},
		{"add_member " + ids + ` "Eve"x`, "a quoted string is followed by 'x', not a space"},
		{"add_node 1234", `add_node: KEY "1234" is not a public key (64 hex digits)`},
		{"add_node " + small.String(), "add_node: "},
		{"add_node " + node.String() + " a b c d e f g h i", "add_node: 9 addresses, at most 8"},
		{"set_param General active_limit 2", "set_param: identifier"},
		{"set_param general aggregate average", `VALUE of aggregate: "average" is not an aggregate (mean or median)`},
		{"set_param general review_window 3 days", "4 arguments, not 3"},
		{"set_param general review_window 3x", `"3x" is not a duration`},
		{"set_param general review_window 1m1h", `"1m1h" is not a duration`},
		{"set_param general review_window 99999999999999999d", "is too long"},
		{"set_param general active_limit 2h", `VALUE of active_limit: "2h" is not a whole number`},
		{"set_version 0 5", "set_version: version 0 from height 5: both must be above 0"},
		{"set_version 4294967296 5", "VERSION 4294967296 is over 4294967295"},
		{"appoint clerk " + ids + " 0", "appoint: a term of 0 ms"},
		{"appoint clerk " + ids + " 367d", "appoint: a term of"},
		{"rename_domain tech tech", "rename_domain: domain tech renamed to itself"},
		{"rename_domain tech", "rename_domain: NEW is missing (rename_domain DOMAIN NEW)"},
		{"remove_domain 9lives", "remove_domain: identifier"},
		{"open_sale seat 0 1 0 1m 1s 0 0 1", "open_sale: sale: malformed: a supply of 0"},
		{"open_sale seat 1 1 0 1m 1s 256 0 1", "DIFFICULTY 256 is over 255"},
		{"open_sale seat 1 1 0 1m 1s 41 0 1", "a difficulty of 41 bits"},
		{"open_sale seat 1 1 0 1m 1s 0 0 4294967296", "MAX_REQUESTS 4294967296 is over"},
		{"open_sale seat 1 1 0 1m", "MAX_AGE is missing (open_sale ITEM SUPPLY"},
	} {
		a, err := ParseAction(c.text)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v (%v), want an error saying %q", c.text, err, a, c.want)
		}
	}
}

func TestActionTextResolver(t *testing.T) {
	alice, n1 := key(t, 3).Public(), key(t, 4).Public()
	names := func(w string) (crypto.PublicKey, bool) {
		switch w {
		case "alice":
			return alice, true
		case "n1":
			return n1, true
		}
		return crypto.PublicKey{}, false
	}
	a, err := ParseActionWith("pay alice 5", names)
	if err != nil || !reflect.DeepEqual(a, &Pay{To: alice.ID(), Amount: 5}) {
		t.Fatalf("pay alice 5: %v %v", a, err)
	}
	if a, err = ParseActionWith("add_node n1 /ip4/1.2.3.4/tcp/1", names); err != nil || !reflect.DeepEqual(a, &AddNode{Key: n1, Addrs: []string{"/ip4/1.2.3.4/tcp/1"}}) {
		t.Fatalf("add_node n1: %v %v", a, err)
	}
	if _, err := ParseActionWith("pay bob 5", names); err == nil {
		t.Fatal("an unknown name resolved")
	}
	if _, err := ParseAction("pay alice 5"); err == nil {
		t.Fatal("a name resolved without a resolver")
	}
}

func TestDuration(t *testing.T) {
	for _, c := range []struct {
		ms   uint64
		text string
	}{{0, "0"}, {1, "1ms"}, {999, "999ms"}, {1000, "1s"}, {90_000, "1m30s"}, {3600_000, "1h"}, {86_400_000, "1d"},
		{86_400_000 + 1, "1d1ms"}, {MaxWindow, "366d"}, {1<<64 - 1, "213503982334d14h25m51s615ms"}} {
		if got := FormatDuration(c.ms); got != c.text {
			t.Errorf("FormatDuration(%d) = %q, want %q", c.ms, got, c.text)
		}
		if got, err := ParseDuration(c.text); err != nil || got != c.ms {
			t.Errorf("ParseDuration(%q) = %d, %v; want %d", c.text, got, err, c.ms)
		}
	}
	for _, s := range []string{"", "h", "1", "1.5h", "1h1h", "1s1m", "1x", "-1s", "213503982334d14h25m51s616ms", "1 h"} {
		if v, err := ParseDuration(s); err == nil && s != "1" {
			t.Errorf("ParseDuration(%q) = %d", s, v)
		}
	}
}

// checkTextRoundTrip checks, for text that reads as an action, that the
// action prints to a canonical text that reads back the same, and that
// it encodes to bytes the decoder takes back unchanged.
func checkTextRoundTrip(t *testing.T, s string) {
	a, err := ParseAction(s)
	if err != nil {
		return
	}
	canon := a.String()
	b, err := ParseAction(canon)
	if err != nil {
		t.Fatalf("%q reads as %#v, which prints %q, which does not read: %v", s, a, canon, err)
	}
	if !reflect.DeepEqual(a, b) || b.String() != canon {
		t.Fatalf("%q: %#v prints %q, which reads as %#v", s, a, canon, b)
	}
	w := wire.NewWriter(64)
	MarshalAction(w, a)
	raw := w.Finish()
	r := wire.NewReader(raw)
	c, err := ReadAction(r)
	if err != nil || r.Done() != nil {
		t.Fatalf("%q: the decoder refuses the action read from text: %v %v", s, err, r.Done())
	}
	w2 := wire.NewWriter(64)
	MarshalAction(w2, c)
	if !reflect.DeepEqual(a, c) || !bytes.Equal(w2.Finish(), raw) {
		t.Fatalf("%q: %#v decodes as %#v", s, a, c)
	}
}

func FuzzActionText(f *testing.F) {
	for _, c := range textSamples(f) {
		f.Add(c.text)
	}
	f.Add(`add_member 00000000000000000000000000000000000000aa "\u00e9\t\x00"`)
	f.Add("appoint r treasury 1d1h1m1s1ms")
	f.Add("set_param a aggregate 18446744073709551615")
	f.Fuzz(checkTextRoundTrip)
}
