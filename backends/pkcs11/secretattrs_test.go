//go:build cgo && !nopkcs11

package pkcs11

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"slices"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/miekg/pkcs11"
)

// noValueLenAPI answers every C_GetAttributeValue that asks for
// CKA_VALUE_LEN with CKR_ATTRIBUTE_TYPE_INVALID, as opencryptoki 3.8 does
// for an AES key made with C_CreateObject (an imported key).
type noValueLenAPI struct{ *spyAPI }

func (n noValueLenAPI) GetAttributeValue(sh pkcs11.SessionHandle, o pkcs11.ObjectHandle, a []*pkcs11.Attribute) ([]*pkcs11.Attribute, error) {
	if slices.ContainsFunc(a, func(x *pkcs11.Attribute) bool { return x.Type == pkcs11.CKA_VALUE_LEN }) {
		return nil, pkcs11.Error(pkcs11.CKR_ATTRIBUTE_TYPE_INVALID)
	}
	return n.spyAPI.GetAttributeValue(sh, o, a)
}

// TestSecretWithoutValueLen: a fernet pair whose AES half has no
// CKA_VALUE_LEN is still found and works; an AES key alone of unknown
// length is refused as unsupported, never taken for aes-256.
func TestSecretWithoutValueLen(t *testing.T) {
	b, err := openWith(t.Context(), testURI(t, ""), func(p pkcs11API) pkcs11API { return noValueLenAPI{newSpy(p)} })
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	value := make([]byte, 32)
	rand.Read(value)
	label := uniqueLabel(t, "fernet-no-value-len")
	if _, err := b.ImportKey(t.Context(), label, backend.SecretKey{Algorithm: backend.Fernet, Value: value}); err != nil {
		t.Fatal(err)
	}
	defer b.DeleteKey(t.Context(), label)
	k, err := b.Key(t.Context(), label)
	if err != nil || k.Algorithm != backend.Fernet {
		t.Fatalf("Key(%q) of an imported fernet key: %+v, %v; want a fernet key", label, k, err)
	}
	fk, err := b.Fernet(t.Context(), label)
	if err != nil {
		t.Fatal(err)
	}
	mac, err := fk.MAC(t.Context(), []byte("data"))
	want := hmac.New(sha256.New, value[:16])
	want.Write([]byte("data"))
	if err != nil || !hmac.Equal(mac, want.Sum(nil)) {
		t.Errorf("MAC: %x, %v; want HMAC-SHA256 under the signing key", mac, err)
	}
	if keys, err := b.Keys(t.Context()); err != nil || !slices.ContainsFunc(keys, func(k *backend.Key) bool { return k.Label == label && k.Algorithm == backend.Fernet }) {
		t.Errorf("Keys: %v, %v; want the fernet key listed", keys, err)
	}

	aesLabel := uniqueLabel(t, "aes-no-value-len")
	if _, err := b.ImportKey(t.Context(), aesLabel, backend.SecretKey{Algorithm: backend.AES256, Value: value}); err != nil {
		t.Fatal(err)
	}
	defer b.DeleteKey(t.Context(), aesLabel)
	if _, err := b.Key(t.Context(), aesLabel); !errors.Is(err, backend.ErrUnsupported) {
		t.Errorf("Key(%q), an AES key of unknown length: %v, want ErrUnsupported", aesLabel, err)
	}
}
