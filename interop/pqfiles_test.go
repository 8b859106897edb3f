package interop

import (
	"bytes"
	"encoding/hex"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/pkcs8"
)

var pqFileAlgs = []backend.Algorithm{backend.X25519, backend.MLKEM768, backend.MLKEM1024, backend.MLDSA44, backend.MLDSA65, backend.MLDSA87}

// TestPQKeyFilesFromPyca: pyca's PKCS#8 files (plain and encrypted) and
// SPKI files read in keyplane as the same keys, and keyplane writes them
// back byte for byte: both sides use the seed-only form.
func TestPQKeyFilesFromPyca(t *testing.T) {
	keys := pycaGenerate(t, pqFileAlgs...)
	for i, alg := range pqFileAlgs {
		k := keys[i]
		priv := parsePrivatePEM(t, k.PrivatePEM)
		if got, err := backend.AlgorithmOf(priv); err != nil || got != alg {
			t.Errorf("%s: pyca's PKCS#8 reads as %s (%v)", alg, got, err)
		}
		der, err := pkcs8.MarshalPrivateKey(priv)
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := hex.DecodeString(k.PrivateDERHex); !bytes.Equal(der, want) {
			t.Errorf("%s: keyplane's PKCS#8 of pyca's key differs from pyca's:\n%x\n%x", alg, der, want)
		}
		enc, err := pkcs8.ParsePrivateKeyPEM([]byte(k.EncryptedPEM), func() ([]byte, error) { return []byte(pycaPassword), nil })
		if err != nil {
			t.Fatalf("%s: pyca's encrypted PKCS#8: %v", alg, err)
		}
		if der2, _ := pkcs8.MarshalPrivateKey(enc); !bytes.Equal(der2, der) {
			t.Errorf("%s: pyca's encrypted PKCS#8 holds another key", alg)
		}
		pub := parseSPKIPEM(t, k.SPKIPEM)
		if pqSPKIPEM(t, pub) != k.SPKIPEM {
			t.Errorf("%s: keyplane's SPKI of pyca's public key differs from pyca's", alg)
		}
	}
	t.Logf("%d pyca key pairs (plain and encrypted PKCS#8, SPKI) read by keyplane and written back byte for byte", len(pqFileAlgs))
}

// TestPQKeystoreFilesLoadInPyca: the key files of a keystore directory
// (with and without a passphrase) load in pyca as the same keys, and the
// public keys keyplane exports as SPKI are the ones pyca sees.
func TestPQKeystoreFilesLoadInPyca(t *testing.T) {
	for _, withPass := range []bool{false, true} {
		name := "plain"
		if withPass {
			name = "passphrase"
		}
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "keys")
			uri := "software:" + dir
			const pass = "keystore pq passphrase"
			if withPass {
				pf := filepath.Join(t.TempDir(), "pass")
				if err := os.WriteFile(pf, []byte(pass+"\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				uri += "?passphrase-source=file:" + pf
			}
			b, err := backend.Open(t.Context(), uri)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			for _, alg := range pqFileAlgs {
				k, err := b.GenerateKey(t.Context(), backend.KeySpec{Label: label(string(alg)), Algorithm: alg})
				if err != nil {
					t.Fatal(err)
				}
				file, err := os.ReadFile(filepath.Join(dir, k.IDHex()+".pem"))
				if err != nil {
					t.Fatalf("%s: the key file: %v", alg, err)
				}
				req := map[string]any{"op": "load", "private_pem": string(file)}
				if withPass {
					req["password"] = pass
					if block, _ := pem.Decode(file); block == nil || block.Type != pkcs8.TypeEncryptedPrivateKey {
						t.Fatalf("%s: the key file of a keystore with a passphrase is not encrypted PKCS#8", alg)
					}
				}
				var resp struct {
					SPKI   string `json:"spki_pem"`
					DERHex string `json:"private_der_hex"`
					PyType string `json:"type"`
				}
				pycaPQ(t, req, &resp)
				if resp.SPKI != pqSPKIPEM(t, k.Public) {
					t.Errorf("%s: pyca reads the key file (%s) with another public key", alg, resp.PyType)
				}
				exported, err := b.(backend.Exporter).ExportKey(t.Context(), k.Label)
				if err != nil {
					t.Fatal(err)
				}
				der, _ := pkcs8.MarshalPrivateKey(exported)
				if want, _ := hex.DecodeString(resp.DERHex); !bytes.Equal(der, want) {
					t.Errorf("%s: pyca's PKCS#8 of the key file differs from keyplane's", alg)
				}
				var lp struct {
					SPKI   string `json:"spki_pem"`
					PyType string `json:"type"`
				}
				pycaPQ(t, map[string]any{"op": "load_public", "spki_pem": pqSPKIPEM(t, k.Public)}, &lp)
				if lp.SPKI != pqSPKIPEM(t, k.Public) {
					t.Errorf("%s: pyca writes keyplane's SPKI back differently", alg)
				}
			}
			t.Logf("%d keystore key files (%s) loaded by pyca", len(pqFileAlgs), name)
		})
	}
}
