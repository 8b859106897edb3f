//go:build cgo && !nopkcs11

package pkcs11

import "testing"

// Exported for the external test package of the same test binary.
var SharedTokenURIForTest = SharedTokenURI

// SharedTokenSOPINForTest is the SO PIN of the shared token.
func SharedTokenSOPINForTest(t testing.TB) string { return token(t).SOPIN }
