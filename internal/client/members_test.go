package client

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/mass-consensus/mass/internal/crypto"
)

// TestMembers: the request carries after, limit, height and prove; an
// answer that breaks the request (members not after after, a next that
// makes no progress, more members than asked, another height, no proofs)
// is refused as malformed; a bad limit is refused before asking.
func TestMembers(t *testing.T) {
	n, c := newNode(t)
	id := func(b string) string { return strings.Repeat(b, 40) }
	var after crypto.ID
	after[0] = 0x55
	org := `"organization":{"name":"o","policy":"supervisor","members":1,"supervisors":1,"applicants":0}`
	n.answer("GET /v1/members", http.StatusOK, `{"height":4,`+org+`,"members":[{"id":"`+id("6")+`","balance":1,"role":"supervisor","nonce":0}],"next":"`+id("7")+`"}`)
	ctx := context.Background()
	m, err := c.Members(ctx, &after, 5, At{Height: 4})
	if err != nil || len(m.Members) != 1 || m.Next != id("7") {
		t.Fatalf("%+v %v", m, err)
	}
	calls := n.called()
	if got := calls[len(calls)-1]; got != "GET /v1/members?after="+after.String()+"&height=4&limit=5" {
		t.Fatalf("asked %s", got)
	}
	for name, body := range map[string]string{
		"a member not after after": `{"height":4,` + org + `,"members":[{"id":"` + id("1") + `","role":"member","balance":0,"nonce":0}]}`,
		"no progress":              `{"height":4,` + org + `,"members":[],"next":"` + after.String() + `"}`,
		"another height":           `{"height":3,` + org + `,"members":[]}`,
		"too many":                 `{"height":4,` + org + `,"members":[{"id":"` + id("6") + `","role":"member","balance":0,"nonce":0},{"id":"` + id("7") + `","role":"member","balance":0,"nonce":0},{"id":"` + id("8") + `","role":"member","balance":0,"nonce":0}]}`,
		"out of order":             `{"height":4,` + org + `,"members":[{"id":"` + id("7") + `","role":"member","balance":0,"nonce":0},{"id":"` + id("6") + `","role":"member","balance":0,"nonce":0}]}`,
		"no organization":          `{"height":4,"members":[]}`,
	} {
		n.answer("GET /v1/members", http.StatusOK, body)
		if _, err := c.Members(ctx, &after, 2, At{Height: 4}); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
	n.answer("GET /v1/members", http.StatusOK, `{"height":4,`+org+`,"members":[]}`)
	if _, err := c.Members(ctx, nil, 0, At{Prove: true}); !errors.Is(err, ErrMalformed) {
		t.Errorf("no proofs: %v", err)
	}
	for _, limit := range []int{-1, 1001} {
		if _, err := c.Members(ctx, nil, limit, At{}); !errors.Is(err, ErrArgument) {
			t.Errorf("limit %d: %v", limit, err)
		}
	}
}
