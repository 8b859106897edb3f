package wycheproof

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"

	"github.com/keyplane/keyplane/backend"
)

// keyring imports each distinct key into the backend once, under a fresh
// label, and deletes every imported key when the runner's test ends.
type keyring struct {
	b      backend.Backend
	imp    backend.Importer
	prefix string
	n      int
	keys   map[string]*importedKey // by the key's encoding
}

type importedKey struct {
	label  string
	skip   string // non-empty: the backend refused the key with ErrUnsupported
	failed bool   // the import failed otherwise (already reported)
	dec    crypto.Decrypter
	signer crypto.Signer
	aead   backend.AEAD
}

// newKeyring fails t when b cannot import keys.
func newKeyring(t *testing.T, b backend.Backend, runner string) *keyring {
	t.Helper()
	imp, ok := b.(backend.Importer)
	if !ok {
		t.Fatalf("wycheproof: backend %T does not implement backend.Importer; the vector runners import the vectors' keys", b)
	}
	var rnd [4]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		t.Fatal(err)
	}
	r := &keyring{b: b, imp: imp, prefix: fmt.Sprintf("wycheproof-%s-%s", runner, hex.EncodeToString(rnd[:])), keys: map[string]*importedKey{}}
	t.Cleanup(func() {
		// t.Context() is already cancelled when cleanups run.
		ctx := context.Background()
		for _, k := range r.keys {
			if k.label == "" {
				continue
			}
			if err := b.DeleteKey(ctx, k.label); err != nil {
				t.Errorf("wycheproof: deleting imported key %s: %v", k.label, err)
			}
		}
	})
	return r
}

// get imports key (identified by id, described by desc for skip reasons)
// unless it was imported before. It reports a failure other than
// ErrUnsupported on t once per key.
func (r *keyring) get(t *testing.T, id []byte, desc string, key any) *importedKey {
	t.Helper()
	if k, ok := r.keys[string(id)]; ok {
		return k
	}
	k := &importedKey{}
	r.keys[string(id)] = k
	r.n++
	label := fmt.Sprintf("%s-%d", r.prefix, r.n)
	_, err := r.imp.ImportKey(t.Context(), label, key)
	switch {
	case errors.Is(err, backend.ErrUnsupported):
		k.skip = fmt.Sprintf("key %s refused by the backend (unsupported)", desc)
	case err != nil:
		k.failed = true
		t.Errorf("wycheproof: importing key %s as %s: %v", desc, label, err)
	default:
		k.label = label
	}
	return k
}

func (k *importedKey) decrypter(t *testing.T, b backend.Backend) crypto.Decrypter {
	t.Helper()
	if k.dec == nil && !k.failed {
		d, err := b.Decrypter(t.Context(), k.label)
		if err != nil {
			k.failed = true
			t.Errorf("wycheproof: Decrypter(%s): %v", k.label, err)
			return nil
		}
		k.dec = d
	}
	return k.dec
}

func (k *importedKey) signerFor(t *testing.T, b backend.Backend) crypto.Signer {
	t.Helper()
	if k.signer == nil && !k.failed {
		s, err := b.Signer(t.Context(), k.label)
		if err != nil {
			k.failed = true
			t.Errorf("wycheproof: Signer(%s): %v", k.label, err)
			return nil
		}
		k.signer = s
	}
	return k.signer
}

// rsaGroupKey imports a test group's RSA private key (privateKeyPkcs8)
// through the keyring: it returns the key and its size in bits, and why
// the group cannot run, if it cannot: skip (the backend refused the key
// with ErrUnsupported) or fail.
func (r *keyring) rsaGroupKey(t *testing.T, der []byte) (k *importedKey, bits int, skip, fail string) {
	t.Helper()
	key, err := x509.ParsePKCS8PrivateKey(der)
	priv, ok := key.(*rsa.PrivateKey)
	switch {
	case err != nil:
		return nil, 0, "", fmt.Sprintf("parsing privateKeyPkcs8: %v", err)
	case !ok:
		return nil, 0, "", fmt.Sprintf("privateKeyPkcs8 holds a %T", key)
	}
	bits = priv.N.BitLen()
	k = r.get(t, der, fmt.Sprintf("rsa-%d", bits), priv)
	switch {
	case k.skip != "":
		skip = k.skip
	case k.failed:
		fail = "key import failed"
	}
	return k, bits, skip, fail
}
