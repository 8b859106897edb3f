package hpke

import (
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/hpke"
	"errors"
	"fmt"

	"github.com/keyplane/keyplane/backend"
)

// Opener opens messages sealed to a backend-held recipient key.
type Opener struct {
	s    Suite
	priv hpke.PrivateKey
}

// NewOpener makes the suite's recipient from backend handles: kx for the
// classical half (DHKEM suites and hybrids), dec for the ML-KEM half
// (ML-KEM-768 and hybrids); pass nil for the half the suite does not
// have. The two may come from different backends.
func NewOpener(s Suite, kx ecdh.KeyExchanger, dec crypto.Decapsulator) (*Opener, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if (s.dh != "") != (kx != nil) || (s.pq != "") != (dec != nil) {
		return nil, fmt.Errorf("hpke: %s needs %v keys: %w", s.name, s.KeyAlgorithms(), backend.ErrInvalidInput)
	}
	if kx != nil && kx.Curve() != s.dh.ECDHCurve() {
		return nil, fmt.Errorf("hpke: %s needs a %s key, the KeyExchanger is on %v: %w", s.name, s.dh, kx.Curve(), backend.ErrInvalidInput)
	}
	if dec != nil {
		if alg, err := backend.AlgorithmOf(dec.Encapsulator()); err != nil || alg != s.pq {
			return nil, fmt.Errorf("hpke: %s needs a %s key for its ML-KEM half: %w", s.name, s.pq, backend.ErrInvalidInput)
		}
	}
	var (
		priv hpke.PrivateKey
		err  error
	)
	switch {
	case kx != nil && dec != nil:
		priv, err = hpke.NewHybridPrivateKey(dec, kx)
	case kx != nil:
		priv, err = hpke.NewDHKEMPrivateKey(kx)
	default:
		priv, err = hpke.NewMLKEMPrivateKey(dec)
	}
	if err != nil {
		return nil, fmt.Errorf("hpke: %s: %v: %w", s.name, err, backend.ErrInvalidInput)
	}
	return &Opener{s: s, priv: priv}, nil
}

// OpenerFor makes the suite's recipient from keys in backend b, by
// reference, in the order of s.KeyAlgorithms() (the classical key first
// for a hybrid). b must implement backend.KeyAgreement for a classical
// half and backend.KEM for an ML-KEM half (ErrUnsupported otherwise).
func OpenerFor(ctx context.Context, s Suite, b backend.Backend, refs ...string) (*Opener, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	algs := s.KeyAlgorithms()
	if len(refs) != len(algs) {
		return nil, fmt.Errorf("hpke: %s takes %d keys (%v), got %d references: %w", s.name, len(algs), algs, len(refs), backend.ErrInvalidInput)
	}
	var (
		kx  ecdh.KeyExchanger
		dec crypto.Decapsulator
	)
	for i, alg := range algs {
		switch alg.Family() {
		case backend.FamilyMLKEM:
			kem, ok := b.(backend.KEM)
			if !ok {
				return nil, fmt.Errorf("hpke: %s: backend %T holds no ML-KEM keys: %w", s.name, b, backend.ErrUnsupported)
			}
			d, err := kem.Decapsulator(ctx, refs[i])
			if err != nil {
				return nil, fmt.Errorf("hpke: %s: %w", s.name, err)
			}
			dec = d
		default:
			ka, ok := b.(backend.KeyAgreement)
			if !ok {
				return nil, fmt.Errorf("hpke: %s: backend %T does no key agreement: %w", s.name, b, backend.ErrUnsupported)
			}
			x, err := ka.KeyExchanger(ctx, refs[i])
			if err != nil {
				return nil, fmt.Errorf("hpke: %s: %w", s.name, err)
			}
			kx = x
		}
	}
	return NewOpener(s, kx, dec)
}

// Suite returns the opener's suite.
func (o *Opener) Suite() Suite { return o.s }

// PublicKey returns the recipient's public key, to Seal to.
func (o *Opener) PublicKey() hpke.PublicKey { return o.priv.PublicKey() }

// PrivateKey returns the crypto/hpke private key on the backend's
// handles, for crypto/hpke's multi-message API (hpke.NewRecipient).
func (o *Opener) PrivateKey() hpke.PrivateKey { return o.priv }

// Open decrypts enc ‖ ciphertext sealed to the recipient with info. Every
// failure of the message (a wrong key, suite or info, a tampered or
// truncated message) is backend.ErrDecryption with no detail; a backend
// that cannot be reached says so (its own error: ErrUnavailable,
// ErrClosed, ...).
func (o *Opener) Open(info, sealed []byte) ([]byte, error) {
	if len(sealed) < o.s.EncapsulatedKeySize() {
		return nil, fmt.Errorf("hpke: %s: %w", o.s.name, backend.ErrDecryption)
	}
	pt, err := hpke.Open(o.priv, o.s.kdf(), o.s.aead(), info, sealed)
	if err != nil {
		for _, k := range []error{backend.ErrUnavailable, backend.ErrClosed, backend.ErrAuthentication, backend.ErrNotFound} {
			if errors.Is(err, k) {
				return nil, fmt.Errorf("hpke: %s: %w", o.s.name, err)
			}
		}
		return nil, fmt.Errorf("hpke: %s: %w", o.s.name, backend.ErrDecryption)
	}
	return pt, nil
}
