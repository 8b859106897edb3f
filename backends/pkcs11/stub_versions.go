//go:build !cgo || nopkcs11

package pkcs11

import (
	"context"

	"github.com/keyplane/keyplane/backend"
)

// Rotate fails with ErrNoCgo.
func (b *Backend) Rotate(ctx context.Context, ref string) (*backend.Key, error) { return nil, ErrNoCgo }

// Versions fails with ErrNoCgo.
func (b *Backend) Versions(ctx context.Context, ref string) ([]*backend.Key, error) {
	return nil, ErrNoCgo
}

// SetMinVersion fails with ErrNoCgo.
func (b *Backend) SetMinVersion(ctx context.Context, ref string, min int) error { return ErrNoCgo }

// DeleteVersion fails with ErrNoCgo.
func (b *Backend) DeleteVersion(ctx context.Context, ref string, version int) error { return ErrNoCgo }
