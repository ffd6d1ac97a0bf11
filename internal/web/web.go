// Package web serves the members' web app (the files of package
// github.com/mass-consensus/mass/web, embedded in the binary) over HTTP,
// with the content types ES modules need, and holds the tests that run its
// JavaScript light client in a headless Chromium.
//
// It imports only the embedded files. A node's daemon mounts Handler at
// "/" beside the API (/v1/), with the network's genesis file:
//
//	mux.Handle("/v1/", apiServer)
//	mux.Handle("/", web.Handler(web.WithGenesis(genesisFileBytes)))
//
// The app reads the genesis at /genesis.json: it is the one thing the
// browser's light client trusts, and without it the app verifies nothing.
package web

import (
	"bytes"
	"io/fs"
	"net/http"
	"path"
	"time"

	webfiles "github.com/mass-consensus/mass/web"
)

// contentTypes are the types of the app's files, by extension: set here
// rather than taken from the system's MIME tables, so that a module is
// always served as JavaScript (browsers refuse a module of another type).
var contentTypes = map[string]string{
	".html":        "text/html; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".mjs":         "text/javascript; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".json":        "application/json",
	".webmanifest": "application/manifest+json",
	".svg":         "image/svg+xml",
	".png":         "image/png",
	".ico":         "image/x-icon",
	".txt":         "text/plain; charset=utf-8",
}

// GenesisPath is where the app reads the network's genesis file.
const GenesisPath = "/genesis.json"

// Option is a setting of Handler.
type Option func(*options)

type options struct {
	genesis []byte
}

// WithGenesis serves genesis, the bytes of the network's genesis file, at
// GenesisPath. Without it the app says that the node serves no genesis and
// verifies nothing.
func WithGenesis(genesis []byte) Option {
	return func(o *options) { o.genesis = bytes.Clone(genesis) }
}

// Handler serves the app at the root of its mount point ("/" is
// index.html) and, with WithGenesis, the genesis file at GenesisPath.
func Handler(opts ...Option) http.Handler {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	files := newHandler(webfiles.FS)
	if o.genesis == nil {
		return files
	}
	mux := http.NewServeMux()
	mux.Handle("/", files)
	mux.Handle(GenesisPath, genesisHandler(o.genesis))
	return mux
}

// genesisHandler serves the genesis file's bytes for GET and HEAD, as JSON,
// revalidated at each load (a network's genesis never changes, but the node
// behind an address may be replaced by another network's).
func genesisHandler(genesis []byte) http.Handler {
	modified := time.Now()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", contentTypes[".json"])
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeContent(w, r, "genesis.json", modified, bytes.NewReader(genesis))
	})
}

// newHandler serves the files of fsys for GET and HEAD: each with its
// content type, "nosniff", and "no-cache" (a cached copy is revalidated,
// so a node's upgrade reaches the browser at the next load).
func newHandler(fsys fs.FS) http.Handler {
	files := http.FileServerFS(fsys)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := r.URL.Path
		if name == "" || name[len(name)-1] == '/' {
			name += "index.html"
		}
		if ct, ok := contentTypes[path.Ext(name)]; ok {
			w.Header().Set("Content-Type", ct)
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}
