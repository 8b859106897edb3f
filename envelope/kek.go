package envelope

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/keyplane/keyplane/backend"
)

// target is the key a data key is wrapped under: the reference to record
// (the key's label), the version, and the reference that addresses that
// version in the backend.
type target struct {
	key     *backend.Key
	ref     string // recorded in the header
	version int
	use     string // passed to the backend
}

// primary resolves ref to the key's current primary version. With
// backend.KeyVersions, the version's own URI is used to wrap, so that a
// rotation between the look-up and the wrap cannot make the header name
// the wrong version.
func primary(ctx context.Context, b backend.Backend, ref string) (*target, error) {
	k, err := b.Key(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("envelope: key %q: %w", ref, err)
	}
	t := &target{key: k, ref: k.Label, version: k.Version, use: ref}
	if t.ref == "" {
		t.ref = "id:" + k.IDHex()
	}
	v, err := version(ctx, b, ref, max(k.Version, 1))
	switch {
	case err != nil:
		return nil, err
	case v != nil:
		t.key, t.use, t.version = v, v.URI, v.Version
	}
	return t, nil
}

// version returns the Key of version n of ref, or nil when the backend
// does not version keys (backend.KeyVersions missing or ErrUnsupported).
func version(ctx context.Context, b backend.Backend, ref string, n int) (*backend.Key, error) {
	kv, ok := b.(backend.KeyVersions)
	if !ok {
		return nil, nil
	}
	vs, err := kv.Versions(ctx, ref)
	if errors.Is(err, backend.ErrUnsupported) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("envelope: versions of key %q: %w", ref, err)
	}
	for _, v := range vs {
		if v.Version == n && v.URI != "" {
			return v, nil
		}
	}
	return nil, fmt.Errorf("envelope: key %q has no version %d: %w", ref, n, backend.ErrNotFound)
}

// recorded resolves the key a header names, at the version it names
// (version 0, written for a key without versions, is version 1).
func recorded(ctx context.Context, b backend.Backend, h *Header) (*target, error) {
	t := &target{ref: h.KeyRef, version: h.KeyVersion, use: h.KeyRef}
	v, err := version(ctx, b, h.KeyRef, max(h.KeyVersion, 1))
	switch {
	case err != nil:
		return nil, headerKeyError(h, err)
	case v != nil:
		t.key, t.use = v, v.URI
	case h.KeyVersion > 1:
		// A backend without versions has version 1 only.
		return nil, headerKeyError(h, fmt.Errorf("envelope: key %q version %d: the backend does not version keys: %w", h.KeyRef, h.KeyVersion, backend.ErrNotFound))
	}
	if t.key == nil {
		k, err := b.Key(ctx, t.use)
		if err != nil {
			return nil, headerKeyError(h, err)
		}
		t.key = k
	}
	return t, nil
}

// headerKeyError is the error for a header naming a key the backend does
// not have or refuses as a reference: a damaged header (ErrDecryption)
// as far as anyone can tell, or a key or version that is gone (the
// backend's own error, kept).
func headerKeyError(h *Header, err error) error {
	if k := backend.Kind(err); k == backend.ErrNotFound || k == backend.ErrInvalidInput {
		return fmt.Errorf("envelope: the header names key %q version %d, which the backend does not have (a damaged header, or the key is gone): %w: %w", h.KeyRef, h.KeyVersion, backend.ErrDecryption, err)
	}
	return err
}

// kekFor picks how to wrap a data key under t: the backend's own data
// keys, its AEAD, or RSA-OAEP.
func kekFor(b backend.Backend, t *target) (KEK, error) {
	switch {
	case t.key.Algorithm == backend.AES256:
		if _, ok := b.(backend.DataKeyGenerator); ok {
			return KEKDataKey, nil
		}
		if _, ok := b.(backend.AEADBackend); ok {
			return KEKAES256GCM, nil
		}
		return 0, fmt.Errorf("envelope: key %q is an aes-256 key, but the backend offers no AEAD: %w", t.ref, backend.ErrUnsupported)
	case t.key.Algorithm.Family() == backend.FamilyRSA:
		return KEKRSAOAEPSHA256, nil
	}
	return 0, fmt.Errorf("envelope: key %q is a %s key; data keys are wrapped under aes-256 or RSA keys: %w", t.ref, t.key.Algorithm, backend.ErrUnsupported)
}

// newDataKey makes a data key and wraps it under t, filling h's KEK,
// KeyRef, KeyVersion and WrappedKey.
func newDataKey(ctx context.Context, b backend.Backend, t *target, h *Header) ([]byte, error) {
	kek, err := kekFor(b, t)
	if err != nil {
		return nil, err
	}
	h.KEK, h.KeyRef, h.KeyVersion = kek, t.ref, t.version
	if kek == KEKDataKey {
		dk, wrapped, err := b.(backend.DataKeyGenerator).GenerateDataKey(ctx, t.use, dataKeySize, h.wrapAD())
		switch {
		case err == nil:
			h.WrappedKey = wrapped
			return dk, nil
		case !errors.Is(err, backend.ErrUnsupported):
			return nil, fmt.Errorf("envelope: data key under %q: %w", t.ref, err)
		}
		// The key cannot make data keys: make one here.
		if _, ok := b.(backend.AEADBackend); !ok {
			return nil, fmt.Errorf("envelope: data key under %q: %w", t.ref, err)
		}
		h.KEK = KEKAES256GCM
	}
	dk := make([]byte, dataKeySize)
	rand.Read(dk)
	if err := wrap(ctx, b, t, h, dk); err != nil {
		clear(dk)
		return nil, err
	}
	return dk, nil
}

// wrap wraps dk under t as h.KEK says (KEKAES256GCM or
// KEKRSAOAEPSHA256), into h.WrappedKey.
func wrap(ctx context.Context, b backend.Backend, t *target, h *Header, dk []byte) error {
	switch h.KEK {
	case KEKAES256GCM:
		ab, ok := b.(backend.AEADBackend)
		if !ok {
			return fmt.Errorf("envelope: key %q: the backend offers no AEAD: %w", t.ref, backend.ErrUnsupported)
		}
		a, err := ab.AEAD(ctx, t.use)
		if err != nil {
			return fmt.Errorf("envelope: key %q: %w", t.ref, err)
		}
		h.WrappedKey, err = a.Seal(ctx, dk, h.wrapAD())
		if err != nil {
			return fmt.Errorf("envelope: wrapping the data key under %q: %w", t.ref, err)
		}
	case KEKRSAOAEPSHA256:
		pub, ok := t.key.Public.(*rsa.PublicKey)
		if !ok {
			return fmt.Errorf("envelope: key %q has a %T public key, not RSA: %w", t.ref, t.key.Public, backend.ErrUnsupported)
		}
		var err error
		h.WrappedKey, err = rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, dk, nil)
		if err != nil {
			return fmt.Errorf("envelope: wrapping the data key to %q: %w", t.ref, err)
		}
	default:
		return fmt.Errorf("envelope: %v: %w", h.KEK, backend.ErrUnsupported)
	}
	return nil
}

// unwrap returns the data key h holds, checking the header's MAC. Every
// failure to unwrap is ErrDecryption.
func unwrap(ctx context.Context, b backend.Backend, t *target, h *Header) ([]byte, error) {
	var dk []byte
	var err error
	switch h.KEK {
	case KEKDataKey:
		if dg, ok := b.(backend.DataKeyGenerator); ok {
			dk, err = dg.DecryptDataKey(ctx, t.use, h.WrappedKey, h.wrapAD())
			if !errors.Is(err, backend.ErrUnsupported) {
				break
			}
		}
		// Without DataKeyGenerator (awskms through a plugin, or a wrapper
		// answering ErrUnsupported for it), the key's AEAD may open the
		// backend's wrapping: on AWS KMS both are KMS ciphertext blobs
		// under the same encryption context.
		fallthrough
	case KEKAES256GCM:
		ab, ok := b.(backend.AEADBackend)
		if !ok {
			return nil, fmt.Errorf("envelope: the data key is wrapped with AES-GCM, and the backend offers no AEAD (or the header is damaged): %w: %w", backend.ErrDecryption, backend.ErrUnsupported)
		}
		var a backend.AEAD
		if a, err = ab.AEAD(ctx, t.use); err == nil {
			dk, err = a.Open(ctx, h.WrappedKey, h.wrapAD())
		}
	case KEKRSAOAEPSHA256:
		var d crypto.Decrypter
		if d, err = b.Decrypter(ctx, t.use); err == nil {
			dk, err = d.Decrypt(rand.Reader, h.WrappedKey, &rsa.OAEPOptions{Hash: crypto.SHA256})
		}
	}
	if err != nil {
		if k := backend.Kind(err); k == backend.ErrUnsupported || k == backend.ErrDecryption {
			// A key of another type than the header says is a damaged header.
			return nil, fmt.Errorf("envelope: unwrapping the data key under %q version %d: %w", h.KeyRef, h.KeyVersion, backend.ErrDecryption)
		}
		return nil, fmt.Errorf("envelope: unwrapping the data key under %q: %w", h.KeyRef, err)
	}
	if len(dk) != dataKeySize || h.verify(dk) != nil {
		clear(dk)
		return nil, errDecryption
	}
	return dk, nil
}
