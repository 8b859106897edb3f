//go:build cgo && !nopkcs11

package pkcs11

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/internal/testenv"
	"github.com/miekg/pkcs11"
)

// wrapTokenLabels are two more SoftHSM2 tokens of the shared test
// configuration (TestMain makes them: SoftHSM2 reads its token directory
// at C_Initialize only, so a token made later is not seen). Only the wrap
// tests use them; the first of them to run makes the AES wrapping key
// "kek" in both (wrapSetup).
var wrapTokenLabels = []string{"wrap-a", "wrap-b"}

var (
	wrapSetupOnce sync.Once
	wrapSetupErr  error
)

func wrapURI(t *testing.T, label string) string {
	tok := token(t)
	return fmt.Sprintf("pkcs11:token=%s?module-path=%s&pin-source=file:%s", label, tok.Module, pinFile(t, tok.PIN))
}

func openURI(t *testing.T, uri string) *Backend {
	t.Helper()
	b, err := Open(t.Context(), uri)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// twoTokens opens tokens A and B, which share an AES wrapping key "kek":
// in A the trusted, wrap-only half (made by the SO, before anyone logs
// in to A as its user), in B the unwrap-only half.
func twoTokens(t *testing.T) (a, b *Backend) {
	t.Helper()
	aURI, bURI := wrapURI(t, wrapTokenLabels[0]), wrapURI(t, wrapTokenLabels[1])
	wrapSetupOnce.Do(func() {
		kek := make([]byte, 32)
		rand.Read(kek)
		if _, err := CreateTrustedWrappingKey(t.Context(), aURI, soPIN(token(t).SOPIN), "kek", backend.SecretKey{Algorithm: backend.AES256, Value: kek}); err != nil {
			wrapSetupErr = fmt.Errorf("CreateTrustedWrappingKey: %w", err)
			return
		}
		bb, err := Open(t.Context(), bURI)
		if err != nil {
			wrapSetupErr = err
			return
		}
		defer bb.Close()
		if _, err := bb.ImportUnwrappingKey(t.Context(), "kek", backend.SecretKey{Algorithm: backend.AES256, Value: kek}); err != nil {
			wrapSetupErr = fmt.Errorf("ImportUnwrappingKey: %w", err)
			return
		}
		// B's RSA unwrapping key, whose public half A trusts as
		// "b-transport".
		tk, err := bb.GenerateUnwrappingKey(t.Context(), "transport", backend.RSA2048)
		if err != nil {
			wrapSetupErr = fmt.Errorf("GenerateUnwrappingKey: %w", err)
			return
		}
		if _, err := CreateTrustedWrappingKey(t.Context(), aURI, soPIN(token(t).SOPIN), "b-transport", tk.Public); err != nil {
			wrapSetupErr = fmt.Errorf("CreateTrustedWrappingKey (RSA): %w", err)
		}
	})
	if wrapSetupErr != nil {
		t.Fatal(wrapSetupErr)
	}
	return openURI(t, aURI), openURI(t, bURI)
}

// TestWrapBetweenTokens: a key generated wrappable in token A, wrapped
// under A's trusted AES key with aes-key-wrap-pad, unwrapped in token B,
// works there (a signature from B verifies with A's public key; an AES
// message sealed in A opens in B) and has the attributes it had in A.
func TestWrapBetweenTokens(t *testing.T) {
	ctx := t.Context()
	a, b := twoTokens(t)
	bLabel := wrapTokenLabels[1]
	caps, err := a.Capabilities(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(caps.Details[backend.DetailWrap], string(backend.WrapAESKeyWrapPad)) {
		t.Fatalf("SoftHSM2 capability report: wrap = %q, want aes-key-wrap-pad", caps.Details[backend.DetailWrap])
	}
	for _, alg := range []backend.Algorithm{backend.ECP256, backend.ECP384, backend.RSA2048, backend.AES256} {
		t.Run(string(alg), func(t *testing.T) {
			label := "moved-" + string(alg)
			src, err := a.GenerateKey(ctx, backend.KeySpec{Label: label, Algorithm: alg, Wrappable: true})
			if err != nil {
				t.Fatal(err)
			}
			w, err := a.WrapKey(ctx, label, "kek", backend.WrapAESKeyWrapPad)
			if err != nil {
				t.Fatalf("WrapKey: %v", err)
			}
			if w.Label != label || string(w.ID) != string(src.ID) || !w.Attributes["CKA_WRAP_WITH_TRUSTED"] || !w.Attributes["CKA_EXTRACTABLE"] || !w.Attributes["CKA_SENSITIVE"] {
				t.Fatalf("WrappedKey = %v, attributes %v", w, w.Attributes)
			}
			if strings.Contains(w.String(), fmt.Sprintf("%x", w.Ciphertext[:8])) {
				t.Fatalf("String shows the ciphertext: %s", w)
			}
			got, err := b.UnwrapKey(ctx, w, "kek", "")
			if err != nil {
				t.Fatalf("UnwrapKey: %v", err)
			}
			if got.Label != label || string(got.ID) != string(src.ID) || got.Algorithm != alg {
				t.Fatalf("unwrapped key %+v, want label %q id %x %s", got, label, src.ID, alg)
			}
			if alg == backend.AES256 {
				ae, err := a.AEAD(ctx, label)
				if err != nil {
					t.Fatal(err)
				}
				sealed, err := ae.Seal(ctx, []byte("moved between tokens"), nil)
				if err != nil {
					t.Fatal(err)
				}
				be, err := b.AEAD(ctx, label)
				if err != nil {
					t.Fatal(err)
				}
				if pt, err := be.Open(ctx, sealed, nil); err != nil || string(pt) != "moved between tokens" {
					t.Fatalf("B opens A's message: %q, %v", pt, err)
				}
			} else {
				signVerify(t, b, label, src.Public)
			}
			// The attributes it had in A.
			wantAttrs := w.Attributes
			gotAttrs := objectAttrs(t, b, label, alg)
			for n, v := range wantAttrs {
				if gotAttrs[n] != v {
					t.Errorf("%s on B: %v, on A: %v", n, gotAttrs[n], v)
				}
			}
			// B's key is as wrappable as A's was: B wraps it again.
			if _, err := b.WrapKey(ctx, label, "kek", backend.WrapAESKeyWrapPad); err == nil {
				t.Errorf("B wrapped %q under its unwrap-only kek", label)
			}
		})
	}
	checkWithPkcs11Tool(t, bLabel, a)
}

func signVerify(t *testing.T, b *Backend, label string, pub crypto.PublicKey) {
	t.Helper()
	s, err := b.Signer(t.Context(), label)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("signed in token B"))
	sig, err := s.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatalf("Sign in B: %v", err)
	}
	switch pub := pub.(type) {
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(pub, digest[:], sig) {
			t.Fatal("B's ECDSA signature does not verify with A's public key")
		}
	case *rsa.PublicKey:
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
			t.Fatalf("B's RSA signature does not verify with A's public key: %v", err)
		}
	default:
		t.Fatalf("public key %T", pub)
	}
}

// objectAttrs reads the wrap attributes of the key's private or secret
// object.
func objectAttrs(t *testing.T, b *Backend, label string, alg backend.Algorithm) map[string]bool {
	t.Helper()
	var out map[string]bool
	err := b.withSession(t.Context(), func(s *session) error {
		k, err := b.lookup(s, label)
		if err != nil {
			return err
		}
		h, names := k.priv, privateWrapAttrs
		if h == 0 {
			h, names = k.secret, secretWrapAttrs
		}
		out, err = b.boolAttrs(s, h, names...)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkWithPkcs11Tool lists token B's objects with OpenSC's pkcs11-tool
// and reads back the public keys of the moved key pairs: the SPKI DER it
// reads from B must be A's public key.
func checkWithPkcs11Tool(t *testing.T, bLabel string, a *Backend) {
	tool := testenv.Command(t, "pkcs11-tool", "opensc")
	tok := token(t)
	base := []string{"--module", tok.Module, "--token-label", bLabel, "--login", "--pin", tok.PIN}
	out := string(testenv.Run(t, tool, append(base, "--list-objects")...))
	t.Logf("pkcs11-tool --list-objects on B:\n%s", out)
	for _, alg := range []backend.Algorithm{backend.ECP256, backend.RSA2048} {
		label := "moved-" + string(alg)
		block := objectBlock(out, "Private Key Object", label)
		if block == "" {
			t.Fatalf("pkcs11-tool lists no private key %q on B", label)
		}
		for _, want := range []string{"sign", "sensitive", "extractable"} {
			if !strings.Contains(block, want) {
				t.Errorf("pkcs11-tool on %q: no %q in\n%s", label, want, block)
			}
		}
		if strings.Contains(block, "never extractable") || strings.Contains(block, "always sensitive") {
			t.Errorf("pkcs11-tool on %q: an unwrapped key claims never extractable/always sensitive:\n%s", label, block)
		}
		der := filepath.Join(t.TempDir(), "pub.der")
		testenv.Run(t, tool, append(base, "--read-object", "--type", "pubkey", "--label", label, "--output-file", der)...)
		got, err := os.ReadFile(der)
		if err != nil {
			t.Fatal(err)
		}
		k, err := a.Key(t.Context(), label)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := x509.MarshalPKIXPublicKey(k.Public)
		if string(got) != string(want) {
			t.Errorf("pkcs11-tool --read-object of %q on B: not A's public key", label)
		}
	}
	if block := objectBlock(out, "Secret Key Object", "moved-aes-256"); !strings.Contains(block, "extractable") || !strings.Contains(block, "encrypt") {
		t.Errorf("pkcs11-tool on moved-aes-256:\n%s", block)
	}
}

// objectBlock returns the lines pkcs11-tool prints for the object of that
// kind and label.
func objectBlock(out, kind, label string) string {
	for _, b := range strings.Split("\n"+out, "\n"+kind)[1:] {
		// Cut at the next object first: the piece runs on to the next
		// object of this kind, and may hold another kind's object with
		// the label (pkcs11-tool lists objects in the token's order).
		if i := strings.Index(b, "Object;"); i > 0 {
			b = b[:i]
		}
		if strings.Contains(b, "label:      "+label+"\n") {
			return kind + b
		}
	}
	return ""
}

// TestWrapRefusals: a key made the usual way (CKA_EXTRACTABLE false)
// does not leave, and a wrappable key does not leave under a wrapping key
// without CKA_TRUSTED, which the user cannot set.
func TestWrapRefusals(t *testing.T) {
	ctx := t.Context()
	a, b := twoTokens(t)
	if _, err := a.GenerateKey(ctx, backend.KeySpec{Label: "kept", Algorithm: backend.ECP256}); err != nil {
		t.Fatal(err)
	}
	_, err := a.WrapKey(ctx, "kept", "kek", backend.WrapAESKeyWrapPad)
	if !errors.Is(err, backend.ErrUnsupported) || !strings.Contains(err.Error(), "CKA_EXTRACTABLE false") || codeOf(err) != pkcs11.CKR_KEY_UNEXTRACTABLE {
		t.Fatalf("wrap a non-extractable key: %v (code %s), want ErrUnsupported naming CKA_EXTRACTABLE, CKR_KEY_UNEXTRACTABLE", err, CodeName(codeOf(err)))
	}
	t.Logf("non-extractable: %v", err)

	// The user makes an AES wrapping key; CKA_TRUSTED true is refused.
	value := make([]byte, 32)
	rand.Read(value)
	untrusted := func(trusted bool) error {
		return a.withSession(ctx, func(s *session) error {
			_, err := a.p.CreateObject(s.h, []*pkcs11.Attribute{
				attr(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY), attr(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_AES),
				attr(pkcs11.CKA_TOKEN, true), attr(pkcs11.CKA_PRIVATE, true), attr(pkcs11.CKA_VALUE, value),
				attr(pkcs11.CKA_WRAP, true), attr(pkcs11.CKA_TRUSTED, trusted),
				attr(pkcs11.CKA_LABEL, "user-kek"), attr(pkcs11.CKA_ID, newID())})
			return ckErr("C_CreateObject", err)
		})
	}
	if err := untrusted(true); codeOf(err) != pkcs11.CKR_ATTRIBUTE_READ_ONLY {
		t.Fatalf("user sets CKA_TRUSTED true: %v, want CKR_ATTRIBUTE_READ_ONLY (SoftHSM2: only the SO may)", err)
	}
	if err := untrusted(false); err != nil {
		t.Fatal(err)
	}
	if _, err := a.GenerateKey(ctx, backend.KeySpec{Label: "wrappable", Algorithm: backend.ECP256, Wrappable: true}); err != nil {
		t.Fatal(err)
	}
	_, err = a.WrapKey(ctx, "wrappable", "user-kek", backend.WrapAESKeyWrapPad)
	if !errors.Is(err, backend.ErrUnsupported) || !strings.Contains(err.Error(), "CKA_TRUSTED false") || codeOf(err) != pkcs11.CKR_KEY_NOT_WRAPPABLE {
		t.Fatalf("wrap under an untrusted key: %v (code %s), want ErrUnsupported naming CKA_TRUSTED, CKR_KEY_NOT_WRAPPABLE", err, CodeName(codeOf(err)))
	}
	t.Logf("untrusted wrapping key: %v", err)

	// A damaged ciphertext, and a public key that is not the wrapped
	// key's, are refused in B, and leave nothing behind.
	w, err := a.WrapKey(ctx, "wrappable", "kek", backend.WrapAESKeyWrapPad)
	if err != nil {
		t.Fatal(err)
	}
	bad := *w
	bad.Ciphertext = append([]byte(nil), w.Ciphertext...)
	bad.Ciphertext[len(bad.Ciphertext)/2] ^= 1
	_, err = b.UnwrapKey(ctx, &bad, "kek", "")
	t.Logf("damaged ciphertext: %v (code %s)", err, CodeName(codeOf(err)))
	// SoftHSM2 2.6.1 answers CKR_GENERAL_ERROR (its C_UnwrapKey fails
	// every ciphertext that does not unwrap so): on a healthy token that
	// is the data's fault, ErrInvalidInput, as the contract says.
	if !errors.Is(err, backend.ErrInvalidInput) || errors.Is(err, backend.ErrUnavailable) || !strings.Contains(err.Error(), "does not unwrap") {
		t.Fatalf("unwrap a damaged ciphertext: %v, want ErrInvalidInput (not ErrUnavailable) saying it does not unwrap", err)
	}
	other, _ := ecdsa.GenerateKey(backend.ECP256.Curve(), rand.Reader)
	bad = *w
	bad.Public = &other.PublicKey
	if _, err := b.UnwrapKey(ctx, &bad, "kek", ""); !errors.Is(err, backend.ErrInvalidInput) {
		t.Fatalf("unwrap with another public key: %v, want ErrInvalidInput", err)
	}
	if _, err := b.Key(ctx, "wrappable"); !errors.Is(err, backend.ErrNotFound) {
		t.Fatalf("after a refused unwrap, B's key: %v, want ErrNotFound", err)
	}
	// And the right one goes in, once.
	if _, err := b.UnwrapKey(ctx, w, "kek", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := b.UnwrapKey(ctx, w, "kek", ""); !errors.Is(err, backend.ErrAlreadyExists) {
		t.Fatalf("unwrap twice: %v, want ErrAlreadyExists", err)
	}
}

// TestWrapEd25519SoftHSM: SoftHSM2 2.6.1 makes Ed25519 keys but cannot
// wrap them (C_WrapKey: "Not yet", CKR_KEY_NOT_WRAPPABLE).
func TestWrapEd25519SoftHSM(t *testing.T) {
	ctx := t.Context()
	a, _ := twoTokens(t)
	if !a.supportsAlgorithm(backend.Ed25519) {
		t.Skip("token has no Ed25519")
	}
	if _, err := a.GenerateKey(ctx, backend.KeySpec{Label: "ed", Algorithm: backend.Ed25519, Wrappable: true}); err != nil {
		t.Fatal(err)
	}
	_, err := a.WrapKey(ctx, "ed", "kek", backend.WrapAESKeyWrapPad)
	t.Logf("wrap Ed25519: %v", err)
	if codeOf(err) != pkcs11.CKR_KEY_NOT_WRAPPABLE || !errors.Is(err, backend.ErrUnsupported) {
		t.Fatalf("wrap Ed25519 on SoftHSM2: %v, want CKR_KEY_NOT_WRAPPABLE (if this passes on a newer SoftHSM2, update docs/backends/pkcs11.md)", err)
	}
}

// TestWrapAESUnderRSA: an AES key leaves token A under B's RSA public key
// (trusted in A) with rsa-oaep-sha1 and is unwrapped by B's private key;
// a private key is refused that mechanism.
func TestWrapAESUnderRSA(t *testing.T) {
	ctx := t.Context()
	a, b := twoTokens(t)
	if _, err := a.GenerateKey(ctx, backend.KeySpec{Label: "aes-to-b", Algorithm: backend.AES256, Wrappable: true}); err != nil {
		t.Fatal(err)
	}
	w, err := a.WrapKey(ctx, "aes-to-b", "b-transport", backend.WrapRSAOAEP)
	if err != nil {
		t.Fatalf("WrapKey: %v", err)
	}
	if len(w.Ciphertext) != 256 {
		t.Fatalf("rsa-oaep-sha1 under a 2048-bit key: %d bytes", len(w.Ciphertext))
	}
	if _, err := b.UnwrapKey(ctx, w, "transport", ""); err != nil {
		t.Fatalf("UnwrapKey: %v", err)
	}
	ae, _ := a.AEAD(ctx, "aes-to-b")
	sealed, err := ae.Seal(ctx, []byte("under RSA"), nil)
	if err != nil {
		t.Fatal(err)
	}
	be, err := b.AEAD(ctx, "aes-to-b")
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := be.Open(ctx, sealed, nil); err != nil || string(pt) != "under RSA" {
		t.Fatalf("B opens: %q, %v", pt, err)
	}
	if _, err := a.GenerateKey(ctx, backend.KeySpec{Label: "ec-to-b", Algorithm: backend.ECP256, Wrappable: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.WrapKey(ctx, "ec-to-b", "b-transport", backend.WrapRSAOAEP); !errors.Is(err, backend.ErrUnsupported) {
		t.Fatalf("a private key under rsa-oaep-sha1: %v, want ErrUnsupported", err)
	}
}

// TestTrustedKeyLogins: a wrong SO PIN is ErrAuthentication and the error
// does not hold it; while the application is logged in to the token as
// its user, the SO cannot log in (CKR_USER_ANOTHER_ALREADY_LOGGED_IN).
func TestTrustedKeyLogins(t *testing.T) {
	ctx := t.Context()
	_, b := twoTokens(t)
	key := backend.SecretKey{Algorithm: backend.AES256, Value: make([]byte, 32)}
	uri := wrapURI(t, wrapTokenLabels[1])
	_, err := CreateTrustedWrappingKey(ctx, uri, soPIN(token(t).SOPIN), "while-user", key)
	if !errors.Is(err, backend.ErrAuthentication) || codeOf(err) != pkcs11.CKR_USER_ANOTHER_ALREADY_LOGGED_IN {
		t.Fatalf("SO login while the user is logged in: %v, want CKR_USER_ANOTHER_ALREADY_LOGGED_IN", err)
	}
	b.Close()
	_, err = CreateTrustedWrappingKey(ctx, uri, soPIN("97531"), "wrong-pin", key)
	if !errors.Is(err, backend.ErrAuthentication) || codeOf(err) != pkcs11.CKR_PIN_INCORRECT || strings.Contains(err.Error(), "97531") {
		t.Fatalf("wrong SO PIN: %v, want CKR_PIN_INCORRECT without the PIN", err)
	}
	if _, err := CreateTrustedWrappingKey(ctx, uri, soPIN(token(t).SOPIN), "kek", key); !errors.Is(err, backend.ErrAlreadyExists) {
		t.Fatalf("a taken label: %v, want ErrAlreadyExists", err)
	}
}
