package tlskey

import (
	"context"
	"crypto/tls"
	"fmt"

	"github.com/keyplane/keyplane/backend"
)

// Certificate returns a tls.Certificate for the key that ref names: the
// chain stored with the key (leaf first, as
// backend.CertificateStore.Certificates returns it), the key's
// crypto.Signer as PrivateKey, and Leaf set to the chain's first
// certificate.
//
// b must implement backend.CertificateStore (ErrUnsupported otherwise). A
// key with no stored certificate is ErrNotFound, as is an unknown ref; a
// stored leaf that is not the key's (written by another tool under the
// key's ID) is ErrInvalidInput. The error names the key.
func Certificate(ctx context.Context, b backend.Signer, ref string) (tls.Certificate, error) {
	cs, ok := b.(backend.CertificateStore)
	if !ok {
		return tls.Certificate{}, fmt.Errorf("tlskey: the backend (%T) stores no certificates: %w", b, backend.ErrUnsupported)
	}
	chain, err := cs.Certificates(ctx, ref)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tlskey: key %q: %w", ref, err)
	}
	if len(chain) == 0 {
		return tls.Certificate{}, fmt.Errorf("tlskey: key %q has no certificate stored with it (keyplane cert import --key %s --in chain.pem): %w", ref, ref, backend.ErrNotFound)
	}
	signer, err := b.Signer(ctx, ref)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tlskey: key %q: %w", ref, err)
	}
	if err := backend.CheckCertificateChain(signer.Public(), chain); err != nil {
		return tls.Certificate{}, fmt.Errorf("tlskey: key %q: the stored chain: %w", ref, err)
	}
	cert := tls.Certificate{PrivateKey: signer, Leaf: chain[0]}
	for _, c := range chain {
		cert.Certificate = append(cert.Certificate, c.Raw)
	}
	return cert, nil
}
