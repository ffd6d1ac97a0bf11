package orgapp

import (
	"bytes"
	"fmt"

	"github.com/mass-consensus/mass/internal/app"
	"github.com/mass-consensus/mass/internal/app/state"
)

var _ app.NodeSetReporter = (*App)(nil)

// NodeSetChange returns the node set after block height if the block
// changed it, nil otherwise (app.NodeSetReporter).
func (a *App) NodeSetChange(height uint64) ([]app.NodeInfo, error) {
	if height == 0 {
		return nil, nil
	}
	before, _, err := a.tree.Get(version(height-1), state.NodesKey)
	if err != nil {
		return nil, fmt.Errorf("orgapp: the node set before block %d: %w", height, a.readErr(err))
	}
	after, _, err := a.tree.Get(version(height), state.NodesKey)
	if err != nil {
		return nil, fmt.Errorf("orgapp: the node set after block %d: %w", height, a.readErr(err))
	}
	if bytes.Equal(before, after) {
		return nil, nil
	}
	nodes, err := state.UnmarshalNodes(after)
	if err != nil {
		return nil, err
	}
	return NodeInfos(nodes), nil
}

// NodeInfos converts the node set record to the boundary's form.
func NodeInfos(n *state.Nodes) []app.NodeInfo {
	out := make([]app.NodeInfo, len(n.Nodes))
	for i, nd := range n.Nodes {
		out[i] = app.NodeInfo{Key: nd.Key, Addrs: append([]string(nil), nd.Addrs...)}
	}
	return out
}
