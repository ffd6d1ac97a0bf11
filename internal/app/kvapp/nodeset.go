package kvapp

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/mass-consensus/mass/internal/app"
	"github.com/mass-consensus/mass/internal/store"
)

// maxNodes bounds a node set (chain.MaxVotes).
const maxNodes = 1024

// changeKey is where a block's node-set change is kept: 'c' + height.
func changeKey(height uint64) []byte { return binary.BigEndian.AppendUint64([]byte{'c'}, height) }

// nodeSet reads a "nodes" transaction of an application with NodeSets.
func (a *App) nodeSet(key, value []byte) ([]app.NodeInfo, bool) {
	if !a.NodeSets || string(key) != "nodes" {
		return nil, false
	}
	return ParseNodes(string(value))
}

// ParseNodes reads a node set written as distinct hex keys separated by
// commas (at most maxNodes).
func ParseNodes(s string) ([]app.NodeInfo, bool) {
	var out []app.NodeInfo
	seen := map[[32]byte]bool{}
	for _, h := range strings.Split(s, ",") {
		b, err := hex.DecodeString(h)
		if err != nil || len(b) != 32 || seen[[32]byte(b)] || len(out) == maxNodes {
			return nil, false
		}
		seen[[32]byte(b)] = true
		out = append(out, app.NodeInfo{Key: [32]byte(b)})
	}
	return out, len(out) > 0
}

// NodesTx is the transaction that makes keys the node set.
func NodesTx(keys ...[32]byte) []byte {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = hex.EncodeToString(k[:])
	}
	return []byte("nodes=" + strings.Join(parts, ","))
}

// NodeSetChange returns the node set block height changed to, if any
// (app.NodeSetReporter).
func (a *App) NodeSetChange(height uint64) ([]app.NodeInfo, error) {
	v, err := a.kv.Get(changeKey(height))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("kvapp: reading the node set of block %d: %w", height, err)
	}
	nodes, ok := ParseNodes(string(v))
	if !ok {
		return nil, fmt.Errorf("kvapp: malformed node set of block %d", height)
	}
	return nodes, nil
}
