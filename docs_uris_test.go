package keyplane_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// uriParser says where one backend's URI parser names the attributes it
// accepts, and which docs must name each of them.
type uriParser struct {
	backend string
	file    string
	// funcs are the functions whose `switch <tag> { case "attr": … }`
	// statements (tag an identifier in tags) list attribute names.
	funcs []string
	tags  []string
	// index: string literals indexing this identifier (q["name"]) are
	// attribute names too.
	index string
	// vars: string slices holding attribute names.
	vars []string
	// docs: the attribute must be named, in backquotes, in one of them.
	docs []string
}

var uriParsers = []uriParser{
	{backend: "software", file: "backends/software/uri.go", funcs: []string{"ParseURI", "checkQueryNames"}, index: "q",
		docs: []string{"docs/uris.md", "docs/backends/software.md"}},
	{backend: "pkcs11", file: "backends/pkcs11/uri.go", funcs: []string{"setPath", "setQuery"}, tags: []string{"name"},
		docs: []string{"docs/uris.md", "docs/backends/pkcs11.md"}},
	{backend: "awskms", file: "backends/awskms/uri.go", funcs: []string{"set"}, tags: []string{"name"}, vars: []string{"attrs"},
		docs: []string{"docs/uris.md", "docs/backends/awskms.md"}},
	{backend: "plugin", file: "plugins/options.go", funcs: []string{"parseURI"}, tags: []string{"k"},
		docs: []string{"docs/uris.md", "docs/plugins.md"}},
}

// attributeNames returns the attribute names p's parser accepts, read from
// its source.
func attributeNames(t *testing.T, p uriParser, src []byte) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), p.file, src, 0)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	lit := func(e ast.Expr) {
		if b, ok := e.(*ast.BasicLit); ok && b.Kind == token.STRING {
			if s, err := strconv.Unquote(b.Value); err == nil && !slices.Contains(names, s) {
				names = append(names, s)
			}
		}
	}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if !slices.Contains(p.funcs, d.Name.Name) {
				continue
			}
			ast.Inspect(d.Body, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.SwitchStmt:
					if id, ok := n.Tag.(*ast.Ident); ok && slices.Contains(p.tags, id.Name) {
						for _, c := range n.Body.List {
							for _, e := range c.(*ast.CaseClause).List {
								lit(e)
							}
						}
					}
				case *ast.IndexExpr:
					if id, ok := n.X.(*ast.Ident); ok && p.index != "" && id.Name == p.index {
						lit(n.Index)
					}
				}
				return true
			})
		case *ast.GenDecl:
			for _, s := range d.Specs {
				if v, ok := s.(*ast.ValueSpec); ok && len(v.Names) == 1 && slices.Contains(p.vars, v.Names[0].Name) {
					for _, val := range v.Values {
						if cl, ok := val.(*ast.CompositeLit); ok {
							for _, e := range cl.Elts {
								lit(e)
							}
						}
					}
				}
			}
		}
	}
	return names
}

// TestURIDocsNameEveryAttribute: every URI attribute each backend's parser
// accepts (read from its source) is named, as `name` or `name=…`, in
// docs/uris.md or the backend's own doc.
func TestURIDocsNameEveryAttribute(t *testing.T) {
	for _, p := range uriParsers {
		src, err := os.ReadFile(p.file)
		if err != nil {
			t.Fatal(err)
		}
		var docs []string
		for _, d := range p.docs {
			b, err := os.ReadFile(d)
			if err != nil {
				t.Fatal(err)
			}
			docs = append(docs, string(b))
		}
		names := attributeNames(t, p, src)
		if len(names) == 0 {
			t.Errorf("%s: no attribute names found in %s; the test no longer reads the parser", p.backend, p.file)
		}
		for _, missing := range undocumented(names, docs) {
			t.Errorf("%s URI attribute %q (parsed in %s) is named in none of %s", p.backend, missing, p.file, strings.Join(p.docs, ", "))
		}
		t.Logf("%s: %d attributes: %s", p.backend, len(names), strings.Join(names, " "))
	}
}

// undocumented returns the names that no doc writes as `name` or `name=…`.
func undocumented(names, docs []string) []string {
	var out []string
	for _, n := range names {
		if !slices.ContainsFunc(docs, func(d string) bool {
			return strings.Contains(d, "`"+n+"`") || strings.Contains(d, "`"+n+"=") || strings.Contains(d, "?"+n+"=") ||
				strings.Contains(d, "&"+n+"=") || strings.Contains(d, ";"+n+"=") || strings.Contains(d, ":"+n+"=")
		}) {
			out = append(out, n)
		}
	}
	return out
}

// TestURIDocCheckFindsPlantedAttribute: an attribute added to a parser,
// and one dropped from the docs, are found.
func TestURIDocCheckFindsPlantedAttribute(t *testing.T) {
	p := uriParsers[1] // pkcs11
	src, err := os.ReadFile(p.file)
	if err != nil {
		t.Fatal(err)
	}
	planted := strings.Replace(string(src), `case "call-timeout":`, `case "call-timeout", "retry-count":`, 1)
	if planted == string(src) {
		t.Fatal(`backends/pkcs11/uri.go has no case "call-timeout"; update the planted case`)
	}
	names := attributeNames(t, p, []byte(planted))
	if !slices.Contains(names, "retry-count") {
		t.Fatalf("a case added to setQuery was not read: %q", names)
	}
	doc, err := os.ReadFile("docs/uris.md")
	if err != nil {
		t.Fatal(err)
	}
	if got := undocumented(names, []string{string(doc)}); !slices.Contains(got, "retry-count") {
		t.Errorf("planted retry-count: undocumented = %q, want it listed", got)
	}
	dropped := strings.ReplaceAll(string(doc), "max-sessions", "max_sessions")
	if got := undocumented([]string{"max-sessions"}, []string{dropped}); len(got) != 1 {
		t.Errorf("max-sessions taken out of the doc: undocumented = %q, want it listed", got)
	}
}
