//go:build cgo && !nopkcs11

package pkcs11

import (
	"context"
	"strconv"
	"unsafe"

	"github.com/keyplane/keyplane/backend"
	"github.com/miekg/pkcs11"
)

// readPIN calls the PIN callback (Config.PIN, or the one made from
// pin-value or pin-source), bounded by the call timeout: it runs on the
// worker of the operation that needs the login (deadline.go), which
// cannot wait longer anyway. label names the token in errors (the caller
// may hold b.mu). The caller zeroes the result.
func (b *Backend) readPIN(label string) ([]byte, error) {
	ctx, cancel := context.Background(), context.CancelFunc(func() {})
	if b.callTimeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, b.callTimeout)
	}
	defer cancel()
	return backend.ReadSecret(ctx, "pkcs11: token "+strconv.Quote(label)+": PIN", b.pin)
}

// loginWith is C_Login as userType with pin, which it zeroes when the
// call returns. miekg/pkcs11 takes the PIN as a string: it gets one that
// shares pin's bytes (no copy on the Go heap that could not be zeroed);
// miekg copies it into C memory for the call and frees that copy without
// zeroing it (docs/backends/pkcs11.md, # Security).
func (b *Backend) loginWith(h pkcs11.SessionHandle, userType uint, pin []byte) error {
	defer clear(pin)
	return b.p.Login(h, userType, unsafe.String(unsafe.SliceData(pin), len(pin)))
}
