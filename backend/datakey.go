package backend

import "context"

// DataKeyGenerator is an optional interface: backends that make data keys
// for envelope encryption themselves, in one call, and wrap them in their
// own format (AWS KMS GenerateDataKey and Decrypt). A recipe that needs a
// data key under a key without this interface makes one itself and wraps
// it with AEAD (an aes-256 key) or RSA-OAEP (an RSA key).
type DataKeyGenerator interface {
	// GenerateDataKey returns a fresh random key of size bytes, both in
	// plaintext and wrapped under the key ref names, the wrapping bound to
	// ad (which DecryptDataKey must be given again). It returns
	// ErrNotFound for an unknown ref, ErrUnsupported for a key that cannot
	// wrap data keys, and ErrInvalidInput for a size or ad the backend
	// cannot take.
	GenerateDataKey(ctx context.Context, ref string, size int, ad []byte) (plaintext, wrapped []byte, err error)
	// DecryptDataKey returns the plaintext of a data key that
	// GenerateDataKey wrapped under the key ref names with the same ad.
	// Every failure to unwrap is ErrDecryption.
	DecryptDataKey(ctx context.Context, ref string, wrapped, ad []byte) ([]byte, error)
}
