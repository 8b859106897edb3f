//go:build cgo && !nopkcs11

package opencryptoki_test

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/backends/pkcs11"
)

// Tests of what opencryptoki 3.8's soft token does differently, each
// written down in docs/backends/pkcs11.md ("Tokens", "opencryptoki").

func openToken(t *testing.T) *pkcs11.Backend {
	t.Helper()
	b, err := pkcs11.Open(t.Context(), tokenURI(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// TestCapabilitiesFromMechanisms: the token states ulMaxSessionCount =
// ULONG_MAX−1, which must not shrink the pool, and lists no EC, no
// AES-GCM and no SHA256-RSA-PKCS mechanisms: the capability report leaves
// out what needs them (the suite then skips it), and keeps RSA PKCS#1
// v1.5 signing, which keyplane does over CKM_RSA_PKCS.
func TestCapabilitiesFromMechanisms(t *testing.T) {
	b := openToken(t)
	c, err := b.Capabilities(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Details["pool-size"], strconv.Itoa(max(16, 4*runtime.GOMAXPROCS(0))); got != want {
		t.Errorf("pool-size %s with max-sessions %q; want %s", got, c.Details["max-sessions"], want)
	}
	mechs := strings.Split(c.Details["mechanisms"], ", ")
	for _, m := range []string{"ECDSA", "EC-KEY-PAIR-GEN", "AES-GCM", "SHA256-RSA-PKCS"} {
		if slices.Contains(mechs, m) {
			t.Errorf("the token lists %s now (mechanisms: %s): revisit the skips", m, c.Details["mechanisms"])
		}
	}
	for _, a := range []backend.Algorithm{backend.ECP256, backend.ECP384, backend.ECP521, backend.Ed25519, backend.AES256} {
		if c.SupportsAlgorithm(a) {
			t.Errorf("capabilities report %s, which the token's mechanisms cannot do", a)
		}
	}
	for _, a := range []backend.Algorithm{backend.RSA2048, backend.RSA4096, backend.Fernet} {
		if !c.SupportsAlgorithm(a) {
			t.Errorf("capabilities do not report %s", a)
		}
	}
	for _, op := range []backend.Operation{backend.RSAPKCS1v15SHA256, backend.RSAPSSSHA256, backend.RSAOAEPSHA256, backend.FernetToken} {
		if !c.SupportsOperation(op) {
			t.Errorf("capabilities do not report %s", op)
		}
	}
}

// TestDecryptFailuresKeepTheToken: the token answers tampered OAEP,
// labelled OAEP and oversized PKCS#1 v1.5 ciphertexts with
// CKR_FUNCTION_FAILED. They are ErrDecryption (labels work through the
// host-side OAEP decoding), no session is closed, and every key stays
// findable.
func TestDecryptFailuresKeepTheToken(t *testing.T) {
	b := openToken(t)
	var labels []string
	for i := range 3 {
		label := fmt.Sprintf("quirks-%d-%x", i, randomBytes(4))
		if _, err := b.GenerateKey(t.Context(), backend.KeySpec{Label: label, Algorithm: backend.RSA2048}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.DeleteKey(t.Context(), label) })
		labels = append(labels, label)
	}
	d, err := b.Decrypter(t.Context(), labels[0])
	if err != nil {
		t.Fatal(err)
	}
	pub := d.Public().(*rsa.PublicKey)
	msg := []byte("session key")
	sha1 := &rsa.OAEPOptions{Hash: crypto.SHA1}
	ct, err := rsa.EncryptOAEP(crypto.SHA1.New(), rand.Reader, pub, msg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := d.Decrypt(nil, ct, sha1); err != nil || string(pt) != string(msg) {
		t.Fatalf("OAEP SHA-1: %q, %v", pt, err)
	}
	before := b.Stats()
	for i := range 10 {
		bad := slices.Clone(ct)
		bad[10+i] ^= 0x40
		if _, err := d.Decrypt(nil, bad, sha1); err != backend.ErrDecryption {
			t.Fatalf("tampered OAEP SHA-1: %v, want the bare ErrDecryption", err)
		}
	}
	tooBig := pub.N.FillBytes(make([]byte, pub.Size()))
	if _, err := d.Decrypt(nil, tooBig, nil); err != backend.ErrDecryption {
		t.Errorf("PKCS#1 v1.5 ciphertext equal to the modulus: %v, want the bare ErrDecryption", err)
	}
	if after := b.Stats(); after.Opened != before.Opened {
		t.Errorf("pool before %+v after %+v: decryption failures closed sessions", before, after)
	}
	label := []byte("a label")
	lct, err := rsa.EncryptOAEP(crypto.SHA1.New(), rand.Reader, pub, msg, label)
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := d.Decrypt(nil, lct, &rsa.OAEPOptions{Hash: crypto.SHA1, Label: label}); err != nil || string(pt) != string(msg) {
		t.Errorf("OAEP SHA-1 with a label: %q, %v", pt, err)
	}
	for _, l := range labels {
		if _, err := b.Key(t.Context(), l); err != nil {
			t.Errorf("Key(%q) after the failures: %v", l, err)
		}
		s, err := b.Signer(t.Context(), l)
		if err != nil {
			t.Fatal(err)
		}
		digest := sha256.Sum256([]byte(l))
		sig, err := s.Sign(rand.Reader, digest[:], crypto.SHA256)
		if err != nil || rsa.VerifyPKCS1v15(s.Public().(*rsa.PublicKey), crypto.SHA256, digest[:], sig) != nil {
			t.Errorf("signing with %q after the failures: %v", l, err)
		}
	}
}

// TestImportedFernet: an AES key made with C_CreateObject has no
// CKA_VALUE_LEN on this token (CKR_ATTRIBUTE_TYPE_INVALID); an imported
// fernet key is found and computes what the key bytes say, and its
// CKM_AES_CBC_PAD, which lets bad padding through, is not what checks it.
func TestImportedFernet(t *testing.T) {
	b := openToken(t)
	value := randomBytes(32)
	label := fmt.Sprintf("quirks-fernet-%x", randomBytes(4))
	if _, err := b.ImportKey(t.Context(), label, backend.SecretKey{Algorithm: backend.Fernet, Value: value}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.DeleteKey(t.Context(), label) })
	k, err := b.Key(t.Context(), label)
	if err != nil || k.Algorithm != backend.Fernet {
		t.Fatalf("Key(%q): %+v, %v", label, k, err)
	}
	fk, err := b.Fernet(t.Context(), label)
	if err != nil {
		t.Fatal(err)
	}
	mac, err := fk.MAC(t.Context(), []byte("data"))
	want := hmac.New(sha256.New, value[:16])
	want.Write([]byte("data"))
	if err != nil || !hmac.Equal(mac, want.Sum(nil)) {
		t.Errorf("MAC: %v, or not HMAC-SHA256 under the signing key", err)
	}
	iv := randomBytes(16)
	ct, err := fk.EncryptCBC(t.Context(), iv, make([]byte, 15))
	if err != nil {
		t.Fatal(err)
	}
	iv[15] ^= 0x01 ^ 0xfe // the padding byte becomes 0xfe
	if got, err := fk.DecryptCBC(t.Context(), iv, ct); err != backend.ErrDecryption {
		t.Errorf("DecryptCBC with bad padding: %d bytes, %v; want ErrDecryption", len(got), err)
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
