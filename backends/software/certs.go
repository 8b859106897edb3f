package software

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/keyplane/keyplane/backend"
)

// certSuffix names a key's certificate chain in a keystore directory:
// "<id>.chain.pem", PEM CERTIFICATE blocks, leaf first, written atomically
// with mode 0600 like the key files, under the directory lock. Only the
// key's metadata file makes a key visible: a chain file without one is
// debris, removed by the next writer (sweep), and DeleteKey removes it
// with the key.
const certSuffix = ".chain.pem"

// StoreCertificates stores chain with the key ref names (see
// backend.CertificateStore): in memory, or in the file <id>.chain.pem next
// to the key, replacing the one before. `openssl x509 -in <id>.chain.pem`
// reads the leaf, `openssl crl2pkcs7 -nocrl -certfile` the whole chain.
func (ks *Keystore) StoreCertificates(ctx context.Context, ref string, chain []*x509.Certificate) error {
	e, err := ks.find(ctx, ref)
	if err != nil {
		return err
	}
	if err := noCerts(e); err != nil {
		return err
	}
	if err := backend.CheckCertificateChain(e.meta.Public, chain); err != nil {
		return fmt.Errorf("software: key %q: %w", e.meta.Label, err)
	}
	var data []byte
	for _, c := range chain {
		data = append(data, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	switch st := ks.st.(type) {
	case *dirStore:
		return st.storeCerts(ctx, e, data)
	default:
		e.mu.Lock()
		e.certs = data
		e.mu.Unlock()
		return nil
	}
}

// Certificates returns the chain stored with the key, leaf first, or none.
func (ks *Keystore) Certificates(ctx context.Context, ref string) ([]*x509.Certificate, error) {
	e, err := ks.find(ctx, ref)
	if err != nil {
		return nil, err
	}
	if err := noCerts(e); err != nil {
		return nil, err
	}
	var data []byte
	where := "memory"
	switch st := ks.st.(type) {
	case *dirStore:
		where = st.path(e.name + certSuffix)
		data, err = os.ReadFile(where)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("software: reading the certificates of %q: %v: %w", e.meta.Label, err, backend.ErrUnavailable)
		}
	default:
		e.mu.Lock()
		data = e.certs
		e.mu.Unlock()
	}
	chain, err := parseCertsPEM(data)
	if err != nil {
		return nil, fmt.Errorf("software: the certificates of %q (%s): %w", e.meta.Label, where, err)
	}
	return chain, nil
}

// DeleteCertificates removes the key's chain.
func (ks *Keystore) DeleteCertificates(ctx context.Context, ref string) error {
	e, err := ks.find(ctx, ref)
	if err != nil {
		return err
	}
	if err := noCerts(e); err != nil {
		return err
	}
	switch st := ks.st.(type) {
	case *dirStore:
		return st.locked(ctx, func() error {
			err := os.Remove(st.path(e.name + certSuffix))
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("software: deleting the certificates of %q: %v: %w", e.meta.Label, err, backend.ErrUnavailable)
			}
			return syncDir(st.dir)
		})
	default:
		e.mu.Lock()
		e.certs = nil
		e.mu.Unlock()
		return nil
	}
}

// noCerts refuses a secret key: certificates are for key pairs.
func noCerts(e *keyEntry) error {
	if e.meta.Algorithm.Asymmetric() {
		return nil
	}
	return fmt.Errorf("software: key %q is a %s secret key: certificates are for key pairs: %w", e.meta.Label, e.meta.Algorithm, backend.ErrUnsupported)
}

// storeCerts writes the chain file, under the lock, of a key that still
// exists then (a key deleted meanwhile is ErrNotFound, not a stray file).
func (d *dirStore) storeCerts(ctx context.Context, e *keyEntry, data []byte) error {
	return d.locked(ctx, func() error {
		if _, err := os.Stat(d.path(e.name + metaSuffix)); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("software: key %q was deleted: %w", e.meta.Label, backend.ErrNotFound)
			}
			return fmt.Errorf("software: key %q: %v: %w", e.meta.Label, err, backend.ErrUnavailable)
		}
		return writeFileAtomic(d.dir, e.name+certSuffix, data)
	})
}

// parseCertsPEM reads CERTIFICATE blocks; anything else in the file is an
// error (the file is keyplane's own).
func parseCertsPEM(data []byte) ([]*x509.Certificate, error) {
	var chain []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("a PEM block of type %q where certificates were stored: %w", b.Type, backend.ErrInvalidInput)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %v: %w", len(chain)+1, err, backend.ErrInvalidInput)
		}
		chain = append(chain, c)
	}
	return chain, nil
}
