package software

import (
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/mlkem"
	"fmt"

	"github.com/keyplane/keyplane/backend"
)

// KeyExchanger returns an ecdh.KeyExchanger for an X25519 key or an EC
// P-256/P-384/P-521 key (the same key that signs with ECDSA). Other keys
// are backend.ErrUnsupported.
func (ks *Keystore) KeyExchanger(ctx context.Context, ref string) (ecdh.KeyExchanger, error) {
	e, err := ks.find(ctx, ref)
	if err != nil {
		return nil, err
	}
	if e.meta.Algorithm.ECDHCurve() == nil {
		return nil, fmt.Errorf("software: key %q is a %s key; only X25519 and EC keys do key agreement: %w", e.meta.Label, e.meta.Algorithm, backend.ErrUnsupported)
	}
	priv, err := ks.private(e)
	if err != nil {
		return nil, err
	}
	var k *ecdh.PrivateKey
	switch p := priv.(type) {
	case *ecdh.PrivateKey:
		k = p
	case *ecdsa.PrivateKey:
		if k, err = p.ECDH(); err != nil {
			return nil, fmt.Errorf("software: key %q: %v: %w", e.meta.Label, err, backend.ErrInvalidInput)
		}
	default:
		return nil, fmt.Errorf("software: key %q holds %T: %w", e.meta.Label, priv, backend.ErrInvalidInput)
	}
	return &keyExchanger{ks: ks, priv: k}, nil
}

// keyExchanger is the ecdh.KeyExchanger of a software key.
type keyExchanger struct {
	ks   *Keystore
	priv *ecdh.PrivateKey
}

func (x *keyExchanger) PublicKey() *ecdh.PublicKey { return x.priv.PublicKey() }
func (x *keyExchanger) Curve() ecdh.Curve          { return x.priv.Curve() }

// ECDH returns the raw shared secret with peer, as crypto/ecdh does. A
// peer on another curve, or an X25519 peer that gives the all-zero secret
// (a low-order point), is backend.ErrInvalidInput.
func (x *keyExchanger) ECDH(peer *ecdh.PublicKey) ([]byte, error) {
	if x.ks.closed.Load() {
		return nil, errClosed
	}
	if peer == nil {
		return nil, fmt.Errorf("software: ecdh: nil peer public key: %w", backend.ErrInvalidInput)
	}
	if peer.Curve() != x.priv.Curve() {
		return nil, fmt.Errorf("software: ecdh: peer key on %v, this key is on %v: %w", peer.Curve(), x.priv.Curve(), backend.ErrInvalidInput)
	}
	secret, err := x.priv.ECDH(peer)
	if err != nil {
		return nil, fmt.Errorf("software: ecdh: %v: %w", err, backend.ErrInvalidInput)
	}
	return secret, nil
}

// Decapsulator returns a crypto.Decapsulator for an ML-KEM key. Other keys
// are backend.ErrUnsupported.
func (ks *Keystore) Decapsulator(ctx context.Context, ref string) (crypto.Decapsulator, error) {
	e, err := ks.find(ctx, ref)
	if err != nil {
		return nil, err
	}
	if e.meta.Algorithm.Family() != backend.FamilyMLKEM {
		return nil, fmt.Errorf("software: key %q is a %s key; only ML-KEM keys decapsulate: %w", e.meta.Label, e.meta.Algorithm, backend.ErrUnsupported)
	}
	priv, err := ks.private(e)
	if err != nil {
		return nil, err
	}
	d := &decapsulator{ks: ks}
	switch k := priv.(type) {
	case *mlkem.DecapsulationKey768:
		d.dk, d.ek, d.ctSize = k, k.EncapsulationKey(), mlkem.CiphertextSize768
	case *mlkem.DecapsulationKey1024:
		d.dk, d.ek, d.ctSize = k, k.EncapsulationKey(), mlkem.CiphertextSize1024
	default:
		return nil, fmt.Errorf("software: key %q holds %T: %w", e.meta.Label, priv, backend.ErrInvalidInput)
	}
	return d, nil
}

// decapsulator is the crypto.Decapsulator of a software ML-KEM key.
type decapsulator struct {
	ks     *Keystore
	dk     crypto.Decapsulator
	ek     crypto.Encapsulator
	ctSize int
}

func (d *decapsulator) Encapsulator() crypto.Encapsulator { return d.ek }

// Decapsulate returns the shared key of ciphertext. A ciphertext of the
// wrong length is backend.ErrInvalidInput; one of the right length always
// yields a key (ML-KEM's implicit rejection: a tampered ciphertext yields
// a different key, not an error).
func (d *decapsulator) Decapsulate(ciphertext []byte) ([]byte, error) {
	if d.ks.closed.Load() {
		return nil, errClosed
	}
	if len(ciphertext) != d.ctSize {
		return nil, fmt.Errorf("software: ml-kem: ciphertext of %d bytes, want %d: %w", len(ciphertext), d.ctSize, backend.ErrInvalidInput)
	}
	key, err := d.dk.Decapsulate(ciphertext)
	if err != nil {
		return nil, fmt.Errorf("software: ml-kem: %v: %w", err, backend.ErrInvalidInput)
	}
	return key, nil
}
