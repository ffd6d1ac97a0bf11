package p2p

import (
	"errors"
	"fmt"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/mass-consensus/mass/internal/transport"
)

// ErrNotEd25519 is returned for a peer ID that does not embed an ed25519
// key, and so cannot be a node of Mass.
var ErrNotEd25519 = errors.New("p2p: peer ID is not of an ed25519 key")

// PeerIDFromKey returns the libp2p peer ID of the node with the given key.
// An ed25519 peer ID embeds the key itself, so the conversion is exact both
// ways.
func PeerIDFromKey(key transport.NodeKey) (peer.ID, error) {
	pub, err := crypto.UnmarshalEd25519PublicKey(key[:])
	if err != nil {
		return "", fmt.Errorf("p2p: node key %v: %w", key, err)
	}
	id, err := peer.IDFromPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("p2p: node key %v: %w", key, err)
	}
	return id, nil
}

// KeyFromPeerID returns the node key embedded in an ed25519 peer ID.
func KeyFromPeerID(id peer.ID) (transport.NodeKey, error) {
	pub, err := id.ExtractPublicKey()
	if err != nil {
		return transport.NodeKey{}, fmt.Errorf("p2p: peer %v: %w", id, err)
	}
	if pub.Type() != crypto.Ed25519 {
		return transport.NodeKey{}, fmt.Errorf("%w: %v has a %v key", ErrNotEd25519, id, pub.Type())
	}
	raw, err := pub.Raw()
	if err != nil {
		return transport.NodeKey{}, fmt.Errorf("p2p: peer %v: %w", id, err)
	}
	var key transport.NodeKey
	if len(raw) != len(key) {
		return transport.NodeKey{}, fmt.Errorf("%w: %v has a %d-byte key", ErrNotEd25519, id, len(raw))
	}
	copy(key[:], raw)
	return key, nil
}
