//go:build cgo && !nopkcs11

package pkcs11_test

import (
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/backends/pkcs11"
	"github.com/keyplane/keyplane/conformance"
)

// TestConformance runs the shared suite against the SoftHSM2 token that
// TestMain (in package pkcs11's tests, same binary) set up, through the
// registry, reopening to check that keys persist.
func TestConformance(t *testing.T) {
	uri := pkcs11.SharedTokenURIForTest(t)
	conformance.Run(t, func(t *testing.T) backend.Backend {
		b, err := backend.Open(t.Context(), uri)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}, conformance.Config{Reopen: true, Short: testing.Short()})
}
