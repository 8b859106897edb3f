//go:build cgo

package nss_test

import (
	"testing"

	"github.com/keyplane/keyplane/backend"
	_ "github.com/keyplane/keyplane/backends/pkcs11"
	"github.com/keyplane/keyplane/conformance"
	"github.com/keyplane/keyplane/internal/testenv"
)

// TestConformance runs the shared suite on a fresh NSS database, opened
// by module-path and module-init-args alone (no p11-kit configuration),
// reopening to check that keys persist.
func TestConformance(t *testing.T) {
	in := testenv.StartToken(t, "nss")
	pin, err := in.WritePINFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	uri := in.URI(pin)
	conformance.Run(t, func(t *testing.T) backend.Backend {
		b, err := backend.Open(t.Context(), uri)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}, conformance.Config{Reopen: true, Short: testing.Short()})
}
