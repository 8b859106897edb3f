package software

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"

	"github.com/keyplane/keyplane/backend"
)

// fernetKey holds a Fernet key's halves: a 16-byte HMAC-SHA256 signing key
// and an AES-128-CBC encryption key.
type fernetKey struct {
	ks      *Keystore
	signKey []byte
	block   cipher.Block
}

func newFernetKey(ks *Keystore, key []byte) (*fernetKey, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("software: fernet key of %d bytes: %w", len(key), backend.ErrInvalidInput)
	}
	block, err := aes.NewCipher(key[16:])
	if err != nil {
		return nil, fmt.Errorf("software: fernet key: %v: %w", err, backend.ErrInvalidInput)
	}
	return &fernetKey{ks: ks, signKey: append([]byte(nil), key[:16]...), block: block}, nil
}

// MAC returns HMAC-SHA256(signing key, data).
func (f *fernetKey) MAC(ctx context.Context, data []byte) ([]byte, error) {
	if err := f.ks.check(ctx); err != nil {
		return nil, err
	}
	m := hmac.New(sha256.New, f.signKey)
	m.Write(data)
	return m.Sum(nil), nil
}

// EncryptCBC encrypts with AES-128-CBC and PKCS#7 padding.
func (f *fernetKey) EncryptCBC(ctx context.Context, iv, plaintext []byte) ([]byte, error) {
	if err := f.ks.check(ctx); err != nil {
		return nil, err
	}
	if len(iv) != aes.BlockSize {
		return nil, fmt.Errorf("software: fernet: IV of %d bytes, want %d: %w", len(iv), aes.BlockSize, backend.ErrInvalidInput)
	}
	pad := aes.BlockSize - len(plaintext)%aes.BlockSize
	out := make([]byte, len(plaintext)+pad)
	copy(out, plaintext)
	for i := len(plaintext); i < len(out); i++ {
		out[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(f.block, iv).CryptBlocks(out, out)
	return out, nil
}

// DecryptCBC reverses EncryptCBC; every failure is backend.ErrDecryption.
func (f *fernetKey) DecryptCBC(ctx context.Context, iv, ciphertext []byte) ([]byte, error) {
	if err := f.ks.check(ctx); err != nil {
		return nil, err
	}
	if len(iv) != aes.BlockSize || len(ciphertext) == 0 || len(ciphertext)%aes.BlockSize != 0 {
		return nil, backend.ErrDecryption
	}
	out := make([]byte, len(ciphertext))
	cipher.NewCBCDecrypter(f.block, iv).CryptBlocks(out, ciphertext)
	n := int(out[len(out)-1])
	good := subtle.ConstantTimeLessOrEq(1, n) & subtle.ConstantTimeLessOrEq(n, aes.BlockSize)
	if good == 1 {
		for _, b := range out[len(out)-n:] {
			good &= subtle.ConstantTimeByteEq(b, byte(n))
		}
	}
	if good != 1 {
		return nil, backend.ErrDecryption
	}
	return out[:len(out)-n], nil
}
