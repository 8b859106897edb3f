package pkcs8_test

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/mlkem"
	"crypto/rand"
	"testing"

	"filippo.io/mldsa"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/pkcs8"
)

// derSeeds returns, for every key type ParsePrivateKey and ParsePublicKey
// read, a PKCS#8 PrivateKeyInfo and a SubjectPublicKeyInfo written by this
// package: ML-KEM-768/1024 and ML-DSA-44/65/87 in the seed-only form,
// X25519, and an EC P-256 key for the standard library's forms.
func derSeeds(f *testing.F) (private, public [][]byte) {
	k768, err := mlkem.GenerateKey768()
	if err != nil {
		f.Fatal(err)
	}
	k1024, err := mlkem.GenerateKey1024()
	if err != nil {
		f.Fatal(err)
	}
	x, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	pairs := [][2]any{{k768, k768.EncapsulationKey()}, {k1024, k1024.EncapsulationKey()}, {x, x.PublicKey()}, {ec, &ec.PublicKey}}
	for _, p := range []mldsa.Parameters{mldsa.MLDSA44(), mldsa.MLDSA65(), mldsa.MLDSA87()} {
		k, err := mldsa.GenerateKey(p)
		if err != nil {
			f.Fatal(err)
		}
		pairs = append(pairs, [2]any{k, k.Public()})
	}
	for _, kp := range pairs {
		der, err := pkcs8.MarshalPrivateKey(kp[0])
		if err != nil {
			f.Fatalf("%T: %v", kp[0], err)
		}
		pub, err := pkcs8.MarshalPublicKey(kp[1])
		if err != nil {
			f.Fatalf("%T: %v", kp[1], err)
		}
		private, public = append(private, der), append(public, pub)
	}
	return private, public
}

// stableRoundTrip checks what a parser returned: an error wrapping a
// backend sentinel and no key, or a key that marshal writes and parse
// reads back to the same bytes again.
func stableRoundTrip(t *testing.T, k any, err error, parse func([]byte) (any, error), marshal func(any) ([]byte, error)) {
	t.Helper()
	if err != nil {
		if k != nil {
			t.Fatalf("both a key (%T) and an error: %v", k, err)
		}
		if backend.Kind(err) == nil {
			t.Fatalf("error wraps no sentinel: %v", err)
		}
		return
	}
	m1, err := marshal(k)
	if err != nil {
		t.Fatalf("read a %T that cannot be written back: %v", k, err)
	}
	k2, err := parse(m1)
	if err != nil {
		t.Fatalf("cannot read the %T it wrote back: %v", k, err)
	}
	m2, err := marshal(k2)
	if err != nil || !bytes.Equal(m1, m2) {
		t.Fatalf("%T: the second round trip changed the encoding (%v)", k, err)
	}
}

// FuzzParsePrivateKey: any DER given to ParsePrivateKey is refused with
// a sentinel or read into a key whose PKCS#8 encoding is stable; never a
// panic. Seeds cover the post-quantum seed-only forms.
func FuzzParsePrivateKey(f *testing.F) {
	private, _ := derSeeds(f)
	for _, der := range private {
		f.Add(der)
	}
	f.Fuzz(func(t *testing.T, der []byte) {
		k, err := pkcs8.ParsePrivateKey(der)
		stableRoundTrip(t, k, err, pkcs8.ParsePrivateKey, pkcs8.MarshalPrivateKey)
	})
}

// FuzzParsePublicKey: the same for SubjectPublicKeyInfo and
// ParsePublicKey (what --recipient and --pubkey files hold).
func FuzzParsePublicKey(f *testing.F) {
	_, public := derSeeds(f)
	for _, der := range public {
		f.Add(der)
	}
	f.Fuzz(func(t *testing.T, der []byte) {
		k, err := pkcs8.ParsePublicKey(der)
		stableRoundTrip(t, k, err, pkcs8.ParsePublicKey, pkcs8.MarshalPublicKey)
	})
}
