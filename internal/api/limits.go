package api

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Limits bound what clients may hold of a node's API: time, connections
// and memory. The zero value of a field means its default.
//
// A request has ReadHeaderTimeout to send its headers (at most
// MaxHeaderBytes of them) and ReadTimeout to send all of it, body included; its response must be written within
// WriteTimeout of the end of its headers; a keep-alive connection may
// idle IdleTimeout between requests. GET /v1/events is bound by neither
// WriteTimeout nor ReadTimeout (a stream lives as long as its client reads
// it): each of its writes is bounded by EventWriteTimeout instead, so that
// a subscriber that stops reading is cut off.
//
// At most MaxConns connections are open at once; the server answers any
// beyond them at once with 503 (code "busy", Retry-After: 1) and closes
// them, rather than letting them wait unseen (a client that has already
// sent its request may see the connection reset instead of the 503).
//
// The bodies of the requests being served (submissions) hold at most
// BodyBudget bytes at once, all requests together: a request reserves its
// Content-Length before its body is read, or, without one, each chunk
// before reading it. A request that finds the budget spent is answered 503
// (code "busy", Retry-After: 1) before its body is read, or as soon as a
// chunk does not fit.
type Limits struct {
	ReadHeaderTimeout time.Duration // default 10 s
	ReadTimeout       time.Duration // default 30 s
	WriteTimeout      time.Duration // default 60 s
	IdleTimeout       time.Duration // default 60 s
	EventWriteTimeout time.Duration // default 10 s
	MaxConns          int           // default 1024
	BodyBudget        int64         // default 64 MiB, at least MaxBodySize
}

// Defaults of Limits.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 60 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
	DefaultEventWriteTimeout = 10 * time.Second
	DefaultMaxConns          = 1024
	DefaultBodyBudget        = 64 << 20

	// MaxHeaderBytes bounds a request's headers.
	MaxHeaderBytes = 64 << 10
)

// WithDefaults returns l with every zero field set to its default, or an
// error if a field is negative or the budget cannot hold one transaction.
func (l Limits) WithDefaults() (Limits, error) {
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{
		{&l.ReadHeaderTimeout, DefaultReadHeaderTimeout}, {&l.ReadTimeout, DefaultReadTimeout},
		{&l.WriteTimeout, DefaultWriteTimeout}, {&l.IdleTimeout, DefaultIdleTimeout},
		{&l.EventWriteTimeout, DefaultEventWriteTimeout},
	} {
		if *d.v < 0 {
			return l, fmt.Errorf("api: negative timeout %v", *d.v)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if l.MaxConns == 0 {
		l.MaxConns = DefaultMaxConns
	}
	if l.BodyBudget == 0 {
		l.BodyBudget = DefaultBodyBudget
	}
	switch {
	case l.MaxConns < 0:
		return l, fmt.Errorf("api: negative MaxConns %d", l.MaxConns)
	case l.BodyBudget < MaxBodySize:
		return l, fmt.Errorf("api: BodyBudget %d is below one transaction's %d bytes", l.BodyBudget, MaxBodySize)
	}
	return l, nil
}

// SetLimits replaces the limits (New starts with the defaults); call it
// before HTTPServer and Listener, and before serving.
func (s *Server) SetLimits(l Limits) error {
	l, err := l.WithDefaults()
	if err != nil {
		return err
	}
	s.limits = l
	s.budget = &budget{size: l.BodyBudget}
	return nil
}

// HTTPServer returns an http.Server that serves the API with the limits'
// timeouts, and ends the event streams when it shuts down.
func (s *Server) HTTPServer() *http.Server {
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: s.limits.ReadHeaderTimeout,
		ReadTimeout:       s.limits.ReadTimeout,
		WriteTimeout:      s.limits.WriteTimeout,
		IdleTimeout:       s.limits.IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
	}
	srv.RegisterOnShutdown(s.Shutdown)
	return srv
}

// Listener bounds ln to MaxConns open connections: those beyond are
// answered 503 and closed (see Limits).
func (s *Server) Listener(ln net.Listener) net.Listener {
	return &connLimiter{Listener: ln, slots: make(chan struct{}, s.limits.MaxConns), usage: &s.conns}
}

// Usage is a snapshot of what clients hold of the API.
type Usage struct {
	Conns        int   // connections open
	ConnsRefused int64 // connections refused for MaxConns since the start
	BodyBytes    int64 // bytes of request bodies reserved now
	BodyBudget   int64
}

// Usage returns what clients hold now.
func (s *Server) Usage() Usage {
	held, _ := s.budget.usage()
	return Usage{
		Conns: int(s.conns.open.Load()), ConnsRefused: s.conns.refused.Load(),
		BodyBytes: held, BodyBudget: s.budget.size,
	}
}

// connUsage counts the connections of a connLimiter.
type connUsage struct {
	open, refused atomic.Int64
}

// refusal is what a connection beyond MaxConns reads before it is closed.
var refusal = func() []byte {
	body := `{"error":{"code":"busy","message":"too many open connections, try again"}}` + "\n"
	return fmt.Appendf(nil, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"+
		"Retry-After: %s\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s", retryAfter, len(body), body)
}()

// refusalTimeout bounds the write of the refusal: a fresh connection's
// send buffer takes it at once, unless the client is gone.
const refusalTimeout = 100 * time.Millisecond

// connLimiter is a net.Listener with at most cap(slots) connections open.
type connLimiter struct {
	net.Listener
	slots chan struct{}
	usage *connUsage
}

// Accept returns the next connection there is room for, refusing the
// others as they come.
func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.slots <- struct{}{}:
			l.usage.open.Add(1)
			return &limitedConn{Conn: c, release: l.release}, nil
		default:
			l.usage.refused.Add(1)
			_ = c.SetWriteDeadline(time.Now().Add(refusalTimeout))
			_, _ = c.Write(refusal)
			_ = c.Close()
		}
	}
}

func (l *connLimiter) release() {
	l.usage.open.Add(-1)
	<-l.slots
}

// limitedConn gives its slot back when it is closed, once.
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// budget is the bytes the request bodies being served may hold at once,
// all requests together.
type budget struct {
	size int64

	mu         sync.Mutex
	held, peak int64
}

// take reserves n bytes, or reports that they do not fit.
func (b *budget) take(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n < 0 || b.held+n > b.size {
		return false
	}
	b.held += n
	b.peak = max(b.peak, b.held)
	return true
}

// give returns n bytes taken before.
func (b *budget) give(n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if n > b.held {
		panic("api: body budget returned more than was taken")
	}
	b.held -= n
}

// usage returns the bytes held now and the most ever held at once.
func (b *budget) usage() (held, peak int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.held, b.peak
}

// errBudget is the read error of a body whose next chunk does not fit the
// budget.
var errBudget = errors.New("api: the node holds as many request bodies as it may; try again")

// readChunk is what a body without Content-Length reserves at a time.
const readChunk = 64 << 10
