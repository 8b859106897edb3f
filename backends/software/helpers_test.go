package software

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"
)

// openDir opens a keystore directory; with pass set, the passphrase comes
// from a 0600 file named in the URI. KEYPLANE_PASSPHRASE is cleared so the
// caller's environment cannot change the test.
func openDir(t testing.TB, dir string, pass []byte) *Keystore {
	t.Helper()
	t.Setenv(PassphraseEnv, "")
	ks, err := Open(ctx, dirURI(t, dir, pass))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ks.Close() })
	return ks
}

func dirURI(t testing.TB, dir string, pass []byte) string {
	t.Helper()
	uri := "software:" + dir
	if pass != nil {
		uri += "?passphrase-source=file:" + writeSecretFile(t, pass)
	}
	return uri
}

func writeSecretFile(t testing.TB, content []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "passphrase")
	if err := os.WriteFile(p, content, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func stdGCMOpen(t testing.TB, key, sealed, ad []byte) []byte {
	t.Helper()
	b, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	g, _ := cipher.NewGCM(b)
	out, err := g.Open(nil, sealed[:12], sealed[12:], ad)
	if err != nil {
		t.Fatalf("standard library GCM: %v", err)
	}
	return out
}

func stdHMAC(key, data []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(data)
	return m.Sum(nil)
}

func stdCBCEncrypt(t testing.TB, key, iv, pt []byte) []byte {
	pad := 16 - len(pt)%16
	buf := append([]byte(nil), pt...)
	for range pad {
		buf = append(buf, byte(pad))
	}
	return stdCBCEncryptRaw(t, key, iv, buf)
}

// stdCBCEncryptRaw encrypts whole blocks without padding.
func stdCBCEncryptRaw(t testing.TB, key, iv, blocks []byte) []byte {
	t.Helper()
	b, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, len(blocks))
	cipher.NewCBCEncrypter(b, iv).CryptBlocks(out, blocks)
	return out
}

// newDir names a keystore directory that does not exist yet, so that the
// keystore creates it 0700 (t.TempDir itself is 0755).
func newDir(t testing.TB) string { return filepath.Join(t.TempDir(), "keys") }
