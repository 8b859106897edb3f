package pkcs8

import (
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/keyplane/keyplane/backend"
)

// seedPEMs returns every PEM file in testdata plus fresh keys of each type,
// plain and encrypted with few iterations.
func seedPEMs(f *testing.F) [][]byte {
	var seeds [][]byte
	files, _ := filepath.Glob(filepath.Join("testdata", "*.pem"))
	for _, name := range files {
		if filepath.Base(name) == "huge-iter.pem" {
			continue // valid but refused before any work; keep the fuzzer fast
		}
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	for _, k := range keys(f) {
		plain, err := MarshalPrivateKeyPEM(k, nil)
		if err != nil {
			f.Fatal(err)
		}
		der, err := MarshalEncryptedPrivateKey(k, []byte(testPassphrase), &EncryptOptions{Iterations: 3})
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, plain, pem.EncodeToMemory(&pem.Block{Type: TypeEncryptedPrivateKey, Bytes: der}))
	}
	return seeds
}

// FuzzParsePrivateKeyPEM: any input gives a key or an error wrapping one of
// the sentinels, never a panic.
func FuzzParsePrivateKeyPEM(f *testing.F) {
	for _, s := range seedPEMs(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if b, _ := pem.Decode(data); b != nil && b.Type == TypeEncryptedPrivateKey {
			if info, err := Inspect(b.Bytes); err == nil && info.Iterations > 10000 {
				t.Skip("slow but legal iteration count")
			}
		}
		k, err := ParsePrivateKeyPEM(data, pass(testPassphrase))
		checkResult(t, k, err)
	})
}

// FuzzParseEncryptedPrivateKey feeds the DER of EncryptedPrivateKeyInfo
// directly, so the fuzzer spends its time in the PBES2 parser.
func FuzzParseEncryptedPrivateKey(f *testing.F) {
	for _, s := range seedPEMs(f) {
		if b, _ := pem.Decode(s); b != nil && b.Type == TypeEncryptedPrivateKey {
			f.Add(b.Bytes)
		}
	}
	f.Fuzz(func(t *testing.T, der []byte) {
		if info, err := Inspect(der); err == nil && info.Iterations > 10000 {
			t.Skip("slow but legal iteration count")
		}
		k, err := ParseEncryptedPrivateKey(der, []byte(testPassphrase))
		checkResult(t, k, err)
	})
}

func checkResult(t *testing.T, k any, err error) {
	t.Helper()
	if err != nil {
		if k != nil {
			t.Fatalf("both a key and an error: %v", err)
		}
		if backend.Kind(err) == nil {
			t.Fatalf("error wraps no sentinel: %v", err)
		}
		if errors.Is(err, backend.ErrDecryption) {
			t.Fatalf("key parsing returned ErrDecryption: %v", err)
		}
		return
	}
	if _, err := checkKeyType(k); err != nil {
		t.Fatalf("returned a key of type %T", k)
	}
}
