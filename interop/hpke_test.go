package interop

import (
	"bytes"
	"crypto"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/hpke"
)

// pycaSuites are the suites both sides have (pyca 48 has no
// MLKEM768-P256).
var pycaSuites = []hpke.Suite{hpke.X25519(), hpke.P256(), hpke.MLKEM768(), hpke.XWing()}

// hpkeMessages are the plaintexts of each direction: empty, short, 10 KiB.
func hpkeMessages() [][]byte {
	return [][]byte{{}, []byte("sealed across libraries"), bytes.Repeat([]byte("0123456789"), 1024)}
}

func suiteOps(s hpke.Suite) []backend.Operation {
	var ops []backend.Operation
	for _, a := range s.KeyAlgorithms() {
		switch a {
		case backend.X25519:
			ops = append(ops, backend.X25519Agreement)
		case backend.ECP256:
			ops = append(ops, backend.ECDH)
		case backend.MLKEM768:
			ops = append(ops, backend.MLKEMDecapsulation)
		}
	}
	return ops
}

// TestHPKEFromPyca: pyca seals to the public keys of keys the backend
// made; the backend's keys open every message, and a tampered one fails
// with ErrDecryption.
func TestHPKEFromPyca(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend, tg target) {
		for _, s := range pycaSuites {
			t.Run(s.Name(), func(t *testing.T) {
				requirePQ(t, b, s.KeyAlgorithms(), suiteOps(s)...)
				var refs, pems []string
				for _, alg := range s.KeyAlgorithms() {
					k, err := b.GenerateKey(t.Context(), backend.KeySpec{Label: label(s.Name()), Algorithm: alg})
					if err != nil {
						t.Fatal(err)
					}
					refs = append(refs, k.Label)
					pems = append(pems, pqSPKIPEM(t, k.Public))
				}
				msgs := hpkeMessages()
				var hexMsgs []string
				for _, m := range msgs {
					hexMsgs = append(hexMsgs, hex.EncodeToString(m))
				}
				info := []byte("keyplane interop " + s.Name())
				var resp struct {
					Sealed []string `json:"sealed_hex"`
				}
				pycaPQ(t, map[string]any{"op": "hpke_seal", "suite": s.Name(), "spki_pems": pems, "info_hex": hex.EncodeToString(info), "plaintexts_hex": hexMsgs}, &resp)
				o, err := hpke.OpenerFor(t.Context(), s, b, refs...)
				if err != nil {
					t.Fatal(err)
				}
				for i, h := range resp.Sealed {
					sealed, _ := hex.DecodeString(h)
					got, err := o.Open(info, sealed)
					if err != nil || !bytes.Equal(got, msgs[i]) {
						t.Errorf("message %d sealed by pyca: %v", i, err)
					}
					if _, err := o.Open(info, flip(sealed)); !errors.Is(err, backend.ErrDecryption) {
						t.Errorf("message %d tampered: %v, want ErrDecryption", i, err)
					}
				}
				if len(resp.Sealed) != len(msgs) {
					t.Fatalf("pyca sealed %d messages, want %d", len(resp.Sealed), len(msgs))
				}
				t.Logf("%s on %s: %d messages sealed by pyca opened with backend-held keys", s.Name(), tg.name, len(resp.Sealed))
			})
		}
	})
}

// TestHPKEToPyca: keyplane seals to pyca's public keys (SPKI PEM read by
// package pkcs8); pyca opens every message, and not one sealed with
// another info string. Where the backend imports keys, pyca's private keys
// imported into it open the same messages.
func TestHPKEToPyca(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend, tg target) {
		for _, s := range pycaSuites {
			t.Run(s.Name(), func(t *testing.T) {
				caps := requirePQ(t, b, s.KeyAlgorithms(), suiteOps(s)...)
				keys := pycaGenerate(t, s.KeyAlgorithms()...)
				var pubs []crypto.PublicKey
				var privPEMs []string
				for _, k := range keys {
					pubs = append(pubs, parseSPKIPEM(t, k.SPKIPEM))
					privPEMs = append(privPEMs, k.PrivatePEM)
				}
				pub, err := s.PublicKey(pubs...)
				if err != nil {
					t.Fatal(err)
				}
				info := []byte("keyplane interop " + s.Name())
				msgs := hpkeMessages()
				var sealed []string
				var raw [][]byte
				for _, m := range msgs {
					c, err := s.Seal(pub, info, m)
					if err != nil {
						t.Fatal(err)
					}
					raw = append(raw, c)
					sealed = append(sealed, hex.EncodeToString(c))
				}
				wrong, _ := s.Seal(pub, []byte("another info"), msgs[1])
				sealed = append(sealed, hex.EncodeToString(wrong))
				results := pycaHPKEOpen(t, s.Name(), privPEMs, info, sealed)
				for i, m := range msgs {
					r := results[i]
					if got, _ := hex.DecodeString(r.Plaintext); !r.OK || !bytes.Equal(got, m) {
						t.Errorf("message %d sealed by keyplane: pyca says ok=%v %s", i, r.OK, r.Error)
					}
				}
				if results[len(msgs)].OK {
					t.Errorf("pyca opened a message sealed with another info string")
				}
				t.Logf("%s on %s: %d messages sealed by keyplane opened by pyca", s.Name(), tg.name, len(msgs))

				if !caps.Import {
					return
				}
				imp, ok := b.(backend.Importer)
				if !ok {
					return
				}
				var refs []string
				var importErr error
				for _, k := range keys {
					priv := parsePrivatePEM(t, k.PrivatePEM)
					kk, err := imp.ImportKey(t.Context(), label("pyca-"+s.Name()), priv)
					if err != nil {
						importErr = err
						break
					}
					refs = append(refs, kk.Label)
				}
				var o *hpke.Opener
				if importErr == nil {
					o, importErr = hpke.OpenerFor(t.Context(), s, b, refs...)
				}
				if tg.hsm {
					// A token takes no X25519 private key, and an EC key
					// imported into it is sign-only (CKA_DERIVE false;
					// docs/backends/pkcs11.md, Limitations): pyca's keys
					// cannot open messages there, and keyplane says so.
					if !errors.Is(importErr, backend.ErrUnsupported) {
						t.Fatalf("pyca's %s keys imported into %s for key agreement: %v, want ErrUnsupported", s.Name(), tg.name, importErr)
					}
					t.Logf("%s: pyca's keys are not usable for key agreement in %s: %v", s.Name(), tg.name, importErr)
					return
				}
				if importErr != nil {
					t.Fatalf("importing pyca's key: %v", importErr)
				}
				for i, c := range raw {
					if got, err := o.Open(info, c); err != nil || !bytes.Equal(got, msgs[i]) {
						t.Errorf("message %d with pyca's keys imported into %s: %v", i, tg.name, err)
					}
				}
			})
		}
	})
}

func flip(b []byte) []byte {
	c := append([]byte(nil), b...)
	c[len(c)-1] ^= 1
	return c
}
