package web

import (
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// guides are the documents, from this package's directory, that show the
// screenshots or say how they are made.
var guides = []string{"../../README.md", "../../docs/GUIDE.md", "../../docs/GUIDE.zh.md", "../../web/README.md"}

// mdLink matches a Markdown link or image: [text](target) or ![alt](target).
var mdLink = regexp.MustCompile(`!?\[[^\]]*\]\(([^)\s]+)\)`)

// TestDocsLinks checks that every relative link of the guides (the
// screenshots above all) leads to a file or directory that exists.
func TestDocsLinks(t *testing.T) {
	images := 0
	for _, doc := range guides {
		src, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range mdLink.FindAllSubmatch(src, -1) {
			target := string(m[1])
			if strings.Contains(target, "://") || strings.HasPrefix(target, "#") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			target, _, _ = strings.Cut(target, "#")
			path := filepath.Join(filepath.Dir(doc), filepath.FromSlash(target))
			if _, err := os.Stat(path); err != nil {
				t.Errorf("%s links to %s, which is missing", strings.TrimPrefix(doc, "../../"), target)
			}
			if strings.HasSuffix(target, ".png") {
				images++
			}
		}
	}
	if images == 0 {
		t.Error("the guides show no screenshot")
	}
}

// TestScreenshotCommand checks that screenshotCommand runs every test that
// takes a screenshot, that the guides give that command, and that the
// screenshots the tests take are the ones in docs/screenshots/.
func TestScreenshotCommand(t *testing.T) {
	m := regexp.MustCompile(`-run '([^']+)'`).FindStringSubmatch(screenshotCommand)
	if m == nil {
		t.Fatalf("no -run in %q", screenshotCommand)
	}
	run := regexp.MustCompile(m[1])
	taken := map[string]bool{}
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, file := range files {
		f, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			var names []string
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok || sel.Sel.Name != "screenshot" || len(call.Args) != 1 {
					return true
				}
				lit, ok := call.Args[0].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Errorf("%s: a screenshot whose name is not a constant string", fset.Position(call.Pos()))
					return true
				}
				name, _ := strconv.Unquote(lit.Value)
				names = append(names, name)
				return true
			})
			if len(names) == 0 {
				continue
			}
			if fn.Recv != nil || !strings.HasPrefix(fn.Name.Name, "Test") {
				t.Errorf("%s: screenshots taken outside a test function (%s)", fset.Position(fn.Pos()), fn.Name.Name)
				continue
			}
			if !run.MatchString(fn.Name.Name) {
				t.Errorf("%s takes screenshots %v but the command does not run it: %s", fn.Name.Name, names, screenshotCommand)
			}
			for _, name := range names {
				if taken[name] {
					t.Errorf("the screenshot %s is taken twice", name)
				}
				taken[name] = true
			}
		}
	}
	pngs, err := filepath.Glob(filepath.Join(screenshotDir, "*.png"))
	if err != nil {
		t.Fatal(err)
	}
	var have []string
	for _, p := range pngs {
		have = append(have, strings.TrimSuffix(filepath.Base(p), ".png"))
	}
	slices.Sort(have)
	want := slices.Sorted(maps.Keys(taken))
	if !slices.Equal(have, want) {
		t.Errorf("docs/screenshots/ holds %v; the tests take %v", have, want)
	}
	for _, doc := range []string{"../../docs/GUIDE.md", "../../docs/GUIDE.zh.md", "../../web/README.md"} {
		src, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(src), screenshotCommand) {
			t.Errorf("%s does not give the command that makes the screenshots: %s", strings.TrimPrefix(doc, "../../"), screenshotCommand)
		}
	}
}
