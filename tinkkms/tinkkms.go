// Package tinkkms lets Tink (github.com/tink-crypto/tink-go/v2) use a key
// held by any keyplane backend as its key-encryption key: AEAD is a
// tink.AEAD (and tink.AEADWithContext) over a backend's aes-256 key, and
// Client a Tink KMS client (registry.KMSClient) for keyplane:// key URIs,
// so that Tink's own envelope encryption (aead.NewKMSEnvelopeAEAD2 and
// the KMS envelope key templates) works over a key in a software
// keystore, a PKCS#11 token, AWS KMS or a plugin.
//
//	b, _ := backend.Open(ctx, "pkcs11:token=prod?module-path=…")
//	registry.RegisterKMSClient(tinkkms.NewClient(b))
//	kek, _ := tinkkms.NewClient(b).GetAEAD("keyplane://kek")
//	a := aead.NewKMSEnvelopeAEAD2(aead.AES256GCMKeyTemplate(), kek)
//	ct, _ := a.Encrypt(plaintext, associatedData)
//
// What the tink.AEAD seals is the backend AEAD's own output: for the
// software and PKCS#11 backends, nonce ‖ ciphertext ‖ tag of AES-256-GCM,
// the layout of Tink's raw AES-GCM, so a Tink program in any language
// holding the same key reads it; for AWS KMS, KMS's ciphertext blob with
// the additional data as encryption context (backends/awskms).
//
// # Concurrency
//
// An AEAD and a Client are safe for concurrent use when the backend is
// (every keyplane backend is).
//
// # Limitations
//
// Only aes-256 keys: Tink's KMS AEAD is symmetric. tink.AEAD's methods
// take no context: they use context.Background(), and the backend's own
// call timeouts bound them (use EncryptWithContext to pass one).
package tinkkms

import (
	"context"
	"fmt"
	"strings"

	"github.com/tink-crypto/tink-go/v2/core/registry"
	"github.com/tink-crypto/tink-go/v2/tink"

	"github.com/keyplane/keyplane/backend"
)

// URIPrefix starts the Tink key URIs of keyplane keys: keyplane://<ref>,
// ref being a key reference of the client's backend (its label, id:<hex>,
// or a backend key URI).
const URIPrefix = "keyplane://"

// AEAD returns a tink.AEAD over the aes-256 key ref names in b. It
// returns backend.ErrUnsupported when b has no AEAD, and the backend's
// error (ErrNotFound, ErrUnsupported for a key that is not an AES key)
// otherwise.
func AEAD(ctx context.Context, b backend.Backend, ref string) (*BackendAEAD, error) {
	ab, ok := b.(backend.AEADBackend)
	if !ok {
		return nil, fmt.Errorf("tinkkms: the backend has no AEAD keys: %w", backend.ErrUnsupported)
	}
	a, err := ab.AEAD(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("tinkkms: key %q: %w", ref, err)
	}
	return &BackendAEAD{a: a}, nil
}

// BackendAEAD is a backend's AEAD as a tink.AEAD and a
// tink.AEADWithContext. Every failure to decrypt is
// backend.ErrDecryption.
type BackendAEAD struct {
	a backend.AEAD
}

// Encrypt seals plaintext and authenticates associatedData.
func (t *BackendAEAD) Encrypt(plaintext, associatedData []byte) ([]byte, error) {
	return t.EncryptWithContext(context.Background(), plaintext, associatedData)
}

// Decrypt opens what Encrypt sealed.
func (t *BackendAEAD) Decrypt(ciphertext, associatedData []byte) ([]byte, error) {
	return t.DecryptWithContext(context.Background(), ciphertext, associatedData)
}

// EncryptWithContext is Encrypt with a context.
func (t *BackendAEAD) EncryptWithContext(ctx context.Context, plaintext, associatedData []byte) ([]byte, error) {
	ct, err := t.a.Seal(ctx, plaintext, associatedData)
	if err != nil {
		return nil, fmt.Errorf("tinkkms: %w", err)
	}
	return ct, nil
}

// DecryptWithContext is Decrypt with a context.
func (t *BackendAEAD) DecryptWithContext(ctx context.Context, ciphertext, associatedData []byte) ([]byte, error) {
	pt, err := t.a.Open(ctx, ciphertext, associatedData)
	if err != nil {
		return nil, fmt.Errorf("tinkkms: %w", err)
	}
	return pt, nil
}

// Client is a Tink KMS client for the keyplane:// key URIs of one
// backend.
type Client struct {
	b backend.Backend
}

// NewClient returns a Tink KMS client for the keys of b.
func NewClient(b backend.Backend) *Client { return &Client{b: b} }

// Supported reports whether keyURI is a keyplane:// URI.
func (c *Client) Supported(keyURI string) bool {
	return strings.HasPrefix(keyURI, URIPrefix) && len(keyURI) > len(URIPrefix)
}

// GetAEAD returns the tink.AEAD of the key keyURI names.
func (c *Client) GetAEAD(keyURI string) (tink.AEAD, error) {
	if !c.Supported(keyURI) {
		return nil, fmt.Errorf("tinkkms: %q is not a %s key URI: %w", keyURI, URIPrefix, backend.ErrInvalidInput)
	}
	return AEAD(context.Background(), c.b, strings.TrimPrefix(keyURI, URIPrefix))
}

var (
	_ registry.KMSClient   = (*Client)(nil)
	_ tink.AEAD            = (*BackendAEAD)(nil)
	_ tink.AEADWithContext = (*BackendAEAD)(nil)
)
