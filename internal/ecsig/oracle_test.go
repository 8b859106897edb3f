package ecsig_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"errors"
	"math/big"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/internal/ecsig"
)

// asn1Sig is the signature as encoding/asn1 sees it: the oracle the
// cryptobyte code is compared with (and what this package used before).
type asn1Sig struct{ R, S *big.Int }

// oracleP1363ToASN1 is encoding/asn1 over math/big.
func oracleP1363ToASN1(sig []byte, size int) ([]byte, error) {
	return asn1.Marshal(asn1Sig{new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:])})
}

// randomP1363 returns r ‖ s of 2×size random bytes shaped by i: short
// values, high bits (a zero byte needed in DER), one-byte values.
func randomP1363(size, i int) []byte {
	sig := make([]byte, 2*size)
	rand.Read(sig)
	switch i % 6 {
	case 1:
		sig[0], sig[size] = 0, 0 // short values
	case 2:
		sig[0], sig[size] = 0x80, 0xff // a zero byte needed
	case 3:
		clear(sig[:size-1]) // r is one byte
		sig[size-1] |= 1
	case 4:
		clear(sig[:size/2+3])
		sig[size/2+3] = 0x90 // leading zeros, then a high bit
	}
	if sig[size-1] == 0 && bytes.Count(sig[:size], []byte{0}) == size {
		sig[size-1] = 1
	}
	return sig
}

// TestOracle: both conversions agree with encoding/asn1 over math/big for
// every curve size (and a size above 127 bytes, where lengths take the
// long form), with leading zeros and high bits set.
func TestOracle(t *testing.T) {
	for _, size := range []int{32, 48, 66, 130} {
		for i := range 2000 {
			sig := randomP1363(size, i)
			if bytes.Count(sig[size:], []byte{0}) == size {
				sig[2*size-1] = 1
			}
			want, err := oracleP1363ToASN1(sig, size)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ecsig.P1363ToASN1(sig, size)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("size %d, P1363ToASN1(%x):\n got %x, %v\nwant %x", size, sig, got, err, want)
			}
			back, err := ecsig.ASN1ToP1363(want, size)
			if err != nil || !bytes.Equal(back, sig) {
				t.Fatalf("size %d, ASN1ToP1363(%x) = %x, %v; want %x", size, want, back, err, sig)
			}
		}
	}
}

// TestZeroRefused: r or s zero is never an ECDSA signature; P1363ToASN1
// refuses it (encoding/asn1 would have encoded INTEGER 0), and so does
// ASN1ToP1363.
func TestZeroRefused(t *testing.T) {
	for _, sig := range [][]byte{make([]byte, 64), append(make([]byte, 32), bytes.Repeat([]byte{1}, 32)...), append(bytes.Repeat([]byte{1}, 32), make([]byte, 32)...)} {
		if der, err := ecsig.P1363ToASN1(sig, 32); !errors.Is(err, backend.ErrInvalidInput) || der != nil {
			t.Errorf("P1363ToASN1(%x) = %x, %v; want ErrInvalidInput", sig, der, err)
		}
		der, _ := oracleP1363ToASN1(sig, 32)
		if rs, err := ecsig.ASN1ToP1363(der, 32); !errors.Is(err, backend.ErrInvalidInput) || rs != nil {
			t.Errorf("ASN1ToP1363(%x) = %x, %v; want ErrInvalidInput", der, rs, err)
		}
	}
}

// TestMalformedDERRefused: DER that encoding/asn1 or crypto/ecdsa would
// refuse is refused, whatever byte is cut, added or changed.
func TestMalformedDERRefused(t *testing.T) {
	good, err := ecsig.P1363ToASN1(randomP1363(32, 2), 32)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"empty":                {},
		"wrong outer tag":      append([]byte{0x31}, good[1:]...),
		"wrong inner tag":      append(append([]byte{}, good[:2]...), append([]byte{0x04}, good[3:]...)...),
		"truncated":            good[:len(good)-1],
		"outer length too big": append([]byte{0x30, good[1] + 1}, good[2:]...),
		"indefinite length":    append([]byte{0x30, 0x80}, append(append([]byte{}, good[2:]...), 0, 0)...),
		"non-minimal length":   append([]byte{0x30, 0x81, good[1]}, good[2:]...),
		"three integers":       {0x30, 0x09, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01},
		"one integer":          {0x30, 0x03, 0x02, 0x01, 0x01},
		"negative r":           {0x30, 0x06, 0x02, 0x01, 0x80, 0x02, 0x01, 0x01},
		"r = 0 with a zero":    {0x30, 0x07, 0x02, 0x02, 0x00, 0x00, 0x02, 0x01, 0x01},
		"empty integer":        {0x30, 0x05, 0x02, 0x00, 0x02, 0x01, 0x01},
	}
	for name, der := range cases {
		if rs, err := ecsig.ASN1ToP1363(der, 32); !errors.Is(err, backend.ErrInvalidInput) || rs != nil {
			t.Errorf("%s (%x): %x, %v; want ErrInvalidInput", name, der, rs, err)
		}
		var s asn1Sig
		// encoding/asn1 ignores elements after the last field; crypto/ecdsa
		// (cryptobyte) does not, and neither does this package.
		if rest, err := asn1.Unmarshal(der, &s); name != "three integers" && err == nil && len(rest) == 0 && s.R.Sign() > 0 && s.S.Sign() > 0 {
			t.Errorf("%s (%x): encoding/asn1 accepts it; the case is not malformed", name, der)
		}
	}
}

// BenchmarkP1363ToASN1 is the cost of the conversion on PKCS#11's signing
// path: impl=cryptobyte (this package), impl=encoding-asn1 (encoding/asn1
// over math/big, the earlier code), and impl=ecdsa-sign (a P-256
// signature by crypto/ecdsa, for scale).
//
//	go test ./internal/ecsig -run '^$' -bench P1363ToASN1 -benchmem
func BenchmarkP1363ToASN1(b *testing.B) {
	sig := randomP1363(32, 2)
	b.Run("impl=cryptobyte", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ecsig.P1363ToASN1(sig, 32); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=encoding-asn1", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := oracleP1363ToASN1(sig, 32); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=ecdsa-sign", func(b *testing.B) {
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		digest := sha256.Sum256([]byte("benchmark"))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ecdsa.SignASN1(rand.Reader, priv, digest[:]); err != nil {
				b.Fatal(err)
			}
		}
	})
}
