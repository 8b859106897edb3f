//go:build !cgo || nopkcs11

package pkcs11

import (
	"context"

	"github.com/keyplane/keyplane/backend"
)

// WrapKey fails with ErrNoCgo.
func (b *Backend) WrapKey(ctx context.Context, ref, wrappingRef string, mech backend.WrapMechanism) (*backend.WrappedKey, error) {
	return nil, ErrNoCgo
}

// UnwrapKey fails with ErrNoCgo.
func (b *Backend) UnwrapKey(ctx context.Context, w *backend.WrappedKey, unwrappingRef, label string) (*backend.Key, error) {
	return nil, ErrNoCgo
}

// CreateTrustedWrappingKey fails with ErrNoCgo.
func CreateTrustedWrappingKey(ctx context.Context, uri string, soPIN backend.SecretFunc, label string, key any) (*backend.Key, error) {
	return nil, ErrNoCgo
}

// ImportUnwrappingKey fails with ErrNoCgo.
func (b *Backend) ImportUnwrappingKey(ctx context.Context, label string, key backend.SecretKey) (*backend.Key, error) {
	return nil, ErrNoCgo
}

// GenerateUnwrappingKey fails with ErrNoCgo.
func (b *Backend) GenerateUnwrappingKey(ctx context.Context, label string, alg backend.Algorithm) (*backend.Key, error) {
	return nil, ErrNoCgo
}
