//go:build cgo && !nopkcs11

package pkcs11_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/backends/pkcs11"
	"github.com/keyplane/keyplane/conformance"
	"github.com/keyplane/keyplane/internal/trustedkey"
)

func init() { trustedkey.RunHelper() } // the helper process of MakeInHelper

// TestConformance runs the shared suite against the SoftHSM2 token that
// TestMain (in package pkcs11's tests, same binary) set up, through the
// registry, reopening to check that keys persist; with a trusted wrapping
// key the SO makes first (the wrap/round-trip checks).
func TestConformance(t *testing.T) {
	uri := pkcs11.SharedTokenURIForTest(t)
	// In a helper process: earlier tests of this one may have left the
	// user logged in to the shared token, and the SO cannot log in then.
	label := "conformance-kek-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	wrapping, unwrapping := trustedkey.MakeInHelper(t, uri, pkcs11.SharedTokenSOPINForTest(t), label)
	conformance.Run(t, func(t *testing.T) backend.Backend {
		b, err := backend.Open(t.Context(), uri)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}, conformance.Config{Reopen: true, Short: testing.Short(), TrustedWrappingKey: wrapping, UnwrappingKey: unwrapping})
}
