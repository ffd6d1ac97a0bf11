package light

import (
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/mass-consensus/mass/internal/chain"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/smt"
)

// LeafJSON is the JSON form of a Leaf, as the API answers with ?prove=1:
// binary fields are lowercase hex of their canonical encodings.
type LeafJSON struct {
	Height      uint64 `json:"height"`
	Key         string `json:"key"`
	Found       bool   `json:"found"`
	Value       string `json:"value,omitempty"`
	Sum         uint64 `json:"sum"`
	Proof       string `json:"proof"`
	Header      string `json:"header"`
	Certificate string `json:"certificate"`
}

// JSON returns the JSON form of a leaf.
func (l *Leaf) JSON() LeafJSON {
	j := LeafJSON{Height: l.Height, Key: hex.EncodeToString(l.Key[:]), Found: l.Found, Sum: l.Sum}
	if l.Found {
		j.Value = hex.EncodeToString(l.Value)
	}
	if l.Proof != nil {
		j.Proof = hex.EncodeToString(l.Proof.Marshal())
	}
	if l.Header != nil {
		j.Header = hex.EncodeToString(l.Header.Marshal())
	}
	if l.Certificate != nil {
		j.Certificate = hex.EncodeToString(l.Certificate.Marshal())
	}
	return j
}

// Decode decodes the JSON form strictly.
func (j *LeafJSON) Decode() (*Leaf, error) {
	l := &Leaf{Height: j.Height, Found: j.Found, Sum: j.Sum}
	key, err := decodeHex("key", j.Key, 20)
	if err != nil {
		return nil, err
	}
	copy(l.Key[:], key)
	if j.Found {
		if l.Value, err = decodeHex("value", j.Value, -1); err != nil {
			return nil, err
		}
	} else if j.Value != "" || j.Sum != 0 {
		return nil, fmt.Errorf("%w: an absent record with a value or sum", ErrInvalid)
	}
	raw, err := decodeHex("proof", j.Proof, -1)
	if err != nil {
		return nil, err
	}
	if l.Proof, err = smt.UnmarshalProof(raw); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if raw, err = decodeHex("header", j.Header, -1); err != nil {
		return nil, err
	}
	if l.Header, err = chain.UnmarshalHeader(raw); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if raw, err = decodeHex("certificate", j.Certificate, -1); err != nil {
		return nil, err
	}
	if l.Certificate, err = chain.UnmarshalCertificate(raw); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return l, nil
}

// SegmentJSON is the JSON form of a Segment, as GET /v1/headers answers.
type SegmentJSON struct {
	Headers []string `json:"headers"`
	// Certificates by height (decimal).
	Certificates map[string]string `json:"certificates"`
	// NodeSets by hash (hex): the public keys (hex) in order.
	NodeSets map[string][]string `json:"node_sets,omitempty"`
}

// EncodeSegment returns the JSON form of a segment.
func EncodeSegment(s *Segment) SegmentJSON {
	j := SegmentJSON{Headers: make([]string, len(s.Headers)), Certificates: map[string]string{}}
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

// Decode decodes the JSON form strictly.
func (j *SegmentJSON) Decode() (*Segment, error) {
	if len(j.Headers) > MaxSegment {
		return nil, fmt.Errorf("%w: %d headers, limit %d", ErrInvalid, len(j.Headers), MaxSegment)
	}
	s := &Segment{Certificates: map[uint64]*chain.Certificate{}, NodeSets: map[chain.Hash]chain.NodeSet{}}
	for i, x := range j.Headers {
		raw, err := decodeHex(fmt.Sprintf("header %d", i), x, -1)
		if err != nil {
			return nil, err
		}
		h, err := chain.UnmarshalHeader(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		s.Headers = append(s.Headers, h)
	}
	if len(j.Certificates) > len(j.Headers) {
		return nil, fmt.Errorf("%w: %d certificates for %d headers", ErrInvalid, len(j.Certificates), len(j.Headers))
	}
	for hs, x := range j.Certificates {
		height, err := strconv.ParseUint(hs, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: certificate height %q", ErrInvalid, hs)
		}
		raw, err := decodeHex("certificate", x, -1)
		if err != nil {
			return nil, err
		}
		if s.Certificates[height], err = chain.UnmarshalCertificate(raw); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
	}
	if len(j.NodeSets) > len(j.Headers) {
		return nil, fmt.Errorf("%w: %d node sets for %d headers", ErrInvalid, len(j.NodeSets), len(j.Headers))
	}
	for hs, keys := range j.NodeSets {
		raw, err := decodeHex("node set hash", hs, 32)
		if err != nil {
			return nil, err
		}
		if len(keys) > 1024 {
			return nil, fmt.Errorf("%w: a node set of %d keys", ErrInvalid, len(keys))
		}
		var set chain.NodeSet
		for _, k := range keys {
			pk, err := crypto.ParsePublicKey(k)
			if err != nil {
				return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
			}
			set.Keys = append(set.Keys, pk)
		}
		s.NodeSets[chain.Hash(raw)] = set
	}
	return s, nil
}

// decodeHex decodes lowercase or uppercase hex; size −1 accepts any length.
func decodeHex(what, s string, size int) ([]byte, error) {
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not hex: %w", ErrInvalid, what, err)
	}
	if size >= 0 && len(b) != size {
		return nil, fmt.Errorf("%w: %s has %d bytes, want %d", ErrInvalid, what, len(b), size)
	}
	return b, nil
}
