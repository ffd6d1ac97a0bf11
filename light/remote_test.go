package light

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/mass-consensus/mass/internal/apijson"
	"github.com/mass-consensus/mass/internal/app/orgapp"
	"github.com/mass-consensus/mass/internal/app/state"
	"github.com/mass-consensus/mass/internal/chain"
	"github.com/mass-consensus/mass/internal/crypto"
)

// fakeNode serves a chain fixture as a node's API does: /v1/headers,
// /v1/accounts/{id} and /v1/organization (with ?prove=1). tamper, if set,
// may change each answer before it is written.
type fakeNode struct {
	f      *chainFixture
	tamper func(path string, answer any)
}

func serveFixture(t *testing.T, f *chainFixture, tamper func(string, any)) *httptest.Server {
	t.Helper()
	n := &fakeNode{f: f, tamper: tamper}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/headers", n.headers)
	mux.HandleFunc("GET /v1/accounts/{id}", n.account)
	mux.HandleFunc("GET /v1/organization", n.organization)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func (n *fakeNode) write(w http.ResponseWriter, r *http.Request, v any) {
	if n.tamper != nil {
		n.tamper(r.URL.Path, v)
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func (n *fakeNode) headers(w http.ResponseWriter, r *http.Request) {
	from, _ := strconv.ParseUint(r.URL.Query().Get("from"), 10, 64)
	to, _ := strconv.ParseUint(r.URL.Query().Get("to"), 10, 64)
	if from == 0 || to < from || to > uint64(len(n.f.headers)) {
		http.Error(w, `{"error":{"code":"not_found","message":"no such heights"}}`, http.StatusNotFound)
		return
	}
	seg := &apijson.Segment{Certificates: map[uint64]*chain.Certificate{}, NodeSets: map[chain.Hash]chain.NodeSet{}}
	for h := from; h <= to; h++ {
		seg.Headers = append(seg.Headers, n.f.headers[h-1])
		if n.f.eraOf(h) != n.f.eraOf(h+1) || h == to {
			seg.Certificates[h] = n.f.certs[h-1]
		}
		if n.f.eraOf(h) != n.f.eraOf(h+1) {
			seg.NodeSets[n.f.sets[1].Hash()] = n.f.sets[1]
		}
	}
	j := seg.JSON()
	n.write(w, r, &j)
}

// height is the height a read asks for: ?height, or the latest.
func (n *fakeNode) height(r *http.Request) uint64 {
	if h, err := strconv.ParseUint(r.URL.Query().Get("height"), 10, 64); err == nil && h > 0 {
		return h
	}
	return uint64(len(n.f.headers))
}

func (n *fakeNode) proof(r *http.Request, key state.Key) (*orgapp.Leaf, *apijson.Leaf, error) {
	h := n.height(r)
	if h > uint64(len(n.f.headers)) {
		return nil, nil, fmt.Errorf("height %d", h)
	}
	l, err := n.f.app.Prove(h, key)
	if err != nil {
		return nil, nil, err
	}
	j := apijson.LeafOf(l, n.f.headers[h-1], n.f.certs[h-1])
	return l, &j, nil
}

func (n *fakeNode) account(w http.ResponseWriter, r *http.Request) {
	id, _ := crypto.ParseID(r.PathValue("id"))
	l, proof, err := n.proof(r, state.AccountKey(id))
	if err != nil {
		http.Error(w, `{"error":{"code":"not_found","message":"no such height"}}`, http.StatusNotFound)
		return
	}
	out := apijson.Account{Height: l.Height, Found: l.Found, Proof: proof}
	if l.Found {
		a, _ := state.UnmarshalAccount(l.Value)
		v := orgapp.AccountJSON(id, a, l.Sum)
		out.Account = &v
	}
	n.write(w, r, &out)
}

func (n *fakeNode) organization(w http.ResponseWriter, r *http.Request) {
	l, proof, err := n.proof(r, state.OrgKey)
	if err != nil {
		http.Error(w, `{"error":{"code":"not_found","message":"no such height"}}`, http.StatusNotFound)
		return
	}
	o, _ := state.UnmarshalOrganization(l.Value)
	v := orgapp.OrganizationJSON(o)
	n.write(w, r, &apijson.Organization{Height: l.Height, Organization: &v, Proof: proof})
}

// TestRemoteProves proves accounts and the organization through a node's
// API, across a change of the node set, at the latest height and at an
// earlier one.
func TestRemoteProves(t *testing.T) {
	f := newChain(t, 9, 4)
	srv := serveFixture(t, f, nil)
	c := newClient(t, f)
	ctx := context.Background()
	remote := &Remote{Base: srv.Listener.Addr().String()} // host:port, as a user types it
	bob := accountID(f.bob)
	acct, rec, err := c.ProveAccount(ctx, remote, bob, 0)
	if err != nil || acct == nil || acct.Balance != 10+9*10/2 || rec.Height != 9 || c.Height() != 9 {
		t.Fatalf("bob at the latest height: %+v %+v %v", acct, rec, err)
	}
	// An earlier height needs no more headers.
	if acct, rec, err = c.ProveAccount(ctx, remote, bob, 2); err != nil || acct.Balance != 13 || rec.Height != 2 {
		t.Fatalf("bob at height 2: %+v %+v %v", acct, rec, err)
	}
	nobody := accountID(key(t, "nobody", 0))
	if acct, rec, err = c.ProveAccount(ctx, remote, nobody, 0); err != nil || acct != nil || rec.Found {
		t.Fatalf("nobody: %+v %+v %v", acct, rec, err)
	}
	o, rec, err := newClient(t, f).ProveOrganization(ctx, &Remote{Base: srv.URL}, 5)
	if err != nil || o.Name != "Light" || rec.Height != 5 || rec.Supply != 1010 {
		t.Fatalf("organization: %+v %+v %v", o, rec, err)
	}
	// A height the node does not have: the node's error, not a failed
	// verification.
	if _, _, err := c.ProveAccount(ctx, remote, bob, 99); err == nil || errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "not_found") {
		t.Fatalf("a height the node lacks: %v", err)
	}
}

// TestRemoteLies: answers a node should not send are refused as invalid,
// and the client stays where it was.
func TestRemoteLies(t *testing.T) {
	f := newChain(t, 6, 0)
	bob := accountID(f.bob)
	for name, tamper := range map[string]func(string, any){
		"a balance raised": func(_ string, a any) {
			if a, ok := a.(*apijson.Account); ok {
				a.Proof.Sum++
			}
		},
		"another account's proof": func(_ string, a any) {
			if a, ok := a.(*apijson.Account); ok {
				a.Proof.Key = strings.Repeat("00", 20)
			}
		},
		"a header dropped": func(_ string, a any) {
			if h, ok := a.(*apijson.Headers); ok && len(h.Headers) > 2 {
				h.Headers = append(h.Headers[:1], h.Headers[2:]...)
			}
		},
		"a forged certificate": func(_ string, a any) {
			if h, ok := a.(*apijson.Headers); ok {
				for k := range h.Certificates {
					h.Certificates[k] = h.Certificates[k][:len(h.Certificates[k])-2] + "00"
				}
			}
		},
		"no proof": func(_ string, a any) {
			if a, ok := a.(*apijson.Account); ok {
				a.Proof = nil
			}
		},
		"found without the account": func(_ string, a any) {
			if a, ok := a.(*apijson.Account); ok {
				a.Account = nil
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			srv := serveFixture(t, f, tamper)
			c := newClient(t, f)
			_, _, err := c.ProveAccount(context.Background(), &Remote{Base: srv.URL}, bob, 0)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("%v", err)
			}
		})
	}
	if _, err := (&Remote{Base: "ftp://x"}).Account(context.Background(), bob, 0); err == nil || errors.Is(err, ErrInvalid) {
		t.Fatalf("a bad address: %v", err)
	}
}
