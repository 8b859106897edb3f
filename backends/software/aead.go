package software

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"fmt"

	"github.com/keyplane/keyplane/backend"
)

// aeadKey is AES-256-GCM with a 96-bit random nonce per message; sealed
// messages are nonce ‖ ciphertext ‖ tag.
type aeadKey struct {
	ks  *Keystore
	gcm cipher.AEAD
}

func (a *aeadKey) NonceSize() int { return a.gcm.NonceSize() }
func (a *aeadKey) Overhead() int  { return a.gcm.NonceSize() + a.gcm.Overhead() }

func (a *aeadKey) Seal(ctx context.Context, plaintext, ad []byte) ([]byte, error) {
	if err := a.ks.check(ctx); err != nil {
		return nil, err
	}
	n := a.gcm.NonceSize()
	out := make([]byte, n, n+len(plaintext)+a.gcm.Overhead())
	if _, err := rand.Read(out); err != nil {
		return nil, fmt.Errorf("software: reading randomness: %w", backend.ErrUnavailable)
	}
	return a.gcm.Seal(out, out[:n], plaintext, ad), nil
}

func (a *aeadKey) Open(ctx context.Context, sealed, ad []byte) ([]byte, error) {
	if err := a.ks.check(ctx); err != nil {
		return nil, err
	}
	n := a.gcm.NonceSize()
	if len(sealed) < n+a.gcm.Overhead() {
		return nil, backend.ErrDecryption
	}
	out, err := a.gcm.Open(nil, sealed[:n], sealed[n:], ad)
	if err != nil {
		return nil, backend.ErrDecryption
	}
	return out, nil
}
