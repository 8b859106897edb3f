// Package ecsig converts ECDSA signatures between the two encodings keyplane
// meets: ASN.1 DER (SEQUENCE { r INTEGER, s INTEGER }), which crypto/ecdsa,
// crypto/x509 and TLS use, and IEEE P1363 (r ‖ s, each left-padded to the
// byte length of the curve order), which PKCS#11's CKM_ECDSA returns and
// JOSE/WebCrypto use.
//
// # Security
//
// The conversions are format checks only: they do not verify a signature.
// [ASN1ToP1363] accepts only DER (minimal, definite-length integers, no
// trailing data) with 0 < r, s; [P1363ToASN1] accepts only the exact
// length 2×size. Values of r or s at or above the curve order pass through
// and are left for verification to reject.
//
// # Concurrency
//
// The functions are pure and safe for concurrent use.
package ecsig

import (
	"crypto/elliptic"
	"encoding/asn1"
	"fmt"
	"math/big"

	"github.com/keyplane/keyplane/backend"
)

// ScalarSize returns the byte length of r and s in a P1363 signature on
// curve c: the byte length of the curve's order.
func ScalarSize(c elliptic.Curve) int {
	return (c.Params().N.BitLen() + 7) / 8
}

type derSig struct {
	R, S *big.Int
}

// P1363ToASN1 converts an r ‖ s signature, where r and s are each size bytes
// (see [ScalarSize]), to ASN.1 DER. A signature of another length is an
// error wrapping backend.ErrInvalidInput.
func P1363ToASN1(sig []byte, size int) ([]byte, error) {
	if size <= 0 {
		return nil, fmt.Errorf("ecsig: scalar size %d: %w", size, backend.ErrInvalidInput)
	}
	if len(sig) != 2*size {
		return nil, fmt.Errorf("ecsig: P1363 signature of %d bytes, want %d (2×%d): %w", len(sig), 2*size, size, backend.ErrInvalidInput)
	}
	r := new(big.Int).SetBytes(sig[:size])
	s := new(big.Int).SetBytes(sig[size:])
	der, err := asn1.Marshal(derSig{r, s})
	if err != nil {
		return nil, fmt.Errorf("ecsig: encoding DER signature: %v: %w", err, backend.ErrInvalidInput)
	}
	return der, nil
}

// ASN1ToP1363 converts a DER signature to r ‖ s with each value left-padded
// to size bytes. Malformed DER, trailing bytes, r or s not positive, or a
// value longer than size bytes is an error wrapping backend.ErrInvalidInput.
func ASN1ToP1363(sig []byte, size int) ([]byte, error) {
	if size <= 0 {
		return nil, fmt.Errorf("ecsig: scalar size %d: %w", size, backend.ErrInvalidInput)
	}
	var ds derSig
	rest, err := asn1.Unmarshal(sig, &ds)
	if err != nil {
		return nil, fmt.Errorf("ecsig: malformed DER signature: %v: %w", err, backend.ErrInvalidInput)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("ecsig: %d trailing bytes after DER signature: %w", len(rest), backend.ErrInvalidInput)
	}
	if ds.R.Sign() <= 0 || ds.S.Sign() <= 0 {
		return nil, fmt.Errorf("ecsig: DER signature with r or s not positive: %w", backend.ErrInvalidInput)
	}
	if (ds.R.BitLen()+7)/8 > size || (ds.S.BitLen()+7)/8 > size {
		return nil, fmt.Errorf("ecsig: DER signature value longer than %d bytes: %w", size, backend.ErrInvalidInput)
	}
	out := make([]byte, 2*size)
	ds.R.FillBytes(out[:size])
	ds.S.FillBytes(out[size:])
	return out, nil
}
