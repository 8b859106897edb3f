package pkcs11

import (
	"fmt"

	"github.com/keyplane/keyplane/backend"
)

// ErrNoCgo is what every call that needs a PKCS#11 module returns in a
// build without PKCS#11 support: one without cgo (CGO_ENABLED=0), or one
// with the nopkcs11 build tag. It wraps backend.ErrUnsupported. A build
// with PKCS#11 support never returns it; it is defined there too, so code
// that checks for it compiles in both.
var ErrNoCgo = fmt.Errorf("keyplane was built without PKCS#11 support (cgo disabled or the nopkcs11 build tag): %w", backend.ErrUnsupported)
