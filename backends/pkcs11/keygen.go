//go:build cgo

package pkcs11

import (
	"context"
	"crypto/rand"
	"fmt"

	"github.com/keyplane/keyplane/backend"
	"github.com/miekg/pkcs11"
)

// idLen is the length of the random CKA_ID given to new keys.
const idLen = 16

func newID() []byte {
	id := make([]byte, idLen)
	_, _ = rand.Read(id) // crypto/rand.Read never fails
	return id
}

func attr(t uint, v any) *pkcs11.Attribute { return pkcs11.NewAttribute(t, v) }

// privateTemplate is the common part of every private or secret key:
// a token object, private, sensitive, never extractable.
func privateTemplate(class, ktype uint, label string, id []byte) []*pkcs11.Attribute {
	return []*pkcs11.Attribute{
		attr(pkcs11.CKA_CLASS, class),
		attr(pkcs11.CKA_KEY_TYPE, ktype),
		attr(pkcs11.CKA_TOKEN, true),
		attr(pkcs11.CKA_PRIVATE, true),
		attr(pkcs11.CKA_SENSITIVE, true),
		attr(pkcs11.CKA_EXTRACTABLE, false),
		attr(pkcs11.CKA_LABEL, label),
		attr(pkcs11.CKA_ID, id),
	}
}

func publicTemplate(ktype uint, label string, id []byte) []*pkcs11.Attribute {
	return []*pkcs11.Attribute{
		attr(pkcs11.CKA_CLASS, pkcs11.CKO_PUBLIC_KEY),
		attr(pkcs11.CKA_KEY_TYPE, ktype),
		attr(pkcs11.CKA_TOKEN, true),
		attr(pkcs11.CKA_PRIVATE, false),
		attr(pkcs11.CKA_LABEL, label),
		attr(pkcs11.CKA_ID, id),
	}
}

// usage sets what a key may do: RSA signs and decrypts (CKA_DECRYPT makes
// the OAEP fallback possible), EC and Ed25519 only sign.
func usage(alg backend.Algorithm) (pub, priv []*pkcs11.Attribute) {
	switch alg.Family() {
	case backend.FamilyRSA:
		return []*pkcs11.Attribute{attr(pkcs11.CKA_VERIFY, true), attr(pkcs11.CKA_ENCRYPT, true), attr(pkcs11.CKA_WRAP, false)},
			[]*pkcs11.Attribute{attr(pkcs11.CKA_SIGN, true), attr(pkcs11.CKA_DECRYPT, true), attr(pkcs11.CKA_UNWRAP, false)}
	default:
		return []*pkcs11.Attribute{attr(pkcs11.CKA_VERIFY, true), attr(pkcs11.CKA_ENCRYPT, false)},
			[]*pkcs11.Attribute{attr(pkcs11.CKA_SIGN, true), attr(pkcs11.CKA_DECRYPT, false), attr(pkcs11.CKA_DERIVE, false)}
	}
}

func keyType(alg backend.Algorithm) uint {
	switch alg.Family() {
	case backend.FamilyRSA:
		return pkcs11.CKK_RSA
	case backend.FamilyEC:
		return pkcs11.CKK_EC
	case backend.FamilyEd25519:
		return ckkECEdwards
	}
	return pkcs11.CKK_AES
}

// GenerateKey makes a key inside the token: a key pair whose halves share
// the label and a random 16-byte CKA_ID, or a secret key (two for fernet).
func (b *Backend) GenerateKey(ctx context.Context, spec backend.KeySpec) (*backend.Key, error) {
	if err := backend.ValidateLabel(spec.Label); err != nil {
		return nil, err
	}
	if !b.supportsAlgorithm(spec.Algorithm) {
		return nil, fmt.Errorf("pkcs11: generate %s: token %q cannot make %q keys: %w", spec.Label, b.tokenLabel(), spec.Algorithm, backend.ErrUnsupported)
	}
	release, err := b.reserveLabel(spec.Label)
	if err != nil {
		return nil, err
	}
	defer release()
	var k *keyObject
	err = b.withSession(ctx, func(s *session) error {
		taken, err := b.labelTaken(s, spec.Label)
		if err != nil {
			return err
		}
		if taken {
			return fmt.Errorf("pkcs11: label %q: %w", spec.Label, backend.ErrAlreadyExists)
		}
		id := newID()
		switch f := spec.Algorithm.Family(); f {
		case backend.FamilyAES:
			t := append(privateTemplate(pkcs11.CKO_SECRET_KEY, pkcs11.CKK_AES, spec.Label, id),
				attr(pkcs11.CKA_VALUE_LEN, 32), attr(pkcs11.CKA_ENCRYPT, true), attr(pkcs11.CKA_DECRYPT, true),
				attr(pkcs11.CKA_SIGN, false), attr(pkcs11.CKA_WRAP, false), attr(pkcs11.CKA_UNWRAP, false))
			h, err := b.p.GenerateKey(s.h, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_AES_KEY_GEN, nil)}, t)
			if err != nil {
				return ckErr("C_GenerateKey", err)
			}
			k = &keyObject{label: spec.Label, id: id, alg: backend.AES256, secret: h}
			return nil
		case backend.FamilyFernet:
			k, err = b.generateFernet(s, spec.Label, id)
			return err
		}
		pubT, privT := usage(spec.Algorithm)
		kt := keyType(spec.Algorithm)
		pubT = append(publicTemplate(kt, spec.Label, id), pubT...)
		privT = append(privateTemplate(pkcs11.CKO_PRIVATE_KEY, kt, spec.Label, id), privT...)
		var mech uint
		switch spec.Algorithm.Family() {
		case backend.FamilyRSA:
			mech = pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN
			pubT = append(pubT, attr(pkcs11.CKA_MODULUS_BITS, spec.Algorithm.RSABits()), attr(pkcs11.CKA_PUBLIC_EXPONENT, []byte{1, 0, 1}))
		case backend.FamilyEC:
			mech = pkcs11.CKM_EC_KEY_PAIR_GEN
			pubT = append(pubT, attr(pkcs11.CKA_EC_PARAMS, ecParams(spec.Algorithm)))
		case backend.FamilyEd25519:
			mech = ckmECEdwardsKeyPairGen
			pubT = append(pubT, attr(pkcs11.CKA_EC_PARAMS, ecParams(spec.Algorithm)))
		}
		_, priv, err := b.p.GenerateKeyPair(s.h, []*pkcs11.Mechanism{pkcs11.NewMechanism(mech, nil)}, pubT, privT)
		if err != nil {
			return ckErr("C_GenerateKeyPair", err)
		}
		k, err = b.readKeyPair(s, priv)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pkcs11: generate %s %q: %w", spec.Algorithm, spec.Label, err)
	}
	return k.info(b.tokenLabel()), nil
}

// fernetAESTemplate and fernetMACTemplate are the two halves of a fernet
// key: an AES-128 key for CKM_AES_CBC_PAD and a generic secret for
// CKM_SHA256_HMAC, sharing label and CKA_ID.
func fernetAESTemplate(label string, id []byte) []*pkcs11.Attribute {
	return append(privateTemplate(pkcs11.CKO_SECRET_KEY, pkcs11.CKK_AES, label, id),
		attr(pkcs11.CKA_ENCRYPT, true), attr(pkcs11.CKA_DECRYPT, true), attr(pkcs11.CKA_SIGN, false),
		attr(pkcs11.CKA_WRAP, false), attr(pkcs11.CKA_UNWRAP, false))
}

func fernetMACTemplate(label string, id []byte) []*pkcs11.Attribute {
	return append(privateTemplate(pkcs11.CKO_SECRET_KEY, pkcs11.CKK_GENERIC_SECRET, label, id),
		attr(pkcs11.CKA_SIGN, true), attr(pkcs11.CKA_VERIFY, true), attr(pkcs11.CKA_ENCRYPT, false), attr(pkcs11.CKA_DECRYPT, false))
}

// generateFernet makes both halves inside the token. The HMAC key is 32
// random bytes (CKM_GENERIC_SECRET_KEY_GEN): a token-made key never leaves
// the token, so it need not fit pyca's 16-byte signing key, and tokens
// refuse shorter HMAC keys.
func (b *Backend) generateFernet(s *session, label string, id []byte) (*keyObject, error) {
	aes, err := b.p.GenerateKey(s.h, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_AES_KEY_GEN, nil)},
		append(fernetAESTemplate(label, id), attr(pkcs11.CKA_VALUE_LEN, 16)))
	if err != nil {
		return nil, ckErr("C_GenerateKey", err)
	}
	mac, err := b.p.GenerateKey(s.h, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_GENERIC_SECRET_KEY_GEN, nil)},
		append(fernetMACTemplate(label, id), attr(pkcs11.CKA_VALUE_LEN, 32)))
	if err != nil {
		_ = b.p.DestroyObject(s.h, aes)
		return nil, ckErr("C_GenerateKey", err)
	}
	return &keyObject{label: label, id: id, alg: backend.Fernet, secret: aes, mac: mac}, nil
}
