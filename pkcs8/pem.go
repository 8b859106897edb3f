package pkcs8

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/mlkem"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"slices"
	"strings"

	"filippo.io/mldsa"

	"github.com/keyplane/keyplane/backend"
)

// PEM block types.
const (
	TypePrivateKey          = "PRIVATE KEY"           // PKCS#8 PrivateKeyInfo
	TypeEncryptedPrivateKey = "ENCRYPTED PRIVATE KEY" // PKCS#8 EncryptedPrivateKeyInfo
	TypeRSAPrivateKey       = "RSA PRIVATE KEY"       // PKCS#1
	TypeECPrivateKey        = "EC PRIVATE KEY"        // SEC1
)

// supportedKeys names the private key types the package reads and writes.
const supportedKeys = "RSA, ECDSA, Ed25519, X25519, ML-KEM-768/1024 and ML-DSA-44/65/87"

var keyTypes = []string{TypePrivateKey, TypeEncryptedPrivateKey, TypeRSAPrivateKey, TypeECPrivateKey}

// ParsePrivateKeyPEM reads the first private key block in data: PKCS#8
// ("PRIVATE KEY"), encrypted PKCS#8 ("ENCRYPTED PRIVATE KEY"), PKCS#1
// ("RSA PRIVATE KEY") or SEC1 ("EC PRIVATE KEY"). Other blocks before it
// (certificates, "EC PARAMETERS") are skipped.
//
// passphrase is called only for an encrypted key; it may be nil when the
// caller has none, and then an encrypted key gives an error wrapping
// backend.ErrAuthentication.
//
// The result is *rsa.PrivateKey, *ecdsa.PrivateKey or ed25519.PrivateKey.
// Errors wrap backend.ErrInvalidInput (no key block, truncated or malformed
// input), backend.ErrUnsupported (legacy "Proc-Type: 4,ENCRYPTED" PEM, an
// encryption scheme or key type not handled) or backend.ErrAuthentication
// (a wrong passphrase).
func ParsePrivateKeyPEM(data []byte, passphrase func() ([]byte, error)) (any, error) {
	var seen []string
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if !slices.Contains(keyTypes, block.Type) {
			seen = append(seen, block.Type)
			continue
		}
		return parseBlock(block, passphrase)
	}
	if len(seen) == 0 {
		return nil, fmt.Errorf("pkcs8: no PEM block found (truncated or not PEM): %w", backend.ErrInvalidInput)
	}
	return nil, fmt.Errorf("pkcs8: no private key in the PEM data (found %s; want one of %s): %w",
		quoteList(seen), quoteList(keyTypes), backend.ErrInvalidInput)
}

func quoteList(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}

func parseBlock(block *pem.Block, passphrase func() ([]byte, error)) (any, error) {
	if pt, ok := block.Headers["Proc-Type"]; ok && strings.Contains(pt, "ENCRYPTED") {
		cipher := block.Headers["DEK-Info"]
		if i := strings.IndexByte(cipher, ','); i >= 0 {
			cipher = cipher[:i]
		}
		return nil, fmt.Errorf("pkcs8: legacy PEM encryption (Proc-Type: 4,ENCRYPTED, DEK-Info: %q) is not supported; convert the key to encrypted PKCS#8 with \"openssl pkcs8 -topk8\": %w",
			cipher, backend.ErrUnsupported)
	}
	if err := checkBlockSize(block.Type, block.Bytes); err != nil {
		return nil, err
	}
	var (
		key any
		err error
	)
	switch block.Type {
	case TypePrivateKey:
		key, err = parsePKCS8(block.Bytes)
		if err != nil {
			return nil, err
		}
	case TypeEncryptedPrivateKey:
		if passphrase == nil {
			return nil, fmt.Errorf("pkcs8: the key is encrypted and no passphrase was given: %w", backend.ErrAuthentication)
		}
		// Check the scheme before asking for the passphrase.
		if _, err := parseScheme(block.Bytes); err != nil {
			return nil, err
		}
		pw, err := passphrase()
		if err != nil {
			return nil, fmt.Errorf("pkcs8: getting the passphrase: %w", err)
		}
		return ParseEncryptedPrivateKey(block.Bytes, pw)
	case TypeRSAPrivateKey:
		if err := checkPKCS1(block.Bytes); err != nil {
			return nil, err
		}
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("pkcs8: malformed PKCS#1 RSA private key: %v: %w", err, backend.ErrInvalidInput)
		}
	case TypeECPrivateKey:
		key, err = x509.ParseECPrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("pkcs8: malformed SEC1 EC private key: %v: %w", err, backend.ErrInvalidInput)
		}
	}
	return checkKeyType(key)
}

func parsePKCS8(der []byte) (any, error) {
	if err := checkPKCS8(der); err != nil {
		return nil, err
	}
	key, ok, err := parsePQ(der)
	if ok {
		if err != nil {
			return nil, err
		}
		return checkKeyType(key)
	}
	key, err = x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		if isUnknownAlgorithm(err) {
			return nil, fmt.Errorf("pkcs8: %v: %w", err, backend.ErrUnsupported)
		}
		return nil, fmt.Errorf("pkcs8: malformed PKCS#8 private key: %v: %w", err, backend.ErrInvalidInput)
	}
	return checkKeyType(key)
}

func checkKeyType(key any) (any, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey,
		*mlkem.DecapsulationKey768, *mlkem.DecapsulationKey1024, *mldsa.PrivateKey:
		return key, nil
	case *ecdh.PrivateKey:
		if k.Curve() == ecdh.X25519() {
			return key, nil
		}
	}
	return nil, fmt.Errorf("pkcs8: private key of type %T is not supported (%s are): %w", key, supportedKeys, backend.ErrUnsupported)
}

// ParseEncryptedPrivateKey decrypts a DER EncryptedPrivateKeyInfo and
// parses the PKCS#8 key inside. Every failure after decryption (bad
// padding, a plaintext that is not a PKCS#8 key) wraps
// backend.ErrAuthentication: with CBC, that is what a wrong passphrase
// looks like.
func ParseEncryptedPrivateKey(der, passphrase []byte) (any, error) {
	if err := checkBlockSize(TypeEncryptedPrivateKey, der); err != nil {
		return nil, err
	}
	plain, err := Decrypt(der, passphrase)
	if err != nil {
		return nil, err
	}
	defer clear(plain)
	if err := checkPKCS8(plain); err != nil {
		return nil, err
	}
	key, err := parsePKCS8Any(plain)
	if err != nil {
		return nil, errWrongPassphrase
	}
	return checkKeyType(key)
}

// MarshalEncryptedPrivateKey returns key (*rsa.PrivateKey,
// *ecdsa.PrivateKey, ed25519.PrivateKey) as a DER EncryptedPrivateKeyInfo
// encrypted under passphrase (see Encrypt).
func MarshalEncryptedPrivateKey(key any, passphrase []byte, opts *EncryptOptions) ([]byte, error) {
	der, err := marshalPKCS8(key)
	if err != nil {
		return nil, err
	}
	defer clear(der)
	return Encrypt(der, passphrase, opts)
}

func marshalPKCS8(key any) ([]byte, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if k == nil || k.N == nil || k.D == nil || len(k.Primes) < 2 {
			return nil, fmt.Errorf("pkcs8: incomplete RSA private key: %w", backend.ErrInvalidInput)
		}
	case *ecdsa.PrivateKey:
		//lint:ignore SA1019 a hand-built key without D makes (*ecdsa.PrivateKey).Bytes panic, so D is checked, not used
		if k == nil || k.Curve == nil || k.D == nil {
			return nil, fmt.Errorf("pkcs8: incomplete ECDSA private key: %w", backend.ErrInvalidInput)
		}
	case ed25519.PrivateKey:
		if len(k) != ed25519.PrivateKeySize {
			return nil, fmt.Errorf("pkcs8: Ed25519 private key of %d bytes, want %d: %w", len(k), ed25519.PrivateKeySize, backend.ErrInvalidInput)
		}
	case *ecdh.PrivateKey:
		if k == nil || k.Curve() != ecdh.X25519() {
			return nil, fmt.Errorf("pkcs8: only X25519 keys are written as *ecdh.PrivateKey (EC keys as *ecdsa.PrivateKey): %w", backend.ErrUnsupported)
		}
	default:
		der, ok, err := marshalPQ(key)
		if ok {
			return der, err
		}
		return nil, fmt.Errorf("pkcs8: private key of type %T is not supported (%s are): %w", key, supportedKeys, backend.ErrUnsupported)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("pkcs8: %v: %w", err, backend.ErrInvalidInput)
	}
	return der, nil
}

// MarshalPrivateKeyPEM returns key (*rsa.PrivateKey, *ecdsa.PrivateKey,
// ed25519.PrivateKey) as PEM: "PRIVATE KEY" (PKCS#8) when passphrase is
// nil, "ENCRYPTED PRIVATE KEY" (PBES2, PBKDF2-HMAC-SHA256 with
// DefaultIterations, AES-256-CBC) otherwise. An empty non-nil passphrase is
// refused with backend.ErrInvalidInput, so that a missing passphrase never
// silently means "encrypted with the empty string".
func MarshalPrivateKeyPEM(key any, passphrase []byte) ([]byte, error) {
	if passphrase == nil {
		der, err := marshalPKCS8(key)
		if err != nil {
			return nil, err
		}
		defer clear(der)
		return pem.EncodeToMemory(&pem.Block{Type: TypePrivateKey, Bytes: der}), nil
	}
	der, err := MarshalEncryptedPrivateKey(key, passphrase, nil)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: TypeEncryptedPrivateKey, Bytes: der}), nil
}
