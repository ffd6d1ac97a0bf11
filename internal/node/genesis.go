package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/mass-consensus/mass/internal/chain"
	"github.com/mass-consensus/mass/internal/crypto"
)

// Genesis describes a network at its start: its name, its first node set
// and the consensus parameters every node must share.
type Genesis struct {
	ChainID string `json:"chain_id"`
	// Time is the genesis time, Unix milliseconds: no block is earlier.
	Time  int64         `json:"genesis_time_ms"`
	Nodes []GenesisNode `json:"nodes"`
	// Window is the number of epochs a node proposes in at once (default 3).
	Window int `json:"window,omitempty"`
	// BatchSize bounds the transactions of one proposal (default 2000).
	BatchSize int `json:"batch_size,omitempty"`
}

// GenesisNode is one node of the first node set; its index in the list is
// its index in the set.
type GenesisNode struct {
	// Key is the node's ed25519 public key, hex.
	Key string `json:"key"`
	// Addrs are libp2p multiaddrs the node listens on.
	Addrs []string `json:"addrs"`
	// API is the address of its HTTP API, for clients (informative).
	API string `json:"api,omitempty"`
}

// ErrBadGenesis is wrapped by every genesis validation error.
var ErrBadGenesis = errors.New("node: bad genesis")

// Validate checks the genesis and returns its node set.
func (g *Genesis) Validate() (chain.NodeSet, error) {
	var set chain.NodeSet
	switch {
	case g.ChainID == "" || len(g.ChainID) > chain.MaxChainID:
		return set, fmt.Errorf("%w: chain id %q must have 1 to %d bytes", ErrBadGenesis, g.ChainID, chain.MaxChainID)
	case len(g.Nodes) == 0 || len(g.Nodes) > 1024:
		return set, fmt.Errorf("%w: %d nodes, want 1 to 1024", ErrBadGenesis, len(g.Nodes))
	case g.Window < 0 || g.BatchSize < 0:
		return set, fmt.Errorf("%w: negative window or batch size", ErrBadGenesis)
	}
	seen := map[crypto.PublicKey]bool{}
	for i, n := range g.Nodes {
		k, err := crypto.ParsePublicKey(n.Key)
		if err != nil {
			return set, fmt.Errorf("%w: node %d: %w", ErrBadGenesis, i, err)
		}
		if seen[k] {
			return set, fmt.Errorf("%w: node %d: key listed twice", ErrBadGenesis, i)
		}
		seen[k] = true
		set.Keys = append(set.Keys, k)
	}
	return set, nil
}

// LoadGenesis reads and validates a genesis file.
func LoadGenesis(path string) (*Genesis, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("node: reading genesis: %w", err)
	}
	var g Genesis
	if err := json.Unmarshal(raw, &g); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadGenesis, path, err)
	}
	if _, err := g.Validate(); err != nil {
		return nil, err
	}
	return &g, nil
}
