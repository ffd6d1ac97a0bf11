package gov_test

// The scenario scripts in testdata/*.txt drive the whole application
// (package orgapp, with signed transactions in blocks) through a small,
// strict line language; every line either acts or checks, and anything it
// does not understand fails the test.
//
//	# a comment
//	genesis members=a,b,c supervisors=a policy=supervisor|vote balance=N treasury=N nodes=n0,n1
//	param <domain> <name>=<value> …   genesis parameters (before the first block), values as in set_param's
//	                                  text form (10m, median); a new name adds a domain
//	at <time>                         an empty block at an absolute time or +<duration>
//	clock <time>                      the next block's time, without a block
//	batch … end                       the transactions between go in one block
//	<who> <verb> <args…> [-> ok | -> reject <code> "text" | -> fail <code> "text"]
//	expect <what> <args…> <key>=<value>|<key>~=<text> …
//	votes <id> <round> <meeting> <i,j,…>[;<i,j,…>…]
//	                                  every member of a sub-meeting votes, in one block: the
//	                                  k-th set (or the only one) for its k-th member by roster
//	                                  position; "-" abstains
//	each <who,…> <verb> <args…>       the same transaction from each, in one block; all succeed
//
// A transaction line is one block at the current time unless in a batch.
// "reject" means CheckTx refuses it with the text and, applied alone in a
// block, it fails with the code and leaves the state root unchanged;
// "fail" means it fails in its block with the code and text. Durations are
// milliseconds or end in s, m, h, d and may be summed with "+". After every
// block the runner checks that the sum at the root is the registry's
// supply.
//
// Verbs: create <domain> "<title>" [body=…] [meeting=] [publicity=]
// [capacity=] option="<title>[|action]…" …; join <id> [desire]; option <id>
// "<title>[|action]…"; comment <id> "<text>"; vote <id> <round> <i,j,…>
// [meeting=N|other] (the voter's own sub-meeting by default); freeze <id>;
// review <id> <freeze> lift|cancel; challenge <who> <domain> "<reason>"
// [desire]; apply "<name>"; transfer <to> <amount>; leave. Actions are in
// their text form (package tx: "pay bob 100", "set_param general
// aggregate median", "rename_domain tech engineering"), where a script's
// names stand for accounts and node keys ("pay bob 5", "add_node n4
// /ip4/10.0.0.4/tcp/4001").
//
// Expectations: proposal <id>, round <id> <r>, meeting <id> <r> <m>,
// account <who>, domain <name>, org, executor <role>, supply <N>, treasury
// <N>, version <height> <v>, nodes <n,…> (the node set record), nodeset
// <n,…>|nil (the last block's result), list <domain> <id:state,…>.

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mass-consensus/mass/internal/app"
	"github.com/mass-consensus/mass/internal/app/orgapp"
	"github.com/mass-consensus/mass/internal/app/state"
	"github.com/mass-consensus/mass/internal/app/tx"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/genesis"
	"github.com/mass-consensus/mass/internal/store/mem"
)

const chainID = "gov-test"

func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			newRunner(t, f).run(string(raw))
		})
	}
}

// named returns the key of a script's name.
func named(name string) *crypto.PrivateKey {
	h := sha256.Sum256([]byte("script/" + name))
	k, err := crypto.KeyFromSeed(h[:])
	if err != nil {
		panic(err)
	}
	return k
}

type runner struct {
	t       *testing.T
	file    string
	line    int
	app     *orgapp.App
	gen     orgapp.Genesis
	nodes   []string
	params  map[string]map[string]uint64
	domains []string
	height  uint64
	now     int64
	nonces  map[string]uint64
	names   map[crypto.ID]string
	last    app.Result
	batch   [][]byte
	expects [][]string // expected results of the batch's lines
	inBatch bool
}

func newRunner(t *testing.T, file string) *runner {
	return &runner{t: t, file: file, nonces: map[string]uint64{}, names: map[crypto.ID]string{}, params: map[string]map[string]uint64{}}
}

func (r *runner) fatalf(format string, args ...any) {
	r.t.Helper()
	r.t.Fatalf("%s:%d: %s", r.file, r.line, fmt.Sprintf(format, args...))
}

// tokens splits a line on spaces, keeping "quoted strings" (and
// key="quoted values") whole, without the quotes.
func tokens(line string) ([]string, error) {
	var out []string
	var cur strings.Builder
	inQuote, has := false, false
	for _, c := range line {
		switch {
		case c == '"':
			inQuote, has = !inQuote, true
		case c == ' ' && !inQuote:
			if has {
				out = append(out, cur.String())
				cur.Reset()
				has = false
			}
		default:
			cur.WriteRune(c)
			has = true
		}
	}
	if inQuote {
		return nil, errors.New("an unclosed quote")
	}
	if has {
		out = append(out, cur.String())
	}
	return out, nil
}

// num parses a number or a duration: digits with an optional unit (s, m,
// h, d), summed with "+".
func num(s string) (uint64, error) {
	var total uint64
	for _, part := range strings.Split(s, "+") {
		mult := uint64(1)
		switch {
		case strings.HasSuffix(part, "ms"):
			part = part[:len(part)-2]
		case strings.HasSuffix(part, "s"):
			mult, part = 1000, part[:len(part)-1]
		case strings.HasSuffix(part, "m"):
			mult, part = 60_000, part[:len(part)-1]
		case strings.HasSuffix(part, "h"):
			mult, part = 3_600_000, part[:len(part)-1]
		case strings.HasSuffix(part, "d"):
			mult, part = 86_400_000, part[:len(part)-1]
		}
		v, err := strconv.ParseUint(part, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a number or duration", s)
		}
		total += v * mult
	}
	return total, nil
}

func (r *runner) num(s string) uint64 {
	r.t.Helper()
	v, err := num(s)
	if err != nil {
		r.fatalf("%v", err)
	}
	return v
}

func (r *runner) id(name string) crypto.ID {
	if name == "treasury" {
		return crypto.ID(state.TreasuryKey)
	}
	id := named(name).Public().ID()
	r.names[id] = name
	return id
}

func (r *runner) nameOf(hexID string) string {
	id, err := crypto.ParseID(hexID)
	if err != nil {
		return hexID
	}
	if n, ok := r.names[id]; ok {
		return n
	}
	return hexID
}

func (r *runner) run(script string) {
	lines := strings.Split(script, "\n")
	for i, raw := range lines {
		r.line = i + 1
		line := strings.TrimSpace(raw)
		if c := strings.Index(line, "#"); c >= 0 && !strings.Contains(line[:c], `"`) {
			line = strings.TrimSpace(line[:c])
		}
		if line == "" {
			continue
		}
		tok, err := tokens(line)
		if err != nil {
			r.fatalf("%v", err)
		}
		r.exec(tok)
	}
	if r.inBatch {
		r.fatalf("a batch without end")
	}
	if r.app == nil {
		r.fatalf("no genesis")
	}
}

func (r *runner) exec(tok []string) {
	switch tok[0] {
	case "genesis":
		r.genesis(tok[1:])
	case "param":
		if r.app != nil || len(tok) < 2 {
			r.fatalf("param <domain> k=v… comes before the first block")
		}
		if r.params[tok[1]] == nil {
			r.params[tok[1]] = map[string]uint64{}
			r.domains = append(r.domains, tok[1])
		}
		for _, kv := range tok[2:] {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				r.fatalf("param: %q is not k=v", kv)
			}
			n, err := tx.ParseParamValue(k, v)
			if err != nil {
				r.fatalf("param %s: %v", k, err)
			}
			r.params[tok[1]][k] = n
		}
	case "at", "clock":
		r.start()
		if len(tok) != 2 || r.inBatch {
			r.fatalf("%s <time>, outside a batch", tok[0])
		}
		t := int64(0)
		if rel, ok := strings.CutPrefix(tok[1], "+"); ok {
			t = r.now + int64(r.num(rel))
		} else {
			t = int64(r.num(tok[1]))
		}
		if t < r.now {
			r.fatalf("time goes back: %d after %d", t, r.now)
		}
		r.now = t
		if tok[0] == "at" {
			r.block(nil)
		}
	case "batch":
		r.start()
		r.inBatch = true
	case "end":
		if !r.inBatch {
			r.fatalf("end without batch")
		}
		r.inBatch = false
		res := r.block(r.batch)
		for i, want := range r.expects {
			r.checkResult(res.Txs[i], want, fmt.Sprintf("transaction %d of the batch", i))
		}
		r.batch, r.expects = nil, nil
	case "votes":
		r.start()
		if len(tok) != 5 || r.inBatch {
			r.fatalf("votes <id> <round> <meeting> <options>[;<options>…], outside a batch")
		}
		r.votes(r.u64(tok[1]), uint8(r.u64(tok[2])), int(r.u64(tok[3])), strings.Split(tok[4], ";"))
	case "each":
		r.start()
		if len(tok) < 3 || r.inBatch {
			r.fatalf("each <who,…> <verb> <args…>, outside a batch")
		}
		var txs [][]byte
		for _, who := range strings.Split(tok[1], ",") {
			txs = append(txs, r.sign(who, r.body(who, tok[2], tok[3:]), true))
		}
		for i, x := range r.block(txs).Txs {
			r.checkResult(x, []string{"ok"}, fmt.Sprintf("transaction %d", i))
		}
	case "expect":
		r.start()
		if r.inBatch {
			r.fatalf("expect inside a batch")
		}
		r.expect(tok[1:])
	default:
		r.start()
		r.txLine(tok)
	}
}

func (r *runner) genesis(args []string) {
	if r.app != nil || r.gen.Organization != "" {
		r.fatalf("genesis twice")
	}
	r.gen = orgapp.Genesis{Organization: "Script Co-op", Policy: "supervisor"}
	kv := map[string]string{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			r.fatalf("genesis: %q is not k=v", a)
		}
		kv[k] = v
	}
	sup := map[string]bool{}
	for _, s := range strings.Split(kv["supervisors"], ",") {
		sup[s] = true
	}
	var balance uint64
	for k, v := range kv {
		switch k {
		case "policy":
			r.gen.Policy = v
		case "balance":
			balance = r.num(v)
		case "treasury":
			r.gen.Treasury = r.num(v)
		case "nodes":
			r.nodes = strings.Split(v, ",")
		case "members", "supervisors":
		default:
			r.fatalf("genesis: unknown %q", k)
		}
	}
	for _, m := range strings.Split(kv["members"], ",") {
		role := "member"
		if sup[m] {
			role = "supervisor"
		}
		r.id(m)
		r.gen.Accounts = append(r.gen.Accounts, orgapp.GenesisAccount{Key: named(m).Public().String(), Name: m, Role: role, Balance: balance})
	}
	if len(r.nodes) == 0 {
		r.nodes = []string{"n0"}
	}
}

// start opens the application at the first line after the genesis.
func (r *runner) start() {
	if r.app != nil {
		return
	}
	if r.gen.Organization == "" {
		r.fatalf("no genesis line first")
	}
	if len(r.domains) > 0 {
		r.gen.Governance = &orgapp.GenesisGovernance{}
		for _, d := range r.domains {
			r.gen.Governance.Domains = append(r.gen.Governance.Domains, orgapp.GenesisDomain{Name: d, Params: r.params[d]})
		}
	}
	raw, err := json.Marshal(r.gen)
	if err != nil {
		r.fatalf("%v", err)
	}
	g := &genesis.Genesis{ChainID: chainID, App: raw}
	for _, n := range r.nodes {
		g.Nodes = append(g.Nodes, genesis.Node{Key: named(n).Public().String()})
	}
	if r.app, err = orgapp.New(mem.New(), g, orgapp.Options{}); err != nil {
		r.fatalf("genesis: %v", err)
	}
}

// block applies a block at the current time and checks that the sum at the
// root is the registry's supply.
func (r *runner) block(txs [][]byte) app.Result {
	r.t.Helper()
	r.height++
	res, err := r.app.ApplyBlock(app.Block{Height: r.height, Time: r.now, Txs: txs})
	if err != nil {
		r.fatalf("block %d: %v", r.height, err)
	}
	r.last = res
	supply, err := r.app.Supply(r.height)
	if err != nil {
		r.fatalf("%v", err)
	}
	g, err := r.app.Governance(r.height)
	if err != nil {
		r.fatalf("%v", err)
	}
	if supply != g.Supply {
		r.fatalf("the sum at the root is %d, the registry's supply %d", supply, g.Supply)
	}
	return res
}

var codes = map[string]uint32{
	"ok": orgapp.CodeOK, "malformed": orgapp.CodeMalformed, "signature": orgapp.CodeBadSignature, "nonce": orgapp.CodeBadNonce,
	"funds": orgapp.CodeFunds, "not_permitted": orgapp.CodeNotPermitted, "invalid": orgapp.CodeInvalid,
	"phase": orgapp.CodePhase, "limit": orgapp.CodeLimit,
}

// checkResult checks a result against ok, reject <code> <text> or fail
// <code> <text>.
func (r *runner) checkResult(res app.TxResult, f []string, what string) {
	r.t.Helper()
	if f[0] == "ok" {
		if res.Code != orgapp.CodeOK {
			r.fatalf("%s failed: code %d: %s", what, res.Code, res.Log)
		}
		return
	}
	if len(f) != 3 {
		r.fatalf("a result is ok, reject <code> \"text\" or fail <code> \"text\"")
	}
	code, ok := codes[f[1]]
	if !ok {
		r.fatalf("unknown code %q", f[1])
	}
	if res.Code != code || !strings.Contains(res.Log, f[2]) {
		r.fatalf("%s: code %d %q, want %d %q", what, res.Code, res.Log, code, f[2])
	}
}

func (r *runner) txLine(tok []string) {
	f := []string{"ok"}
	if i := slices.Index(tok, "->"); i >= 0 {
		f = tok[i+1:]
		tok = tok[:i]
	}
	if len(tok) < 2 || len(f) == 0 {
		r.fatalf("<who> <verb> … [-> result]")
	}
	raw := r.sign(tok[0], r.body(tok[0], tok[1], tok[2:]), f[0] == "ok")
	if r.inBatch {
		r.batch = append(r.batch, raw)
		r.expects = append(r.expects, f)
		return
	}
	if f[0] == "reject" {
		if len(f) != 3 {
			r.fatalf("reject <code> \"text\"")
		}
		err := r.app.CheckTx(raw)
		if !errors.Is(err, app.ErrRejected) || !strings.Contains(err.Error(), f[2]) {
			r.fatalf("CheckTx: %v, want a rejection saying %q", err, f[2])
		}
		_, before, _ := r.app.Info()
		res := r.block([][]byte{raw})
		r.checkResult(res.Txs[0], f, "the transaction")
		if res.StateRoot != before {
			r.fatalf("a rejected transaction changed the state")
		}
		return
	}
	if f[0] == "ok" {
		if err := r.app.CheckTx(raw); err != nil {
			r.fatalf("CheckTx: %v", err)
		}
	}
	res := r.block([][]byte{raw})
	r.checkResult(res.Txs[0], f, "the transaction")
}

// sign signs a body from who with its next nonce (a transfer is cosigned
// by its recipient); a transaction expected to fail does not use its
// nonce.
func (r *runner) sign(who string, body tx.Body, ok bool) []byte {
	n := r.nonces[who]
	if ok {
		r.nonces[who] = n + 1
	}
	x := tx.New(named(who).Public(), n, body)
	if err := x.Sign(chainID, named(who)); err != nil {
		r.fatalf("%v", err)
	}
	if b, isTransfer := body.(*tx.Transfer); isTransfer {
		if err := x.Sign(chainID, named(r.names[b.To.ID()])); err != nil {
			r.fatalf("%v", err)
		}
	}
	return x.Marshal()
}

func (r *runner) desire(kv map[string]string) tx.Desire {
	d := tx.Desire{Meeting: 60 * 60_000, Publicity: 60 * 60_000, Capacity: 8}
	if v, ok := kv["meeting"]; ok {
		d.Meeting = r.num(v)
	}
	if v, ok := kv["publicity"]; ok {
		d.Publicity = r.num(v)
	}
	if v, ok := kv["capacity"]; ok {
		d.Capacity = uint16(r.num(v))
	}
	return d
}

// split separates positional arguments from k=v ones (option= may
// repeat).
func (r *runner) split(args []string, allowed ...string) (pos []string, kv map[string]string, options []string) {
	kv = map[string]string{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || strings.ContainsAny(k, " (|") {
			pos = append(pos, a)
			continue
		}
		if !slices.Contains(allowed, k) {
			r.fatalf("unknown argument %q", k)
		}
		if k == "option" {
			options = append(options, v)
		} else {
			kv[k] = v
		}
	}
	return pos, kv, options
}

func (r *runner) u64(s string) uint64 {
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		r.fatalf("%q is not a number", s)
	}
	return v
}

func (r *runner) body(who, verb string, args []string) tx.Body {
	desireKeys := []string{"meeting", "publicity", "capacity"}
	switch verb {
	case "create":
		pos, kv, opts := r.split(args, append(desireKeys, "option", "body")...)
		if len(pos) != 2 {
			r.fatalf("create <domain> <title> …")
		}
		b := &tx.Create{Domain: pos[0], Title: pos[1], Body: kv["body"], Desire: r.desire(kv)}
		for _, o := range opts {
			b.Options = append(b.Options, r.option(o))
		}
		return b
	case "join":
		pos, kv, _ := r.split(args, desireKeys...)
		if len(pos) != 1 {
			r.fatalf("join <id> …")
		}
		return &tx.Join{Proposal: r.u64(pos[0]), Desire: r.desire(kv)}
	case "option":
		if len(args) != 2 {
			r.fatalf("option <id> <option>")
		}
		return &tx.AddOption{Proposal: r.u64(args[0]), Option: r.option(args[1])}
	case "comment":
		if len(args) != 2 {
			r.fatalf("comment <id> <text>")
		}
		return &tx.Comment{Proposal: r.u64(args[0]), Text: args[1]}
	case "vote":
		pos, kv, _ := r.split(args, "meeting")
		if len(pos) != 3 {
			r.fatalf("vote <id> <round> <options>")
		}
		b := &tx.Vote{Proposal: r.u64(pos[0]), Round: uint8(r.u64(pos[1]))}
		for _, s := range strings.Split(pos[2], ",") {
			b.Approve = append(b.Approve, uint8(r.u64(s)))
		}
		if m, ok := kv["meeting"]; ok && m == "other" {
			p := r.proposal(b.Proposal)
			b.Meeting = (r.meetingOf(who, b.Proposal, b.Round) + 1) % uint16(len(p.Rounds[b.Round-1].Meetings))
		} else if ok {
			b.Meeting = uint16(r.u64(m))
		} else {
			b.Meeting = r.meetingOf(who, b.Proposal, b.Round)
		}
		return b
	case "freeze":
		if len(args) != 1 {
			r.fatalf("freeze <id>")
		}
		return &tx.Freeze{Proposal: r.u64(args[0])}
	case "review":
		if len(args) != 3 || args[2] != "lift" && args[2] != "cancel" {
			r.fatalf("review <id> <freeze> lift|cancel")
		}
		return &tx.Review{Proposal: r.u64(args[0]), Freeze: uint8(r.u64(args[1])), Lift: args[2] == "lift"}
	case "challenge":
		pos, kv, _ := r.split(args, desireKeys...)
		if len(pos) != 3 {
			r.fatalf("challenge <who> <domain> <reason>")
		}
		return &tx.Challenge{Target: r.id(pos[0]), Domain: pos[1], Reason: pos[2], Desire: r.desire(kv)}
	case "apply":
		if len(args) != 1 {
			r.fatalf("apply <name>")
		}
		return &tx.Apply{Name: args[0]}
	case "leave":
		return &tx.Leave{}
	case "transfer":
		if len(args) != 2 {
			r.fatalf("transfer <to> <amount>")
		}
		r.id(args[0])
		return &tx.Transfer{To: named(args[0]).Public(), Amount: r.num(args[1])}
	}
	r.fatalf("unknown verb %q", verb)
	return nil
}

// votes casts the ballots of every member of a sub-meeting in one block.
func (r *runner) votes(id uint64, round uint8, m int, sets []string) {
	p := r.proposal(id)
	if round == 0 || int(round) > len(p.Rounds) || m >= len(p.Rounds[round-1].Meetings) {
		r.fatalf("proposal %d has no meeting %d in round %d", id, m, round)
	}
	members := p.Rounds[round-1].Meetings[m].Members
	if len(sets) != 1 && len(sets) != len(members) {
		r.fatalf("%d option sets for %d members", len(sets), len(members))
	}
	var txs [][]byte
	for k, member := range members {
		set := sets[0]
		if len(sets) > 1 {
			set = sets[k]
		}
		if set == "-" {
			continue
		}
		who := r.nameOf(member)
		b := &tx.Vote{Proposal: id, Round: round, Meeting: uint16(m)}
		for _, x := range strings.Split(set, ",") {
			b.Approve = append(b.Approve, uint8(r.u64(x)))
		}
		txs = append(txs, r.sign(who, b, true))
	}
	res := r.block(txs)
	for i, x := range res.Txs {
		r.checkResult(x, []string{"ok"}, fmt.Sprintf("ballot %d", i))
	}
}

// meetingOf finds who's sub-meeting in a round of a proposal (0 if none).
func (r *runner) meetingOf(who string, id uint64, round uint8) uint16 {
	p, err := r.app.Proposal(r.height, id)
	if err != nil || int(round) > len(p.Rounds) || round == 0 {
		return 0
	}
	me := r.id(who).String()
	for _, m := range p.Rounds[round-1].Meetings {
		if slices.Contains(m.Members, me) {
			return m.Index
		}
	}
	return 0
}

// option parses "<title>[|action]…".
func (r *runner) option(s string) tx.Option {
	parts := strings.Split(s, "|")
	o := tx.Option{Title: parts[0]}
	for _, a := range parts[1:] {
		o.Actions = append(o.Actions, r.action(strings.TrimSpace(a)))
	}
	return o
}

// action reads an action in its text form (tx.ParseAction), where the
// script's names stand for accounts and node keys.
func (r *runner) action(s string) tx.Action {
	a, err := tx.ParseActionWith(s, func(name string) (crypto.PublicKey, bool) {
		r.id(name)
		return named(name).Public(), true
	})
	if err != nil {
		r.fatalf("action %q: %v", s, err)
	}
	return a
}
