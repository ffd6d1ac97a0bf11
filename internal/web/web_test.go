package web

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"strings"
	"testing"

	webfiles "github.com/mass-consensus/mass/web"
)

// TestHandlerServesTheApp checks what the browser needs to load the app:
// every embedded file served with its content type (a module served as
// anything but JavaScript is refused), "/" as the page, and nothing that is
// not part of the app.
func TestHandlerServesTheApp(t *testing.T) {
	srv := httptest.NewServer(Handler())
	t.Cleanup(srv.Close)
	get := func(p string) (*http.Response, string) {
		t.Helper()
		resp, err := httpClient.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, string(b)
	}
	n := 0
	err := fs.WalkDir(webfiles.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		want, ok := contentTypes[path.Ext(p)]
		if !ok {
			t.Errorf("%s: no content type for its extension", p)
		}
		resp, body := get("/" + p)
		if p == "index.html" { // FileServer sends /index.html to /
			resp, body = get("/")
		}
		raw, _ := fs.ReadFile(webfiles.FS, p)
		switch {
		case resp.StatusCode != http.StatusOK:
			t.Errorf("%s: %s", p, resp.Status)
		case resp.Header.Get("Content-Type") != want:
			t.Errorf("%s: Content-Type %q, want %q", p, resp.Header.Get("Content-Type"), want)
		case resp.Header.Get("X-Content-Type-Options") != "nosniff":
			t.Errorf("%s: no nosniff", p)
		case body != string(raw):
			t.Errorf("%s: the body is not the embedded file", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 8 {
		t.Fatalf("only %d files embedded", n)
	}
	if resp, body := get("/"); !strings.Contains(body, `from './light.js'`) || resp.Header.Get("Content-Type") != contentTypes[".html"] {
		t.Fatalf("/ is not the page that loads the light client: %s %q", resp.Header.Get("Content-Type"), body)
	}
	for _, p := range []string{"/embed.go", "/README.md", "/nothing.js"} {
		if resp, _ := get(p); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %s, want 404", p, resp.Status)
		}
	}
	resp, err := httpClient.Post(srv.URL+"/light.js", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Fatalf("POST: %s, Allow %q", resp.Status, resp.Header.Get("Allow"))
	}
}
