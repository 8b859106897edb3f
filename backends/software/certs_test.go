package software

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io/fs"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/internal/testenv"
)

// selfSignedFor makes a self-signed certificate with the keystore's key.
func selfSignedFor(t *testing.T, ks *Keystore, label, cn string) *x509.Certificate {
	t.Helper()
	s, err := ks.Signer(t.Context(), label)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, s.Public(), s)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCertificatesOnDisk: the chain is the file <id>.chain.pem next to the
// key, mode 0600 like the key files, which openssl reads; another
// keystore on the directory (another process) sees it; DeleteKey removes
// it; a chain file left by a key deleted half-way is swept by the next
// writer.
func TestCertificatesOnDisk(t *testing.T) {
	dir := newDir(t)
	ks := openDir(t, dir, nil)
	ctx := t.Context()
	k, err := ks.GenerateKey(ctx, backend.KeySpec{Label: "web", Algorithm: backend.ECP256})
	if err != nil {
		t.Fatal(err)
	}
	cert := selfSignedFor(t, ks, "web", "web.test")
	if err := ks.StoreCertificates(ctx, "web", []*x509.Certificate{cert}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, k.IDHex()+certSuffix)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("chain file: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("chain file mode %04o, want 0600", fi.Mode().Perm())
	}
	t.Run("openssl", func(t *testing.T) {
		openssl := testenv.Command(t, "openssl", "openssl")
		out, err := exec.Command(openssl, "x509", "-in", path, "-noout", "-subject").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "web.test") {
			t.Errorf("openssl x509 -in %s: %v\n%s", path, err, out)
		}
	})

	other := openDir(t, dir, nil)
	chain, err := other.Certificates(ctx, "id:"+k.IDHex())
	if err != nil || len(chain) != 1 || !chain[0].Equal(cert) {
		t.Fatalf("another keystore on the directory: %d certificates, %v; want the stored one", len(chain), err)
	}

	if err := other.DeleteKey(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("chain file after DeleteKey: %v, want it gone", err)
	}
	if _, err := ks.Certificates(ctx, "web"); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("Certificates of the deleted key: %v, want ErrNotFound", err)
	}

	// Debris: a chain file whose key has no metadata file.
	stray := filepath.Join(dir, "00ff"+certSuffix)
	if err := os.WriteFile(stray, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ks.GenerateKey(ctx, backend.KeySpec{Label: "next", Algorithm: backend.Ed25519}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stray); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a chain file without its key after the next write: %v, want it swept", err)
	}
}

// TestCertificatesCorruptFile: a chain file that is not PEM certificates
// is an error naming the file, not an empty chain.
func TestCertificatesCorruptFile(t *testing.T) {
	dir := newDir(t)
	ks := openDir(t, dir, nil)
	k, err := ks.GenerateKey(t.Context(), backend.KeySpec{Label: "web", Algorithm: backend.ECP256})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, k.IDHex()+certSuffix)
	if err := os.WriteFile(path, []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = ks.Certificates(t.Context(), "web")
	if !errors.Is(err, backend.ErrInvalidInput) || !strings.Contains(err.Error(), path) {
		t.Fatalf("Certificates with a corrupt chain file: %v, want ErrInvalidInput naming %s", err, path)
	}
}
