package software

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
)

// plantPlainKeys makes, as someone who can write dir but does not know
// its passphrase would, an unencrypted keystore elsewhere with an EC key
// and an aes-256 key, and copies their files into dir. It returns the
// planted key files' paths by label.
func plantPlainKeys(t *testing.T, dir string) map[string]string {
	t.Helper()
	other := newDir(t)
	ks := openDir(t, other, nil)
	out := map[string]string{}
	for label, alg := range map[string]backend.Algorithm{"planted": backend.ECP256, "planted-aes": backend.AES256} {
		k := mustGen(t, ks, label, alg)
		for _, suffix := range []string{keySuffix, metaSuffix} {
			data, err := os.ReadFile(filepath.Join(other, k.IDHex()+suffix))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, k.IDHex()+suffix), data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		out[label] = filepath.Join(dir, k.IDHex()+keySuffix)
	}
	return out
}

// TestEncryptedKeystoreRefusesPlainKeys: with a passphrase configured,
// the keystore uses only encrypted key files. A planted unencrypted
// "PRIVATE KEY" or "KEYPLANE SECRET KEY" file — also as PKCS#1/SEC 1, or
// behind another PEM block — is refused with an error naming the file,
// for every use of the key.
func TestEncryptedKeystoreRefusesPlainKeys(t *testing.T) {
	dir := newDir(t)
	ks := openDir(t, dir, []byte("the passphrase"))
	mustGen(t, ks, "mine", backend.ECP256) // the keystore's own key still works
	ks.Close()
	planted := plantPlainKeys(t, dir)

	check := func(where string, err error, file string) {
		t.Helper()
		wantErr(t, err, backend.ErrInvalidInput, where)
		if !strings.Contains(err.Error(), file) || !strings.Contains(err.Error(), "not encrypted") {
			t.Errorf("%s: %v; want it to name %s and say it is not encrypted", where, err, file)
		}
	}
	ks = openDir(t, dir, []byte("the passphrase"))
	if _, err := ks.Signer(ctx, "mine"); err != nil {
		t.Fatalf("the keystore's own encrypted key: %v", err)
	}
	_, err := ks.Signer(ctx, "planted")
	check("Signer(planted)", err, planted["planted"])
	_, err = ks.ExportKey(ctx, "planted")
	check("ExportKey(planted)", err, planted["planted"])
	_, err = ks.AEAD(ctx, "planted-aes")
	check("AEAD(planted-aes)", err, planted["planted-aes"])

	// The same key as SEC 1, and as PKCS#8 behind a certificate-like block.
	data, err := os.ReadFile(planted["planted"])
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	priv, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	sec1, err := x509.MarshalECPrivateKey(priv.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string][]byte{
		"SEC 1":                pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}),
		"behind another block": append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 0}}), data...),
	} {
		if err := os.WriteFile(planted["planted"], content, 0o600); err != nil {
			t.Fatal(err)
		}
		ks := openDir(t, dir, []byte("the passphrase"))
		_, err := ks.Signer(ctx, "planted")
		check("Signer(planted, "+name+")", err, planted["planted"])
	}
}

// TestKeystoreDirModes: a keystore directory that group or others can
// write is refused (they could plant or delete keys); one they can only
// read or search is used with a warning.
func TestKeystoreDirModes(t *testing.T) {
	for _, mode := range []os.FileMode{0o770, 0o730, 0o707, 0o777, 0o777 | os.ModeSticky} {
		dir := t.TempDir()
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
		t.Setenv(PassphraseEnv, "")
		_, err := Open(ctx, "software:"+dir)
		wantErr(t, err, backend.ErrInvalidInput, "keystore directory of mode "+mode.String())
		if !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "chmod 700") {
			t.Errorf("mode %v: %v; want it to name the directory and say chmod 700", mode, err)
		}
	}
	openWarnedDir(t)
}

// openWarnedDir opens a keystore on a new directory of mode 0755 (others
// may read it) and checks that the default logger got a warning saying
// chmod 700; it returns the directory.
func openWarnedDir(t *testing.T) string {
	t.Helper()
	var buf bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	defer slog.SetDefault(old)
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	openDir(t, dir, []byte("p"))
	if !strings.Contains(buf.String(), "chmod 700") {
		t.Fatalf("no warning for a 0755 keystore directory: %q", buf.String())
	}
	return dir
}
