//go:build cgo && !nopkcs11

//lint:file-ignore SA1019 a tampered PKCS#1 v1.5 ciphertext is how a failed C_Decrypt is made on purpose; docs/decisions.md says why keyplane keeps rsa-pkcs1v15 decryption

package tpm2

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/backend"
	_ "github.com/keyplane/keyplane/backends/pkcs11"
	"github.com/keyplane/keyplane/conformance"
	"github.com/keyplane/keyplane/internal/testenv"
)

// TestTPM2 starts one tpm2 token for the whole test binary (the module
// reads its environment once, at its first C_Initialize) and runs every
// check against it as a subtest.
func TestTPM2(t *testing.T) {
	in := testenv.StartToken(t, "tpm2")
	if err := in.Setenv(); err != nil {
		t.Fatal(err)
	}
	pin, err := in.WritePINFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	uri := in.URI(pin)
	open := func(t *testing.T) backend.Backend {
		b, err := backend.Open(t.Context(), uri)
		if err != nil {
			t.Fatalf("opening %s: %v", uri, err)
		}
		return b
	}
	// openForTest: the backend closes after the test's own clean-ups.
	openForTest := func(t *testing.T) backend.Backend {
		b := open(t)
		t.Cleanup(func() { b.Close() })
		return b
	}

	t.Run("Conformance", func(t *testing.T) {
		start := time.Now()
		conformance.Run(t, open, conformance.Config{Reopen: true})
		t.Logf("conformance on tpm2-pkcs11 took %v", time.Since(start).Round(time.Millisecond))
	})
	t.Run("ECKeyPair", func(t *testing.T) { testECKeyPair(t, openForTest(t)) })
	t.Run("P521Refused", func(t *testing.T) { testP521(t, openForTest(t)) })
	t.Run("NoImport", func(t *testing.T) { testNoImport(t, openForTest(t)) })
	t.Run("PSSParameterLifetime", func(t *testing.T) { testPSS(t, openForTest(t)) })
	t.Run("DeleteAfterFailedDecrypt", func(t *testing.T) { testDeleteAfterFailedDecrypt(t, openForTest(t)) })
}

// generate makes a key for a test and deletes it at the end.
func generate(t *testing.T, b backend.Backend, label string, alg backend.Algorithm) *backend.Key {
	t.Helper()
	k, err := b.GenerateKey(t.Context(), backend.KeySpec{Label: label, Algorithm: alg})
	if err != nil {
		t.Fatalf("GenerateKey(%s): %v", alg, err)
	}
	t.Cleanup(func() {
		// t.Context is canceled before clean-ups run.
		if err := b.DeleteKey(context.Background(), "id:"+k.IDHex()); err != nil && !errors.Is(err, backend.ErrNotFound) {
			t.Errorf("deleting %s: %v", label, err)
		}
	})
	return k
}

// testECKeyPair: tpm2-pkcs11 derives CKA_VERIFY from the TPM key's decrypt
// attribute and CKA_ENCRYPT from its sign attribute, and fails
// C_GenerateKeyPair (CKR_GENERAL_ERROR, "User specified and TPM specified
// attr mismatch: 0x10a") when the public template says otherwise; an EC
// signing key must still be made, and sign.
func testECKeyPair(t *testing.T, b backend.Backend) {
	for _, alg := range []backend.Algorithm{backend.ECP256, backend.ECP384} {
		k := generate(t, b, "tpm2-ec-"+string(alg), alg)
		s, err := b.Signer(t.Context(), k.Label)
		if err != nil {
			t.Fatal(err)
		}
		d := sha256.Sum256([]byte("tpm2"))
		sig, err := s.Sign(rand.Reader, d[:], crypto.SHA256)
		if err != nil {
			t.Fatalf("%s: Sign: %v", alg, err)
		}
		if !ecdsa.VerifyASN1(k.Public.(*ecdsa.PublicKey), d[:], sig) {
			t.Errorf("%s: the signature does not verify", alg)
		}
	}
}

// testP521: tpm2-pkcs11 1.9 encodes a P-521 CKA_EC_POINT with a
// short-form length (04 85 …) and then fails C_SignInit on the key
// (CKR_HOST_MEMORY, "d2i_ASN1_OCTET_STRING: too long"), after which the
// key cannot be destroyed in this process. Capabilities must leave P-521
// out and say why, GenerateKey must refuse it, and no key may be left.
func testP521(t *testing.T, b backend.Backend) {
	caps, err := b.Capabilities(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if caps.SupportsAlgorithm(backend.ECP521) {
		t.Errorf("Capabilities reports ec-p521, which the token cannot sign with")
	}
	if !slices.ContainsFunc(caps.Notes, func(n string) bool { return strings.HasPrefix(n, "ec-p521 not reported") }) {
		t.Errorf("Capabilities.Notes do not say why ec-p521 is left out: %q", caps.Notes)
	}
	k, err := b.GenerateKey(t.Context(), backend.KeySpec{Label: "tpm2-p521", Algorithm: backend.ECP521})
	if !errors.Is(err, backend.ErrUnsupported) {
		t.Errorf("GenerateKey(ec-p521) = %v, %v; want ErrUnsupported", k, err)
	}
	keys, err := b.Keys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if strings.Contains(k.Label, "p521") {
			t.Errorf("a P-521 key was left behind: %q", k.Label)
		}
	}
}

// testNoImport: tpm2-pkcs11 1.9's C_CreateObject takes no private key
// material (CKR_ATTRIBUTE_VALUE_INVALID): Capabilities must say so, and
// ImportKey must be ErrUnsupported, not an invalid-input error about the
// caller's key.
func testNoImport(t *testing.T, b backend.Backend) {
	caps, err := b.Capabilities(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if caps.Import {
		t.Errorf("Capabilities.Import is true on a token that imports no keys")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	imp := b.(backend.Importer)
	if k, err := imp.ImportKey(t.Context(), "tpm2-import", key); !errors.Is(err, backend.ErrUnsupported) {
		t.Errorf("ImportKey = %v, %v; want ErrUnsupported", k, err)
	}
	keys, err := b.Keys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if strings.Contains(k.Label, "probe") || strings.Contains(k.Label, "tpm2-import") {
			t.Errorf("key %q left behind by the import probe or the refused import", k.Label)
		}
	}
}

// testPSS: tpm2-pkcs11 keeps the CK_MECHANISM's parameter pointer from
// C_SignInit and reads the CK_RSA_PKCS_PSS_PARAMS behind it at C_Sign
// (src/lib/sign.c copies the CK_MECHANISM, not what it points to);
// miekg/pkcs11 frees its copy when C_SignInit returns, and C_Sign then
// fails ("Could not get digester for mech: 0xd", CKR_MECHANISM_INVALID).
// The token does PSS with a salt as long as the hash (in software, over
// raw RSA) although it does not list CKM_RSA_PKCS_PSS.
func testPSS(t *testing.T, b backend.Backend) {
	k := generate(t, b, "tpm2-pss", backend.RSA2048)
	s, err := b.Signer(t.Context(), k.Label)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		hh := h.New()
		hh.Write([]byte("tpm2 pss"))
		d := hh.Sum(nil)
		opts := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: h}
		for i := range 3 { // more than once: a freed parameter may still hold the right bytes
			sig, err := s.Sign(rand.Reader, d, opts)
			if err != nil {
				t.Fatalf("PSS %v (%d): Sign: %v", h, i, err)
			}
			if err := rsa.VerifyPSS(k.Public.(*rsa.PublicKey), h, d, sig, opts); err != nil {
				t.Fatalf("PSS %v (%d): the signature does not verify: %v", h, i, err)
			}
		}
	}
}

// testDeleteAfterFailedDecrypt: a C_Decrypt that fails on tpm2-pkcs11
// (bad padding, a TPM error) leaves the operation active and the key
// counted as in use for the rest of the process: C_DestroyObject of that
// key then returns CKR_FUNCTION_FAILED, and the next operation on that
// session CKR_OPERATION_ACTIVE. A key whose decryption failed must still
// be deletable, and the backend must keep working.
func testDeleteAfterFailedDecrypt(t *testing.T, b backend.Backend) {
	k := generate(t, b, "tpm2-delete-after-decrypt", backend.RSA2048)
	other := generate(t, b, "tpm2-delete-other", backend.RSA2048)
	d, err := b.Decrypter(t.Context(), k.Label)
	if err != nil {
		t.Fatal(err)
	}
	pub := k.Public.(*rsa.PublicKey)
	for _, opts := range []crypto.DecrypterOpts{nil, &rsa.OAEPOptions{Hash: crypto.SHA1}} {
		var ct []byte
		if opts == nil {
			ct, err = rsa.EncryptPKCS1v15(rand.Reader, pub, []byte("secret"))
		} else {
			ct, err = rsa.EncryptOAEP(crypto.SHA1.New(), rand.Reader, pub, []byte("secret"), nil)
		}
		if err != nil {
			t.Fatal(err)
		}
		ct[len(ct)/2] ^= 0x40
		if _, err := d.Decrypt(rand.Reader, ct, opts); !errors.Is(err, backend.ErrDecryption) {
			t.Fatalf("decrypting a tampered ciphertext (%T): %v, want ErrDecryption", opts, err)
		}
	}
	// The sessions that saw the failures still work, for every key.
	for range 4 {
		ds, err := b.Decrypter(t.Context(), other.Label)
		if err != nil {
			t.Fatal(err)
		}
		ct, err := rsa.EncryptPKCS1v15(rand.Reader, other.Public.(*rsa.PublicKey), []byte("fine"))
		if err != nil {
			t.Fatal(err)
		}
		if pt, err := ds.Decrypt(rand.Reader, ct, nil); err != nil || string(pt) != "fine" {
			t.Fatalf("decrypting with another key after the failures: %q, %v", pt, err)
		}
	}
	if err := b.DeleteKey(t.Context(), k.Label); err != nil {
		t.Fatalf("DeleteKey after a failed decryption: %v", err)
	}
	if _, err := b.Key(t.Context(), k.Label); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("Key after DeleteKey: %v, want ErrNotFound", err)
	}
	if _, err := b.Key(t.Context(), other.Label); err != nil {
		t.Errorf("the other key after DeleteKey: %v", err)
	}
}
