// Package web holds the members' web app of Mass: static files (HTML, CSS
// and plain ES modules, no build step) embedded in the binary. The app
// (index.html, app.js and pages/) has a wallet kept in the browser, an
// account view whose every value is verified by the browser's light client
// (light.js and light/) from the genesis file alone, and two-party
// transfers built and signed in the browser (tx.js); package internal/web
// serves it and tests it in headless Chromium.
//
// It is a Go package only so that go:embed, which cannot reach a parent
// directory, can take the files from here; it imports nothing.
package web

import "embed"

// FS holds the files of the app, by their paths under web/.
//
//go:embed index.html *.css *.js light/*.js pages/*.js
var FS embed.FS
