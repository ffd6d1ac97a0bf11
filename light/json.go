package light

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/mass-consensus/mass/internal/apijson"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/genesis"
	"github.com/mass-consensus/mass/internal/smt"
)

// MarshalJSON encodes a leaf as the API does: binary fields in lowercase
// hex.
func (l Leaf) MarshalJSON() ([]byte, error) {
	j := apijson.Leaf{Height: l.Height, Key: hex.EncodeToString(l.Key[:]), Found: l.Found, Sum: l.Sum,
		Proof: hex.EncodeToString(l.Proof), Header: hex.EncodeToString(l.Header),
		Certificate: hex.EncodeToString(l.Certificate)}
	if l.Found {
		j.Value = hex.EncodeToString(l.Value)
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes a leaf in the API's form, strictly: every binary
// field must be hex, and an absent record must have no value or sum.
func (l *Leaf) UnmarshalJSON(b []byte) error {
	var j apijson.Leaf
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("%w: a proof: %w", ErrInvalid, err)
	}
	out, err := leafOf(&j)
	if err != nil {
		return err
	}
	*l = *out
	return nil
}

// leafOf decodes the API's form of a leaf.
func leafOf(j *apijson.Leaf) (*Leaf, error) {
	l := &Leaf{Height: j.Height, Found: j.Found, Sum: j.Sum}
	key, err := decodeHex("key", j.Key, len(l.Key))
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
	if l.Proof, err = decodeHex("proof", j.Proof, -1); err != nil {
		return nil, err
	}
	if len(l.Proof) > smt.MaxProofSize {
		return nil, fmt.Errorf("%w: a proof of %d bytes, limit %d", ErrInvalid, len(l.Proof), smt.MaxProofSize)
	}
	if l.Header, err = decodeHex("header", j.Header, -1); err != nil {
		return nil, err
	}
	if l.Certificate, err = decodeHex("certificate", j.Certificate, -1); err != nil {
		return nil, err
	}
	return l, nil
}

// MarshalJSON encodes a segment as GET /v1/headers answers.
func (s Segment) MarshalJSON() ([]byte, error) {
	j := apijson.Headers{Headers: make([]string, len(s.Headers)), Certificates: map[string]string{}}
	for i, h := range s.Headers {
		j.Headers[i] = hex.EncodeToString(h)
	}
	for h, c := range s.Certificates {
		j.Certificates[strconv.FormatUint(h, 10)] = hex.EncodeToString(c)
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
	return json.Marshal(j)
}

// UnmarshalJSON decodes a segment in the form GET /v1/headers answers,
// strictly and within MaxSegment headers.
func (s *Segment) UnmarshalJSON(b []byte) error {
	var j apijson.Headers
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("%w: a segment: %w", ErrInvalid, err)
	}
	out, err := segmentOf(&j, MaxSegment)
	if err != nil {
		return err
	}
	*s = *out
	return nil
}

// segmentOf decodes the API's form of a segment of at most limit headers.
func segmentOf(j *apijson.Headers, limit int) (*Segment, error) {
	switch {
	case len(j.Headers) > limit:
		return nil, fmt.Errorf("%w: %d headers, limit %d", ErrInvalid, len(j.Headers), limit)
	case len(j.Certificates) > len(j.Headers) || len(j.NodeSets) > len(j.Headers):
		return nil, fmt.Errorf("%w: %d certificates and %d node sets for %d headers", ErrInvalid, len(j.Certificates), len(j.NodeSets), len(j.Headers))
	}
	s := &Segment{Certificates: map[uint64][]byte{}, NodeSets: map[Hash]NodeSet{}}
	for i, x := range j.Headers {
		raw, err := decodeHex(fmt.Sprintf("header %d", i), x, -1)
		if err != nil {
			return nil, err
		}
		s.Headers = append(s.Headers, raw)
	}
	for hs, x := range j.Certificates {
		height, err := strconv.ParseUint(hs, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: certificate height %q", ErrInvalid, hs)
		}
		if s.Certificates[height], err = decodeHex("certificate", x, -1); err != nil {
			return nil, err
		}
	}
	for hs, keys := range j.NodeSets {
		raw, err := decodeHex("node set hash", hs, len(Hash{}))
		if err != nil {
			return nil, err
		}
		if len(keys) > genesis.MaxNodes {
			return nil, fmt.Errorf("%w: a node set of %d keys, limit %d", ErrInvalid, len(keys), genesis.MaxNodes)
		}
		var set NodeSet
		for _, k := range keys {
			pk, err := crypto.ParsePublicKey(k)
			if err != nil {
				return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
			}
			set.Keys = append(set.Keys, PublicKey(pk))
		}
		s.NodeSets[Hash(raw)] = set
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
