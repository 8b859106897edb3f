package jose

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"fmt"
	"slices"

	"github.com/keyplane/keyplane/backend"
)

// Algorithm is a JWS "alg" value (RFC 7518 section 3.1, RFC 8037).
type Algorithm string

// The JWS algorithms this package signs and verifies.
const (
	ES256 Algorithm = "ES256" // ECDSA P-256, SHA-256, r ‖ s
	ES384 Algorithm = "ES384" // ECDSA P-384, SHA-384
	ES512 Algorithm = "ES512" // ECDSA P-521, SHA-512
	RS256 Algorithm = "RS256" // RSA PKCS#1 v1.5, SHA-256
	RS384 Algorithm = "RS384"
	RS512 Algorithm = "RS512"
	PS256 Algorithm = "PS256" // RSA-PSS, SHA-256, MGF1-SHA-256, 32-byte salt
	PS384 Algorithm = "PS384"
	PS512 Algorithm = "PS512"
	EdDSA Algorithm = "EdDSA" // Ed25519 (RFC 8037)
)

// AllAlgorithms returns every algorithm of the package, in a fixed order.
// The slice is a fresh copy: changing it changes nothing in the package.
func AllAlgorithms() []Algorithm { return slices.Clone(algorithms) }

var algorithms = []Algorithm{ES256, ES384, ES512, RS256, RS384, RS512, PS256, PS384, PS512, EdDSA}

// hash returns the algorithm's hash (0 for EdDSA) and whether it is known.
func (a Algorithm) hash() (crypto.Hash, bool) {
	switch a {
	case ES256, RS256, PS256:
		return crypto.SHA256, true
	case ES384, RS384, PS384:
		return crypto.SHA384, true
	case ES512, RS512, PS512:
		return crypto.SHA512, true
	case EdDSA:
		return 0, true
	}
	return 0, false
}

// AlgorithmsFor returns the algorithms a public key can sign with, the
// default (what Sign uses without SignOptions.Alg) first. It returns an
// error wrapping backend.ErrUnsupported for other keys (RSA under 2048
// bits, curves JOSE has no algorithm for).
func AlgorithmsFor(pub crypto.PublicKey) ([]Algorithm, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return []Algorithm{ES256}, nil
		case elliptic.P384():
			return []Algorithm{ES384}, nil
		case elliptic.P521():
			return []Algorithm{ES512}, nil
		}
		return nil, fmt.Errorf("jose: no JWS algorithm for curve %s: %w", k.Curve.Params().Name, backend.ErrUnsupported)
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return nil, fmt.Errorf("jose: RSA key of %d bits; JWS needs 2048 or more (RFC 7518 section 3.3): %w", k.N.BitLen(), backend.ErrUnsupported)
		}
		return []Algorithm{RS256, RS384, RS512, PS256, PS384, PS512}, nil
	case ed25519.PublicKey:
		return []Algorithm{EdDSA}, nil
	}
	return nil, fmt.Errorf("jose: no JWS algorithm for public key %T: %w", pub, backend.ErrUnsupported)
}

// checkFits returns an error unless alg is one of the algorithms of pub.
func checkFits(alg Algorithm, pub crypto.PublicKey) error {
	if _, ok := alg.hash(); !ok {
		return fmt.Errorf("jose: unknown JWS algorithm %q: %w", string(alg), backend.ErrUnsupported)
	}
	algs, err := AlgorithmsFor(pub)
	if err != nil {
		return err
	}
	for _, a := range algs {
		if a == alg {
			return nil
		}
	}
	return fmt.Errorf("jose: algorithm %s does not fit the key (it takes %v): %w", alg, algs, backend.ErrInvalidInput)
}
