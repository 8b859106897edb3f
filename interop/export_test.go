package interop

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/pkcs8"
)

// TestEncryptedExportLoadsInPyca: keys exported from the software backend
// (backend.Exporter) and written by pkcs8.MarshalPrivateKeyPEM with a
// password load in pyca with that password, and not with another. HSM keys
// cannot be exported: the backend says so clearly.
func TestEncryptedExportLoadsInPyca(t *testing.T) {
	const passphrase = "export passphrase for pyca"
	forEachBackend(t, func(t *testing.T, b backend.Backend, tg target) {
		ctx := t.Context()
		exp, ok := b.(backend.Exporter)
		for _, alg := range []backend.Algorithm{backend.RSA2048, backend.ECP256, backend.ECP521, backend.Ed25519} {
			key, err := b.GenerateKey(ctx, backend.KeySpec{Label: label("export-" + string(alg)), Algorithm: alg})
			if err != nil {
				t.Fatalf("GenerateKey %s: %v", alg, err)
			}
			if tg.hsm {
				if !ok {
					continue // not an Exporter at all: nothing to call
				}
				priv, err := exp.ExportKey(ctx, key.Label)
				if err == nil || priv != nil {
					t.Fatalf("%s: an HSM key was exported", alg)
				}
				if !errors.Is(err, backend.ErrUnsupported) {
					t.Errorf("%s: exporting an HSM key: %v, want ErrUnsupported", alg, err)
				}
				continue
			}
			if !ok {
				t.Fatalf("%s does not implement backend.Exporter", tg.name)
			}
			priv, err := exp.ExportKey(ctx, key.Label)
			if err != nil {
				t.Fatalf("ExportKey %s: %v", alg, err)
			}
			data, err := pkcs8.MarshalPrivateKeyPEM(priv, []byte(passphrase))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(data, []byte("BEGIN ENCRYPTED PRIVATE KEY")) {
				t.Fatalf("%s: export is not encrypted PKCS#8", alg)
			}
			var resp struct {
				SPKI  string `json:"spki_pem"`
				Type  string `json:"type"`
				Error string `json:"error"`
			}
			pyca(t, map[string]any{"op": "load-private", "pem": string(data), "passphrase": passphrase}, &resp)
			if resp.Error != "" {
				t.Fatalf("%s: pyca cannot load the export: %s", alg, resp.Error)
			}
			if !bytes.Equal(spkiDER(t, resp.SPKI), spkiDER(t, spkiPEM(t, key.Public))) {
				t.Errorf("%s: pyca's public key of the export differs from the backend's", alg)
			}
			resp.Error = ""
			pyca(t, map[string]any{"op": "load-private", "pem": string(data), "passphrase": "not the passphrase"}, &resp)
			if resp.Error == "" {
				t.Errorf("%s: pyca loaded the export with the wrong password", alg)
			} else if !strings.Contains(strings.ToLower(resp.Error), "password") && !strings.Contains(strings.ToLower(resp.Error), "decrypt") {
				t.Logf("%s: pyca's error for a wrong password: %s", alg, resp.Error)
			}
		}
	})
}
