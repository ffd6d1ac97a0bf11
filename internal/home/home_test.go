package home

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
