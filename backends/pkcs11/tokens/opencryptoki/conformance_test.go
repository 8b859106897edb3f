//go:build cgo && !nopkcs11

package opencryptoki_test

import (
	"testing"

	"github.com/keyplane/keyplane/backend"
	_ "github.com/keyplane/keyplane/backends/pkcs11"
	"github.com/keyplane/keyplane/conformance"
)

// TestConformance runs the shared suite on the opencryptoki soft token,
// through the registry, reopening to check that keys persist.
func TestConformance(t *testing.T) {
	uri := tokenURI(t)
	conformance.Run(t, func(t *testing.T) backend.Backend {
		b, err := backend.Open(t.Context(), uri)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}, conformance.Config{Reopen: true, Short: testing.Short()})
}
