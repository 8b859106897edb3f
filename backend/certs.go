package backend

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"fmt"
)

// CertificateStore is an optional interface: backends that keep X.509
// certificates with their asymmetric keys (a PEM file next to a software
// key, CKO_CERTIFICATE objects sharing a PKCS#11 key's CKA_ID).
//
// A key has at most one stored chain: its own certificate (the leaf, whose
// public key is the key's) followed by the certificates that issued it,
// each one issuing the one before, in the order a TLS server sends them. A
// root may end the chain or be left out.
//
// Deleting the key (KeyManager.DeleteKey) deletes its certificates too.
//
// Certificates are public: backends store them readable without a login
// where the store makes the difference (CKA_PRIVATE false on a token).
type CertificateStore interface {
	// StoreCertificates stores chain with the key ref names, replacing
	// the certificates stored with it before. chain must pass
	// CheckCertificateChain for the key's public key (ErrInvalidInput
	// otherwise). It returns ErrNotFound for an unknown ref and
	// ErrUnsupported for a key that has no public key (a secret key).
	StoreCertificates(ctx context.Context, ref string, chain []*x509.Certificate) error
	// Certificates returns the chain stored with the key, leaf first. A
	// key without certificates has an empty chain and no error; an
	// unknown ref is ErrNotFound, a secret key ErrUnsupported.
	Certificates(ctx context.Context, ref string) ([]*x509.Certificate, error)
	// DeleteCertificates removes every certificate stored with the key.
	// A key without certificates is no error; an unknown ref is
	// ErrNotFound, a secret key ErrUnsupported.
	DeleteCertificates(ctx context.Context, ref string) error
}

// MaxChainLength is the longest chain a CertificateStore accepts.
const MaxChainLength = 16

// CheckCertificateChain checks a chain for CertificateStore: 1 to
// MaxChainLength certificates, none nil; the first one's public key is pub;
// each later one is the issuer of the one before it (its subject is the
// other's issuer, byte for byte), and no certificate appears twice. It
// does not check signatures, validity periods or key usages: whoever uses
// the chain verifies it against their own roots. The error wraps
// ErrInvalidInput.
func CheckCertificateChain(pub crypto.PublicKey, chain []*x509.Certificate) error {
	switch {
	case len(chain) == 0:
		return fmt.Errorf("empty certificate chain: %w", ErrInvalidInput)
	case len(chain) > MaxChainLength:
		return fmt.Errorf("certificate chain of %d certificates (at most %d): %w", len(chain), MaxChainLength, ErrInvalidInput)
	}
	for i, c := range chain {
		if c == nil || len(c.Raw) == 0 {
			return fmt.Errorf("certificate %d of the chain is empty: %w", i+1, ErrInvalidInput)
		}
	}
	leaf := chain[0]
	k, ok := pub.(interface{ Equal(crypto.PublicKey) bool })
	if pub == nil || !ok || !k.Equal(leaf.PublicKey) {
		return fmt.Errorf("the first certificate (subject %q) is not for this key: its public key differs from the key's: %w", leaf.Subject, ErrInvalidInput)
	}
	for i := 1; i < len(chain); i++ {
		child, parent := chain[i-1], chain[i]
		if !bytes.Equal(child.RawIssuer, parent.RawSubject) {
			return fmt.Errorf("certificate %d (subject %q) did not issue certificate %d (issuer %q): the chain must run leaf first, each certificate followed by its issuer: %w",
				i+1, parent.Subject, i, child.Issuer, ErrInvalidInput)
		}
		for j := 0; j < i; j++ {
			if bytes.Equal(chain[j].Raw, parent.Raw) {
				return fmt.Errorf("certificate %d (subject %q) appears twice in the chain: %w", i+1, parent.Subject, ErrInvalidInput)
			}
		}
	}
	return nil
}

// OrderCertificateChain picks, from certificates found with a key (in any
// order, perhaps with others), the chain CertificateStore.Certificates
// returns: the leaf is a certificate whose public key is pub — of several,
// the one with the latest NotBefore (a renewed certificate stored beside
// the old one), ties broken by the earlier position — followed by its
// issuer among the rest, that one's issuer, and so on until none is found
// or a certificate issues itself. Certificates that are not in that line
// are left out. It returns nil when none has the key's public key.
func OrderCertificateChain(pub crypto.PublicKey, certs []*x509.Certificate) []*x509.Certificate {
	k, ok := pub.(interface{ Equal(crypto.PublicKey) bool })
	if !ok {
		return nil
	}
	var leaf *x509.Certificate
	for _, c := range certs {
		if c != nil && k.Equal(c.PublicKey) && (leaf == nil || c.NotBefore.After(leaf.NotBefore)) {
			leaf = c
		}
	}
	if leaf == nil {
		return nil
	}
	chain := []*x509.Certificate{leaf}
	for len(chain) < MaxChainLength {
		last := chain[len(chain)-1]
		if bytes.Equal(last.RawIssuer, last.RawSubject) {
			break // self-issued: a root
		}
		var next *x509.Certificate
		for _, c := range certs {
			if c == nil || !bytes.Equal(c.RawSubject, last.RawIssuer) || inChain(chain, c) {
				continue
			}
			next = c
			break
		}
		if next == nil {
			break
		}
		chain = append(chain, next)
	}
	return chain
}

func inChain(chain []*x509.Certificate, c *x509.Certificate) bool {
	for _, o := range chain {
		if bytes.Equal(o.Raw, c.Raw) {
			return true
		}
	}
	return false
}
