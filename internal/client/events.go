package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/mass-consensus/mass/internal/apijson"
)

// Events is an open stream of the node's commits (GET /v1/events).
type Events struct {
	body   io.ReadCloser
	sc     *bufio.Scanner
	cancel context.CancelFunc
	// data gathers the data lines of the event being read.
	data bytes.Buffer
}

// Events opens the node's stream of commits; it returns once the node has
// answered, so no commit after that is missed. The stream lasts until ctx
// ends, Close, or the node ends it; the client's timeout bounds only the
// wait for the answer.
func (c *Client) Events(ctx context.Context) (*Events, error) {
	ctx, cancel := context.WithCancel(ctx)
	timer := time.AfterFunc(c.timeout, cancel)
	r := request{method: http.MethodGet, path: "/v1/events"}
	resp, err := c.open(ctx, c.stream, r)
	if !timer.Stop() && err == nil {
		resp.Body.Close()
		err = fmt.Errorf("client: %s %s: no answer within %s", r.method, r.path, c.timeout)
	}
	if err != nil {
		cancel()
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		cancel()
		return nil, errorAnswer(r, resp)
	}
	sc := bufio.NewScanner(resp.Body)
	// The larger of the buffer's capacity and the limit bounds a line.
	sc.Buffer(make([]byte, 0, min(64<<10, c.maxAnswer)), int(c.maxAnswer))
	return &Events{body: resp.Body, sc: sc, cancel: cancel}, nil
}

// Next returns the next commit. It returns io.EOF when the node ends the
// stream; a malformed or oversized event is an error that wraps
// ErrMalformed or ErrTooLarge. Event types other than "commit" and
// comments (the node's pings) are skipped.
func (e *Events) Next() (*apijson.CommitEvent, error) {
	event := ""
	e.data.Reset()
	for e.sc.Scan() {
		line := e.sc.Bytes()
		if len(line) == 0 { // the end of an event
			if e.data.Len() > 0 && (event == "" || event == "commit") {
				return decodeEvent(e.data.Bytes())
			}
			event = ""
			e.data.Reset()
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "": // a comment
		case "event":
			event = string(value)
		case "data":
			if e.data.Len() > 0 {
				e.data.WriteByte('\n')
			}
			e.data.Write(value)
		}
	}
	err := e.sc.Err()
	switch {
	case errors.Is(err, bufio.ErrTooLong):
		return nil, fmt.Errorf("%w: an event of the stream is over the client's bound", ErrTooLarge)
	case err != nil:
		return nil, fmt.Errorf("client: the event stream: %w", err)
	}
	return nil, io.EOF
}

func decodeEvent(data []byte) (*apijson.CommitEvent, error) {
	var ev apijson.CommitEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		return nil, fmt.Errorf("%w: a commit event: %w", ErrMalformed, err)
	}
	if err := ev.Check(); err != nil {
		return nil, fmt.Errorf("%w: a commit event: %w", ErrMalformed, err)
	}
	return &ev, nil
}

// Close ends the stream.
func (e *Events) Close() error {
	e.cancel()
	return e.body.Close()
}
