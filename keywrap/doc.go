// Package keywrap wraps keys on the host for a backend to unwrap inside
// itself: a key held in memory (from the software keystore, or made by
// the program) goes into a PKCS#11 token without its plaintext ever being
// written to a file — it is encrypted in memory to the token's unwrapping
// public key and decrypted only inside the token (backend.KeyUnwrapper).
//
//	w, err := keywrap.ToPublicKey(tokenPub, priv, "release")
//	k, err := token.UnwrapKey(ctx, w, "transport", "")
//
// or, from any backend that exports keys to any that unwraps them:
//
//	k, err := keywrap.Import(ctx, softwareKeystore, "release", token, "transport", "")
//
// The wrapping is backend.WrapRSAAESKeyWrap (a fresh AES-256 key under
// RSA-OAEP with SHA-1, then the key under it with AES key wrap with
// padding, RFC 5649: the layout of PKCS#11's CKM_RSA_AES_KEY_WRAP), which
// every token of keyplane's matrix with CKM_RSA_PKCS_OAEP and
// CKM_AES_KEY_WRAP_PAD can unwrap in two steps. Private keys are wrapped
// as PKCS#8 PrivateKeyInfo DER, AES keys as their 32 bytes. WrapPad and
// UnwrapPad are RFC 5649 by Tink's KWP (tink-go/v2/kwp/subtle).
//
// # Security
//
// The key's plaintext exists only in this process's memory, for as long
// as the caller holds it; keywrap clears the copies it makes (the PKCS#8
// encoding, the AES key) once they are wrapped, but Go cannot promise
// that no other copy remains (big.Int values of an RSA key, the garbage
// collector). RSA-OAEP with SHA-1 is what SoftHSM2 2.6.1 takes and is
// sound for encryption (OAEP's security does not rest on SHA-1's
// collision resistance). The unwrapping backend sees the key: choose the
// token's unwrapping public key from a source you trust (read it from the
// token, not from a file anyone can replace).
//
// This package imports only the standard library and backend.
package keywrap
