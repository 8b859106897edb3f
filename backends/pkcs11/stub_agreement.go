//go:build !cgo || nopkcs11

package pkcs11

import (
	"context"
	"crypto/ecdh"
)

// KeyExchanger fails with ErrNoCgo.
func (b *Backend) KeyExchanger(ctx context.Context, ref string) (ecdh.KeyExchanger, error) {
	return nil, ErrNoCgo
}
