package observe_test

import (
	"context"
	"crypto/x509"
	"fmt"

	"github.com/keyplane/keyplane/backend"
)

// The tap passes the extension interfaces through to the backend inside
// (ErrUnsupported where it lacks one), as the wrapper itself does. The
// certificates it passes are public; it keeps their bytes anyway, so a
// record quoting one would be found.

func tapUnsupported(what string) error {
	return fmt.Errorf("tap: the backend has no %s: %w", what, backend.ErrUnsupported)
}

func (t *tap) StoreCertificates(ctx context.Context, ref string, chain []*x509.Certificate) error {
	cs, ok := t.Backend.(backend.CertificateStore)
	if !ok {
		return tapUnsupported("certificate store")
	}
	for _, c := range chain {
		if c != nil {
			t.keep(c.Raw)
		}
	}
	return cs.StoreCertificates(ctx, ref, chain)
}

func (t *tap) Certificates(ctx context.Context, ref string) ([]*x509.Certificate, error) {
	cs, ok := t.Backend.(backend.CertificateStore)
	if !ok {
		return nil, tapUnsupported("certificate store")
	}
	return cs.Certificates(ctx, ref)
}

func (t *tap) DeleteCertificates(ctx context.Context, ref string) error {
	cs, ok := t.Backend.(backend.CertificateStore)
	if !ok {
		return tapUnsupported("certificate store")
	}
	return cs.DeleteCertificates(ctx, ref)
}

func (t *tap) keyVersions() (backend.KeyVersions, error) {
	kv, ok := t.Backend.(backend.KeyVersions)
	if !ok {
		return nil, tapUnsupported("key versions")
	}
	return kv, nil
}

func (t *tap) Rotate(ctx context.Context, ref string) (*backend.Key, error) {
	kv, err := t.keyVersions()
	if err != nil {
		return nil, err
	}
	return kv.Rotate(ctx, ref)
}

func (t *tap) Versions(ctx context.Context, ref string) ([]*backend.Key, error) {
	kv, err := t.keyVersions()
	if err != nil {
		return nil, err
	}
	return kv.Versions(ctx, ref)
}

func (t *tap) SetMinVersion(ctx context.Context, ref string, min int) error {
	kv, err := t.keyVersions()
	if err != nil {
		return err
	}
	return kv.SetMinVersion(ctx, ref, min)
}

func (t *tap) DeleteVersion(ctx context.Context, ref string, version int) error {
	kv, err := t.keyVersions()
	if err != nil {
		return err
	}
	return kv.DeleteVersion(ctx, ref, version)
}
