package home

import (
	"os"
	"path/filepath"
	"testing"
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
