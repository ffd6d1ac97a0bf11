package mem_test

import (
	"testing"

	"github.com/mass-consensus/mass/internal/transport"
	"github.com/mass-consensus/mass/internal/transport/mem"
	"github.com/mass-consensus/mass/internal/transport/transporttest"
)

// network adapts a mem.Network to the conformance suite.
type network struct{ net *mem.Network }

func (n network) NewNode(t testing.TB, cfg transport.Config) transporttest.Node {
	t.Helper()
	key, _ := transporttest.NewKey(t)
	tr, err := n.net.Join(key, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	return transporttest.Node{Transport: tr, Peer: transport.Peer{Key: key, Addrs: []string{"mem"}}}
}

func (n network) Drop(t testing.TB, a, b transporttest.Node) {
	if n.net.Connections(a.Key(), b.Key()) == 0 {
		t.Fatalf("no connection between %v and %v to drop", a.Key(), b.Key())
	}
	n.net.Drop(a.Key(), b.Key())
}

func TestConformance(t *testing.T) {
	transporttest.Run(t, func(t *testing.T) transporttest.Network { return network{mem.NewNetwork()} })
}

func TestPartitionHeal(t *testing.T) {
	net := network{mem.NewNetwork()}
	a, b := net.NewNode(t, transporttest.TestConfig()), net.NewNode(t, transporttest.TestConfig())
	transporttest.SetPeers(t, a, b)
	if err := a.Send(b.Key(), 1, []byte("before")); err != nil {
		t.Fatal(err)
	}
	if m := transporttest.Recv(t, b); string(m.Data) != "before" {
		t.Fatalf("got %q", m.Data)
	}
	transporttest.Eventually(t, "the acknowledgement", func() bool { return a.Stats().Peers[b.Key()].Queued == 0 })
	net.net.Partition(a.Key(), b.Key())
	if c := net.net.Connections(a.Key(), b.Key()); c != 0 {
		t.Fatalf("%d connections across a partition", c)
	}
	for _, s := range []string{"during 1", "during 2"} {
		if err := a.Send(b.Key(), 1, []byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	// a keeps trying and failing; nothing crosses.
	transporttest.Eventually(t, "a to find b unreachable", func() bool {
		return a.Stats().Peers[b.Key()].Queued == 2 && !a.Stats().Peers[b.Key()].Connected
	})
	net.net.Heal(a.Key(), b.Key())
	for _, want := range []string{"during 1", "during 2"} {
		if m := transporttest.Recv(t, b); string(m.Data) != want {
			t.Fatalf("after heal got %q, want %q", m.Data, want)
		}
	}
}

func TestJoinTwice(t *testing.T) {
	net := mem.NewNetwork()
	key, _ := transporttest.NewKey(t)
	tr, err := net.Join(key, transport.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if _, err := net.Join(key, transport.Config{}); err == nil {
		t.Fatal("a key joined twice")
	}
	if _, err := net.Join([32]byte{1}, transport.Config{QueueSize: -1}); err == nil {
		t.Fatal("a negative queue size was accepted")
	}
}

func TestDialErrors(t *testing.T) {
	net := network{mem.NewNetwork()}
	a := net.NewNode(t, transporttest.TestConfig())
	ghost, _ := transporttest.NewKey(t)
	if err := a.SetPeers([]transport.Peer{{Key: ghost}}); err != nil {
		t.Fatal(err)
	}
	if err := a.Send(ghost, 1, []byte("x")); err != nil {
		t.Fatal(err)
	}
	// The link retries with backoff; the message stays queued.
	transporttest.Eventually(t, "a to keep the message", func() bool { return a.Stats().Peers[ghost].Queued == 1 })
}
