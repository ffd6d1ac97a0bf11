package dkg

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/oasisprotocol/curve25519-voi/curve"

	"github.com/mass-consensus/mass/internal/crypto"
)

// Sizes of the sealing.
const (
	KeySize      = 32 // an X25519 public key
	sealOverhead = 16 // the AES-GCM tag
)

// kind says what a sealed piece is, so a row can never be opened as a
// value or the other way round.
type kind byte

const (
	kindRow   kind = 1 // a dealer's row to a node
	kindValue kind = 2 // an acker's value to a node
)

// label is everything a sealed piece is bound to besides the keys.
type label struct {
	tag       [TagSize]byte
	kind      kind
	dealer    int
	sender    int // the dealer for a row, the acker for a value
	recipient int
}

// errOpen is why a piece did not open; it stays inside the package.
var errOpen = errors.New("dkg: piece does not open")

// x25519Public converts an ed25519 public key to X25519: the Montgomery u
// of its Edwards point, u = (1+y)/(1-y). Keys of small order (and so the
// identity) are refused: they have no secret and make no shared secret.
func x25519Public(k crypto.PublicKey) (*ecdh.PublicKey, error) {
	if err := k.CheckStrong(); err != nil {
		return nil, err
	}
	var y curve.CompressedEdwardsY
	var p curve.EdwardsPoint
	if _, err := y.SetBytes(k[:]); err != nil {
		return nil, err
	}
	if _, err := p.SetCompressedY(&y); err != nil {
		return nil, err
	}
	var u curve.MontgomeryPoint
	u.SetEdwards(&p)
	return ecdh.X25519().NewPublicKey(u[:])
}

// x25519Private converts an ed25519 private key to X25519 as libsodium's
// crypto_sign_ed25519_sk_to_curve25519 does: SHA-512 of the seed, its first
// 32 bytes clamped (the ed25519 secret scalar).
func x25519Private(k *crypto.PrivateKey) *ecdh.PrivateKey {
	h := sha512.Sum512(k.Seed())
	h[0] &= 248
	h[31] &= 127
	h[31] |= 64
	x, err := ecdh.X25519().NewPrivateKey(h[:32])
	if err != nil { // cannot happen: 32 bytes are always a key
		panic(fmt.Sprintf("dkg: X25519 key of 32 bytes refused: %v", err))
	}
	return x
}

// pieceKey derives the AES-256 key of one piece from the X25519 shared
// secret, the label, and both public keys.
func pieceKey(shared []byte, l *label, eph, recipient []byte) []byte {
	info := make([]byte, 0, len(Domain)+1+TagSize+7+2*KeySize)
	info = append(info, Domain...)
	info = append(info, 0)
	info = append(info, l.tag[:]...)
	info = append(info, byte(l.kind))
	info = binary.BigEndian.AppendUint16(info, uint16(l.dealer))
	info = binary.BigEndian.AppendUint16(info, uint16(l.sender))
	info = binary.BigEndian.AppendUint16(info, uint16(l.recipient))
	info = append(info, eph...)
	info = append(info, recipient...)
	key, err := hkdf.Key(sha256.New, shared, nil, string(info), 32)
	if err != nil { // cannot happen: 32 bytes are far under HKDF's limit
		panic(fmt.Sprintf("dkg: HKDF: %v", err))
	}
	return key
}

// aead is AES-256-GCM under key. The nonce is fixed: a key seals one piece.
func aead(key []byte) cipher.AEAD {
	block, err := aes.NewCipher(key)
	if err != nil { // cannot happen: the key has 32 bytes
		panic(fmt.Sprintf("dkg: AES: %v", err))
	}
	g, err := cipher.NewGCM(block)
	if err != nil { // cannot happen: AES has 16-byte blocks
		panic(fmt.Sprintf("dkg: GCM: %v", err))
	}
	return g
}

var nonce [12]byte // fixed, all zero: every key is used once

// seal encrypts plain to the recipient under the sender's ephemeral key.
// The recipient keys are strong (checked by setup), so the shared secret is
// never zero and seal cannot fail.
func seal(eph *ecdh.PrivateKey, to *ecdh.PublicKey, l *label, plain []byte) []byte {
	shared, err := eph.ECDH(to)
	if err != nil {
		panic(fmt.Sprintf("dkg: X25519 with a checked key: %v", err))
	}
	key := pieceKey(shared, l, eph.PublicKey().Bytes(), to.Bytes())
	return aead(key).Seal(nil, nonce[:], plain, nil)
}

// open decrypts a piece sealed to us under the sender's ephemeral public
// key eph. Any failure (an ephemeral key of small order, a wrong label, a
// tampered piece) is errOpen.
func open(secret *ecdh.PrivateKey, eph [KeySize]byte, l *label, sealed []byte) ([]byte, error) {
	pub, err := ecdh.X25519().NewPublicKey(eph[:])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errOpen, err)
	}
	shared, err := secret.ECDH(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errOpen, err)
	}
	key := pieceKey(shared, l, eph[:], secret.PublicKey().Bytes())
	plain, err := aead(key).Open(nil, nonce[:], sealed, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errOpen, err)
	}
	return plain, nil
}

// ackKey derives the ephemeral key of our Ack of a Part from our secret key
// and the Part's digest: a KeyGen draws no randomness, and one key never
// seals two different values (another Part has another digest).
func ackKey(secret *ecdh.PrivateKey, tag [TagSize]byte, partDigest [sha256.Size]byte) *ecdh.PrivateKey {
	info := append([]byte(Domain+"\x00ack key\x00"), tag[:]...)
	b, err := hkdf.Key(sha256.New, secret.Bytes(), partDigest[:], string(info), 32)
	if err != nil {
		panic(fmt.Sprintf("dkg: HKDF: %v", err))
	}
	k, err := ecdh.X25519().NewPrivateKey(b)
	if err != nil {
		panic(fmt.Sprintf("dkg: X25519 key of 32 bytes refused: %v", err))
	}
	return k
}

// canonicalU reports whether b is a canonical X25519 u-coordinate: below
// 2^255-19 (so its top bit is clear).
func canonicalU(b []byte) bool {
	// p = 2^255-19, little-endian: ed ff ... ff 7f.
	if b[31] < 0x7f {
		return true
	}
	if b[31] > 0x7f {
		return false
	}
	for i := 30; i >= 1; i-- {
		if b[i] != 0xff {
			return true
		}
	}
	return b[0] < 0xed
}
