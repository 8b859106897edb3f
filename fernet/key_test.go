package fernet

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
)

func TestKeyText(t *testing.T) {
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if k.Algorithm != backend.Fernet || len(k.Value) != KeySize {
		t.Fatalf("GenerateKey = %v with %d bytes", k, len(k.Value))
	}
	k2, _ := GenerateKey()
	if bytes.Equal(k.Value, k2.Value) {
		t.Fatal("two generated keys are equal")
	}
	text := EncodeKey(k)
	if len(text) != KeyTextLen || !strings.HasSuffix(text, "=") {
		t.Errorf("EncodeKey = %d chars %q..., want %d ending in =", len(text), text[:4], KeyTextLen)
	}
	for _, in := range []string{text, text + "\n", "  " + text + "\r\n"} {
		got, err := ParseKey(in)
		if err != nil {
			t.Fatalf("ParseKey: %v", err)
		}
		if got.Algorithm != backend.Fernet || !bytes.Equal(got.Value, k.Value) {
			t.Errorf("ParseKey(EncodeKey(k)) differs")
		}
	}
}

func TestParseKeyErrors(t *testing.T) {
	good, _ := GenerateKey()
	text := EncodeKey(good)
	std := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 32)) // has "+" and "/"
	for name, in := range map[string]string{
		"empty":             "",
		"unpadded":          strings.TrimSuffix(text, "="),
		"too long":          text + "AAAA",
		"16 bytes":          base64.URLEncoding.EncodeToString(make([]byte, 16)),
		"48 bytes":          base64.URLEncoding.EncodeToString(make([]byte, 33))[:44],
		"standard alphabet": std,
		"bad character":     "!" + text[1:],
		"inner space":       text[:20] + " " + text[21:],
		"hex":               strings.Repeat("ab", 22),
	} {
		_, err := ParseKey(in)
		if !errors.Is(err, backend.ErrInvalidInput) {
			t.Errorf("%s: err = %v, want ErrInvalidInput", name, err)
			continue
		}
		if in != "" && len(in) > 8 && strings.Contains(err.Error(), in[1:9]) {
			t.Errorf("%s: error %q contains the key text", name, err)
		}
		if !strings.Contains(err.Error(), "fernet key") {
			t.Errorf("%s: error %q does not say what was wrong", name, err)
		}
	}
}

func TestNewSoftwareKeyErrors(t *testing.T) {
	for name, k := range map[string]backend.SecretKey{
		"aes key":      {Algorithm: backend.AES256, Value: make([]byte, 32)},
		"short":        {Algorithm: backend.Fernet, Value: make([]byte, 16)},
		"empty":        {Algorithm: backend.Fernet},
		"no algorithm": {Value: make([]byte, 32)},
	} {
		if _, err := NewSoftwareKey(k); !errors.Is(err, backend.ErrInvalidInput) {
			t.Errorf("%s: %v, want ErrInvalidInput", name, err)
		}
	}
}

// TestSoftwareKeyPrimitives checks the FernetKey contract directly: CBC
// errors are ErrDecryption, and the key copy is independent of the caller's.
func TestSoftwareKeyPrimitives(t *testing.T) {
	ctx := t.Context()
	sk, _ := GenerateKey()
	fk, err := NewSoftwareKey(sk)
	if err != nil {
		t.Fatal(err)
	}
	iv := make([]byte, 16)
	ct, err := fk.EncryptCBC(ctx, iv, []byte("hello"))
	if err != nil || len(ct) != 16 {
		t.Fatalf("EncryptCBC: %d bytes, %v", len(ct), err)
	}
	mac1, _ := fk.MAC(ctx, []byte("data"))
	for i := range sk.Value {
		sk.Value[i] = 0 // the caller wipes its copy
	}
	mac2, _ := fk.MAC(ctx, []byte("data"))
	if !bytes.Equal(mac1, mac2) {
		t.Error("the key changed when the caller's SecretKey was wiped")
	}
	if pt, err := fk.DecryptCBC(ctx, iv, ct); err != nil || string(pt) != "hello" {
		t.Errorf("DecryptCBC: %q, %v", pt, err)
	}
	for name, c := range map[string][2][]byte{
		"short IV":      {iv[:8], ct},
		"empty":         {iv, nil},
		"partial block": {iv, ct[:15]},
		"wrong IV":      {append(make([]byte, 15), 0x80), ct},
	} {
		if _, err := fk.DecryptCBC(ctx, c[0], c[1]); err != backend.ErrDecryption {
			t.Errorf("%s: %v, want exactly backend.ErrDecryption", name, err)
		}
	}
	if _, err := fk.EncryptCBC(ctx, iv[:15], nil); !errors.Is(err, backend.ErrInvalidInput) {
		t.Errorf("EncryptCBC with a short IV: %v", err)
	}
	if s := fk.(interface{ String() string }).String(); strings.Contains(s, EncodeKey(sk)) {
		t.Errorf("String() shows the key: %s", s)
	}
}
