package genesis

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mass-consensus/mass/internal/crypto"
)

func nodeKey(t *testing.T, b byte) string {
	seed := make([]byte, crypto.SeedSize)
	seed[0] = b
	k, err := crypto.KeyFromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	return k.Public().String()
}

func TestValidate(t *testing.T) {
	a, b := nodeKey(t, 1), nodeKey(t, 2)
	identity := "01" + strings.Repeat("00", 31) // a small-order point
	for name, raw := range map[string]string{
		"no chain":          fmt.Sprintf(`{"nodes":[{"key":%q}]}`, a),
		"no nodes":          `{"chain_id":"c","nodes":[]}`,
		"twice":             fmt.Sprintf(`{"chain_id":"c","nodes":[{"key":%q},{"key":%q}]}`, a, a),
		"weak key":          fmt.Sprintf(`{"chain_id":"c","nodes":[{"key":%q}]}`, identity),
		"bad key":           `{"chain_id":"c","nodes":[{"key":"zz"}]}`,
		"unknown app":       fmt.Sprintf(`{"chain_id":"c","application":"chess","nodes":[{"key":%q}]}`, a),
		"unknown agreement": fmt.Sprintf(`{"chain_id":"c","agreement":"paxos","nodes":[{"key":%q}]}`, a),
		"negative":          fmt.Sprintf(`{"chain_id":"c","window":-1,"nodes":[{"key":%q}]}`, a),
		"not json":          `{`,
	} {
		if _, err := Parse([]byte(raw)); !errors.Is(err, ErrBad) {
			t.Errorf("%s: %v", name, err)
		}
	}
	g, err := Parse([]byte(fmt.Sprintf(`{"chain_id":"c","nodes":[{"key":%q},{"key":%q}]}`, a, b)))
	if err != nil {
		t.Fatal(err)
	}
	if g.AppName() != AppOrg || g.AgreementName() != AgreementQuadratic {
		t.Fatalf("default application %q, agreement %q", g.AppName(), g.AgreementName())
	}
	set, _ := g.Validate()
	if set.N() != 2 || set.Keys[1].String() != b {
		t.Fatalf("set %+v", set)
	}
	// Written and read back, it is the same network.
	path := filepath.Join(t.TempDir(), "genesis.json")
	if err := g.Write(path); err != nil {
		t.Fatal(err)
	}
	back, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if s2, _ := back.Validate(); s2.Hash() != set.Hash() || back.ChainID != "c" {
		t.Fatal("the genesis changed on the way to disk")
	}
}
