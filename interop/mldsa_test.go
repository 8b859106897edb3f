package interop

import (
	"crypto/rand"
	"encoding/hex"
	"testing"

	"filippo.io/mldsa"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/pkcs8"
)

var mldsaAlgs = []backend.Algorithm{backend.MLDSA44, backend.MLDSA65, backend.MLDSA87}

// mldsaItem is one message to sign or verify, with or without a context.
type mldsaItem struct {
	Msg        string `json:"msg_hex"`
	Sig        string `json:"sig_hex,omitempty"`
	HasContext bool   `json:"has_context"`
	Context    string `json:"context_hex,omitempty"`
}

// TestMLDSASignaturesVerifyInPyca: the backend's ML-DSA signatures, with
// and without a context string, verify in pyca against keyplane's SPKI;
// one with its context dropped or changed does not.
func TestMLDSASignaturesVerifyInPyca(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend, tg target) {
		for _, alg := range mldsaAlgs {
			t.Run(string(alg), func(t *testing.T) {
				requirePQ(t, b, []backend.Algorithm{alg}, backend.PureMLDSA)
				k, err := b.GenerateKey(t.Context(), backend.KeySpec{Label: label(string(alg)), Algorithm: alg})
				if err != nil {
					t.Fatal(err)
				}
				s, err := b.Signer(t.Context(), k.Label)
				if err != nil {
					t.Fatal(err)
				}
				var items []mldsaItem
				var want []bool
				for i, ctx := range []string{"", "", "keyplane interop", "another context"} {
					msg := []byte("message " + string(rune('a'+i)))
					var opts = backend.PureMLDSA.SignerOpts()
					if ctx != "" {
						opts = &backend.MLDSAOptions{Context: ctx}
					}
					sig, err := s.Sign(rand.Reader, msg, opts)
					if err != nil {
						t.Fatal(err)
					}
					good := mldsaItem{Msg: hex.EncodeToString(msg), Sig: hex.EncodeToString(sig), HasContext: ctx != "", Context: hex.EncodeToString([]byte(ctx))}
					items, want = append(items, good), append(want, true)
					bad := good
					if ctx == "" {
						bad.HasContext, bad.Context = true, hex.EncodeToString([]byte("x"))
					} else {
						bad.HasContext, bad.Context = false, ""
					}
					items, want = append(items, bad), append(want, false)
				}
				var resp struct {
					Valid []bool `json:"valid"`
				}
				pycaPQ(t, map[string]any{"op": "mldsa_verify", "spki_pem": pqSPKIPEM(t, k.Public), "items": items}, &resp)
				if len(resp.Valid) != len(items) {
					t.Fatalf("pyca answered %d, want %d", len(resp.Valid), len(items))
				}
				for i := range items {
					if resp.Valid[i] != want[i] {
						t.Errorf("item %d (context %v): pyca says valid=%v, want %v", i, items[i].HasContext, resp.Valid[i], want[i])
					}
				}
				t.Logf("%s on %s: %d keyplane signatures checked by pyca (%d valid, %d with a wrong context refused)", alg, tg.name, len(items), len(items)/2, len(items)/2)
			})
		}
	})
}

// TestMLDSAFromPyca: pyca's ML-DSA signatures (with and without context)
// verify with keyplane's reading of pyca's SPKI; pyca's key imported into
// the backend signs what pyca's public key verifies.
func TestMLDSAFromPyca(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend, tg target) {
		for _, alg := range mldsaAlgs {
			t.Run(string(alg), func(t *testing.T) {
				caps := requirePQ(t, b, []backend.Algorithm{alg}, backend.PureMLDSA)
				key := pycaGenerate(t, alg)[0]
				items := []mldsaItem{
					{Msg: hex.EncodeToString([]byte("from pyca, no context"))},
					{Msg: hex.EncodeToString([]byte("from pyca, a context")), HasContext: true, Context: hex.EncodeToString([]byte("pyca ctx"))},
					{Msg: "", HasContext: true, Context: hex.EncodeToString(make([]byte, 255))},
				}
				var resp struct {
					Sigs []string `json:"signatures_hex"`
				}
				pycaPQ(t, map[string]any{"op": "mldsa_sign", "private_pem": key.PrivatePEM, "items": items}, &resp)
				pub, ok := parseSPKIPEM(t, key.SPKIPEM).(*mldsa.PublicKey)
				if !ok {
					t.Fatal("pyca's ML-DSA SPKI did not parse to *mldsa.PublicKey")
				}
				for i, it := range items {
					msg, _ := hex.DecodeString(it.Msg)
					sig, _ := hex.DecodeString(resp.Sigs[i])
					ctx, _ := hex.DecodeString(it.Context)
					if err := mldsa.Verify(pub, msg, sig, &mldsa.Options{Context: string(ctx)}); err != nil {
						t.Errorf("pyca signature %d: %v", i, err)
					}
					if mldsa.Verify(pub, msg, sig, &mldsa.Options{Context: string(ctx) + "!"}) == nil {
						t.Errorf("pyca signature %d verifies with another context", i)
					}
				}
				if !caps.Import {
					return
				}
				imp, ok := b.(backend.Importer)
				if !ok {
					return
				}
				k, err := imp.ImportKey(t.Context(), label("pyca-"+string(alg)), parsePrivatePEM(t, key.PrivatePEM))
				if err != nil {
					t.Fatal(err)
				}
				s, err := b.Signer(t.Context(), k.Label)
				if err != nil {
					t.Fatal(err)
				}
				msg := []byte("signed by pyca's key inside keyplane")
				sig, err := s.Sign(nil, msg, &backend.MLDSAOptions{Context: "imported"})
				if err != nil {
					t.Fatal(err)
				}
				var vr struct {
					Valid []bool `json:"valid"`
				}
				pycaPQ(t, map[string]any{"op": "mldsa_verify", "spki_pem": key.SPKIPEM, "items": []mldsaItem{{Msg: hex.EncodeToString(msg), Sig: hex.EncodeToString(sig), HasContext: true, Context: hex.EncodeToString([]byte("imported"))}}}, &vr)
				if len(vr.Valid) != 1 || !vr.Valid[0] {
					t.Errorf("a signature by pyca's key imported into %s does not verify in pyca", tg.name)
				}
				t.Logf("%s on %s: %d pyca signatures verified by keyplane, 1 signature by the imported key verified by pyca", alg, tg.name, len(items))
			})
		}
	})
}

func parsePrivatePEM(t *testing.T, s string) any {
	t.Helper()
	k, err := pkcs8.ParsePrivateKeyPEM([]byte(s), nil)
	if err != nil {
		t.Fatalf("keyplane cannot read pyca's PKCS#8: %v", err)
	}
	return k
}
