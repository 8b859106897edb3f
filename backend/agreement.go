package backend

import (
	"context"
	"crypto"
	"crypto/ecdh"
)

// Key-agreement and key-encapsulation algorithms, and the ML-DSA signature
// algorithm. They are names only until a backend makes such keys (see
// Capabilities.Algorithms); the suite checks each backend that lists one.
const (
	// X25519 is a Curve25519 key-agreement key (RFC 7748).
	X25519 Algorithm = "x25519"
	// MLKEM768 and MLKEM1024 are ML-KEM decapsulation keys (FIPS 203).
	MLKEM768  Algorithm = "ml-kem-768"
	MLKEM1024 Algorithm = "ml-kem-1024"
	// MLDSA44, MLDSA65 and MLDSA87 are ML-DSA signing keys (FIPS 204).
	MLDSA44 Algorithm = "ml-dsa-44"
	MLDSA65 Algorithm = "ml-dsa-65"
	MLDSA87 Algorithm = "ml-dsa-87"
)

// The extension interfaces (KeyAgreement, KEM, KeyVersions, and those that
// follow them) are optional interfaces with one difference from the ones
// before: wrappers (observe.Wrap, the plugin host) always have them and
// answer ErrUnsupported when the backend inside does not. Capabilities says
// what a backend can do.

// KeyAgreement is an optional interface: backends whose keys do
// elliptic-curve Diffie-Hellman with the private key inside them (X25519
// keys, and EC P-256/P-384/P-521 keys where the backend allows derivation).
type KeyAgreement interface {
	// KeyExchanger returns an ecdh.KeyExchanger for the key, ErrNotFound,
	// or ErrUnsupported for a key that cannot do key agreement. Its ECDH
	// method returns the raw shared secret, as crypto/ecdh's does; a peer
	// key on another curve or an invalid point is ErrInvalidInput.
	KeyExchanger(ctx context.Context, ref string) (ecdh.KeyExchanger, error)
}

// KEM is an optional interface: backends that hold key-encapsulation
// (ML-KEM) private keys.
type KEM interface {
	// Decapsulator returns a crypto.Decapsulator for the key, ErrNotFound,
	// or ErrUnsupported for a key that is not a KEM key. A ciphertext of
	// the wrong length is ErrInvalidInput; ML-KEM's implicit rejection
	// means a tampered ciphertext of the right length yields a different
	// shared key, not an error.
	Decapsulator(ctx context.Context, ref string) (crypto.Decapsulator, error)
}
