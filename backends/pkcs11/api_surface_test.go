package pkcs11_test

import (
	"bytes"
	"go/ast"
	"go/build"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"slices"
	"strings"
	"testing"
)

// exportedAPI lists the package's exported declarations as a build with
// cgo (or not) and the given tags would see them: one line per function
// (with its signature), method, type (with its exported fields and
// methods), constant and variable. It reads the source with go/build's
// file selection and go/ast, so it needs neither cgo nor a token.
func exportedAPI(t *testing.T, cgo bool, tags ...string) []string {
	t.Helper()
	ctx := build.Default
	ctx.CgoEnabled = cgo
	ctx.BuildTags = tags
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var api []string
	show := func(n any) string {
		var b bytes.Buffer
		if err := printer.Fprint(&b, fset, n); err != nil {
			t.Fatal(err)
		}
		return strings.Join(strings.Fields(b.String()), " ")
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		if ok, err := ctx.MatchFile(".", name); err != nil {
			t.Fatal(err)
		} else if !ok {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if !d.Name.IsExported() {
					continue
				}
				prefix := "func "
				if d.Recv != nil {
					recv := d.Recv.List[0].Type
					if s, ok := recv.(*ast.StarExpr); ok {
						recv = s.X
					}
					id, ok := recv.(*ast.Ident)
					if !ok || !id.IsExported() {
						continue
					}
					prefix = "method " + id.Name + "."
				}
				api = append(api, prefix+d.Name.Name+" "+show(d.Type))
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						if !s.Name.IsExported() {
							continue
						}
						api = append(api, "type "+s.Name.Name+" "+typeShape(s.Type, show))
					case *ast.ValueSpec:
						for _, n := range s.Names {
							if n.IsExported() {
								api = append(api, d.Tok.String()+" "+n.Name)
							}
						}
					}
				}
			}
		}
	}
	slices.Sort(api)
	return api
}

// typeShape prints a type's exported surface: a struct's exported fields,
// an interface's methods, any other type in full.
func typeShape(e ast.Expr, show func(any) string) string {
	st, ok := e.(*ast.StructType)
	if !ok {
		return show(e)
	}
	var fields []string
	for _, f := range st.Fields.List {
		for _, n := range f.Names {
			if n.IsExported() {
				fields = append(fields, n.Name+" "+show(f.Type))
			}
		}
		if len(f.Names) == 0 {
			fields = append(fields, show(f.Type))
		}
	}
	return "struct{" + strings.Join(fields, "; ") + "}"
}

// TestStubHasTheSameAPI checks that the build without PKCS#11 support (no
// cgo, or the nopkcs11 tag) exports exactly what the real build does, with
// the same signatures, so code written against the package compiles in
// every build and fails at run time with ErrNoCgo instead.
func TestStubHasTheSameAPI(t *testing.T) {
	cgoAPI := exportedAPI(t, true)
	if !slices.Contains(cgoAPI, "func Open func(ctx context.Context, uri string) (*Backend, error)") {
		t.Fatalf("the cgo build's API lacks Open; the comparison would prove nothing:\n%s", strings.Join(cgoAPI, "\n"))
	}
	for name, stub := range map[string][]string{
		"CGO_ENABLED=0":  exportedAPI(t, false),
		"-tags nopkcs11": exportedAPI(t, true, "nopkcs11"),
	} {
		for _, l := range cgoAPI {
			if !slices.Contains(stub, l) {
				t.Errorf("the %s build lacks %s", name, l)
			}
		}
		for _, l := range stub {
			if !slices.Contains(cgoAPI, l) {
				t.Errorf("the %s build has %s, which the cgo build does not", name, l)
			}
		}
	}
}

// TestSessionPoolExportsOnlyStats checks that SessionPool exports no method
// a caller cannot use: its sessions are of an unexported type, and only the
// Backend holds a pool.
func TestSessionPoolExportsOnlyStats(t *testing.T) {
	var methods []string
	for _, l := range exportedAPI(t, true) {
		if strings.HasPrefix(l, "method SessionPool.") {
			methods = append(methods, l)
		}
	}
	if want := []string{"method SessionPool.Stats func() PoolStats"}; !slices.Equal(methods, want) {
		t.Errorf("SessionPool exports %q, want only %q", methods, want)
	}
}
