//go:build cgo && !nopkcs11

package nss_test

//lint:file-ignore SA1019 rsa-pkcs1v15 decryption is an operation keyplane offers for data that already exists; docs/decisions.md says why and points new data at OAEP

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/backends/pkcs11"
	"github.com/keyplane/keyplane/conformance"
	"github.com/keyplane/keyplane/internal/testenv"
)

// TestNSS runs everything on one fresh NSS database, in order: softokn is
// initialized once per process, with the init arguments of the first
// successful open, so every subtest shares that one instance.
func TestNSS(t *testing.T) {
	in := testenv.StartToken(t, "nss")
	pin, err := in.WritePINFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	uri := in.URI(pin)
	open := func(t *testing.T) backend.Backend {
		b, err := backend.Open(t.Context(), uri)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		return b
	}

	// Before anything loaded softokn: without its configuration
	// C_Initialize is CKR_ARGUMENTS_BAD, and the error says what to add.
	t.Run("without-init-args", func(t *testing.T) {
		noArgs := strings.Replace(uri, "&module-init-args=", "&x-was-init-args=", 1)
		_, err := backend.Open(t.Context(), noArgs)
		if !errors.Is(err, backend.ErrInvalidInput) || !strings.Contains(err.Error(), "CKR_ARGUMENTS_BAD") || !strings.Contains(err.Error(), "module-init-args") {
			t.Fatalf("Open without module-init-args: %v; want CKR_ARGUMENTS_BAD with a hint at module-init-args", err)
		}
	})

	// softokn has no security officer: the SO login that makes a trusted
	// wrapping key fails whatever the PIN (here the database password, the
	// only PIN there is), so the suite's wrap round trips are skipped.
	t.Run("no-trusted-wrapping-key", func(t *testing.T) {
		key := backend.SecretKey{Algorithm: backend.AES256, Value: make([]byte, 32)}
		soPIN := func(context.Context) ([]byte, error) { return []byte(in.PIN), nil }
		_, err := pkcs11.CreateTrustedWrappingKey(t.Context(), uri, soPIN, "kek", key)
		t.Logf("CreateTrustedWrappingKey: %v", err)
		if !errors.Is(err, backend.ErrAuthentication) || !strings.Contains(err.Error(), "security officer") || !strings.Contains(err.Error(), "CKR_USER_TYPE_INVALID") {
			t.Fatalf("CreateTrustedWrappingKey on softokn: %v, want the SO's C_Login refused with CKR_USER_TYPE_INVALID", err)
		}
	})

	// The suite, reopening to check that keys persist in the database.
	t.Run("conformance", func(t *testing.T) {
		conformance.Run(t, func(t *testing.T) backend.Backend {
			b, err := backend.Open(t.Context(), uri)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}, conformance.Config{Reopen: true, Short: testing.Short()})
	})

	// softokn decodes OAEP itself (every SHA-2 hash, labels checked): with
	// the host-side fallback off, the RSA checks go through the token's
	// own CKM_RSA_PKCS_OAEP.
	t.Run("conformance-oaep-native", func(t *testing.T) {
		conformance.Run(t, func(t *testing.T) backend.Backend {
			b, err := backend.Open(t.Context(), uri+"&oaep-fallback=off")
			if err != nil {
				t.Fatal(err)
			}
			return b
		}, conformance.Config{Algorithms: []backend.Algorithm{backend.RSA2048}, Short: true})
	})

	// The module is loaded now: another database is another configuration,
	// refused without showing it.
	t.Run("other-init-args", func(t *testing.T) {
		other := strings.Replace(uri, "nssdb", "otherdb", 1)
		_, err := backend.Open(t.Context(), other)
		if !errors.Is(err, backend.ErrInvalidInput) || !strings.Contains(err.Error(), "already initialized") {
			t.Fatalf("Open with other init args: %v, want ErrInvalidInput (already initialized)", err)
		}
		if strings.Contains(err.Error(), "otherdb") || strings.Contains(err.Error(), "configdir") {
			t.Errorf("the error shows the init args: %v", err)
		}
	})

	// AES-GCM of every length agrees with crypto/cipher both ways (softokn's
	// C_Encrypt size query leaves the 16-byte tag out).
	t.Run("aes-gcm", func(t *testing.T) {
		b := open(t)
		value := make([]byte, 32)
		rand.Read(value)
		label := "nss-gcm-" + randomHex(4)
		if _, err := b.(backend.Importer).ImportKey(t.Context(), label, backend.SecretKey{Algorithm: backend.AES256, Value: value}); err != nil {
			t.Fatal(err)
		}
		defer b.DeleteKey(t.Context(), label)
		a, err := b.(backend.AEADBackend).AEAD(t.Context(), label)
		if err != nil {
			t.Fatal(err)
		}
		block, _ := aes.NewCipher(value)
		std, _ := cipher.NewGCM(block)
		ad := []byte("associated")
		for _, n := range []int{0, 1, 15, 16, 17, 4096} {
			pt := make([]byte, n)
			rand.Read(pt)
			sealed, err := a.Seal(t.Context(), pt, ad)
			if err != nil {
				t.Fatalf("Seal(%d bytes): %v", n, err)
			}
			if len(sealed) != n+a.Overhead() {
				t.Errorf("Seal(%d bytes) gave %d bytes, want %d", n, len(sealed), n+a.Overhead())
			}
			got, err := std.Open(nil, sealed[:12], sealed[12:], ad)
			if err != nil || !bytes.Equal(got, pt) {
				t.Errorf("crypto/cipher cannot open softokn's %d-byte seal: %v", n, err)
			}
			nonce := make([]byte, 12)
			rand.Read(nonce)
			got, err = a.Open(t.Context(), std.Seal(nonce, nonce, pt, ad), ad)
			if err != nil || !bytes.Equal(got, pt) {
				t.Errorf("Open of crypto/cipher's %d-byte seal: %v", n, err)
			}
		}
	})

	// softokn answers bad PKCS#1 v1.5 padding with a synthetic plaintext;
	// the backend found that out by itself and says so.
	t.Run("pkcs1v15-implicit-rejection", func(t *testing.T) {
		b := open(t)
		caps, err := b.Capabilities(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if !caps.PKCS1v15ImplicitRejection || !strings.Contains(caps.Details["pkcs1v15-bad-padding"], "synthetic") {
			t.Fatalf("PKCS1v15ImplicitRejection %v, pkcs1v15-bad-padding %q: want implicit rejection reported", caps.PKCS1v15ImplicitRejection, caps.Details["pkcs1v15-bad-padding"])
		}
		label := "nss-pkcs1-" + randomHex(4)
		k, err := b.GenerateKey(t.Context(), backend.KeySpec{Label: label, Algorithm: backend.RSA2048})
		if err != nil {
			t.Fatal(err)
		}
		defer b.DeleteKey(t.Context(), label)
		d, err := b.Decrypter(t.Context(), label)
		if err != nil {
			t.Fatal(err)
		}
		pub := k.Public.(*rsa.PublicKey)
		one := big.NewInt(1).FillBytes(make([]byte, pub.Size()))
		first, err := d.Decrypt(rand.Reader, one, nil)
		if err != nil {
			t.Fatalf("Decrypt(bad padding): %v, want a synthetic plaintext", err)
		}
		again, err := d.Decrypt(rand.Reader, one, nil)
		if err != nil || !bytes.Equal(first, again) {
			t.Errorf("second Decrypt(bad padding) = %d bytes, %v; want the same %d bytes", len(again), err, len(first))
		}
		msg := []byte("a real message")
		ct, err := rsa.EncryptPKCS1v15(rand.Reader, pub, msg)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := d.Decrypt(rand.Reader, ct, nil); err != nil || !bytes.Equal(got, msg) {
			t.Errorf("Decrypt(good ciphertext) = %q, %v", got, err)
		}
		if _, err := d.Decrypt(rand.Reader, ct[1:], nil); err != backend.ErrDecryption {
			t.Errorf("Decrypt(short ciphertext) = %v, want the bare ErrDecryption", err)
		}
	})

	t.Run("uri-hides-init-args", func(t *testing.T) {
		b := open(t).(*pkcs11.Backend)
		if s := b.URI().String(); strings.Contains(s, "configdir") || strings.Contains(s, "module-init-args") {
			t.Errorf("Backend.URI() = %s shows the init args", s)
		}
	})
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*n)
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}
