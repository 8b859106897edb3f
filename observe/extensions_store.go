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

func (o *observed) StoreCertificates(ctx context.Context, ref string, chain []*x509.Certificate) error {
	return observeCallErr(o, ctx, methodStoreCertificates, o.lookup(ctx, ref), "certificate store",
		func(ctx context.Context, cs backend.CertificateStore) error {
			return cs.StoreCertificates(ctx, ref, chain)
		})
}

func (o *observed) Certificates(ctx context.Context, ref string) ([]*x509.Certificate, error) {
	return observeCall(o, ctx, methodCertificates, methodCertificates, o.lookup(ctx, ref), "certificate store",
		func(ctx context.Context, cs backend.CertificateStore) ([]*x509.Certificate, error) {
			return cs.Certificates(ctx, ref)
		}, nil)
}

func (o *observed) DeleteCertificates(ctx context.Context, ref string) error {
	return observeCallErr(o, ctx, methodDeleteCertificates, o.lookup(ctx, ref), "certificate store",
		func(ctx context.Context, cs backend.CertificateStore) error { return cs.DeleteCertificates(ctx, ref) })
}

// WrapKey records the wrapped key's label and ID, never its ciphertext.
func (o *observed) WrapKey(ctx context.Context, ref, wrappingRef string, mech backend.WrapMechanism) (*backend.WrappedKey, error) {
	return observeCall(o, ctx, methodWrapKey, string(mech), o.lookup(ctx, ref), "key wrapping",
		func(ctx context.Context, kw backend.KeyWrapper) (*backend.WrappedKey, error) {
			return kw.WrapKey(ctx, ref, wrappingRef, mech)
		}, nil)
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
	return observeCall(o, ctx, methodUnwrapKey, operation, info, "key unwrapping",
		func(ctx context.Context, ku backend.KeyUnwrapper) (*backend.Key, error) {
			return ku.UnwrapKey(ctx, w, unwrappingRef, label)
		},
		func(k *backend.Key) *backend.Key { return k })
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
	return observeCall(o, ctx, methodDecryptDataKey, methodDecryptDataKey, o.lookup(ctx, ref), "data-key generation",
		func(ctx context.Context, dk backend.DataKeyGenerator) ([]byte, error) {
			return dk.DecryptDataKey(ctx, ref, wrapped, ad)
		}, nil)
}
