package pkcs8_test

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/mlkem"
	"crypto/rand"
	"encoding/asn1"
	"errors"
	"strings"
	"testing"

	"filippo.io/mldsa"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/pkcs8"
)

func pqTestKeys(t *testing.T) map[backend.Algorithm]crypto.PrivateKey {
	t.Helper()
	k768, _ := mlkem.GenerateKey768()
	k1024, _ := mlkem.GenerateKey1024()
	x, _ := ecdh.X25519().GenerateKey(rand.Reader)
	keys := map[backend.Algorithm]crypto.PrivateKey{backend.MLKEM768: k768, backend.MLKEM1024: k1024, backend.X25519: x}
	for alg, p := range map[backend.Algorithm]mldsa.Parameters{backend.MLDSA44: mldsa.MLDSA44(), backend.MLDSA65: mldsa.MLDSA65(), backend.MLDSA87: mldsa.MLDSA87()} {
		k, err := mldsa.GenerateKey(p)
		if err != nil {
			t.Fatal(err)
		}
		keys[alg] = k
	}
	return keys
}

func publicOf(key any) any {
	switch k := key.(type) {
	case *mlkem.DecapsulationKey768:
		return k.EncapsulationKey()
	case *mlkem.DecapsulationKey1024:
		return k.EncapsulationKey()
	}
	return key.(interface{ Public() crypto.PublicKey }).Public()
}

// TestPQRoundTrip: each post-quantum and X25519 key survives PKCS#8 (plain
// and encrypted PEM) and its public key SPKI, and the PKCS#8 is the
// seed-only form: the seed sits in [0] IMPLICIT at the end.
func TestPQRoundTrip(t *testing.T) {
	for alg, key := range pqTestKeys(t) {
		t.Run(string(alg), func(t *testing.T) {
			der, err := pkcs8.MarshalPrivateKey(key)
			if err != nil {
				t.Fatal(err)
			}
			back, err := pkcs8.ParsePrivateKey(der)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(der, mustMarshal(t, back)) {
				t.Fatal("the key changed in a PKCS#8 round trip")
			}
			if got, _ := backend.AlgorithmOf(back); got != alg {
				t.Errorf("parsed key is %s, want %s", got, alg)
			}
			if alg != backend.X25519 {
				seed := key.(interface{ Bytes() []byte }).Bytes()
				if !bytes.HasSuffix(der, append([]byte{0x80, byte(len(seed))}, seed...)) {
					t.Errorf("PKCS#8 is not the seed-only form: % x", der)
				}
			}
			pemData, err := pkcs8.MarshalPrivateKeyPEM(key, []byte("pass"))
			if err != nil {
				t.Fatal(err)
			}
			back, err = pkcs8.ParsePrivateKeyPEM(pemData, func() ([]byte, error) { return []byte("pass"), nil })
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(mustMarshal(t, back), der) {
				t.Error("the key changed in an encrypted PEM round trip")
			}
			spki, err := pkcs8.MarshalPublicKey(publicOf(key))
			if err != nil {
				t.Fatal(err)
			}
			pub, err := pkcs8.ParsePublicKey(spki)
			if err != nil {
				t.Fatal(err)
			}
			if spki2, err := pkcs8.MarshalPublicKey(pub); err != nil || !bytes.Equal(spki, spki2) {
				t.Error("the public key changed in an SPKI round trip")
			}
		})
	}
}

func mustMarshal(t *testing.T, key any) []byte {
	t.Helper()
	der, err := pkcs8.MarshalPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestPQRefused: the expanded and "both" forms, a wrong seed length and
// parameters in the AlgorithmIdentifier are refused with the right
// sentinel and a message naming the problem.
func TestPQRefused(t *testing.T) {
	oid := asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 4, 2} // ML-KEM-768
	mk := func(inner []byte, params []byte) []byte {
		type algID struct {
			Algorithm  asn1.ObjectIdentifier
			Parameters asn1.RawValue `asn1:"optional"`
		}
		a := algID{Algorithm: oid}
		if params != nil {
			a.Parameters = asn1.RawValue{FullBytes: params}
		}
		der, err := asn1.Marshal(struct {
			Version    int
			Algo       algID
			PrivateKey []byte
		}{0, a, inner})
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	seed := bytes.Repeat([]byte{7}, 64)
	for _, c := range []struct {
		name string
		der  []byte
		want error
		has  string
	}{
		{"expanded", mk(append([]byte{0x04, 0x82, 0x09, 0x60}, make([]byte, 2400)...), nil), backend.ErrUnsupported, "seed-only"},
		{"both", mk([]byte{0x30, 0x03, 0x04, 0x01, 0x00}, nil), backend.ErrUnsupported, "both"},
		{"short seed", mk(append([]byte{0x80, 32}, seed[:32]...), nil), backend.ErrInvalidInput, "wrong length"},
		{"parameters", mk(append([]byte{0x80, 64}, seed...), []byte{0x05, 0x00}), backend.ErrInvalidInput, "parameters"},
		{"empty", mk(nil, nil), backend.ErrInvalidInput, "empty"},
	} {
		_, err := pkcs8.ParsePrivateKey(c.der)
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.has) {
			t.Errorf("%s: %v, want %v mentioning %q", c.name, err, c.want, c.has)
		}
	}
	if _, err := pkcs8.ParsePrivateKey(mk(append([]byte{0x80, 64}, seed...), nil)); err != nil {
		t.Errorf("the seed-only form itself: %v", err)
	}
	p256, _ := ecdh.P256().GenerateKey(rand.Reader)
	if _, err := pkcs8.MarshalPrivateKey(p256); !errors.Is(err, backend.ErrUnsupported) {
		t.Errorf("an ecdh P-256 private key: %v, want ErrUnsupported (EC keys are *ecdsa.PrivateKey)", err)
	}
}
