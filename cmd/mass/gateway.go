package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/mass-consensus/mass/internal/gateway"
)

// runGateway serves the web app and a verified read API over nodes it
// does not trust (package gateway), until Ctrl-C.
func runGateway(args []string) error {
	cfg, listen, err := gatewayConfig(args)
	if err != nil {
		return err
	}
	ctx, stop := untilSignal()
	defer stop()
	return serveGateway(ctx, cfg, listen, func(addr string) {
		fmt.Printf("gateway: http://%s/ (the app) and /v1 (the read API, verified from %d node(s); submissions forwarded)\n", addr, len(cfg.Nodes))
		fmt.Println("Ctrl-C stops it.")
	})
}

// gatewayConfig parses the flags of mass gateway.
func gatewayConfig(args []string) (gateway.Config, string, error) {
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	genesisFile := fs.String("genesis", "", "the network's genesis file: the only thing the gateway trusts")
	nodes := fs.String("nodes", "", "the API addresses of the nodes to follow, comma-separated (host:port or http(s)://host:port)")
	listen := fs.String("listen", "127.0.0.1:8090", "the address to serve on")
	poll := fs.Duration("poll", gateway.DefaultPoll, "how often to ask each node for its height")
	timeout := fs.Duration("timeout", gateway.DefaultTimeout, "bound on each request to a node")
	cacheMB := fs.Int64("cache-mb", gateway.DefaultCacheBytes>>20, "the cache of verified answers, in MiB (0: none)")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return gateway.Config{}, "", err
	}
	if *genesisFile == "" || *nodes == "" || fs.NArg() > 0 {
		return gateway.Config{}, "", errors.New("usage: mass gateway --genesis FILE --nodes ADDR,ADDR,... [--listen 127.0.0.1:8090]")
	}
	gen, err := readGenesis(*genesisFile)
	if err != nil {
		return gateway.Config{}, "", err
	}
	cfg := gateway.Config{Genesis: gen, Poll: *poll, Timeout: *timeout, CacheBytes: *cacheMB << 20,
		Logger: newLogger(*level, os.Stderr)}
	if *cacheMB <= 0 {
		cfg.CacheBytes = -1
	}
	for _, a := range strings.Split(*nodes, ",") {
		if a = strings.TrimSpace(a); a != "" {
			cfg.Nodes = append(cfg.Nodes, a)
		}
	}
	return cfg, *listen, nil
}

// serveGateway runs a gateway on listen until ctx ends, then stops the
// server and the gateway; ready is called with the address once it
// listens.
func serveGateway(ctx context.Context, cfg gateway.Config, listen string, ready func(addr string)) error {
	g, err := gateway.New(cfg)
	if err != nil {
		return err
	}
	defer g.Close()
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	srv := &http.Server{Handler: g, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn)}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	ready(ln.Addr().String())
	select {
	case <-ctx.Done():
	case err := <-served:
		return fmt.Errorf("gateway: %w", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(sctx)
	<-served
	return err
}
