package dkg

import (
	"crypto/ecdh"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/crypto/tbls"
)

// Domain names the scheme in every hash and key derivation.
const Domain = "mass/dkg/v1"

// Limits.
const (
	MaxNodes   = tbls.MaxNodes // largest N
	MaxContext = 1024          // longest Context, in bytes
	TagSize    = sha256.Size   // the hash heading every message
)

// Errors of the package; the functions wrap them with the details.
var (
	ErrConfig        = errors.New("dkg: invalid configuration")
	ErrRandomness    = errors.New("dkg: bad randomness")
	ErrEncoding      = errors.New("dkg: malformed encoding")
	ErrContext       = errors.New("dkg: message of another key generation")
	ErrSender        = errors.New("dkg: sender out of range or not the message's author")
	ErrDuplicatePart = errors.New("dkg: second part from a dealer")
	ErrUnknownPart   = errors.New("dkg: ack for a part not handled")
	ErrDuplicateAck  = errors.New("dkg: second ack from a node for a part")
	ErrNotReady      = errors.New("dkg: not enough complete parts")
	ErrNoShare       = errors.New("dkg: too few valid values for our share")
)

// Config describes one key generation, the same at every node but for Self
// and Secret.
type Config struct {
	N, F    int                // nodes, and the most of them faulty: 3F < N
	Self    int                // this node's index, or -1 for an observer
	Keys    []crypto.PublicKey // the node keys by index, N of them
	Secret  *crypto.PrivateKey // Keys[Self]'s private key; nil for an observer
	Context []byte             // binds every message to this key generation (an era)
}

// params is what a Config gives: the checked shape, the tag heading every
// message and, when keyed, the X25519 keys.
type params struct {
	n, f, self int
	tag        [TagSize]byte
	keys       []*ecdh.PublicKey // by node; nil unless keyed
	secret     *ecdh.PrivateKey  // nil for an observer
}

// shape checks what decoding needs, N, F, the number of keys and the
// Context, and computes the tag; it does not look into the keys.
func (c Config) shape() (*params, error) {
	if c.N < 1 || c.N > MaxNodes || c.F < 0 || 3*c.F >= c.N {
		return nil, fmt.Errorf("%w: n=%d f=%d (want 0 <= 3f < n <= %d)", ErrConfig, c.N, c.F, MaxNodes)
	}
	if len(c.Keys) != c.N {
		return nil, fmt.Errorf("%w: %d keys for n=%d", ErrConfig, len(c.Keys), c.N)
	}
	if len(c.Context) > MaxContext {
		return nil, fmt.Errorf("%w: context of %d bytes (at most %d)", ErrConfig, len(c.Context), MaxContext)
	}
	return &params{n: c.N, f: c.F, self: -1, tag: c.tag()}, nil
}

// tag hashes Domain, the Context, N, F and the keys: everything that makes
// two key generations different.
func (c Config) tag() [TagSize]byte {
	h := sha256.New()
	h.Write([]byte(Domain))
	h.Write([]byte{0})
	var b [8]byte
	binary.BigEndian.PutUint16(b[0:], uint16(c.N))
	binary.BigEndian.PutUint16(b[2:], uint16(c.F))
	binary.BigEndian.PutUint32(b[4:], uint32(len(c.Context)))
	h.Write(b[:])
	h.Write(c.Context)
	for _, k := range c.Keys {
		h.Write(k[:])
	}
	var t [TagSize]byte
	h.Sum(t[:0])
	return t
}

// setup checks the whole Config and converts the keys: every key strong
// and distinct, Self an index or -1, and Secret the key of Self.
func (c Config) setup() (*params, error) {
	p, err := c.shape()
	if err != nil {
		return nil, err
	}
	if c.Self < -1 || c.Self >= c.N || (c.Self == -1) != (c.Secret == nil) {
		return nil, fmt.Errorf("%w: self=%d with n=%d, secret given: %v", ErrConfig, c.Self, c.N, c.Secret != nil)
	}
	p.self = c.Self
	if p.keys, err = convertKeys(c.Keys); err != nil {
		return nil, err
	}
	if c.Secret == nil {
		return p, nil
	}
	if c.Secret.Public() != c.Keys[c.Self] {
		return nil, fmt.Errorf("%w: secret key is not the key of node %d", ErrConfig, c.Self)
	}
	p.secret = x25519Private(c.Secret)
	return p, nil
}

// convertKeys converts the node keys to X25519, refusing weak or repeated
// ones.
func convertKeys(keys []crypto.PublicKey) ([]*ecdh.PublicKey, error) {
	out := make([]*ecdh.PublicKey, len(keys))
	seen := make(map[crypto.PublicKey]int, len(keys))
	for i, k := range keys {
		if j, ok := seen[k]; ok {
			return nil, fmt.Errorf("%w: nodes %d and %d have one key", ErrConfig, j, i)
		}
		seen[k] = i
		x, err := x25519Public(k)
		if err != nil {
			return nil, fmt.Errorf("%w: key of node %d: %w", ErrConfig, i, err)
		}
		out[i] = x
	}
	return out, nil
}

// threshold is T, the number of shares that sign: F+1.
func (p *params) threshold() int { return p.f + 1 }

// quorum is N-F: the acks a Part needs, and the Parts a key needs.
func (p *params) quorum() int { return p.n - p.f }
