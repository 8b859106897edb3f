package pkcs8

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
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
