//go:build cgo && !nopkcs11

package pkcs11

import (
	"errors"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/internal/testenv"
)

// TestModuleInitArgsMismatch: a module is initialized once per process,
// so a URI asking for a loaded module with other init args is refused,
// not silently given the first configuration; the error does not show
// the value.
func TestModuleInitArgsMismatch(t *testing.T) {
	openTest(t, "") // the shared SoftHSM2 module, loaded without init args
	_, err := Open(t.Context(), testURI(t, "module-init-args=password%3Dhunter2"))
	if !errors.Is(err, backend.ErrInvalidInput) || !strings.Contains(err.Error(), "module-init-args") {
		t.Fatalf("Open with other init args: %v, want ErrInvalidInput naming module-init-args", err)
	}
	if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "password") {
		t.Errorf("the error shows the init args: %v", err)
	}
}

// TestReinitKeepsInitArgs: a re-initialization (C_Finalize, C_Initialize
// after the token was lost) gives the module its init args again. NSS
// softokn refuses C_Initialize without them (CKR_ARGUMENTS_BAD), so a
// re-initialization that forgot them would leave the backend dead. NSS
// is loaded into this test binary beside SoftHSM2 for this one test: it
// needs the package's internals (tokens/nss runs the suite on NSS in a
// process of its own).
func TestReinitKeepsInitArgs(t *testing.T) {
	in := testenv.StartToken(t, "nss")
	pin, err := in.WritePINFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(t.Context(), in.URI(pin))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	label := uniqueLabel(t, "reinit")
	if _, err := b.GenerateKey(t.Context(), backend.KeySpec{Label: label, Algorithm: backend.ECP256}); err != nil {
		t.Fatal(err)
	}
	gen := b.mod.generation()
	ok, err := b.mod.reinit(b.p, gen)
	if err != nil || !ok {
		t.Fatalf("reinit = %v, %v; want a new generation", ok, err)
	}
	// The backend recovers onto the re-initialized module and finds the
	// key in the database again.
	if _, err := b.Key(t.Context(), label); err != nil {
		t.Fatalf("Key after re-initialization: %v", err)
	}
	if err := b.DeleteKey(t.Context(), label); err != nil {
		t.Fatal(err)
	}
}
