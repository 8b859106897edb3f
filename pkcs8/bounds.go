package pkcs8

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/bits"

	"github.com/keyplane/keyplane/backend"
)

// MaxRSABits is the longest RSA modulus this package reads: OpenSSL's own
// limit (OPENSSL_RSA_MAX_MODULUS_BITS). A longer key is refused from the
// modulus length in its DER header, before its numbers are parsed and
// checked: crypto/rsa's checks grow with the cube of the size, about 10 ms
// for 16,384 bits but 11 s for a fake 524,288-bit key.
const MaxRSABits = 16384

// MaxKeyDER is the largest key block (the DER inside one PEM block) this
// package reads: a 16,384-bit RSA key in encrypted PKCS#8 is about 9.4 KB.
// A larger block is refused before it is parsed or decrypted.
const MaxKeyDER = 16 << 10

var oidRSAEncryption = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}

// checkBlockSize refuses a key block larger than MaxKeyDER.
func checkBlockSize(typ string, der []byte) error {
	if len(der) > MaxKeyDER {
		return fmt.Errorf("pkcs8: %q block of %d bytes is larger than any key this package reads (%d bytes; RSA up to %d bits): %w",
			typ, len(der), MaxKeyDER, MaxRSABits, backend.ErrUnsupported)
	}
	return nil
}

// checkPKCS1 refuses a DER RSAPrivateKey whose modulus is longer than
// MaxRSABits, reading only the header: the version and the modulus's
// length. Anything it cannot read is left to the full parser.
func checkPKCS1(der []byte) error {
	var hdr struct {
		Version int
		N       asn1.RawValue
	}
	if _, err := asn1.Unmarshal(der, &hdr); err != nil {
		return nil
	}
	if hdr.N.Class != asn1.ClassUniversal || hdr.N.Tag != asn1.TagInteger || hdr.N.IsCompound {
		return nil
	}
	if n := bitLen(hdr.N.Bytes); n > MaxRSABits {
		return fmt.Errorf("pkcs8: %d-bit RSA modulus is longer than %d bits (refused unparsed): %w", n, MaxRSABits, backend.ErrUnsupported)
	}
	return nil
}

// checkPKCS8 applies checkPKCS1 to the RSA key inside a DER
// PrivateKeyInfo.
func checkPKCS8(der []byte) error {
	var info struct {
		Version    int
		Algo       pkix.AlgorithmIdentifier
		PrivateKey []byte
	}
	if _, err := asn1.Unmarshal(der, &info); err != nil {
		return nil
	}
	if !info.Algo.Algorithm.Equal(oidRSAEncryption) {
		return nil
	}
	return checkPKCS1(info.PrivateKey)
}

// bitLen is the length in bits of the big-endian number b.
func bitLen(b []byte) int {
	for len(b) > 0 && b[0] == 0 {
		b = b[1:]
	}
	if len(b) == 0 {
		return 0
	}
	return (len(b)-1)*8 + bits.Len8(b[0])
}
