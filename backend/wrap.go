package backend

import (
	"context"
	"crypto"
	"fmt"
)

// WrapMechanism names how a key is encrypted under another key so that it
// can leave one backend and enter another (backup, migration between
// tokens) without its plaintext ever being outside a key store.
type WrapMechanism string

const (
	// WrapAESKeyWrapPad is AES key wrap with padding (RFC 5649;
	// PKCS#11 CKM_AES_KEY_WRAP_PAD) under an AES-256 wrapping key. It
	// wraps AES keys (their 32 bytes) and private keys (their PKCS#8
	// PrivateKeyInfo DER).
	WrapAESKeyWrapPad WrapMechanism = "aes-key-wrap-pad"
	// WrapRSAOAEP is RSA-OAEP with SHA-1 and MGF1-SHA1, no label
	// (CKM_RSA_PKCS_OAEP), under an RSA wrapping key. It wraps AES keys
	// only: a private key does not fit in one RSA block.
	WrapRSAOAEP WrapMechanism = "rsa-oaep-sha1"
	// WrapRSAAESKeyWrap is a fresh AES-256 key wrapped with WrapRSAOAEP
	// (one RSA block, as long as the modulus), followed by the key
	// wrapped under that AES key with WrapAESKeyWrapPad: the layout of
	// PKCS#11's CKM_RSA_AES_KEY_WRAP with SHA-1 OAEP. It wraps any key
	// to an RSA public key.
	WrapRSAAESKeyWrap WrapMechanism = "rsa-aes-key-wrap-sha1"
)

var wrapMechanisms = []WrapMechanism{WrapAESKeyWrapPad, WrapRSAOAEP, WrapRSAAESKeyWrap}

// AllWrapMechanisms returns every wrap mechanism, in a fixed order. The
// slice is the caller's.
func AllWrapMechanisms() []WrapMechanism {
	return append([]WrapMechanism(nil), wrapMechanisms...)
}

// ParseWrapMechanism returns the mechanism with that name, or an error
// wrapping ErrUnsupported.
func ParseWrapMechanism(name string) (WrapMechanism, error) {
	for _, m := range wrapMechanisms {
		if string(m) == name {
			return m, nil
		}
	}
	return "", fmt.Errorf("unknown wrap mechanism %q (known: %s, %s, %s): %w",
		name, WrapAESKeyWrapPad, WrapRSAOAEP, WrapRSAAESKeyWrap, ErrUnsupported)
}

// WrappedKey is a key encrypted under a wrapping key, with what a backend
// needs to recreate it as it was: its label, ID, public half and
// attributes. Only Ciphertext is secret, and only to whoever holds the
// unwrapping key; String never shows it.
type WrappedKey struct {
	// Mechanism is how Ciphertext was made.
	Mechanism WrapMechanism
	// Algorithm is the wrapped key's type.
	Algorithm Algorithm
	// Label and ID are the key's in the backend it came from.
	Label string
	ID    []byte
	// Public is the public half of a private key (*rsa.PublicKey,
	// *ecdsa.PublicKey, ed25519.PublicKey), nil for a secret key: the
	// unwrapping backend recreates the public object from it.
	Public crypto.PublicKey
	// Attributes are the PKCS#11 boolean attributes the key had, by
	// name ("CKA_SIGN", "CKA_DECRYPT", "CKA_SENSITIVE",
	// "CKA_EXTRACTABLE", "CKA_WRAP_WITH_TRUSTED", ...), for a backend
	// that sets them again; nil when the source has none to tell.
	Attributes map[string]bool
	// Ciphertext is the wrapped key: the encryption, under Mechanism, of
	// a private key's PKCS#8 PrivateKeyInfo DER or an AES key's bytes.
	Ciphertext []byte
}

func (w *WrappedKey) String() string {
	return fmt.Sprintf("WrappedKey{%s %q, %s, %d bytes}", w.Algorithm, w.Label, w.Mechanism, len(w.Ciphertext))
}

// KeyWrapper is an optional interface: backends that can let a key out,
// encrypted under a wrapping key they hold.
//
// A backend lets out only keys made to leave: on PKCS#11, CKA_EXTRACTABLE
// true, and for a key with CKA_WRAP_WITH_TRUSTED true (KeySpec.Wrappable)
// only under a wrapping key with CKA_TRUSTED true.
type KeyWrapper interface {
	// WrapKey encrypts the key ref names under the wrapping key
	// wrappingRef with mech. It returns ErrNotFound for an unknown ref,
	// ErrUnsupported for a key that may not leave (the error names the
	// attribute that forbids it), for a wrapping key that may not wrap
	// it, or for a mechanism the backend lacks.
	WrapKey(ctx context.Context, ref, wrappingRef string, mech WrapMechanism) (*WrappedKey, error)
}

// KeyUnwrapper is an optional interface: backends that can take in a key
// wrapped under a key they hold, decrypting it inside the backend.
type KeyUnwrapper interface {
	// UnwrapKey decrypts w with the unwrapping key unwrappingRef inside
	// the backend and stores the key under label (w.Label when label is
	// empty), with w.ID and w.Attributes where the backend can keep
	// them. It returns ErrAlreadyExists when the label or ID is taken,
	// ErrUnsupported for a key type or mechanism the backend cannot
	// unwrap, and ErrInvalidInput for a ciphertext that does not unwrap.
	UnwrapKey(ctx context.Context, w *WrappedKey, unwrappingRef, label string) (*Key, error)
}

// DetailWrap and DetailUnwrap are the Capabilities.Details keys by which
// a backend lists the wrap mechanisms its KeyWrapper and KeyUnwrapper
// offer, comma-separated ("aes-key-wrap-pad, rsa-oaep-sha1"); empty when
// it has none. A backend without the key does not wrap.
const (
	DetailWrap   = "wrap"
	DetailUnwrap = "unwrap"
)
