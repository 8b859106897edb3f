// Package oaep decodes RSAES-OAEP encoded messages on the host (RFC 8017
// §7.1.2, steps 3 onwards), for tokens that can only do raw RSA
// (CKM_RSA_X_509) with the OAEP parameters a caller asks for.
//
// The PKCS#11 backend uses it as a fallback: the token computes
// EM = c^d mod n with the private key inside it, and [Decode] checks and
// strips the OAEP encoding here.
//
// # Security
//
// [Decode] runs in time independent of the secret data (the content of EM),
// and every failure is the same value, backend.ErrDecryption, so that it
// cannot serve as the oracle of Manger's attack ("is the first byte zero?")
// or of a padding attack. Only the length of the returned message, which
// the caller learns anyway on success, depends on where the 0x01 separator
// was found. See the comment in decode.go for the details.
//
// Decoding on the host means EM, and so the plaintext, exists in host
// memory; that is true of any decryption whose result the host receives.
// The private key itself never leaves the token.
//
// # Concurrency
//
// Decode is safe for concurrent use.
package oaep
