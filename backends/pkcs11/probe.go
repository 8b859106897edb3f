//go:build cgo

package pkcs11

import (
	"context"
	"crypto"
	"crypto/rsa"

	"github.com/miekg/pkcs11"
)

// oaepProbeHashes are the OAEP parameters Capabilities learns about when
// it cannot rely on the fallback.
var oaepProbeHashes = []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512}

// probeOAEP learns which OAEP hashes the token's CKM_RSA_PKCS_OAEP really
// takes, with a throwaway session key pair (CKA_TOKEN false, destroyed at
// once), so that Capabilities reports only what works. It runs at most
// once per backend, and only when the fallback is unavailable (no
// CKM_RSA_X_509, or oaep-fallback=off): with the fallback, every hash
// works either way. Failures leave the modes unknown.
func (b *Backend) probeOAEP(ctx context.Context) {
	b.oaepProbe.Do(func() {
		if b.fallbackAvailable() || !b.mechAllows(pkcs11.CKM_RSA_PKCS_OAEP, pkcs11.CKF_DECRYPT, 2048) ||
			!b.mechAllows(pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN, pkcs11.CKF_GENERATE_KEY_PAIR, 2048) {
			return
		}
		var pubH, privH pkcs11.ObjectHandle
		var k *keyObject
		err := b.withSession(ctx, func(s *session) error {
			id := newID()
			const label = "keyplane-oaep-probe"
			pubT := []*pkcs11.Attribute{
				attr(pkcs11.CKA_CLASS, pkcs11.CKO_PUBLIC_KEY), attr(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_RSA),
				attr(pkcs11.CKA_TOKEN, false), attr(pkcs11.CKA_ENCRYPT, true), attr(pkcs11.CKA_LABEL, label), attr(pkcs11.CKA_ID, id),
				attr(pkcs11.CKA_MODULUS_BITS, 2048), attr(pkcs11.CKA_PUBLIC_EXPONENT, []byte{1, 0, 1}),
			}
			privT := []*pkcs11.Attribute{
				attr(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY), attr(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_RSA),
				attr(pkcs11.CKA_TOKEN, false), attr(pkcs11.CKA_PRIVATE, true), attr(pkcs11.CKA_SENSITIVE, true),
				attr(pkcs11.CKA_EXTRACTABLE, false), attr(pkcs11.CKA_DECRYPT, true), attr(pkcs11.CKA_SIGN, false),
				attr(pkcs11.CKA_LABEL, label), attr(pkcs11.CKA_ID, id),
			}
			var err error
			pubH, privH, err = b.p.GenerateKeyPair(s.h, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN, nil)}, pubT, privT)
			if err != nil {
				return ckErr("C_GenerateKeyPair", err)
			}
			k, err = b.readKeyPair(s, privH)
			return err
		})
		if err != nil {
			return
		}
		defer b.withSession(ctx, func(s *session) error {
			_ = b.p.DestroyObject(s.h, privH)
			_ = b.p.DestroyObject(s.h, pubH)
			return nil
		})
		d := &decrypter{b: b, ref: "(OAEP probe key)", pub: k.pub.(*rsa.PublicKey), key: k}
		for _, h := range oaepProbeHashes {
			for _, label := range []bool{false, true} {
				_ = d.probe(oaepKey{h, h, label})
			}
		}
	})
}
