// Package e2e holds the end-to-end tests: they build the mass binary, start
// real node processes on 127.0.0.1, drive them through the HTTP API, kill
// them with SIGKILL and restart them. There is no code here besides tests.
package e2e
