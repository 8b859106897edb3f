package pkcs8

import (
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/backend"
)

// withIterations returns an ENCRYPTED PRIVATE KEY PEM like one Encrypt
// writes, with its PBKDF2 iteration count set to iter (which Encrypt
// itself may refuse to write).
func withIterations(t testing.TB, iter int) []byte {
	t.Helper()
	der, err := MarshalEncryptedPrivateKey(keys(t)["ec-p256"], []byte(testPassphrase), &EncryptOptions{Iterations: 1})
	if err != nil {
		t.Fatal(err)
	}
	var epki encryptedPrivateKeyInfo
	var p pbes2Params
	var kp pbkdf2Params
	if _, err := asn1.Unmarshal(der, &epki); err != nil {
		t.Fatal(err)
	}
	if _, err := asn1.Unmarshal(epki.Algorithm.Parameters.FullBytes, &p); err != nil {
		t.Fatal(err)
	}
	if _, err := asn1.Unmarshal(p.KeyDerivationFunc.Parameters.FullBytes, &kp); err != nil {
		t.Fatal(err)
	}
	kp.IterationCount = iter
	kdf, err := asn1.Marshal(kp)
	if err != nil {
		t.Fatal(err)
	}
	p.KeyDerivationFunc.Parameters = asn1.RawValue{FullBytes: kdf}
	params, err := asn1.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	epki.Algorithm = pkix.AlgorithmIdentifier{Algorithm: oidPBES2, Parameters: asn1.RawValue{FullBytes: params}}
	out, err := asn1.Marshal(epki)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: TypeEncryptedPrivateKey, Bytes: out})
}

// TestHostileIterationCount: a small file asking for millions of PBKDF2
// iterations is refused before any key derivation (the passphrase is
// not even asked for), whatever the passphrase.
func TestHostileIterationCount(t *testing.T) {
	for _, iter := range []int{10_000_000, MaxIterations + 1, 1 << 30} {
		data := withIterations(t, iter)
		asked := false
		start := time.Now()
		_, err := ParsePrivateKeyPEM(data, func() ([]byte, error) { asked = true; return []byte("wrong"), nil })
		elapsed := time.Since(start)
		t.Logf("%d iterations (%d-byte file): refused in %v: %v", iter, len(data), elapsed, err)
		if !errors.Is(err, backend.ErrUnsupported) || !strings.Contains(err.Error(), "exceeds the limit") {
			t.Errorf("%d iterations: got %v, want ErrUnsupported saying the count exceeds the limit", iter, err)
		}
		if asked {
			t.Errorf("%d iterations: the passphrase was asked for, so the file was not refused before key derivation", iter)
		}
	}
}

// TestIterationCountsRealToolsWrite: what OpenSSL 3 and pyca write (2048),
// keyplane's own default and the cap itself are read.
func TestIterationCountsRealToolsWrite(t *testing.T) {
	if MaxIterations < DefaultIterations {
		t.Fatalf("MaxIterations %d is below keyplane's own DefaultIterations %d", MaxIterations, DefaultIterations)
	}
	for _, iter := range []int{2048, DefaultIterations, MaxIterations} {
		if testing.Short() && iter > 2048 {
			continue
		}
		der, err := MarshalEncryptedPrivateKey(keys(t)["ec-p256"], []byte(testPassphrase), &EncryptOptions{Iterations: iter})
		if err != nil {
			t.Fatal(err)
		}
		data := pem.EncodeToMemory(&pem.Block{Type: TypeEncryptedPrivateKey, Bytes: der})
		start := time.Now()
		if _, err := ParsePrivateKeyPEM(data, pass(testPassphrase)); err != nil {
			t.Errorf("%d iterations: %v", iter, err)
		}
		t.Logf("%d iterations: read in %v", iter, time.Since(start))
	}
	// Encrypt never writes what Decrypt refuses.
	if _, err := Encrypt([]byte("x"), []byte(testPassphrase), &EncryptOptions{Iterations: MaxIterations + 1}); !errors.Is(err, backend.ErrInvalidInput) {
		t.Errorf("Encrypt with MaxIterations+1: %v, want ErrInvalidInput", err)
	}
}

// fakeRSAPKCS1 returns a DER RSAPrivateKey with a modulus of nBits bits
// and the other numbers of the given sizes (random, not a real key: what
// a hostile file holds). With n = p·q and full-size numbers, crypto/rsa's
// checks take seconds on a 524,288-bit key before they fail.
func fakeRSAPKCS1(t testing.TB, nBits, otherBits int) []byte {
	t.Helper()
	rnd := func(bits int) *big.Int {
		b := make([]byte, (bits+7)/8)
		rand.Read(b)
		b[0] |= 0x80
		b[len(b)-1] |= 1
		return new(big.Int).SetBytes(b)
	}
	var n, p, q *big.Int
	if otherBits*2 == nBits {
		p, q = rnd(otherBits), rnd(otherBits)
		n = new(big.Int).Mul(p, q)
	} else {
		n, p, q = rnd(nBits), rnd(otherBits), rnd(otherBits)
	}
	der, err := asn1.Marshal(struct {
		Version                     int
		N, E, D, P, Q, Dp, Dq, Qinv *big.Int
	}{0, n, big.NewInt(65537), rnd(otherBits * 2), p, q, rnd(otherBits), rnd(otherBits), rnd(otherBits)})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// wrapPKCS8 puts a PKCS#1 RSA key in a PKCS#8 PrivateKeyInfo.
func wrapPKCS8(t testing.TB, pkcs1 []byte) []byte {
	t.Helper()
	der, err := asn1.Marshal(struct {
		Version    int
		Algo       pkix.AlgorithmIdentifier
		PrivateKey []byte
	}{0, pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}, Parameters: asn1.NullRawValue}, pkcs1})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestHugeRSAKeyRefusedUnparsed: a fake RSA key of 524,288 bits (about
// 13 s of crypto/rsa's checks before this test's fix) and one whose
// modulus alone is too long are refused from the size of the PEM block
// and from the modulus length in the DER header, before the numbers are
// parsed, in every form keyplane reads: PKCS#1, PKCS#8 and encrypted
// PKCS#8 (the passphrase is not even asked for when the block is too
// large).
func TestHugeRSAKeyRefusedUnparsed(t *testing.T) {
	huge := fakeRSAPKCS1(t, 524288, 262144)    // too large a block
	longN := fakeRSAPKCS1(t, 2*MaxRSABits, 64) // a small block, too long a modulus
	encrypt := func(der []byte) []byte {
		enc, err := Encrypt(der, []byte(testPassphrase), &EncryptOptions{Iterations: 1})
		if err != nil {
			t.Fatal(err)
		}
		return enc
	}
	for _, c := range []struct {
		name, typ string
		der       []byte
		errHas    string
	}{
		{"524288-bit PKCS#1", TypeRSAPrivateKey, huge, "larger than"},
		{"524288-bit PKCS#8", TypePrivateKey, wrapPKCS8(t, huge), "larger than"},
		{"524288-bit encrypted PKCS#8", TypeEncryptedPrivateKey, encrypt(wrapPKCS8(t, huge)), "larger than"},
		{"long-modulus PKCS#1", TypeRSAPrivateKey, longN, "32768-bit RSA modulus"},
		{"long-modulus PKCS#8", TypePrivateKey, wrapPKCS8(t, longN), "32768-bit RSA modulus"},
		{"long-modulus encrypted PKCS#8", TypeEncryptedPrivateKey, encrypt(wrapPKCS8(t, longN)), "32768-bit RSA modulus"},
	} {
		data := pem.EncodeToMemory(&pem.Block{Type: c.typ, Bytes: c.der})
		asked := false
		start := time.Now()
		_, err := ParsePrivateKeyPEM(data, func() ([]byte, error) { asked = true; return []byte(testPassphrase), nil })
		elapsed := time.Since(start)
		t.Logf("%s (%d-byte block): refused in %v: %v", c.name, len(c.der), elapsed, err)
		if !errors.Is(err, backend.ErrUnsupported) || !strings.Contains(err.Error(), c.errHas) {
			t.Errorf("%s: got %v, want ErrUnsupported containing %q", c.name, err, c.errHas)
		}
		if asked && c.errHas == "larger than" {
			t.Errorf("%s: the passphrase was asked for before the block's size was checked", c.name)
		}
	}
}
