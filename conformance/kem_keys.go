package conformance

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/mlkem"
	"crypto/rsa"

	"github.com/keyplane/keyplane/backend"
)

// x509Signs reports whether crypto/x509 and crypto/tls take a
// crypto.Signer of algorithm a (Go 1.26: RSA, ECDSA and Ed25519, not
// ML-DSA).
func x509Signs(a backend.Algorithm) bool {
	switch a.Family() {
	case backend.FamilyRSA, backend.FamilyEC, backend.FamilyEd25519:
		return true
	}
	return false
}

// publicKeyTypes names the public key types a key of algorithm a must
// have, for messages.
func publicKeyTypes(a backend.Algorithm) string {
	switch a.Family() {
	case backend.FamilyRSA:
		return "*rsa.PublicKey"
	case backend.FamilyEC:
		return "*ecdsa.PublicKey"
	case backend.FamilyEd25519:
		return "ed25519.PublicKey"
	case backend.FamilyX25519:
		return "*ecdh.PublicKey"
	case backend.FamilyMLKEM:
		return "*mlkem.EncapsulationKey768 or *mlkem.EncapsulationKey1024"
	case backend.FamilyMLDSA:
		return "*mldsa.PublicKey (filippo.io/mldsa, crypto/mldsa from Go 1.27)"
	}
	return "no public key"
}

// publicKeyTypeIs reports whether pub has the standard type of a's public
// keys: the types crypto/x509 and filippo.io/mldsa use, never a
// backend's own.
func publicKeyTypeIs(a backend.Algorithm, pub crypto.PublicKey) bool {
	switch pub.(type) {
	case *rsa.PublicKey:
		return a.Family() == backend.FamilyRSA
	case *ecdsa.PublicKey:
		return a.Family() == backend.FamilyEC
	case ed25519.PublicKey:
		return a.Family() == backend.FamilyEd25519
	case *ecdh.PublicKey:
		return a == backend.X25519
	case *mlkem.EncapsulationKey768:
		return a == backend.MLKEM768
	case *mlkem.EncapsulationKey1024:
		return a == backend.MLKEM1024
	}
	got, err := backend.AlgorithmOf(pub)
	return err == nil && got == a && a.Family() == backend.FamilyMLDSA
}

// sameEncapsulationKey compares ML-KEM encapsulation keys, which have no
// Equal method.
func sameEncapsulationKey(a, b crypto.PublicKey) bool {
	ea, ok1 := a.(crypto.Encapsulator)
	eb, ok2 := b.(crypto.Encapsulator)
	if !ok1 || !ok2 {
		return false
	}
	aa, err1 := backend.AlgorithmOf(a)
	ab, err2 := backend.AlgorithmOf(b)
	return err1 == nil && err2 == nil && aa == ab && bytes.Equal(ea.Bytes(), eb.Bytes())
}

// exportedPublic returns the public key of a key ExportKey returned, or
// nil.
func exportedPublic(priv any) crypto.PublicKey {
	switch k := priv.(type) {
	case *mlkem.DecapsulationKey768:
		return k.EncapsulationKey()
	case *mlkem.DecapsulationKey1024:
		return k.EncapsulationKey()
	case crypto.Decapsulator:
		return k.Encapsulator()
	case interface{ Public() crypto.PublicKey }:
		return k.Public()
	}
	return nil
}
