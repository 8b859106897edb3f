//go:build cgo && !nopkcs11

package pkcs11

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"fmt"
	"math/big"

	"github.com/keyplane/keyplane/backend"
	"github.com/miekg/pkcs11"
)

// ImportKey creates key in the token under label with C_CreateObject:
// *rsa.PrivateKey (two primes, with its CRT values), *ecdsa.PrivateKey
// (P-256/384/521), ed25519.PrivateKey (CKK_EC_EDWARDS, CKA_VALUE = the
// seed), or backend.SecretKey (aes-256; fernet as an AES-128 key and the
// 16-byte signing key followed by 16 zero bytes as an HMAC key — the same
// MAC, by RFC 2104). Private and secret objects are sensitive and
// non-extractable; key pairs get a public object too.
func (b *Backend) ImportKey(ctx context.Context, label string, key any) (*backend.Key, error) {
	if err := b.checkOpen(); err != nil { // before any other check: a closed backend says so first
		return nil, err
	}
	if err := backend.ValidateLabel(label); err != nil {
		return nil, err
	}
	alg, err := importAlgorithm(key)
	if err != nil {
		return nil, fmt.Errorf("pkcs11: import %q: %w", label, err)
	}
	if !b.supportsAlgorithm(alg) {
		return nil, fmt.Errorf("pkcs11: import %q: token %q cannot hold %s keys: %w", label, b.tokenLabel(), alg, backend.ErrUnsupported)
	}
	if b.probeImport(ctx) == importRefused {
		return nil, fmt.Errorf("pkcs11: import %q: token %q refuses private key material in C_CreateObject (it makes its own keys only): %w", label, b.tokenLabel(), backend.ErrUnsupported)
	}
	return b.createUnderLabel(ctx, label, "import "+string(alg), func(s *session) (*keyObject, error) {
		id := newID()
		var objs [][]*pkcs11.Attribute
		switch key := key.(type) {
		case backend.SecretKey:
			objs = secretObjects(key, label, id)
		default:
			pubT, privT, err := pairObjects(alg, key, label, id)
			if err != nil {
				return nil, err
			}
			objs = [][]*pkcs11.Attribute{privT, pubT}
		}
		var made []pkcs11.ObjectHandle
		for _, t := range objs {
			h, err := b.p.CreateObject(s.h, t)
			if err != nil {
				for _, m := range made {
					_ = b.p.DestroyObject(s.h, m)
				}
				return nil, ckErr("C_CreateObject", err)
			}
			made = append(made, h)
		}
		if alg.Asymmetric() {
			return b.readKeyPair(s, made[0])
		}
		k := &keyObject{label: label, id: id, alg: alg, secret: made[0]}
		if alg == backend.Fernet {
			k.mac = made[1]
		}
		return k, nil
	})
}

func importAlgorithm(key any) (backend.Algorithm, error) {
	switch key := key.(type) {
	case backend.SecretKey:
		if key.Algorithm != backend.AES256 && key.Algorithm != backend.Fernet {
			return "", fmt.Errorf("secret key of algorithm %q (want aes-256 or fernet): %w", key.Algorithm, backend.ErrUnsupported)
		}
		if len(key.Value) != 32 {
			return "", fmt.Errorf("%s key of %d bytes, want 32: %w", key.Algorithm, len(key.Value), backend.ErrInvalidInput)
		}
		return key.Algorithm, nil
	case *rsa.PrivateKey:
		if key == nil || key.N == nil {
			return "", fmt.Errorf("nil RSA key: %w", backend.ErrInvalidInput)
		}
		if len(key.Primes) != 2 {
			return "", fmt.Errorf("RSA key with %d primes (want 2): %w", len(key.Primes), backend.ErrUnsupported)
		}
		if err := key.Validate(); err != nil {
			return "", fmt.Errorf("RSA key: %v: %w", err, backend.ErrInvalidInput)
		}
	case *ecdsa.PrivateKey:
		if key == nil || key.Curve == nil {
			return "", fmt.Errorf("nil EC key: %w", backend.ErrInvalidInput)
		}
	case ed25519.PrivateKey:
		if len(key) != ed25519.PrivateKeySize {
			return "", fmt.Errorf("Ed25519 key of %d bytes: %w", len(key), backend.ErrInvalidInput)
		}
	default:
		return "", fmt.Errorf("key of type %T: %w", key, backend.ErrUnsupported)
	}
	return backend.AlgorithmOf(key)
}

func secretObjects(key backend.SecretKey, label string, id []byte) [][]*pkcs11.Attribute {
	if key.Algorithm == backend.AES256 {
		t := append(privateTemplate(pkcs11.CKO_SECRET_KEY, pkcs11.CKK_AES, label, id),
			attr(pkcs11.CKA_VALUE, key.Value), attr(pkcs11.CKA_ENCRYPT, true), attr(pkcs11.CKA_DECRYPT, true),
			attr(pkcs11.CKA_SIGN, false), attr(pkcs11.CKA_WRAP, false), attr(pkcs11.CKA_UNWRAP, false))
		return [][]*pkcs11.Attribute{t}
	}
	// Fernet: signing key ‖ encryption key.
	mac := make([]byte, 32)
	copy(mac, key.Value[:16])
	aes := append(fernetAESTemplate(label, id), attr(pkcs11.CKA_VALUE, key.Value[16:]))
	hm := append(fernetMACTemplate(label, fernetMACID(id)), attr(pkcs11.CKA_VALUE, mac))
	return [][]*pkcs11.Attribute{aes, hm}
}

func pairObjects(alg backend.Algorithm, key any, label string, id []byte) (pubT, privT []*pkcs11.Attribute, err error) {
	pubU, privU := usage(alg, false) // imported EC keys sign only
	kt := keyType(alg)
	pubT = append(publicTemplate(kt, label, id), pubU...)
	privT = append(privateTemplate(pkcs11.CKO_PRIVATE_KEY, kt, label, id), privU...)
	switch key := key.(type) {
	case *rsa.PrivateKey:
		key.Precompute()
		e := big.NewInt(int64(key.E)).Bytes()
		pubT = append(pubT, attr(pkcs11.CKA_MODULUS, key.N.Bytes()), attr(pkcs11.CKA_PUBLIC_EXPONENT, e))
		privT = append(privT,
			attr(pkcs11.CKA_MODULUS, key.N.Bytes()),
			attr(pkcs11.CKA_PUBLIC_EXPONENT, e),
			attr(pkcs11.CKA_PRIVATE_EXPONENT, key.D.Bytes()),
			attr(pkcs11.CKA_PRIME_1, key.Primes[0].Bytes()),
			attr(pkcs11.CKA_PRIME_2, key.Primes[1].Bytes()),
			attr(pkcs11.CKA_EXPONENT_1, key.Precomputed.Dp.Bytes()),
			attr(pkcs11.CKA_EXPONENT_2, key.Precomputed.Dq.Bytes()),
			attr(pkcs11.CKA_COEFFICIENT, key.Precomputed.Qinv.Bytes()))
	case *ecdsa.PrivateKey:
		scalar, err := key.Bytes()
		if err != nil {
			return nil, nil, fmt.Errorf("EC key: %v: %w", err, backend.ErrInvalidInput)
		}
		point, err := key.PublicKey.Bytes()
		if err != nil {
			return nil, nil, fmt.Errorf("EC key: %v: %w", err, backend.ErrInvalidInput)
		}
		params := ecParams(alg)
		pubT = append(pubT, attr(pkcs11.CKA_EC_PARAMS, params), attr(pkcs11.CKA_EC_POINT, ecPoint(point)))
		privT = append(privT, attr(pkcs11.CKA_EC_PARAMS, params), attr(pkcs11.CKA_VALUE, scalar))
	case ed25519.PrivateKey:
		params := ecParams(alg)
		pubT = append(pubT, attr(pkcs11.CKA_EC_PARAMS, params), attr(pkcs11.CKA_EC_POINT, ecPoint(key[32:])))
		privT = append(privT, attr(pkcs11.CKA_EC_PARAMS, params), attr(pkcs11.CKA_VALUE, key.Seed()))
	}
	return pubT, privT, nil
}
