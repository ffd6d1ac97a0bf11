package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/mass-consensus/mass/internal/app/orgapp"
	"github.com/mass-consensus/mass/internal/app/tx"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/genesis"
	"github.com/mass-consensus/mass/internal/home"
)

// quickGovernance rewrites every home's genesis so that meetings, rounds
// and publicity last about a second (the defaults are minutes to days).
func (c *cluster) quickGovernance() {
	c.t.Helper()
	for _, p := range c.procs {
		path := filepath.Join(p.home, "genesis.json")
		g, err := genesis.Load(path)
		if err != nil {
			c.t.Fatal(err)
		}
		var a orgapp.Genesis
		if err := json.Unmarshal(g.App, &a); err != nil {
			c.t.Fatal(err)
		}
		a.Governance = &orgapp.GenesisGovernance{Domains: []orgapp.GenesisDomain{{Name: "general", Params: map[string]uint64{
			"meeting_min": 1000, "publicity_min": 1000, "publicity_unit": 500, "publicity_floor": 500, "publicity_ceiling": 2000,
			"gather_min": 0,
		}}}}
		if g.App, err = json.Marshal(a); err != nil {
			c.t.Fatal(err)
		}
		if err := g.Write(path); err != nil {
			c.t.Fatal(err)
		}
	}
}

// gov is a client of the organization: the genesis accounts' keys and
// their next nonces.
type gov struct {
	c       *cluster
	chainID string
	keys    map[string]*crypto.PrivateKey
	nonces  map[string]uint64
}

func newGov(c *cluster) *gov {
	g := &gov{c: c, chainID: "e2e", keys: map[string]*crypto.PrivateKey{}, nonces: map[string]uint64{}}
	for _, a := range home.DevAccounts {
		k, err := home.LoadKey(home.KeyPath(c.dir, a.Name))
		if err != nil {
			c.t.Fatal(err)
		}
		g.keys[a.Name] = k
	}
	return g
}

// send signs a transaction by a genesis account and posts it to a node.
func (g *gov) send(node int, who string, body tx.Body) {
	g.c.t.Helper()
	t := tx.New(g.keys[who].Public(), g.nonces[who], body)
	g.nonces[who]++
	if err := t.Sign(g.chainID, g.keys[who]); err != nil {
		g.c.t.Fatal(err)
	}
	if tr, ok := body.(*tx.Transfer); ok {
		for _, k := range g.keys {
			if k.Public() == tr.To {
				if err := t.Sign(g.chainID, k); err != nil {
					g.c.t.Fatal(err)
				}
			}
		}
	}
	resp, err := g.c.client.Post("http://"+g.c.procs[node].api+"/v1/txs", "application/octet-stream", bytes.NewReader(t.Marshal()))
	if err != nil {
		g.c.t.Fatal(err)
	}
	body2, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		g.c.t.Fatalf("%s's %s refused: %d %s", who, body.Type(), resp.StatusCode, body2)
	}
}

type proposalView struct {
	Height   uint64 `json:"height"`
	Proposal struct {
		State  string `json:"state"`
		Round  uint8  `json:"round"`
		Reason string `json:"reason"`
		Rounds []struct {
			Round    uint8 `json:"round"`
			Meetings []struct {
				Index   uint16   `json:"index"`
				Members []string `json:"members"`
			} `json:"meetings"`
		} `json:"rounds"`
	} `json:"proposal"`
}

func (g *gov) proposal(id uint64) proposalView {
	var v proposalView
	g.c.getJSON(0, fmt.Sprintf("/v1/proposals/%d", id), &v)
	return v
}

// pass takes proposal id, whose options are [the change, nothing], through
// its meeting and vote (everyone approves option 0) to its execution.
func (g *gov) pass(id uint64) {
	g.c.t.Helper()
	desire := tx.Desire{Meeting: 1500, Publicity: 1000, Capacity: 10}
	g.c.waitFor(fmt.Sprintf("proposal %d certified", id), func() bool {
		return g.proposal(id).Proposal.State != ""
	})
	g.send(1, "alice", &tx.Join{Proposal: id, Desire: desire})
	g.send(2, "bob", &tx.Join{Proposal: id, Desire: desire})
	g.c.waitFor(fmt.Sprintf("proposal %d voting", id), func() bool {
		return g.proposal(id).Proposal.State == "voting"
	})
	v := g.proposal(id)
	round := v.Proposal.Round
	for _, who := range []string{"founder", "alice", "bob"} {
		me := g.keys[who].Public().ID().String()
		var meeting uint16
		for _, r := range v.Proposal.Rounds {
			if r.Round != round {
				continue
			}
			for _, m := range r.Meetings {
				if slices.Contains(m.Members, me) {
					meeting = m.Index
				}
			}
		}
		g.send(0, who, &tx.Vote{Proposal: id, Round: round, Meeting: meeting, Approve: []uint8{0}})
	}
	g.c.waitFor(fmt.Sprintf("proposal %d executed", id), func() bool {
		p := g.proposal(id).Proposal
		if p.State == "failed" || p.State == "no_votes" || p.State == "cancelled" {
			g.c.t.Fatalf("proposal %d closed as %s: %s", id, p.State, p.Reason)
		}
		return p.State == "executed"
	})
}

// TestProposalsChangeTheNodeSet: on a four-node network a passed proposal
// adds a fifth node, which catches up and then signs certificates; a second
// removes a node and the network goes on; a light client that trusts only
// the genesis file follows both changes.
func TestProposalsChangeTheNodeSet(t *testing.T) {
	c := newClusterOf(t, 4, "org")
	c.quickGovernance()
	for i := range c.procs {
		c.start(i)
	}
	g := newGov(c)
	genesisKeys := c.sameKeys([]int{0, 1, 2, 3}, 0, "")

	// The fifth node: a home outside the genesis set, following the chain.
	joinDir := filepath.Join(c.dir, "node4")
	ports := freePorts(t, 2)
	out, err := exec.Command(binary, "join", "--dir", joinDir, "--genesis", filepath.Join(c.procs[0].home, "genesis.json"),
		"--p2p-port", fmt.Sprint(ports), "--api-port", fmt.Sprint(ports+1)).CombinedOutput()
	if err != nil {
		t.Fatalf("mass join: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`node key\s+([0-9a-f]{64})`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no key in %s", out)
	}
	newKey, err := crypto.ParsePublicKey(string(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	c.procs = append(c.procs, &proc{home: joinDir, api: fmt.Sprintf("127.0.0.1:%d", ports+1)})
	c.start(4)
	addrs := []string{fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", ports), fmt.Sprintf("/ip4/127.0.0.1/udp/%d/quic-v1", ports)}

	// Proposal 1: add the fifth node.
	desire := tx.Desire{Meeting: 1500, Publicity: 1000, Capacity: 10}
	g.send(0, "founder", &tx.Create{Domain: "general", Title: "Add a fifth node", Desire: desire, Options: []tx.Option{
		{Title: "Add it", Actions: []tx.Action{&tx.AddNode{Key: newKey, Addrs: addrs}}},
		{Title: "Do not"},
	}})
	g.pass(1)
	c.waitFor("the fifth node a member", func() bool {
		var st struct {
			Member bool `json:"member"`
			Nodes  int  `json:"nodes"`
		}
		code, err := c.getJSON(4, "/v1/status", &st)
		return err == nil && code == http.StatusOK && st.Member && st.Nodes == 5
	})
	// The new era's keys, generated through the log by the five nodes.
	c.sameKeys([]int{0, 1, 2, 3, 4}, 1, genesisKeys)
	// Its signature in a certificate (signer 4 of the new set).
	polls := 0
	c.waitFor("a certificate signed by the fifth node", func() bool {
		var b struct {
			Certificate struct {
				Votes []struct {
					Signer int `json:"signer"`
				} `json:"votes"`
			} `json:"certificate"`
		}
		if _, err := c.getJSON(4, "/v1/blocks/latest", &b); err != nil {
			return false
		}
		for _, v := range b.Certificate.Votes {
			if v.Signer == 4 {
				return true
			}
		}
		if polls++; polls%25 == 0 {
			g.send(0, "alice", &tx.Transfer{To: g.keys["bob"].Public(), Amount: 1})
		}
		return false
	})

	// The new era's agreements toss the new threshold coin.
	polls = 0
	c.waitFor("the fifth node tossing the new era's threshold coin", func() bool {
		var st keyStatus
		if _, err := c.getJSON(4, "/v1/status", &st); err == nil && st.Era == 1 && st.Coin == "threshold" {
			return true
		}
		if polls++; polls%25 == 0 {
			g.send(0, "alice", &tx.Transfer{To: g.keys["bob"].Public(), Amount: 1})
		}
		return false
	})

	// Proposal 2: remove node 3 of the genesis set.
	gen, err := genesis.Load(filepath.Join(c.procs[0].home, "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	set, _ := gen.Validate()
	g.send(0, "founder", &tx.Create{Domain: "general", Title: "Remove node 3", Desire: desire, Options: []tx.Option{
		{Title: "Remove it", Actions: []tx.Action{&tx.RemoveNode{Key: set.Keys[3]}}},
		{Title: "Keep it"},
	}})
	g.pass(2)
	c.waitFor("four nodes again", func() bool {
		var st struct {
			Nodes int `json:"nodes"`
			Era   int `json:"era"`
		}
		_, err := c.getJSON(4, "/v1/status", &st)
		return err == nil && st.Nodes == 4 && st.Era == 2
	})
	c.kill(3)
	// The network goes on without it: blocks of the new era (after the
	// last block node 4 applied in the old one) get certified.
	before, _ := c.status(0)
	switched, _ := c.status(4)
	for i := 0; i < 5; i++ {
		g.send(i%2, "alice", &tx.Transfer{To: g.keys["bob"].Public(), Amount: 1})
	}
	c.waitFor("commits without node 3", func() bool {
		st, err := c.status(4)
		return err == nil && st.Certified > before.Certified+1 && st.Certified > switched.Height
	})

	// A light client with only the genesis file follows both changes.
	lone := filepath.Join(t.TempDir(), "genesis.json")
	raw, _ := os.ReadFile(filepath.Join(c.procs[0].home, "genesis.json"))
	if err := os.WriteFile(lone, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	out2, err := exec.Command(binary, "verify", "--genesis", lone, "--api", c.procs[4].api, "--organization").CombinedOutput()
	if err != nil || !strings.Contains(string(out2), "verified: organization") || !strings.Contains(string(out2), "of 4)") {
		t.Fatalf("verify across both changes: %v\n%s", err, out2)
	}
	t.Logf("%s", out2)
}

// sameKeys waits until the given nodes, all in era, have that era's
// threshold keys, made after the same block and with the same group key
// (different from not), and returns the group key.
func (c *cluster) sameKeys(nodes []int, era int, not string) string {
	c.t.Helper()
	var group string
	c.waitFor(fmt.Sprintf("the same threshold keys of era %d at nodes %v", era, nodes), func() bool {
		var first keyStatus
		for k, i := range nodes {
			var st keyStatus
			if code, err := c.getJSON(i, "/v1/status", &st); err != nil || code != http.StatusOK {
				return false
			}
			if st.Era != era || st.KeysAt == 0 || (k > 0 && (st.KeysAt != first.KeysAt || st.GroupKey != first.GroupKey)) {
				return false
			}
			first = st
		}
		group = first.GroupKey
		return group != not
	})
	return group
}

type keyStatus struct {
	Era      int    `json:"era"`
	KeysAt   uint64 `json:"keys_at"`
	GroupKey string `json:"group_key"`
	Coin     string `json:"coin"`
}
