package apijson

import (
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/mass-consensus/mass/internal/app/orgapp"
	"github.com/mass-consensus/mass/internal/chain"
)

// MaxHeaders bounds the headers of one GET /v1/headers.
const MaxHeaders = 1000

// Leaf is the proof of one record of the state at a height, as answers
// carry it with ?prove=1: binary fields are lowercase hex of their
// canonical encodings (docs/FORMATS.md). The light client decodes and
// verifies it; nothing in it is trusted before.
type Leaf struct {
	Height      uint64 `json:"height"`
	Key         string `json:"key"`
	Found       bool   `json:"found"`
	Value       string `json:"value,omitempty"`
	Sum         uint64 `json:"sum"`
	Proof       string `json:"proof"`
	Header      string `json:"header"`
	Certificate string `json:"certificate"`
}

// LeafOf is the proof of a record read from the application, with the
// header and certificate of its height.
func LeafOf(l *orgapp.Leaf, h *chain.Header, c *chain.Certificate) Leaf {
	j := Leaf{Height: l.Height, Key: hex.EncodeToString(l.Key[:]), Found: l.Found, Sum: l.Sum}
	if l.Found {
		j.Value = hex.EncodeToString(l.Value)
	}
	if l.Proof != nil {
		j.Proof = hex.EncodeToString(l.Proof.Marshal())
	}
	if h != nil {
		j.Header = hex.EncodeToString(h.Marshal())
	}
	if c != nil {
		j.Certificate = hex.EncodeToString(c.Marshal())
	}
	return j
}

// Headers answers GET /v1/headers?from=&to=: a run of headers with the
// certificates and node sets a light client needs to verify them.
type Headers struct {
	Headers []string `json:"headers"`
	// Certificates by height (decimal).
	Certificates map[string]string `json:"certificates"`
	// NodeSets by hash (hex): the public keys (hex) in order.
	NodeSets map[string][]string `json:"node_sets,omitempty"`
}

// Check refuses more headers than an answer may hold, and more
// certificates or node sets than headers.
func (h *Headers) Check() error {
	switch {
	case len(h.Headers) == 0 || len(h.Headers) > MaxHeaders:
		return fmt.Errorf("%w: %d headers, want 1 to %d", ErrMalformed, len(h.Headers), MaxHeaders)
	case len(h.Certificates) > len(h.Headers):
		return fmt.Errorf("%w: %d certificates for %d headers", ErrMalformed, len(h.Certificates), len(h.Headers))
	case len(h.NodeSets) > len(h.Headers):
		return fmt.Errorf("%w: %d node sets for %d headers", ErrMalformed, len(h.NodeSets), len(h.Headers))
	}
	return nil
}

// Segment is a run of headers as the server assembles it, before
// encoding: the certificates (by height) and node sets (by hash) a light
// client needs with them.
type Segment struct {
	Headers      []*chain.Header
	Certificates map[uint64]*chain.Certificate
	NodeSets     map[chain.Hash]chain.NodeSet
}

// JSON is the answer for a segment.
func (s *Segment) JSON() Headers {
	j := Headers{Headers: make([]string, len(s.Headers)), Certificates: map[string]string{}}
	for i, h := range s.Headers {
		j.Headers[i] = hex.EncodeToString(h.Marshal())
	}
	for h, c := range s.Certificates {
		j.Certificates[strconv.FormatUint(h, 10)] = hex.EncodeToString(c.Marshal())
	}
	if len(s.NodeSets) > 0 {
		j.NodeSets = map[string][]string{}
		for h, set := range s.NodeSets {
			keys := make([]string, len(set.Keys))
			for i, k := range set.Keys {
				keys[i] = k.String()
			}
			j.NodeSets[h.String()] = keys
		}
	}
	return j
}

// Account answers GET /v1/accounts/{id}.
type Account struct {
	Height  uint64              `json:"height"`
	Found   bool                `json:"found"`
	Account *orgapp.AccountView `json:"account,omitempty"`
	Proof   *Leaf               `json:"proof,omitempty"`
}

// Check refuses an answer whose account and proof disagree with what it
// claims was found.
func (a *Account) Check() error {
	switch {
	case a.Found != (a.Account != nil):
		return fmt.Errorf("%w: found is %v but the account is %s", ErrMalformed, a.Found, presence(a.Account != nil))
	case a.Proof != nil && (a.Proof.Found != a.Found || a.Proof.Height != a.Height):
		return fmt.Errorf("%w: the proof is of another height or finding than the answer", ErrMalformed)
	}
	return nil
}

func presence(there bool) string {
	if there {
		return "there"
	}
	return "missing"
}

// Organization answers GET /v1/organization.
type Organization struct {
	Height       uint64                   `json:"height"`
	Organization *orgapp.OrganizationView `json:"organization"`
	Proof        *Leaf                    `json:"proof,omitempty"`
}

// Check refuses an answer without the organization, or with a proof of
// another height.
func (o *Organization) Check() error {
	switch {
	case o.Organization == nil:
		return fmt.Errorf("%w: an answer without the organization", ErrMalformed)
	case o.Proof != nil && o.Proof.Height != o.Height:
		return fmt.Errorf("%w: the proof is of height %d, the answer of %d", ErrMalformed, o.Proof.Height, o.Height)
	}
	return nil
}

// checkProofs refuses proofs of another height than their answer's.
func checkProofs(height uint64, proofs []Leaf) error {
	for i, p := range proofs {
		if p.Height != height {
			return fmt.Errorf("%w: proof %d is of height %d, the answer of %d", ErrMalformed, i, p.Height, height)
		}
	}
	return nil
}
