// Package crypto holds the node and account keys of Mass: ed25519 key pairs,
// the 20-byte IDs derived from public keys, and signatures over a domain tag
// followed by canonical bytes, so that a signature made for one purpose can
// never be replayed for another.
//
// It imports nothing of Mass.
package crypto

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
)

// Sizes of keys, IDs and signatures.
const (
	PublicKeySize = ed25519.PublicKeySize
	SeedSize      = ed25519.SeedSize
	SignatureSize = ed25519.SignatureSize
	IDSize        = 20
)

// Errors of the package.
var (
	ErrBadSignature = errors.New("crypto: bad signature")
	ErrBadKey       = errors.New("crypto: bad key")
)

// Domain tags: every signature is over tag ‖ 0x00 ‖ message.
const (
	DomainBlock = "mass/block/v1"
	DomainTx    = "mass/tx/v1"
)

// PublicKey is an ed25519 public key.
type PublicKey [PublicKeySize]byte

// ID is the first 20 bytes of SHA-256 of a public key.
type ID [IDSize]byte

// Signature is an ed25519 signature.
type Signature [SignatureSize]byte

// PrivateKey is an ed25519 private key, kept as its 32-byte seed.
type PrivateKey struct {
	key ed25519.PrivateKey
}

// GenerateKey draws a new key from r (crypto/rand.Reader in production).
func GenerateKey(r io.Reader) (*PrivateKey, error) {
	var seed [SeedSize]byte
	if _, err := io.ReadFull(r, seed[:]); err != nil {
		return nil, fmt.Errorf("crypto: reading a seed: %w", err)
	}
	return KeyFromSeed(seed[:])
}

// KeyFromSeed returns the key of a 32-byte seed.
func KeyFromSeed(seed []byte) (*PrivateKey, error) {
	if len(seed) != SeedSize {
		return nil, fmt.Errorf("%w: seed of %d bytes, want %d", ErrBadKey, len(seed), SeedSize)
	}
	return &PrivateKey{key: ed25519.NewKeyFromSeed(seed)}, nil
}

// Seed returns the 32-byte seed, to store the key.
func (k *PrivateKey) Seed() []byte { return k.key.Seed() }

// Ed25519 returns the key in the standard library's form (for libp2p).
func (k *PrivateKey) Ed25519() ed25519.PrivateKey { return k.key }

// Public returns the public key.
func (k *PrivateKey) Public() PublicKey {
	var p PublicKey
	copy(p[:], k.key.Public().(ed25519.PublicKey))
	return p
}

// Sign signs msg under a domain tag.
func (k *PrivateKey) Sign(domain string, msg []byte) Signature {
	var s Signature
	copy(s[:], ed25519.Sign(k.key, tagged(domain, msg)))
	return s
}

// Verify checks a signature by p over msg under a domain tag.
func (p PublicKey) Verify(domain string, msg []byte, sig Signature) error {
	if !ed25519.Verify(p[:], tagged(domain, msg), sig[:]) {
		return ErrBadSignature
	}
	return nil
}

// ID returns the ID of the public key.
func (p PublicKey) ID() ID {
	h := sha256.Sum256(p[:])
	var id ID
	copy(id[:], h[:IDSize])
	return id
}

func (p PublicKey) String() string { return hex.EncodeToString(p[:]) }
func (id ID) String() string       { return hex.EncodeToString(id[:]) }

// ParsePublicKey parses a hex public key.
func ParsePublicKey(s string) (PublicKey, error) {
	var p PublicKey
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != PublicKeySize {
		return p, fmt.Errorf("%w: %q is not %d hex bytes", ErrBadKey, s, PublicKeySize)
	}
	copy(p[:], b)
	return p, nil
}

func tagged(domain string, msg []byte) []byte {
	b := make([]byte, 0, len(domain)+1+len(msg))
	b = append(b, domain...)
	b = append(b, 0)
	return append(b, msg...)
}
