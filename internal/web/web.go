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
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
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

// VersionHeader is the header in which every file of the app comes with
// the app's version: a hash of all its files. The service worker
// (web/sw.js) fetches every file again only when the page's changes.
const VersionHeader = "X-Mass-App-Version"

// newHandler serves the files of fsys for GET and HEAD: each with its
// content type, "nosniff", "no-cache" (a cached copy is revalidated, so a
// node's upgrade reaches the browser at the next load), a strong ETag of
// its content (so a revalidation is answered 304, without the file) and
// the app's version (VersionHeader).
func newHandler(fsys fs.FS) http.Handler {
	files := http.FileServerFS(fsys)
	tags, version := fileTags(fsys)
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
		w.Header().Set(VersionHeader, version)
		if tag, ok := tags[strings.TrimPrefix(name, "/")]; ok {
			w.Header().Set("ETag", tag) // http.FileServer answers If-None-Match with it
		}
		files.ServeHTTP(w, r)
	})
}

// fileTags returns a strong ETag for each file of fsys (by its path, as
// fs.WalkDir gives it), from a SHA-256 of its content, and the version of
// them all: a SHA-256 of every path and tag. A file that cannot be read
// gets no tag (the file server answers for it).
func fileTags(fsys fs.FS) (map[string]string, string) {
	tags := map[string]string{}
	all := sha256.New()
	_ = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil // what cannot be read is served (or refused) as it is
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil
		}
		sum := sha256.Sum256(data)
		tags[p] = `"` + hex.EncodeToString(sum[:16]) + `"`
		fmt.Fprintf(all, "%s %s\n", p, tags[p]) // in WalkDir's lexical order
		return nil
	})
	return tags, hex.EncodeToString(all.Sum(nil)[:16])
}
