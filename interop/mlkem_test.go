package interop

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/keyplane/keyplane/backend"
)

// TestMLKEMFromPyca: pyca encapsulates to the public key of an ML-KEM key
// the backend made; the backend's Decapsulator gets the same shared keys.
func TestMLKEMFromPyca(t *testing.T) {
	const n = 5
	forEachBackend(t, func(t *testing.T, b backend.Backend, tg target) {
		for _, alg := range []backend.Algorithm{backend.MLKEM768, backend.MLKEM1024} {
			t.Run(string(alg), func(t *testing.T) {
				requirePQ(t, b, []backend.Algorithm{alg}, backend.MLKEMDecapsulation)
				k, err := b.GenerateKey(t.Context(), backend.KeySpec{Label: label(string(alg)), Algorithm: alg})
				if err != nil {
					t.Fatal(err)
				}
				var resp struct {
					Items []struct {
						Shared string `json:"shared_hex"`
						CT     string `json:"ciphertext_hex"`
					} `json:"items"`
				}
				pycaPQ(t, map[string]any{"op": "mlkem_encapsulate", "spki_pem": pqSPKIPEM(t, k.Public), "n": n}, &resp)
				if len(resp.Items) != n {
					t.Fatalf("pyca made %d encapsulations, want %d", len(resp.Items), n)
				}
				d, err := b.(backend.KEM).Decapsulator(t.Context(), k.Label)
				if err != nil {
					t.Fatal(err)
				}
				for i, it := range resp.Items {
					ct, _ := hex.DecodeString(it.CT)
					want, _ := hex.DecodeString(it.Shared)
					got, err := d.Decapsulate(ct)
					if err != nil || !bytes.Equal(got, want) {
						t.Errorf("encapsulation %d by pyca: %v (or another shared key)", i, err)
					}
				}
				t.Logf("%s on %s: %d pyca encapsulations decapsulated by the backend", alg, tg.name, n)
			})
		}
	})
}
