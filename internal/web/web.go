// Package web serves the members' web app (the files of package
// github.com/mass-consensus/mass/web, embedded in the binary) over HTTP,
// with the content types ES modules need, and holds the tests that run its
// JavaScript light client in a headless Chromium.
//
// It imports only the embedded files; a node's daemon mounts Handler beside
// the API.
package web

import (
	"io/fs"
	"net/http"
	"path"

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

// Handler serves the app at the root of its mount point ("/" is
// index.html).
func Handler() http.Handler { return newHandler(webfiles.FS) }

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
