// Package genesis is the file that starts a network: its chain ID, its first
// node set, the consensus parameters every node must share, and the
// application's initial state (an opaque JSON section the application
// parses). Nodes, the light client and the CLI all read it; it imports
// only chain and crypto, so a light client stays small.
package genesis

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/mass-consensus/mass/internal/chain"
	"github.com/mass-consensus/mass/internal/crypto"
)

// MaxNodes bounds the node set of a genesis.
const MaxNodes = 1024

// MaxFileSize bounds a genesis file, in bytes.
const MaxFileSize = 64 << 20

// Genesis describes a network at its start.
type Genesis struct {
	ChainID string `json:"chain_id"`
	// Time is the genesis time, Unix milliseconds: no block is earlier.
	Time  int64  `json:"genesis_time_ms"`
	Nodes []Node `json:"nodes"`
	// Window is the number of epochs a node proposes in at once (default 3).
	Window int `json:"window,omitempty"`
	// BatchSize bounds the transactions of one proposal (default 2000).
	BatchSize int `json:"batch_size,omitempty"`
	// Agreement names the binary agreement of the common subset:
	// "quadratic" (package raba, O(N²) messages per round; the default) or
	// "bracha" (package aba, every step a reliable broadcast).
	Agreement string `json:"agreement,omitempty"`
	// Application names the application: "org" (the organization, its
	// members and its ledger; the default), "kv" (a key-value test
	// application) or "raw" (no-op: for benchmarking consensus alone).
	Application string `json:"application,omitempty"`
	// App is the application's initial state, which the application
	// parses and validates itself.
	App json.RawMessage `json:"app,omitempty"`
}

// The applications.
const (
	AppOrg = "org"
	AppKV  = "kv"
	AppRaw = "raw" // no-op: orders any bytes, keeps nothing (benchmarks)
)

// The binary agreements (package acs parses the names).
const (
	AgreementQuadratic = "quadratic"
	AgreementBracha    = "bracha"
)

// AgreementName is the binary agreement, with the default filled in.
func (g *Genesis) AgreementName() string {
	if g.Agreement == "" {
		return AgreementQuadratic
	}
	return g.Agreement
}

// AppName is the application, with the default filled in.
func (g *Genesis) AppName() string {
	if g.Application == "" {
		return AppOrg
	}
	return g.Application
}

// Node is one node of the first node set; its index in the list is its
// index in the set.
type Node struct {
	// Key is the node's ed25519 public key, hex.
	Key string `json:"key"`
	// Addrs are libp2p multiaddrs the node listens on.
	Addrs []string `json:"addrs"`
	// API is the address of its HTTP API, for clients (informative).
	API string `json:"api,omitempty"`
}

// ErrBad is wrapped by every genesis validation error.
var ErrBad = errors.New("genesis: bad genesis")

// Validate checks the genesis and returns its node set.
func (g *Genesis) Validate() (chain.NodeSet, error) {
	var set chain.NodeSet
	switch {
	case g.ChainID == "" || len(g.ChainID) > chain.MaxChainID:
		return set, fmt.Errorf("%w: chain id %q must have 1 to %d bytes", ErrBad, g.ChainID, chain.MaxChainID)
	case len(g.Nodes) == 0 || len(g.Nodes) > MaxNodes:
		return set, fmt.Errorf("%w: %d nodes, want 1 to %d", ErrBad, len(g.Nodes), MaxNodes)
	case g.Window < 0 || g.BatchSize < 0:
		return set, fmt.Errorf("%w: negative window or batch size", ErrBad)
	case g.AppName() != AppOrg && g.AppName() != AppKV && g.AppName() != AppRaw:
		return set, fmt.Errorf("%w: application %q: want %q, %q or %q", ErrBad, g.Application, AppOrg, AppKV, AppRaw)
	}
	if a := g.AgreementName(); a != AgreementQuadratic && a != AgreementBracha {
		return set, fmt.Errorf("%w: agreement %q: want %q or %q", ErrBad, g.Agreement, AgreementQuadratic, AgreementBracha)
	}
	seen := map[crypto.PublicKey]bool{}
	for i, n := range g.Nodes {
		k, err := crypto.ParsePublicKey(n.Key)
		if err != nil {
			return set, fmt.Errorf("%w: node %d: %w", ErrBad, i, err)
		}
		if err := k.CheckStrong(); err != nil {
			return set, fmt.Errorf("%w: node %d: %w", ErrBad, i, err)
		}
		if seen[k] {
			return set, fmt.Errorf("%w: node %d: key listed twice", ErrBad, i)
		}
		seen[k] = true
		set.Keys = append(set.Keys, k)
	}
	return set, nil
}

// Parse decodes and validates a genesis.
func Parse(raw []byte) (*Genesis, error) {
	var g Genesis
	if err := json.Unmarshal(raw, &g); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBad, err)
	}
	if _, err := g.Validate(); err != nil {
		return nil, err
	}
	return &g, nil
}

// Load reads and validates a genesis file.
func Load(path string) (*Genesis, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("genesis: %w", err)
	}
	if st.Size() > MaxFileSize {
		return nil, fmt.Errorf("%w: %s has %d bytes, limit %d", ErrBad, path, st.Size(), MaxFileSize)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("genesis: %w", err)
	}
	g, err := Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return g, nil
}

// Write stores the genesis as indented JSON.
func (g *Genesis) Write(path string) error {
	raw, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		return fmt.Errorf("genesis: %w", err)
	}
	if err := os.WriteFile(path, append(raw, '\n'), 0o644); err != nil {
		return fmt.Errorf("genesis: %w", err)
	}
	return nil
}
