package dkg

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/mass-consensus/mass/internal/crypto"
)

func TestConfigRefused(t *testing.T) {
	c := newCluster(t, 4, "era", 30)
	other := newCluster(t, 4, "era", 31)
	mod := func(f func(*Config)) Config { cfg := c.cfg(1); f(&cfg); return cfg }
	for what, cfg := range map[string]Config{
		"n = 0":                  mod(func(g *Config) { g.N, g.F, g.Keys = 0, 0, nil }),
		"3f = n":                 mod(func(g *Config) { g.N, g.F, g.Keys = 3, 1, g.Keys[:3] }),
		"f = -1":                 mod(func(g *Config) { g.F = -1 }),
		"3f > n":                 mod(func(g *Config) { g.F = 2 }),
		"n > MaxNodes":           mod(func(g *Config) { g.N = MaxNodes + 1 }),
		"too few keys":           mod(func(g *Config) { g.Keys = g.Keys[:3] }),
		"self = n":               mod(func(g *Config) { g.Self = 4 }),
		"self = -2":              mod(func(g *Config) { g.Self = -2; g.Secret = nil }),
		"node without secret":    mod(func(g *Config) { g.Secret = nil }),
		"observer with secret":   mod(func(g *Config) { g.Self = -1 }),
		"another node's secret":  mod(func(g *Config) { g.Secret = c.privs[2] }),
		"secret not of the keys": mod(func(g *Config) { g.Secret = other.privs[1] }),
		"two nodes, one key":     mod(func(g *Config) { g.Keys = slices.Clone(g.Keys); g.Keys[3] = g.Keys[0] }),
		"identity key":           mod(func(g *Config) { g.Keys = slices.Clone(g.Keys); g.Keys[3] = crypto.PublicKey{1} }),
		"context too long":       mod(func(g *Config) { g.Context = bytes.Repeat([]byte{1}, MaxContext+1) }),
	} {
		if _, err := New(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("New(%s) = %v, want ErrConfig", what, err)
		}
		if _, err := NewPart(cfg, seeded(1)); !errors.Is(err, ErrConfig) {
			t.Errorf("NewPart(%s) = %v, want ErrConfig", what, err)
		}
	}
	if _, err := NewPart(c.cfg(-1), seeded(1)); !errors.Is(err, ErrConfig) {
		t.Errorf("NewPart(observer) = %v, want ErrConfig", err)
	}
	for _, n := range []int{1, 2, 3} { // f = 0: a key of one share
		small := newCluster(t, n, "", 32)
		if _, err := New(small.cfg(0)); err != nil {
			t.Errorf("New(n=%d, f=0): %v", n, err)
		}
	}
}

func TestNewPartRandomness(t *testing.T) {
	c := newCluster(t, 4, "era", 33)
	need := triangle(c.f)*64 + 32
	if _, err := NewPart(c.cfg(0), strings.NewReader(strings.Repeat("x", need-1))); !errors.Is(err, ErrRandomness) {
		t.Errorf("NewPart with %d bytes = %v, want ErrRandomness", need-1, err)
	}
	if _, err := NewPart(c.cfg(0), bytes.NewReader(make([]byte, need))); !errors.Is(err, ErrRandomness) {
		t.Errorf("NewPart with a zero secret = %v, want ErrRandomness", err)
	}
	p1 := c.part(t, 0, 5)
	p2 := c.part(t, 0, 5)
	b1, _ := p1.MarshalBinary()
	b2, _ := p2.MarshalBinary()
	if !bytes.Equal(b1, b2) {
		t.Error("the same randomness made two parts")
	}
}

// One key generation with 1..3 nodes (F = 0, T = 1).
func TestSingleShareKeys(t *testing.T) {
	for _, n := range []int{1, 3} {
		c := newCluster(t, n, "tiny", 34)
		r := &runner{kgs: c.keyGens(t), log: partsLog(c.parts(t, 9))}
		r.all(t)
		pk, _ := generateAll(t, r.kgs)
		if pk.T() != 1 || pk.N() != n {
			t.Fatalf("key with n=%d t=%d", pk.N(), pk.T())
		}
	}
}
