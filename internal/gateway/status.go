package gateway

import (
	"net/http"
	"time"

	"github.com/mass-consensus/mass/internal/apijson"
)

// Status answers the gateway's GET /v1/status: a node's status in shape
// (so that a client of a node reads it), with Height and Certified the
// gateway's verified height, Node −1 (it is no node), Nodes the size of
// the verified node set in force and Peers the nodes it reaches; and what
// it knows of each node it follows, and of its cache.
type Status struct {
	apijson.Status
	Gateway Info `json:"gateway"`
}

// Info is the gateway's own part of its status.
type Info struct {
	// Verified is the latest height whose header and certificate the
	// gateway verified.
	Verified uint64     `json:"verified_height"`
	Nodes    []NodeInfo `json:"nodes"`
	Cache    CacheInfo  `json:"cache"`
}

// Status is the gateway's status now.
func (g *Gateway) Status() Status {
	now := time.Now()
	g.mu.RLock()
	h := g.lc.Height()
	set, _ := g.lc.NodeSet(h + 1)
	g.mu.RUnlock()
	st := Status{
		Status:  apijson.Status{ChainID: g.chainID, Node: -1, Height: h, Certified: h, Nodes: set.N()},
		Gateway: Info{Verified: h, Nodes: []NodeInfo{}, Cache: g.cache.info()},
	}
	for _, u := range g.nodes {
		i := u.info(now)
		if i.State == stateOK {
			st.Peers++
		}
		st.Gateway.Nodes = append(st.Gateway.Nodes, i)
	}
	return st
}

func (g *Gateway) status(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, g.Status())
}
