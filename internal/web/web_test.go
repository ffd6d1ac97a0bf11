package web

import (
	"fmt"
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
	if resp, body := get("/"); !strings.Contains(body, `src="app.js"`) || resp.Header.Get("Content-Type") != contentTypes[".html"] {
		t.Fatalf("/ is not the page that loads the app: %s %q", resp.Header.Get("Content-Type"), body)
	}
	if _, body := get("/app.js"); !strings.Contains(body, `from './light.js'`) {
		t.Fatal("app.js does not load the light client")
	}
	// index.html preloads every module, so that the browser fetches them at
	// once rather than one level of imports after another.
	_, page := get("/")
	modules, _ := fs.Glob(webfiles.FS, "*.js")
	for _, dir := range []string{"pages", "light"} {
		more, _ := fs.Glob(webfiles.FS, dir+"/*.js")
		modules = append(modules, more...)
	}
	for _, m := range modules {
		if m == "sw.js" { // the service worker, not a module of the page
			continue
		}
		if !strings.Contains(page, fmt.Sprintf(`<link rel="modulepreload" href="%s">`, m)) {
			t.Errorf("index.html does not preload %s", m)
		}
	}
	for _, p := range []string{"/embed.go", "/README.md", "/nothing.js", GenesisPath} {
		if resp, _ := get(p); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %s, want 404", p, resp.Status)
		}
	}
	// Every file comes with the app's version and a strong ETag of its
	// content: a revalidation is answered 304, without the file.
	versions := map[string]bool{}
	for _, p := range []string{"/", "/app.js", "/light/chain.js", "/sw.js", "/app.css"} {
		resp, _ := get(p)
		tag := resp.Header.Get("ETag")
		versions[resp.Header.Get(VersionHeader)] = true
		if len(tag) != 34 || tag[0] != '"' || resp.Header.Get("Cache-Control") != "no-cache" {
			t.Errorf("%s: ETag %q, Cache-Control %q", p, tag, resp.Header.Get("Cache-Control"))
			continue
		}
		req, _ := http.NewRequest(http.MethodGet, srv.URL+p, nil)
		req.Header.Set("If-None-Match", tag)
		again, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(again.Body)
		again.Body.Close()
		if again.StatusCode != http.StatusNotModified || len(body) != 0 {
			t.Errorf("%s revalidated: %s, %d bytes", p, again.Status, len(body))
		}
	}
	if len(versions) != 1 || versions[""] {
		t.Errorf("the files give the versions %v, want one", versions)
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

// TestHandlerServesTheGenesis checks WithGenesis: the genesis file's bytes
// at GenesisPath, as JSON, beside the app; GET and HEAD only.
func TestHandlerServesTheGenesis(t *testing.T) {
	genesis := []byte(`{"chain_id": "g", "nodes": []}` + "\n")
	h := Handler(WithGenesis(genesis))
	genesis[2] = 'X' // the handler keeps its own copy
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	resp, err := httpClient.Get(srv.URL + GenesisPath)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" || string(body) != `{"chain_id": "g", "nodes": []}`+"\n" {
		t.Fatalf("%s %q %q", resp.Status, resp.Header.Get("Content-Type"), body)
	}
	if resp.Header.Get("Cache-Control") != "no-cache" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("headers %v", resp.Header)
	}
	resp, err = httpClient.Get(srv.URL + "/app.js")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the app beside the genesis: %s", resp.Status)
	}
	resp, err = httpClient.Post(srv.URL+GenesisPath, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST %s: %s", GenesisPath, resp.Status)
	}
}
