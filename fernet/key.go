package fernet

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/internal/pkcs7"
)

const (
	// KeySize is the size of a Fernet key in bytes: signing key ‖ encryption key.
	KeySize = 32
	// KeyTextLen is the length of a key's base64url text, as pyca prints it.
	KeyTextLen = 44
	halfKey    = KeySize / 2
)

// GenerateKey returns a new random Fernet key (Algorithm backend.Fernet, 32
// bytes from crypto/rand), like pyca's Fernet.generate_key. To keep a key
// inside an HSM, generate it there with the backend's GenerateKey instead.
func GenerateKey() (backend.SecretKey, error) {
	v := make([]byte, KeySize)
	if _, err := rand.Read(v); err != nil {
		return backend.SecretKey{}, fmt.Errorf("fernet: generating a key: %v: %w", err, backend.ErrUnavailable)
	}
	return backend.SecretKey{Algorithm: backend.Fernet, Value: v}, nil
}

// ParseKey reads a Fernet key from its text: 44 characters of base64url with
// "=" padding, as pyca's Fernet.generate_key prints it. Surrounding white
// space (a trailing newline in a key file) is ignored. Errors wrap
// backend.ErrInvalidInput and never contain the text.
func ParseKey(text string) (backend.SecretKey, error) {
	text = strings.TrimSpace(text)
	if len(text) != KeyTextLen {
		return backend.SecretKey{}, fmt.Errorf("fernet key: want %d characters of base64url text (as Fernet.generate_key prints it), got %d characters: %w", KeyTextLen, len(text), backend.ErrInvalidInput)
	}
	if strings.ContainsAny(text, "+/") {
		return backend.SecretKey{}, fmt.Errorf("fernet key: contains \"+\" or \"/\": want the base64url alphabet (\"-\" and \"_\"): %w", backend.ErrInvalidInput)
	}
	v, err := base64.URLEncoding.DecodeString(text)
	if err != nil {
		// A CorruptInputError names only an offset, never the text.
		return backend.SecretKey{}, fmt.Errorf("fernet key: not base64url with padding (%v): %w", err, backend.ErrInvalidInput)
	}
	if len(v) != KeySize {
		return backend.SecretKey{}, fmt.Errorf("fernet key: decodes to %d bytes, want %d: %w", len(v), KeySize, backend.ErrInvalidInput)
	}
	return backend.SecretKey{Algorithm: backend.Fernet, Value: v}, nil
}

// EncodeKey returns the key's text, 44 characters of base64url with "="
// padding, which pyca's Fernet(key) accepts. The text is the secret itself.
// It encodes whatever bytes k holds; check keys with NewSoftwareKey or
// ParseKey first.
func EncodeKey(k backend.SecretKey) string {
	return base64.URLEncoding.EncodeToString(k.Value)
}

// checkKey validates a SecretKey meant to be a Fernet key.
func checkKey(k backend.SecretKey) error {
	if k.Algorithm != backend.Fernet {
		return fmt.Errorf("fernet: key of algorithm %q, want %q: %w", k.Algorithm, backend.Fernet, backend.ErrInvalidInput)
	}
	if len(k.Value) != KeySize {
		return fmt.Errorf("fernet: key of %d bytes, want %d: %w", len(k.Value), KeySize, backend.ErrInvalidInput)
	}
	return nil
}

// softwareKey is a Fernet key in memory.
type softwareKey struct {
	signing []byte
	block   cipher.Block
}

// NewSoftwareKey returns a backend.FernetKey that holds k in memory and
// computes with crypto/hmac, crypto/aes and crypto/cipher. It copies k's
// bytes. It is safe for concurrent use.
func NewSoftwareKey(k backend.SecretKey) (backend.FernetKey, error) {
	if err := checkKey(k); err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(k.Value[halfKey:])
	if err != nil {
		return nil, fmt.Errorf("fernet: encryption key: %v: %w", err, backend.ErrInvalidInput)
	}
	return &softwareKey{signing: append([]byte(nil), k.Value[:halfKey]...), block: block}, nil
}

func (k *softwareKey) String() string { return "fernet.softwareKey{redacted}" }

func (k *softwareKey) MAC(ctx context.Context, data []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m := hmac.New(sha256.New, k.signing)
	m.Write(data)
	return m.Sum(nil), nil
}

func (k *softwareKey) EncryptCBC(ctx context.Context, iv, plaintext []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(iv) != aes.BlockSize {
		return nil, fmt.Errorf("fernet: IV of %d bytes, want %d: %w", len(iv), aes.BlockSize, backend.ErrInvalidInput)
	}
	buf := pkcs7.Pad(plaintext, aes.BlockSize)
	cipher.NewCBCEncrypter(k.block, iv).CryptBlocks(buf, buf)
	return buf, nil
}

func (k *softwareKey) DecryptCBC(ctx context.Context, iv, ciphertext []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(iv) != aes.BlockSize || len(ciphertext) == 0 || len(ciphertext)%aes.BlockSize != 0 {
		return nil, backend.ErrDecryption
	}
	buf := make([]byte, len(ciphertext))
	cipher.NewCBCDecrypter(k.block, iv).CryptBlocks(buf, ciphertext)
	n, ok := pkcs7.Unpad(buf, aes.BlockSize)
	if !ok {
		return nil, backend.ErrDecryption
	}
	return buf[:n], nil
}
