// Package home is the layout of a node's home directory: its key, its
// configuration, the network's genesis, and its data. `mass init` writes
// homes; `mass start` and `mass devnet` read them.
//
//	HOME/node_key.json   the node's ed25519 key (seed, hex), mode 0600
//	HOME/config.json     where it listens (libp2p and HTTP API), log level,
//	                     how many heights of state it keeps (state_retain)
//	HOME/genesis.json    the network: chain id, node set, parameters
//	HOME/data/           the node's Pebble store
//
// Init also writes, for a network of the organization application, the
// keys of the accounts it creates at genesis (DIR/keys/NAME.json, the same
// format as node keys), so a devnet can be used at once.
//
// It imports genesis, crypto and the application's genesis format; nothing
// of the runtime.
package home

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/mass-consensus/mass/internal/app/orgapp"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/genesis"
)

// Config is a node's own settings.
type Config struct {
	// Listen are the libp2p multiaddrs the node listens on.
	Listen []string `json:"listen"`
	// API is the host:port of the HTTP API.
	API string `json:"api"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `json:"log_level"`
	// StateRetain is how many heights of application state stay readable
	// and provable; older ones are pruned. Absent: 100,000; 0 keeps all.
	StateRetain *uint64 `json:"state_retain,omitempty"`
	// APILimits bound what clients may hold of the HTTP API; absent (or a
	// field absent): the defaults of package api.
	APILimits *APILimits `json:"api_limits,omitempty"`
}

// APILimits are the HTTP API's bounds in config.json, each absent or 0 for
// its default (docs/FORMATS.md, "A node's config.json"): timeouts as Go
// durations ("30s"), the most connections, the bytes of request bodies
// held at once, and the stamping route's bucket per remote address.
type APILimits struct {
	ReadHeaderTimeout Duration `json:"read_header_timeout,omitempty"`
	ReadTimeout       Duration `json:"read_timeout,omitempty"`
	WriteTimeout      Duration `json:"write_timeout,omitempty"`
	IdleTimeout       Duration `json:"idle_timeout,omitempty"`
	EventWriteTimeout Duration `json:"event_write_timeout,omitempty"`
	MaxConns          int      `json:"max_conns,omitempty"`
	BodyBudget        int64    `json:"body_budget,omitempty"`
	StampRate         float64  `json:"stamp_rate,omitempty"`
	StampBurst        int      `json:"stamp_burst,omitempty"`
}

// check refuses negative bounds, naming them.
func (l *APILimits) check() error {
	for _, f := range []struct {
		name     string
		negative bool
	}{
		{"max_conns", l.MaxConns < 0}, {"body_budget", l.BodyBudget < 0},
		{"stamp_rate", !(l.StampRate >= 0)}, {"stamp_burst", l.StampBurst < 0},
	} {
		if f.negative {
			return fmt.Errorf("api_limits: %s must not be negative", f.name)
		}
	}
	return nil
}

// Duration is a time.Duration written in config.json as Go writes one:
// "10s", "1m30s". It is never negative.
type Duration time.Duration

// UnmarshalJSON reads a duration string, refusing a negative one.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string such as \"30s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	if v < 0 {
		return fmt.Errorf("the duration %s is negative", s)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the duration as Go writes it.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// Retain is StateRetain with its default filled in.
func (c Config) Retain(def uint64) uint64 {
	if c.StateRetain == nil {
		return def
	}
	return *c.StateRetain
}

// Home is a loaded home directory.
type Home struct {
	Dir     string
	Config  Config
	Key     *crypto.PrivateKey
	Genesis *genesis.Genesis
}

// DataDir is where the node's store lives.
func (h *Home) DataDir() string { return filepath.Join(h.Dir, "data") }

// JournalDir is where the node's epoch log (package wal) is kept.
func (h *Home) JournalDir() string { return filepath.Join(h.Dir, "journal") }

type keyFile struct {
	Seed string `json:"seed"`
	// Public is the public key, for people reading the file; the seed
	// decides.
	Public string `json:"public,omitempty"`
}

// LoadKey reads a key file: {"seed": "<64 hex digits>"}.
func LoadKey(path string) (*crypto.PrivateKey, error) {
	var kf keyFile
	if err := readJSON(path, &kf); err != nil {
		return nil, err
	}
	seed, err := hex.DecodeString(kf.Seed)
	if err != nil {
		return nil, fmt.Errorf("home: %s: seed is not hex: %w", path, err)
	}
	k, err := crypto.KeyFromSeed(seed)
	if err != nil {
		return nil, fmt.Errorf("home: %s: %w", path, err)
	}
	if kf.Public != "" && kf.Public != k.Public().String() {
		return nil, fmt.Errorf("home: %s: \"public\" is %s, but the seed's public key is %s: the file was edited or mixed up", path, kf.Public, k.Public())
	}
	return k, nil
}

// SaveKey writes a key file, readable by its owner only; it refuses to
// overwrite one.
func SaveKey(path string, k *crypto.PrivateKey) error {
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("home: %s exists already", path)
	}
	return writeJSON(path, keyFile{Seed: hex.EncodeToString(k.Seed()), Public: k.Public().String()}, 0o600)
}

// Load reads a home directory.
func Load(dir string) (*Home, error) {
	h := &Home{Dir: dir}
	if err := readConfig(filepath.Join(dir, "config.json"), &h.Config); err != nil {
		return nil, err
	}
	var err error
	if h.Key, err = LoadKey(filepath.Join(dir, "node_key.json")); err != nil {
		return nil, err
	}
	if h.Genesis, err = genesis.Load(filepath.Join(dir, "genesis.json")); err != nil {
		return nil, err
	}
	if len(h.Config.Listen) == 0 || h.Config.API == "" {
		return nil, fmt.Errorf("home: %s: config needs listen addresses and an api address", dir)
	}
	return h, nil
}

// JoinOptions describe the home of a node that is not in the genesis node
// set: it follows the chain until a passed proposal adds it.
type JoinOptions struct {
	Genesis *genesis.Genesis
	Host    string
	P2PPort int
	APIPort int
}

// Join writes the home of a joining node in dir: a new key, its config and
// the network's genesis. It returns the home (its key, to put in the
// proposal that adds it).
func Join(dir string, o JoinOptions) (*Home, error) {
	if _, err := os.Stat(filepath.Join(dir, "genesis.json")); err == nil {
		return nil, fmt.Errorf("home: %s holds a node already", dir)
	}
	if o.P2PPort <= 0 || o.P2PPort > 65535 || o.APIPort <= 0 || o.APIPort > 65535 {
		return nil, fmt.Errorf("home: ports %d and %d", o.P2PPort, o.APIPort)
	}
	k, err := crypto.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	c := Config{
		Listen:   []string{fmt.Sprintf("/ip4/%s/tcp/%d", o.Host, o.P2PPort), fmt.Sprintf("/ip4/%s/udp/%d/quic-v1", o.Host, o.P2PPort)},
		API:      fmt.Sprintf("%s:%d", o.Host, o.APIPort),
		LogLevel: "info",
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("home: %w", err)
	}
	if err := writeJSON(filepath.Join(dir, "node_key.json"), keyFile{Seed: hex.EncodeToString(k.Seed()), Public: k.Public().String()}, 0o600); err != nil {
		return nil, err
	}
	if err := writeJSON(filepath.Join(dir, "config.json"), c, 0o644); err != nil {
		return nil, err
	}
	if err := writeJSON(filepath.Join(dir, "genesis.json"), o.Genesis, 0o644); err != nil {
		return nil, err
	}
	return Load(dir)
}

// readConfig reads a config.json strictly: an unknown field (a misspelt
// setting) is an error, as is a negative bound.
func readConfig(path string, c *Config) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("home: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		return fmt.Errorf("home: %s: %w", path, err)
	}
	if c.APILimits != nil {
		if err := c.APILimits.check(); err != nil {
			return fmt.Errorf("home: %s: %w", path, err)
		}
	}
	return nil
}

func readJSON(path string, v any) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("home: %w", err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("home: %s: %w", path, err)
	}
	return nil
}

func writeJSON(path string, v any, mode os.FileMode) error {
	raw, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(raw, '\n'), mode); err != nil {
		return fmt.Errorf("home: %w", err)
	}
	return nil
}

// InitOptions describe a new network of nodes on one host.
type InitOptions struct {
	Nodes   int
	ChainID string
	Host    string // e.g. 127.0.0.1
	P2PPort int    // node i listens on P2PPort+i (TCP and UDP/QUIC)
	APIPort int    // node i serves its API on APIPort+i
	// Now is the genesis time (default: the current time).
	Now time.Time
	// App is the application: genesis.AppOrg (default) or genesis.AppKV.
	App string
	// Agreement is the binary agreement (genesis.AgreementQuadratic, the
	// default, or genesis.AgreementBracha).
	Agreement string
	// Governance is the organization's governance section (domains and
	// their parameters; nil: the defaults). See orgapp.LoadGovernance.
	Governance *orgapp.GenesisGovernance
}

// DevAccount is an account Init creates for a network of the organization
// application, with its key in DIR/keys/NAME.json.
type DevAccount struct {
	Name    string
	Role    string
	Balance uint64
}

// DevAccounts are the accounts of a new network: a founding supervisor and
// two members.
var DevAccounts = []DevAccount{
	{Name: "founder", Role: "supervisor", Balance: 1_000_000},
	{Name: "alice", Role: "member", Balance: 10_000},
	{Name: "bob", Role: "member", Balance: 10_000},
}

// KeyPath is where Init writes the key of a genesis account.
func KeyPath(dir, name string) string { return filepath.Join(dir, "keys", name+".json") }

// Init writes the homes of a new network under dir: dir/node0 … and
// returns their paths. It refuses a dir that already holds a network.
func Init(dir string, o InitOptions) ([]string, error) {
	if o.Nodes < 1 || o.Nodes > 1024 {
		return nil, fmt.Errorf("home: %d nodes, want 1 to 1024", o.Nodes)
	}
	if o.P2PPort <= 0 || o.APIPort <= 0 || o.P2PPort+o.Nodes > 65536 || o.APIPort+o.Nodes > 65536 {
		return nil, fmt.Errorf("home: ports %d and %d leave no room for %d nodes", o.P2PPort, o.APIPort, o.Nodes)
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if _, err := os.Stat(filepath.Join(dir, "node0", "genesis.json")); err == nil {
		return nil, fmt.Errorf("home: %s already holds a network", dir)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("home: %w", err)
	}
	g := &genesis.Genesis{ChainID: o.ChainID, Time: o.Now.UnixMilli(), Application: o.App, Agreement: o.Agreement}
	var accountKeys []*crypto.PrivateKey
	if g.AppName() == genesis.AppOrg {
		app := orgapp.Genesis{Organization: "Devnet Co-operative", Policy: "supervisor", Governance: o.Governance}
		for _, a := range DevAccounts {
			k, err := crypto.GenerateKey(rand.Reader)
			if err != nil {
				return nil, err
			}
			accountKeys = append(accountKeys, k)
			app.Accounts = append(app.Accounts, orgapp.GenesisAccount{Key: k.Public().String(), Name: a.Name, Role: a.Role, Balance: a.Balance})
		}
		raw, err := json.Marshal(app)
		if err != nil {
			return nil, err
		}
		g.App = raw
	}
	var keys []*crypto.PrivateKey
	var cfgs []Config
	for i := 0; i < o.Nodes; i++ {
		k, err := crypto.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
		p2p := o.P2PPort + i
		c := Config{
			Listen:   []string{fmt.Sprintf("/ip4/%s/tcp/%d", o.Host, p2p), fmt.Sprintf("/ip4/%s/udp/%d/quic-v1", o.Host, p2p)},
			API:      fmt.Sprintf("%s:%d", o.Host, o.APIPort+i),
			LogLevel: "info",
		}
		cfgs = append(cfgs, c)
		g.Nodes = append(g.Nodes, genesis.Node{Key: k.Public().String(), Addrs: c.Listen, API: c.API})
	}
	if _, err := g.Validate(); err != nil {
		return nil, err
	}
	if g.AppName() == genesis.AppOrg {
		if _, err := orgapp.ParseGenesis(g.App); err != nil {
			return nil, err
		}
	} else if o.Governance != nil {
		return nil, fmt.Errorf("home: a governance section is for the organization application, not %s", g.AppName())
	}
	if len(accountKeys) > 0 {
		if err := os.MkdirAll(filepath.Join(dir, "keys"), 0o700); err != nil {
			return nil, fmt.Errorf("home: %w", err)
		}
		for i, a := range DevAccounts {
			if err := SaveKey(KeyPath(dir, a.Name), accountKeys[i]); err != nil {
				return nil, err
			}
		}
	}
	var homes []string
	for i := range keys {
		hd := filepath.Join(dir, fmt.Sprintf("node%d", i))
		if err := os.MkdirAll(hd, 0o700); err != nil {
			return nil, fmt.Errorf("home: %w", err)
		}
		if err := writeJSON(filepath.Join(hd, "node_key.json"), keyFile{Seed: hex.EncodeToString(keys[i].Seed())}, 0o600); err != nil {
			return nil, err
		}
		if err := writeJSON(filepath.Join(hd, "config.json"), cfgs[i], 0o644); err != nil {
			return nil, err
		}
		if err := writeJSON(filepath.Join(hd, "genesis.json"), g, 0o644); err != nil {
			return nil, err
		}
		homes = append(homes, hd)
	}
	return homes, nil
}
