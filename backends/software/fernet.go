package software

import (
	"context"
	"fmt"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/fernet"
)

// fernetKey is package fernet's in-memory key (fernet.NewSoftwareKey: the
// one copy of the HMAC, AES-CBC and PKCS#7 code) behind the keystore's
// checks, so that a closed keystore refuses to use it.
type fernetKey struct {
	ks  *Keystore
	key backend.FernetKey
}

func newFernetKey(ks *Keystore, key []byte) (*fernetKey, error) {
	k, err := fernet.NewSoftwareKey(backend.SecretKey{Algorithm: backend.Fernet, Value: key})
	if err != nil {
		return nil, fmt.Errorf("software: %w", err)
	}
	return &fernetKey{ks: ks, key: k}, nil
}

func (f *fernetKey) String() string { return "software.fernetKey{redacted}" }

// MAC returns HMAC-SHA256(signing key, data).
func (f *fernetKey) MAC(ctx context.Context, data []byte) ([]byte, error) {
	if err := f.ks.check(ctx); err != nil {
		return nil, err
	}
	return f.key.MAC(ctx, data)
}

// EncryptCBC encrypts with AES-128-CBC and PKCS#7 padding.
func (f *fernetKey) EncryptCBC(ctx context.Context, iv, plaintext []byte) ([]byte, error) {
	if err := f.ks.check(ctx); err != nil {
		return nil, err
	}
	return f.key.EncryptCBC(ctx, iv, plaintext)
}

// DecryptCBC reverses EncryptCBC; every failure is backend.ErrDecryption.
func (f *fernetKey) DecryptCBC(ctx context.Context, iv, ciphertext []byte) ([]byte, error) {
	if err := f.ks.check(ctx); err != nil {
		return nil, err
	}
	return f.key.DecryptCBC(ctx, iv, ciphertext)
}
