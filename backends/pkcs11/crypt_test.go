//go:build cgo && !nopkcs11

package pkcs11

//lint:file-ignore SA1019 rsa-pkcs1v15 decryption is an operation keyplane offers for data that already exists; docs/decisions.md says why and points new data at OAEP

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
)

func genKey(t *testing.T, b *Backend, alg backend.Algorithm) string {
	t.Helper()
	label := uniqueLabel(t, string(alg))
	if _, err := b.GenerateKey(t.Context(), backend.KeySpec{Label: label, Algorithm: alg}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.DeleteKey(t.Context(), label) })
	return label
}

func TestDecryptOAEP(t *testing.T) {
	b, spy := openSpy(t, "")
	label := genKey(t, b, backend.RSA2048)
	d, err := b.Decrypter(t.Context(), label)
	if err != nil {
		t.Fatal(err)
	}
	pub := d.Public().(*rsa.PublicKey)
	msg := []byte("a session key of some sort")
	cases := []struct {
		name string
		opts *rsa.OAEPOptions
	}{
		{"sha1", &rsa.OAEPOptions{Hash: crypto.SHA1}},
		{"sha256", &rsa.OAEPOptions{Hash: crypto.SHA256}},
		{"sha256-label", &rsa.OAEPOptions{Hash: crypto.SHA256, Label: []byte("context label")}},
		{"sha384-mgf1-sha1", &rsa.OAEPOptions{Hash: crypto.SHA384, MGFHash: crypto.SHA1}},
		{"sha512-label", &rsa.OAEPOptions{Hash: crypto.SHA512, Label: []byte("L")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mgf := c.opts.MGFHash
			if mgf == 0 {
				mgf = c.opts.Hash
			}
			ct, err := rsa.EncryptOAEPWithOptions(rand.Reader, pub, msg, &rsa.OAEPOptions{Hash: c.opts.Hash, MGFHash: mgf, Label: c.opts.Label})
			if err != nil {
				t.Fatal(err)
			}
			spy.snapshot()
			got, err := d.Decrypt(rand.Reader, ct, c.opts)
			if err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("Decrypt = %q, %v", got, err)
			}
			calls := spy.snapshot()
			// SoftHSM2 2.6.1 takes only SHA-1 without a label natively.
			if c.name == "sha1" && calls["DecryptInit"] != 1 {
				t.Errorf("native SHA-1 OAEP: %d C_DecryptInit calls, want 1", calls["DecryptInit"])
			}
			// Tampered: the one vague error, and the mode does not flip.
			bad := bytes.Clone(ct)
			bad[len(bad)/2] ^= 1
			_, err = d.Decrypt(rand.Reader, bad, c.opts)
			if err != backend.ErrDecryption {
				t.Errorf("tampered: %v, want the bare ErrDecryption", err)
			}
			// Wrong label.
			wrong := *c.opts
			wrong.Label = append(bytes.Clone(c.opts.Label), 'x')
			if _, err := d.Decrypt(rand.Reader, ct, &wrong); err != backend.ErrDecryption {
				t.Errorf("wrong label: %v, want the bare ErrDecryption", err)
			}
			// Short ciphertext.
			if _, err := d.Decrypt(rand.Reader, ct[1:], c.opts); err != backend.ErrDecryption {
				t.Errorf("short: %v, want the bare ErrDecryption", err)
			}
		})
	}
	caps, err := b.Capabilities(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(caps.Details["oaep-fallback"], "on") || !caps.SupportsOperation(backend.RSAOAEPSHA256) {
		t.Errorf("capabilities: oaep-fallback %q, operations %v", caps.Details["oaep-fallback"], caps.Operations)
	}
	t.Logf("oaep-native: %s", caps.Details["oaep-native"])
	// After the first refusal, the fallback goes straight to CKM_RSA_X_509.
	ct, _ := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, msg, nil)
	spy.snapshot()
	if got, err := d.Decrypt(rand.Reader, ct, &rsa.OAEPOptions{Hash: crypto.SHA256}); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("Decrypt = %q, %v", got, err)
	}
	if n := spy.snapshot()["DecryptInit"]; n != 1 {
		t.Errorf("remembered fallback: %d C_DecryptInit, want 1", n)
	}
}

func TestDecryptOAEPFallbackOff(t *testing.T) {
	b := openTest(t, "oaep-fallback=off")
	label := genKey(t, b, backend.RSA2048)
	d, err := b.Decrypter(t.Context(), label)
	if err != nil {
		t.Fatal(err)
	}
	pub := d.Public().(*rsa.PublicKey)
	ct, _ := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, []byte("x"), nil)
	_, err = d.Decrypt(rand.Reader, ct, &rsa.OAEPOptions{Hash: crypto.SHA256})
	if !errors.Is(err, backend.ErrUnsupported) || !strings.Contains(err.Error(), "oaep-fallback=off") {
		t.Errorf("OAEP-SHA256 with the fallback off: %v, want ErrUnsupported naming oaep-fallback=off", err)
	}
	caps, _ := b.Capabilities(t.Context())
	if caps.SupportsOperation(backend.RSAOAEPSHA256) || !strings.HasPrefix(caps.Details["oaep-fallback"], "off") {
		t.Errorf("capabilities after a refusal with the fallback off: %v, %q", caps.Operations, caps.Details["oaep-fallback"])
	}
}

func TestDecryptPKCS1v15(t *testing.T) {
	b := openTest(t, "")
	label := genKey(t, b, backend.RSA2048)
	d, err := b.Decrypter(t.Context(), label)
	if err != nil {
		t.Fatal(err)
	}
	pub := d.Public().(*rsa.PublicKey)
	key := bytes.Repeat([]byte{7}, 32)
	ct, err := rsa.EncryptPKCS1v15(rand.Reader, pub, key)
	if err != nil {
		t.Fatal(err)
	}
	for _, opts := range []crypto.DecrypterOpts{nil, &rsa.PKCS1v15DecryptOptions{}, &rsa.PKCS1v15DecryptOptions{SessionKeyLen: 32}} {
		if got, err := d.Decrypt(rand.Reader, ct, opts); err != nil || !bytes.Equal(got, key) {
			t.Errorf("Decrypt(%v) = %x, %v", opts, got, err)
		}
	}
	bad := bytes.Clone(ct)
	bad[5] ^= 0x40
	if _, err := d.Decrypt(rand.Reader, bad, nil); err != backend.ErrDecryption {
		t.Errorf("tampered: %v, want the bare ErrDecryption", err)
	}
	// Implicit rejection: random bytes of the asked length, no error.
	got1, err1 := d.Decrypt(rand.Reader, bad, &rsa.PKCS1v15DecryptOptions{SessionKeyLen: 32})
	got2, err2 := d.Decrypt(rand.Reader, bad, &rsa.PKCS1v15DecryptOptions{SessionKeyLen: 32})
	if err1 != nil || err2 != nil || len(got1) != 32 || bytes.Equal(got1, key) || bytes.Equal(got1, got2) {
		t.Errorf("implicit rejection: %x, %v; %x, %v", got1, err1, got2, err2)
	}
	// A wrong session key length is rejected implicitly too.
	if got, err := d.Decrypt(rand.Reader, ct, &rsa.PKCS1v15DecryptOptions{SessionKeyLen: 16}); err != nil || len(got) != 16 || bytes.Equal(got, key[:16]) {
		t.Errorf("wrong SessionKeyLen: %x, %v", got, err)
	}
	if _, err := d.Decrypt(rand.Reader, ct, "bogus"); !errors.Is(err, backend.ErrUnsupported) {
		t.Errorf("unknown options: %v, want ErrUnsupported", err)
	}
}

func TestAEAD(t *testing.T) {
	b := openTest(t, "")
	ctx := t.Context()
	value := make([]byte, 32)
	rand.Read(value)
	label := uniqueLabel(t, "aes-import")
	if _, err := b.ImportKey(ctx, label, backend.SecretKey{Algorithm: backend.AES256, Value: value}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.DeleteKey(ctx, label) })
	a, err := b.AEAD(ctx, label)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := aes.NewCipher(value)
	std, _ := cipher.NewGCM(block)
	for _, pt := range [][]byte{nil, []byte("hello"), bytes.Repeat([]byte("x"), 1000)} {
		ad := []byte("associated")
		sealed, err := a.Seal(ctx, pt, ad)
		if err != nil {
			t.Fatal(err)
		}
		if len(sealed) != len(pt)+a.Overhead() || a.NonceSize() != 12 {
			t.Errorf("sealed %d bytes for %d", len(sealed), len(pt))
		}
		// The standard library opens what the token sealed, and vice versa.
		if got, err := std.Open(nil, sealed[:12], sealed[12:], ad); err != nil || !bytes.Equal(got, pt) {
			t.Errorf("crypto/cipher Open = %q, %v", got, err)
		}
		nonce := make([]byte, 12)
		rand.Read(nonce)
		mine := std.Seal(bytes.Clone(nonce), nonce, pt, ad)
		if got, err := a.Open(ctx, mine, ad); err != nil || !bytes.Equal(got, pt) {
			t.Errorf("Open of a crypto/cipher message = %q, %v", got, err)
		}
		bad := bytes.Clone(sealed)
		bad[len(bad)-1] ^= 1
		if _, err := a.Open(ctx, bad, ad); err != backend.ErrDecryption {
			t.Errorf("tampered tag: %v, want the bare ErrDecryption", err)
		}
		if _, err := a.Open(ctx, sealed, []byte("other")); err != backend.ErrDecryption {
			t.Errorf("wrong ad: %v, want the bare ErrDecryption", err)
		}
	}
	if _, err := a.Open(ctx, make([]byte, 27), nil); err != backend.ErrDecryption {
		t.Errorf("short: %v, want ErrDecryption", err)
	}
	// A generated key works too.
	gen := genKey(t, b, backend.AES256)
	a2, err := b.AEAD(ctx, gen)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := a2.Seal(ctx, []byte("generated"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := a2.Open(ctx, sealed, nil); err != nil || string(got) != "generated" {
		t.Errorf("Open = %q, %v", got, err)
	}
	if _, err := b.AEAD(ctx, genKey(t, b, backend.ECP256)); !errors.Is(err, backend.ErrUnsupported) {
		t.Errorf("AEAD(EC key): %v, want ErrUnsupported", err)
	}
}

func TestFernet(t *testing.T) {
	b := openTest(t, "")
	ctx := t.Context()
	value := make([]byte, 32)
	rand.Read(value)
	label := uniqueLabel(t, "fernet-import")
	if _, err := b.ImportKey(ctx, label, backend.SecretKey{Algorithm: backend.Fernet, Value: value}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.DeleteKey(ctx, label) })
	f, err := b.Fernet(ctx, label)
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("\x80 the token body to sign")
	mac, err := f.MAC(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	h := hmac.New(sha256.New, value[:16])
	h.Write(data)
	if !hmac.Equal(mac, h.Sum(nil)) {
		t.Errorf("MAC differs from crypto/hmac with the 16-byte signing key")
	}
	iv := make([]byte, 16)
	rand.Read(iv)
	pt := []byte("fernet plaintext, not a multiple of 16")
	ct, err := f.EncryptCBC(ctx, iv, pt)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := aes.NewCipher(value[16:])
	dec := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(dec, ct)
	pad := int(dec[len(dec)-1])
	if pad < 1 || pad > 16 || !bytes.Equal(dec[:len(dec)-pad], pt) {
		t.Errorf("crypto/aes CBC decryption of the token's ciphertext: %q", dec)
	}
	if got, err := f.DecryptCBC(ctx, iv, ct); err != nil || !bytes.Equal(got, pt) {
		t.Errorf("DecryptCBC = %q, %v", got, err)
	}
	// Bad padding: a block that decrypts to garbage.
	bad := bytes.Clone(ct)
	bad[len(bad)-1] ^= 0xff
	if _, err := f.DecryptCBC(ctx, iv, bad); err != backend.ErrDecryption {
		t.Errorf("bad padding: %v, want the bare ErrDecryption", err)
	}
	if _, err := f.DecryptCBC(ctx, iv, ct[:len(ct)-1]); err != backend.ErrDecryption {
		t.Errorf("ragged: %v, want ErrDecryption", err)
	}
	if _, err := f.EncryptCBC(ctx, iv[:8], pt); !errors.Is(err, backend.ErrInvalidInput) {
		t.Errorf("short IV: %v, want ErrInvalidInput", err)
	}
	// Generated in the token.
	g, err := b.Fernet(ctx, genKey(t, b, backend.Fernet))
	if err != nil {
		t.Fatal(err)
	}
	ct, err = g.EncryptCBC(ctx, iv, pt)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := g.DecryptCBC(ctx, iv, ct); err != nil || !bytes.Equal(got, pt) {
		t.Errorf("generated DecryptCBC = %q, %v", got, err)
	}
	if m, err := g.MAC(ctx, data); err != nil || len(m) != 32 {
		t.Errorf("generated MAC = %x, %v", m, err)
	}
}

func TestImportKeys(t *testing.T) {
	b := openTest(t, "")
	ctx := t.Context()
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	msg := []byte("imported")
	for _, key := range []crypto.Signer{rsaKey, ecKey, edKey} {
		label := uniqueLabel(t, "import")
		k, err := b.ImportKey(ctx, label, key)
		if err != nil {
			t.Fatalf("ImportKey(%T): %v", key, err)
		}
		t.Cleanup(func() { b.DeleteKey(ctx, label) })
		if !key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(k.Public) {
			t.Errorf("%T: public key read back differs", key)
		}
		s, err := b.Signer(ctx, label)
		if err != nil {
			t.Fatal(err)
		}
		opts := crypto.SignerOpts(crypto.SHA256)
		if _, ok := key.(ed25519.PrivateKey); ok {
			opts = crypto.Hash(0)
		}
		verify(t, key.Public(), msg, sign(t, s, msg, opts), opts)
		if _, err := b.ImportKey(ctx, label, key); !errors.Is(err, backend.ErrAlreadyExists) {
			t.Errorf("import twice: %v, want ErrAlreadyExists", err)
		}
	}
	// Imported RSA decrypts (CKA_DECRYPT), natively and via the fallback.
	label := uniqueLabel(t, "import-rsa")
	if _, err := b.ImportKey(ctx, label, rsaKey); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.DeleteKey(ctx, label) })
	d, _ := b.Decrypter(ctx, label)
	ct, _ := rsa.EncryptOAEP(sha256.New(), rand.Reader, &rsaKey.PublicKey, msg, []byte("lbl"))
	if got, err := d.Decrypt(nil, ct, &rsa.OAEPOptions{Hash: crypto.SHA256, Label: []byte("lbl")}); err != nil || !bytes.Equal(got, msg) {
		t.Errorf("OAEP-SHA256 with an imported key: %q, %v", got, err)
	}
	for _, bad := range []any{"a string", backend.SecretKey{Algorithm: backend.AES256, Value: make([]byte, 16)}, backend.SecretKey{Algorithm: backend.ECP256, Value: make([]byte, 32)}} {
		if _, err := b.ImportKey(ctx, uniqueLabel(t, "bad"), bad); !errors.Is(err, backend.ErrUnsupported) && !errors.Is(err, backend.ErrInvalidInput) {
			t.Errorf("ImportKey(%v): %v", bad, err)
		}
	}
}
