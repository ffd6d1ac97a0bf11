package sale

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"math/bits"

	"github.com/mass-consensus/mass/internal/crypto"
)

// powPrefix is the fixed part of the hashed input.
const powPrefix = "mass/sale/pow/v1\x00"

// powInput is "mass/sale/pow/v1" ‖ 0x00 ‖ len(chain id):u8 ‖ chain id ‖
// sale:u64 ‖ key:[32] ‖ nonce:u64; the nonce is its last 8 bytes.
func powInput(chainID string, sale uint64, key crypto.PublicKey) []byte {
	b := make([]byte, 0, len(powPrefix)+1+len(chainID)+8+32+8)
	b = append(b, powPrefix...)
	b = append(b, uint8(len(chainID)))
	b = append(b, chainID...)
	b = binary.BigEndian.AppendUint64(b, sale)
	b = append(b, key[:]...)
	return binary.BigEndian.AppendUint64(b, 0)
}

// LeadingZeros is the number of leading zero bits of a hash.
func LeadingZeros(h [32]byte) int {
	n := 0
	for i := 0; i < len(h); i += 8 {
		w := binary.BigEndian.Uint64(h[i:])
		n += bits.LeadingZeros64(w)
		if w != 0 {
			break
		}
	}
	return n
}

// PoWHash is SHA-256 of the proof-of-work input of a key for a sale.
func PoWHash(chainID string, sale uint64, key crypto.PublicKey, nonce uint64) [32]byte {
	b := powInput(chainID, sale, key)
	binary.BigEndian.PutUint64(b[len(b)-8:], nonce)
	return sha256.Sum256(b)
}

// CheckPoW says whether nonce is a proof of work of difficulty bits for
// the key and the sale: one hash, a microsecond.
func CheckPoW(chainID string, sale uint64, key crypto.PublicKey, nonce uint64, difficulty uint8) bool {
	return LeadingZeros(PoWHash(chainID, sale, key, nonce)) >= int(difficulty)
}

// ErrNoSolution is returned by SolvePoW when no nonce below the limit
// works.
var ErrNoSolution = errors.New("sale: no proof of work found within the limit")

// SolvePoW finds the smallest nonce from start on that is a proof of work
// of difficulty bits, trying at most limit nonces (about 2^difficulty are
// needed). It is for buyers' clients and tests, never for the application.
func SolvePoW(chainID string, sale uint64, key crypto.PublicKey, difficulty uint8, start, limit uint64) (uint64, error) {
	b := powInput(chainID, sale, key)
	tail := b[len(b)-8:]
	for i := uint64(0); i < limit; i++ {
		nonce := start + i
		binary.BigEndian.PutUint64(tail, nonce)
		if LeadingZeros(sha256.Sum256(b)) >= int(difficulty) {
			return nonce, nil
		}
	}
	return 0, ErrNoSolution
}
