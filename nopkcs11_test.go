package keyplane_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/internal/testenv"
)

// TestBuildsWithoutPKCS11 builds the whole module the two ways that leave
// PKCS#11 out (no cgo; cgo with the nopkcs11 tag), vets the PKCS#11
// package's stub, and checks that the nopkcs11 build does not link
// miekg/pkcs11 (whose cgo half loads modules) at all. That the stub has the
// real package's exported API is checked by backends/pkcs11's
// TestStubHasTheSameAPI.
func TestBuildsWithoutPKCS11(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the module twice; skipped with -short")
	}
	goTool := testenv.Command(t, "go", "golang-go")
	run := func(env []string, args ...string) string {
		t.Helper()
		cmd := exec.Command(goTool, args...)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("%s go %s: %v\n%s", strings.Join(env, " "), strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	noCgo := []string{"CGO_ENABLED=0"}
	cgo := []string{"CGO_ENABLED=1"}
	run(noCgo, "build", "./...")
	run(noCgo, "vet", "./backends/pkcs11")
	run(cgo, "build", "-tags", "nopkcs11", "./...")
	run(cgo, "vet", "-tags", "nopkcs11", "./backends/pkcs11")

	deps := run(cgo, "list", "-tags", "nopkcs11", "-deps", "./backends/pkcs11")
	for _, p := range strings.Fields(deps) {
		if p == "github.com/miekg/pkcs11" {
			t.Errorf("a nopkcs11 build of backends/pkcs11 imports %s", p)
		}
	}
	if deps := run(cgo, "list", "-deps", "./backends/pkcs11"); !strings.Contains(deps, "github.com/miekg/pkcs11\n") {
		t.Errorf("a cgo build of backends/pkcs11 does not import github.com/miekg/pkcs11; the check above proves nothing:\n%s", deps)
	}
}
