package pkcs8

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/internal/testenv"
)

func writePassFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(p, []byte(testPassphrase), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// encryptedPEM encrypts k with the real defaults for one key type
// (ec-p256) and with OpenSSL's own default iteration count (2048) for the
// others, to keep the suite fast: the scheme is the same.
func encryptedPEM(t *testing.T, name string, k crypto.Signer) []byte {
	t.Helper()
	if name == "ec-p256" {
		data, err := MarshalPrivateKeyPEM(k, []byte(testPassphrase))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	der, err := MarshalEncryptedPrivateKey(k, []byte(testPassphrase), &EncryptOptions{Iterations: 2048})
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: TypeEncryptedPrivateKey, Bytes: der})
}

func spkiPEM(t *testing.T, pub crypto.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// TestOpenSSLReadsOurs: our encrypted PKCS#8 (default parameters) loads in
// "openssl pkey -passin", and the public key it prints is ours.
func TestOpenSSLReadsOurs(t *testing.T) {
	openssl := testenv.Command(t, "openssl", "openssl")
	passFile := writePassFile(t)
	for name, k := range keys(t) {
		t.Run(name, func(t *testing.T) {
			data := encryptedPEM(t, name, k)
			f := filepath.Join(t.TempDir(), "key.pem")
			if err := os.WriteFile(f, data, 0o600); err != nil {
				t.Fatal(err)
			}
			got := testenv.Run(t, openssl, "pkey", "-in", f, "-passin", "file:"+passFile, "-pubout")
			if want := spkiPEM(t, k.Public()); !bytes.Equal(got, want) {
				t.Fatalf("openssl's public key:\n%s\nwant:\n%s", got, want)
			}
			if name != "ed25519" {
				return
			}
			// And openssl refuses a wrong passphrase.
			bad := filepath.Join(t.TempDir(), "bad")
			os.WriteFile(bad, []byte("wrong"), 0o600)
			if err := exec.Command(openssl, "pkey", "-in", f, "-passin", "file:"+bad, "-noout").Run(); err == nil {
				t.Fatal("openssl accepted a wrong passphrase")
			}
		})
	}
}

// TestOpenSSLWrittenReadBack: keys encrypted by OpenSSL now (default
// genpkey, and -v2 aes-128-cbc -v2prf hmacWithSHA1) decrypt here.
func TestOpenSSLWrittenReadBack(t *testing.T) {
	openssl := testenv.Command(t, "openssl", "openssl")
	passFile := writePassFile(t)
	dir := t.TempDir()
	for _, alg := range [][]string{
		{"-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"},
		{"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"},
		{"-algorithm", "ED25519"},
	} {
		t.Run(alg[1], func(t *testing.T) {
			enc := filepath.Join(dir, alg[1]+"-enc.pem")
			testenv.Run(t, openssl, append(append([]string{"genpkey"}, alg...), "-aes-256-cbc", "-pass", "file:"+passFile, "-out", enc)...)
			pub := testenv.Run(t, openssl, "pkey", "-in", enc, "-passin", "file:"+passFile, "-pubout")
			sha1 := filepath.Join(dir, alg[1]+"-sha1.pem")
			// OpenSSL reads passin and passout from one file as two lines: use two files.
			testenv.Run(t, openssl, "pkcs8", "-topk8", "-in", enc, "-passin", "file:"+writePassFile(t), "-v2", "aes-128-cbc", "-v2prf", "hmacWithSHA1", "-passout", "file:"+passFile, "-out", sha1)
			for _, f := range []string{enc, sha1} {
				data, _ := os.ReadFile(f)
				k, err := ParsePrivateKeyPEM(data, pass(testPassphrase))
				if err != nil {
					t.Fatalf("%s: %v", filepath.Base(f), err)
				}
				if got := spkiPEM(t, k.(crypto.Signer).Public()); !bytes.Equal(got, pub) {
					t.Fatalf("%s: public key differs from openssl's", filepath.Base(f))
				}
				if _, err := ParsePrivateKeyPEM(data, pass("wrong")); !errors.Is(err, backend.ErrAuthentication) {
					t.Fatalf("%s: wrong passphrase gave %v", filepath.Base(f), err)
				}
			}
			block, _ := pem.Decode(mustRead(t, sha1))
			info, err := Inspect(block.Bytes)
			if err != nil || info.PRF != crypto.SHA1 || info.Cipher != "AES-128-CBC" {
				t.Fatalf("Inspect(-v2prf hmacWithSHA1 file) = %v, %v", info, err)
			}
		})
	}
}

func mustRead(t *testing.T, f string) []byte {
	t.Helper()
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const pycaScript = `
import sys
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa, ec, ed25519
mode, path, pw = sys.argv[1], sys.argv[2], open(sys.argv[3], "rb").read()
if mode == "load":
    k = serialization.load_pem_private_key(open(path, "rb").read(), pw)
    sys.stdout.buffer.write(k.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
else:
    k = {"rsa": lambda: rsa.generate_private_key(65537, 2048), "ec": lambda: ec.generate_private_key(ec.SECP521R1()), "ed25519": ed25519.Ed25519PrivateKey.generate}[mode]()
    open(path, "wb").write(k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(pw)))
    sys.stdout.buffer.write(k.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
`

// TestPycaInterop: pyca loads our encrypted keys, and we load keys pyca
// wrote with BestAvailableEncryption.
func TestPycaInterop(t *testing.T) {
	py := testenv.Python(t)
	passFile := writePassFile(t)
	dir := t.TempDir()
	for name, k := range keys(t) {
		t.Run("pyca-reads-"+name, func(t *testing.T) {
			data := encryptedPEM(t, name, k)
			f := filepath.Join(dir, name+".pem")
			os.WriteFile(f, data, 0o600)
			if got, want := testenv.Run(t, py, "-c", pycaScript, "load", f, passFile), spkiPEM(t, k.Public()); !bytes.Equal(got, want) {
				t.Fatalf("pyca's public key:\n%s\nwant:\n%s", got, want)
			}
		})
	}
	for _, mode := range []string{"rsa", "ec", "ed25519"} {
		t.Run("pyca-writes-"+mode, func(t *testing.T) {
			f := filepath.Join(dir, "pyca-"+mode+".pem")
			pub := testenv.Run(t, py, "-c", pycaScript, mode, f, passFile)
			k, err := ParsePrivateKeyPEM(mustRead(t, f), pass(testPassphrase))
			if err != nil {
				t.Fatal(err)
			}
			if got := spkiPEM(t, k.(crypto.Signer).Public()); !bytes.Equal(got, pub) {
				t.Fatal("public key differs from pyca's")
			}
		})
	}
}
