package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/mass-consensus/mass/internal/app/orgapp"
	"github.com/mass-consensus/mass/internal/daemon"
	"github.com/mass-consensus/mass/internal/genesis"
	"github.com/mass-consensus/mass/internal/home"
	"github.com/mass-consensus/mass/internal/ledger"
	"github.com/mass-consensus/mass/internal/web"
)

func runInit(args []string) error {
	fs := flag.NewFlagSet("init", flag.ContinueOnError)
	dir := fs.String("dir", "mass-net", "directory for the nodes' homes (DIR/node0, DIR/node1, …)")
	nodes := fs.Int("nodes", 4, "number of nodes")
	chainID := fs.String("chain-id", "mass-devnet", "chain id")
	host := fs.String("host", "127.0.0.1", "address the nodes listen on")
	p2pPort := fs.Int("p2p-port", 26600, "libp2p port of node 0 (node i uses p2p-port+i, TCP and QUIC)")
	apiPort := fs.Int("api-port", 8080, "HTTP API port of node 0 (node i uses api-port+i)")
	application := fs.String("app", "org", "application: org (the organization and its ledger), kv (a key-value test application) or raw (no-op, for benchmarks)")
	agreement := fs.String("agreement", "quadratic", "binary agreement: quadratic (O(n²) messages per round) or bracha (every step a reliable broadcast)")
	governance := governanceFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	g, err := loadGovernance(*governance)
	if err != nil {
		return err
	}
	homes, err := home.Init(*dir, home.InitOptions{Nodes: *nodes, ChainID: *chainID, Host: *host, P2PPort: *p2pPort, APIPort: *apiPort, App: *application, Agreement: *agreement, Governance: g})
	if err != nil {
		return err
	}
	for _, h := range homes {
		fmt.Println(h)
	}
	return nil
}

// runJoin writes the home of a node outside the genesis node set: it
// follows the chain until a passed proposal adds it.
func runJoin(args []string) error {
	fs := flag.NewFlagSet("join", flag.ContinueOnError)
	dir := fs.String("dir", "", "the new node's home directory (required)")
	genesisFile := fs.String("genesis", "", "the network's genesis file (required)")
	host := fs.String("host", "127.0.0.1", "address the node listens on")
	p2pPort := fs.Int("p2p-port", 26700, "libp2p port (TCP and QUIC)")
	apiPort := fs.Int("api-port", 8180, "HTTP API port")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" || *genesisFile == "" {
		return errors.New("usage: mass join --dir DIR --genesis FILE [--host H] [--p2p-port P] [--api-port P]")
	}
	g, err := genesis.Load(*genesisFile)
	if err != nil {
		return err
	}
	h, err := home.Join(*dir, home.JoinOptions{Genesis: g, Host: *host, P2PPort: *p2pPort, APIPort: *apiPort})
	if err != nil {
		return err
	}
	fmt.Printf("node key   %s\naddresses  %s\n", h.Key.Public(), strings.Join(h.Config.Listen, " "))
	fmt.Printf("start it with 'mass start --home %s'; it follows the chain until a passed proposal adds it (action add_node with this key and these addresses).\n", *dir)
	return nil
}

func newLogger(level string, w io.Writer) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// untilSignal returns a context cancelled by SIGINT or SIGTERM.
func untilSignal() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

func runStart(args []string) error {
	fs := flag.NewFlagSet("start", flag.ContinueOnError)
	dir := fs.String("home", "", "the node's home directory (from mass init)")
	level := fs.String("log-level", "", "debug, info, warn or error (default: the home's config)")
	stampRate := fs.Float64("stamp-rate", 0, "stamp requests per second one remote address may make (0: the default, 200)")
	stampBurst := fs.Int("stamp-burst", 0, "stamp requests one remote address may make at once (0: the default, 400)")
	byzantine := fs.String("byzantine", "", "for tests only: make this node misbehave on purpose (bad-key-part: its key generation part has garbage rows for half the nodes)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("--home is required")
	}
	if !(*stampRate >= 0) || *stampBurst < 0 { // NaN too
		return errors.New("--stamp-rate and --stamp-burst must not be negative")
	}
	opts := daemon.Options{StampRate: *stampRate, StampBurst: *stampBurst}
	switch *byzantine {
	case "":
	case "bad-key-part":
		opts.Knobs.BadKeyPart = true
	default:
		return fmt.Errorf("--byzantine %q: the only misbehaviour is bad-key-part", *byzantine)
	}
	h, err := home.Load(*dir)
	if err != nil {
		return err
	}
	if *level == "" {
		*level = h.Config.LogLevel
	}
	logger := newLogger(*level, os.Stderr)
	if opts.App, err = webApp(h); err != nil {
		return err
	}
	d, err := daemon.StartWith(h, logger, opts)
	if err != nil {
		return err
	}
	if opts.Knobs != (ledger.Knobs{}) {
		logger.Warn("this node misbehaves on purpose", "byzantine", *byzantine)
	}
	fmt.Printf("node API on http://%s\n", d.APIAddr())
	ctx, stop := untilSignal()
	defer stop()
	select {
	case <-ctx.Done():
		logger.Info("stopping")
		return d.Stop()
	case <-d.Done():
		d.Stop()
		return d.Err()
	}
}

func runDevnet(args []string) error {
	fs := flag.NewFlagSet("devnet", flag.ContinueOnError)
	dir := fs.String("dir", "mass-devnet", "data directory; a second run resumes from it")
	nodes := fs.Int("nodes", 4, "number of nodes (first run only)")
	p2pPort := fs.Int("p2p-port", 26600, "libp2p port of node 0 (first run only)")
	apiPort := fs.Int("api-port", 8080, "HTTP API port of node 0 (first run only)")
	level := fs.String("log-level", "warn", "debug, info, warn or error")
	governance := governanceFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	g, err := loadGovernance(*governance)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(*dir, "node0", "genesis.json")); errors.Is(err, os.ErrNotExist) {
		if _, err := home.Init(*dir, home.InitOptions{Nodes: *nodes, ChainID: "mass-devnet", Host: "127.0.0.1", P2PPort: *p2pPort, APIPort: *apiPort, Governance: g}); err != nil {
			return err
		}
		fmt.Printf("created a %d-node network in %s\n", *nodes, *dir)
	} else {
		if g != nil {
			return fmt.Errorf("--governance applies to a new network only: %s holds one (remove it to start afresh)", *dir)
		}
		fmt.Printf("resuming the network in %s\n", *dir)
	}
	entries, err := filepath.Glob(filepath.Join(*dir, "node*"))
	if err != nil {
		return err
	}
	var running []*daemon.Daemon
	stopAll := func() error {
		var errs []error
		for _, d := range running {
			errs = append(errs, d.Stop())
		}
		return errors.Join(errs...)
	}
	for i := range entries {
		h, err := home.Load(filepath.Join(*dir, fmt.Sprintf("node%d", i)))
		if err != nil {
			stopAll()
			return err
		}
		app, err := webApp(h)
		if err != nil {
			stopAll()
			return err
		}
		d, err := daemon.StartWith(h, newLogger(*level, os.Stderr).With("node", i), daemon.Options{App: app})
		if err != nil {
			stopAll()
			return err
		}
		running = append(running, d)
		fmt.Printf("node %d: API http://%s\n", i, d.APIAddr())
	}
	api0 := running[0].APIAddr()
	if g := running[0].Genesis(); g.AppName() == genesis.AppKV {
		fmt.Printf("\nsubmit a transaction:  curl -X POST --data 'greeting=hello' http://%s/v1/txs\n", api0)
	} else {
		keys := func(name string) string { return home.KeyPath(*dir, name) }
		fmt.Printf("\naccounts (keys in %s): founder (supervisor), alice, bob\n", filepath.Join(*dir, "keys"))
		fmt.Printf("transfer:     mass tx transfer --api %s --key %s --to %s --cosign %s --amount 25 --wait\n", api0, keys("alice"), keys("bob"), keys("bob"))
		fmt.Printf("an account:   mass account --api %s %s\n", api0, keys("bob"))
		fmt.Printf("prove it:     mass verify --api %s --genesis %s --account %s\n", api0, filepath.Join(*dir, "node0", "genesis.json"), keys("bob"))
		fmt.Printf("the web app:  http://%s/ (import the key files above into its wallet)\n", api0)
	}
	fmt.Printf("watch commits: curl -N http://%s/v1/events\n", api0)
	fmt.Println("Ctrl-C stops the network; running devnet again resumes it.")
	ctx, stop := untilSignal()
	defer stop()
	failed := make(chan *daemon.Daemon, len(running))
	for _, d := range running {
		go func() {
			<-d.Done()
			failed <- d
		}()
	}
	select {
	case <-ctx.Done():
		fmt.Println("\nstopping")
		return stopAll()
	case d := <-failed:
		stopAll()
		return fmt.Errorf("a node stopped: %w", d.Err())
	}
}

func runStatus(args []string) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	api := addAPIFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	st, err := api.client().Status(context.Background())
	if err != nil {
		return err
	}
	return printJSON(os.Stdout, st)
}

// governanceFlag adds --governance to init and devnet.
func governanceFlag(fs *flag.FlagSet) *string {
	return fs.String("governance", "", "the organization's governance at genesis: a profile (fast: every phase lasts seconds, for trying things out; default) or a JSON file {\"domains\": [{\"name\": \"general\", \"params\": {…}}]} (docs/GOVERNANCE.md)")
}

// loadGovernance reads --governance; nil when it is not given.
func loadGovernance(spec string) (*orgapp.GenesisGovernance, error) {
	if spec == "" {
		return nil, nil
	}
	return orgapp.LoadGovernance(spec)
}

// webApp is the members' web app a node of the organization serves at /,
// with the genesis file it trusts (nil for the other applications).
func webApp(h *home.Home) (http.Handler, error) {
	if h.Genesis.AppName() != genesis.AppOrg {
		return nil, nil
	}
	raw, err := os.ReadFile(filepath.Join(h.Dir, "genesis.json"))
	if err != nil {
		return nil, fmt.Errorf("the genesis file for the web app: %w", err)
	}
	return web.Handler(web.WithGenesis(raw)), nil
}
