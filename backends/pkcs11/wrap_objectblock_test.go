//go:build cgo && !nopkcs11

package pkcs11

import (
	"strings"
	"testing"
)

// TestObjectBlockOrder: objectBlock finds an object by its own label when
// another kind's object with that label comes between two objects of the
// kind asked for (pkcs11-tool lists objects in the token's order, which
// varies: TestWrapBetweenTokens once read the transport key's block for
// moved-ec-p256).
func TestObjectBlockOrder(t *testing.T) {
	out := `Private Key Object; RSA
  label:      transport
  Access:     sensitive, always sensitive, never extractable, local
Public Key Object; EC  EC_POINT 256 bits
  label:      moved-ec-p256
  Access:     none
Private Key Object; EC
  label:      moved-ec-p256
  Access:     sensitive, extractable
`
	b := objectBlock(out, "Private Key Object", "moved-ec-p256")
	if !strings.Contains(b, "; EC") || strings.Contains(b, "transport") || !strings.Contains(b, "sensitive, extractable") {
		t.Errorf("objectBlock(moved-ec-p256) = %q", b)
	}
}
