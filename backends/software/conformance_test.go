package software_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/keyplane/keyplane/backend"
	_ "github.com/keyplane/keyplane/backends/software"
	"github.com/keyplane/keyplane/conformance"
)

// openURI returns a conformance opener for uri.
func openURI(uri string) func(t *testing.T) backend.Backend {
	return func(t *testing.T) backend.Backend {
		t.Helper()
		b, err := backend.Open(t.Context(), uri)
		if err != nil {
			t.Fatalf("backend.Open(%q): %v", backend.Redact(uri), err)
		}
		return b
	}
}

func TestConformanceMemory(t *testing.T) {
	conformance.Run(t, openURI("software:memory"), conformance.Config{Short: testing.Short()})
}

// TestConformanceKeystore runs the suite on a keystore directory without a
// passphrase (plain PKCS#8), closing and reopening it in the middle.
func TestConformanceKeystore(t *testing.T) {
	t.Setenv("KEYPLANE_PASSPHRASE", "")
	dir := filepath.Join(t.TempDir(), "keys")
	conformance.Run(t, openURI("software:"+dir), conformance.Config{Reopen: true, Short: testing.Short()})
}

// TestConformanceKeystorePassphrase runs the suite on a keystore directory
// whose keys are encrypted with a passphrase read from a 0600 file.
func TestConformanceKeystorePassphrase(t *testing.T) {
	t.Setenv("KEYPLANE_PASSPHRASE", "")
	tmp := t.TempDir()
	pass := filepath.Join(tmp, "passphrase")
	if err := os.WriteFile(pass, []byte("correct horse battery staple\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(tmp, "keys")
	conformance.Run(t, openURI("software:"+dir+"?passphrase-source=file:"+pass), conformance.Config{Reopen: true, Short: testing.Short()})
}
