package keywrap

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"fmt"

	"github.com/keyplane/keyplane/backend"
)

// ToPublicKey wraps key to pub, an unwrapping backend's RSA public key,
// with backend.WrapRSAAESKeyWrap, labelled label. key is an
// *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey or an aes-256
// backend.SecretKey. The WrappedKey has no ID and no Attributes: the
// unwrapping backend gives the key a fresh ID and its usual attributes (a
// PKCS#11 token: private, sensitive, never extractable).
func ToPublicKey(pub *rsa.PublicKey, key any, label string) (*backend.WrappedKey, error) {
	if pub == nil || pub.N == nil {
		return nil, fmt.Errorf("keywrap: no RSA public key to wrap to: %w", backend.ErrInvalidInput)
	}
	if err := backend.ValidateLabel(label); err != nil {
		return nil, err
	}
	w := &backend.WrappedKey{Mechanism: backend.WrapRSAAESKeyWrap, Label: label}
	var plain []byte
	switch k := key.(type) {
	case backend.SecretKey:
		if k.Algorithm != backend.AES256 || len(k.Value) != 32 {
			return nil, fmt.Errorf("keywrap: a %s secret key of %d bytes (wrapped: aes-256): %w", k.Algorithm, len(k.Value), backend.ErrUnsupported)
		}
		w.Algorithm = backend.AES256
		plain = append([]byte(nil), k.Value...)
	case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
		alg, err := backend.AlgorithmOf(k)
		if err != nil {
			return nil, fmt.Errorf("keywrap: %w", err)
		}
		w.Algorithm = alg
		switch k := k.(type) {
		case *rsa.PrivateKey:
			w.Public = &k.PublicKey
		case *ecdsa.PrivateKey:
			w.Public = &k.PublicKey
		case ed25519.PrivateKey:
			w.Public = k.Public()
		}
		if plain, err = x509.MarshalPKCS8PrivateKey(k); err != nil {
			return nil, fmt.Errorf("keywrap: PKCS#8 encoding of the %s key: %v: %w", alg, err, backend.ErrInvalidInput)
		}
	default:
		return nil, fmt.Errorf("keywrap: key of type %T: %w", key, backend.ErrUnsupported)
	}
	defer clear(plain)
	ephemeral := make([]byte, 32)
	defer clear(ephemeral)
	_, _ = rand.Read(ephemeral) // crypto/rand.Read never fails
	head, err := rsa.EncryptOAEP(sha1.New(), rand.Reader, pub, ephemeral, nil)
	if err != nil {
		return nil, fmt.Errorf("keywrap: RSA-OAEP to a %d-bit key: %v: %w", pub.N.BitLen(), err, backend.ErrInvalidInput)
	}
	body, err := WrapPad(ephemeral, plain)
	if err != nil {
		return nil, err
	}
	w.Ciphertext = append(head, body...)
	return w, nil
}

// Unwrapper is a backend that unwraps keys and finds its unwrapping key.
type Unwrapper interface {
	backend.KeyManager
	backend.KeyUnwrapper
}

// Import moves the key ref names out of src into dst without writing it
// anywhere: it exports the key from src into memory, wraps it to the
// public key of dst's unwrapping key unwrappingRef (an RSA key pair whose
// private key may unwrap, such as one made by the pkcs11 backend's
// GenerateUnwrappingKey), and has dst unwrap it inside itself under label
// (the key's label in src when label is empty). The key stays in src.
func Import(ctx context.Context, src backend.Exporter, ref string, dst Unwrapper, unwrappingRef, label string) (*backend.Key, error) {
	uk, err := dst.Key(ctx, unwrappingRef)
	if err != nil {
		return nil, fmt.Errorf("keywrap: the unwrapping key: %w", err)
	}
	pub, ok := uk.Public.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("keywrap: unwrapping key %q is %s, not an RSA key pair: %w", uk.Label, uk.Algorithm, backend.ErrUnsupported)
	}
	if label == "" {
		label = ref
		if km, ok := src.(backend.KeyManager); ok {
			if k, err := km.Key(ctx, ref); err == nil {
				label = k.Label
			}
		}
	}
	key, err := src.ExportKey(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("keywrap: export %q: %w", ref, err)
	}
	if s, ok := key.(backend.SecretKey); ok {
		defer clear(s.Value)
	}
	w, err := ToPublicKey(pub, key, label)
	if err != nil {
		return nil, err
	}
	return dst.UnwrapKey(ctx, w, unwrappingRef, label)
}
