package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mass-consensus/mass/internal/apijson"
	"github.com/mass-consensus/mass/internal/app/gov"
	"github.com/mass-consensus/mass/internal/app/orgapp"
	"github.com/mass-consensus/mass/internal/app/tx"
	"github.com/mass-consensus/mass/internal/client"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/wire"
)

const proposalUsage = `usage:
  mass proposal create    --key FILE [--domain NAME] --title TEXT [--body TEXT | --body-file FILE]
                          (--option TITLE | --options FILE)... --meeting DUR --publicity DUR --capacity N
  mass proposal join      --key FILE --proposal ID --meeting DUR --publicity DUR --capacity N
  mass proposal option    --key FILE --proposal ID --title TEXT [--actions FILE]
  mass proposal comment   --key FILE --proposal ID (--text TEXT | --text-file FILE)
  mass proposal vote      --key FILE --proposal ID --approve 0,2 [--round R] [--meeting M]
  mass proposal freeze    --key FILE --proposal ID
  mass proposal review    --key FILE --proposal ID (--lift | --cancel) [--freeze N]
  mass proposal challenge --key FILE --target ACCOUNT [--domain NAME] (--reason TEXT | --reason-file FILE)
                          --meeting DUR --publicity DUR --capacity N
  mass proposal show      ID [--height H] [--prove] [--json]
  mass proposal list      [--domain NAME] [--page N] [--json]
  mass proposal domains   [--json]

Every command takes --api ADDR (default 127.0.0.1:8080). The commands that sign
also take, as 'mass tx' does, --nonce N (default: the account's next), --out FILE
(write the transaction as hex instead of sending it) and --wait (wait for the
commit and show its result). create and challenge wait by default, and print
the new proposal's ID once committed (--wait=false returns at once; then
'mass tx status HASH' or GET /v1/txs/HASH shows the ID). --domain defaults to
general.

DUR is a duration in Go syntax ("90s", "10m", "24h", "1h30m"), optionally led
by whole days ("7d", "1d12h"); it is sent in milliseconds (1 ms … 366 d). The
windows and the capacity (2 … 1024) must also lie within the domain's bounds
('mass proposal domains' shows them).

create: the options are numbered in the order they are given. --option TITLE
adds an option without actions; --options FILE adds those of a file, in the
text form: each option's title on a line of its own, its actions (at most 8)
on the lines below it, indented; empty lines and lines led by # are skipped:
  Pay Alice
      pay ACCOUNT 5
  Engineering, not tech
      rename_domain tech engineering
      set_param engineering aggregate median
  Do nothing
A file that starts with "[" is JSON instead: [{"title": "Pay Alice",
"actions": ["pay ACCOUNT 5"]}, {"title": "Do nothing"}], where an action is
its text form or an object of its arguments by name, e.g.
{"kind": "pay", "to": ACCOUNT, "amount": 5} (the names: add_member id name,
remove_member id, confirm_join id, add_node key addrs (a list), remove_node key,
set_param domain param value, add_domain name, remove_domain name,
rename_domain name new_name, mint to amount, pay to amount, set_version
version height, appoint role member term, dismiss role).
option: --actions FILE lists the option's actions, one a line (or JSON).

Actions, in their text form (arguments with spaces go in double quotes):
  add_member    ACCOUNT NAME
  remove_member ACCOUNT
  confirm_join  ACCOUNT           (accepts a pending application)
  add_node      KEY [ADDR …]      (at most 8 addresses)
  remove_node   KEY
  set_param     DOMAIN PARAM VALUE
  add_domain    DOMAIN
  remove_domain DOMAIN            (none of its proposals active; its queued ones are dropped)
  rename_domain DOMAIN NEW        (its proposals go with it)
  mint          ACCOUNT AMOUNT    (ACCOUNT may be "treasury")
  pay           ACCOUNT AMOUNT    (from the treasury)
  set_version   VERSION HEIGHT    (in force from that height)
  appoint       ROLE ACCOUNT TERM
  dismiss       ROLE
ACCOUNT is a 40-hex account ID or a 64-hex public key, KEY a 64-hex public key,
DOMAIN, NEW, PARAM and ROLE identifiers (1-32 bytes of a-z 0-9 _ - led by a
letter), TERM a duration (90s, 10m, 1h30m, 7d, or milliseconds). VALUE is a
duration for the parameters in milliseconds, mean or median for aggregate, a
number for active_limit, max_queued, capacity_min and capacity_max. The
domain general is neither removed nor renamed.

vote: --approve lists the option indexes approved. Without --round and --meeting
it reads the proposal and uses its current round and the sub-meeting the key's
account was drawn into.
review: --freeze defaults to the proposal's last freeze.`

// runProposal runs 'mass proposal CMD'.
func runProposal(args []string) error {
	return runSubcommand(proposalUsage, "proposal", map[string]func([]string) error{
		"create": proposalCreate, "join": proposalJoin, "option": proposalOption, "comment": proposalComment,
		"vote": proposalVote, "freeze": proposalFreeze, "review": proposalReview, "challenge": proposalChallenge,
		"show": proposalShow, "list": proposalList, "domains": proposalDomains,
	}, args)
}

// runSubcommand runs the subcommand args[0] of a command named what:
// "help", -h and --help print usage; an unknown subcommand is an error
// that shows it; a subcommand's -h is not an error.
func runSubcommand(usage, what string, commands map[string]func([]string) error, args []string) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	run, ok := commands[args[0]]
	if !ok {
		if args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
			fmt.Println(usage)
			return nil
		}
		return fmt.Errorf("unknown %s command %q\n%s", what, args[0], usage)
	}
	err := run(args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

// proposalFlags returns a silent flag set (silentFlags).
func proposalFlags(name string) *flag.FlagSet { return silentFlags("proposal " + name) }

// silentFlags returns a silent flag set: a flag error is returned, to be
// shown once, and -h shows the flags (parseArgs).
func silentFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseArgs parses flags placed before, between or after the positional
// arguments, and returns those.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(os.Stderr)
				fmt.Fprintf(os.Stderr, "flags of mass %s ('mass proposal help' shows every form and the actions):\n", fs.Name())
				fs.PrintDefaults()
			}
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// parseFlags parses a command without positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) error {
	pos, err := parseArgs(fs, args)
	if err == nil && len(pos) > 0 {
		err = fmt.Errorf("unexpected argument %q", pos[0])
	}
	return err
}

func proposalCreate(args []string) error {
	fs := proposalFlags("create")
	f := addTxFlags(fs)
	domain := fs.String("domain", "general", "the proposal's domain")
	title := fs.String("title", "", "the proposal's title (1-200 bytes)")
	body := fs.String("body", "", "the proposal's text (at most 16 KiB; may be empty)")
	bodyFile := fs.String("body-file", "", "read the proposal's text from this file")
	var opts optionsFlags
	fs.Var(optionTitleFlag{&opts}, "option", "add an option without actions (repeatable)")
	fs.Var(optionsFileFlag{&opts}, "options", "add the options of a JSON file (repeatable; see 'mass proposal help')")
	d := addDesireFlags(fs)
	*f.wait = true // the ID is known once committed
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := checkIdent("--domain", *domain); err != nil {
		return err
	}
	if err := checkText("--title", *title, tx.MaxTitle, false); err != nil {
		return err
	}
	text, err := textArg("--body", *body, *bodyFile, tx.MaxBody, false)
	if err != nil {
		return err
	}
	if len(opts) == 0 {
		return errors.New("give at least one option (--option TITLE or --options FILE)")
	}
	if len(opts) > tx.MaxOptions {
		return fmt.Errorf("%d options: at most %d", len(opts), tx.MaxOptions)
	}
	desire, err := d.desire()
	if err != nil {
		return err
	}
	k, err := f.signer()
	if err != nil {
		return err
	}
	return sendTx(f.client(), f, k, &tx.Create{Domain: *domain, Title: *title, Body: text, Options: opts, Desire: desire})
}

func proposalJoin(args []string) error {
	fs := proposalFlags("join")
	f := addTxFlags(fs)
	id := proposalIDFlag(fs)
	d := addDesireFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := checkProposalID(*id); err != nil {
		return err
	}
	desire, err := d.desire()
	if err != nil {
		return err
	}
	k, err := f.signer()
	if err != nil {
		return err
	}
	return sendTx(f.client(), f, k, &tx.Join{Proposal: *id, Desire: desire})
}

func proposalOption(args []string) error {
	fs := proposalFlags("option")
	f := addTxFlags(fs)
	id := proposalIDFlag(fs)
	title := fs.String("title", "", "the option's title (1-200 bytes)")
	actionsFile := fs.String("actions", "", "a JSON file listing the option's actions (see 'mass proposal help')")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := checkProposalID(*id); err != nil {
		return err
	}
	if err := checkText("--title", *title, tx.MaxTitle, false); err != nil {
		return err
	}
	o := tx.Option{Title: *title}
	if *actionsFile != "" {
		data, err := os.ReadFile(*actionsFile)
		if err != nil {
			return err
		}
		if o.Actions, err = parseActionsFile(data); err != nil {
			return fmt.Errorf("%s: %w", *actionsFile, err)
		}
		if err := checkOption(o); err != nil {
			return fmt.Errorf("%s: %w", *actionsFile, err)
		}
	}
	k, err := f.signer()
	if err != nil {
		return err
	}
	return sendTx(f.client(), f, k, &tx.AddOption{Proposal: *id, Option: o})
}

func proposalComment(args []string) error {
	fs := proposalFlags("comment")
	f := addTxFlags(fs)
	id := proposalIDFlag(fs)
	text := fs.String("text", "", "the comment (1-2048 bytes)")
	textFile := fs.String("text-file", "", "read the comment from this file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := checkProposalID(*id); err != nil {
		return err
	}
	s, err := textArg("--text", *text, *textFile, tx.MaxComment, true)
	if err != nil {
		return err
	}
	k, err := f.signer()
	if err != nil {
		return err
	}
	return sendTx(f.client(), f, k, &tx.Comment{Proposal: *id, Text: s})
}

func proposalVote(args []string) error {
	fs := proposalFlags("vote")
	f := addTxFlags(fs)
	id := proposalIDFlag(fs)
	approve := fs.String("approve", "", "the indexes of the options approved, e.g. 0,2")
	round := fs.Uint64("round", 0, "the round (default: the proposal's current round)")
	meeting := fs.Int64("meeting", -1, "the sub-meeting (-1: the one the key's account is in)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := checkProposalID(*id); err != nil {
		return err
	}
	indexes, err := parseApprove(*approve)
	if err != nil {
		return err
	}
	if *round > math.MaxUint8 {
		return fmt.Errorf("--round %d: rounds are numbered 1 … 255", *round)
	}
	if *meeting > math.MaxUint16 {
		return fmt.Errorf("--meeting %d: at most %d", *meeting, math.MaxUint16)
	}
	k, err := f.signer()
	if err != nil {
		return err
	}
	c := f.client()
	v := &tx.Vote{Proposal: *id, Round: uint8(*round), Meeting: uint16(max(*meeting, 0)), Approve: indexes}
	if *round == 0 || *meeting < 0 {
		p, err := readProposal(c, *id)
		if err != nil {
			return err
		}
		if v.Round, v.Meeting, err = ballotPlace(p, k.Public().ID(), v.Round); err != nil {
			return err
		}
		if *meeting >= 0 && uint16(*meeting) != v.Meeting {
			return fmt.Errorf("--meeting %d: account %s is in sub-meeting %d of round %d", *meeting, k.Public().ID(), v.Meeting, v.Round)
		}
		fmt.Fprintf(os.Stderr, "voting in round %d, sub-meeting %d\n", v.Round, v.Meeting)
	}
	return sendTx(c, f, k, v)
}

func proposalFreeze(args []string) error {
	fs := proposalFlags("freeze")
	f := addTxFlags(fs)
	id := proposalIDFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := checkProposalID(*id); err != nil {
		return err
	}
	k, err := f.signer()
	if err != nil {
		return err
	}
	return sendTx(f.client(), f, k, &tx.Freeze{Proposal: *id})
}

func proposalReview(args []string) error {
	fs := proposalFlags("review")
	f := addTxFlags(fs)
	id := proposalIDFlag(fs)
	lift := fs.Bool("lift", false, "vote to lift the freeze")
	cancel := fs.Bool("cancel", false, "vote to cancel the proposal")
	freeze := fs.Uint64("freeze", 0, "the freeze's number, from 1 (default: the proposal's last)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := checkProposalID(*id); err != nil {
		return err
	}
	if *lift == *cancel {
		return errors.New("give one of --lift and --cancel")
	}
	if *freeze > math.MaxUint8 {
		return fmt.Errorf("--freeze %d: freezes are numbered 1 … 255", *freeze)
	}
	k, err := f.signer()
	if err != nil {
		return err
	}
	c := f.client()
	r := &tx.Review{Proposal: *id, Freeze: uint8(*freeze), Lift: *lift}
	if r.Freeze == 0 {
		p, err := readProposal(c, *id)
		if err != nil {
			return err
		}
		switch {
		case p.Freezes == 0:
			return fmt.Errorf("proposal %d has never been frozen: there is nothing to review", *id)
		case p.State != "review":
			return fmt.Errorf("proposal %d is %s, not under review", *id, p.State)
		}
		r.Freeze = p.Freezes
	}
	return sendTx(c, f, k, r)
}

func proposalChallenge(args []string) error {
	fs := proposalFlags("challenge")
	f := addTxFlags(fs)
	target := fs.String("target", "", "the member challenged: account ID, public key or key file")
	domain := fs.String("domain", "general", "the challenge's domain")
	reason := fs.String("reason", "", "why (1 byte to 16 KiB)")
	reasonFile := fs.String("reason-file", "", "read the reason from this file")
	d := addDesireFlags(fs)
	*f.wait = true // the ID is known once committed
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *target == "" {
		return errors.New("--target is required")
	}
	id, err := accountArg(*target)
	if err != nil {
		return fmt.Errorf("--target: %w", err)
	}
	if err := checkIdent("--domain", *domain); err != nil {
		return err
	}
	text, err := textArg("--reason", *reason, *reasonFile, tx.MaxBody, true)
	if err != nil {
		return err
	}
	desire, err := d.desire()
	if err != nil {
		return err
	}
	k, err := f.signer()
	if err != nil {
		return err
	}
	return sendTx(f.client(), f, k, &tx.Challenge{Target: id, Domain: *domain, Reason: text, Desire: desire})
}

func proposalShow(args []string) error {
	fs := proposalFlags("show")
	api := addAPIFlag(fs)
	height := fs.Uint64("height", 0, "height to read at (default: the latest certified)")
	prove := fs.Bool("prove", false, "ask for the proofs of the records the view is built from")
	asJSON := fs.Bool("json", false, "print the node's JSON answer")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("usage: mass proposal show ID [--height H] [--prove] [--json]")
	}
	id, err := strconv.ParseUint(pos[0], 10, 64)
	if err != nil || id == 0 {
		return fmt.Errorf("%q is not a proposal ID (1, 2, …)", pos[0])
	}
	r, err := api.client().Proposal(context.Background(), id, client.At{Height: *height, Prove: *prove})
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(os.Stdout, r)
	}
	printProposal(os.Stdout, r, time.Now())
	return nil
}

func proposalList(args []string) error {
	fs := proposalFlags("list")
	api := addAPIFlag(fs)
	domain := fs.String("domain", "general", "the domain")
	page := fs.Uint64("page", 0, "the page, from 0 (256 proposals a page, in creation order)")
	asJSON := fs.Bool("json", false, "print the node's JSON answer")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := checkIdent("--domain", *domain); err != nil {
		return err
	}
	if *page > math.MaxUint32 {
		return fmt.Errorf("--page %d: too large", *page)
	}
	r, err := api.client().Proposals(context.Background(), *domain, uint32(*page), client.At{})
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(os.Stdout, r)
	}
	printProposalList(os.Stdout, r.Height, r.List)
	return nil
}

func proposalDomains(args []string) error {
	fs := proposalFlags("domains")
	api := addAPIFlag(fs)
	asJSON := fs.Bool("json", false, "print the node's JSON answer")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	r, err := api.client().Governance(context.Background(), client.At{})
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(os.Stdout, r)
	}
	printGovernance(os.Stdout, r.Height, r.Governance, time.Now())
	return nil
}

// ---- flags and their checks ----

func proposalIDFlag(fs *flag.FlagSet) *uint64 {
	return fs.Uint64("proposal", 0, "the proposal's ID")
}

func checkProposalID(id uint64) error {
	if id == 0 {
		return errors.New("--proposal is required (a proposal's ID: 1, 2, …)")
	}
	return nil
}

// desireFlags are a participant's desired windows and capacity.
type desireFlags struct {
	meeting, publicity *string
	capacity           *uint64
}

func addDesireFlags(fs *flag.FlagSet) desireFlags {
	return desireFlags{
		meeting:   fs.String("meeting", "", "desired meeting window, e.g. 10m, 24h, 7d (the meeting and each round last the participants' mean, or median)"),
		publicity: fs.String("publicity", "", "desired publicity window, e.g. 1h, 3d"),
		capacity:  fs.Uint64("capacity", 0, "desired sub-meeting capacity (2 … 1024)"),
	}
}

func (d desireFlags) desire() (tx.Desire, error) {
	m, err := windowArg("--meeting", *d.meeting)
	if err != nil {
		return tx.Desire{}, err
	}
	p, err := windowArg("--publicity", *d.publicity)
	if err != nil {
		return tx.Desire{}, err
	}
	switch {
	case *d.capacity == 0:
		return tx.Desire{}, fmt.Errorf("--capacity is required (%d … %d)", tx.MinCapacity, tx.MaxCapacity)
	case *d.capacity < tx.MinCapacity || *d.capacity > tx.MaxCapacity:
		return tx.Desire{}, fmt.Errorf("--capacity %d: not in %d … %d", *d.capacity, tx.MinCapacity, tx.MaxCapacity)
	}
	return tx.Desire{Meeting: m, Publicity: p, Capacity: uint16(*d.capacity)}, nil
}

func windowArg(name, s string) (uint64, error) {
	if s == "" {
		return 0, fmt.Errorf("%s is required (a duration such as 10m, 24h or 7d)", name)
	}
	ms, err := parseMillis(s)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	if ms == 0 || ms > tx.MaxWindow {
		return 0, fmt.Errorf("%s %s: not in 1ms … 366d", name, s)
	}
	return ms, nil
}

// parseMillis reads a duration in Go syntax ("90s", "10m", "1h30m"),
// optionally led by whole days ("7d", "1d12h"), as milliseconds.
func parseMillis(s string) (uint64, error) {
	var days uint64
	rest := s
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n, err := strconv.ParseUint(s[:i], 10, 32)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration (e.g. 90s, 10m, 24h, 7d)", s)
		}
		days, rest = n, s[i+1:]
	}
	var d time.Duration
	if rest != "" || days == 0 {
		var err error
		if d, err = time.ParseDuration(rest); err != nil {
			return 0, fmt.Errorf("%q is not a duration (e.g. 90s, 10m, 24h, 7d)", s)
		}
	}
	switch {
	case d < 0:
		return 0, fmt.Errorf("%q is negative", s)
	case d%time.Millisecond != 0:
		return 0, fmt.Errorf("%q is not a whole number of milliseconds", s)
	case days > math.MaxUint64/gov.Day:
		return 0, fmt.Errorf("%q is too long", s)
	}
	ms := days*gov.Day + uint64(d/time.Millisecond)
	if ms < days*gov.Day {
		return 0, fmt.Errorf("%q is too long", s)
	}
	return ms, nil
}

// parseApprove reads a list of option indexes ("0,2"), in any order, and
// returns them increasing.
func parseApprove(s string) ([]uint8, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("--approve is required (the indexes of the options approved, e.g. 0,2)")
	}
	var out []uint8
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		n, err := strconv.ParseUint(part, 10, 8)
		if err != nil || n >= tx.MaxOptions {
			return nil, fmt.Errorf("--approve: %q is not an option index (0 … %d)", part, tx.MaxOptions-1)
		}
		if slices.Contains(out, uint8(n)) {
			return nil, fmt.Errorf("--approve: option %d is given twice", n)
		}
		out = append(out, uint8(n))
	}
	slices.Sort(out)
	return out, nil
}

// textArg returns a text given inline or in a file (not both), checked;
// in a file, CRLF line ends become LF and the last line end is dropped.
func textArg(name, inline, file string, maxLen int, required bool) (string, error) {
	s := inline
	if file != "" {
		if inline != "" {
			return "", fmt.Errorf("give %s or %s-file, not both", name, name)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		s = strings.TrimRight(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")
	}
	if s == "" && !required {
		return "", nil
	}
	return s, checkText(name, s, maxLen, true)
}

// malformed strips the tx package's prefix from a field check's error.
func malformed(name string, err error) error {
	return fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), tx.ErrMalformed.Error()+": "))
}

func checkText(name, s string, maxLen int, multiline bool) error {
	if s == "" {
		return fmt.Errorf("%s is required", name)
	}
	if err := tx.CheckText(s, maxLen, multiline); err != nil {
		return malformed(name, err)
	}
	return nil
}

func checkIdent(name, s string) error {
	if err := tx.CheckIdent(s); err != nil {
		return malformed(name, err)
	}
	return nil
}

// optionsFlags collects the options of 'create' in command-line order.
type optionsFlags []tx.Option

type optionTitleFlag struct{ opts *optionsFlags }

func (f optionTitleFlag) String() string { return "" }

func (f optionTitleFlag) Set(title string) error {
	if err := checkText("option title", title, tx.MaxTitle, false); err != nil {
		return err
	}
	*f.opts = append(*f.opts, tx.Option{Title: title})
	return nil
}

type optionsFileFlag struct{ opts *optionsFlags }

func (f optionsFileFlag) String() string { return "" }

func (f optionsFileFlag) Set(file string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	opts, err := parseOptionsFile(data)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	*f.opts = append(*f.opts, opts...)
	return nil
}

// ---- the options and actions files ----

// parseOptionsFile reads the options of --options: a JSON list (when the
// file starts with "[") or the text form (see proposalUsage).
func parseOptionsFile(data []byte) ([]tx.Option, error) {
	if isJSON(data) {
		return parseOptionsJSON(data)
	}
	return parseOptionsText(data)
}

// parseActionsFile reads the actions of --actions: a JSON list (when the
// file starts with "[") or one action a line in the text form.
func parseActionsFile(data []byte) ([]tx.Action, error) {
	if isJSON(data) {
		return parseActionsJSON(data)
	}
	var out []tx.Action
	for n, line := range textLines(data) {
		if line == "" {
			continue
		}
		a, err := parseActionText(strings.TrimSpace(line))
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n+1, err)
		}
		out = append(out, a)
	}
	if len(out) > tx.MaxActions {
		return nil, fmt.Errorf("%d actions: at most %d", len(out), tx.MaxActions)
	}
	return out, nil
}

func isJSON(data []byte) bool { return bytes.HasPrefix(bytes.TrimSpace(data), []byte("[")) }

// textLines splits a text file into lines, a comment line (its first
// non-space character "#") read as empty.
func textLines(data []byte) []string {
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	for i, l := range lines {
		if t := strings.TrimSpace(l); t == "" || strings.HasPrefix(t, "#") {
			lines[i] = ""
		}
	}
	return lines
}

// parseOptionsText reads options in the text form: each option is a line
// that starts with no space, its title; its actions follow, one a line,
// each indented by spaces or tabs. Empty lines and lines whose first
// non-space character is "#" are skipped.
func parseOptionsText(data []byte) ([]tx.Option, error) {
	var out []tx.Option
	for n, line := range textLines(data) {
		if line == "" {
			continue
		}
		if line[0] != ' ' && line[0] != '\t' {
			title := strings.TrimRight(line, " \t")
			if err := checkText(fmt.Sprintf("line %d: option title", n+1), title, tx.MaxTitle, false); err != nil {
				return nil, err
			}
			out = append(out, tx.Option{Title: title})
			continue
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("line %d: an action before any option's title (a title starts the line; its actions are indented)", n+1)
		}
		o := &out[len(out)-1]
		a, err := parseActionText(strings.TrimSpace(line))
		if err != nil {
			return nil, fmt.Errorf("line %d: option %q: %w", n+1, o.Title, err)
		}
		if len(o.Actions) == tx.MaxActions {
			return nil, fmt.Errorf("line %d: option %q has more than %d actions", n+1, o.Title, tx.MaxActions)
		}
		o.Actions = append(o.Actions, a)
	}
	if len(out) == 0 {
		return nil, errors.New("no options (a title a line, its actions indented below it)")
	}
	for i, o := range out {
		if err := checkOption(o); err != nil {
			return nil, fmt.Errorf("option %d (%q): %w", i, o.Title, err)
		}
	}
	return out, nil
}

// parseOptionsJSON reads a JSON list of options:
// [{"title": "...", "actions": [action, ...]}, ...].
func parseOptionsJSON(data []byte) ([]tx.Option, error) {
	list, err := jsonList(data, "options")
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, errors.New("an empty list of options")
	}
	var out []tx.Option
	for i, raw := range list {
		fields, err := jsonObject(raw, "title", "actions")
		if err != nil {
			return nil, fmt.Errorf("option %d: %w", i, err)
		}
		var o tx.Option
		if err := jsonField(fields, "title", &o.Title); err != nil {
			return nil, fmt.Errorf("option %d: %w", i, err)
		}
		if err := checkText(fmt.Sprintf("option %d: title", i), o.Title, tx.MaxTitle, false); err != nil {
			return nil, err
		}
		if a, ok := fields["actions"]; ok {
			if o.Actions, err = parseActionsJSON(a); err != nil {
				return nil, fmt.Errorf("option %d (%q): %w", i, o.Title, err)
			}
		}
		if err := checkOption(o); err != nil {
			return nil, fmt.Errorf("option %d (%q): %w", i, o.Title, err)
		}
		out = append(out, o)
	}
	return out, nil
}

// parseActionsJSON reads a JSON list of actions, each the text form as a
// string ("pay <account> 5") or an object (see proposalUsage).
func parseActionsJSON(data []byte) ([]tx.Action, error) {
	list, err := jsonList(data, "actions")
	if err != nil {
		return nil, err
	}
	if len(list) > tx.MaxActions {
		return nil, fmt.Errorf("%d actions: at most %d", len(list), tx.MaxActions)
	}
	var out []tx.Action
	for i, raw := range list {
		a, err := parseAction(raw)
		if err != nil {
			return nil, fmt.Errorf("action %d: %w", i, err)
		}
		out = append(out, a)
	}
	return out, nil
}

// actionFields are the JSON fields of each action kind, after "kind", in
// the order of the text form's arguments; all are required but
// add_node's "addrs".
var actionFields = map[tx.ActionKind][]string{
	tx.ActAddMember:    {"id", "name"},
	tx.ActRemoveMember: {"id"},
	tx.ActConfirmJoin:  {"id"},
	tx.ActAddNode:      {"key", "addrs"},
	tx.ActRemoveNode:   {"key"},
	tx.ActSetParam:     {"domain", "param", "value"},
	tx.ActAddDomain:    {"name"},
	tx.ActMint:         {"to", "amount"},
	tx.ActPay:          {"to", "amount"},
	tx.ActSetVersion:   {"version", "height"},
	tx.ActAppoint:      {"role", "member", "term"},
	tx.ActDismiss:      {"role"},
	tx.ActRemoveDomain: {"name"},
	tx.ActRenameDomain: {"name", "new_name"},
	tx.ActOpenSale:     {"item", "supply", "per_request", "start", "window", "max_age", "difficulty", "price", "max_requests"},
}

// actionKind returns the kind named s (as tx.ActionKind.String names it).
func actionKind(s string) (tx.ActionKind, bool) {
	for _, k := range tx.ActionKinds() {
		if k.String() == s {
			return k, true
		}
	}
	return 0, false
}

func actionKindNames() string {
	var names []string
	for _, k := range tx.ActionKinds() {
		names = append(names, k.String())
	}
	return strings.Join(names, ", ")
}

// parseAction reads one JSON action: the text form as a string, or an
// object whose fields are the text form's arguments by name, which it
// turns into the text form.
func parseAction(raw json.RawMessage) (tx.Action, error) {
	var line string
	if json.Unmarshal(raw, &line) == nil {
		return parseActionText(line)
	}
	var head struct {
		Kind *string `json:"kind"`
	}
	if err := json.Unmarshal(raw, &head); err != nil || head.Kind == nil {
		return nil, fmt.Errorf(`neither the text form of an action nor an object with a "kind" (%s)`, actionKindNames())
	}
	kind, ok := actionKind(*head.Kind)
	if !ok {
		return nil, fmt.Errorf("unknown action kind %q (%s)", *head.Kind, actionKindNames())
	}
	names := actionFields[kind]
	fields, err := jsonObject(raw, append([]string{"kind"}, names...)...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (it takes %s)", kind, err, strings.Join(names, ", "))
	}
	words := []string{kind.String()}
	for _, n := range names {
		raw, ok := fields[n]
		if !ok || isNull(raw) {
			if kind == tx.ActAddNode && n == "addrs" {
				continue
			}
			return nil, fmt.Errorf("%s: %q is missing (it takes %s)", kind, n, strings.Join(names, ", "))
		}
		w, err := jsonWords(raw, n == "addrs")
		if err != nil {
			return nil, fmt.Errorf("%s: %q: %w", kind, n, err)
		}
		words = append(words, w...)
	}
	return parseActionText(strings.Join(words, " "))
}

// jsonWords turns a JSON field into arguments of the text form: a string
// (quoted) or a whole number, or for a list field a list of strings.
func jsonWords(raw json.RawMessage, list bool) ([]string, error) {
	if list {
		var xs []string
		if err := json.Unmarshal(raw, &xs); err != nil {
			return nil, fmt.Errorf("%s is not a list of strings", bytes.TrimSpace(raw))
		}
		words := make([]string, len(xs))
		for i, x := range xs {
			words[i] = strconv.Quote(x)
		}
		return words, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []string{strconv.Quote(s)}, nil
	}
	var n uint64
	if json.Unmarshal(raw, &n) == nil {
		return []string{strconv.FormatUint(n, 10)}, nil
	}
	return nil, fmt.Errorf("%s is neither a string nor a whole number", bytes.TrimSpace(raw))
}

// parseActionText reads the text form of an action and checks it as the
// node will when the proposal is made (gov.CheckAction: a parameter's
// name and bounds, the domain general).
func parseActionText(s string) (tx.Action, error) {
	a, err := tx.ParseAction(s)
	if err != nil {
		return nil, err
	}
	if err := gov.CheckAction(a); err != nil {
		return nil, fmt.Errorf("%s: %w", a.Kind(), err)
	}
	return a, nil
}

// checkOption encodes an option and decodes it as a node would, so that
// nothing the node refuses as malformed leaves the command line.
func checkOption(o tx.Option) error {
	w := wire.NewWriter(64)
	o.MarshalTo(w)
	r := wire.NewReader(w.Finish())
	if _, err := tx.ReadOption(r); err != nil {
		return err
	}
	return r.Done()
}

func jsonList(data []byte, what string) ([]json.RawMessage, error) {
	var list []json.RawMessage
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("not a JSON list of %s: %w", what, err)
	}
	return list, nil
}

// jsonObject returns the fields of a JSON object, refusing any not in
// allowed.
func jsonObject(raw json.RawMessage, allowed ...string) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, fmt.Errorf("not a JSON object: %s", bytes.TrimSpace(raw))
	}
	for k := range m {
		if !slices.Contains(allowed, k) {
			return nil, fmt.Errorf("unknown field %q", k)
		}
	}
	return m, nil
}

func isNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

func jsonField(fields map[string]json.RawMessage, name string, into any) error {
	raw, ok := fields[name]
	if !ok {
		return fmt.Errorf("%q is missing", name)
	}
	if err := json.Unmarshal(raw, into); err != nil {
		return fmt.Errorf("%q: %s is not a string", name, raw)
	}
	return nil
}

// ---- reading from the node ----

// readProposal reads a proposal's view at the latest certified height.
func readProposal(c *client.Client, id uint64) (*orgapp.ProposalView, error) {
	r, err := c.Proposal(context.Background(), id, client.At{})
	if err != nil {
		return nil, fmt.Errorf("reading proposal %d: %w", id, err)
	}
	return r.Proposal, nil
}

// ballotPlace returns the round a member votes in (the proposal's current
// one unless round > 0) and the sub-meeting it was drawn into.
func ballotPlace(p *orgapp.ProposalView, member crypto.ID, round uint8) (uint8, uint16, error) {
	if round == 0 {
		if p.State != "voting" {
			return 0, 0, fmt.Errorf("proposal %d is %s, not voting", p.ID, p.State)
		}
		round = p.Round
	}
	for _, r := range p.Rounds {
		if r.Round != round {
			continue
		}
		for _, m := range r.Meetings {
			if slices.ContainsFunc(m.Members, func(s string) bool { return strings.EqualFold(s, member.String()) }) {
				return round, m.Index, nil
			}
		}
		return 0, 0, fmt.Errorf("account %s is in none of the %d sub-meetings of round %d of proposal %d (not a participant?)",
			member, len(r.Meetings), round, p.ID)
	}
	return 0, 0, fmt.Errorf("proposal %d has no round %d", p.ID, round)
}

// ---- printing ----

// printJSON prints a node's answer as indented JSON.
func printJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// fmtMillis shows milliseconds as a duration: "1d12h", "10m", "1m30s".
func fmtMillis(ms uint64) string {
	if ms > tx.MaxWindow*100 {
		return fmt.Sprintf("%d ms", ms)
	}
	d := time.Duration(ms) * time.Millisecond
	const day = 24 * time.Hour
	s := ""
	if d >= day {
		s = fmt.Sprintf("%dd", d/day)
		d %= day
	}
	if d > 0 || s == "" {
		t := d.String() // "1h30m0s", "10m0s", "1.5s", "500ms"
		if strings.HasSuffix(t, "m0s") {
			t = t[:len(t)-2]
		}
		if strings.HasSuffix(t, "h0m") {
			t = t[:len(t)-2]
		}
		s += t
	}
	return s
}

// fmtTime shows a block time (Unix ms) and how far it is from now.
func fmtTime(ms int64, now time.Time) string {
	t := time.UnixMilli(ms)
	d := t.Sub(now).Round(time.Second)
	rel := "in " + fmtMillis(uint64(d.Milliseconds()))
	if d == 0 {
		rel = "now"
	} else if d < 0 {
		rel = fmtMillis(uint64(-d.Milliseconds())) + " ago"
	}
	return fmt.Sprintf("%s (%s)", t.Local().Format("2006-01-02 15:04:05 MST"), rel)
}

func fmtIndexes(xs []uint8) string {
	var s []string
	for _, x := range xs {
		s = append(s, strconv.Itoa(int(x)))
	}
	return strings.Join(s, " ")
}

// deadlineName names what ends at a proposal's deadline.
func deadlineName(p *orgapp.ProposalView) string {
	switch p.State {
	case "meeting":
		return "meeting ends"
	case "voting":
		return fmt.Sprintf("round %d ends", p.Round)
	case "publicity":
		return "publicity ends"
	case "review":
		return "review ends"
	}
	return "deadline"
}

func printProposal(w io.Writer, r *apijson.Proposal, now time.Time) {
	p := r.Proposal
	fmt.Fprintf(w, "proposal %d in %s: %s\n", p.ID, p.Domain, p.Title)
	if p.Kind == "challenge" {
		fmt.Fprintf(w, "  challenge of %s\n", named(p.TargetName, p.Target))
	}
	fmt.Fprintf(w, "  author      %s\n", named(p.AuthorName, p.Author))
	fmt.Fprintf(w, "  created     %s\n", fmtTime(p.Created, now))
	fmt.Fprintf(w, "  state       %s\n", p.State)
	if p.Deadline != 0 && p.Closed == 0 {
		fmt.Fprintf(w, "  %-11s %s\n", deadlineName(p), fmtTime(p.Deadline, now))
	}
	if p.Activated != 0 {
		fmt.Fprintf(w, "  activated   %s\n", fmtTime(p.Activated, now))
	}
	switch {
	case p.Capacity != 0:
		fmt.Fprintf(w, "  rounds of   %s, sub-meetings of at most %d\n", fmtMillis(p.MeetingWindow), p.Capacity)
	case p.MeetingWindow != 0:
		fmt.Fprintf(w, "  meeting of  %s; round length and capacity are set when it ends\n", fmtMillis(p.MeetingWindow))
	}
	if p.Closed != 0 {
		fmt.Fprintf(w, "  closed      %s\n", fmtTime(p.Closed, now))
	}
	if p.Reason != "" {
		fmt.Fprintf(w, "  reason      %s\n", p.Reason)
	}
	fmt.Fprintf(w, "  comments    %d\n", p.Comments)
	fmt.Fprintf(w, "  height      %d\n", r.Height)
	if len(r.Proofs) > 0 {
		fmt.Fprintf(w, "  proofs      %d (--json shows them)\n", len(r.Proofs))
	}
	if p.Body != "" {
		fmt.Fprintln(w, "body")
		for line := range strings.SplitSeq(p.Body, "\n") {
			fmt.Fprintf(w, "  %s\n", line)
		}
	}
	fmt.Fprintf(w, "options (%d)\n", len(p.Options))
	for _, o := range p.Options {
		mark := " "
		if p.Winner != nil && *p.Winner == o.Index {
			mark = "*"
		}
		fmt.Fprintf(w, " %s%2d  %s   (by %s)\n", mark, o.Index, o.Title, named(o.AuthorName, o.Author))
		for _, a := range o.Actions {
			fmt.Fprintf(w, "        %s\n", a)
		}
	}
	fmt.Fprintf(w, "participants (%d)\n", p.Participants)
	for _, x := range p.Roster {
		fmt.Fprintf(w, "  %3d  %s  meeting %s, publicity %s, capacity %d\n", x.Position, named(x.Name, x.Member),
			fmtMillis(x.MeetingWindow), fmtMillis(x.PublicityWindow), x.Capacity)
	}
	for _, rd := range p.Rounds {
		how := "split into " + plural(len(rd.Meetings), "sub-meeting")
		if rd.Plenary {
			how = "plenary"
		}
		status := "ends " + fmtTime(rd.End, now)
		if rd.Ended {
			status = "ended"
		}
		fmt.Fprintf(w, "round %d: %s, options %s; %s", rd.Round, how, fmtIndexes(rd.Options), status)
		if len(rd.Winners) > 0 {
			fmt.Fprintf(w, "; winners %s", fmtIndexes(rd.Winners))
		}
		fmt.Fprintln(w)
		for _, m := range rd.Meetings {
			var tally []string
			for _, t := range m.Tally {
				tally = append(tally, fmt.Sprintf("%d:%d", t.Option, t.Approvals))
			}
			fmt.Fprintf(w, "  sub-meeting %d: %s of %s; approvals %s", m.Index, plural(int(m.Ballots), "ballot"), plural(len(m.Members), "member"), strings.Join(tally, " "))
			if m.Winner != nil {
				fmt.Fprintf(w, "; winner %d", *m.Winner)
			}
			fmt.Fprintln(w)
			for i, id := range m.Members {
				name := ""
				if i < len(m.Names) {
					name = m.Names[i]
				}
				fmt.Fprintf(w, "    %s\n", named(name, id))
			}
		}
	}
	if p.Winner != nil {
		title := ""
		if int(*p.Winner) < len(p.Options) {
			title = p.Options[*p.Winner].Title
		}
		fmt.Fprintf(w, "winner %d %q: %s of %s\n", *p.Winner, title, plural(int(p.Supporters), "supporter"), plural(int(p.Members), "member"))
	}
	if p.Publicity != 0 {
		fmt.Fprintf(w, "publicity %s (minimum %s)\n", fmtMillis(p.Publicity), fmtMillis(p.PublicityMin))
	}
	if v := p.Review; v != nil {
		fmt.Fprintf(w, "review of freeze %d (of at most 4) by %s: lift %d, cancel %d; %s of publicity left when frozen\n",
			v.Freeze, named(v.FreezerName, v.Freezer), v.Lift, v.Cancel, fmtMillis(v.Remaining))
	}
}

// plural writes a count with its noun: "1 proposal", "2 proposals".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// named shows a member by name, with the ID: "alice (1f2e…)"; the ID alone
// when the member has no name.
func named(name, id string) string {
	if name == "" {
		return id
	}
	return name + " (" + id + ")"
}

func printProposalList(w io.Writer, height uint64, l *orgapp.ProposalList) {
	if l.Total == 0 {
		fmt.Fprintf(w, "%s: no proposals (height %d)\n", l.Domain, height)
		return
	}
	fmt.Fprintf(w, "%s: %s, page %d of %d numbered from 0 (height %d)\n", l.Domain, plural(int(l.Total), "proposal"), l.Page, l.Pages, height)
	for _, p := range l.Proposals {
		title := p.Title
		if p.Kind == "challenge" {
			title = "[challenge] " + title
		}
		fmt.Fprintf(w, "%6d  %-10s %4d  %s\n", p.ID, p.State, p.Participants, title)
	}
}

func printGovernance(w io.Writer, height uint64, g *orgapp.GovernanceView, now time.Time) {
	fmt.Fprintf(w, "next proposal %d, supply %d (height %d)\n", g.NextProposal, g.Supply, height)
	for _, d := range g.Domains {
		fmt.Fprintf(w, "%s: %s, %d active, %d queued\n", d.Name, plural(int(d.Total), "proposal"), len(d.Active), len(d.Queue))
		names := make([]string, 0, len(d.Params))
		for _, def := range gov.ParamDefs {
			if _, ok := d.Params[def.Name]; ok {
				names = append(names, def.Name)
			}
		}
		var extra []string
		for n := range d.Params {
			if _, known := gov.ParamIndex(n); !known {
				extra = append(extra, n)
			}
		}
		sort.Strings(extra)
		for _, n := range append(names, extra...) {
			v := d.Params[n]
			s := tx.FormatParamValue(n, v)
			if tx.ParamUnitOf(n) == tx.UnitDuration {
				s = fmtMillis(v)
			}
			fmt.Fprintf(w, "  %-18s %s\n", n, s)
		}
		for _, a := range d.Active {
			fmt.Fprintf(w, "  active %d, deadline %s\n", a.ID, fmtTime(a.Deadline, now))
		}
		for _, q := range d.Queue {
			fmt.Fprintf(w, "  queued %d, %s, created %s\n", q.ID, plural(int(q.Participants), "participant"), fmtTime(q.Created, now))
		}
	}
}
