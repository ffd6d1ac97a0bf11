// Package light is the Mass light client: starting from the genesis file
// alone, it verifies the chain of block headers and their certificates up to
// a height, following every change of the node set, and then proofs of
// records (accounts, the organization …) against the state root of any
// height it has verified.
//
// It is the module's public package: its API uses only its own types and
// the standard library's, so that a program outside the module can use it
// (examples/verify-account does). A Remote fetches what to verify from a
// node's HTTP API; nothing a node sends is trusted before a Client checks
// it.
//
// # What is verified
//
// Headers link by hash (each header's Prev is the hash of the one before),
// and each names, in NextNodes, the hash of the node set that certifies the
// next block. The client keeps the node set in force. For a segment of
// headers it checks the links, and requires a certificate — signatures of
// a quorum (2f+1) of distinct nodes of the set in force — for the last
// header and for every header whose NextNodes differs from the set in
// force; it then takes the new set (given in the segment, checked against
// the hash). A certified header is genuine, and so are its ancestors, by
// their hashes: certificates in between are not needed.
//
// This trusts, as the consensus does, that no node set ever had more than f
// faulty nodes among its n ≥ 3f+1 — also after it stopped certifying.
//
// The client keeps the hash and state root of every height it verified
// (72 bytes each), so it can check a proof at an earlier height.
package light

import (
	"errors"
	"fmt"

	"github.com/mass-consensus/mass/internal/chain"
	"github.com/mass-consensus/mass/internal/crypto"
	"github.com/mass-consensus/mass/internal/genesis"
)

// Errors of the client.
var (
	// ErrInvalid is wrapped by every verification failure: what a node sent
	// does not prove what it claims, or is not the answer a node sends.
	ErrInvalid = errors.New("light: verification failed")
	// ErrUnknownHeight is wrapped when a proof is for a height the client
	// has not verified yet.
	ErrUnknownHeight = errors.New("light: height not verified yet")
	// ErrGenesis is wrapped when the genesis file is malformed or invalid.
	ErrGenesis = errors.New("light: bad genesis")
)

// MaxSegment bounds the headers of one segment.
const MaxSegment = 10_000

// MaxGenesis bounds the size of a genesis file, in bytes.
const MaxGenesis = genesis.MaxFileSize

// Segment is a run of headers following the client's height, with the
// certificates and node sets needed to verify them; headers and
// certificates are in their canonical encodings (docs/FORMATS.md).
type Segment struct {
	Headers [][]byte
	// Certificates by height: at least for the last header and for each
	// header that changes the node set.
	Certificates map[uint64][]byte
	// NodeSets by hash: each set a header's NextNodes changes to.
	NodeSets map[Hash]NodeSet
}

// era is a node set and the first height it certifies.
type era struct {
	from uint64
	set  chain.NodeSet
	hash chain.Hash
}

// verified is what the client keeps of a verified header.
type verified struct {
	hash chain.Hash
	root chain.Hash
	time int64
}

// Client verifies one chain. It is not safe for concurrent use.
type Client struct {
	chainID string
	eras    []era      // in order; the last is in force after the latest height
	headers []verified // headers[i] is height i+1
}

// New starts a client at the genesis of a chain, given the genesis file's
// bytes: the only thing the client trusts.
func New(genesisJSON []byte) (*Client, error) {
	if len(genesisJSON) > MaxGenesis {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrGenesis, len(genesisJSON), MaxGenesis)
	}
	g, err := genesis.Parse(genesisJSON)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrGenesis, err)
	}
	set, err := g.Validate()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrGenesis, err)
	}
	return &Client{chainID: g.ChainID, eras: []era{{from: 1, set: set, hash: set.Hash()}}}, nil
}

// ChainID is the chain the client follows.
func (c *Client) ChainID() string { return c.chainID }

// Height is the latest verified height (0 before any).
func (c *Client) Height() uint64 { return uint64(len(c.headers)) }

// NodeSet returns the node set that certifies block height (height may be
// one past the latest verified height: the set in force next).
func (c *Client) NodeSet(height uint64) (NodeSet, error) {
	e, err := c.eraOf(height)
	if err != nil {
		return NodeSet{}, err
	}
	return nodeSetOf(e.set), nil
}

func (c *Client) eraOf(height uint64) (*era, error) {
	if height == 0 || height > c.Height()+1 {
		return nil, fmt.Errorf("%w: %d (verified up to %d)", ErrUnknownHeight, height, c.Height())
	}
	for i := len(c.eras) - 1; i >= 0; i-- {
		if c.eras[i].from <= height {
			return &c.eras[i], nil
		}
	}
	panic("light: no era covers height 1")
}

// StateRoot returns the verified state root after block height.
func (c *Client) StateRoot(height uint64) (Hash, error) {
	v, err := c.header(height)
	if err != nil {
		return Hash{}, err
	}
	return Hash(v.root), nil
}

// HeaderHash returns the verified hash of the header at height.
func (c *Client) HeaderHash(height uint64) (Hash, error) {
	v, err := c.header(height)
	if err != nil {
		return Hash{}, err
	}
	return Hash(v.hash), nil
}

func (c *Client) header(height uint64) (*verified, error) {
	if height == 0 || height > c.Height() {
		return nil, fmt.Errorf("%w: %d (verified up to %d)", ErrUnknownHeight, height, c.Height())
	}
	return &c.headers[height-1], nil
}

// decoded is a segment in the chain's types.
type decoded struct {
	headers []*chain.Header
	certs   map[uint64]*chain.Certificate
	sets    map[chain.Hash]chain.NodeSet
}

// decode decodes a segment's encodings; what is malformed is invalid.
func decodeSegment(seg *Segment) (*decoded, error) {
	switch {
	case len(seg.Headers) == 0:
		return nil, fmt.Errorf("%w: an empty segment", ErrInvalid)
	case len(seg.Headers) > MaxSegment:
		return nil, fmt.Errorf("%w: %d headers in one segment, limit %d", ErrInvalid, len(seg.Headers), MaxSegment)
	case len(seg.Certificates) > len(seg.Headers) || len(seg.NodeSets) > len(seg.Headers):
		return nil, fmt.Errorf("%w: more certificates or node sets than headers", ErrInvalid)
	}
	d := &decoded{certs: map[uint64]*chain.Certificate{}, sets: map[chain.Hash]chain.NodeSet{}}
	for i, raw := range seg.Headers {
		h, err := chain.UnmarshalHeader(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: header %d of the segment: %w", ErrInvalid, i, err)
		}
		d.headers = append(d.headers, h)
	}
	for height, raw := range seg.Certificates {
		c, err := chain.UnmarshalCertificate(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: certificate of height %d: %w", ErrInvalid, height, err)
		}
		d.certs[height] = c
	}
	for h, s := range seg.NodeSets {
		d.sets[chain.Hash(h)] = s.internal()
	}
	return d, nil
}

// Verify checks a segment that follows the latest verified height and, if
// every check passes, extends the client with it. On error the client is
// unchanged.
func (c *Client) Verify(seg *Segment) error {
	d, err := decodeSegment(seg)
	if err != nil {
		return err
	}
	cur := c.eras[len(c.eras)-1]
	var newEras []era
	var prev *verified
	if n := len(c.headers); n > 0 {
		prev = &c.headers[n-1]
	}
	added := make([]verified, 0, len(d.headers))
	for i, h := range d.headers {
		height := c.Height() + uint64(i) + 1
		if err := c.follows(h, height, prev); err != nil {
			return err
		}
		changes := h.NextNodes != cur.hash
		if changes || i == len(d.headers)-1 {
			if err := certified(h, d.certs[height], cur.set, changes); err != nil {
				return err
			}
		}
		if changes {
			next, ok := d.sets[h.NextNodes]
			if !ok {
				return fmt.Errorf("%w: header %d changes the node set to %s, which the segment lacks", ErrInvalid, height, h.NextNodes)
			}
			if err := checkSet(next, h.NextNodes); err != nil {
				return err
			}
			cur = era{from: height + 1, set: next, hash: h.NextNodes}
			newEras = append(newEras, cur)
		}
		added = append(added, verified{hash: h.Hash(), root: h.StateRoot, time: h.Time})
		prev = &added[len(added)-1]
	}
	c.headers = append(c.headers, added...)
	c.eras = append(c.eras, newEras...)
	return nil
}

// follows checks that a header is the next one of the chain, at height,
// after prev (nil before height 1).
func (c *Client) follows(h *chain.Header, height uint64, prev *verified) error {
	switch {
	case h.ChainID != c.chainID:
		return fmt.Errorf("%w: header %d is of chain %q, not %q", ErrInvalid, height, h.ChainID, c.chainID)
	case h.Height != height:
		return fmt.Errorf("%w: header of height %d where %d is next", ErrInvalid, h.Height, height)
	case prev == nil && h.Prev != (chain.Hash{}):
		return fmt.Errorf("%w: the first header links to a previous one", ErrInvalid)
	case prev != nil && h.Prev != prev.hash:
		return fmt.Errorf("%w: header %d does not link to header %d", ErrInvalid, height, height-1)
	case prev != nil && h.Time < prev.time:
		return fmt.Errorf("%w: header %d goes back in time", ErrInvalid, height)
	}
	return nil
}

// certified checks the certificate a header needs under the set in force.
func certified(h *chain.Header, cert *chain.Certificate, set chain.NodeSet, changes bool) error {
	if cert == nil {
		why := "the last header of a segment"
		if changes {
			why = "a header that changes the node set"
		}
		return fmt.Errorf("%w: no certificate for header %d, %s", ErrInvalid, h.Height, why)
	}
	if err := cert.Verify(h, set); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

func checkSet(s chain.NodeSet, want chain.Hash) error {
	if s.N() == 0 || s.N() > genesis.MaxNodes {
		return fmt.Errorf("%w: a node set of %d nodes", ErrInvalid, s.N())
	}
	if s.Hash() != want {
		return fmt.Errorf("%w: the node set given for %s hashes to %s", ErrInvalid, want, s.Hash())
	}
	seen := make(map[crypto.PublicKey]bool, s.N())
	for _, k := range s.Keys {
		if err := k.CheckStrong(); err != nil {
			return fmt.Errorf("%w: node set %s: %w", ErrInvalid, want, err)
		}
		if seen[k] {
			return fmt.Errorf("%w: node set %s lists a key twice", ErrInvalid, want)
		}
		seen[k] = true
	}
	return nil
}
