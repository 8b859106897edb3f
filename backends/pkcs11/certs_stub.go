//go:build !cgo || nopkcs11

package pkcs11

import (
	"context"
	"crypto/x509"
)

// StoreCertificates fails with ErrNoCgo.
func (b *Backend) StoreCertificates(ctx context.Context, ref string, chain []*x509.Certificate) error {
	return ErrNoCgo
}

// Certificates fails with ErrNoCgo.
func (b *Backend) Certificates(ctx context.Context, ref string) ([]*x509.Certificate, error) {
	return nil, ErrNoCgo
}

// DeleteCertificates fails with ErrNoCgo.
func (b *Backend) DeleteCertificates(ctx context.Context, ref string) error {
	return ErrNoCgo
}
