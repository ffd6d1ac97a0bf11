package home

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/mass-consensus/mass/internal/app/orgapp"
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
	// A key that is not in the node set is refused.
	other := t.TempDir()
	homes2, _ := Init(other, InitOptions{Nodes: 1, ChainID: "t", Host: "127.0.0.1", P2PPort: 30000, APIPort: 31000})
	raw, _ := os.ReadFile(filepath.Join(homes2[0], "node_key.json"))
	os.WriteFile(filepath.Join(homes[0], "node_key.json"), raw, 0o600)
	if _, err := Load(homes[0]); err == nil {
		t.Fatal("a home whose key is not in the node set loaded")
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
