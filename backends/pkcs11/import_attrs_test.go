//go:build cgo && !nopkcs11

package pkcs11

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/miekg/pkcs11"
)

// TestImportedKeyAttributes reads back every kind of imported private and
// secret key (issue 6 §5, the Tookan-style check for imports): sensitive,
// private, token objects, never extractable, and the secret part unreadable.
// CKA_ALWAYS_SENSITIVE and CKA_NEVER_EXTRACTABLE are not asserted: PKCS#11
// sets them for keys generated inside the token, and what a token reports
// for imported material varies; they are logged.
func TestImportedKeyAttributes(t *testing.T) {
	b := openTest(t, "")
	ctx := t.Context()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	secret := func(alg backend.Algorithm) backend.SecretKey {
		v := make([]byte, 32)
		rand.Read(v)
		return backend.SecretKey{Algorithm: alg, Value: v}
	}
	for _, tc := range []struct {
		alg backend.Algorithm
		key any
	}{
		{backend.RSA2048, rsaKey},
		{backend.ECP256, ecKey},
		{backend.Ed25519, edKey},
		{backend.AES256, secret(backend.AES256)},
		{backend.Fernet, secret(backend.Fernet)},
	} {
		label := uniqueLabel(t, "imported-attrs")
		if _, err := b.ImportKey(ctx, label, tc.key); err != nil {
			t.Fatalf("%s: ImportKey: %v", tc.alg, err)
		}
		t.Cleanup(func() { b.DeleteKey(ctx, label) })
		err := b.withSession(ctx, func(s *session) error {
			k, err := b.lookup(s, label)
			if err != nil {
				return err
			}
			checked := 0
			for _, h := range []pkcs11.ObjectHandle{k.priv, k.secret, k.mac} {
				if h == 0 {
					continue
				}
				checked++
				a, err := b.attrs(s, h, pkcs11.CKA_SENSITIVE, pkcs11.CKA_EXTRACTABLE, pkcs11.CKA_PRIVATE, pkcs11.CKA_TOKEN,
					pkcs11.CKA_ALWAYS_SENSITIVE, pkcs11.CKA_NEVER_EXTRACTABLE)
				if err != nil {
					return err
				}
				for typ, want := range map[uint]bool{pkcs11.CKA_SENSITIVE: true, pkcs11.CKA_EXTRACTABLE: false,
					pkcs11.CKA_PRIVATE: true, pkcs11.CKA_TOKEN: true} {
					if got := boolAttr(a[typ]); got != want {
						t.Errorf("imported %s: attribute 0x%x = %v, want %v", tc.alg, typ, got, want)
					}
				}
				t.Logf("imported %s: CKA_ALWAYS_SENSITIVE=%v CKA_NEVER_EXTRACTABLE=%v", tc.alg,
					boolAttr(a[pkcs11.CKA_ALWAYS_SENSITIVE]), boolAttr(a[pkcs11.CKA_NEVER_EXTRACTABLE]))
				secretAttr := uint(pkcs11.CKA_VALUE)
				if tc.alg.Family() == backend.FamilyRSA {
					secretAttr = pkcs11.CKA_PRIVATE_EXPONENT
				}
				if _, err := b.attrs(s, h, secretAttr); codeOf(err) != pkcs11.CKR_ATTRIBUTE_SENSITIVE {
					t.Errorf("imported %s: reading the secret attribute: %v, want CKR_ATTRIBUTE_SENSITIVE", tc.alg, err)
				}
			}
			if want := map[backend.Algorithm]int{backend.Fernet: 2}[tc.alg]; checked != max(want, 1) {
				t.Errorf("imported %s: checked %d private/secret objects, want %d", tc.alg, checked, max(want, 1))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
