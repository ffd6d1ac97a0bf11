package rbc

import (
	"errors"
	"fmt"
	"testing"

	"github.com/mass-consensus/mass/internal/protocol"
	"github.com/mass-consensus/mass/internal/wire"
)

func marshal(m *Message) []byte {
	w := wire.NewWriter(0)
	m.MarshalTo(w)
	return w.Finish()
}

func TestMessageRoundTrip(t *testing.T) {
	for _, n := range []int{1, 3, 4, 7, 16, 300} {
		p := mustParams(t, n)
		c, err := Encode(p, []byte("round trip"))
		if err != nil {
			t.Fatal(err)
		}
		for _, kind := range []Kind{KindVal, KindEcho, KindReady} {
			for _, i := range []int{0, n - 1} {
				m := c.Message(kind, i)
				enc := marshal(m)
				if len(enc) != encodedLen(m) {
					t.Fatalf("n=%d %v: %d bytes, want %d", n, kind, len(enc), encodedLen(m))
				}
				r := wire.NewReader(enc)
				got, err := Unmarshal(r, p, 0)
				if err != nil {
					t.Fatalf("n=%d %v: %v", n, kind, err)
				}
				if err := r.Done(); err != nil {
					t.Fatalf("n=%d %v: %v", n, kind, err)
				}
				if !equalMessages(m, got) {
					t.Fatalf("n=%d %v: round trip changed the message", n, kind)
				}
				if kind == KindReady && (got.Index != 0 || got.Shard != nil || got.Branch != nil) {
					t.Fatalf("READY decoded with shard fields")
				}
				// The decoded shard does not alias the input.
				if kind != KindReady && len(got.Shard) > 0 {
					enc[1+32+2+4] ^= 0xff
					if got.Shard[0] != m.Shard[0] {
						t.Fatal("decoded shard aliases the input")
					}
				}
			}
		}
	}
}

// Messages embed: Unmarshal reads one and leaves the rest to the caller.
func TestMessageEmbedded(t *testing.T) {
	p := mustParams(t, 4)
	c, err := Encode(p, []byte("embedded"))
	if err != nil {
		t.Fatal(err)
	}
	w := wire.NewWriter(0)
	c.Message(KindReady, 0).MarshalTo(w)
	c.Message(KindEcho, 2).MarshalTo(w)
	w.U8(0xee)
	r := wire.NewReader(w.Finish())
	for _, kind := range []Kind{KindReady, KindEcho} {
		m, err := Unmarshal(r, p, 0)
		if err != nil || m.Kind != kind {
			t.Fatalf("%v: %v", kind, err)
		}
	}
	if err := r.Done(); !errors.Is(err, wire.ErrTrailing) {
		t.Fatalf("trailing byte: %v", err)
	}
	if r.U8("trailer") != 0xee || r.Done() != nil {
		t.Fatal("trailer")
	}

	// A READY followed by what would be shard fields: those are trailing
	// bytes, the caller's concern.
	bad := append(marshal(c.Message(KindReady, 0)), marshal(c.Message(KindEcho, 1))[33:]...)
	r = wire.NewReader(bad)
	if _, err := Unmarshal(r, p, 0); err != nil {
		t.Fatal(err)
	}
	if err := r.Done(); !errors.Is(err, wire.ErrTrailing) {
		t.Fatalf("READY with shard fields: %v", err)
	}
}

func TestMessageTruncated(t *testing.T) {
	for _, n := range []int{1, 4, 7} {
		p := mustParams(t, n)
		c, err := Encode(p, []byte("truncate me"))
		if err != nil {
			t.Fatal(err)
		}
		for _, kind := range []Kind{KindVal, KindEcho, KindReady} {
			enc := marshal(c.Message(kind, n-1))
			for l := range len(enc) {
				r := wire.NewReader(enc[:l])
				_, err := Unmarshal(r, p, 0)
				if !errors.Is(err, wire.ErrTruncated) {
					t.Fatalf("n=%d %v truncated to %d of %d bytes: %v", n, kind, l, len(enc), err)
				}
				if r.Err() == nil {
					t.Fatal("reader error not set")
				}
			}
		}
	}
}

func TestMessageRejected(t *testing.T) {
	p := mustParams(t, 7) // k = 3, depth 3
	const maxValue = 1000
	limit := shardSize(p, maxValue) // ceil(1004/3) = 335
	if limit != 335 {
		t.Fatalf("shard limit %d", limit)
	}
	c, err := Encode(p, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	good := c.Message(KindEcho, 2)
	with := func(f func(m *Message)) []byte {
		m := *good
		f(&m)
		return marshal(&m)
	}
	branch := func(l int) [][32]byte { return make([][32]byte, l) }
	cases := []struct {
		name string
		enc  []byte
		want error
	}{
		{"kind 0", with(func(m *Message) { m.Kind = 0 }), ErrUnknownKind},
		{"kind 4", with(func(m *Message) { m.Kind = 4 }), ErrUnknownKind},
		{"index n", with(func(m *Message) { m.Index = 7 }), ErrInvalidMessage},
		{"index max", with(func(m *Message) { m.Index = 0xffff }), ErrInvalidMessage},
		{"shard over limit", with(func(m *Message) { m.Shard = make([]byte, limit+1) }), wire.ErrTooLarge},
		{"branch short", with(func(m *Message) { m.Branch = branch(2) }), ErrInvalidMessage},
		{"branch empty", with(func(m *Message) { m.Branch = nil }), ErrInvalidMessage},
		{"branch long", with(func(m *Message) { m.Branch = branch(4) }), wire.ErrTooLarge},
	}
	for _, tc := range cases {
		r := wire.NewReader(tc.enc)
		if _, err := Unmarshal(r, p, maxValue); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if r.Err() == nil {
			t.Errorf("%s: reader error not set", tc.name)
		}
	}
	// The largest shard is accepted.
	r := wire.NewReader(with(func(m *Message) { m.Shard = make([]byte, limit) }))
	if _, err := Unmarshal(r, p, maxValue); err != nil {
		t.Errorf("shard at the limit: %v", err)
	}
	// So is the default limit.
	r = wire.NewReader(with(func(m *Message) { m.Shard = make([]byte, shardSize(p, DefaultMaxValueSize)) }))
	if _, err := Unmarshal(r, p, 0); err != nil {
		t.Errorf("shard at the default limit: %v", err)
	}
	// Bad arguments.
	if _, err := Unmarshal(wire.NewReader(marshal(good)), protocol.Params{N: 4, F: 2}, 0); !errors.Is(err, ErrInvalidParams) {
		t.Errorf("bad params: %v", err)
	}
	if _, err := Unmarshal(wire.NewReader(marshal(good)), p, -1); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("bad limit: %v", err)
	}

	// The instance enforces the same limit on messages handed to it in memory.
	b, err := New(Config{Params: p, Self: 0, Proposer: 1, MaxValueSize: maxValue})
	if err != nil {
		t.Fatal(err)
	}
	big := make([][]byte, p.N)
	for i := range big {
		big[i] = make([]byte, limit+1)
	}
	expectFault(t, b.HandleMessage(2, Commit(big).Message(KindEcho, 2)), 2, FaultMalformed)
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{KindVal: "VAL", KindEcho: "ECHO", KindReady: "READY", 7: "Kind(7)"} {
		if got := fmt.Sprint(k); got != want {
			t.Errorf("%d: %q", k, got)
		}
	}
}
