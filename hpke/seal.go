package hpke

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/hpke"
	"crypto/mlkem"
	"fmt"

	"github.com/keyplane/keyplane/backend"
)

// PublicKey makes the suite's recipient public key from the recipient's
// public keys, as backend.Key.Public and pkcs8.ParsePublicKey give them:
// an X25519 *ecdh.PublicKey (or, for the P-256 suites, an
// *ecdsa.PublicKey or *ecdh.PublicKey on P-256) for the classical half,
// an *mlkem.EncapsulationKey768 for the ML-KEM half; a hybrid takes one
// of each, in either order.
func (s Suite) PublicKey(keys ...crypto.PublicKey) (hpke.PublicKey, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if len(keys) != len(s.KeyAlgorithms()) {
		return nil, fmt.Errorf("hpke: %s takes %d public keys (%v), got %d: %w", s.name, len(s.KeyAlgorithms()), s.KeyAlgorithms(), len(keys), backend.ErrInvalidInput)
	}
	var (
		dh *ecdh.PublicKey
		pq crypto.Encapsulator
	)
	for _, k := range keys {
		alg, err := backend.AlgorithmOf(k)
		if err != nil {
			return nil, fmt.Errorf("hpke: %s recipient key: %w", s.name, err)
		}
		switch {
		case alg == s.dh && dh == nil:
			if dh, err = ecdhPublic(k); err != nil {
				return nil, err
			}
		case alg == s.pq && pq == nil:
			var ok bool
			if pq, ok = k.(crypto.Encapsulator); !ok {
				return nil, fmt.Errorf("hpke: %s key of type %T is no crypto.Encapsulator: %w", alg, k, backend.ErrInvalidInput)
			}
		default:
			return nil, fmt.Errorf("hpke: %s takes %v keys, not a %s key: %w", s.name, s.KeyAlgorithms(), alg, backend.ErrInvalidInput)
		}
	}
	var (
		pub hpke.PublicKey
		err error
	)
	switch {
	case dh != nil && pq != nil:
		pub, err = hpke.NewHybridPublicKey(pq, dh)
	case dh != nil:
		pub, err = hpke.NewDHKEMPublicKey(dh)
	default:
		pub, err = hpke.NewMLKEMPublicKey(pq)
	}
	if err != nil {
		return nil, fmt.Errorf("hpke: %s: %v: %w", s.name, err, backend.ErrInvalidInput)
	}
	return pub, nil
}

// ParsePublicKey reads a recipient public key in HPKE's own serialization
// (RFC 9180 SerializePublicKey, as pyca's public_bytes(Raw) and the
// X-Wing draft write it: 32 bytes for X25519, the uncompressed point for
// P-256, the encapsulation key for ML-KEM, ML-KEM's ‖ the classical one's
// for the hybrids).
func (s Suite) ParsePublicKey(b []byte) (hpke.PublicKey, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	pub, err := s.kem().NewPublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("hpke: %s public key: %v: %w", s.name, err, backend.ErrInvalidInput)
	}
	return pub, nil
}

func ecdhPublic(k crypto.PublicKey) (*ecdh.PublicKey, error) {
	switch p := k.(type) {
	case *ecdh.PublicKey:
		return p, nil
	case *ecdsa.PublicKey:
		e, err := p.ECDH()
		if err != nil {
			return nil, fmt.Errorf("hpke: EC public key: %v: %w", err, backend.ErrInvalidInput)
		}
		return e, nil
	}
	return nil, fmt.Errorf("hpke: public key %T is not an ECDH key: %w", k, backend.ErrInvalidInput)
}

// Seal encrypts plaintext to pub (which must be a key of this suite's
// KEM) and returns enc ‖ ciphertext, as crypto/hpke.Seal and pyca's
// Suite.encrypt do.
func (s Suite) Seal(pub hpke.PublicKey, info, plaintext []byte) ([]byte, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if pub == nil || pub.KEM().ID() != s.kem().ID() {
		return nil, fmt.Errorf("hpke: %s: a public key of another KEM: %w", s.name, backend.ErrInvalidInput)
	}
	out, err := hpke.Seal(pub, s.kdf(), s.aead(), info, plaintext)
	if err != nil {
		return nil, fmt.Errorf("hpke: %s seal: %v: %w", s.name, err, backend.ErrInvalidInput)
	}
	return out, nil
}

// EncapsulatedKeySize is the length of enc at the start of a sealed
// message.
func (s Suite) EncapsulatedKeySize() int {
	switch s.kem().ID() {
	case hpke.DHKEM(ecdh.X25519()).ID():
		return 32
	case hpke.DHKEM(ecdh.P256()).ID():
		return 65
	case hpke.MLKEM768().ID():
		return mlkem.CiphertextSize768
	case hpke.MLKEM768X25519().ID():
		return mlkem.CiphertextSize768 + 32
	case hpke.MLKEM768P256().ID():
		return mlkem.CiphertextSize768 + 65
	}
	return 0
}
