package state

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestNonceWindow checks the nonce window against a set of used nonces.
func TestNonceWindow(t *testing.T) {
	for seed := uint64(0); seed < 20; seed++ {
		rng := rand.New(rand.NewPCG(seed, 1))
		var a Account
		used := map[uint64]bool{}
		for i := 0; i < 2000; i++ {
			n := a.Nonce + uint64(rng.IntN(NonceWindow+4))
			if rng.IntN(8) == 0 && a.Nonce > 0 {
				n = uint64(rng.IntN(int(a.Nonce)))
			}
			err := a.NonceFree(n)
			want := !used[n] && n <= a.Nonce+NonceWindow
			if (err == nil) != want {
				t.Fatalf("seed %d: nonce %d (lowest %d): free=%v, want %v", seed, n, a.Nonce, err == nil, want)
			}
			if err == nil {
				a.UseNonce(n)
				used[n] = true
			}
			if used[a.Nonce] {
				t.Fatalf("seed %d: lowest unused %d is used", seed, a.Nonce)
			}
			for m := uint64(0); m < a.Nonce; m++ {
				if !used[m] {
					t.Fatalf("seed %d: %d below the lowest unused %d was never used", seed, m, a.Nonce)
				}
			}
		}
	}
}

func TestRecordsRoundTrip(t *testing.T) {
	a := &Account{Role: Supervisor, Flags: FlagApplying, Nonce: 9, Used: 5, Name: "Ada"}
	b, err := UnmarshalAccount(a.Marshal())
	if err != nil || *b != *a {
		t.Fatalf("account: %+v, %v", b, err)
	}
	o := &Organization{Name: "Co-op", Policy: ByVote, Members: 3, Supervisors: 1, Applicants: 2}
	p, err := UnmarshalOrganization(o.Marshal())
	if err != nil || *p != *o {
		t.Fatalf("organization: %+v, %v", p, err)
	}
	if _, err := UnmarshalAccount(o.Marshal()); err == nil {
		t.Fatal("an organization decoded as an account")
	}
	bad := a.Marshal()
	bad[1] = 9 // role
	if _, err := UnmarshalAccount(bad); err == nil {
		t.Fatal("unknown role accepted")
	}
	if OrgKey == NamedKey("other") {
		t.Fatal("named keys collide")
	}
}

func TestFlagsAndVersions(t *testing.T) {
	a := &Account{Role: Member, Flags: FlagFrozen | FlagSuspended, Name: "x"}
	b, err := UnmarshalAccount(a.Marshal())
	if err != nil || !b.Frozen() || !b.Suspended() || b.Applying() {
		t.Fatalf("%+v %v", b, err)
	}
	bad := a.Marshal()
	bad[2] = 1 << 3 // an unknown flag
	if _, err := UnmarshalAccount(bad); err == nil {
		t.Fatal("an unknown flag accepted")
	}
	v := &Versions{Entries: []Version{{1, 1}, {100, 2}, {250, 5}}}
	w, err := UnmarshalVersions(v.Marshal())
	if err != nil || len(w.Entries) != 3 {
		t.Fatalf("%+v %v", w, err)
	}
	for h, want := range map[uint64]uint32{0: 0, 1: 1, 99: 1, 100: 2, 249: 2, 250: 5, 1 << 40: 5} {
		if got := w.At(h); got != want {
			t.Errorf("version at %d: %d, want %d", h, got, want)
		}
	}
	for name, x := range map[string]*Versions{
		"empty":          {},
		"height repeats": {Entries: []Version{{1, 1}, {1, 2}}},
		"version down":   {Entries: []Version{{1, 2}, {5, 1}}},
	} {
		if _, err := UnmarshalVersions(x.Marshal()); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if TreasuryKey == OrgKey || VersionsKey == NodesKey {
		t.Fatal("named keys collide")
	}
}

func FuzzUnmarshalAccount(f *testing.F) {
	f.Add((&Account{Role: Member, Nonce: 3, Name: "x"}).Marshal())
	f.Add((&Account{Role: Member, Flags: FlagFrozen | FlagSuspended, Name: "y"}).Marshal())
	f.Add((&Versions{Entries: []Version{{1, 1}, {9, 2}}}).Marshal())
	f.Add((&Organization{Name: "o", Policy: BySupervisor}).Marshal())
	f.Fuzz(func(t *testing.T, raw []byte) {
		if a, err := UnmarshalAccount(raw); err == nil && !bytes.Equal(a.Marshal(), raw) {
			t.Fatal("non-canonical account accepted")
		}
		if o, err := UnmarshalOrganization(raw); err == nil && !bytes.Equal(o.Marshal(), raw) {
			t.Fatal("non-canonical organization accepted")
		}
		if v, err := UnmarshalVersions(raw); err == nil && !bytes.Equal(v.Marshal(), raw) {
			t.Fatal("non-canonical versions accepted")
		}
	})
}
