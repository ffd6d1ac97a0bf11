package api

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"

	"github.com/mass-consensus/mass/internal/apijson"
)

// events streams the blocks the node applies from now on, as server-sent
// events:
//
//	event: commit
//	data: {"height":…,"hash":…,"time_ms":…,"txs":[…],"results":[…]}
//
// with a ": ping" comment line every 15 s. A commit is the node's own
// application of a block; its certificate may come a moment later (GET
// /v1/blocks/{height} serves only certified blocks).
//
// The stream never slows the node: a client that falls more than 64
// commits behind misses commits (the node drops them for a slow
// subscriber). The only sign is a gap in the heights; the client may fetch
// the blocks it missed from /v1/blocks/{height}. The stream ends when the
// client goes away, the node closes the subscription, or Shutdown; and a
// client that takes nothing for Limits.EventWriteTimeout while the node
// writes to it is cut off.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	select {
	case <-s.done:
		s.fail(w, http.StatusServiceUnavailable, codeStopped, "the API is shutting down", nil)
		return
	default:
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // for a proxy in front
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return
	}
	// A stream outlives the server's WriteTimeout: each write has its own
	// deadline instead, which cuts off a client that stopped reading.
	// (The server lifts the read deadline itself once a request without
	// a body is read.)
	rc := http.NewResponseController(w)
	commits, cancel := s.b.Subscribe(eventBuffer)
	defer cancel()
	_ = rc.SetWriteDeadline(time.Now().Add(s.limits.EventWriteTimeout))
	w.WriteHeader(http.StatusOK)
	if rc.Flush() != nil {
		return
	}
	ping := time.NewTicker(s.pingEvery)
	defer ping.Stop()
	var buf bytes.Buffer
	for {
		buf.Reset()
		select {
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		case c, ok := <-commits:
			if !ok {
				return
			}
			ev := apijson.CommitEvent{
				Height: c.Height, Hash: c.Hash.String(), TimeMs: c.Time,
				Txs: make([]string, len(c.TxHashes)), Results: make([]apijson.TxResult, len(c.Results)),
				ApplyMs: float64(c.Apply) / float64(time.Millisecond),
			}
			for i, th := range c.TxHashes {
				ev.Txs[i] = hex.EncodeToString(th[:])
			}
			for i, res := range c.Results {
				ev.Results[i] = apijson.TxResult{Code: res.Code, Log: res.Log}
			}
			data, err := json.Marshal(ev)
			if err != nil {
				return
			}
			buf.WriteString("event: commit\ndata: ")
			buf.Write(data) // JSON holds no raw newline
			buf.WriteString("\n\n")
		case <-ping.C:
			buf.WriteString(": ping\n\n")
		}
		_ = rc.SetWriteDeadline(time.Now().Add(s.limits.EventWriteTimeout))
		if _, err := w.Write(buf.Bytes()); err != nil {
			return
		}
		if rc.Flush() != nil {
			return
		}
	}
}
