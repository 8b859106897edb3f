package keywrap

import (
	"fmt"

	kwp "github.com/tink-crypto/tink-go/v2/kwp/subtle"

	"github.com/keyplane/keyplane/backend"
)

// errUnwrap is every failure of UnwrapPad: deliberately one, like
// backend.ErrDecryption, which it wraps.
var errUnwrap = fmt.Errorf("keywrap: the wrapped key does not unwrap under this key: %w", backend.ErrDecryption)

// WrapPad wraps plaintext under kek with AES key wrap with padding
// (RFC 5649, NIST SP 800-38F KWP), by Tink's implementation
// (tink-go/v2/kwp/subtle, tested against Wycheproof's KWP vectors). The
// key-encryption key is 16 or 32 bytes (AES-128 or AES-256; Tink does not
// take AES-192) and plaintext 16 to 8192 bytes, Tink's bounds: every key
// keyplane wraps (a 32-byte AES key, a PKCS#8 private key) is inside them.
// The result is 8 bytes longer than plaintext padded to a multiple of 8.
func WrapPad(kek, plaintext []byte) ([]byte, error) {
	if len(plaintext) < kwp.MinWrapSize || len(plaintext) > kwp.MaxWrapSize {
		return nil, fmt.Errorf("keywrap: %d bytes to wrap (AES key wrap with padding takes %d to %d): %w", len(plaintext), kwp.MinWrapSize, kwp.MaxWrapSize, backend.ErrInvalidInput)
	}
	k, err := kwp.NewKWP(kek)
	if err != nil {
		return nil, fmt.Errorf("keywrap: key-encryption key of %d bytes (16 or 32): %w", len(kek), backend.ErrInvalidInput)
	}
	w, err := k.Wrap(plaintext)
	if err != nil {
		return nil, fmt.Errorf("keywrap: %v: %w", err, backend.ErrInvalidInput)
	}
	return w, nil
}

// UnwrapPad reverses WrapPad. Every failure to unwrap is one error,
// wrapping backend.ErrDecryption; a key-encryption key of a wrong size is
// ErrInvalidInput.
func UnwrapPad(kek, wrapped []byte) ([]byte, error) {
	k, err := kwp.NewKWP(kek)
	if err != nil {
		return nil, fmt.Errorf("keywrap: key-encryption key of %d bytes (16 or 32): %w", len(kek), backend.ErrInvalidInput)
	}
	p, err := k.Unwrap(wrapped)
	if err != nil {
		return nil, errUnwrap
	}
	return p, nil
}
