//go:build cgo && !nopkcs11

package pkcs11

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/miekg/pkcs11"
)

// TestClosedFirst: on a closed backend every method is ErrClosed, before
// any check of its arguments or of what the token can do. The token is
// made to look like one without AES (as tpm2-pkcs11 is), and the
// arguments are wrong in every other way too; a backend without a PIN on
// a token that needs a login is closed as well.
func TestClosedFirst(t *testing.T) {
	b := openTest(t, "")
	// Handles taken before Close must refuse too.
	other := openTest(t, "") // deletes the keys at the end: b is closed by then
	ec := genKey(t, other, backend.ECP256)
	aesKey, fernetKey := genKey(t, other, backend.AES256), genKey(t, other, backend.Fernet)
	signer, err := b.Signer(t.Context(), ec)
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := b.AEAD(t.Context(), aesKey)
	if err != nil {
		t.Fatal(err)
	}
	fernet, err := b.Fernet(t.Context(), fernetKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []uint{pkcs11.CKM_AES_KEY_GEN, pkcs11.CKM_AES_GCM, pkcs11.CKM_AES_CBC_PAD, pkcs11.CKM_EC_KEY_PAIR_GEN} {
		delete(b.mechs, m)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	tok := token(t)
	pinless, err := Open(t.Context(), fmt.Sprintf("pkcs11:token=%s?module-path=%s", tok.Label, tok.Module))
	if err != nil {
		t.Fatal(err)
	}
	if err := pinless.Close(); err != nil {
		t.Fatal(err)
	}
	ecPriv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	aes := backend.SecretKey{Algorithm: backend.AES256, Value: make([]byte, 32)}
	calls := map[string]func() error{
		"GenerateKey of an unsupported algorithm": func() error {
			_, err := b.GenerateKey(ctx, backend.KeySpec{Label: "closed", Algorithm: backend.AES256})
			return err
		},
		"GenerateKey with a bad label": func() error {
			_, err := b.GenerateKey(ctx, backend.KeySpec{Label: "", Algorithm: backend.RSA2048})
			return err
		},
		"ImportKey of an unsupported algorithm": func() error { _, err := b.ImportKey(ctx, "closed", aes); return err },
		"ImportKey of an unsupported EC key":    func() error { _, err := b.ImportKey(ctx, "closed", ecPriv); return err },
		"ImportKey with a bad label":            func() error { _, err := b.ImportKey(ctx, "", aes); return err },
		"ImportKey of a bad key":                func() error { _, err := b.ImportKey(ctx, "closed", 42); return err },
		"Key":                                   func() error { _, err := b.Key(ctx, "closed"); return err },
		"Key with a bad reference":              func() error { _, err := b.Key(ctx, "id:zz"); return err },
		"Keys":                                  func() error { _, err := b.Keys(ctx); return err },
		"Keys without a PIN":                    func() error { _, err := pinless.Keys(ctx); return err },
		"DeleteKey":                             func() error { return b.DeleteKey(ctx, "closed") },
		"Signer":                                func() error { _, err := b.Signer(ctx, "closed"); return err },
		"Decrypter":                             func() error { _, err := b.Decrypter(ctx, "closed"); return err },
		"AEAD":                                  func() error { _, err := b.AEAD(ctx, "closed"); return err },
		"Fernet":                                func() error { _, err := b.Fernet(ctx, "closed"); return err },
		"Capabilities":                          func() error { _, err := b.Capabilities(ctx); return err },
		"Sign with a signer from before Close": func() error {
			_, err := signer.Sign(rand.Reader, make([]byte, 32), crypto.SHA256)
			return err
		},
		"Seal with an AEAD from before Close":     func() error { _, err := sealer.Seal(ctx, []byte("x"), nil); return err },
		"MAC with a Fernet key from before Close": func() error { _, err := fernet.MAC(ctx, []byte("x")); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, backend.ErrClosed) {
			t.Errorf("%s after Close: %v (%v), want ErrClosed", name, err, backend.Kind(err))
		}
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
