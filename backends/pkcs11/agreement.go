//go:build cgo && !nopkcs11

package pkcs11

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/subtle"
	"fmt"

	"github.com/keyplane/keyplane/backend"
	"github.com/miekg/pkcs11"
)

// KeyExchanger returns an ecdh.KeyExchanger for the key pair ref names: an
// EC P-256/P-384/P-521 key or an X25519 key whose private key has
// CKA_DERIVE true, on a token that does CKM_ECDH1_DERIVE on its curve
// (probeAgreement). Its ECDH is one C_DeriveKey (CKD_NULL, the peer's
// point) into a session secret object, one C_GetAttributeValue of its
// CKA_VALUE and one C_DestroyObject: the shared secret leaves the token,
// the private key does not. Keys made for signing only (CKA_DERIVE false:
// EC keys made by keyplane before key agreement, or imported) are
// ErrUnsupported.
func (b *Backend) KeyExchanger(ctx context.Context, ref string) (ecdh.KeyExchanger, error) {
	if err := b.checkOpen(); err != nil {
		return nil, err
	}
	k, ref, err := b.usableKey(ctx, ref) // a retired version is refused; the handle keeps this version
	if err != nil {
		return nil, err
	}
	pub, err := agreementPublicKey(k)
	if err != nil {
		return nil, fmt.Errorf("pkcs11: %w", err)
	}
	b.probeAgreement(ctx)
	if why := b.agreementRefused(k.alg); why != "" {
		return nil, fmt.Errorf("pkcs11: key %q: token %q does no key agreement with %s keys: %s: %w", k.label, b.tokenLabel(), k.alg, why, backend.ErrUnsupported)
	}
	var derive bool
	err = b.withSession(ctx, func(s *session) error {
		k, err := b.lookup(s, ref)
		if err != nil {
			return err
		}
		a, err := b.attrs(s, k.priv, pkcs11.CKA_DERIVE)
		derive = err == nil && boolAttr(a[pkcs11.CKA_DERIVE])
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pkcs11: key agreement with %q: %w", ref, err)
	}
	if !derive {
		return nil, fmt.Errorf("pkcs11: key %q has CKA_DERIVE false: it was made to sign only (an EC key made by keyplane before key agreement came, imported, or made by another tool without derive usage), and the token will not derive with it; generate a new key for key agreement: %w", k.label, backend.ErrUnsupported)
	}
	return &keyExchanger{b: b, ref: ref, alg: k.alg, pub: pub}, nil
}

// keyExchanger is an ecdh.KeyExchanger over a token's private key.
type keyExchanger struct {
	b   *Backend
	ref string
	alg backend.Algorithm
	pub *ecdh.PublicKey
}

func (x *keyExchanger) PublicKey() *ecdh.PublicKey { return x.pub }
func (x *keyExchanger) Curve() ecdh.Curve          { return x.pub.Curve() }

// ECDH returns the shared secret with peer, as (*ecdh.PrivateKey).ECDH
// does: the x coordinate for the NIST curves, X25519's 32 bytes. A peer
// key on another curve, a zero ecdh.PublicKey, and an X25519 point of low
// order (the secret would be all zeros) are ErrInvalidInput, found on the
// host before the token is asked. The call has the backend's call timeout
// (deadline.go), as a signature does.
func (x *keyExchanger) ECDH(peer *ecdh.PublicKey) ([]byte, error) {
	if err := checkPeer(x.pub.Curve(), peer); err != nil {
		return nil, fmt.Errorf("pkcs11: ecdh with %q: %w", x.ref, err)
	}
	var secret []byte
	b := x.b
	err := b.withSession(context.Background(), func(s *session) error {
		k, err := b.lookup(s, x.ref)
		if err != nil {
			return err
		}
		if k.priv == 0 || k.alg != x.alg {
			return fmt.Errorf("pkcs11: key %q changed since the key exchanger was made: %w", k.label, backend.ErrNotFound)
		}
		secret, err = b.deriveSecret(s, k.priv, x.alg, peer.Bytes())
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pkcs11: ecdh with %q: %w", x.ref, err)
	}
	if subtle.ConstantTimeCompare(secret, make([]byte, len(secret))) == 1 {
		return nil, fmt.Errorf("pkcs11: ecdh with %q: the token derived an all-zero secret (a peer point of low order): %w", x.ref, backend.ErrInvalidInput)
	}
	return secret, nil
}

// checkPeer refuses a peer key that is not on curve, and an X25519 point
// of low order: X25519 with a random scalar (a multiple of the cofactor,
// once clamped) gives all zeros exactly for those, and crypto/ecdh says so.
func checkPeer(curve ecdh.Curve, peer *ecdh.PublicKey) error {
	if peer == nil || peer.Curve() == nil {
		return fmt.Errorf("no peer public key: %w", backend.ErrInvalidInput)
	}
	if peer.Curve() != curve {
		return fmt.Errorf("peer public key on %v, the key is on %v: %w", peer.Curve(), curve, backend.ErrInvalidInput)
	}
	if curve == ecdh.X25519() {
		probe, err := curve.GenerateKey(rand.Reader)
		if err != nil {
			return fmt.Errorf("checking the peer point: %v: %w", err, backend.ErrUnavailable)
		}
		if _, err := probe.ECDH(peer); err != nil {
			return fmt.Errorf("peer X25519 point: %v: %w", err, backend.ErrInvalidInput)
		}
	}
	return nil
}

// secretLen is the length of the raw ECDH secret on alg's curve.
func secretLen(alg backend.Algorithm) int {
	switch alg {
	case backend.ECP256, backend.X25519:
		return 32
	case backend.ECP384:
		return 48
	case backend.ECP521:
		return 66
	}
	return 0
}

// derivedTemplate is the session secret object C_DeriveKey makes for one
// ECDH: a generic secret of the curve's secret length, readable
// (CKA_SENSITIVE false, CKA_EXTRACTABLE true) so that its CKA_VALUE is the
// shared secret. SoftHSM2 2.6.1, NSS softokn 3.87 take it as it is
// (docs/backends/pkcs11.md, "Key agreement").
func derivedTemplate(n int) []*pkcs11.Attribute {
	return []*pkcs11.Attribute{
		attr(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY),
		attr(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_GENERIC_SECRET),
		attr(pkcs11.CKA_TOKEN, false),
		attr(pkcs11.CKA_SENSITIVE, false),
		attr(pkcs11.CKA_EXTRACTABLE, true),
		attr(pkcs11.CKA_VALUE_LEN, n),
	}
}

// deriveSecret is one CKM_ECDH1_DERIVE of the private key priv (on alg's
// curve) with the peer's point (raw: an uncompressed point, or X25519's
// 32 bytes), the derived object read and destroyed at once.
func (b *Backend) deriveSecret(s *session, priv pkcs11.ObjectHandle, alg backend.Algorithm, point []byte) ([]byte, error) {
	n := secretLen(alg)
	mech := []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_ECDH1_DERIVE, pkcs11.NewECDH1DeriveParams(pkcs11.CKD_NULL, nil, point))}
	h, err := b.p.DeriveKey(s.h, mech, priv, derivedTemplate(n))
	if err != nil {
		return nil, ckErr("C_DeriveKey", err)
	}
	a, err := b.p.GetAttributeValue(s.h, h, []*pkcs11.Attribute{attr(pkcs11.CKA_VALUE, nil)})
	if derr := b.p.DestroyObject(s.h, h); derr != nil && err == nil {
		// The secret lingers in a session object until the session
		// closes; say so rather than hand it out as if all were well.
		return nil, fmt.Errorf("destroying the derived secret object: %w", ckErr("C_DestroyObject", derr))
	}
	if err != nil {
		return nil, ckErr("C_GetAttributeValue", err)
	}
	if len(a) != 1 || len(a[0].Value) != n {
		got := 0
		if len(a) == 1 {
			got = len(a[0].Value)
		}
		return nil, fmt.Errorf("token %q derived a %s secret of %d bytes, want %d: %w", b.tokenLabel(), alg, got, n, backend.ErrUnavailable)
	}
	return a[0].Value, nil
}
