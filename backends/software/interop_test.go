package software

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/internal/testenv"
	"github.com/keyplane/keyplane/pkcs8"
)

const interopPass = "interop passphrase"

var asymmetric = []backend.Algorithm{backend.RSA2048, backend.ECP256, backend.ECP384, backend.ECP521, backend.Ed25519}

func publicPEM(t *testing.T, pub crypto.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// TestOpenSSLReadsKeyFiles: "openssl pkey" loads every asymmetric key the
// keystore writes, plain and encrypted, and signatures made by the keystore
// verify with "openssl dgst -verify" / "openssl pkeyutl -verify".
func TestOpenSSLReadsKeyFiles(t *testing.T) {
	openssl := testenv.Command(t, "openssl", "openssl")
	for _, encrypted := range []bool{false, true} {
		var pass []byte
		name := "plain"
		if encrypted {
			pass, name = []byte(interopPass), "encrypted"
		}
		t.Run(name, func(t *testing.T) {
			dir := newDir(t)
			ks := openDir(t, dir, pass)
			passFile := writeSecretFile(t, []byte(interopPass))
			work := t.TempDir()
			msg := filepath.Join(work, "msg")
			os.WriteFile(msg, []byte("signed by keyplane, checked by openssl\n"), 0o600)
			msgBytes, _ := os.ReadFile(msg)
			for _, alg := range asymmetric {
				k := mustGen(t, ks, "k-"+string(alg), alg)
				keyFile := filepath.Join(dir, k.IDHex()+".pem")
				args := []string{"pkey", "-in", keyFile, "-pubout"}
				if encrypted {
					args = append(args, "-passin", "file:"+passFile)
				}
				pubPEM := publicPEM(t, k.Public)
				if got := testenv.Run(t, openssl, args...); !bytes.Equal(got, pubPEM) {
					t.Fatalf("%s: openssl's public key differs:\n%s", alg, got)
				}
				pubFile := filepath.Join(work, string(alg)+".pub.pem")
				os.WriteFile(pubFile, pubPEM, 0o600)

				s, err := ks.Signer(ctx, k.Label)
				if err != nil {
					t.Fatal(err)
				}
				for _, op := range backend.OperationsFor(alg) {
					if op.Kind() != backend.OpSign {
						continue
					}
					sig := sign(t, s, op, msgBytes)
					sigFile := filepath.Join(work, string(op)+".sig")
					os.WriteFile(sigFile, sig, 0o600)
					var vargs []string
					switch {
					case alg == backend.Ed25519:
						vargs = []string{"pkeyutl", "-verify", "-pubin", "-inkey", pubFile, "-rawin", "-in", msg, "-sigfile", sigFile}
					case op.PSS():
						vargs = []string{"dgst", "-" + strings.ToLower(strings.ReplaceAll(op.Hash().String(), "-", "")), "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:-1", "-verify", pubFile, "-signature", sigFile, msg}
					default:
						vargs = []string{"dgst", "-" + strings.ToLower(strings.ReplaceAll(op.Hash().String(), "-", "")), "-verify", pubFile, "-signature", sigFile, msg}
					}
					out := testenv.Run(t, openssl, vargs...)
					if !strings.Contains(string(out), "Verified OK") && !strings.Contains(string(out), "Signature Verified Successfully") {
						t.Fatalf("%s: openssl says %q", op, out)
					}
					// A flipped bit must fail, so the check above can fail.
					sig[len(sig)/2] ^= 1
					os.WriteFile(sigFile, sig, 0o600)
					if exec.Command(openssl, vargs...).Run() == nil {
						t.Fatalf("%s: openssl accepted a corrupted signature", op)
					}
				}
			}
		})
	}
}

const pycaLoad = `
import sys
from cryptography.hazmat.primitives import serialization
data = open(sys.argv[1], "rb").read()
pw = open(sys.argv[2], "rb").read() if len(sys.argv) > 2 else None
k = serialization.load_pem_private_key(data, pw)
sys.stdout.buffer.write(k.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
`

// TestPycaReadsKeyFiles: Python's cryptography loads the keystore's
// encrypted key files with the passphrase, including one written with the
// default 600000 PBKDF2 iterations, and refuses a wrong passphrase.
func TestPycaReadsKeyFiles(t *testing.T) {
	py := testenv.Python(t)
	openssl := testenv.Command(t, "openssl", "openssl")
	dir := newDir(t)
	ks := openDir(t, dir, []byte(interopPass))
	passFile := writeSecretFile(t, []byte(interopPass))
	for _, alg := range asymmetric {
		k := mustGen(t, ks, "k-"+string(alg), alg)
		got := testenv.Run(t, py, "-c", pycaLoad, filepath.Join(dir, k.IDHex()+".pem"), passFile)
		if !bytes.Equal(got, publicPEM(t, k.Public)) {
			t.Fatalf("%s: pyca's public key differs:\n%s", alg, got)
		}
	}
	kdfIterations = pkcs8.DefaultIterations
	defer func() { kdfIterations = testIterations }()
	k := mustGen(t, ks, "default-iterations", backend.ECP256)
	file := filepath.Join(dir, k.IDHex()+".pem")
	if got := testenv.Run(t, py, "-c", pycaLoad, file, passFile); !bytes.Equal(got, publicPEM(t, k.Public)) {
		t.Fatal("pyca: public key of the 600000-iteration file differs")
	}
	if got := testenv.Run(t, openssl, "pkey", "-in", file, "-passin", "file:"+passFile, "-pubout"); !bytes.Equal(got, publicPEM(t, k.Public)) {
		t.Fatal("openssl: public key of the 600000-iteration file differs")
	}
	wrong := writeSecretFile(t, []byte("not the passphrase"))
	if exec.Command(py, "-c", pycaLoad, file, wrong).Run() == nil {
		t.Fatal("pyca loaded the key with a wrong passphrase")
	}
}

// TestImportOpenSSLKey: a key openssl generated and encrypted imports
// through pkcs8.ParsePrivateKeyPEM and works.
func TestImportOpenSSLKey(t *testing.T) {
	openssl := testenv.Command(t, "openssl", "openssl")
	passFile := writeSecretFile(t, []byte(interopPass))
	f := filepath.Join(t.TempDir(), "k.pem")
	testenv.Run(t, openssl, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-aes-256-cbc", "-pass", "file:"+passFile, "-out", f)
	data, _ := os.ReadFile(f)
	key, err := pkcs8.ParsePrivateKeyPEM(data, func() ([]byte, error) { return []byte(interopPass), nil })
	if err != nil {
		t.Fatal(err)
	}
	ks := openMem(t)
	k, err := ks.ImportKey(ctx, "from-openssl", key)
	if err != nil || k.Algorithm != backend.ECP384 {
		t.Fatalf("import: %v, %v", k, err)
	}
	s, _ := ks.Signer(ctx, "from-openssl")
	verify(t, k.Public, backend.ECDSASHA384, []byte("m"), sign(t, s, backend.ECDSASHA384, []byte("m")))
}
