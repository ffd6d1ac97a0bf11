// Package web holds the members' web app of Mass: static files (HTML and
// plain ES modules, no build step) embedded in the binary. Today it is the
// browser's light client (light.js and light/), which verifies headers,
// certificates and proofs from the genesis file alone, and a placeholder
// page; package internal/web serves it and tests it in headless Chromium.
//
// It is a Go package only so that go:embed, which cannot reach a parent
// directory, can take the files from here; it imports nothing.
package web

import "embed"

// FS holds the files of the app, by their paths under web/.
//
//go:embed index.html *.js light/*.js
var FS embed.FS
