package ecsig_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/internal/ecsig"
)

func TestRoundTrip(t *testing.T) {
	for _, c := range []elliptic.Curve{elliptic.P256(), elliptic.P384(), elliptic.P521()} {
		priv, err := ecdsa.GenerateKey(c, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		size := ecsig.ScalarSize(c)
		if want := map[string]int{"P-256": 32, "P-384": 48, "P-521": 66}[c.Params().Name]; size != want {
			t.Errorf("%s: ScalarSize %d, want %d", c.Params().Name, size, want)
		}
		digest := sha256.Sum256([]byte("keyplane"))
		for range 50 { // short r and s (leading zeros) come up now and then
			der, err := ecdsa.SignASN1(rand.Reader, priv, digest[:])
			if err != nil {
				t.Fatal(err)
			}
			rs, err := ecsig.ASN1ToP1363(der, size)
			if err != nil || len(rs) != 2*size {
				t.Fatalf("ASN1ToP1363: %d bytes, %v", len(rs), err)
			}
			back, err := ecsig.P1363ToASN1(rs, size)
			if err != nil || !bytes.Equal(back, der) {
				t.Fatalf("P1363ToASN1(ASN1ToP1363(%x)) = %x, %v", der, back, err)
			}
			if !ecdsa.VerifyASN1(&priv.PublicKey, digest[:], back) {
				t.Fatal("converted signature does not verify")
			}
		}
	}
}

func TestLeadingZeros(t *testing.T) {
	rs := make([]byte, 64)
	rs[31], rs[63] = 1, 0x80 // r = 1, s = 128 (needs a 0x00 in DER)
	der, err := ecsig.P1363ToASN1(rs, 32)
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{0x30, 0x07, 0x02, 0x01, 0x01, 0x02, 0x02, 0x00, 0x80}; !bytes.Equal(der, want) {
		t.Errorf("DER %x, want %x", der, want)
	}
	back, err := ecsig.ASN1ToP1363(der, 32)
	if err != nil || !bytes.Equal(back, rs) {
		t.Errorf("back %x, %v", back, err)
	}
}

func TestRefused(t *testing.T) {
	good, _ := ecsig.P1363ToASN1(append(bytes.Repeat([]byte{0}, 31), append([]byte{5}, append(bytes.Repeat([]byte{0}, 31), 7)...)...), 32)
	cases := []struct {
		name string
		f    func() ([]byte, error)
	}{
		{"P1363 too short", func() ([]byte, error) { return ecsig.P1363ToASN1(make([]byte, 63), 32) }},
		{"P1363 too long", func() ([]byte, error) { return ecsig.P1363ToASN1(make([]byte, 65), 32) }},
		{"size 0", func() ([]byte, error) { return ecsig.P1363ToASN1(nil, 0) }},
		{"DER garbage", func() ([]byte, error) { return ecsig.ASN1ToP1363([]byte{1, 2, 3}, 32) }},
		{"DER trailing byte", func() ([]byte, error) { return ecsig.ASN1ToP1363(append(bytes.Clone(good), 0), 32) }},
		{"DER r = 0", func() ([]byte, error) {
			return ecsig.ASN1ToP1363([]byte{0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x01}, 32)
		}},
		{"DER negative s", func() ([]byte, error) {
			return ecsig.ASN1ToP1363([]byte{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0xff}, 32)
		}},
		{"DER non-minimal integer", func() ([]byte, error) {
			return ecsig.ASN1ToP1363([]byte{0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x01}, 32)
		}},
		{"DER with size 0", func() ([]byte, error) { return ecsig.ASN1ToP1363(good, 0) }},
		{"DER value longer than size", func() ([]byte, error) {
			return ecsig.ASN1ToP1363([]byte{0x30, 0x07, 0x02, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01}, 1)
		}},
	}
	for _, c := range cases {
		out, err := c.f()
		if err == nil || !errors.Is(err, backend.ErrInvalidInput) || out != nil {
			t.Errorf("%s: %x, %v; want ErrInvalidInput", c.name, out, err)
		}
	}
}

func ExampleP1363ToASN1() {
	// A PKCS#11 token's CKM_ECDSA answer on P-256: r ‖ s, 32 bytes each.
	rs := make([]byte, 64)
	rs[31], rs[63] = 1, 2
	der, err := ecsig.P1363ToASN1(rs, ecsig.ScalarSize(elliptic.P256()))
	fmt.Printf("%x %v\n", der, err)
	// Output: 3006020101020102 <nil>
}
