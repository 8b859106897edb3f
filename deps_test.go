package keyplane_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/internal/testenv"
)

const module = "github.com/keyplane/keyplane"

// listedPackage is what `go list -json` says about a package.
type listedPackage struct {
	ImportPath string
	Name       string
	Standard   bool
	Imports    []string
	Error      *struct{ Err string }
}

// depRule is one arrow of the dependency direction (docs/architecture.md).
type depRule struct {
	// what the rule says, for the failure message
	what string
	// applies reports whether the rule governs package p (a module-relative
	// path such as "backends/software").
	applies func(p *listedPackage, rel string) bool
	// allowed reports whether a package p governed by the rule may depend,
	// directly or not, on dep.
	allowed func(rel string, dep *listedPackage, depRel string) bool
}

// rel returns path relative to the module ("" for the module root), and
// whether it is in the module.
func rel(path string) (string, bool) {
	if path == module {
		return "", true
	}
	r, ok := strings.CutPrefix(path, module+"/")
	return r, ok
}

// under reports whether rel is dir or inside it.
func under(rel, dir string) bool { return rel == dir || strings.HasPrefix(rel, dir+"/") }

// backendsName returns X for backends/X/..., or "".
func backendsName(rel string) string {
	r, ok := strings.CutPrefix(rel, "backends/")
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(r, "/")
	return name
}

var depRules = []depRule{
	{
		what:    "backend imports only the standard library",
		applies: func(p *listedPackage, rel string) bool { return rel == "backend" },
		allowed: func(_ string, dep *listedPackage, _ string) bool { return dep.Standard },
	},
	{
		what: "conformance and pkcs8 import only the standard library, backend and internal/* (and filippo.io/mldsa, the ML-DSA keys they encode and verify, which is crypto/mldsa from Go 1.27)",
		applies: func(p *listedPackage, rel string) bool {
			return under(rel, "conformance") || under(rel, "pkcs8")
		},
		allowed: func(rel string, dep *listedPackage, depRel string) bool {
			if dep.ImportPath == "filippo.io/mldsa" || dep.ImportPath == "filippo.io/mldsa/mldsacrypto" || strings.HasPrefix(dep.ImportPath, "filippo.io/mldsa/internal/") {
				return true
			}
			return dep.Standard || depRel == "backend" || under(depRel, "internal")
		},
	},
	{
		what:    "keywrap imports only the standard library, backend, internal/* and Tink's KWP",
		applies: func(p *listedPackage, rel string) bool { return under(rel, "keywrap") },
		allowed: func(_ string, dep *listedPackage, depRel string) bool {
			return dep.Standard || depRel == "backend" || under(depRel, "internal") ||
				strings.HasPrefix(dep.ImportPath, "github.com/tink-crypto/tink-go/v2/kwp/")
		},
	},
	{
		what:    "hpke imports only the standard library and backend",
		applies: func(p *listedPackage, rel string) bool { return under(rel, "hpke") },
		allowed: func(_ string, dep *listedPackage, depRel string) bool { return dep.Standard || depRel == "backend" },
	},
	{
		what: "backends/* never import another backend",
		applies: func(p *listedPackage, rel string) bool {
			return backendsName(rel) != ""
		},
		allowed: func(rel string, dep *listedPackage, depRel string) bool {
			other := backendsName(depRel)
			return other == "" || other == backendsName(rel)
		},
	},
	{
		what:    "backends/* never import plugins",
		applies: func(p *listedPackage, rel string) bool { return backendsName(rel) != "" },
		allowed: func(_ string, _ *listedPackage, depRel string) bool { return !under(depRel, "plugins") },
	},
	{
		// The plugin executables (package main, e.g. plugins/cmd/...) link
		// the concrete backends; the library does not.
		what: "plugins never import backends/* (except the plugin executables)",
		applies: func(p *listedPackage, rel string) bool {
			return under(rel, "plugins") && p.Name != "main"
		},
		allowed: func(_ string, _ *listedPackage, depRel string) bool { return backendsName(depRel) == "" },
	},
	{
		// Integrations sit on the contract: any backend, none linked in.
		what: "sshagent, jose, tlskey, envelope and tinkkms import only the standard library, backend, internal/* and third-party packages",
		applies: func(p *listedPackage, rel string) bool {
			return under(rel, "sshagent") || under(rel, "jose") || under(rel, "tlskey") || under(rel, "envelope") || under(rel, "tinkkms")
		},
		allowed: func(_ string, dep *listedPackage, depRel string) bool {
			return dep.Standard || depRel == "\x00" || depRel == "backend" || under(depRel, "internal")
		},
	},
	{
		what:    "observe imports only the standard library, backend and OpenTelemetry (with its own dependencies)",
		applies: func(p *listedPackage, rel string) bool { return under(rel, "observe") },
		allowed: func(_ string, dep *listedPackage, depRel string) bool {
			return dep.Standard || depRel == "backend" || under(depRel, "observe") || openTelemetry(dep.ImportPath)
		},
	},
	{
		// A program that does not import backends/awskms does not link
		// the AWS SDK (DESIGN.md, "Backends").
		what: "only backends/awskms and the executables link the AWS SDK",
		applies: func(p *listedPackage, rel string) bool {
			return p.Name != "main" && (rel == "backend" || under(rel, "conformance") || under(rel, "plugins") ||
				under(rel, "observe") || under(rel, "sshagent") || under(rel, "jose") || under(rel, "tlskey") ||
				under(rel, "envelope") || under(rel, "tinkkms") ||
				backendsName(rel) == "software" || backendsName(rel) == "pkcs11")
		},
		allowed: func(_ string, dep *listedPackage, _ string) bool {
			return !strings.HasPrefix(dep.ImportPath, "github.com/aws/")
		},
	},
	{
		// testenv imports testing and runs tools: test code, and the
		// internal test helpers built on it, only.
		what:    "only tests and internal test helpers import internal/testenv",
		applies: func(p *listedPackage, rel string) bool { return !under(rel, "internal") },
		allowed: func(_ string, _ *listedPackage, depRel string) bool { return depRel != "internal/testenv" },
	},
}

// openTelemetry reports whether path is OpenTelemetry or one of the
// modules its API and SDK import.
func openTelemetry(path string) bool {
	for _, prefix := range []string{"go.opentelemetry.io/", "github.com/go-logr/", "github.com/cespare/xxhash/"} {
		if strings.HasPrefix(path, prefix) {
			return true
		}
	}
	return false
}

// buildConfigs are the configurations whose file sets are checked: cgo on
// and off (the PKCS#11 backend has a stub without cgo), cgo on with the
// nopkcs11 tag (the same stub), and other systems.
var buildConfigs = [][]string{
	{"GOOS=linux", "CGO_ENABLED=1"},
	{"GOOS=linux", "CGO_ENABLED=1", "GOFLAGS=-tags=nopkcs11"},
	{"GOOS=linux", "CGO_ENABLED=0"},
	{"GOOS=darwin", "CGO_ENABLED=0"},
	{"GOOS=windows", "CGO_ENABLED=0"},
}

// goList runs `go list -e -deps -json ./...` at the module root.
func goList(t *testing.T, env []string) map[string]*listedPackage {
	t.Helper()
	goTool := testenv.Command(t, "go", "golang-go")
	cmd := exec.Command(goTool, "list", "-e", "-deps", "-json=ImportPath,Name,Standard,Imports,Error", "./...")
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v\n%s", strings.Join(env, " "), err, stderr.Bytes())
	}
	pkgs := map[string]*listedPackage{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		p := new(listedPackage)
		if err := dec.Decode(p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs[p.ImportPath] = p
	}
	return pkgs
}

// importChain returns the shortest chain of imports from "from" to "to".
func importChain(pkgs map[string]*listedPackage, from, to string) []string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if cur == to {
			var chain []string
			for p := cur; p != ""; p = prev[p] {
				chain = append(chain, p)
			}
			slices.Reverse(chain)
			return chain
		}
		if p := pkgs[cur]; p != nil {
			for _, imp := range p.Imports {
				if _, seen := prev[imp]; !seen {
					prev[imp] = cur
					queue = append(queue, imp)
				}
			}
		}
	}
	return []string{from, "…", to}
}

// deps returns every package path that p depends on, directly or not.
func deps(pkgs map[string]*listedPackage, from string) []string {
	seen := map[string]bool{from: true}
	queue := []string{from}
	var out []string
	for len(queue) > 0 {
		p := pkgs[queue[0]]
		queue = queue[1:]
		if p == nil {
			continue
		}
		for _, imp := range p.Imports {
			if !seen[imp] {
				seen[imp] = true
				out = append(out, imp)
				queue = append(queue, imp)
			}
		}
	}
	slices.Sort(out)
	return out
}

// TestDependencyDirection holds the layering of DESIGN.md's "Dependency
// direction": it lists every package of the module with its dependencies
// (for several build configurations) and fails naming each forbidden
// import and the chain that brings it in. Rules about packages that do not
// exist yet hold trivially.
func TestDependencyDirection(t *testing.T) {
	violations := map[string]bool{}
	governed := make([]int, len(depRules))
	for _, env := range buildConfigs {
		pkgs := goList(t, env)
		var paths []string
		for path := range pkgs {
			paths = append(paths, path)
		}
		slices.Sort(paths)
		for _, path := range paths {
			p := pkgs[path]
			r, ok := rel(path)
			if !ok || p.Standard {
				continue
			}
			if p.Error != nil {
				t.Logf("%s (%s): go list reports: %s", path, strings.Join(env, " "), p.Error.Err)
			}
			for i, rule := range depRules {
				if !rule.applies(p, r) {
					continue
				}
				governed[i]++
				for _, d := range deps(pkgs, path) {
					dp := pkgs[d]
					if dp == nil {
						dp = &listedPackage{ImportPath: d}
					}
					if d == "C" {
						// cgo's pseudo-package (the standard library's net
						// imports it): part of the toolchain, not a dependency.
						dp = &listedPackage{ImportPath: d, Standard: true}
					}
					dr, _ := rel(d)
					if _, inModule := rel(d); !inModule {
						dr = "\x00" // outside the module: matches no module path
					}
					if rule.allowed(r, dp, dr) {
						continue
					}
					msg := fmt.Sprintf("%s imports %s (%s), breaking the rule %q",
						path, d, strings.Join(importChain(pkgs, path, d), " → "), rule.what)
					if !violations[msg] {
						violations[msg] = true
						t.Errorf("%s [%s]", msg, strings.Join(env, " "))
					}
				}
			}
		}
	}
	for i, n := range governed {
		if n == 0 {
			t.Logf("rule %q governs no package yet", depRules[i].what)
		}
	}
}

// TestDependencyRules checks the rules themselves on made-up packages, so
// that a rule that can never fire is noticed.
func TestDependencyRules(t *testing.T) {
	std := &listedPackage{ImportPath: "crypto/rsa", Standard: true}
	mod := func(r string) *listedPackage { return &listedPackage{ImportPath: module + "/" + r} }
	third := &listedPackage{ImportPath: "github.com/miekg/pkcs11"}
	aws := &listedPackage{ImportPath: "github.com/aws/aws-sdk-go-v2/service/kms"}
	for _, c := range []struct {
		pkg, dep string
		depPkg   *listedPackage
		name     string
		want     bool // allowed
	}{
		{"backend", "crypto/rsa", std, "", true},
		{"backend", "internal/testenv", mod("internal/testenv"), "", false},
		{"backend", "\x00", third, "", false},
		{"conformance", "backend", mod("backend"), "", true},
		{"conformance", "internal/oaep", mod("internal/oaep"), "", true},
		{"conformance", "backends/software", mod("backends/software"), "", false},
		{"conformance", "\x00", third, "", false},
		{"pkcs8", "backend", mod("backend"), "", true},
		{"pkcs8", "fernet", mod("fernet"), "", false},
		{"pkcs8", "\x00", &listedPackage{ImportPath: "filippo.io/mldsa"}, "", true},
		{"pkcs8", "\x00", third, "", false},
		{"conformance", "\x00", &listedPackage{ImportPath: "filippo.io/mldsa"}, "", true},
		{"conformance", "\x00", &listedPackage{ImportPath: "filippo.io/mldsa/x509"}, "", false},
		{"hpke", "backend", mod("backend"), "", true},
		{"hpke", "backends/software", mod("backends/software"), "", false},
		{"backends/pkcs11", "backends/software", mod("backends/software"), "", false},
		{"backends/pkcs11/internal/x", "backends/pkcs11", mod("backends/pkcs11"), "", true},
		{"backends/pkcs11", "\x00", third, "", true},
		{"backends/software", "plugins", mod("plugins"), "", false},
		{"backends/software", "pkcs8", mod("pkcs8"), "", true},
		{"plugins", "backends/pkcs11", mod("backends/pkcs11"), "", false},
		{"plugins/proto/x", "backends/software", mod("backends/software"), "", false},
		{"plugins/cmd/keyplane-plugin", "backends/software", mod("backends/software"), "main", true},
		{"plugins", "backend", mod("backend"), "", true},
		{"cmd/keyplane", "internal/testenv", mod("internal/testenv"), "main", false},
		{"backends/pkcs11", "internal/testenv", mod("internal/testenv"), "", false},
		{"internal/wycheproof", "internal/testenv", mod("internal/testenv"), "", true},
		{"observe", "backend", mod("backend"), "", true},
		{"observe", "go.opentelemetry.io/otel/metric", &listedPackage{ImportPath: "go.opentelemetry.io/otel/metric"}, "", true},
		{"observe", "backends/pkcs11", mod("backends/pkcs11"), "", false},
		{"observe", "plugins", mod("plugins"), "", false},
		{"observe", "\x00", third, "", false},
		{"backends/software", "\x00", aws, "", false},
		{"backends/pkcs11", "\x00", aws, "", false},
		{"plugins", "\x00", aws, "", false},
		{"conformance", "\x00", aws, "", false},
		{"backends/awskms", "\x00", aws, "", true},
		{"plugins/cmd/keyplane-plugin", "\x00", aws, "main", true},
		{"cmd/keyplane", "\x00", aws, "main", true},
		{"observe", "\x00", aws, "", false},
		{"jose", "\x00", aws, "", false},
		{"envelope", "\x00", aws, "", false},
		{"envelope", "backends/software", mod("backends/software"), "", false},
		{"envelope", "\x00", third, "", true},
	} {
		p := &listedPackage{ImportPath: module + "/" + c.pkg, Name: c.name}
		allowed := true
		for _, rule := range depRules {
			if rule.applies(p, c.pkg) && !rule.allowed(c.pkg, c.depPkg, c.dep) {
				allowed = false
			}
		}
		if allowed != c.want {
			t.Errorf("%s → %s: allowed %v, want %v", c.pkg, c.depPkg.ImportPath, allowed, c.want)
		}
	}
}

// TestOpenTelemetryOnlyThroughObserve checks that a program that does not
// import observe links no OpenTelemetry: no package of the module outside
// observe depends on go.opentelemetry.io/... except through observe (the
// CLI does, for --audit-log and bench --otel).
func TestOpenTelemetryOnlyThroughObserve(t *testing.T) {
	pkgs := goList(t, buildConfigs[0])
	observe := module + "/observe"
	checked := 0
	for path, p := range pkgs {
		r, ok := rel(path)
		if !ok || p.Standard || under(r, "observe") {
			continue
		}
		checked++
		ds := deps(pkgs, path)
		if slices.Contains(ds, observe) {
			continue
		}
		for _, d := range ds {
			if strings.HasPrefix(d, "go.opentelemetry.io/") {
				t.Errorf("%s links %s without importing observe (%s)", path, d, strings.Join(importChain(pkgs, path, d), " → "))
				break
			}
		}
	}
	if checked == 0 {
		t.Fatal("go list listed no package of the module")
	}
	if _, ok := pkgs[observe]; !ok {
		t.Fatalf("go list did not list %s", observe)
	}
}
