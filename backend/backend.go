package backend

import (
	"context"
	"crypto"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// KeySpec says what key to generate.
type KeySpec struct {
	// Label names the key; it must be unique within the backend.
	// See ValidateLabel for what a label may contain.
	Label string
	// Algorithm is the key type.
	Algorithm Algorithm
	// Wrappable makes a key that may leave the backend only wrapped under a trusted wrapping key (PKCS#11: CKA_EXTRACTABLE and CKA_WRAP_WITH_TRUSTED true; see KeyWrapper); a backend that cannot make such keys returns ErrUnsupported.
	Wrappable bool
}

// Key describes a key held by a backend. It never holds private material.
type Key struct {
	// ID identifies the key within its backend, stable for its life
	// (the CKA_ID of a PKCS#11 key). Show it in hex.
	ID []byte
	// Label is the key's name, unique within the backend.
	Label string
	// Algorithm is the key type.
	Algorithm Algorithm
	// Public is the public key (*rsa.PublicKey, *ecdsa.PublicKey,
	// ed25519.PublicKey), nil for secret keys.
	Public crypto.PublicKey
	// Created is when the key was made or imported, zero when the backend
	// does not know.
	Created time.Time
	// URI is a backend-specific reference to the key that Signer, Decrypter
	// and the other methods taking a ref accept; empty when the label is
	// the only reference.
	URI string
	// Version is the key version this Key describes (see KeyVersions), 0
	// when the backend does not version keys (which means version 1).
	Version int
}

// IDHex returns the key's ID in lowercase hex.
func (k *Key) IDHex() string { return hex.EncodeToString(k.ID) }

// KeyGen generates keys inside the backend.
type KeyGen interface {
	// GenerateKey makes a key from spec. It returns ErrAlreadyExists when
	// the label is taken, ErrUnsupported when the backend cannot make keys
	// of that algorithm, ErrInvalidInput for a bad label.
	GenerateKey(ctx context.Context, spec KeySpec) (*Key, error)
}

// Signer hands out signers for asymmetric keys.
type Signer interface {
	// Signer returns a crypto.Signer for the key. Its Sign method takes the
	// standard options: crypto.Hash for PKCS#1 v1.5 and ECDSA (the digest
	// already hashed), *rsa.PSSOptions for RSA-PSS, crypto.Hash(0) for
	// Ed25519 (the message itself). It refuses other options with
	// ErrUnsupported or ErrInvalidInput; it never falls back to a default.
	// ECDSA signatures are ASN.1 DER, like crypto/ecdsa's.
	//
	// Signer returns ErrNotFound for an unknown ref and ErrUnsupported for
	// a key that cannot sign (a secret key).
	Signer(ctx context.Context, ref string) (crypto.Signer, error)
}

// Decrypter hands out decrypters for RSA keys.
type Decrypter interface {
	// Decrypter returns a crypto.Decrypter for the key. Its Decrypt method
	// takes *rsa.OAEPOptions (SHA-1 or SHA-2, MGF hash, label) and
	// *rsa.PKCS1v15DecryptOptions (with SessionKeyLen for implicit
	// rejection); nil means PKCS#1 v1.5, as with crypto/rsa. Every
	// decryption failure is ErrDecryption and nothing more specific.
	Decrypter(ctx context.Context, ref string) (crypto.Decrypter, error)
}

// KeyManager finds, lists and deletes keys.
type KeyManager interface {
	// Key returns the key that ref names, or ErrNotFound.
	Key(ctx context.Context, ref string) (*Key, error)
	// Keys lists every key, sorted by label.
	Keys(ctx context.Context) ([]*Key, error)
	// DeleteKey destroys the key (both halves of a key pair), or returns
	// ErrNotFound.
	DeleteKey(ctx context.Context, ref string) error
}

// Backend is a place where keys live.
type Backend interface {
	KeyGen
	Signer
	Decrypter
	KeyManager
	// Capabilities reports what this backend can do.
	Capabilities(ctx context.Context) (*Capabilities, error)
	// Close releases the backend's resources. Calls after Close return
	// ErrClosed. Close is idempotent.
	Close() error
}

// AEAD is authenticated encryption with a key the backend holds.
//
// The output of Seal is nonce ‖ ciphertext ‖ tag, with a fresh random nonce
// of NonceSize bytes for every call (96 bits for AES-GCM) and a tag of
// Overhead-NonceSize bytes (128 bits for AES-GCM). Open takes the same
// layout. Every failure to open is ErrDecryption.
//
// The one exception is a backend whose Capabilities say
// Details[DetailAEADLayout] = AEADLayoutService (AWS KMS): its sealed
// messages are the service's own ciphertext format, NonceSize is 0 and
// Overhead an upper bound (see DetailAEADLayout); DetailAEADPlaintext
// says which plaintext lengths it seals.
type AEAD interface {
	// NonceSize is the length of the nonce at the start of a sealed message.
	NonceSize() int
	// Overhead is how much longer a sealed message is than its plaintext.
	Overhead() int
	// Seal encrypts and authenticates plaintext and authenticates ad.
	Seal(ctx context.Context, plaintext, ad []byte) ([]byte, error)
	// Open authenticates and decrypts a message from Seal.
	Open(ctx context.Context, sealed, ad []byte) ([]byte, error)
}

// AEADBackend is an optional interface: backends that hold secret keys for
// authenticated encryption (the aes-256 algorithm).
type AEADBackend interface {
	// AEAD returns the AEAD for the key, ErrNotFound, or ErrUnsupported for
	// a key that is not an AES key.
	AEAD(ctx context.Context, ref string) (AEAD, error)
}

// FernetKey is the backend side of a Fernet key: the two primitives the
// Fernet format needs, done with keys the backend holds. The token format
// itself is built on top (package fernet).
type FernetKey interface {
	// MAC returns HMAC-SHA256 of data under the signing key.
	MAC(ctx context.Context, data []byte) ([]byte, error)
	// EncryptCBC encrypts with AES-128-CBC and PKCS#7 padding under the
	// encryption key, with the given 16-byte IV.
	EncryptCBC(ctx context.Context, iv, plaintext []byte) ([]byte, error)
	// DecryptCBC reverses EncryptCBC; any failure is ErrDecryption.
	DecryptCBC(ctx context.Context, iv, ciphertext []byte) ([]byte, error)
}

// FernetBackend is an optional interface: backends that hold Fernet keys.
type FernetBackend interface {
	// Fernet returns the Fernet key, ErrNotFound, or ErrUnsupported for a
	// key that is not a Fernet key.
	Fernet(ctx context.Context, ref string) (FernetKey, error)
}

// SecretKey is symmetric key material handed to an Importer. Its String and
// GoString methods never show the bytes.
type SecretKey struct {
	Algorithm Algorithm // AES256 or Fernet
	Value     []byte    // 32 bytes; for Fernet, signing key ‖ encryption key
}

func (s SecretKey) String() string   { return fmt.Sprintf("SecretKey{%s, redacted}", s.Algorithm) }
func (s SecretKey) GoString() string { return s.String() }

// Format prints the redacted String for every verb (%d and %x included), so
// no formatting of a SecretKey shows its bytes.
func (s SecretKey) Format(f fmt.State, verb rune) { fmt.Fprint(f, s.String()) }

// Importer is an optional interface: backends that accept existing keys.
type Importer interface {
	// ImportKey stores key under label. key is *rsa.PrivateKey,
	// *ecdsa.PrivateKey, ed25519.PrivateKey, or SecretKey. It returns
	// ErrAlreadyExists when the label is taken, ErrUnsupported for a key
	// type the backend cannot hold, ErrInvalidInput for malformed material.
	ImportKey(ctx context.Context, label string, key any) (*Key, error)
}

// Exporter is an optional interface: backends whose keys may leave them (the
// software keystore). HSM backends do not implement it.
type Exporter interface {
	// ExportKey returns the private key (*rsa.PrivateKey, *ecdsa.PrivateKey,
	// ed25519.PrivateKey) or SecretKey.
	ExportKey(ctx context.Context, ref string) (any, error)
}

// MaxLabelLen is the longest label accepted, in bytes.
const MaxLabelLen = 128

// ValidateLabel checks a key label: 1 to MaxLabelLen bytes of valid UTF-8,
// printable, no "/", "\" or NUL, not starting with "." or "id:". It returns an
// error wrapping ErrInvalidInput.
func ValidateLabel(label string) error {
	switch {
	case label == "":
		return fmt.Errorf("empty key label: %w", ErrInvalidInput)
	case len(label) > MaxLabelLen:
		return fmt.Errorf("key label longer than %d bytes: %w", MaxLabelLen, ErrInvalidInput)
	case !utf8.ValidString(label):
		return fmt.Errorf("key label is not valid UTF-8: %w", ErrInvalidInput)
	case strings.HasPrefix(label, "."):
		return fmt.Errorf("key label %q may not start with \".\": %w", label, ErrInvalidInput)
	case strings.HasPrefix(label, "id:"):
		return fmt.Errorf("key label %q may not start with \"id:\" (that prefix names a key by ID): %w", label, ErrInvalidInput)
	}
	for _, r := range label {
		if r < 0x20 || r == 0x7f || r == '/' || r == '\\' {
			return fmt.Errorf("key label %q contains %q: %w", label, r, ErrInvalidInput)
		}
	}
	return nil
}

// KeyRef is a parsed key reference: a label, or an ID.
type KeyRef struct {
	Label string
	ID    []byte // set when the reference was "id:<hex>"
}

// ParseKeyRef parses a reference: "id:<hex>" names a key by ID, anything
// else is a label. Backends with their own forms (URIs) check for those
// first.
func ParseKeyRef(ref string) (KeyRef, error) {
	if h, ok := strings.CutPrefix(ref, "id:"); ok {
		id, err := hex.DecodeString(h)
		if err != nil || len(id) == 0 {
			return KeyRef{}, fmt.Errorf("key reference %q: the ID after \"id:\" must be non-empty hex: %w", ref, ErrInvalidInput)
		}
		return KeyRef{ID: id}, nil
	}
	if ref == "" {
		return KeyRef{}, fmt.Errorf("empty key reference: %w", ErrInvalidInput)
	}
	return KeyRef{Label: ref}, nil
}

// Matches reports whether k is the key this reference names.
func (r KeyRef) Matches(k *Key) bool {
	if r.ID != nil {
		return string(r.ID) == string(k.ID)
	}
	return r.Label == k.Label
}

// String returns the reference in the form ParseKeyRef reads.
func (r KeyRef) String() string {
	if r.ID != nil {
		return "id:" + hex.EncodeToString(r.ID)
	}
	return r.Label
}
