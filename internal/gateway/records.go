package gateway

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/mass-consensus/mass/internal/apijson"
	"github.com/mass-consensus/mass/internal/app/orgapp"
	"github.com/mass-consensus/mass/internal/app/state"
	"github.com/mass-consensus/mass/internal/client"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/smt"
	"github.com/mass-consensus/mass/light"
)

// maxMissing bounds the records a view may lack proofs of, which the
// gateway asks for one by one, and maxRounds the times it asks.
const (
	maxMissing = 64
	maxRounds  = 4
	// maxProofs bounds the proofs of one answer (a proposal's view, with
	// every round and sub-meeting and the accounts it names, needs a few
	// thousand at most).
	maxProofs = 16384
)

// leafOf decodes a proof in the API's form, strictly (light.Leaf's
// decoder); what does not decode is the node's fault.
func leafOf(j *apijson.Leaf) (*light.Leaf, error) {
	raw, err := json.Marshal(j)
	if err != nil {
		return nil, faulty("a proof: %v", err)
	}
	var l light.Leaf
	if err := l.UnmarshalJSON(raw); err != nil {
		return nil, err
	}
	return &l, nil
}

// leafJSON is a verified proof in the API's form.
func leafJSON(l *light.Leaf) apijson.Leaf {
	j := apijson.Leaf{Height: l.Height, Key: hex.EncodeToString(l.Key[:]), Found: l.Found, Sum: l.Sum,
		Proof: hex.EncodeToString(l.Proof), Header: hex.EncodeToString(l.Header), Certificate: hex.EncodeToString(l.Certificate)}
	if l.Found {
		j.Value = hex.EncodeToString(l.Value)
	}
	return j
}

// verifyLeaf verifies a proof against the verified chain.
func (g *Gateway) verifyLeaf(l *light.Leaf) (*light.Record, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.lc.VerifyLeaf(l)
}

// records holds the records of one height whose proofs the gateway
// verified: the only thing a view is built from. It is an
// orgapp.RecordReader; a record asked for that it does not hold reads as
// absent and is remembered as missing, so that the view built is thrown
// away and the record asked for.
type records struct {
	height  uint64
	leaves  map[state.Key]*light.Leaf
	recs    map[state.Key]*light.Record
	missing map[state.Key]bool
	// first is the first proof verified in full, with its header and
	// certificate: a later proof with the same header and certificate
	// bytes needs only its path checked against the same state root.
	first *light.Record
	hdr   []byte
	cert  []byte
}

var _ orgapp.RecordReader = (*records)(nil)

func newRecords(height uint64) *records {
	return &records{height: height, leaves: map[state.Key]*light.Leaf{}, recs: map[state.Key]*light.Record{}, missing: map[state.Key]bool{}}
}

func (s *records) Get(k state.Key) ([]byte, uint64, bool) {
	r, ok := s.recs[k]
	if !ok {
		s.missing[k] = true
		return nil, 0, false
	}
	if !r.Found {
		return nil, 0, false
	}
	return r.Value, r.Sum, true
}

// addProofs verifies the proofs of a node's answer and keeps their
// records.
func (g *Gateway) addProofs(s *records, proofs []apijson.Leaf) error {
	if len(proofs) > maxProofs {
		return faulty("%d proofs in one answer, limit %d", len(proofs), maxProofs)
	}
	for i := range proofs {
		l, err := leafOf(&proofs[i])
		if err != nil {
			return err
		}
		if err := g.addLeaf(s, l); err != nil {
			return err
		}
	}
	return nil
}

// addLeaf verifies a proof and keeps its record. The first is verified
// in full by the light client (header, certificate, path); a later one
// with the same header and certificate bytes has its path checked against
// the state root already verified.
func (g *Gateway) addLeaf(s *records, l *light.Leaf) error {
	if l.Height != s.height {
		return faulty("a proof of height %d in an answer of height %d", l.Height, s.height)
	}
	var r *light.Record
	var err error
	if s.first != nil && bytes.Equal(l.Header, s.hdr) && bytes.Equal(l.Certificate, s.cert) {
		r, err = verifyPath(l, s.first)
	} else {
		r, err = g.verifyLeaf(l)
	}
	if err != nil {
		return err
	}
	if s.first == nil {
		s.first, s.hdr, s.cert = r, l.Header, l.Certificate
	}
	k := state.Key(l.Key)
	s.leaves[k], s.recs[k] = l, r
	return nil
}

// verifyPath checks a proof whose header and certificate are those of
// first, already verified: its path must lead from the record (or its
// absence) to first's state root. It is light.Client.VerifyLeaf's last
// step.
func verifyPath(l *light.Leaf, first *light.Record) (*light.Record, error) {
	if l.Proof == nil {
		return nil, faulty("a proof without its path")
	}
	var value []byte
	if l.Found {
		if value = l.Value; value == nil {
			value = []byte{}
		}
	} else if l.Value != nil || l.Sum != 0 {
		return nil, faulty("an absent record with a value or sum")
	}
	p, err := smt.UnmarshalProof(l.Proof)
	if err != nil {
		return nil, faulty("a proof: %v", err)
	}
	root, total, err := p.Verify(smt.Key(l.Key), value, l.Sum)
	if err != nil {
		return nil, faulty("the proof of %x: %v", l.Key[:], err)
	}
	if root != smt.Hash(first.StateRoot) {
		return nil, faulty("the proof of %x does not lead to the state root of height %d", l.Key[:], first.Height)
	}
	r := *first
	r.Key, r.Found, r.Value, r.Sum, r.Supply = l.Key, l.Found, value, l.Sum, total
	if !l.Found {
		r.Value = nil
	}
	return &r, nil
}

// proveKey asks a node for the proof of one record at the records'
// height, through GET /v1/accounts/{key}?prove=1: a node answers it for
// any key that holds an account record, and proves the absence of any
// key that holds nothing.
func (g *Gateway) proveKey(ctx context.Context, u *upstream, s *records, k state.Key) error {
	a, err := u.c.Account(ctx, crypto.ID(k), client.At{Height: s.height, Prove: true})
	if err != nil {
		return fmt.Errorf("proving record %x: %w", k[:], err)
	}
	l, err := leafOf(a.Proof)
	if err != nil {
		return err
	}
	if state.Key(l.Key) != k {
		return faulty("asked for the proof of %x, sent one of %x", k[:], l.Key[:])
	}
	return g.addLeaf(s, l)
}

// build builds a view from verified records: it runs view over the
// records, and while the view asked for records the answer held no proof
// of, it asks the node for them (a bounded number, a bounded number of
// times) and builds again. It returns the view's result once nothing it
// read was missing.
func build[T any](ctx context.Context, g *Gateway, u *upstream, s *records, view func(orgapp.RecordReader) (T, error)) (T, error) {
	for round := 0; ; round++ {
		clear(s.missing)
		v, err := view(s)
		if len(s.missing) == 0 {
			return v, err
		}
		var zero T
		if round == maxRounds || len(s.missing) > maxMissing {
			return zero, faulty("the view needs %d records the node sent no proof of", len(s.missing))
		}
		for k := range s.missing {
			err := g.proveKey(ctx, u, s, k)
			if _, refused := errors.AsType[*client.Error](err); refused {
				// The node answered at this height. An honest one sends
				// the proof of every record a view needs but an absent
				// account's, which it proves here.
				return zero, faulty("it sent no proof of record %x, which the view needs, and cannot prove it: %v", k[:], err)
			}
			if err != nil {
				return zero, fmt.Errorf("a record the view needs: %w", err)
			}
		}
	}
}

// proofsOf returns the verified proofs of the records a view lists (keys
// in hex), in its order.
func proofsOf(s *records, keys []string) ([]apijson.Leaf, error) {
	out := make([]apijson.Leaf, 0, len(keys))
	for _, h := range keys {
		raw, err := hex.DecodeString(h)
		if err != nil || len(raw) != len(state.Key{}) {
			return nil, fmt.Errorf("gateway: a view lists record %q", h)
		}
		l, ok := s.leaves[state.Key(raw)]
		if !ok {
			return nil, fmt.Errorf("gateway: a view lists record %s, which it was not built from", h)
		}
		out = append(out, leafJSON(l))
	}
	return out, nil
}
