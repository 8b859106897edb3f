package pkcs8

import (
	"crypto/ecdh"
	"crypto/mlkem"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"strings"

	"filippo.io/mldsa"

	"github.com/keyplane/keyplane/backend"
)

// Object identifiers of the post-quantum key types (NIST CSOR): ML-KEM
// (RFC 9935) and ML-DSA (RFC 9881). Both are written with no parameters
// in the AlgorithmIdentifier.
var (
	oidMLKEM768  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 4, 2}
	oidMLKEM1024 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 4, 3}
	oidMLDSA44   = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 17}
	oidMLDSA65   = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 18}
	oidMLDSA87   = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 19}
)

// pqKind is one post-quantum key type: its OID, algorithm and seed size.
type pqKind struct {
	oid      asn1.ObjectIdentifier
	alg      backend.Algorithm
	seedSize int
	pubSize  int
}

var pqKinds = []pqKind{
	{oidMLKEM768, backend.MLKEM768, mlkem.SeedSize, mlkem.EncapsulationKeySize768},
	{oidMLKEM1024, backend.MLKEM1024, mlkem.SeedSize, mlkem.EncapsulationKeySize1024},
	{oidMLDSA44, backend.MLDSA44, mldsa.PrivateKeySize, mldsa.MLDSA44PublicKeySize},
	{oidMLDSA65, backend.MLDSA65, mldsa.PrivateKeySize, mldsa.MLDSA65PublicKeySize},
	{oidMLDSA87, backend.MLDSA87, mldsa.PrivateKeySize, mldsa.MLDSA87PublicKeySize},
}

func pqKindOf(oid asn1.ObjectIdentifier) (pqKind, bool) {
	for _, k := range pqKinds {
		if k.oid.Equal(oid) {
			return k, true
		}
	}
	return pqKind{}, false
}

func pqKindFor(alg backend.Algorithm) pqKind {
	for _, k := range pqKinds {
		if k.alg == alg {
			return k
		}
	}
	panic("pkcs8: no post-quantum kind for " + alg)
}

// privateKeyInfo is PKCS#8 PrivateKeyInfo (RFC 5208), version 0.
type privateKeyInfo struct {
	Version    int
	Algo       pkix.AlgorithmIdentifier
	PrivateKey []byte
}

// subjectPublicKeyInfo is X.509 SubjectPublicKeyInfo (RFC 5280).
type subjectPublicKeyInfo struct {
	Algo      pkix.AlgorithmIdentifier
	PublicKey asn1.BitString
}

// pqSeed returns the seed of an ML-KEM or ML-DSA private key and its kind;
// ok is false for other key types.
func pqSeed(key any) (seed []byte, kind pqKind, ok bool, err error) {
	switch k := key.(type) {
	case *mlkem.DecapsulationKey768:
		if k == nil {
			return nil, kind, true, fmt.Errorf("pkcs8: nil ML-KEM-768 key: %w", backend.ErrInvalidInput)
		}
		return k.Bytes(), pqKindFor(backend.MLKEM768), true, nil
	case *mlkem.DecapsulationKey1024:
		if k == nil {
			return nil, kind, true, fmt.Errorf("pkcs8: nil ML-KEM-1024 key: %w", backend.ErrInvalidInput)
		}
		return k.Bytes(), pqKindFor(backend.MLKEM1024), true, nil
	case *mldsa.PrivateKey:
		if k == nil {
			return nil, kind, true, fmt.Errorf("pkcs8: nil ML-DSA key: %w", backend.ErrInvalidInput)
		}
		alg, err := backend.AlgorithmOf(k.PublicKey())
		if err != nil {
			return nil, kind, true, fmt.Errorf("pkcs8: %w", err)
		}
		return k.Bytes(), pqKindFor(alg), true, nil
	}
	return nil, kind, false, nil
}

// marshalPQ encodes an ML-KEM or ML-DSA private key as PKCS#8 in the
// seed-only form: the privateKey OCTET STRING holds the CHOICE alternative
// seed [0] IMPLICIT OCTET STRING (RFC 9935 section 6 for ML-KEM, 64
// bytes; RFC 9881 section 6 for ML-DSA, 32 bytes). That is the form
// Python's cryptography and OpenSSL 3.5 write by default.
func marshalPQ(key any) (der []byte, ok bool, err error) {
	seed, kind, ok, err := pqSeed(key)
	if !ok || err != nil {
		return nil, ok, err
	}
	inner := make([]byte, 0, 2+len(seed))
	inner = append(inner, 0x80, byte(len(seed)))
	inner = append(inner, seed...)
	der, err = asn1.Marshal(privateKeyInfo{Algo: pkix.AlgorithmIdentifier{Algorithm: kind.oid}, PrivateKey: inner})
	clear(inner)
	if err != nil {
		return nil, true, fmt.Errorf("pkcs8: %v: %w", err, backend.ErrInvalidInput)
	}
	return der, true, nil
}

// parsePQ decodes an ML-KEM or ML-DSA PKCS#8 key; ok is false when der is
// another key type (or not PKCS#8 at all: crypto/x509 says why then).
func parsePQ(der []byte) (key any, ok bool, err error) {
	var info privateKeyInfo
	rest, err := asn1.Unmarshal(der, &info)
	if err != nil {
		return nil, false, nil
	}
	kind, ok := pqKindOf(info.Algo.Algorithm)
	if !ok {
		return nil, false, nil
	}
	defer clear(info.PrivateKey)
	if len(rest) != 0 {
		return nil, true, fmt.Errorf("pkcs8: %s private key followed by %d bytes: %w", kind.alg, len(rest), backend.ErrInvalidInput)
	}
	if info.Version != 0 {
		return nil, true, fmt.Errorf("pkcs8: %s private key of PKCS#8 version %d (0 is read): %w", kind.alg, info.Version, backend.ErrUnsupported)
	}
	if len(info.Algo.Parameters.FullBytes) != 0 {
		return nil, true, fmt.Errorf("pkcs8: %s AlgorithmIdentifier with parameters (they must be absent): %w", kind.alg, backend.ErrInvalidInput)
	}
	p := info.PrivateKey
	if len(p) == 0 {
		return nil, true, fmt.Errorf("pkcs8: empty %s private key: %w", kind.alg, backend.ErrInvalidInput)
	}
	switch p[0] {
	case 0x80: // seed [0] IMPLICIT OCTET STRING
	case 0x04:
		return nil, true, fmt.Errorf("pkcs8: %s private key in the expanded form without its seed: only the seed-only form is read (convert with openssl pkey -provparam %s.output_formats=seed-only): %w",
			kind.alg, pqProvider(kind.alg), backend.ErrUnsupported)
	case 0x30:
		return nil, true, fmt.Errorf("pkcs8: %s private key with both seed and expanded key: only the seed-only form is read (convert with openssl pkey -provparam %s.output_formats=seed-only): %w",
			kind.alg, pqProvider(kind.alg), backend.ErrUnsupported)
	default:
		return nil, true, fmt.Errorf("pkcs8: %s private key of unknown form (tag 0x%02x): %w", kind.alg, p[0], backend.ErrInvalidInput)
	}
	if len(p) != 2+kind.seedSize || int(p[1]) != kind.seedSize {
		return nil, true, fmt.Errorf("pkcs8: %s seed of the wrong length (want %d bytes): %w", kind.alg, kind.seedSize, backend.ErrInvalidInput)
	}
	key, err = pqFromSeed(kind.alg, p[2:])
	if err != nil {
		return nil, true, err
	}
	return key, true, nil
}

func pqProvider(alg backend.Algorithm) string {
	if alg.Family() == backend.FamilyMLKEM {
		return "ml-kem"
	}
	return "ml-dsa"
}

// pqFromSeed makes the private key of alg from its seed.
func pqFromSeed(alg backend.Algorithm, seed []byte) (any, error) {
	var (
		key any
		err error
	)
	switch alg {
	case backend.MLKEM768:
		key, err = mlkem.NewDecapsulationKey768(seed)
	case backend.MLKEM1024:
		key, err = mlkem.NewDecapsulationKey1024(seed)
	case backend.MLDSA44:
		key, err = mldsa.NewPrivateKey(mldsa.MLDSA44(), seed)
	case backend.MLDSA65:
		key, err = mldsa.NewPrivateKey(mldsa.MLDSA65(), seed)
	case backend.MLDSA87:
		key, err = mldsa.NewPrivateKey(mldsa.MLDSA87(), seed)
	default:
		return nil, fmt.Errorf("pkcs8: %s is not a seed key: %w", alg, backend.ErrUnsupported)
	}
	if err != nil {
		return nil, fmt.Errorf("pkcs8: %s seed: %v: %w", alg, err, backend.ErrInvalidInput)
	}
	return key, nil
}

// MarshalPublicKey returns pub as DER SubjectPublicKeyInfo: the standard
// library's form for RSA, ECDSA, Ed25519 and X25519 (*ecdh.PublicKey)
// keys, and for *mlkem.EncapsulationKey768/1024 and ML-DSA public keys
// the raw key in the BIT STRING with no AlgorithmIdentifier parameters
// (RFC 9935, RFC 9881), which Python's cryptography and OpenSSL 3.5 read.
func MarshalPublicKey(pub any) ([]byte, error) {
	var (
		raw []byte
		oid asn1.ObjectIdentifier
	)
	switch k := pub.(type) {
	case *mlkem.EncapsulationKey768:
		if k == nil {
			return nil, fmt.Errorf("pkcs8: nil ML-KEM-768 public key: %w", backend.ErrInvalidInput)
		}
		raw, oid = k.Bytes(), oidMLKEM768
	case *mlkem.EncapsulationKey1024:
		if k == nil {
			return nil, fmt.Errorf("pkcs8: nil ML-KEM-1024 public key: %w", backend.ErrInvalidInput)
		}
		raw, oid = k.Bytes(), oidMLKEM1024
	case *mldsa.PublicKey:
		alg, err := backend.AlgorithmOf(k)
		if err != nil {
			return nil, fmt.Errorf("pkcs8: %w", err)
		}
		raw, oid = k.Bytes(), pqKindFor(alg).oid
	default:
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			return nil, fmt.Errorf("pkcs8: public key %T: %v: %w", pub, err, backend.ErrUnsupported)
		}
		return der, nil
	}
	der, err := asn1.Marshal(subjectPublicKeyInfo{
		Algo:      pkix.AlgorithmIdentifier{Algorithm: oid},
		PublicKey: asn1.BitString{Bytes: raw, BitLength: 8 * len(raw)},
	})
	if err != nil {
		return nil, fmt.Errorf("pkcs8: %v: %w", err, backend.ErrInvalidInput)
	}
	return der, nil
}

// ParsePublicKey reads a DER SubjectPublicKeyInfo: what
// x509.ParsePKIXPublicKey reads (*rsa.PublicKey, *ecdsa.PublicKey,
// ed25519.PublicKey, *ecdh.PublicKey for X25519), and ML-KEM
// (*mlkem.EncapsulationKey768/1024) and ML-DSA (*mldsa.PublicKey) keys.
// Errors wrap backend.ErrInvalidInput or backend.ErrUnsupported.
func ParsePublicKey(der []byte) (any, error) {
	var spki subjectPublicKeyInfo
	rest, err := asn1.Unmarshal(der, &spki)
	if err == nil {
		if kind, ok := pqKindOf(spki.Algo.Algorithm); ok {
			if len(rest) != 0 {
				return nil, fmt.Errorf("pkcs8: %s public key followed by %d bytes: %w", kind.alg, len(rest), backend.ErrInvalidInput)
			}
			if len(spki.Algo.Parameters.FullBytes) != 0 {
				return nil, fmt.Errorf("pkcs8: %s AlgorithmIdentifier with parameters (they must be absent): %w", kind.alg, backend.ErrInvalidInput)
			}
			raw := spki.PublicKey.RightAlign()
			if spki.PublicKey.BitLength%8 != 0 || len(raw) != kind.pubSize {
				return nil, fmt.Errorf("pkcs8: %s public key of %d bits, want %d bytes: %w", kind.alg, spki.PublicKey.BitLength, kind.pubSize, backend.ErrInvalidInput)
			}
			return pqPublic(kind.alg, raw)
		}
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		if isUnknownAlgorithm(err) {
			return nil, fmt.Errorf("pkcs8: %v: %w", err, backend.ErrUnsupported)
		}
		return nil, fmt.Errorf("pkcs8: malformed public key: %v: %w", err, backend.ErrInvalidInput)
	}
	if k, ok := pub.(*ecdh.PublicKey); ok && k.Curve() != ecdh.X25519() {
		return nil, fmt.Errorf("pkcs8: ECDH public key on %v: %w", k.Curve(), backend.ErrUnsupported)
	}
	return pub, nil
}

func pqPublic(alg backend.Algorithm, raw []byte) (any, error) {
	var (
		pub any
		err error
	)
	switch alg {
	case backend.MLKEM768:
		pub, err = mlkem.NewEncapsulationKey768(raw)
	case backend.MLKEM1024:
		pub, err = mlkem.NewEncapsulationKey1024(raw)
	case backend.MLDSA44:
		pub, err = mldsa.NewPublicKey(mldsa.MLDSA44(), raw)
	case backend.MLDSA65:
		pub, err = mldsa.NewPublicKey(mldsa.MLDSA65(), raw)
	case backend.MLDSA87:
		pub, err = mldsa.NewPublicKey(mldsa.MLDSA87(), raw)
	}
	if err != nil {
		return nil, fmt.Errorf("pkcs8: invalid %s public key: %v: %w", alg, err, backend.ErrInvalidInput)
	}
	return pub, nil
}

func isUnknownAlgorithm(err error) bool {
	return strings.Contains(err.Error(), "unknown algorithm") || strings.Contains(err.Error(), "unsupported")
}

// parsePKCS8Any parses a DER PrivateKeyInfo of any key type this package
// reads: ML-KEM and ML-DSA here, the rest by crypto/x509.
func parsePKCS8Any(der []byte) (any, error) {
	if key, ok, err := parsePQ(der); ok {
		return key, err
	}
	return x509.ParsePKCS8PrivateKey(der)
}

// MarshalPrivateKey returns key as DER PKCS#8 PrivateKeyInfo: the
// standard library's encoding for RSA, ECDSA, Ed25519 and X25519
// (*ecdh.PrivateKey) keys, the seed-only form for ML-KEM
// (*mlkem.DecapsulationKey768/1024) and ML-DSA (*mldsa.PrivateKey) keys.
// The caller should clear the result when done.
func MarshalPrivateKey(key any) ([]byte, error) { return marshalPKCS8(key) }

// ParsePrivateKey reads a DER PKCS#8 PrivateKeyInfo of any key type
// MarshalPrivateKey writes. ML-KEM and ML-DSA keys must be in the
// seed-only form; the expanded and "both" forms are refused with
// backend.ErrUnsupported.
func ParsePrivateKey(der []byte) (any, error) { return parsePKCS8(der) }
