// Package crypto holds the node and account keys of Mass: ed25519 key pairs,
// the 20-byte IDs derived from public keys, and signatures over a domain tag
// followed by canonical bytes, so that a signature made for one purpose can
// never be replayed for another.
//
// Every signature, alone or in a batch, is checked under one validity rule,
// ZIP-215 (cofactored verification; small-order and non-canonically encoded
// points accepted, a non-canonical S rejected), so that whether a signature
// is valid never depends on how it was checked: a batch and the single
// signatures in it always agree, and every node agrees with every other.
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
	"runtime"
	"sync"

	"github.com/oasisprotocol/curve25519-voi/curve"
	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
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
	ErrBadID        = errors.New("crypto: bad ID")
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

// rule is the one validity rule of every verification, single or batched.
var rule = &voi.Options{Verify: voi.VerifyOptionsZIP_215}

// Verify checks a signature by p over msg under a domain tag.
func (p PublicKey) Verify(domain string, msg []byte, sig Signature) error {
	if !voi.VerifyWithOptions(p[:], tagged(domain, msg), sig[:], rule) {
		return ErrBadSignature
	}
	return nil
}

// Batch verifies many signatures at once, under the same validity rule as
// Verify: a batch is valid exactly when each of its signatures is (the
// batch equation is cofactored like the single one, and its random
// coefficients, drawn from crypto/rand, leave a chance of 2⁻¹²⁸ that a bad
// batch passes). Only when the batch fails are the signatures checked one
// by one, to say which are bad.
//
// Add only keeps the signature: all the work, decoding the points and
// hashing included (two thirds of it), is done by Verify, so that a large
// batch can be spread over every core.
type Batch struct {
	entries []entry
}

type entry struct {
	key PublicKey
	msg []byte // tagged
	sig Signature
}

// minChunk is the fewest signatures Verify gives to a core of its own, so
// that a batch under 2×minChunk (a certificate's votes) is verified on the
// caller's goroutine alone. A chunk costs a goroutine and a smaller, less
// efficient batch equation; measured on 2 cores, 128 signatures in two
// chunks take 0.65 of the time of one batch, 4096 in two 0.6.
const minChunk = 64

// NewBatch returns an empty batch with room for n signatures.
func NewBatch(n int) *Batch {
	return &Batch{entries: make([]entry, 0, n)}
}

// Add adds a signature by p over msg under a domain tag.
func (b *Batch) Add(p PublicKey, domain string, msg []byte, sig Signature) {
	b.entries = append(b.entries, entry{key: p, msg: tagged(domain, msg), sig: sig})
}

// Len returns the number of signatures added.
func (b *Batch) Len() int { return len(b.entries) }

// Verify returns nil if every signature is valid (an empty batch is).
// Otherwise it returns an error wrapping ErrBadSignature and, for each
// signature in the order added, whether it is valid, so that a caller can
// point at the bad ones. On success valid is all true.
//
// A batch of at least 2×minChunk signatures is cut into up to
// runtime.GOMAXPROCS(0) chunks of consecutive signatures, verified
// concurrently, each as a batch of its own with its own coefficients;
// Verify returns when all are done. The result is the same as one batch:
// each chunk is valid exactly when each of its signatures is (and a bad
// one passes with a chance of 2⁻¹²⁸). A smaller batch is verified on the
// caller's goroutine, starting none.
func (b *Batch) Verify() (valid []bool, err error) {
	return b.verify(min(runtime.GOMAXPROCS(0), len(b.entries)/minChunk))
}

// verify verifies the batch cut into the given number of chunks, on the
// caller's goroutine if it is one or fewer.
func (b *Batch) verify(chunks int) (valid []bool, err error) {
	n := len(b.entries)
	if n == 0 {
		return nil, nil
	}
	valid = make([]bool, n)
	if chunks <= 1 {
		verifyChunk(b.entries, valid)
	} else {
		var wg sync.WaitGroup
		for c := range chunks {
			lo, hi := c*n/chunks, (c+1)*n/chunks
			wg.Go(func() { verifyChunk(b.entries[lo:hi], valid[lo:hi]) })
		}
		wg.Wait()
	}
	bad := 0
	first := -1
	for i, v := range valid {
		if !v {
			bad++
			if first < 0 {
				first = i
			}
		}
	}
	if bad == 0 {
		return valid, nil
	}
	return valid, fmt.Errorf("%w: %d of %d in the batch, the first at %d", ErrBadSignature, bad, n, first)
}

// verifyChunk verifies es as one batch and writes whether each is valid
// into valid.
//
// Keys are not expanded into precomputed tables when each signs once per
// batch (a certificate's votes): expanding costs more than it saves. A key
// that signs at least minRepeat times in the chunk (the few node keys of a
// block's sale stamps) is decompressed once (repeatedKeys), under the same
// validity rule.
func verifyChunk(es []entry, valid []bool) {
	v := voi.NewBatchVerifierWithCapacity(len(es)).ForceNoPublicKeyExpansion()
	repeated := repeatedKeys(es)
	for i := range es {
		e := &es[i]
		if x := repeated[e.key]; x != nil {
			v.AddExpandedWithOptions(x, e.msg, e.sig[:], rule)
			continue
		}
		v.AddWithOptions(e.key[:], e.msg, e.sig[:], rule)
	}
	_, ok := v.Verify(nil) // nil: the coefficients from crypto/rand
	copy(valid, ok)
}

// minRepeat is how many signatures by one key in a chunk make it worth
// expanding the key once.
const minRepeat = 8

// repeatedKeys returns the keys that sign at least minRepeat times in es,
// expanded; a key that cannot be (not a point) is left out, to be refused
// entry by entry as any other.
func repeatedKeys(es []entry) map[PublicKey]*voi.ExpandedPublicKey {
	if len(es) < minRepeat {
		return nil
	}
	counts := make(map[PublicKey]int)
	for i := range es {
		counts[es[i].key]++
	}
	var out map[PublicKey]*voi.ExpandedPublicKey
	for k, n := range counts {
		if n < minRepeat {
			continue
		}
		x, err := voi.NewExpandedPublicKey(k[:])
		if err != nil {
			continue
		}
		if out == nil {
			out = make(map[PublicKey]*voi.ExpandedPublicKey)
		}
		out[k] = x
	}
	return out
}

// CheckStrong returns an error wrapping ErrBadKey if p is not a point of the
// curve or is a point of small order. Under ZIP-215 a small-order key has
// signatures anyone can forge (S = 0 with a small-order R verifies for any
// message), so such keys are refused wherever a key is accepted: node sets,
// genesis accounts, transaction signers.
//
// Keys found strong are remembered (a bounded set, emptied when full):
// accounts sign again and again, and decompressing a point costs a third
// of a signature check.
func (p PublicKey) CheckStrong() error {
	if strongKeys.has(p) {
		return nil
	}
	if err := p.checkStrong(); err != nil {
		return err
	}
	strongKeys.add(p)
	return nil
}

func (p PublicKey) checkStrong() error {
	var y curve.CompressedEdwardsY
	if _, err := y.SetBytes(p[:]); err != nil {
		return fmt.Errorf("%w: %w", ErrBadKey, err)
	}
	var pt curve.EdwardsPoint
	if _, err := pt.SetCompressedY(&y); err != nil {
		return fmt.Errorf("%w: %s is not a point of the curve", ErrBadKey, p)
	}
	if pt.IsSmallOrder() {
		return fmt.Errorf("%w: %s is a point of small order: anyone could sign for it", ErrBadKey, p)
	}
	return nil
}

// maxStrongKeys bounds the keys CheckStrong remembers.
const maxStrongKeys = 1 << 16

// strongKeys are keys CheckStrong found strong.
var strongKeys keySet

// keySet is a set of public keys safe for concurrent use, emptied when it
// holds maxStrongKeys.
type keySet struct {
	mu   sync.RWMutex
	keys map[PublicKey]struct{}
}

func (s *keySet) has(p PublicKey) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.keys[p]
	return ok
}

func (s *keySet) add(p PublicKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys == nil || len(s.keys) >= maxStrongKeys {
		s.keys = make(map[PublicKey]struct{}, 1024)
	}
	s.keys[p] = struct{}{}
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

// ParseID parses a hex ID.
func ParseID(s string) (ID, error) {
	var id ID
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != IDSize {
		return id, fmt.Errorf("%w: %q is not %d hex bytes", ErrBadID, s, IDSize)
	}
	copy(id[:], b)
	return id, nil
}

func tagged(domain string, msg []byte) []byte {
	b := make([]byte, 0, len(domain)+1+len(msg))
	b = append(b, domain...)
	b = append(b, 0)
	return append(b, msg...)
}
