package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/mass-consensus/mass/internal/apijson"
	"github.com/mass-consensus/mass/internal/app"
	"github.com/mass-consensus/mass/internal/app/gov"
	"github.com/mass-consensus/mass/internal/app/orgapp"
	"github.com/mass-consensus/mass/internal/app/state"
	"github.com/mass-consensus/mass/internal/chain"
	"github.com/mass-consensus/mass/internal/crypto"
)

// State is the application state the API reads; *orgapp.App satisfies it.
type State interface {
	// Height is the last height applied.
	Height() uint64
	// Prove returns a record at a height and the proof of it.
	Prove(height uint64, key state.Key) (*orgapp.Leaf, error)
	// TxResult is the result of a committed transaction.
	TxResult(hash [32]byte) (app.TxResult, error)
}

var _ State = (*orgapp.App)(nil)

// MaxHeaders bounds the headers of one GET /v1/headers.
const MaxHeaders = apijson.MaxHeaders

// SetState gives the API the application state to answer account and
// organization queries from; call it before serving.
func (s *Server) SetState(st State) { s.state = st }

// account answers GET /v1/accounts/{id}: id is an account ID (40 hex
// digits) or a public key (64). An ID whose key holds another record (the
// organization's, the node set, a governance record) is no account: 404,
// saying what is there.
func (s *Server) account(w http.ResponseWriter, r *http.Request) {
	raw := r.PathValue("id")
	var id crypto.ID
	switch len(raw) {
	case 2 * crypto.PublicKeySize:
		k, err := crypto.ParsePublicKey(raw)
		if err != nil {
			s.fail(w, http.StatusBadRequest, codeBadRequest, err.Error(), nil)
			return
		}
		id = k.ID()
	default:
		var err error
		if id, err = crypto.ParseID(raw); err != nil {
			s.fail(w, http.StatusBadRequest, codeBadRequest, "an account is an ID (40 hex digits) or a public key (64 hex digits)", nil)
			return
		}
	}
	s.answerAccount(w, r, id)
}

// answerAccount answers an account's record at ?height, with ?prove.
func (s *Server) answerAccount(w http.ResponseWriter, r *http.Request, id crypto.ID) {
	leaf, prove, ok := s.read(w, r, state.AccountKey(id))
	if !ok {
		return
	}
	if leaf.Found && (len(leaf.Value) == 0 || leaf.Value[0] != state.KindAccount) {
		s.fail(w, http.StatusNotFound, codeNotFound, fmt.Sprintf("no account %s: that key holds %s", id, recordKind(leaf.Value)), nil)
		return
	}
	out := apijson.Account{Height: leaf.Height, Found: leaf.Found, Proof: prove}
	if leaf.Found {
		acct, err := state.UnmarshalAccount(leaf.Value)
		if err != nil {
			s.internal(w, err)
			return
		}
		v := orgapp.AccountJSON(id, acct, leaf.Sum)
		out.Account = &v
	}
	writeJSON(w, http.StatusOK, out)
}

// recordKinds name the records of the state tree by their first byte.
var recordKinds = map[byte]string{
	state.KindOrganization: "the organization record",
	state.KindNodes:        "the node set",
	state.KindVersions:     "the protocol versions record",
	gov.KindRegistry:       "the governance registry",
	gov.KindDomain:         "a governance domain",
	gov.KindPage:           "a page of a domain's proposals",
	gov.KindText:           "a proposal's text",
	gov.KindProposal:       "a proposal",
	gov.KindOption:         "a proposal's option",
	gov.KindRoster:         "a proposal's roster",
	gov.KindRound:          "a proposal's round",
	gov.KindMeeting:        "a sub-meeting",
	gov.KindBallot:         "a ballot",
	gov.KindReview:         "a freeze review",
	gov.KindComment:        "a proposal's comments",
	gov.KindExecutors:      "the executors record",
	gov.KindChallenge:      "a challenge",
}

// recordKind says what a record that is not an account is.
func recordKind(value []byte) string {
	if len(value) > 0 {
		if name, ok := recordKinds[value[0]]; ok {
			return name
		}
		return fmt.Sprintf("a record of kind %#02x", value[0])
	}
	return "an empty record"
}

// organization answers GET /v1/organization.
func (s *Server) organization(w http.ResponseWriter, r *http.Request) {
	leaf, prove, ok := s.read(w, r, state.OrgKey)
	if !ok {
		return
	}
	if !leaf.Found {
		s.internal(w, errors.New("the organization record is missing"))
		return
	}
	o, err := state.UnmarshalOrganization(leaf.Value)
	if err != nil {
		s.internal(w, err)
		return
	}
	v := orgapp.OrganizationJSON(o)
	out := apijson.Organization{Height: leaf.Height, Organization: &v, Proof: prove}
	writeJSON(w, http.StatusOK, out)
}

// read resolves ?height and ?prove and reads a record. The latest height is
// the last one both applied and certified, so that an answer can always be
// proven. With ?prove=1 the answer carries the proof, the header and the
// certificate. On failure it has answered the client.
func (s *Server) read(w http.ResponseWriter, r *http.Request, key state.Key) (*orgapp.Leaf, *apijson.Leaf, bool) {
	height, prove, ok := s.heightOf(w, r)
	if !ok {
		return nil, nil, false
	}
	leaf, err := s.state.Prove(height, key)
	if err != nil {
		s.stateErr(w, err)
		return nil, nil, false
	}
	if !prove {
		return leaf, nil, true
	}
	b, c, err := s.b.Block(height)
	if err != nil {
		s.internal(w, fmt.Errorf("reading certified block %d: %w", height, err))
		return nil, nil, false
	}
	if chain.Hash(leaf.Root) != b.StateRoot {
		s.internal(w, fmt.Errorf("the state root at height %d differs from the certified one", height))
		return nil, nil, false
	}
	proof := apijson.LeafOf(leaf, &b.Header, c)
	return leaf, &proof, true
}

// headers answers GET /v1/headers?from=A&to=B: the certified headers A..B
// (at most MaxHeaders), the certificate of B and of every header that
// changes the node set, and those node sets.
func (s *Server) headers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, err1 := strconv.ParseUint(q.Get("from"), 10, 64)
	to, err2 := strconv.ParseUint(q.Get("to"), 10, 64)
	certified := s.b.Status().Certified
	switch {
	case err1 != nil || err2 != nil:
		s.fail(w, http.StatusBadRequest, codeBadRequest, "from and to are decimal heights", nil)
		return
	case from == 0 || from > to:
		s.fail(w, http.StatusBadRequest, codeBadRequest, "want 1 ≤ from ≤ to", nil)
		return
	case to-from >= MaxHeaders:
		s.fail(w, http.StatusBadRequest, codeBadRequest, fmt.Sprintf("at most %d headers at once", MaxHeaders), nil)
		return
	case to > certified:
		s.fail(w, http.StatusNotFound, codeNotFound, fmt.Sprintf("height %d is not certified here yet (the latest is %d)", to, certified), nil)
		return
	}
	seg := &apijson.Segment{Certificates: map[uint64]*chain.Certificate{}, NodeSets: map[chain.Hash]chain.NodeSet{}}
	// The set in force at from: named by the header before it, or the
	// genesis set.
	inForce := s.b.GenesisNodeSet().Hash()
	if from > 1 {
		b, _, err := s.b.Block(from - 1)
		if err != nil {
			s.internal(w, err)
			return
		}
		inForce = b.NextNodes
	}
	for h := from; h <= to; h++ {
		b, c, err := s.b.Block(h)
		if err != nil {
			s.internal(w, fmt.Errorf("reading certified block %d: %w", h, err))
			return
		}
		hdr := b.Header
		seg.Headers = append(seg.Headers, &hdr)
		if hdr.NextNodes != inForce || h == to {
			seg.Certificates[h] = c
		}
		if hdr.NextNodes != inForce {
			set, ok := s.b.NodeSet(hdr.NextNodes)
			if !ok {
				s.internal(w, fmt.Errorf("header %d names node set %s, which this node does not know", h, hdr.NextNodes))
				return
			}
			seg.NodeSets[hdr.NextNodes] = set
			inForce = hdr.NextNodes
		}
	}
	writeJSON(w, http.StatusOK, seg.JSON())
}
