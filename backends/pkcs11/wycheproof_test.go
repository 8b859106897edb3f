//go:build cgo && !nopkcs11

package pkcs11

import (
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/internal/wycheproof"
)

// TestWycheproof runs every Wycheproof runner with the vectors' keys
// imported into SoftHSM2 (issue 6 §2). OAEP with SHA-2 or a label goes
// through the host-side fallback over CKM_RSA_X_509, since SoftHSM2 2.6.1
// refuses those parameters; SHA-1 OAEP without a label runs natively.
func TestWycheproof(t *testing.T) {
	wycheproof.RunAll(t, "SoftHSM2", func(t *testing.T) backend.Backend {
		return openTest(t, "")
	})
}

// TestWycheproofOAEPNoFallback: with the fallback off, the parameters the
// token refuses are ErrUnsupported for every vector of that kind (never a
// per-ciphertext answer), and the natively supported SHA-1 vectors still
// pass.
func TestWycheproofOAEPNoFallback(t *testing.T) {
	stats := wycheproof.RunRSAOAEPDecrypt(t, openTest(t, "oaep-fallback=off"))
	var native, refused int
	for _, s := range stats {
		native += s.Passed
		refused += s.Skipped
	}
	t.Logf("oaep-fallback=off: %d vectors passed natively, %d refused as unsupported", native, refused)
	if native == 0 || refused == 0 {
		t.Errorf("want some vectors native (SHA-1, no label) and some refused; got %d and %d", native, refused)
	}
}
