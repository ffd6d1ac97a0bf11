// Package client is the Go client of a node's HTTP API (/v1). It sends the
// requests, bounds every answer it reads, decodes it into the shapes of
// package apijson (the ones the server encodes) and checks it: a node's
// answer is input from outside, and a malformed, truncated or oversized
// one is refused with an error that wraps ErrMalformed or ErrTooLarge. An
// error answer becomes an *Error carrying the HTTP status and the API's
// code, so that a caller can tell a duplicate from an invalid transaction.
//
// The CLI, the bench and the light client reach nodes only through it. It
// imports apijson, crypto and the standard library; never api, node or
// light.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/mass-consensus/mass/internal/apijson"
)

// Defaults of a Client.
const (
	// DefaultTimeout bounds one request, answer included.
	DefaultTimeout = 30 * time.Second
	// DefaultMaxAnswer bounds the body of an answer, and one event of the
	// event stream, in bytes.
	DefaultMaxAnswer = 64 << 20
	// maxErrorAnswer bounds the body of an error answer that is read.
	maxErrorAnswer = 64 << 10
)

// Errors of the client, besides *Error.
var (
	// ErrMalformed is wrapped when an answer is not the JSON the API
	// sends, or fails the checks of its shape.
	ErrMalformed = errors.New("client: malformed answer")
	// ErrTooLarge is wrapped when an answer exceeds the client's bound.
	ErrTooLarge = errors.New("client: answer too large")
	// ErrArgument is wrapped when a call's arguments are refused before
	// anything is sent.
	ErrArgument = errors.New("client: bad argument")
)

// Error is an error answer of the API: {"error": {"code", "message"}} with
// its HTTP status.
type Error struct {
	Method, Path string
	// Status is the HTTP status code.
	Status int
	// Code is the API's error code (apijson.CodeDuplicate, …); empty when
	// the answer was not an error of the API (a proxy's page, say), whose
	// text is then in Message.
	Code    string
	Message string
}

// Error says what the node answered: its message and code, or, for an
// answer that is not the API's, the request and what came back.
func (e *Error) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("%s %s: HTTP %d: %s", e.Method, e.Path, e.Status, e.Message)
	}
	return fmt.Sprintf("%s (%s, HTTP %d)", e.Message, e.Code, e.Status)
}

// IsCode says whether err is, or wraps, an error answer with the API's
// code.
func IsCode(err error, code string) bool {
	e, ok := errors.AsType[*Error](err)
	return ok && e.Code == code
}

// Client talks to one node's API. It is safe for concurrent use.
type Client struct {
	base      string
	http      *http.Client
	stream    *http.Client // the same transport, without an overall timeout
	timeout   time.Duration
	maxAnswer int64
}

// Option configures a Client.
type Option func(*Client)

// WithHTTP makes the client send through hc (its transport and its
// timeout, if it has one); nil keeps the default.
func WithHTTP(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.http = hc
		}
	}
}

// WithTimeout bounds each request, answer included, and the wait for the
// event stream's first answer; 0 keeps the default.
func WithTimeout(d time.Duration) Option {
	return func(c *Client) {
		if d > 0 {
			c.timeout = d
		}
	}
}

// WithMaxAnswer bounds the body of an answer in bytes; 0 keeps the
// default.
func WithMaxAnswer(n int64) Option {
	return func(c *Client) {
		if n > 0 {
			c.maxAnswer = n
		}
	}
}

// New returns a client of the API at addr: a URL (http://host:port), or
// host:port for plain HTTP.
func New(addr string, opts ...Option) (*Client, error) {
	base, err := baseURL(addr)
	if err != nil {
		return nil, err
	}
	c := &Client{base: base, timeout: DefaultTimeout, maxAnswer: DefaultMaxAnswer}
	for _, o := range opts {
		o(c)
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: c.timeout}
	}
	stream := *c.http
	stream.Timeout = 0
	c.stream = &stream
	return c, nil
}

// baseURL checks a node's address and returns it without a trailing slash.
func baseURL(addr string) (string, error) {
	s := strings.TrimSpace(addr)
	if s == "" {
		return "", fmt.Errorf("%w: no node address", ErrArgument)
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%w: node address %q: %w", ErrArgument, addr, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%w: node address %q: want http(s)://host:port or host:port", ErrArgument, addr)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// Base is the API's address, as requests are sent to it.
func (c *Client) Base() string { return c.base }

// request is one call: what to send and where to decode the answer.
type request struct {
	method, path string
	query        url.Values
	body         []byte // sent as application/octet-stream when not nil
	accept       int    // the success status; 0 is 200
}

// call sends a request and decodes its answer into v (which may be nil).
func (c *Client) call(ctx context.Context, r request, v any) error {
	raw, err := c.send(ctx, r)
	if err != nil {
		return err
	}
	return decode(r, raw, v)
}

// send sends a request and returns the body of a successful answer, read
// within the bound; an error answer becomes an *Error.
func (c *Client) send(ctx context.Context, r request) ([]byte, error) {
	resp, err := c.open(ctx, c.http, r)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	want := r.accept
	if want == 0 {
		want = http.StatusOK
	}
	if resp.StatusCode != want {
		return nil, errorAnswer(r, resp)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.maxAnswer+1))
	if err != nil {
		return nil, fmt.Errorf("client: reading the answer to %s %s: %w", r.method, r.path, err)
	}
	if int64(len(body)) > c.maxAnswer {
		return nil, fmt.Errorf("%w: the answer to %s %s is over %d bytes", ErrTooLarge, r.method, r.path, c.maxAnswer)
	}
	return body, nil
}

// open sends a request and returns the answer, whose body the caller
// closes.
func (c *Client) open(ctx context.Context, hc *http.Client, r request) (*http.Response, error) {
	u := c.base + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	if r.body != nil {
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("client: %s %s: %w", r.method, r.path, err)
	}
	return resp, nil
}

// errorAnswer reads an error answer (a bounded part of it) into an *Error.
func errorAnswer(r request, resp *http.Response) error {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorAnswer))
	e := &Error{Method: r.method, Path: r.path, Status: resp.StatusCode}
	var body apijson.ErrorBody
	if json.Unmarshal(raw, &body) == nil && body.Check() == nil {
		e.Code, e.Message = body.Error.Code, body.Error.Message
		return e
	}
	e.Message = strings.TrimSpace(string(raw))
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	const keep = 200
	if len(e.Message) > keep {
		e.Message = e.Message[:keep] + "…"
	}
	return e
}

// checked is an answer that can check itself.
type checked interface{ Check() error }

// decode decodes one JSON value, with nothing after it, into v and checks
// it.
func decode(r request, raw []byte, v any) error {
	if v == nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: the answer to %s %s: %w", ErrMalformed, r.method, r.path, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: the answer to %s %s has data after its JSON value", ErrMalformed, r.method, r.path)
	}
	if c, ok := v.(checked); ok {
		if err := c.Check(); err != nil {
			return fmt.Errorf("%w: the answer to %s %s: %w", ErrMalformed, r.method, r.path, err)
		}
	}
	return nil
}
