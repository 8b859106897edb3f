package software

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/mlkem"
	"crypto/rand"
	"fmt"

	"filippo.io/mldsa"

	"github.com/keyplane/keyplane/backend"
)

// generatePQ makes an X25519, ML-KEM or ML-DSA private key:
// *ecdh.PrivateKey, *mlkem.DecapsulationKey768/1024 or *mldsa.PrivateKey.
// Each is stored as its seed (docs/decisions.md: seed-only keys).
func generatePQ(alg backend.Algorithm) (any, error) {
	switch alg {
	case backend.X25519:
		return ecdh.X25519().GenerateKey(rand.Reader)
	case backend.MLKEM768:
		return mlkem.GenerateKey768()
	case backend.MLKEM1024:
		return mlkem.GenerateKey1024()
	case backend.MLDSA44:
		return mldsa.GenerateKey(mldsa.MLDSA44())
	case backend.MLDSA65:
		return mldsa.GenerateKey(mldsa.MLDSA65())
	case backend.MLDSA87:
		return mldsa.GenerateKey(mldsa.MLDSA87())
	}
	return nil, fmt.Errorf("software: %s is not an X25519, ML-KEM or ML-DSA key type: %w", alg, backend.ErrUnsupported)
}

// publicOf returns the public key of private material, or nil for secret
// keys: crypto.Signer's Public, and for ML-KEM the encapsulation key
// (*mlkem.EncapsulationKey768/1024).
func publicOf(priv any) crypto.PublicKey {
	switch k := priv.(type) {
	case *mlkem.DecapsulationKey768:
		return k.EncapsulationKey()
	case *mlkem.DecapsulationKey1024:
		return k.EncapsulationKey()
	case interface{ Public() crypto.PublicKey }:
		return k.Public()
	}
	return nil
}

// samePublic reports whether two public keys are the same key.
func samePublic(a, b crypto.PublicKey) bool {
	if e, ok := a.(interface{ Equal(crypto.PublicKey) bool }); ok && e.Equal(b) {
		return true
	}
	// crypto/mlkem's encapsulation keys have no Equal method.
	ab, aok := a.(interface{ Bytes() []byte })
	bb, bok := b.(interface{ Bytes() []byte })
	if !aok || !bok {
		return false
	}
	aa, _ := backend.AlgorithmOf(a)
	ba, _ := backend.AlgorithmOf(b)
	return aa != "" && aa == ba && bytes.Equal(ab.Bytes(), bb.Bytes())
}

// normalizePQ checks an imported X25519, ML-KEM or ML-DSA private key and
// returns a private copy made from its seed (through PKCS#8).
func normalizePQ(key any) (any, backend.Algorithm, error) {
	if k, ok := key.(*ecdh.PrivateKey); ok && (k == nil || k.Curve() != ecdh.X25519()) {
		return nil, "", fmt.Errorf("software: import: an *ecdh.PrivateKey must be an X25519 key (import EC keys as *ecdsa.PrivateKey): %w", backend.ErrUnsupported)
	}
	alg, err := backend.AlgorithmOf(key)
	if err != nil {
		return nil, "", fmt.Errorf("software: import: %w", err)
	}
	copied, err := clonePrivate(key)
	if err != nil {
		return nil, "", fmt.Errorf("software: import: %w", err)
	}
	return copied, alg, nil
}
