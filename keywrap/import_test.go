package keywrap_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"os"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/backends/pkcs11"
	"github.com/keyplane/keyplane/backends/software"
	"github.com/keyplane/keyplane/internal/testenv"
	"github.com/keyplane/keyplane/keywrap"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.RemoveSharedSoftHSM()
	os.Exit(code)
}

// TestImportSoftwareIntoSoftHSM: keys of the software backend go into a
// SoftHSM2 token wrapped in memory to the token's unwrapping key, and
// work there: signatures from the token verify with the software key's
// public key, a message sealed by the software key opens in the token.
func TestImportSoftwareIntoSoftHSM(t *testing.T) {
	ctx := t.Context()
	if !testenv.PKCS11Built {
		testenv.Missing(t, "the pkcs11 backend (cgo)", "build with CGO_ENABLED=1")
	}
	tok, err := pkcs11.Open(ctx, testenv.SharedSoftHSMURI(t, "keywrap"))
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Close()
	src, err := software.Open(ctx, "software:memory")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if _, err := tok.GenerateUnwrappingKey(ctx, "transport", backend.RSA2048); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tok.DeleteKey(ctx, "transport") })
	for _, alg := range []backend.Algorithm{backend.ECP256, backend.ECP521, backend.RSA3072, backend.AES256, backend.Ed25519} {
		t.Run(string(alg), func(t *testing.T) {
			label := "imported-" + string(alg)
			sk, err := src.GenerateKey(ctx, backend.KeySpec{Label: label, Algorithm: alg})
			if err != nil {
				t.Fatal(err)
			}
			k, err := keywrap.Import(ctx, src, label, tok, "transport", "")
			if alg == backend.Ed25519 {
				// SoftHSM2 2.6.1's C_UnwrapKey has no EdDSA private keys
				// (it sets RSA, DSA, DH, EC, GOST only).
				t.Logf("Ed25519: %v", err)
				if err == nil {
					t.Fatal("SoftHSM2 2.6.1 unwrapped an Ed25519 key: update docs/backends/pkcs11.md")
				}
				return
			}
			if err != nil {
				t.Fatalf("Import: %v", err)
			}
			t.Cleanup(func() { tok.DeleteKey(ctx, k.URI) })
			if k.Label != label || k.Algorithm != alg {
				t.Fatalf("imported %+v", k)
			}
			if alg == backend.AES256 {
				sa, err := src.AEAD(ctx, label)
				if err != nil {
					t.Fatal(err)
				}
				sealed, err := sa.Seal(ctx, []byte("from software"), []byte("ad"))
				if err != nil {
					t.Fatal(err)
				}
				ta, err := tok.AEAD(ctx, label)
				if err != nil {
					t.Fatal(err)
				}
				if pt, err := ta.Open(ctx, sealed, []byte("ad")); err != nil || string(pt) != "from software" {
					t.Fatalf("token opens the software key's message: %q, %v", pt, err)
				}
				return
			}
			s, err := tok.Signer(ctx, label)
			if err != nil {
				t.Fatal(err)
			}
			d := sha256.Sum256([]byte("signed in the token"))
			sig, err := s.Sign(rand.Reader, d[:], crypto.SHA256)
			if err != nil {
				t.Fatal(err)
			}
			switch pub := sk.Public.(type) {
			case *ecdsa.PublicKey:
				if !ecdsa.VerifyASN1(pub, d[:], sig) {
					t.Fatal("the token's signature does not verify with the software public key")
				}
			case *rsa.PublicKey:
				if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, d[:], sig); err != nil {
					t.Fatal(err)
				}
			}
			// Unwrapped with keyplane's defaults: it never leaves the token.
			if _, err := tok.WrapKey(ctx, label, "transport", backend.WrapAESKeyWrapPad); !errors.Is(err, backend.ErrUnsupported) && !errors.Is(err, backend.ErrNotFound) {
				t.Fatalf("wrap the imported key: %v", err)
			}
		})
	}
}

// TestToPublicKeyRefuses: what cannot be wrapped is refused before any
// backend sees it.
func TestToPublicKeyRefuses(t *testing.T) {
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	if _, err := keywrap.ToPublicKey(&rk.PublicKey, backend.SecretKey{Algorithm: backend.Fernet, Value: make([]byte, 32)}, "f"); !errors.Is(err, backend.ErrUnsupported) {
		t.Errorf("fernet: %v", err)
	}
	if _, err := keywrap.ToPublicKey(&rk.PublicKey, "key", "s"); !errors.Is(err, backend.ErrUnsupported) {
		t.Errorf("a string: %v", err)
	}
	if _, err := keywrap.ToPublicKey(nil, rk, "r"); !errors.Is(err, backend.ErrInvalidInput) {
		t.Errorf("no public key: %v", err)
	}
	w, err := keywrap.ToPublicKey(&rk.PublicKey, backend.SecretKey{Algorithm: backend.AES256, Value: make([]byte, 32)}, "a")
	if err != nil {
		t.Fatal(err)
	}
	// One RSA block, then 32 bytes wrapped in 40.
	if len(w.Ciphertext) != 256+40 || w.Mechanism != backend.WrapRSAAESKeyWrap {
		t.Fatalf("wrapped AES key: %d bytes, %s", len(w.Ciphertext), w.Mechanism)
	}
}

// TestWrappableRefusedBySoftware: the software keystore cannot make a key
// that leaves only under a trusted key (its keys can always be
// exported), so it refuses KeySpec.Wrappable instead of ignoring it.
func TestWrappableRefusedBySoftware(t *testing.T) {
	ks, err := software.Open(t.Context(), "software:memory")
	if err != nil {
		t.Fatal(err)
	}
	defer ks.Close()
	if _, err := ks.GenerateKey(t.Context(), backend.KeySpec{Label: "w", Algorithm: backend.ECP256, Wrappable: true}); !errors.Is(err, backend.ErrUnsupported) {
		t.Fatalf("software GenerateKey with Wrappable: %v, want ErrUnsupported", err)
	}
}
