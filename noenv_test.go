package keyplane_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/internal/testenv"
)

// envReaders are the calls that read the process environment.
var envReaders = []string{"os.Getenv", "os.LookupEnv", "os.Environ", "os.ExpandEnv", "syscall.Getenv", "syscall.Environ"}

// testHelpers are packages that exist for tests only: they may read the
// environment (KEYPLANE_REQUIRE_TOOLS, a tool's configuration), and
// TestLibraryReadsNoEnvironment checks that no library package imports
// them.
var testHelpers = []string{"internal/testenv", "internal/wycheproof", "internal/secretstest", "internal/localkms", "internal/benchratio", "internal/nocore/nocoretest", "internal/trustedkey"}

// envExceptions are the library's environment reads that stay, each with
// the reason (docs/decisions.md, "The library reads no environment
// variable"). Keyed by file and function.
var envExceptions = map[string]string{
	"plugins/env.go:childEnv": "builds a plugin child's environment from the host's, narrowed to an allow-list " +
		"(PATH, HOME, SOFTHSM2_CONF, ...): it passes what the child's own libraries need through, and reads none of it for keyplane",
	"plugins/serve.go:pluginLogger": "runs in the plugin child: reads the log level its host set for it in its " +
		"environment, the same channel go-plugin's handshake cookie uses",
}

// TestLibraryReadsNoEnvironment holds the rule that the library never
// reads the process environment by itself (the CLI does, and says so in
// --help): no package of the module other than commands (package main)
// and test helpers calls os.Getenv, os.LookupEnv, os.Environ or their
// kin, outside its _test.go files, except the reads in envExceptions.
// (The AWS SDK's standard credential chain, which awskms uses when the
// program supplies no credentials, and exec.LookPath's $PATH are the
// standard library's and the SDK's, not calls of ours.)
func TestLibraryReadsNoEnvironment(t *testing.T) {
	gobin := testenv.Command(t, "go", "golang-go")
	cmd := exec.Command(gobin, "list", "-json", "./...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	type pkg struct {
		ImportPath string
		Name       string
		Dir        string
		GoFiles    []string
		CgoFiles   []string
		Deps       []string
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	seenExceptions := map[string]bool{}
	checked := 0
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		r, _ := rel(p.ImportPath)
		if p.Name == "main" || slices.Contains(testHelpers, r) {
			continue
		}
		for _, d := range p.Deps {
			if dr, ok := rel(d); ok && slices.Contains(testHelpers, dr) {
				t.Errorf("%s imports the test helper %s (which may read the environment)", r, dr)
			}
		}
		checked++
		for _, f := range append(p.GoFiles, p.CgoFiles...) {
			for _, call := range envCalls(t, filepath.Join(p.Dir, f)) {
				key := filepath.ToSlash(filepath.Join(r, f)) + ":" + call.fn
				if _, ok := envExceptions[key]; ok {
					seenExceptions[key] = true
					continue
				}
				t.Errorf("%s:%d: %s calls %s: the library reads no environment variable (move it to the CLI, cmd/keyplane, and pass the value in code)", filepath.Join(r, f), call.line, call.fn, call.what)
			}
		}
	}
	if checked < 10 {
		t.Fatalf("only %d library packages checked: the scan is broken", checked)
	}
	for key := range envExceptions {
		if !seenExceptions[key] {
			t.Errorf("exception %s no longer reads the environment: remove it from envExceptions", key)
		}
	}
}

type envCall struct {
	fn, what string
	line     int
}

// envCalls lists the calls of envReaders in a file, with the function
// they are in.
func envCalls(t *testing.T, path string) []envCall {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	// The names the file imports os and syscall as.
	alias := map[string]string{}
	for _, imp := range f.Imports {
		p := strings.Trim(imp.Path.Value, `"`)
		if p != "os" && p != "syscall" {
			continue
		}
		name := p
		if imp.Name != nil {
			name = imp.Name.Name
		}
		alias[name] = p
	}
	var calls []envCall
	for _, d := range f.Decls {
		fn := "(package level)"
		if fd, ok := d.(*ast.FuncDecl); ok {
			fn = fd.Name.Name
		}
		ast.Inspect(d, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			id, ok := sel.X.(*ast.Ident)
			if !ok || alias[id.Name] == "" {
				return true
			}
			what := alias[id.Name] + "." + sel.Sel.Name
			if slices.Contains(envReaders, what) {
				calls = append(calls, envCall{fn: fn, what: what, line: fset.Position(sel.Pos()).Line})
			}
			return true
		})
	}
	return calls
}
