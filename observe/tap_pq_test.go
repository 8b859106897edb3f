package observe_test

import (
	"context"
	"crypto"
	"crypto/ecdh"
	"fmt"

	"github.com/keyplane/keyplane/backend"
)

// The tap passes key agreement and KEM through, keeping the peer keys,
// shared secrets, ciphertexts and shared keys, so that the conformance
// run's ECDH and ML-KEM checks (which a backend reporting x25519, ecdh or
// ml-kem must pass) reach the real backend.

func (t *tap) KeyExchanger(ctx context.Context, ref string) (ecdh.KeyExchanger, error) {
	ka, ok := t.Backend.(backend.KeyAgreement)
	if !ok {
		return nil, fmt.Errorf("tap: %T does no key agreement: %w", t.Backend, backend.ErrUnsupported)
	}
	x, err := ka.KeyExchanger(ctx, ref)
	if err != nil {
		return nil, err
	}
	return &tapKeyExchanger{KeyExchanger: x, t: t}, nil
}

func (t *tap) Decapsulator(ctx context.Context, ref string) (crypto.Decapsulator, error) {
	kem, ok := t.Backend.(backend.KEM)
	if !ok {
		return nil, fmt.Errorf("tap: %T has no KEM: %w", t.Backend, backend.ErrUnsupported)
	}
	d, err := kem.Decapsulator(ctx, ref)
	if err != nil {
		return nil, err
	}
	return &tapDecapsulator{Decapsulator: d, t: t}, nil
}

type tapKeyExchanger struct {
	ecdh.KeyExchanger
	t *tap
}

func (x *tapKeyExchanger) ECDH(peer *ecdh.PublicKey) ([]byte, error) {
	secret, err := x.KeyExchanger.ECDH(peer)
	if peer != nil {
		x.t.keep(peer.Bytes())
	}
	x.t.keep(secret)
	return secret, err
}

type tapDecapsulator struct {
	crypto.Decapsulator
	t *tap
}

func (d *tapDecapsulator) Decapsulate(ct []byte) ([]byte, error) {
	key, err := d.Decapsulator.Decapsulate(ct)
	d.t.keep(ct, key)
	return key, err
}
