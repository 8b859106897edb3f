//go:build cgo && !nopkcs11

package pkcs11

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/hex"
	"testing"

	"github.com/miekg/pkcs11"
)

// TestECPointShortFormLength: tpm2-pkcs11 1.9 gives a P-521 CKA_EC_POINT
// as an OCTET STRING whose 133-byte length is written in the short form
// (04 85 …, not DER's 04 81 85 …). These bytes are what it returned for a
// key made with pkcs11-tool --keypairgen --key-type EC:secp521r1.
func TestECPointShortFormLength(t *testing.T) {
	const observed = "048504001c380ec2093a2c92cacda7aed95c5cf765088ba641a4b1941744851bdb7f91f6e0311003eab69240205b3638c1e75889c87594aad2cc21a99e7918f8cb40f41f1f014b6c12cb5597e57d18ae6fab53265ffdee74aca19766d6534c665d3fb02e1fee8cb24d7c7243c202bc5764db8370e9c2a8ea4a7ae83151b5dad6a03f32c843ec5b"
	point, err := hex.DecodeString(observed)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := parseECPublic(pkcs11.CKK_EC, ecParams("ec-p521"), point)
	if err != nil {
		t.Fatalf("parseECPublic of tpm2-pkcs11's P-521 point: %v", err)
	}
	ec, ok := pub.(*ecdsa.PublicKey)
	if !ok || ec.Curve != elliptic.P521() {
		t.Fatalf("got %T %v, want a P-521 key", pub, pub)
	}
	raw, err := ec.Bytes()
	if err != nil || hex.EncodeToString(raw) != observed[4:] {
		t.Errorf("the parsed point is not the one inside the OCTET STRING (err %v)", err)
	}
	// The same point in DER, and bare, still parse.
	for _, p := range [][]byte{ecPoint(raw), raw} {
		if _, err := parseECPublic(pkcs11.CKK_EC, ecParams("ec-p521"), p); err != nil {
			t.Errorf("parseECPublic(% x…): %v", p[:4], err)
		}
	}
}
