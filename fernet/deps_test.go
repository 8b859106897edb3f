package fernet

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps package fernet on the standard library, package
// backend and internal/pkcs7 (standard library only), so that it works
// over any backend without pulling one in.
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v: %s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		switch p {
		case "github.com/keyplane/keyplane/fernet", "github.com/keyplane/keyplane/backend", "github.com/keyplane/keyplane/internal/pkcs7":
		default:
			t.Errorf("fernet depends on %s; only the standard library, package backend and internal/pkcs7 are allowed", p)
		}
	}
}
