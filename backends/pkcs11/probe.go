//go:build cgo && !nopkcs11

package pkcs11

import (
	"context"
	"crypto"
	"crypto/rsa"
	"math/big"

	"github.com/keyplane/keyplane/backend"
	"github.com/miekg/pkcs11"
)

// oaepProbeHashes are the OAEP parameters Capabilities learns about when
// it cannot rely on the fallback.
var oaepProbeHashes = []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512}

// probeRSA learns, with a throwaway session key pair (CKA_TOKEN false,
// destroyed at once), what the token's RSA decryption really does where
// its mechanism list cannot say, so that Capabilities reports only what
// was seen:
//
//   - which OAEP hashes CKM_RSA_PKCS_OAEP takes, only when the fallback is
//     unavailable (no CKM_RSA_X_509, or oaep-fallback=off): with the
//     fallback, every hash works either way;
//   - whether CKM_RSA_PKCS decryption of a ciphertext whose padding is
//     always bad fails, or returns a synthetic plaintext (implicit
//     rejection: NSS softokn 3.87).
//
// It runs at most once per backend. Failures leave the modes unknown.
func (b *Backend) probeRSA(ctx context.Context) {
	b.rsaProbe.Do(func() {
		probeOAEP := !b.fallbackAvailable() && b.mechAllows(pkcs11.CKM_RSA_PKCS_OAEP, pkcs11.CKF_DECRYPT, 2048)
		probePKCS1v15 := b.mechAllows(pkcs11.CKM_RSA_PKCS, pkcs11.CKF_DECRYPT, 0)
		// 2048 bits: OAEP with SHA-512 needs more than 1024, and keyplane
		// reads no smaller RSA key.
		const bits = 2048
		if !probeOAEP && !probePKCS1v15 || !b.mechAllows(pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN, pkcs11.CKF_GENERATE_KEY_PAIR, bits) {
			return
		}
		var pubH, privH pkcs11.ObjectHandle
		var k *keyObject
		err := b.withSession(ctx, func(s *session) error {
			id := newID()
			const label = "keyplane-rsa-probe"
			pubT := []*pkcs11.Attribute{
				attr(pkcs11.CKA_CLASS, pkcs11.CKO_PUBLIC_KEY), attr(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_RSA),
				attr(pkcs11.CKA_TOKEN, false), attr(pkcs11.CKA_ENCRYPT, true), attr(pkcs11.CKA_LABEL, label), attr(pkcs11.CKA_ID, id),
				attr(pkcs11.CKA_MODULUS_BITS, bits), attr(pkcs11.CKA_PUBLIC_EXPONENT, []byte{1, 0, 1}),
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
		d := &decrypter{b: b, ref: "(RSA probe key)", pub: k.pub.(*rsa.PublicKey), key: k}
		if probeOAEP {
			for _, h := range oaepProbeHashes {
				for _, label := range []bool{false, true} {
					_ = d.probe(oaepKey{h, h, label})
				}
			}
		}
		if probePKCS1v15 {
			d.probePKCS1v15()
		}
	})
}

// pkcs1v15Mode is what the token does with a PKCS#1 v1.5 ciphertext whose
// padding is bad.
type pkcs1v15Mode int32

const (
	pkcs1v15Unknown  pkcs1v15Mode = iota
	pkcs1v15Errors                // C_Decrypt fails (ErrDecryption)
	pkcs1v15Implicit              // C_Decrypt returns a synthetic plaintext
)

// probePKCS1v15 decrypts the ciphertext 1 (1^d = 1: the encoded message
// 0x00…01, whose padding is bad for every key) and records whether the
// token refused it or answered with a plaintext. A plaintext is checked
// for what implicit rejection promises — the same answer again for the
// same ciphertext — before it is believed; anything else leaves the mode
// unknown (the suite then expects errors, and says what it got).
func (d *decrypter) probePKCS1v15() {
	size := d.pub.Size()
	one := big.NewInt(1).FillBytes(make([]byte, size))
	mech := pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS, nil)
	pt, err := d.run(mech, one, size)
	switch {
	case err == backend.ErrDecryption:
		d.b.pkcs1v15.Store(int32(pkcs1v15Errors))
	case err == nil:
		again, err := d.run(mech, one, size)
		if err == nil && string(again) == string(pt) {
			d.b.pkcs1v15.Store(int32(pkcs1v15Implicit))
		}
	}
}

func (b *Backend) pkcs1v15Mode() pkcs1v15Mode { return pkcs1v15Mode(b.pkcs1v15.Load()) }
