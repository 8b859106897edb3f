//go:build cgo && !nopkcs11

package pkcs11

import (
	"context"
	"crypto/rsa"
	"fmt"
	"math/big"
	"strconv"

	"github.com/keyplane/keyplane/backend"
	"github.com/miekg/pkcs11"
)

// CreateTrustedWrappingKey makes, in the token uri names, a wrapping key
// with CKA_TRUSTED true: the only kind of key under which a key made
// wrappable (KeySpec.Wrappable: CKA_WRAP_WITH_TRUSTED true) leaves the
// token. key is a backend.SecretKey of aes-256 (for aes-key-wrap-pad) or
// an *rsa.PublicKey (for rsa-oaep-sha1: the public half of another
// token's unwrapping key, see GenerateUnwrappingKey).
//
// PKCS#11 lets only the security officer set CKA_TRUSTED (SoftHSM2
// 2.6.1: CKR_ATTRIBUTE_READ_ONLY for the user, P11AttrTrusted), so this
// logs in as the SO on a session of its own and logs out again. soPIN
// supplies the SO's PIN (a backend.SecretFunc, as Config.PIN supplies
// the user's): it is called once, just before the SO's C_Login, and the
// bytes it returns are zeroed when C_Login returns; the PIN is never held
// in a Go string of its own, and no error shows it. A user PIN in uri is used only to check, logged in as the user
// and before the SO logs in, that no object (private ones included, which
// an SO session cannot see) has the label; without one, only public
// objects are checked. An SO session can make public objects
// only, so the key is a public object (CKA_PRIVATE false): anyone who can
// open a session on the token sees it. It can do nothing but wrap
// (CKA_WRAP true; CKA_UNWRAP, CKA_ENCRYPT, CKA_DECRYPT, CKA_SIGN,
// CKA_VERIFY false), an AES key is sensitive and never extractable, and
// what it can wrap is only what the session can see, so without the user
// PIN it wraps nothing private. The unwrapping half — the same AES key in
// the destination token with CKA_UNWRAP true, or the RSA private key —
// is a private user object (ImportUnwrappingKey, GenerateUnwrappingKey).
//
// The application must not be logged in to the token as its user at the
// same time (another Backend of this process open on it with a PIN):
// PKCS#11 logs an application in as one user type per token, and the SO
// login then fails with CKR_USER_ANOTHER_ALREADY_LOGGED_IN.
func CreateTrustedWrappingKey(ctx context.Context, uri string, soPIN backend.SecretFunc, label string, key any) (*backend.Key, error) {
	if err := backend.ValidateLabel(label); err != nil {
		return nil, err
	}
	if soPIN == nil {
		return nil, fmt.Errorf("pkcs11: trusted wrapping key %q: the security officer's PIN: %w", label, backend.ErrNoSecret)
	}
	u, err := ParseURI(uri)
	if err != nil {
		return nil, err
	}
	if pin, err := u.pinFunc(); err != nil {
		return nil, err
	} else if pin != nil {
		if err := labelFreeForUser(ctx, u, label); err != nil {
			return nil, err
		}
	}
	u.PINValue, u.PINSource, u.PIN = "", "", nil
	id := newID()
	var t []*pkcs11.Attribute
	info := &backend.Key{ID: id, Label: label}
	switch key := key.(type) {
	case backend.SecretKey:
		if key.Algorithm != backend.AES256 || len(key.Value) != 32 {
			return nil, fmt.Errorf("pkcs11: trusted wrapping key %q: a secret key of %s, %d bytes (want aes-256, 32 bytes): %w", label, key.Algorithm, len(key.Value), backend.ErrInvalidInput)
		}
		info.Algorithm = backend.AES256
		t = []*pkcs11.Attribute{
			attr(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY), attr(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_AES),
			attr(pkcs11.CKA_VALUE, key.Value),
			attr(pkcs11.CKA_SENSITIVE, true), attr(pkcs11.CKA_EXTRACTABLE, false),
			attr(pkcs11.CKA_ENCRYPT, false), attr(pkcs11.CKA_DECRYPT, false),
			attr(pkcs11.CKA_SIGN, false), attr(pkcs11.CKA_VERIFY, false), attr(pkcs11.CKA_UNWRAP, false),
		}
	case *rsa.PublicKey:
		alg, err := backend.AlgorithmOf(key)
		if err != nil {
			return nil, fmt.Errorf("pkcs11: trusted wrapping key %q: %w", label, err)
		}
		info.Algorithm, info.Public = alg, key
		t = []*pkcs11.Attribute{
			attr(pkcs11.CKA_CLASS, pkcs11.CKO_PUBLIC_KEY), attr(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_RSA),
			attr(pkcs11.CKA_MODULUS, key.N.Bytes()), attr(pkcs11.CKA_PUBLIC_EXPONENT, big.NewInt(int64(key.E)).Bytes()),
			attr(pkcs11.CKA_ENCRYPT, false), attr(pkcs11.CKA_VERIFY, false),
		}
	default:
		return nil, fmt.Errorf("pkcs11: trusted wrapping key %q: key of type %T (want an aes-256 backend.SecretKey or *rsa.PublicKey): %w", label, key, backend.ErrUnsupported)
	}
	t = append(t, attr(pkcs11.CKA_TOKEN, true), attr(pkcs11.CKA_PRIVATE, false), attr(pkcs11.CKA_WRAP, true),
		attr(pkcs11.CKA_TRUSTED, true), attr(pkcs11.CKA_LABEL, label), attr(pkcs11.CKA_ID, id))
	b, err := openParsed(ctx, u, nil)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	wa, ok := b.p.(wrapAPI)
	if !ok {
		return nil, fmt.Errorf("pkcs11: trusted wrapping key %q: no C_Logout: %w", label, backend.ErrUnsupported)
	}
	err = b.withSession(ctx, func(s *session) error {
		if taken, err := b.labelTaken(s, label); err != nil {
			return err
		} else if taken {
			return fmt.Errorf("pkcs11: label %q: %w", label, backend.ErrAlreadyExists)
		}
		pin, err := backend.ReadSecret(ctx, "pkcs11: token "+strconv.Quote(b.tokenLabel())+": the security officer's PIN", soPIN)
		if err != nil {
			return err
		}
		if err := b.loginWith(s.h, pkcs11.CKU_SO, pin); err != nil {
			return fmt.Errorf("pkcs11: token %q: logging in as the security officer: %w", b.tokenLabel(), ckErr("C_Login", err))
		}
		defer func() { _ = wa.Logout(s.h) }()
		if _, err := b.p.CreateObject(s.h, t); err != nil {
			return fmt.Errorf("pkcs11: token %q: creating the trusted wrapping key: %w", b.tokenLabel(), ckErr("C_CreateObject", err))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pkcs11: trusted wrapping key %q: %w", label, err)
	}
	info.URI = URI{Token: b.tokenLabel(), Object: label, ID: id}.String()
	return info, nil
}

// ImportUnwrappingKey stores key, an aes-256 backend.SecretKey, as a key
// that can only unwrap (CKA_UNWRAP true; CKA_WRAP, CKA_ENCRYPT,
// CKA_DECRYPT, CKA_SIGN false): the destination half of an AES wrapping
// key whose source half CreateTrustedWrappingKey made in another token
// (or in this one, under another label). It is a private, sensitive,
// never extractable token object.
func (b *Backend) ImportUnwrappingKey(ctx context.Context, label string, key backend.SecretKey) (*backend.Key, error) {
	if err := b.checkOpen(); err != nil {
		return nil, err
	}
	if err := backend.ValidateLabel(label); err != nil {
		return nil, err
	}
	if key.Algorithm != backend.AES256 || len(key.Value) != 32 {
		return nil, fmt.Errorf("pkcs11: unwrapping key %q: a secret key of %s, %d bytes (want aes-256, 32 bytes): %w", label, key.Algorithm, len(key.Value), backend.ErrInvalidInput)
	}
	id := newID()
	t := append(privateTemplate(pkcs11.CKO_SECRET_KEY, pkcs11.CKK_AES, label, id),
		attr(pkcs11.CKA_VALUE, key.Value), attr(pkcs11.CKA_UNWRAP, true), attr(pkcs11.CKA_WRAP, false),
		attr(pkcs11.CKA_ENCRYPT, false), attr(pkcs11.CKA_DECRYPT, false), attr(pkcs11.CKA_SIGN, false),
		attr(pkcs11.CKA_VERIFY, false))
	return b.createUnderLabel(ctx, label, "unwrapping key", func(s *session) (*keyObject, error) {
		h, err := b.p.CreateObject(s.h, t)
		if err != nil {
			return nil, ckErr("C_CreateObject", err)
		}
		return &keyObject{label: label, id: id, alg: backend.AES256, secret: h}, nil
	})
}

// GenerateUnwrappingKey makes an RSA key pair (alg rsa-2048, -3072 or
// -4096) inside the token whose private key can only unwrap (CKA_UNWRAP
// true; CKA_SIGN, CKA_DECRYPT false) and whose public key can only wrap
// (CKA_WRAP true): the token's key for taking in keys from outside —
// from the software backend (package keywrap wraps to its public key in
// memory) or from another token (CreateTrustedWrappingKey there with this
// public key).
func (b *Backend) GenerateUnwrappingKey(ctx context.Context, label string, alg backend.Algorithm) (*backend.Key, error) {
	if err := b.checkOpen(); err != nil {
		return nil, err
	}
	if err := backend.ValidateLabel(label); err != nil {
		return nil, err
	}
	if alg.Family() != backend.FamilyRSA || !b.supportsAlgorithm(alg) {
		return nil, fmt.Errorf("pkcs11: unwrapping key %q: %q (want an RSA algorithm the token makes): %w", label, alg, backend.ErrUnsupported)
	}
	id := newID()
	pubT := append(publicTemplate(pkcs11.CKK_RSA, label, id),
		attr(pkcs11.CKA_WRAP, true), attr(pkcs11.CKA_ENCRYPT, false), attr(pkcs11.CKA_VERIFY, false),
		attr(pkcs11.CKA_MODULUS_BITS, alg.RSABits()), attr(pkcs11.CKA_PUBLIC_EXPONENT, []byte{1, 0, 1}))
	privT := append(privateTemplate(pkcs11.CKO_PRIVATE_KEY, pkcs11.CKK_RSA, label, id),
		attr(pkcs11.CKA_UNWRAP, true), attr(pkcs11.CKA_SIGN, false), attr(pkcs11.CKA_DECRYPT, false))
	return b.createUnderLabel(ctx, label, "unwrapping key", func(s *session) (*keyObject, error) {
		_, priv, err := b.p.GenerateKeyPair(s.h, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN, nil)}, pubT, privT)
		if err != nil {
			return nil, ckErr("C_GenerateKeyPair", err)
		}
		return b.readKeyPair(s, priv)
	})
}

// labelFreeForUser checks, logged in as the user (u gives the PIN), that
// no object of the token has label. The backend is closed again before
// returning, which logs the application out of the token (PKCS#11 ends a
// login with the last session).
func labelFreeForUser(ctx context.Context, u *URI, label string) error {
	b, err := openParsed(ctx, u, nil)
	if err != nil {
		return err
	}
	defer b.Close()
	return b.withSession(ctx, func(s *session) error {
		taken, err := b.labelTaken(s, label)
		if err != nil {
			return err
		}
		if taken {
			return fmt.Errorf("pkcs11: trusted wrapping key: label %q: %w", label, backend.ErrAlreadyExists)
		}
		return nil
	})
}
