package light

import (
	"bufio"
	"bytes"
	"fmt"
	"go/importer"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// module is this module's path: its packages under internal/ cannot be
// imported from outside it.
const module = "github.com/mass-consensus/mass"

// TestExportedAPINamesNoInternalType type-checks the package as an
// importer sees it (from the compiler's export data) and walks every
// exported name: constants, variables, functions, types with their
// exported fields and methods. None may name a type of an internal
// package, which a program outside the module could not use.
func TestExportedAPINamesNoInternalType(t *testing.T) {
	pkg := importLight(t)
	if bad := internalTypes(pkg); len(bad) > 0 {
		t.Fatalf("the exported API of package light names internal types:\n  %s", strings.Join(bad, "\n  "))
	}
}

// importLight loads package light from its export data, found by go list.
func importLight(t *testing.T) *types.Package {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	out, err := exec.Command(goTool, "list", "-export", "-deps", "-f", "{{.ImportPath}}\t{{.Export}}", module+"/light").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	exports := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if path, file, ok := strings.Cut(sc.Text(), "\t"); ok && file != "" {
			exports[path] = file
		}
	}
	imp := importer.ForCompiler(token.NewFileSet(), "gc", func(path string) (io.ReadCloser, error) {
		file, ok := exports[path]
		if !ok {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(file)
	})
	pkg, err := imp.Import(module + "/light")
	if err != nil {
		t.Fatal(err)
	}
	return pkg
}

// internalTypes lists where the exported API of pkg names a type of an
// internal package.
func internalTypes(pkg *types.Package) []string {
	w := &surfaceWalker{seen: map[types.Type]bool{}}
	scope := pkg.Scope()
	for _, name := range scope.Names() {
		obj := scope.Lookup(name)
		if !obj.Exported() {
			continue
		}
		w.where = name
		if tn, ok := obj.(*types.TypeName); ok {
			w.named(tn.Type())
			continue
		}
		w.typ(obj.Type())
	}
	return w.bad
}

type surfaceWalker struct {
	seen  map[types.Type]bool
	where string
	bad   []string
}

func isInternal(path string) bool {
	return strings.Contains(path+"/", "/internal/") || strings.HasPrefix(path, "internal/")
}

// named walks a type declared by name: what it is made of, as far as an
// importer sees (exported fields), and its exported methods.
func (w *surfaceWalker) named(t types.Type) {
	if w.seen[t] {
		return
	}
	w.seen[t] = true
	w.typ(t.Underlying())
	if n, ok := t.(*types.Named); ok {
		for m := range n.Methods() {
			if m.Exported() {
				w.typ(m.Type())
			}
		}
	}
}

func (w *surfaceWalker) typ(t types.Type) {
	switch t := t.(type) {
	case *types.Named:
		if p := t.Obj().Pkg(); p != nil && isInternal(p.Path()) {
			w.bad = append(w.bad, fmt.Sprintf("%s: %s", w.where, t))
			return
		}
		for a := range t.TypeArgs().Types() {
			w.typ(a)
		}
		if p := t.Obj().Pkg(); p != nil && p.Path() == module+"/light" {
			w.named(t)
		}
	case *types.Alias:
		w.typ(types.Unalias(t))
	case *types.Pointer:
		w.typ(t.Elem())
	case *types.Slice:
		w.typ(t.Elem())
	case *types.Array:
		w.typ(t.Elem())
	case *types.Map:
		w.typ(t.Key())
		w.typ(t.Elem())
	case *types.Chan:
		w.typ(t.Elem())
	case *types.Signature:
		w.tuple(t.Params())
		w.tuple(t.Results())
	case *types.Struct:
		for f := range t.Fields() {
			if f.Exported() || f.Embedded() {
				w.typ(f.Type())
			}
		}
	case *types.Interface:
		for m := range t.Methods() {
			if m.Exported() {
				w.typ(m.Type())
			}
		}
	}
}

func (w *surfaceWalker) tuple(t *types.Tuple) {
	for v := range t.Variables() {
		w.typ(v.Type())
	}
}

// TestSurfaceWalkerFindsInternalTypes checks the walker on a package
// built to leak internal types in each way an API can: a field, a method's
// parameter or result, a function, a variable, an embedded field.
func TestSurfaceWalkerFindsInternalTypes(t *testing.T) {
	internal := types.NewPackage(module+"/internal/chain", "chain")
	hash := types.NewNamed(types.NewTypeName(token.NoPos, internal, "Hash", nil), types.NewArray(types.Typ[types.Byte], 32), nil)
	pkg := types.NewPackage(module+"/light", "light")
	field := func(name string, t types.Type, embedded bool) *types.Var {
		return types.NewField(token.NoPos, pkg, name, t, embedded)
	}
	sig := func(params, results []*types.Var) *types.Signature {
		return types.NewSignatureType(nil, nil, nil, types.NewTuple(params...), types.NewTuple(results...), false)
	}
	param := func(t types.Type) *types.Var { return types.NewParam(token.NoPos, pkg, "", t) }
	declare := func(name string, under types.Type) *types.Named {
		n := types.NewNamed(types.NewTypeName(token.NoPos, pkg, name, nil), under, nil)
		pkg.Scope().Insert(n.Obj())
		return n
	}
	declare("Field", types.NewStruct([]*types.Var{field("H", hash, false)}, nil))
	declare("Hidden", types.NewStruct([]*types.Var{field("h", hash, false)}, nil)) // unexported: fine
	declare("Embeds", types.NewStruct([]*types.Var{field("Hash", hash, true)}, nil))
	declare("MapOf", types.NewMap(types.Typ[types.String], types.NewSlice(hash)))
	m := declare("Methods", types.NewStruct(nil, nil))
	m.AddMethod(types.NewFunc(token.NoPos, pkg, "Takes", sig([]*types.Var{param(hash)}, nil)))
	m.AddMethod(types.NewFunc(token.NoPos, pkg, "gives", sig(nil, []*types.Var{param(hash)}))) // unexported: fine
	pkg.Scope().Insert(types.NewFunc(token.NoPos, pkg, "Func", sig(nil, []*types.Var{param(types.NewPointer(hash))})))
	pkg.Scope().Insert(types.NewVar(token.NoPos, pkg, "Var", hash))
	pkg.Scope().Insert(types.NewVar(token.NoPos, pkg, "own", hash)) // unexported: fine
	got := strings.Join(internalTypes(pkg), "\n")
	for _, want := range []string{"Field:", "Embeds:", "MapOf:", "Methods:", "Func:", "Var:"} {
		if !strings.Contains(got, want) {
			t.Errorf("the walker misses %s in:\n%s", want, got)
		}
	}
	for _, not := range []string{"Hidden:", "own:"} {
		if strings.Contains(got, not) {
			t.Errorf("the walker reports %s in:\n%s", not, got)
		}
	}
}
