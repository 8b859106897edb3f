package backend

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"fmt"
	"slices"
)

// Algorithm names a key type: what GenerateKey makes and what a key is.
type Algorithm string

// Key algorithms.
const (
	RSA2048 Algorithm = "rsa-2048"
	RSA3072 Algorithm = "rsa-3072"
	RSA4096 Algorithm = "rsa-4096"
	ECP256  Algorithm = "ec-p256"
	ECP384  Algorithm = "ec-p384"
	ECP521  Algorithm = "ec-p521"
	Ed25519 Algorithm = "ed25519"
	AES256  Algorithm = "aes-256"
	// Fernet is a Fernet key: a 128-bit HMAC-SHA256 signing key and a
	// 128-bit AES-CBC encryption key (the 32 bytes that pyca's
	// Fernet.generate_key encodes in base64url).
	Fernet Algorithm = "fernet"
)

// algorithms lists every key algorithm, in a fixed order.
var algorithms = []Algorithm{RSA2048, RSA3072, RSA4096, ECP256, ECP384, ECP521, Ed25519, AES256, Fernet,
	X25519, MLKEM768, MLKEM1024, MLDSA44, MLDSA65, MLDSA87}

// AllAlgorithms returns every key algorithm, in a fixed order. The slice is
// a fresh copy: changing it changes nothing in the package.
func AllAlgorithms() []Algorithm { return slices.Clone(algorithms) }

// ParseAlgorithm returns the algorithm with that name, or an error wrapping
// ErrUnsupported that lists the known names.
func ParseAlgorithm(name string) (Algorithm, error) {
	for _, a := range algorithms {
		if string(a) == name {
			return a, nil
		}
	}
	return "", fmt.Errorf("unknown key type %q (known: %s): %w", name, joinNames(algorithms), ErrUnsupported)
}

// Family is the broad kind of an algorithm.
type Family int

// Algorithm families.
const (
	FamilyUnknown Family = iota
	FamilyRSA
	FamilyEC
	FamilyEd25519
	FamilyAES
	FamilyFernet
	FamilyX25519 // X25519 key agreement
	FamilyMLKEM  // ML-KEM key encapsulation
	FamilyMLDSA  // ML-DSA signatures
)

// Family returns the algorithm's family.
func (a Algorithm) Family() Family {
	switch a {
	case RSA2048, RSA3072, RSA4096:
		return FamilyRSA
	case ECP256, ECP384, ECP521:
		return FamilyEC
	case Ed25519:
		return FamilyEd25519
	case AES256:
		return FamilyAES
	case Fernet:
		return FamilyFernet
	case X25519:
		return FamilyX25519
	case MLKEM768, MLKEM1024:
		return FamilyMLKEM
	case MLDSA44, MLDSA65, MLDSA87:
		return FamilyMLDSA
	}
	return FamilyUnknown
}

// Asymmetric reports whether the algorithm has a public key.
func (a Algorithm) Asymmetric() bool {
	switch a.Family() {
	case FamilyRSA, FamilyEC, FamilyEd25519, FamilyX25519, FamilyMLKEM, FamilyMLDSA:
		return true
	}
	return false
}

// Signs reports whether keys of the algorithm make signatures (RSA, EC,
// Ed25519 and ML-DSA keys; not X25519 or ML-KEM keys, which are
// asymmetric but only agree on or decapsulate shared secrets).
func (a Algorithm) Signs() bool {
	switch a.Family() {
	case FamilyRSA, FamilyEC, FamilyEd25519, FamilyMLDSA:
		return true
	}
	return false
}

// RSABits returns the modulus size of an RSA algorithm, or 0.
func (a Algorithm) RSABits() int {
	switch a {
	case RSA2048:
		return 2048
	case RSA3072:
		return 3072
	case RSA4096:
		return 4096
	}
	return 0
}

// Curve returns the elliptic curve of an EC algorithm, or nil.
func (a Algorithm) Curve() elliptic.Curve {
	switch a {
	case ECP256:
		return elliptic.P256()
	case ECP384:
		return elliptic.P384()
	case ECP521:
		return elliptic.P521()
	}
	return nil
}

// SecretSize returns the key size in bytes of a symmetric algorithm, or 0.
func (a Algorithm) SecretSize() int {
	switch a {
	case AES256, Fernet:
		return 32
	}
	return 0
}

// AlgorithmOf returns the algorithm of a public key (or of a private key,
// through its Public method), or an error wrapping ErrUnsupported.
// A malformed key (a nil pointer, no modulus or curve, an Ed25519 key of the
// wrong length) gives an error wrapping ErrInvalidInput, never a panic.
func AlgorithmOf(key any) (Algorithm, error) {
	// Private keys' Public methods panic on some malformed keys: look first.
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if k == nil {
			return "", fmt.Errorf("nil RSA private key: %w", ErrInvalidInput)
		}
	case *ecdsa.PrivateKey:
		if k == nil {
			return "", fmt.Errorf("nil EC private key: %w", ErrInvalidInput)
		}
	case ed25519.PrivateKey:
		if len(k) != ed25519.PrivateKeySize {
			return "", fmt.Errorf("Ed25519 private key of %d bytes, want %d: %w", len(k), ed25519.PrivateKeySize, ErrInvalidInput)
		}
	}
	if alg, ok, err := pqAlgorithmOf(key); ok {
		return alg, err
	}
	if k, ok := key.(interface{ Public() crypto.PublicKey }); ok {
		key = k.Public()
	}
	if alg, ok, err := pqAlgorithmOf(key); ok {
		return alg, err
	}
	switch k := key.(type) {
	case *rsa.PublicKey:
		if k == nil || k.N == nil {
			return "", fmt.Errorf("RSA key without a modulus: %w", ErrInvalidInput)
		}
		switch k.N.BitLen() {
		case 2048:
			return RSA2048, nil
		case 3072:
			return RSA3072, nil
		case 4096:
			return RSA4096, nil
		}
		return "", fmt.Errorf("RSA key of %d bits (supported: 2048, 3072, 4096): %w", k.N.BitLen(), ErrUnsupported)
	case *ecdsa.PublicKey:
		if k == nil || k.Curve == nil {
			return "", fmt.Errorf("EC key without a curve: %w", ErrInvalidInput)
		}
		switch k.Curve {
		case elliptic.P256():
			return ECP256, nil
		case elliptic.P384():
			return ECP384, nil
		case elliptic.P521():
			return ECP521, nil
		}
		return "", fmt.Errorf("EC key on curve %s (supported: P-256, P-384, P-521): %w", k.Curve.Params().Name, ErrUnsupported)
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return "", fmt.Errorf("Ed25519 public key of %d bytes: %w", len(k), ErrInvalidInput)
		}
		return Ed25519, nil
	}
	return "", fmt.Errorf("key type %T: %w", key, ErrUnsupported)
}

func joinNames[T ~string](names []T) string {
	s := ""
	for i, n := range names {
		if i > 0 {
			s += ", "
		}
		s += string(n)
	}
	return s
}
