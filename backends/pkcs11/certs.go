//go:build cgo && !nopkcs11

package pkcs11

import (
	"context"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"slices"

	"github.com/keyplane/keyplane/backend"
	"github.com/miekg/pkcs11"
)

var _ backend.CertificateStore = (*Backend)(nil)

// How certificates are stored (docs/backends/pkcs11.md has the long form):
// each certificate of a chain is one CKO_CERTIFICATE object of type
// CKC_X_509, a public token object (CKA_TOKEN true, CKA_PRIVATE false),
// with CKA_ID = the key's CKA_ID — the convention pkcs11-tool, OpenSC and
// p11-kit follow to pair a certificate with its key — and CKA_SUBJECT,
// CKA_ISSUER, CKA_SERIAL_NUMBER (DER INTEGER) and CKA_VALUE (the DER
// certificate) from the certificate. The leaf's CKA_LABEL is the key's
// label and its CKA_CERTIFICATE_CATEGORY 1 (token user); the others are
// labelled "<key label> CA <n>" with category 2 (authority), where the
// token takes the attribute. PKCS#11 has no order among objects: reading
// back finds every certificate with the key's CKA_ID and orders them by
// issuer links (backend.OrderCertificateChain), so a certificate written
// by another tool with the key's CKA_ID is found the same way.

// certKey returns the key pair ref names, which must have a CKA_ID.
func (b *Backend) certKey(s *session, ref string) (*keyObject, error) {
	k, err := b.lookup(s, ref)
	if err != nil {
		return nil, err
	}
	if k.priv == 0 || k.pub == nil {
		return nil, fmt.Errorf("pkcs11: key %q is a %s secret key: certificates are for key pairs: %w", k.label, k.alg, backend.ErrUnsupported)
	}
	if len(k.id) == 0 {
		return nil, fmt.Errorf("pkcs11: key %q has no CKA_ID, by which certificates are paired with keys: %w", k.label, backend.ErrUnsupported)
	}
	return k, nil
}

// certObjects finds the certificate objects with the key's CKA_ID.
func (b *Backend) certObjects(s *session, k *keyObject) ([]pkcs11.ObjectHandle, error) {
	return b.findObjects(s, []*pkcs11.Attribute{
		attr(pkcs11.CKA_CLASS, pkcs11.CKO_CERTIFICATE),
		attr(pkcs11.CKA_CERTIFICATE_TYPE, pkcs11.CKC_X_509),
		attr(pkcs11.CKA_ID, k.id),
	})
}

// certTemplate is the object for certificate i of a chain stored with k.
func certTemplate(k *keyObject, c *x509.Certificate, i int, category bool) ([]*pkcs11.Attribute, error) {
	serial, err := asn1.Marshal(c.SerialNumber)
	if err != nil {
		return nil, fmt.Errorf("certificate %d: serial number: %v: %w", i+1, err, backend.ErrInvalidInput)
	}
	label, cat := k.label, uint(1) // token user
	if i > 0 {
		label, cat = fmt.Sprintf("%s CA %d", k.label, i), 2 // authority
	}
	t := []*pkcs11.Attribute{
		attr(pkcs11.CKA_CLASS, pkcs11.CKO_CERTIFICATE),
		attr(pkcs11.CKA_CERTIFICATE_TYPE, pkcs11.CKC_X_509),
		attr(pkcs11.CKA_TOKEN, true),
		attr(pkcs11.CKA_PRIVATE, false),
		attr(pkcs11.CKA_ID, k.id),
		attr(pkcs11.CKA_LABEL, label),
		attr(pkcs11.CKA_SUBJECT, c.RawSubject),
		attr(pkcs11.CKA_ISSUER, c.RawIssuer),
		attr(pkcs11.CKA_SERIAL_NUMBER, serial),
		attr(pkcs11.CKA_VALUE, c.Raw),
	}
	if category {
		t = append(t, attr(pkcs11.CKA_CERTIFICATE_CATEGORY, cat))
	}
	return t, nil
}

// StoreCertificates stores chain with the key pair ref names (see
// backend.CertificateStore), as one CKO_CERTIFICATE object per
// certificate with the key's CKA_ID. The new objects are made first and
// the key's earlier certificate objects destroyed after, so a failure
// leaves the old chain in place (and destroys what it made) — except on
// a token that refuses a new certificate while the old ones are there
// (NSS softokn: CKR_ATTRIBUTE_VALUE_INVALID for a label that a
// certificate of another subject has, CKR_GENERAL_ERROR for a
// certificate it already holds), where the old objects are destroyed
// first and a failure then leaves the key with none.
func (b *Backend) StoreCertificates(ctx context.Context, ref string, chain []*x509.Certificate) error {
	if err := b.checkOpen(); err != nil {
		return err
	}
	err := b.withSession(ctx, func(s *session) error {
		k, err := b.certKey(s, ref)
		if err != nil {
			return err
		}
		if err := backend.CheckCertificateChain(k.pub, chain); err != nil {
			return fmt.Errorf("key %q: %w", k.label, err)
		}
		old, err := b.certObjects(s, k)
		if err != nil {
			return err
		}
		made, err := b.createCerts(s, k, chain)
		if c := codeOf(err); len(old) > 0 && (c == pkcs11.CKR_ATTRIBUTE_VALUE_INVALID || c == pkcs11.CKR_GENERAL_ERROR) {
			// NSS softokn refuses a certificate whose CKA_LABEL (its
			// nickname) a certificate of another subject has — the old
			// leaf's — with CKR_ATTRIBUTE_VALUE_INVALID, and a
			// certificate it holds already with CKR_GENERAL_ERROR.
			// There the old chain goes first.
			if derr := b.destroyObjects(s, old); derr != nil {
				return derr
			}
			old = nil
			made, err = b.createCerts(s, k, chain)
		}
		if err != nil {
			return err
		}
		// A token that keeps one object per certificate (NSS softokn)
		// may hand back an existing object for a certificate stored
		// before: that one stays.
		old = slices.DeleteFunc(old, func(h pkcs11.ObjectHandle) bool { return slices.Contains(made, h) })
		for n, h := range old {
			if err := b.p.DestroyObject(s.h, h); err != nil {
				return fmt.Errorf("the new chain is stored, but %d of the %d certificate objects stored before are still there (store again to remove them): %w",
					len(old)-n, len(old), ckErr("C_DestroyObject", err))
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("pkcs11: store certificates of %s: %w", ref, err)
	}
	return nil
}

// createCerts makes the certificate objects of chain for k; on a failure
// it destroys those it made.
func (b *Backend) createCerts(s *session, k *keyObject, chain []*x509.Certificate) ([]pkcs11.ObjectHandle, error) {
	var made []pkcs11.ObjectHandle
	undo := func() {
		for _, h := range made {
			_ = b.p.DestroyObject(s.h, h)
		}
	}
	category := true
	for i, c := range chain {
		t, err := certTemplate(k, c, i, category)
		if err != nil {
			undo()
			return nil, err
		}
		h, err := b.p.CreateObject(s.h, t)
		if category && refusesAttribute(codeOf(err)) {
			// A token without CKA_CERTIFICATE_CATEGORY: the category
			// is a hint for other tools, not needed here.
			category = false
			t, _ = certTemplate(k, c, i, false)
			h, err = b.p.CreateObject(s.h, t)
		}
		if err != nil {
			undo()
			return nil, fmt.Errorf("certificate %d (subject %q): %w", i+1, c.Subject, ckErr("C_CreateObject", err))
		}
		made = append(made, h)
	}
	return made, nil
}

// destroyObjects destroys objects, stopping at the first failure.
func (b *Backend) destroyObjects(s *session, hs []pkcs11.ObjectHandle) error {
	for _, h := range hs {
		if err := b.p.DestroyObject(s.h, h); err != nil {
			return ckErr("C_DestroyObject", err)
		}
	}
	return nil
}

func refusesAttribute(code uint) bool {
	return code == pkcs11.CKR_ATTRIBUTE_TYPE_INVALID || code == pkcs11.CKR_ATTRIBUTE_VALUE_INVALID || code == pkcs11.CKR_TEMPLATE_INCONSISTENT
}

// Certificates returns the chain stored with the key pair, leaf first:
// every X.509 certificate object with the key's CKA_ID, ordered by issuer
// links from the one whose public key is the key's
// (backend.OrderCertificateChain). Objects whose value does not parse as
// a certificate are left out. A key with no certificate objects has an
// empty chain.
func (b *Backend) Certificates(ctx context.Context, ref string) ([]*x509.Certificate, error) {
	if err := b.checkOpen(); err != nil {
		return nil, err
	}
	var chain []*x509.Certificate
	err := b.withSession(ctx, func(s *session) error {
		k, err := b.certKey(s, ref)
		if err != nil {
			return err
		}
		hs, err := b.certObjects(s, k)
		if err != nil {
			return err
		}
		var found []*x509.Certificate
		for _, h := range hs {
			a, err := b.attrs(s, h, pkcs11.CKA_VALUE)
			if err != nil {
				return err
			}
			c, err := x509.ParseCertificate(a[pkcs11.CKA_VALUE])
			if err != nil {
				continue
			}
			found = append(found, c)
		}
		chain = backend.OrderCertificateChain(k.pub, found)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pkcs11: certificates of %s: %w", ref, err)
	}
	return chain, nil
}

// DeleteCertificates destroys every certificate object with the key pair's
// CKA_ID, whoever wrote it.
func (b *Backend) DeleteCertificates(ctx context.Context, ref string) error {
	if err := b.checkOpen(); err != nil {
		return err
	}
	err := b.withSession(ctx, func(s *session) error {
		k, err := b.certKey(s, ref)
		if err != nil {
			return err
		}
		return b.destroyCerts(s, k)
	})
	if err != nil {
		return fmt.Errorf("pkcs11: delete certificates of %s: %w", ref, err)
	}
	return nil
}

// destroyCerts destroys the certificate objects of a key pair (DeleteKey
// and DeleteCertificates); a key without CKA_ID has none.
func (b *Backend) destroyCerts(s *session, k *keyObject) error {
	if k.priv == 0 || len(k.id) == 0 {
		return nil
	}
	hs, err := b.certObjects(s, k)
	if err != nil {
		return err
	}
	return b.destroyObjects(s, hs)
}
