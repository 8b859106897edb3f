package observe

import (
	"context"
	"crypto/x509"

	"github.com/keyplane/keyplane/backend"
)

// The certificate and key-wrapping extension interfaces, on every wrapped
// backend as those in extensions.go are.

const (
	methodStoreCertificates  = "store-certificates"
	methodCertificates       = "certificates"
	methodDeleteCertificates = "delete-certificates"
	methodWrapKey            = "wrap-key"
	methodUnwrapKey          = "unwrap-key"
)

// certStore returns the inner backend's CertificateStore, or ends p with
// ErrUnsupported and returns that error.
func (o *observed) certStore(p *op) (backend.CertificateStore, error) {
	cs, ok := o.inner.(backend.CertificateStore)
	if !ok {
		err := o.unsupported("certificate store")
		p.end(err)
		return nil, err
	}
	return cs, nil
}

func (o *observed) StoreCertificates(ctx context.Context, ref string, chain []*x509.Certificate) error {
	ctx, p := o.begin(ctx, methodStoreCertificates, methodStoreCertificates, o.lookup(ctx, ref))
	cs, err := o.certStore(p)
	if err != nil {
		return err
	}
	err = cs.StoreCertificates(ctx, ref, chain)
	p.end(err)
	return err
}

func (o *observed) Certificates(ctx context.Context, ref string) ([]*x509.Certificate, error) {
	ctx, p := o.begin(ctx, methodCertificates, methodCertificates, o.lookup(ctx, ref))
	cs, err := o.certStore(p)
	if err != nil {
		return nil, err
	}
	chain, err := cs.Certificates(ctx, ref)
	p.end(err)
	return chain, err
}

func (o *observed) DeleteCertificates(ctx context.Context, ref string) error {
	ctx, p := o.begin(ctx, methodDeleteCertificates, methodDeleteCertificates, o.lookup(ctx, ref))
	cs, err := o.certStore(p)
	if err != nil {
		return err
	}
	err = cs.DeleteCertificates(ctx, ref)
	p.end(err)
	return err
}

// WrapKey records the wrapped key's label and ID, never its ciphertext.
func (o *observed) WrapKey(ctx context.Context, ref, wrappingRef string, mech backend.WrapMechanism) (*backend.WrappedKey, error) {
	ctx, p := o.begin(ctx, methodWrapKey, string(mech), o.lookup(ctx, ref))
	kw, ok := o.inner.(backend.KeyWrapper)
	if !ok {
		err := o.unsupported("key wrapping")
		p.end(err)
		return nil, err
	}
	w, err := kw.WrapKey(ctx, ref, wrappingRef, mech)
	p.end(err)
	return w, err
}

func (o *observed) UnwrapKey(ctx context.Context, w *backend.WrappedKey, unwrappingRef, label string) (*backend.Key, error) {
	info := keyInfo{label: label}
	operation := methodUnwrapKey
	if w != nil {
		if info.label == "" {
			info.label = w.Label
		}
		operation = string(w.Mechanism)
	}
	ctx, p := o.begin(ctx, methodUnwrapKey, operation, info)
	ku, ok := o.inner.(backend.KeyUnwrapper)
	if !ok {
		err := o.unsupported("key unwrapping")
		p.end(err)
		return nil, err
	}
	k, err := ku.UnwrapKey(ctx, w, unwrappingRef, label)
	if err == nil {
		p.key = keyOf(k)
	}
	p.end(err)
	return k, err
}

const (
	methodGenerateDataKey = "generate-data-key"
	methodDecryptDataKey  = "decrypt-data-key"
)

// GenerateDataKey records the key and outcome, never the data key or the
// additional data.
func (o *observed) GenerateDataKey(ctx context.Context, ref string, size int, ad []byte) (plaintext, wrapped []byte, err error) {
	ctx, p := o.begin(ctx, methodGenerateDataKey, methodGenerateDataKey, o.lookup(ctx, ref))
	dk, ok := o.inner.(backend.DataKeyGenerator)
	if !ok {
		err := o.unsupported("data-key generation")
		p.end(err)
		return nil, nil, err
	}
	plaintext, wrapped, err = dk.GenerateDataKey(ctx, ref, size, ad)
	p.end(err)
	return plaintext, wrapped, err
}

func (o *observed) DecryptDataKey(ctx context.Context, ref string, wrapped, ad []byte) ([]byte, error) {
	ctx, p := o.begin(ctx, methodDecryptDataKey, methodDecryptDataKey, o.lookup(ctx, ref))
	dk, ok := o.inner.(backend.DataKeyGenerator)
	if !ok {
		err := o.unsupported("data-key generation")
		p.end(err)
		return nil, err
	}
	plaintext, err := dk.DecryptDataKey(ctx, ref, wrapped, ad)
	p.end(err)
	return plaintext, err
}
