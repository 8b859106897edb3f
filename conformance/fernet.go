package conformance

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"strings"

	"github.com/keyplane/keyplane/backend"
)

// fernetFor returns the Fernet key of ref, or skips t (when skip).
func (s *suite) fernetFor(t tb, ref string, skip bool) backend.FernetKey {
	t.Helper()
	fb, ok := s.backend().(backend.FernetBackend)
	switch {
	case !s.supports(backend.FernetToken):
		if skip {
			t.Skipf("the backend does not report operation %s", backend.FernetToken)
		}
		return nil
	case !ok:
		t.Fatalf("the backend reports %s but does not implement backend.FernetBackend", backend.FernetToken)
	}
	fk, err := fb.Fernet(t.Context(), ref)
	if err != nil {
		t.Fatalf("Fernet(%q): %v", ref, err)
	}
	return fk
}

// fernetReference computes, with the standard library, what a Fernet key
// of 32 bytes (signing key ‖ encryption key) must give.
type fernetReference struct{ key []byte }

func (f fernetReference) mac(data []byte) []byte {
	m := hmac.New(sha256.New, f.key[:16])
	m.Write(data)
	return m.Sum(nil)
}

func (f fernetReference) encryptCBC(iv, pt []byte) []byte {
	block, err := aes.NewCipher(f.key[16:])
	if err != nil {
		panic("conformance: " + err.Error())
	}
	n := aes.BlockSize - len(pt)%aes.BlockSize
	padded := append(append([]byte(nil), pt...), bytes.Repeat([]byte{byte(n)}, n)...)
	out := make([]byte, len(padded))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(out, padded)
	return out
}

// checkFernetPrimitives compares a backend Fernet key with the reference
// computation over the same key bytes.
func checkFernetPrimitives(t tb, fk backend.FernetKey, ref fernetReference, what string) {
	t.Helper()
	ctx := t.Context()
	data := randomBytes(57)
	mac, err := fk.MAC(ctx, data)
	if err != nil {
		t.Errorf("%s: MAC: %v", what, err)
	} else if !hmac.Equal(mac, ref.mac(data)) {
		t.Errorf("%s: MAC differs from crypto/hmac HMAC-SHA256 under the signing key", what)
	}
	for _, n := range []int{0, 15, 16, 33} {
		iv, pt := randomBytes(16), randomBytes(n)
		ct, err := fk.EncryptCBC(ctx, iv, pt)
		if err != nil {
			t.Errorf("%s: EncryptCBC of %d bytes: %v", what, n, err)
			continue
		}
		if !bytes.Equal(ct, ref.encryptCBC(iv, pt)) {
			t.Errorf("%s: EncryptCBC of %d bytes differs from AES-128-CBC with PKCS#7 padding under the encryption key", what, n)
		}
		got, err := fk.DecryptCBC(ctx, iv, ref.encryptCBC(iv, pt))
		if err != nil || !bytes.Equal(got, pt) {
			t.Errorf("%s: DecryptCBC of a crypto/cipher ciphertext of %d bytes: %v", what, n, err)
		}
	}
}

// checkFernetRoundTrip: MAC is HMAC-SHA256 (32 bytes, deterministic),
// EncryptCBC and DecryptCBC agree, and an exported key computes the same
// with the standard library.
func (s *suite) checkFernetRoundTrip(t tb) {
	sk := s.key(t, backend.Fernet)
	fk := s.fernetFor(t, sk.label, true)
	ctx := t.Context()
	data := randomBytes(100)
	m1, err := fk.MAC(ctx, data)
	if err != nil {
		t.Fatalf("MAC: %v", err)
	}
	if len(m1) != sha256.Size {
		t.Errorf("MAC of %d bytes, want %d (HMAC-SHA256)", len(m1), sha256.Size)
	}
	m2, err := fk.MAC(ctx, data)
	if err != nil || !bytes.Equal(m1, m2) {
		t.Errorf("MAC is not deterministic (err %v)", err)
	}
	if m3, err := fk.MAC(ctx, append(data, 0)); err == nil && bytes.Equal(m1, m3) {
		t.Errorf("MAC of different data is the same")
	}
	for _, n := range []int{0, 1, 15, 16, 17, 1000} {
		iv, pt := randomBytes(16), randomBytes(n)
		ct, err := fk.EncryptCBC(ctx, iv, pt)
		if err != nil {
			t.Errorf("EncryptCBC of %d bytes: %v", n, err)
			continue
		}
		if want := (n/16 + 1) * 16; len(ct) != want {
			t.Errorf("EncryptCBC of %d bytes gave %d bytes, want %d (PKCS#7 padding)", n, len(ct), want)
		}
		got, err := fk.DecryptCBC(ctx, iv, ct)
		if err != nil || !bytes.Equal(got, pt) {
			t.Errorf("DecryptCBC of %d bytes does not give the plaintext back (err %v)", n, err)
		}
	}
	if ex, ok := s.backend().(backend.Exporter); ok && s.caps.Export {
		k, err := ex.ExportKey(ctx, sk.label)
		if err != nil {
			t.Fatalf("ExportKey(%q): %v", sk.label, err)
		}
		sec, ok := k.(backend.SecretKey)
		if !ok || sec.Algorithm != backend.Fernet || len(sec.Value) != 32 {
			t.Fatalf("ExportKey(%q) returned %T (%v), want a 32-byte fernet backend.SecretKey", sk.label, k, k)
		}
		checkFernetPrimitives(t, fk, fernetReference{sec.Value}, "exported key")
	}
}

// checkFernetBadInput: bad padding and malformed ciphertexts are
// ErrDecryption; a bad IV is refused.
func (s *suite) checkFernetBadInput(t tb) {
	sk := s.key(t, backend.Fernet)
	fk := s.fernetFor(t, sk.label, true)
	ctx := t.Context()
	iv := randomBytes(16)
	pt := randomBytes(15) // one byte of padding: 0x01
	ct, err := fk.EncryptCBC(ctx, iv, pt)
	if err != nil {
		t.Fatalf("EncryptCBC: %v", err)
	}
	// The padding byte is 0x01; flipping bits of the IV's last byte flips
	// it to a value that cannot be valid padding: 0xfe, 0x00, 0x11.
	withPad := func(pad byte) []byte {
		b := append([]byte(nil), iv...)
		b[15] ^= 0x01 ^ pad
		return b
	}
	same := &sameMessages{what: "DecryptCBC"}
	for _, c := range []struct {
		name   string
		iv, ct []byte
	}{
		{"bad padding 0xfe", withPad(0xfe), ct},
		{"bad padding 0x00", withPad(0x00), ct},
		{"bad padding 0x11", withPad(0x11), ct},
		{"not a whole block", iv, ct[:len(ct)-1]},
		{"empty", iv, nil},
	} {
		got, err := fk.DecryptCBC(ctx, c.iv, c.ct)
		if err == nil {
			t.Errorf("DecryptCBC with %s succeeded (%d bytes), want ErrDecryption", c.name, len(got))
			continue
		}
		wantDecryptionErr(t, err, "DecryptCBC with "+c.name)
		if strings.HasPrefix(c.name, "bad padding") {
			same.add(t, c.name, err)
		}
	}
	for _, n := range []int{0, 15, 17} {
		_, err := fk.EncryptCBC(ctx, make([]byte, n), pt)
		wantErr(t, err, fmt.Sprintf("EncryptCBC with an IV of %d bytes", n), backend.ErrInvalidInput)
		_, err = fk.DecryptCBC(ctx, make([]byte, n), ct)
		wantErr(t, err, fmt.Sprintf("DecryptCBC with an IV of %d bytes", n), backend.ErrInvalidInput, backend.ErrDecryption)
	}
}

// checkFernetWrongKey: Fernet refuses other keys, and missing keys.
func (s *suite) checkFernetWrongKey(t tb) {
	s.requireOp(t, backend.FernetToken)
	fb := s.backend().(backend.FernetBackend)
	for _, alg := range s.algs {
		if sk := s.keys[alg]; sk != nil && alg != backend.Fernet {
			_, err := fb.Fernet(t.Context(), sk.label)
			wantErr(t, err, fmt.Sprintf("Fernet on the %s key %q", alg, sk.label), backend.ErrUnsupported)
		}
	}
	_, err := fb.Fernet(t.Context(), s.label("missing"))
	wantErr(t, err, "Fernet on a missing key", backend.ErrNotFound)
}
