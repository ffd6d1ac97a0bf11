package api

import (
	"github.com/mass-consensus/mass/internal/apijson"
	"github.com/mass-consensus/mass/internal/node"
)

// statusJSON is the answer of GET /v1/status for the node's status.
func statusJSON(st node.Status) apijson.Status {
	return apijson.Status{
		ChainID: st.ChainID, Node: st.Node, Key: st.Key, Height: st.Height, Certified: st.Certified,
		Epoch: st.Epoch, Pending: st.Pending, Peers: st.Peers, Synced: st.Synced, TxRate: st.TxRate,
		Member: st.Member, Nodes: st.Nodes, Era: st.Era,
		Coin: st.Coin, KeysAt: st.KeysAt, CoinFrom: st.CoinFrom, KeyParts: st.KeyParts,
		KeyDealers: st.KeyDealers, GroupKey: st.GroupKey,
	}
}
