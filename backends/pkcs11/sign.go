//go:build cgo && !nopkcs11

package pkcs11

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"fmt"
	"io"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/internal/ecsig"
	"github.com/miekg/pkcs11"
)

// Signer returns a crypto.Signer for the key pair ref names. Its Sign takes
// crypto.Hash (PKCS#1 v1.5, ECDSA), *rsa.PSSOptions, or crypto.Hash(0) for
// Ed25519, checked by backend.ParseSignerOpts. The signer keeps the key's
// handles: a signature costs C_SignInit and C_Sign.
func (b *Backend) Signer(ctx context.Context, ref string) (crypto.Signer, error) {
	k, ref, err := b.usableKey(ctx, ref)
	if err != nil {
		return nil, err
	}
	if !k.alg.Asymmetric() || k.alg == backend.X25519 {
		return nil, fmt.Errorf("pkcs11: key %q is a %s key and cannot sign: %w", k.label, k.alg, backend.ErrUnsupported)
	}
	return &signer{b: b, ref: ref, alg: k.alg, pub: k.pub}, nil
}

type signer struct {
	b   *Backend
	ref string
	alg backend.Algorithm
	pub crypto.PublicKey
}

func (s *signer) Public() crypto.PublicKey { return s.pub }

// Sign signs digest (the message, for Ed25519). rand is not used: the
// token makes its own randomness.
func (s *signer) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	p, err := backend.ParseSignerOpts(s.alg, s.pub, digest, opts)
	if err != nil {
		return nil, err
	}
	mech, data, err := signMechanism(s.alg, p, digest)
	if err != nil {
		return nil, err
	}
	var sig []byte
	b := s.b
	err = b.withSession(context.Background(), func(ss *session) error {
		k, err := b.lookup(ss, s.ref)
		if err != nil {
			return err
		}
		if k.priv == 0 || k.alg != s.alg {
			return fmt.Errorf("pkcs11: key %q changed since the signer was made: %w", k.label, backend.ErrNotFound)
		}
		if mech[0].Parameter != nil && !k.alwaysAuth {
			// A module may read the parameter again at C_Sign (signKept).
			sig, err = b.p.SignKeepingParams(ss.h, mech[0], k.priv, data)
			return ckErr("C_Sign", err)
		}
		if err := b.p.SignInit(ss.h, mech, k.priv); err != nil {
			return ckErr("C_SignInit", err)
		}
		// A failed C_Sign ends the operation (PKCS#11 2.40 §5.12).
		if err := b.contextLogin(ss, k, func() { _, _ = b.p.Sign(ss.h, data) }); err != nil {
			return err
		}
		sig, err = b.p.Sign(ss.h, data)
		return ckErr("C_Sign", err)
	})
	if err != nil {
		return nil, fmt.Errorf("pkcs11: sign with %q: %w", s.ref, err)
	}
	if s.alg.Family() == backend.FamilyEC {
		return ecsig.P1363ToASN1(sig, ecsig.ScalarSize(s.pub.(*ecdsa.PublicKey).Curve))
	}
	return sig, nil
}

// hashMechs maps a hash to its CKM_ digest and CKG_MGF1_ values.
var hashMechs = map[crypto.Hash]struct{ mech, mgf uint }{
	crypto.SHA1:   {pkcs11.CKM_SHA_1, pkcs11.CKG_MGF1_SHA1},
	crypto.SHA224: {pkcs11.CKM_SHA224, pkcs11.CKG_MGF1_SHA224},
	crypto.SHA256: {pkcs11.CKM_SHA256, pkcs11.CKG_MGF1_SHA256},
	crypto.SHA384: {pkcs11.CKM_SHA384, pkcs11.CKG_MGF1_SHA384},
	crypto.SHA512: {pkcs11.CKM_SHA512, pkcs11.CKG_MGF1_SHA512},
}

// digestInfoPrefix is the DER DigestInfo header before a digest in an
// EMSA-PKCS1-v1_5 signature (RFC 8017 §9.2, note 1).
var digestInfoPrefix = map[crypto.Hash][]byte{
	crypto.SHA1:   {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14},
	crypto.SHA224: {0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04, 0x05, 0x00, 0x04, 0x1c},
	crypto.SHA256: {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20},
	crypto.SHA384: {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30},
	crypto.SHA512: {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40},
}

// signMechanism returns the mechanism and the data C_Sign takes.
func signMechanism(alg backend.Algorithm, p backend.SignParams, digest []byte) ([]*pkcs11.Mechanism, []byte, error) {
	switch alg.Family() {
	case backend.FamilyRSA:
		h, ok := hashMechs[p.Hash]
		if !ok {
			return nil, nil, fmt.Errorf("pkcs11: hash %v: %w", p.Hash, backend.ErrUnsupported)
		}
		if p.PSS {
			params := pkcs11.NewPSSParams(h.mech, h.mgf, uint(p.SaltLength))
			return []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS_PSS, params)}, digest, nil
		}
		prefix := digestInfoPrefix[p.Hash]
		data := make([]byte, 0, len(prefix)+len(digest))
		data = append(append(data, prefix...), digest...)
		return []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS, nil)}, data, nil
	case backend.FamilyEC:
		return []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_ECDSA, nil)}, digest, nil
	case backend.FamilyEd25519:
		return []*pkcs11.Mechanism{pkcs11.NewMechanism(ckmEdDSA, nil)}, digest, nil
	}
	return nil, nil, fmt.Errorf("pkcs11: a %s key cannot sign: %w", alg, backend.ErrUnsupported)
}
