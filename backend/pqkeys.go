package backend

import (
	"crypto"
	"crypto/ecdh"
	"crypto/mlkem"
	"fmt"
	"reflect"
)

// ML-DSA public key sizes (FIPS 204, table 2): each parameter set has its
// own, so a key's encoding names its algorithm.
const (
	mldsa44PublicKeySize = 1312
	mldsa65PublicKeySize = 1952
	mldsa87PublicKeySize = 2592
)

// mldsaPackages are the packages whose PublicKey type is an ML-DSA public
// key: filippo.io/mldsa on Go 1.26, crypto/mldsa from Go 1.27 (of which
// filippo.io/mldsa's types then are aliases). backend imports only the
// standard library, so it recognises these keys by their type's package
// and name and their Bytes method, not by importing them; docs/decisions.md
// says why.
var mldsaPackages = map[string]bool{"filippo.io/mldsa": true, "crypto/mldsa": true}

// pqAlgorithmOf is AlgorithmOf for the key-agreement, KEM and ML-DSA key
// types. ok is false for a key of another type.
func pqAlgorithmOf(key any) (alg Algorithm, ok bool, err error) {
	switch k := key.(type) {
	case *ecdh.PrivateKey:
		if k == nil {
			return "", true, fmt.Errorf("nil ECDH private key: %w", ErrInvalidInput)
		}
		return ecdhAlgorithm(k.Curve())
	case *ecdh.PublicKey:
		if k == nil {
			return "", true, fmt.Errorf("nil ECDH public key: %w", ErrInvalidInput)
		}
		return ecdhAlgorithm(k.Curve())
	case *mlkem.EncapsulationKey768:
		if k == nil {
			return "", true, fmt.Errorf("nil ML-KEM-768 key: %w", ErrInvalidInput)
		}
		return MLKEM768, true, nil
	case *mlkem.EncapsulationKey1024:
		if k == nil {
			return "", true, fmt.Errorf("nil ML-KEM-1024 key: %w", ErrInvalidInput)
		}
		return MLKEM1024, true, nil
	case *mlkem.DecapsulationKey768:
		if k == nil {
			return "", true, fmt.Errorf("nil ML-KEM-768 key: %w", ErrInvalidInput)
		}
		return MLKEM768, true, nil
	case *mlkem.DecapsulationKey1024:
		if k == nil {
			return "", true, fmt.Errorf("nil ML-KEM-1024 key: %w", ErrInvalidInput)
		}
		return MLKEM1024, true, nil
	case crypto.Decapsulator:
		if reflect.ValueOf(k).Kind() == reflect.Pointer && reflect.ValueOf(k).IsNil() {
			return "", true, fmt.Errorf("nil %T: %w", key, ErrInvalidInput)
		}
		alg, ok, err := pqAlgorithmOf(k.Encapsulator())
		if !ok {
			return "", true, fmt.Errorf("decapsulator %T with encapsulation key %T: %w", key, k.Encapsulator(), ErrUnsupported)
		}
		return alg, true, err
	}
	t := reflect.TypeOf(key)
	if t == nil || t.Kind() != reflect.Pointer || t.Elem().Name() != "PublicKey" || !mldsaPackages[t.Elem().PkgPath()] {
		return "", false, nil
	}
	if reflect.ValueOf(key).IsNil() {
		return "", true, fmt.Errorf("nil ML-DSA public key: %w", ErrInvalidInput)
	}
	b, ok := key.(interface{ Bytes() []byte })
	if !ok {
		return "", true, fmt.Errorf("ML-DSA public key %T without Bytes: %w", key, ErrUnsupported)
	}
	switch n := len(b.Bytes()); n {
	case mldsa44PublicKeySize:
		return MLDSA44, true, nil
	case mldsa65PublicKeySize:
		return MLDSA65, true, nil
	case mldsa87PublicKeySize:
		return MLDSA87, true, nil
	default:
		return "", true, fmt.Errorf("ML-DSA public key of %d bytes: %w", n, ErrInvalidInput)
	}
}

func ecdhAlgorithm(c ecdh.Curve) (Algorithm, bool, error) {
	switch c {
	case ecdh.X25519():
		return X25519, true, nil
	case ecdh.P256():
		return ECP256, true, nil
	case ecdh.P384():
		return ECP384, true, nil
	case ecdh.P521():
		return ECP521, true, nil
	}
	return "", true, fmt.Errorf("ECDH key on curve %v: %w", c, ErrUnsupported)
}

// ECDHCurve returns the crypto/ecdh curve of an algorithm whose keys do
// key agreement (X25519, and the EC algorithms), or nil.
func (a Algorithm) ECDHCurve() ecdh.Curve {
	switch a {
	case X25519:
		return ecdh.X25519()
	case ECP256:
		return ecdh.P256()
	case ECP384:
		return ecdh.P384()
	case ECP521:
		return ecdh.P521()
	}
	return nil
}
