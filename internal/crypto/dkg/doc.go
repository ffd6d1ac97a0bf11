// Package dkg is a distributed key generation for the threshold BLS keys of
// package tbls, run over a totally ordered log: every node, and every
// observer, handles the same Parts and Acks in the same order, so all agree
// on the outcome without a round of their own. It is in the style of
// poanetwork hbbft's SyncKeyGen.
//
// It owns the scheme, its messages and their canonical encoding, and the
// encryption of each message's secret pieces to the node keys. It does no
// I/O, reads no clock and draws no randomness of its own: the only
// randomness is the io.Reader given to NewPart, and a KeyGen, fed the same
// messages in the same order, always ends in the same state. It imports
// internal/crypto (node keys) and internal/crypto/tbls (the output) and
// nothing else of Mass; it must never import os, net, time, math/rand or
// crypto/rand.
//
// # The scheme
//
// N nodes, at most F < N/3 faulty; keys have threshold T = F+1. Each dealer
// d posts a Part: the commitment C_ij = a_ij·G2 (i <= j) to a random
// symmetric bivariate polynomial p_d(x, y) = Σ a_ij x^i y^j of degree F in
// each variable, and for each node m the row p_d(m+1, y) encrypted to m.
// Node m checks its row against the commitment and, if it holds, posts an
// Ack for d carrying, for each node k, the value p_d(m+1, k+1) encrypted to
// k. By symmetry that value is p_d(k+1, m+1), a point of k's own row, which
// k checks against the commitment too.
//
// A Part is complete once N-F distinct nodes ack it; the key generation is
// ready once N-F Parts are complete. The key is then the sum over complete
// Parts of p_d(x, 0): its commitments are the sums of the C_i0, known to
// all, and node k's share is the sum of p_d(k+1, 0), each interpolated at 0
// from F+1 values that k received in Acks of d and that check against the
// commitment. Among N-F ackers at least N-2F >= F+1 are honest, each of
// whom checked its row and sent k a correct value, so k always finds F+1;
// a faulty acker's bad value is skipped.
//
// As in every Feldman-style key generation, faulty dealers, seeing the
// honest commitments first, can choose whether their own Parts complete,
// and so bias the public key a little; they learn nothing of the secret,
// and threshold signatures stay secure under such keys (Gennaro, Jarecki,
// Krawczyk, Rabin, "Secure applications of Pedersen's distributed key
// generation protocol", 2003).
//
// # Why no complaint round
//
// In Feldman or Pedersen key generation a node that gets a bad share
// complains and the dealer must answer in public, revealing that share.
// Here a dealer who sends some nodes bad rows cannot make them hold bad
// shares: whether its Part counts depends only on how many nodes ack it,
// which is public, and a node whose row was bad still gets its share from
// the values of the honest ackers. A faulty acker can only send bad values,
// which the commitment exposes to their recipient. So nothing a faulty node
// does needs to be proven to others, and no secret is ever revealed. The
// price is the Acks: each carries N values, N² values per Part in all, and
// a dealer who serves fewer than N-F nodes is left out rather than exposed.
//
// Every public decision (whether a message is well formed, whether a Part
// or Ack is accepted, which Parts are complete, the public key) depends
// only on the messages' public bytes and their order, never on a node's
// secret key, so nodes and observers agree. What a node decrypts only
// decides whether it acks and what its own share is; what it finds wrong is
// reported as a Fault.
//
// # Encryption
//
// The ed25519 node keys are converted to X25519 (the public key's Edwards
// y to Montgomery u; the private key as SHA-512(seed)[:32] clamped, as
// libsodium does). Each message has one ephemeral X25519 key; each piece
// is sealed with AES-256-GCM under HKDF-SHA256 of the shared secret, bound
// to the key generation (a hash of the domain "mass/dkg/v1", the Context,
// N, F and the node keys), the kind of piece, the dealer, the sender and
// the recipient, with a fixed nonce, each key sealing one piece. An Ack's
// ephemeral key is derived from the acker's secret key and the Part, since
// a KeyGen draws no randomness: a second Ack for the same Part is the same
// Ack. The same hash heads every message, so a message of one key
// generation is refused by another.
package dkg
