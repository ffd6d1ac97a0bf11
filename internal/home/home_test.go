package home

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mass-consensus/mass/internal/app/orgapp"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/genesis"
)

func TestInitAndLoad(t *testing.T) {
	dir := t.TempDir()
	homes, err := Init(dir, InitOptions{Nodes: 4, ChainID: "t", Host: "127.0.0.1", P2PPort: 30000, APIPort: 31000})
	if err != nil {
		t.Fatal(err)
	}
	for i, hd := range homes {
		h, err := Load(hd)
		if err != nil {
			t.Fatal(err)
		}
		if h.Genesis.Nodes[i].Key != h.Key.Public().String() || h.Config.API != h.Genesis.Nodes[i].API {
			t.Fatalf("home %d does not match its genesis entry", i)
		}
		if st, _ := os.Stat(filepath.Join(hd, "node_key.json")); st.Mode().Perm() != 0o600 {
			t.Fatalf("key file mode %v", st.Mode())
		}
	}
	if _, err := Init(dir, InitOptions{Nodes: 4, ChainID: "t", Host: "127.0.0.1", P2PPort: 30000, APIPort: 31000}); err == nil {
		t.Fatal("a second init over a network succeeded")
	}
	// A joining node: a new key, not in the genesis set, the same network.
	joined, err := Join(filepath.Join(dir, "joiner"), JoinOptions{Genesis: homes0Genesis(t, homes[0]), Host: "127.0.0.1", P2PPort: 30010, APIPort: 31010})
	if err != nil {
		t.Fatal(err)
	}
	if set, _ := joined.Genesis.Validate(); func() bool { _, in := set.Index(joined.Key.Public()); return in }() {
		t.Fatal("the joining node's key is in the genesis set")
	}
	if _, err := Join(filepath.Join(dir, "joiner"), JoinOptions{Genesis: joined.Genesis, Host: "127.0.0.1", P2PPort: 30010, APIPort: 31010}); err == nil {
		t.Fatal("a second join over a node succeeded")
	}
	if _, err := Load(filepath.Join(dir, "nope")); err == nil {
		t.Fatal("a missing home loaded")
	}
}

// TestInitWritesAccountKeys: a network of the organization application has
// its genesis accounts' keys in DIR/keys, matching the genesis.
func TestInitWritesAccountKeys(t *testing.T) {
	dir := t.TempDir()
	homes, err := Init(dir, InitOptions{Nodes: 1, ChainID: "t", Host: "127.0.0.1", P2PPort: 30000, APIPort: 31000})
	if err != nil {
		t.Fatal(err)
	}
	h, err := Load(homes[0])
	if err != nil {
		t.Fatal(err)
	}
	g, err := orgapp.ParseGenesis(h.Genesis.App)
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range DevAccounts {
		k, err := LoadKey(KeyPath(dir, a.Name))
		if err != nil {
			t.Fatal(err)
		}
		if g.Accounts[i].Key != k.Public().String() || g.Accounts[i].Balance != a.Balance {
			t.Fatalf("%s: genesis has %+v", a.Name, g.Accounts[i])
		}
		if st, _ := os.Stat(KeyPath(dir, a.Name)); st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: key file mode %v", a.Name, st.Mode())
		}
	}
	if err := SaveKey(KeyPath(dir, "alice"), h.Key); err == nil {
		t.Fatal("a key file was overwritten")
	}
	// The key-value application has no accounts.
	kv := t.TempDir()
	homes, err = Init(kv, InitOptions{Nodes: 1, ChainID: "t", Host: "127.0.0.1", P2PPort: 30000, APIPort: 31000, App: "kv"})
	if err != nil {
		t.Fatal(err)
	}
	if h, err := Load(homes[0]); err != nil || h.Genesis.AppName() != "kv" || len(h.Genesis.App) != 0 {
		t.Fatalf("kv network: %v", err)
	}
	if _, err := os.Stat(filepath.Join(kv, "keys")); !os.IsNotExist(err) {
		t.Fatal("a kv network has account keys")
	}
	if _, err := Init(t.TempDir(), InitOptions{Nodes: 1, ChainID: "t", Host: "127.0.0.1", P2PPort: 30000, APIPort: 31000, App: "nope"}); err == nil {
		t.Fatal("an unknown application was accepted")
	}
}

func homes0Genesis(t *testing.T, dir string) *genesis.Genesis {
	t.Helper()
	h, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return h.Genesis
}

func TestLoadKeyRefusesAMismatchedPublicKey(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")
	ka, kb := testKey(t, 1), testKey(t, 2)
	if err := SaveKey(a, ka); err != nil {
		t.Fatal(err)
	}
	if err := writeJSON(b, keyFile{Seed: hex.EncodeToString(ka.Seed()), Public: kb.Public().String()}, 0o600); err != nil {
		t.Fatal(err)
	}
	if k, err := LoadKey(a); err != nil || k.Public() != ka.Public() {
		t.Fatalf("a good key file: %v", err)
	}
	if _, err := LoadKey(b); err == nil || !strings.Contains(err.Error(), "seed's public key") {
		t.Fatalf("a key file whose public key is another's loaded: %v", err)
	}
}

func testKey(t *testing.T, b byte) *crypto.PrivateKey {
	t.Helper()
	k, err := crypto.KeyFromSeed(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestInitWritesTheGovernance(t *testing.T) {
	fast, err := orgapp.LoadGovernance("fast")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	homes, err := Init(dir, InitOptions{Nodes: 1, ChainID: "t", Host: "127.0.0.1", P2PPort: 30000, APIPort: 31000, Governance: fast})
	if err != nil {
		t.Fatal(err)
	}
	h, err := Load(homes[0])
	if err != nil {
		t.Fatal(err)
	}
	g, err := orgapp.ParseGenesis(h.Genesis.App)
	if err != nil {
		t.Fatal(err)
	}
	if g.Governance == nil || g.Governance.Domains[0].Params["meeting_min"] != fast.Domains[0].Params["meeting_min"] {
		t.Fatalf("the genesis governance is %+v", g.Governance)
	}
	bad := &orgapp.GenesisGovernance{Domains: []orgapp.GenesisDomain{{Name: "general", Params: map[string]uint64{"active_limit": 0}}}}
	if _, err := Init(t.TempDir(), InitOptions{Nodes: 1, ChainID: "t", Host: "127.0.0.1", P2PPort: 30000, APIPort: 31000, Governance: bad}); err == nil {
		t.Fatal("a governance out of bounds was written")
	}
	if _, err := Init(t.TempDir(), InitOptions{Nodes: 1, ChainID: "t", Host: "127.0.0.1", P2PPort: 30000, APIPort: 31000, App: "kv", Governance: fast}); err == nil {
		t.Fatal("a kv network took a governance section")
	}
}

// TestConfigAPILimits: config.json's api_limits are read, durations as Go
// writes them; a misspelt field, a negative bound or a bad duration is
// refused with an error that names it, and the home does not load.
func TestConfigAPILimits(t *testing.T) {
	dir := t.TempDir()
	homes, err := Init(dir, InitOptions{Nodes: 1, ChainID: "t", Host: "127.0.0.1", P2PPort: 30000, APIPort: 31000})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(homes[0], "config.json")
	write := func(limits string) {
		t.Helper()
		cfg := `{"listen": ["/ip4/127.0.0.1/tcp/30000"], "api": "127.0.0.1:31000", "log_level": "info"` + limits + `}`
		if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(`, "api_limits": {"read_timeout": "1m30s", "max_conns": 8, "body_budget": 1048576, "stamp_rate": 50, "stamp_burst": 10}`)
	h, err := Load(homes[0])
	if err != nil {
		t.Fatal(err)
	}
	l := h.Config.APILimits
	if l == nil || time.Duration(l.ReadTimeout) != 90*time.Second || l.MaxConns != 8 || l.BodyBudget != 1<<20 ||
		l.StampRate != 50 || l.StampBurst != 10 || l.WriteTimeout != 0 {
		t.Fatalf("the limits read: %+v", l)
	}
	for _, c := range []struct{ limits, want string }{
		{`, "api_limit": {}`, `unknown field "api_limit"`},
		{`, "api_limits": {"max_con": 8}`, `unknown field "max_con"`},
		{`, "api_limits": {"max_conns": -1}`, "max_conns must not be negative"},
		{`, "api_limits": {"stamp_rate": -2}`, "stamp_rate must not be negative"},
		{`, "api_limits": {"read_timeout": "-1s"}`, "negative"},
		{`, "api_limits": {"read_timeout": "soon"}`, "invalid duration"},
		{`, "api_limits": {"read_timeout": 30}`, "a duration is a string"},
	} {
		write(c.limits)
		if _, err := Load(homes[0]); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.limits, err, c.want)
		}
	}
}
