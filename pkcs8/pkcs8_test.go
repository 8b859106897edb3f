package pkcs8

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/keyplane/keyplane/backend"
)

const testPassphrase = "correct horse battery staple"

func pass(p string) func() ([]byte, error) {
	return func() ([]byte, error) { return []byte(p), nil }
}

var (
	testKeysOnce sync.Once
	testKeys     map[string]crypto.Signer
)

// keys returns one key of every supported type, made once per test binary.
func keys(t testing.TB) map[string]crypto.Signer {
	t.Helper()
	testKeysOnce.Do(func() {
		testKeys = map[string]crypto.Signer{}
		r, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		testKeys["rsa-2048"] = r
		for name, c := range map[string]elliptic.Curve{"ec-p256": elliptic.P256(), "ec-p384": elliptic.P384(), "ec-p521": elliptic.P521()} {
			k, err := ecdsa.GenerateKey(c, rand.Reader)
			if err != nil {
				panic(err)
			}
			testKeys[name] = k
		}
		_, ed, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			panic(err)
		}
		testKeys["ed25519"] = ed
	})
	return testKeys
}

func samePublic(t *testing.T, want crypto.Signer, got any) {
	t.Helper()
	s, ok := got.(crypto.Signer)
	if !ok {
		t.Fatalf("parsed key %T is not a crypto.Signer", got)
	}
	if !s.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(want.Public()) {
		t.Fatalf("parsed key's public half differs from the original")
	}
	if reflectType(got) != reflectType(want) {
		t.Fatalf("parsed key is %T, want %T", got, want)
	}
}

func reflectType(v any) string { return fmt.Sprintf("%T", v) }

func TestRoundTripPlain(t *testing.T) {
	for name, k := range keys(t) {
		t.Run(name, func(t *testing.T) {
			data, err := MarshalPrivateKeyPEM(k, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(data, []byte("-----BEGIN PRIVATE KEY-----\n")) {
				t.Fatalf("plain key starts with %q", data[:30])
			}
			called := false
			got, err := ParsePrivateKeyPEM(data, func() ([]byte, error) { called = true; return nil, nil })
			if err != nil {
				t.Fatal(err)
			}
			if called {
				t.Error("the passphrase callback was called for a plain key")
			}
			samePublic(t, k, got)
		})
	}
}

func TestRoundTripEncrypted(t *testing.T) {
	for name, k := range keys(t) {
		t.Run(name, func(t *testing.T) {
			der, err := MarshalEncryptedPrivateKey(k, []byte(testPassphrase), &EncryptOptions{Iterations: 1000})
			if err != nil {
				t.Fatal(err)
			}
			data := pem.EncodeToMemory(&pem.Block{Type: TypeEncryptedPrivateKey, Bytes: der})
			got, err := ParsePrivateKeyPEM(data, pass(testPassphrase))
			if err != nil {
				t.Fatal(err)
			}
			samePublic(t, k, got)
			if _, err := ParsePrivateKeyPEM(data, pass(testPassphrase+"x")); !errors.Is(err, backend.ErrAuthentication) {
				t.Fatalf("wrong passphrase: got %v, want ErrAuthentication", err)
			}
		})
	}
}

func TestDefaultsWritten(t *testing.T) {
	data, err := MarshalPrivateKeyPEM(keys(t)["ec-p256"], []byte(testPassphrase))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != TypeEncryptedPrivateKey {
		t.Fatalf("want an ENCRYPTED PRIVATE KEY block, got %q", data)
	}
	info, err := Inspect(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	want := EncryptionInfo{Scheme: "PBES2", KDF: "PBKDF2", PRF: crypto.SHA256, Iterations: DefaultIterations, SaltLen: 16, Cipher: "AES-256-CBC"}
	if info != want {
		t.Fatalf("written scheme %+v, want %+v", info, want)
	}
	if DefaultIterations != 600000 {
		t.Fatalf("DefaultIterations = %d", DefaultIterations)
	}
	// Two encryptions of the same key differ (fresh salt and IV).
	data2, err := MarshalPrivateKeyPEM(keys(t)["ec-p256"], []byte(testPassphrase))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(data, data2) {
		t.Fatal("two encryptions of one key are identical: salt or IV not random")
	}
	if bytes.Contains(data, []byte(testPassphrase)) {
		t.Fatal("the passphrase appears in the output")
	}
}

func TestEmptyPassphraseRefused(t *testing.T) {
	if _, err := MarshalPrivateKeyPEM(keys(t)["ed25519"], []byte{}); !errors.Is(err, backend.ErrInvalidInput) {
		t.Fatalf("empty passphrase: got %v, want ErrInvalidInput", err)
	}
}

func TestMarshalBadKeys(t *testing.T) {
	for name, k := range map[string]any{
		"nil rsa":       (*rsa.PrivateKey)(nil),
		"empty rsa":     &rsa.PrivateKey{},
		"empty ecdsa":   &ecdsa.PrivateKey{},
		"short ed25519": ed25519.PrivateKey(make([]byte, 10)),
		"public key":    keys(t)["ed25519"].Public(),
		"string":        "hello",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := MarshalPrivateKeyPEM(k, nil)
			if !errors.Is(err, backend.ErrInvalidInput) && !errors.Is(err, backend.ErrUnsupported) {
				t.Fatalf("got %v, want ErrInvalidInput or ErrUnsupported", err)
			}
		})
	}
}

// TestWrongPassphraseNeverGarbage tries many wrong passphrases: about one in
// 256 passes the padding check, and must still be ErrAuthentication.
func TestWrongPassphraseNeverGarbage(t *testing.T) {
	der, err := MarshalEncryptedPrivateKey(keys(t)["ed25519"], []byte(testPassphrase), &EncryptOptions{Iterations: 1})
	if err != nil {
		t.Fatal(err)
	}
	n := 3000
	if testing.Short() {
		n = 300
	}
	for i := range n {
		k, err := ParseEncryptedPrivateKey(der, fmt.Appendf(nil, "wrong %d", i))
		if !errors.Is(err, backend.ErrAuthentication) || k != nil {
			t.Fatalf("wrong passphrase %d: got key %v, err %v; want nil, ErrAuthentication", i, k != nil, err)
		}
		if strings.Contains(err.Error(), "wrong "+fmt.Sprint(i)) {
			t.Fatalf("the passphrase appears in the error %q", err)
		}
	}
}

func TestNoPassphraseForEncryptedKey(t *testing.T) {
	data := readTestdata(t, "openssl-aes256.pem")
	if _, err := ParsePrivateKeyPEM(data, nil); !errors.Is(err, backend.ErrAuthentication) {
		t.Fatalf("nil passphrase func: got %v, want ErrAuthentication", err)
	}
	boom := errors.New("no terminal")
	if _, err := ParsePrivateKeyPEM(data, func() ([]byte, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("failing passphrase func: got %v, want it wrapped", err)
	}
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestTestdata reads keys written by OpenSSL and pyca, kept in testdata/
// (see testdata/README.md for the commands).
func TestTestdata(t *testing.T) {
	plain, err := ParsePrivateKeyPEM(readTestdata(t, "ec-plain.pem"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ecPub := plain.(*ecdsa.PrivateKey).Public()
	tests := []struct {
		file    string
		wantErr error
		errHas  string
		info    string // EncryptionInfo.String() for encrypted files
		sameAs  crypto.PublicKey
		typ     string
	}{
		{file: "openssl-aes256.pem", typ: "*ecdsa.PrivateKey", info: "PBES2 PBKDF2-HMAC-SHA256 2048 iterations AES-256-CBC"},
		{file: "openssl-aes128-sha1.pem", sameAs: ecPub, info: "PBES2 PBKDF2-HMAC-SHA1 2048 iterations AES-128-CBC"},
		{file: "openssl-aes192-sha512.pem", sameAs: ecPub, info: "PBES2 PBKDF2-HMAC-SHA512 2048 iterations AES-192-CBC"},
		{file: "pyca-ed25519.pem", typ: "ed25519.PrivateKey", info: "PBES2 PBKDF2-HMAC-SHA256 2048 iterations AES-256-CBC"},
		{file: "ec-sec1.pem", sameAs: ecPub},
		{file: "rsa-pkcs1.pem", typ: "*rsa.PrivateKey"},
		{file: "rsa-plain.pem", typ: "*rsa.PrivateKey"},
		{file: "ed25519-plain.pem", typ: "ed25519.PrivateKey"},
		{file: "scrypt.pem", wantErr: backend.ErrUnsupported, errHas: "scrypt"},
		{file: "des3.pem", wantErr: backend.ErrUnsupported, errHas: "DES-EDE3-CBC"},
		{file: "pkcs12-3des.pem", wantErr: backend.ErrUnsupported, errHas: "pbeWithSHAAnd3-KeyTripleDES-CBC"},
		{file: "pbes1-md5-des.pem", wantErr: backend.ErrUnsupported, errHas: "PBES1 pbeWithMD5AndDES-CBC"},
		{file: "huge-iter.pem", wantErr: backend.ErrUnsupported, errHas: "iteration count 20000000 exceeds"},
		{file: "rsa-legacy-encrypted.pem", wantErr: backend.ErrUnsupported, errHas: "legacy PEM encryption"},
		{file: "ed448-plain.pem", wantErr: backend.ErrUnsupported, errHas: "unknown algorithm"},
		{file: "README.md", wantErr: backend.ErrInvalidInput, errHas: "no PEM block"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data := readTestdata(t, tt.file)
			asked := false
			k, err := ParsePrivateKeyPEM(data, func() ([]byte, error) { asked = true; return []byte(testPassphrase), nil })
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("got %v, want %v containing %q", err, tt.wantErr, tt.errHas)
				}
				if asked && tt.wantErr == backend.ErrUnsupported {
					t.Error("asked for the passphrase before refusing the scheme")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.typ != "" && reflectType(k) != tt.typ {
				t.Fatalf("got %T, want %s", k, tt.typ)
			}
			if tt.sameAs != nil && !k.(crypto.Signer).Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(tt.sameAs) {
				t.Fatal("decrypted key differs from the plain original")
			}
			if tt.info != "" {
				block, _ := pem.Decode(data)
				info, err := Inspect(block.Bytes)
				if err != nil {
					t.Fatal(err)
				}
				if info.String() != tt.info {
					t.Fatalf("Inspect = %q, want %q", info, tt.info)
				}
				if _, err := ParsePrivateKeyPEM(data, pass("not it")); !errors.Is(err, backend.ErrAuthentication) {
					t.Fatalf("wrong passphrase: %v, want ErrAuthentication", err)
				}
			}
		})
	}
}

func TestMalformed(t *testing.T) {
	good, err := MarshalPrivateKeyPEM(keys(t)["ec-p384"], nil)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := MarshalEncryptedPrivateKey(keys(t)["ec-p384"], []byte(testPassphrase), &EncryptOptions{Iterations: 10})
	if err != nil {
		t.Fatal(err)
	}
	block := func(typ string, b []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}) }
	tests := map[string][]byte{
		"empty":                    nil,
		"garbage":                  []byte("not a key at all"),
		"truncated PEM":            good[:len(good)/2],
		"certificate only":         block("CERTIFICATE", []byte{1, 2, 3}),
		"garbage PKCS#8":           block(TypePrivateKey, []byte{0x30, 0x03, 1, 2, 3}),
		"garbage PKCS#1":           block(TypeRSAPrivateKey, []byte{0x30, 0x00}),
		"garbage SEC1":             block(TypeECPrivateKey, []byte{0x30, 0x00}),
		"garbage encrypted":        block(TypeEncryptedPrivateKey, []byte{0x30, 0x00}),
		"truncated encrypted DER":  block(TypeEncryptedPrivateKey, enc[:len(enc)-5]),
		"trailing data after DER":  block(TypeEncryptedPrivateKey, append(append([]byte{}, enc...), 0)),
		"ciphertext not in blocks": block(TypeEncryptedPrivateKey, shortenCiphertext(t, enc)),
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			k, err := ParsePrivateKeyPEM(data, pass(testPassphrase))
			if !errors.Is(err, backend.ErrInvalidInput) || k != nil {
				t.Fatalf("got %v, %v; want ErrInvalidInput", k, err)
			}
		})
	}
}

// shortenCiphertext re-encodes enc with its encrypted data one byte short.
func shortenCiphertext(t *testing.T, enc []byte) []byte {
	t.Helper()
	var e encryptedPrivateKeyInfo
	if err := unmarshalExact("test", enc, &e); err != nil {
		t.Fatal(err)
	}
	e.EncryptedData = e.EncryptedData[:len(e.EncryptedData)-1]
	out, err := asn1.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSkipsOtherBlocks(t *testing.T) {
	k := keys(t)["ec-p256"]
	keyPEM, _ := MarshalPrivateKeyPEM(k, nil)
	data := append(pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: []byte{6, 8, 42, 134, 72, 206, 61, 3, 1, 7}}), keyPEM...)
	got, err := ParsePrivateKeyPEM(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	samePublic(t, k, got)
}

func ExampleMarshalPrivateKeyPEM() {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	data, _ := MarshalPrivateKeyPEM(key, []byte("correct horse battery staple"))
	back, _ := ParsePrivateKeyPEM(data, func() ([]byte, error) { return []byte("correct horse battery staple"), nil })
	fmt.Println(string(data[:37]), back.(ed25519.PrivateKey).Equal(key))
	// Output: -----BEGIN ENCRYPTED PRIVATE KEY----- true
}
