//go:build cgo && !nopkcs11

package pkcs11

import "strconv"

// String describes the backend by its URI, without the PIN, so that a
// Backend printed with fmt's %v or given to log/slog as an attribute never
// shows the PIN it holds.
func (b *Backend) String() string { return "pkcs11 backend " + b.URI().String() }

// GoString is what fmt's %#v prints: String's description, without the PIN.
func (b *Backend) GoString() string {
	return "&pkcs11.Backend{" + strconv.Quote(b.URI().String()) + "}"
}
