//go:build !cgo || nopkcs11

package pkcs11

import (
	"context"
	"crypto"
	"fmt"

	"github.com/keyplane/keyplane/backend"
)

// This file is the package in a build without PKCS#11 support (no cgo, or
// the nopkcs11 build tag): the same exported API as the real one
// (api_surface_test.go compares them), with every call that needs a module
// failing with ErrNoCgo. URI parsing, module discovery on disk and the
// error types work as in the real build.

func init() {
	backend.Register("pkcs11", func(ctx context.Context, uri string) (backend.Backend, error) {
		b, err := Open(ctx, uri)
		if err != nil {
			return nil, err // not a typed nil
		}
		return b, nil
	})
}

// Open parses the URI, so a malformed one says so, and then fails with
// ErrNoCgo: this build cannot load a PKCS#11 module.
func Open(ctx context.Context, uri string) (*Backend, error) {
	if _, err := ParseURI(uri); err != nil {
		return nil, err
	}
	return nil, ErrNoCgo
}

// OpenConfig fails with ErrNoCgo: this build cannot load a PKCS#11
// module. It never calls c.PIN.
func OpenConfig(ctx context.Context, c *Config) (*Backend, error) {
	if c == nil {
		return nil, fmt.Errorf("pkcs11: nil Config: %w", backend.ErrInvalidInput)
	}
	return nil, ErrNoCgo
}

// Backend is a PKCS#11 token; in this build none can be opened, and every
// method of a zero Backend fails with ErrNoCgo.
type Backend struct{}

// Stats returns zero counters: there is no session pool.
func (b *Backend) Stats() PoolStats { return PoolStats{} }

// SessionPoolStats returns zero counters: there is no session pool.
func (b *Backend) SessionPoolStats() backend.SessionPoolStats { return backend.SessionPoolStats{} }

// URI returns nil: no token is open.
func (b *Backend) URI() *URI { return nil }

// Close does nothing.
func (b *Backend) Close() error { return nil }

func (b *Backend) String() string { return "pkcs11 backend (built without PKCS#11 support)" }

func (b *Backend) GoString() string { return "pkcs11.Backend{built without PKCS#11 support}" }

// Capabilities fails with ErrNoCgo.
func (b *Backend) Capabilities(ctx context.Context) (*backend.Capabilities, error) {
	return nil, ErrNoCgo
}

// Decrypter fails with ErrNoCgo.
func (b *Backend) Decrypter(ctx context.Context, ref string) (crypto.Decrypter, error) {
	return nil, ErrNoCgo
}

// ImportKey fails with ErrNoCgo.
func (b *Backend) ImportKey(ctx context.Context, label string, key any) (*backend.Key, error) {
	return nil, ErrNoCgo
}

// GenerateKey fails with ErrNoCgo.
func (b *Backend) GenerateKey(ctx context.Context, spec backend.KeySpec) (*backend.Key, error) {
	return nil, ErrNoCgo
}

// Key fails with ErrNoCgo.
func (b *Backend) Key(ctx context.Context, ref string) (*backend.Key, error) {
	return nil, ErrNoCgo
}

// Keys fails with ErrNoCgo.
func (b *Backend) Keys(ctx context.Context) ([]*backend.Key, error) { return nil, ErrNoCgo }

// DeleteKey fails with ErrNoCgo.
func (b *Backend) DeleteKey(ctx context.Context, ref string) error { return ErrNoCgo }

// Signer fails with ErrNoCgo.
func (b *Backend) Signer(ctx context.Context, ref string) (crypto.Signer, error) {
	return nil, ErrNoCgo
}

// AEAD fails with ErrNoCgo.
func (b *Backend) AEAD(ctx context.Context, ref string) (backend.AEAD, error) {
	return nil, ErrNoCgo
}

// Fernet fails with ErrNoCgo.
func (b *Backend) Fernet(ctx context.Context, ref string) (backend.FernetKey, error) {
	return nil, ErrNoCgo
}

// Health fails with ErrNoCgo.
func (b *Backend) Health(ctx context.Context) error { return ErrNoCgo }

// SessionPool holds a Backend's PKCS#11 sessions; this build has none.
type SessionPool struct{}

// Stats returns zero counters.
func (p *SessionPool) Stats() PoolStats { return PoolStats{} }

// CodeName returns a CKR_ code in hex ("CKR_0xA0"): this build has no table
// of PKCS#11 return-value names, and no PKCS#11 call can produce one.
func CodeName(code uint) string { return fmt.Sprintf("CKR_0x%X", code) }

// Sentinel returns ErrNoCgo for every code: this build has no table of
// PKCS#11 return values, and no PKCS#11 call can produce one.
func Sentinel(code uint) error { return ErrNoCgo }

// Discover fails in a build without PKCS#11 support: no module can be
// loaded.
func Discover(ctx context.Context, path string, opts DiscoverOptions) (*ModuleInfo, error) {
	shown := opts.InitArgs
	if shown != "" && opts.InitArgsSecret {
		shown = RedactedInitArgs
	}
	return &ModuleInfo{Path: path, InitArgs: shown, Slots: []SlotInfo{}}, ErrNoCgo
}
