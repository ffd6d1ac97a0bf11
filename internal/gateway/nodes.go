package gateway

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mass-consensus/mass/internal/client"
	"github.com/mass-consensus/mass/light"
)

// upstream is a node the gateway follows, and what it knows of it.
type upstream struct {
	addr string // as configured
	base string // http(s)://host:port
	c    *client.Client

	mu        sync.Mutex
	certified uint64    // the certified height it last reported
	seen      time.Time // its last good answer
	err       string    // its last failure, "" once it answers again
	faulty    time.Time // it sent something that failed verification: asked last until then
	fault     string    // what failed
}

// Node states, as /v1/status shows them.
const (
	stateOK          = "ok"
	stateUnknown     = "unknown"     // not heard from yet
	stateUnreachable = "unreachable" // its last request failed
	stateFaulty      = "faulty"      // it sent something that failed verification
)

// NodeInfo is what the gateway knows of a node, in its /v1/status.
type NodeInfo struct {
	Address   string `json:"address"`
	State     string `json:"state"`
	Certified uint64 `json:"certified"`
	// LastSeenMs is the time of its last good answer (Unix ms).
	LastSeenMs int64  `json:"last_seen_ms,omitempty"`
	Error      string `json:"error,omitempty"`
	// FaultyUntilMs is when a faulty node is asked first again (Unix ms);
	// Fault says what failed verification.
	FaultyUntilMs int64  `json:"faulty_until_ms,omitempty"`
	Fault         string `json:"fault,omitempty"`
}

func (u *upstream) info(now time.Time) NodeInfo {
	u.mu.Lock()
	defer u.mu.Unlock()
	i := NodeInfo{Address: u.base, Certified: u.certified, Error: u.err}
	switch {
	case now.Before(u.faulty):
		i.State, i.FaultyUntilMs, i.Fault = stateFaulty, u.faulty.UnixMilli(), u.fault
	case u.err != "":
		i.State = stateUnreachable
	case u.seen.IsZero():
		i.State = stateUnknown
	default:
		i.State = stateOK
	}
	if !u.seen.IsZero() {
		i.LastSeenMs = u.seen.UnixMilli()
	}
	return i
}

// rank orders nodes for a request at a height: a healthy node that has
// the height first, then a healthy one that may not, then one whose last
// request failed, then a faulty one. A faulty node is still asked last:
// whatever it sends is verified.
func (u *upstream) rank(height uint64, now time.Time) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	switch {
	case now.Before(u.faulty):
		return 3
	case u.err != "":
		return 2
	case u.certified < height:
		return 1
	}
	return 0
}

func (u *upstream) ok(certified uint64, now time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.certified, u.seen, u.err = certified, now, ""
}

// order returns the nodes to ask for an answer at height (0: any), best
// first; nodes of the same rank take turns at being first.
func (g *Gateway) order(height uint64) []*upstream {
	n := len(g.nodes)
	start := int(g.turn.Add(1) % uint64(n))
	out := make([]*upstream, 0, n)
	for i := range n {
		out = append(out, g.nodes[(start+i)%n])
	}
	now := time.Now()
	ranks := make(map[*upstream]int, n)
	for _, u := range out {
		ranks[u] = u.rank(height, now)
	}
	slices.SortStableFunc(out, func(a, b *upstream) int { return cmp.Compare(ranks[a], ranks[b]) })
	return out
}

// errFaulty is wrapped when a node sent something that failed
// verification, or that is not what the API sends.
var errFaulty = errors.New("the answer failed verification")

// faulty wraps err as a node's fault.
func faulty(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errFaulty, fmt.Sprintf(format, args...))
}

// isFault says whether err shows the node faulty rather than unreachable,
// behind or refusing.
func isFault(err error) bool {
	return errors.Is(err, errFaulty) || errors.Is(err, light.ErrInvalid) ||
		errors.Is(err, client.ErrMalformed) || errors.Is(err, client.ErrTooLarge)
}

// note records a node's failure: faulty for a while if it sent something
// that failed verification, else unreachable until it answers again (an
// error answer of the API, such as a height it does not have yet, is
// neither).
func (g *Gateway) note(u *upstream, err error) {
	if err == nil || errors.Is(err, context.Canceled) && g.ctx.Err() != nil {
		return
	}
	now := time.Now()
	u.mu.Lock()
	defer u.mu.Unlock()
	switch {
	case isFault(err):
		u.faulty, u.fault = now.Add(g.cfg.FaultyFor), err.Error()
		g.log.Warn("gateway: a node failed verification", "node", u.base, "err", err)
	case isAnswer(err):
		// The node answered: it is reachable.
	default:
		u.err = err.Error()
	}
}

// isAnswer says whether err is an error answer of the API with a status
// below 500: the node is up and says no.
func isAnswer(err error) bool {
	e, ok := errors.AsType[*client.Error](err)
	return ok && e.Status < http.StatusInternalServerError
}

// failures collects why each node failed to give an answer.
type failures []string

func (f *failures) add(u *upstream, err error) {
	msg := err.Error()
	const keep = 300
	if len(msg) > keep {
		msg = msg[:keep] + "…"
	}
	*f = append(*f, u.base+": "+msg)
}

func (f failures) String() string { return strings.Join(f, "; ") }
