package backend

import (
	"errors"
	"slices"
)

// Sentinel errors. Backends wrap them with context (fmt.Errorf("...: %w",
// ErrNotFound)); callers test them with errors.Is. No error a backend returns
// may contain a PIN, a passphrase or key bytes.
var (
	// ErrNotFound: no key matches the reference.
	ErrNotFound = errors.New("key not found")
	// ErrAlreadyExists: a key with that label (or ID) already exists.
	ErrAlreadyExists = errors.New("key already exists")
	// ErrUnsupported: the backend, the key or the token cannot do this
	// algorithm, operation or option.
	ErrUnsupported = errors.New("unsupported")
	// ErrInvalidInput: the caller passed something malformed (a bad label, a
	// digest of the wrong length, an unknown option, a bad URI).
	ErrInvalidInput = errors.New("invalid input")
	// ErrDecryption is the one deliberately vague decryption error: bad
	// padding, a wrong key, a tampered ciphertext or tag all look the same, so
	// that it cannot serve as a padding oracle. Backends must return it
	// unwrapped-equivalent (no CKR code or padding detail in the message).
	ErrDecryption = errors.New("decryption failed")
	// ErrAuthentication: a wrong PIN or passphrase, or a locked token.
	ErrAuthentication = errors.New("authentication failed")
	// ErrUnavailable: the backend cannot be reached right now (a token removed,
	// a device error, a dead plugin). Retrying later may succeed.
	ErrUnavailable = errors.New("backend unavailable")
	// ErrClosed: the backend (or plugin) was closed by its owner.
	ErrClosed = errors.New("backend closed")
	// ErrKeyRetired: the key version is below the key's minimum version
	// (KeyVersions.SetMinVersion): it still verifies, but no longer signs
	// or decrypts.
	ErrKeyRetired = errors.New("key version retired")
)

// AllSentinels returns every sentinel error, in a fixed order: the order
// Kind tries them in (the first one an error wraps wins). New sentinels are
// only ever appended; the plugin protocol carries each by name. The slice
// is a fresh copy: changing it changes nothing in the package.
func AllSentinels() []error { return slices.Clone(sentinels) }

// sentinels lists every sentinel error, in a fixed order; append only.
var sentinels = []error{
	ErrNotFound,
	ErrAlreadyExists,
	ErrUnsupported,
	ErrInvalidInput,
	ErrDecryption,
	ErrAuthentication,
	ErrUnavailable,
	ErrClosed,
	ErrKeyRetired,
}

// Kind returns the first sentinel that err wraps, or nil when err wraps none.
func Kind(err error) error {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return s
		}
	}
	return nil
}
