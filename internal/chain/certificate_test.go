package chain

import (
	"errors"
	"strings"
	"testing"

	"github.com/mass-consensus/mass/internal/crypto"
)

// A certificate's bad signatures are named by their nodes, however many
// votes are batched around them.
func TestCertificateNamesBadSigners(t *testing.T) {
	keys, set := testKeys(t, 10)
	all := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	blocks, certs := testChain(t, keys, set, 1, all)
	b, good := blocks[0], certs[0]
	if err := good.Verify(&b.Header, set); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		bad  []int // indexes of votes whose signature is spoiled
		want string
	}{
		{[]int{0}, "node 0:"},
		{[]int{6}, "node 6:"},
		{[]int{9}, "node 9:"},
		{[]int{2, 7}, "nodes [2 7]:"},
	}
	for _, tc := range cases {
		c := *good
		c.Votes = append([]Vote(nil), good.Votes...)
		for _, i := range tc.bad {
			c.Votes[i].Sig[33] ^= 4
		}
		err := c.Verify(&b.Header, set)
		if !errors.Is(err, ErrBadBlock) || !errors.Is(err, crypto.ErrBadSignature) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("votes %v spoiled: %v, want it to name %q", tc.bad, err, tc.want)
		}
		// The vote alone is rejected the same way.
		if err := VerifyVote(c.Votes[tc.bad[0]], &b.Header, set); !errors.Is(err, crypto.ErrBadSignature) {
			t.Errorf("vote %d alone: %v", tc.bad[0], err)
		}
	}
}

// MaxCertificate is the size of a certificate of MaxVotes votes, which
// decodes.
func TestMaxCertificate(t *testing.T) {
	c := &Certificate{Height: 1, Votes: make([]Vote, MaxVotes)}
	raw := c.Marshal()
	if len(raw) != MaxCertificate {
		t.Fatalf("%d votes in %d bytes, MaxCertificate %d", MaxVotes, len(raw), MaxCertificate)
	}
	if _, err := UnmarshalCertificate(raw); err != nil {
		t.Fatal(err)
	}
}
