//go:build cgo && !nopkcs11

package pkcs11

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"

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

// wrappable makes a private or secret key template wrappable (on): the
// key may leave the token, but only wrapped under a key with CKA_TRUSTED
// true (CKA_EXTRACTABLE and CKA_WRAP_WITH_TRUSTED true).
func wrappable(t []*pkcs11.Attribute, on bool) []*pkcs11.Attribute {
	if on {
		setAttr(t, pkcs11.CKA_EXTRACTABLE, true)
		t = append(t, attr(pkcs11.CKA_WRAP_WITH_TRUSTED, true))
	}
	return t
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
// the OAEP fallback possible), EC and Ed25519 only sign, X25519 only
// derives. derive sets CKA_DERIVE on an EC private key too (for key
// agreement, see generateKeyPair).
func usage(alg backend.Algorithm, derive bool) (pub, priv []*pkcs11.Attribute) {
	if alg == backend.X25519 {
		return nil, []*pkcs11.Attribute{attr(pkcs11.CKA_SIGN, false), attr(pkcs11.CKA_DECRYPT, false), attr(pkcs11.CKA_DERIVE, true)}
	}
	switch alg.Family() {
	case backend.FamilyRSA:
		return []*pkcs11.Attribute{attr(pkcs11.CKA_VERIFY, true), attr(pkcs11.CKA_ENCRYPT, true), attr(pkcs11.CKA_WRAP, false)},
			[]*pkcs11.Attribute{attr(pkcs11.CKA_SIGN, true), attr(pkcs11.CKA_DECRYPT, true), attr(pkcs11.CKA_UNWRAP, false)}
	default:
		return []*pkcs11.Attribute{attr(pkcs11.CKA_VERIFY, true), attr(pkcs11.CKA_ENCRYPT, false)},
			[]*pkcs11.Attribute{attr(pkcs11.CKA_SIGN, true), attr(pkcs11.CKA_DECRYPT, false), attr(pkcs11.CKA_DERIVE, derive)}
	}
}

func keyType(alg backend.Algorithm) uint {
	if alg == backend.X25519 {
		return ckkECMontgomery // or CKK_EC_EDWARDS: see x25519Mechanism
	}
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
	if err := b.checkOpen(); err != nil { // before any other check: a closed backend says so first
		return nil, err
	}
	if err := backend.ValidateLabel(spec.Label); err != nil {
		return nil, err
	}
	if spec.Algorithm == backend.X25519 {
		b.probeAgreement(ctx) // whether the token makes X25519 keys
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
		k, err = b.generateObjects(s, spec, newID())
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pkcs11: generate %s %q: %w", spec.Algorithm, spec.Label, err)
	}
	return k.info(b.tokenLabel()), nil
}

// generateObjects makes the objects of a key of spec with CKA_LABEL
// spec.Label and CKA_ID id (the label is not checked here).
func (b *Backend) generateObjects(s *session, spec backend.KeySpec, id []byte) (*keyObject, error) {
	var k *keyObject
	var err error
	err = func() error {
		switch f := spec.Algorithm.Family(); f {
		case backend.FamilyAES:
			t := append(privateTemplate(pkcs11.CKO_SECRET_KEY, pkcs11.CKK_AES, spec.Label, id),
				attr(pkcs11.CKA_VALUE_LEN, 32), attr(pkcs11.CKA_ENCRYPT, true), attr(pkcs11.CKA_DECRYPT, true),
				attr(pkcs11.CKA_SIGN, false), attr(pkcs11.CKA_WRAP, false), attr(pkcs11.CKA_UNWRAP, false))
			t = wrappable(t, spec.Wrappable)
			h, err := b.p.GenerateKey(s.h, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_AES_KEY_GEN, nil)}, t)
			if err != nil {
				return ckErr("C_GenerateKey", err)
			}
			k = &keyObject{label: spec.Label, id: id, alg: backend.AES256, secret: h}
			return nil
		case backend.FamilyFernet:
			if spec.Wrappable {
				return fmt.Errorf("pkcs11: fernet keys (two token objects) are not made wrappable: %w", backend.ErrUnsupported)
			}
			k, err = b.generateFernet(s, spec.Label, id)
			return err
		}
		priv, err := b.generateKeyPair(s, spec, id, true)
		if err != nil {
			return err
		}
		if k, err = b.readKeyPair(s, priv); err != nil {
			return err
		}
		return b.checkECPoint(s, k)
	}()
	return k, err
}

// generateKeyPair makes the key pair spec asks for and returns its private
// key. A signing-only pair (EC, Ed25519) whose template the token refuses
// is made once more without the public key's usage attributes, and the
// backend remembers to leave them out: tpm2-pkcs11 1.9 derives CKA_VERIFY
// from the TPM key's decrypt attribute and CKA_ENCRYPT from its sign
// attribute, and fails C_GenerateKeyPair (CKR_GENERAL_ERROR, "User
// specified and TPM specified attr mismatch") for keyplane's CKA_VERIFY
// true, CKA_DECRYPT false. keyplane never uses the public object to
// verify (signatures are checked on the host), so letting the token
// choose them takes nothing away; the private key keeps CKA_SIGN true and
// CKA_DECRYPT false.
//
// An EC private key gets CKA_DERIVE true, for key agreement
// (CKM_ECDH1_DERIVE), when the token lists that mechanism; a token that
// refuses the template with it gets the key without it, and the backend
// remembers (agreementProbe.deriveRefused) and reports no EC key
// agreement.
//
// token false makes session objects (CKA_TOKEN false), for probes.
func (b *Backend) generateKeyPair(s *session, spec backend.KeySpec, id []byte, token bool) (pkcs11.ObjectHandle, error) {
	alg := spec.Algorithm
	derive := alg.Family() == backend.FamilyEC && b.ecDeriveWanted()
	priv, err := b.generateKeyPairUsage(s, spec, id, token, derive)
	if err == nil || !derive || !templateRefused(codeOf(err)) {
		return priv, err
	}
	priv, err2 := b.generateKeyPairUsage(s, spec, id, token, false)
	if err2 != nil {
		return 0, fmt.Errorf("%w (and again without CKA_DERIVE: %v)", err, err2)
	}
	b.agreement.deriveRefused.Store(true)
	return priv, nil
}

func (b *Backend) generateKeyPairUsage(s *session, spec backend.KeySpec, id []byte, token, derive bool) (pkcs11.ObjectHandle, error) {
	alg := spec.Algorithm
	pubUsage, privUsage := usage(alg, derive)
	kt := keyType(alg)
	var mech uint
	var params []*pkcs11.Attribute
	switch {
	case alg == backend.X25519:
		mech, kt = b.x25519Mechanism()
		params = []*pkcs11.Attribute{attr(pkcs11.CKA_EC_PARAMS, ecParams(alg))}
	case alg.Family() == backend.FamilyRSA:
		mech = pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN
		params = []*pkcs11.Attribute{attr(pkcs11.CKA_MODULUS_BITS, alg.RSABits()), attr(pkcs11.CKA_PUBLIC_EXPONENT, []byte{1, 0, 1})}
	case alg.Family() == backend.FamilyEC:
		mech = pkcs11.CKM_EC_KEY_PAIR_GEN
		params = []*pkcs11.Attribute{attr(pkcs11.CKA_EC_PARAMS, ecParams(alg))}
	case alg.Family() == backend.FamilyEd25519:
		mech = ckmECEdwardsKeyPairGen
		params = []*pkcs11.Attribute{attr(pkcs11.CKA_EC_PARAMS, ecParams(alg))}
	}
	signOnly := alg.Family() != backend.FamilyRSA
	gen := func(pubUsage []*pkcs11.Attribute) (pkcs11.ObjectHandle, error) {
		pubT := append(append(publicTemplate(kt, spec.Label, id), pubUsage...), params...)
		privT := wrappable(append(privateTemplate(pkcs11.CKO_PRIVATE_KEY, kt, spec.Label, id), privUsage...), spec.Wrappable)
		if !token {
			setAttr(pubT, pkcs11.CKA_TOKEN, false)
			setAttr(privT, pkcs11.CKA_TOKEN, false)
		}
		_, priv, err := b.p.GenerateKeyPair(s.h, []*pkcs11.Mechanism{pkcs11.NewMechanism(mech, nil)}, pubT, privT)
		return priv, ckErr("C_GenerateKeyPair", err)
	}
	if signOnly && b.tokenSetsPublicUsage.Load() || pubUsage == nil {
		return gen(nil)
	}
	priv, err := gen(pubUsage)
	if err == nil || !signOnly || !templateRefused(codeOf(err)) {
		return priv, err
	}
	priv, err2 := gen(nil)
	if err2 != nil {
		return 0, fmt.Errorf("%w (and again without CKA_VERIFY and CKA_ENCRYPT on the public key: %v)", err, err2)
	}
	b.tokenSetsPublicUsage.Store(true)
	return priv, nil
}

// checkECPoint refuses, destroys and remembers an EC key whose public
// point the token gave in a form that is not DER (shortFormOctetString):
// tpm2-pkcs11 1.9 does so for P-521 and then cannot use the key itself —
// it parses its own CKA_EC_POINT with OpenSSL's DER decoder at
// C_SignInit and fails with CKR_HOST_MEMORY ("d2i_ASN1_OCTET_STRING: too
// long"), after which it counts the key as in use and will not destroy it
// for the rest of the process. The key has not been used yet, so it can
// still be destroyed here.
func (b *Backend) checkECPoint(s *session, k *keyObject) error {
	if k.alg.Family() != backend.FamilyEC || k.pubObj == 0 {
		return nil
	}
	a, err := b.attrs(s, k.pubObj, pkcs11.CKA_EC_POINT)
	if err != nil {
		return err
	}
	if !shortFormOctetString(a[pkcs11.CKA_EC_POINT]) {
		return nil
	}
	b.curveRefused.Store(k.alg, true)
	_ = b.p.DestroyObject(s.h, k.priv)
	_ = b.p.DestroyObject(s.h, k.pubObj)
	return fmt.Errorf("pkcs11: token %q gives %s public points that are not DER (an OCTET STRING of %d bytes with a short-form length), and a token that encodes its points so cannot use the keys (tpm2-pkcs11 1.9 fails C_SignInit on them): the key was destroyed: %w",
		b.tokenLabel(), k.alg, len(a[pkcs11.CKA_EC_POINT])-2, backend.ErrUnsupported)
}

// probeCurves learns, once per backend, whether the token makes usable
// keys on the curves whose points need DER's long length form (P-521:
// 133 bytes), by making one key pair of each and destroying it at once: a
// session key pair, or, on a token that makes none (tpm2-pkcs11 refuses
// CKA_TOKEN false), a token key pair labelled keyplane-probe-…. A curve
// whose key checkECPoint refused is left out of Capabilities and refused
// by GenerateKey. Failures leave the curve as the mechanisms say.
func (b *Backend) probeCurves(ctx context.Context) {
	b.curveProbe.Do(func() {
		for _, alg := range []backend.Algorithm{backend.ECP521} {
			if !b.supportsAlgorithm(alg) {
				continue
			}
			spec := backend.KeySpec{Label: "keyplane-probe-" + string(alg) + "-" + hex.EncodeToString(newID()[:6]), Algorithm: alg}
			_ = b.withSession(ctx, func(s *session) error {
				priv, err := b.generateKeyPair(s, spec, newID(), false)
				if err != nil && templateRefused(codeOf(err)) {
					priv, err = b.generateKeyPair(s, spec, newID(), true)
				}
				if err != nil {
					return err
				}
				k, err := b.readKeyPair(s, priv)
				if err != nil {
					_ = b.p.DestroyObject(s.h, priv)
					return err
				}
				if err := b.checkECPoint(s, k); err != nil {
					return err // destroyed
				}
				_ = b.p.DestroyObject(s.h, k.priv)
				if k.pubObj != 0 {
					_ = b.p.DestroyObject(s.h, k.pubObj)
				}
				return nil
			})
		}
	})
}

// setAttr replaces the value of the attribute typ in t.
func setAttr(t []*pkcs11.Attribute, typ uint, v any) {
	for i, a := range t {
		if a.Type == typ {
			t[i] = attr(typ, v)
		}
	}
}

// templateRefused: a code C_GenerateKeyPair gives for a template the
// token will not take as it is (tpm2-pkcs11 1.9: CKR_GENERAL_ERROR).
func templateRefused(code uint) bool {
	switch code {
	case pkcs11.CKR_TEMPLATE_INCONSISTENT, pkcs11.CKR_ATTRIBUTE_VALUE_INVALID,
		pkcs11.CKR_ATTRIBUTE_TYPE_INVALID, pkcs11.CKR_GENERAL_ERROR:
		return true
	}
	return false
}

// fernetAESTemplate and fernetMACTemplate are the two halves of a fernet
// key: an AES-128 key for CKM_AES_CBC_PAD and a generic secret for
// CKM_SHA256_HMAC. They share the label; the AES half has the key's
// CKA_ID and the HMAC half fernetMACID of it. (Until keyplane 0.x both
// halves had the key's CKA_ID, which NSS softokn cannot hold: it keeps one
// secret key per CKA_CLASS and CKA_ID. readSecret still reads such pairs.)
func fernetAESTemplate(label string, id []byte) []*pkcs11.Attribute {
	return append(privateTemplate(pkcs11.CKO_SECRET_KEY, pkcs11.CKK_AES, label, id),
		attr(pkcs11.CKA_ENCRYPT, true), attr(pkcs11.CKA_DECRYPT, true), attr(pkcs11.CKA_SIGN, false),
		attr(pkcs11.CKA_WRAP, false), attr(pkcs11.CKA_UNWRAP, false))
}

// fernetMACSuffix ends the CKA_ID of a fernet key's HMAC half.
var fernetMACSuffix = []byte("hmac")

// fernetMACID is the CKA_ID of the HMAC half of the fernet key whose AES
// half has CKA_ID id.
func fernetMACID(id []byte) []byte { return append(slices.Clone(id), fernetMACSuffix...) }

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
		append(fernetMACTemplate(label, fernetMACID(id)), attr(pkcs11.CKA_VALUE_LEN, 32)))
	if err != nil {
		_ = b.p.DestroyObject(s.h, aes)
		return nil, ckErr("C_GenerateKey", err)
	}
	return &keyObject{label: label, id: id, alg: backend.Fernet, secret: aes, mac: mac}, nil
}
