package interop

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/pkcs8"
)

// asymmetric are the key types the signature and SPKI tests use.
var asymmetric = []backend.Algorithm{backend.RSA2048, backend.ECP256, backend.ECP384, backend.ECP521, backend.Ed25519}

// signOps are the signature operations checked for each key family.
var signOps = map[backend.Family][]backend.Operation{
	backend.FamilyRSA:     {backend.RSAPSSSHA256, backend.RSAPSSSHA512, backend.RSAPKCS1v15SHA256, backend.RSAPKCS1v15SHA384},
	backend.FamilyEC:      {backend.ECDSASHA256, backend.ECDSASHA384},
	backend.FamilyEd25519: {backend.PureEd25519},
}

func spkiPEM(t *testing.T, pub crypto.PublicKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func spkiDER(t *testing.T, pemText string) []byte {
	t.Helper()
	block, _ := pem.Decode([]byte(pemText))
	if block == nil || block.Type != "PUBLIC KEY" {
		t.Fatalf("not an SPKI PEM: %q", pemText)
	}
	return block.Bytes
}

// sign signs msg through the backend's crypto.Signer with op, hashing first
// where the operation has a hash.
func sign(t *testing.T, s crypto.Signer, op backend.Operation, msg []byte) []byte {
	t.Helper()
	digest := msg
	if h := op.Hash(); h != 0 {
		hh := h.New()
		hh.Write(msg)
		digest = hh.Sum(nil)
	}
	sig, err := s.Sign(rand.Reader, digest, op.SignerOpts())
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	return sig
}

// verifyStdlib checks a signature in the pyca scheme naming (which is
// keyplane's operation naming) with the standard library. PSS accepts any
// salt length, as pyca's MAX_LENGTH signatures need.
func verifyStdlib(pub crypto.PublicKey, scheme string, msg, sig []byte) error {
	op, err := backend.ParseOperation(scheme)
	if err != nil {
		return err
	}
	var digest []byte
	if h := op.Hash(); h != 0 {
		hh := h.New()
		hh.Write(msg)
		digest = hh.Sum(nil)
	}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if op.PSS() {
			return rsa.VerifyPSS(k, op.Hash(), digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
		}
		return rsa.VerifyPKCS1v15(k, op.Hash(), digest, sig)
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(k, digest, sig) {
			return errors.New("ECDSA signature does not verify")
		}
		return nil
	case ed25519.PublicKey:
		if !ed25519.Verify(k, msg, sig) {
			return errors.New("Ed25519 signature does not verify")
		}
		return nil
	}
	return errors.New("unexpected public key type")
}

type verifyItem struct {
	SPKI      string `json:"spki_pem"`
	Scheme    string `json:"scheme"`
	Message   string `json:"message_hex"`
	Signature string `json:"signature_hex"`
}

func pycaVerify(t *testing.T, items []verifyItem) []bool {
	t.Helper()
	var resp struct {
		Valid []bool `json:"valid"`
	}
	pyca(t, map[string]any{"op": "verify", "items": items}, &resp)
	if len(resp.Valid) != len(items) {
		t.Fatalf("pyca answered %d verdicts for %d signatures", len(resp.Valid), len(items))
	}
	return resp.Valid
}

// TestSignaturesVerifyInPyca: keys generated in the backend sign; pyca
// verifies against the SPKI of the backend's public key. A signature over
// another message must not verify, so the check can fail.
func TestSignaturesVerifyInPyca(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend, tg target) {
		ctx := t.Context()
		msg := []byte("keyplane signs, pyca verifies")
		var items []verifyItem
		var names []string
		for _, alg := range []backend.Algorithm{backend.RSA2048, backend.ECP256, backend.ECP384, backend.Ed25519} {
			key, err := b.GenerateKey(ctx, backend.KeySpec{Label: label(string(alg)), Algorithm: alg})
			if err != nil {
				t.Fatalf("GenerateKey %s: %v", alg, err)
			}
			s, err := b.Signer(ctx, key.Label)
			if err != nil {
				t.Fatal(err)
			}
			spki := spkiPEM(t, key.Public)
			for _, op := range signOps[alg.Family()] {
				sig := sign(t, s, op, msg)
				items = append(items,
					verifyItem{spki, string(op), hex.EncodeToString(msg), hex.EncodeToString(sig)},
					verifyItem{spki, string(op), hex.EncodeToString(append(msg, '!')), hex.EncodeToString(sig)})
				names = append(names, string(alg)+"/"+string(op), string(alg)+"/"+string(op)+" over another message")
			}
		}
		valid := pycaVerify(t, items)
		for i, ok := range valid {
			if want := i%2 == 0; ok != want {
				t.Errorf("%s: pyca says valid=%v, want %v", names[i], ok, want)
			}
		}
	})
}

type pycaKey struct {
	PKCS8      string            `json:"pkcs8_pem"`
	SPKI       string            `json:"spki_pem"`
	Signatures map[string]string `json:"signatures"`
}

// TestPycaKeysImportAndSign: pyca makes a key and writes it as PKCS#8 with
// BestAvailableEncryption; keyplane reads it (package pkcs8) and imports it
// into the backend. pyca's signatures verify with the standard library
// against the backend's public key, and the backend's signatures with the
// imported key verify in pyca against pyca's own public key.
func TestPycaKeysImportAndSign(t *testing.T) {
	const passphrase = "correct horse battery staple"
	forEachBackend(t, func(t *testing.T, b backend.Backend, tg target) {
		ctx := t.Context()
		imp, ok := b.(backend.Importer)
		if !ok {
			t.Fatalf("%s does not implement backend.Importer", tg.name)
		}
		msg := []byte("pyca signs, keyplane verifies")
		var items []verifyItem
		var names []string
		for _, typ := range []backend.Algorithm{backend.RSA2048, backend.ECP256, backend.ECP384, backend.Ed25519} {
			var pk pycaKey
			pyca(t, map[string]any{"op": "genkey-sign", "type": string(typ), "passphrase": passphrase, "message_hex": hex.EncodeToString(msg)}, &pk)
			if !strings.Contains(pk.PKCS8, "BEGIN ENCRYPTED PRIVATE KEY") {
				t.Fatalf("%s: pyca did not write an encrypted PKCS#8 key", typ)
			}
			// A wrong passphrase is an authentication error that does not
			// show either passphrase.
			_, err := pkcs8.ParsePrivateKeyPEM([]byte(pk.PKCS8), func() ([]byte, error) { return []byte("Tr0ub4dor&3"), nil })
			if !errors.Is(err, backend.ErrAuthentication) || strings.Contains(err.Error(), "Tr0ub4dor") {
				t.Errorf("%s: wrong passphrase: %v", typ, err)
			}
			priv, err := pkcs8.ParsePrivateKeyPEM([]byte(pk.PKCS8), func() ([]byte, error) { return []byte(passphrase), nil })
			if err != nil {
				t.Fatalf("%s: reading pyca's key: %v", typ, err)
			}
			key, err := imp.ImportKey(ctx, label("pyca-"+string(typ)), priv)
			if err != nil {
				t.Fatalf("%s: ImportKey: %v", typ, err)
			}
			if key.Algorithm != typ {
				t.Errorf("imported key is %s, want %s", key.Algorithm, typ)
			}
			// The backend's public key is pyca's public key.
			if got := spkiPEM(t, key.Public); !bytes.Equal(spkiDER(t, got), spkiDER(t, pk.SPKI)) {
				t.Fatalf("%s: the imported key's public key differs from pyca's", typ)
			}
			if len(pk.Signatures) == 0 {
				t.Fatalf("%s: pyca made no signatures", typ)
			}
			for scheme, sigHex := range pk.Signatures {
				sig, _ := hex.DecodeString(sigHex)
				if err := verifyStdlib(key.Public, scheme, msg, sig); err != nil {
					t.Errorf("%s: pyca's %s signature: %v", typ, scheme, err)
				}
				if err := verifyStdlib(key.Public, scheme, append(msg, '!'), sig); err == nil {
					t.Errorf("%s: pyca's %s signature verifies over another message", typ, scheme)
				}
			}
			// The imported key signs, pyca verifies with its own public key.
			s, err := b.Signer(ctx, key.Label)
			if err != nil {
				t.Fatal(err)
			}
			for _, op := range signOps[typ.Family()] {
				sig := sign(t, s, op, msg)
				items = append(items, verifyItem{pk.SPKI, string(op), hex.EncodeToString(msg), hex.EncodeToString(sig)})
				names = append(names, string(typ)+"/"+string(op))
			}
		}
		for i, ok := range pycaVerify(t, items) {
			if !ok {
				t.Errorf("%s: pyca refuses the signature of the imported key", names[i])
			}
		}
	})
}

// TestOAEPFromPyca: pyca encrypts with RSA-OAEP to the backend's public key
// (SHA-256 with and without a label, SHA-1), the backend decrypts. The
// wrong label or hash gives the one vague decryption error.
func TestOAEPFromPyca(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend, tg target) {
		ctx := t.Context()
		key, err := b.GenerateKey(ctx, backend.KeySpec{Label: label("oaep"), Algorithm: backend.RSA2048})
		if err != nil {
			t.Fatal(err)
		}
		type item struct {
			Hash      string `json:"hash"`
			Label     string `json:"label_hex,omitempty"`
			Plaintext string `json:"plaintext_hex"`
		}
		cases := []struct {
			hash  crypto.Hash
			label []byte
			pt    []byte
		}{
			{crypto.SHA256, nil, []byte("a 256-bit session key, say......")},
			{crypto.SHA256, []byte("keyplane interop label"), []byte("with a label")},
			{crypto.SHA1, nil, []byte("sha-1, the one SoftHSM2 does natively")},
			{crypto.SHA1, []byte("sha-1 with a label"), []byte("labelled sha-1")},
			{crypto.SHA512, []byte{0, 1, 2}, []byte{}},
		}
		hashName := map[crypto.Hash]string{crypto.SHA1: "sha1", crypto.SHA256: "sha256", crypto.SHA512: "sha512"}
		var items []item
		for _, c := range cases {
			items = append(items, item{hashName[c.hash], hex.EncodeToString(c.label), hex.EncodeToString(c.pt)})
		}
		var resp struct {
			Ciphertexts []string `json:"ciphertexts_hex"`
		}
		pyca(t, map[string]any{"op": "rsa-oaep-encrypt", "spki_pem": spkiPEM(t, key.Public), "items": items}, &resp)
		if len(resp.Ciphertexts) != len(cases) {
			t.Fatalf("pyca made %d ciphertexts for %d cases", len(resp.Ciphertexts), len(cases))
		}
		d, err := b.Decrypter(ctx, key.Label)
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range cases {
			ct, _ := hex.DecodeString(resp.Ciphertexts[i])
			pt, err := d.Decrypt(rand.Reader, ct, &rsa.OAEPOptions{Hash: c.hash, MGFHash: c.hash, Label: c.label})
			if err != nil {
				t.Errorf("OAEP %v label %q: %v", c.hash, c.label, err)
				continue
			}
			if !bytes.Equal(pt, c.pt) {
				t.Errorf("OAEP %v label %q: got %q, want %q", c.hash, c.label, pt, c.pt)
			}
			// The wrong label, or the wrong hash, fails vaguely.
			for _, wrong := range []*rsa.OAEPOptions{
				{Hash: c.hash, MGFHash: c.hash, Label: append(bytes.Clone(c.label), 'x')},
				{Hash: crypto.SHA384, MGFHash: crypto.SHA384, Label: c.label},
			} {
				pt, err := d.Decrypt(rand.Reader, ct, wrong)
				if !errors.Is(err, backend.ErrDecryption) {
					t.Errorf("OAEP %v with %v label %q: (%q, %v), want ErrDecryption", c.hash, wrong.Hash, wrong.Label, pt, err)
				}
			}
		}
	})
}

// TestPycaLoadsSPKI: pyca loads the SPKI PEM of every public key type and
// writes back the same DER.
func TestPycaLoadsSPKI(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend, tg target) {
		ctx := t.Context()
		var pems []string
		for _, alg := range asymmetric {
			key, err := b.GenerateKey(ctx, backend.KeySpec{Label: label("spki-" + string(alg)), Algorithm: alg})
			if err != nil {
				t.Fatalf("GenerateKey %s: %v", alg, err)
			}
			pems = append(pems, spkiPEM(t, key.Public))
		}
		var resp struct {
			Keys []struct {
				DER  string `json:"der_hex"`
				Type string `json:"type"`
			} `json:"keys"`
		}
		pyca(t, map[string]any{"op": "load-spki", "pems": pems}, &resp)
		if len(resp.Keys) != len(pems) {
			t.Fatalf("pyca loaded %d keys of %d", len(resp.Keys), len(pems))
		}
		pycaType := map[backend.Algorithm]string{
			backend.RSA2048: "rsa-2048", backend.ECP256: "ec-secp256r1", backend.ECP384: "ec-secp384r1",
			backend.ECP521: "ec-secp521r1", backend.Ed25519: "ed25519",
		}
		for i, alg := range asymmetric {
			if resp.Keys[i].Type != pycaType[alg] {
				t.Errorf("%s: pyca sees a %s key", alg, resp.Keys[i].Type)
			}
			if resp.Keys[i].DER != hex.EncodeToString(spkiDER(t, pems[i])) {
				t.Errorf("%s: pyca writes back different DER", alg)
			}
		}
	})
}
