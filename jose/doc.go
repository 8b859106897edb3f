// Package jose makes and checks JSON Web Signatures (RFC 7515, compact
// serialization) with any crypto.Signer — a key in a PKCS#11 token, a
// software keystore or a plugin — using the algorithms of RFC 7518 and
// RFC 8037: ES256, ES384, ES512, RS256, RS384, RS512, PS256, PS384, PS512
// and EdDSA (Ed25519). A JWT is a JWS whose payload is a JSON claims set;
// this package signs and checks the JWS and leaves the claims to the caller.
//
//	s, _ := b.Signer(ctx, "issuer")
//	token, _ := jose.Sign(s, payload, jose.SignOptions{KeyID: "issuer-1", Type: "JWT"})
//	payload, header, err := jose.Verify(token, s.Public(), jose.ES256)
//
// The algorithm follows from the key unless SignOptions.Alg names another
// that fits it: ES256/ES384/ES512 for ECDSA P-256/P-384/P-521, RS256 for
// RSA (RS384, RS512 and PS256/384/512 on request), EdDSA for Ed25519.
// ECDSA signatures are converted from the signer's ASN.1 DER to JOSE's
// fixed-length r ‖ s. RSA-PSS uses a salt as long as the hash, as RFC 7518
// section 3.5 requires (rsa.PSSSaltLengthEqualsHash): a keyplane signer
// given rsa.PSSSaltLengthAuto would use the longest salt the key allows
// instead — on every backend, since they all resolve it in
// backend.ParseSignerOpts — and Node's jose, PyJWT and this package's
// Verify refuse such signatures.
//
// # Security
//
// Verify takes the algorithms the caller allows and refuses every other
// one, "none" always (it is not an Algorithm here), an algorithm that does
// not fit the key (an RS256 token checked with an EC key, an ES384 token
// with a P-256 key), RSA keys under 2048 bits (RFC 7518 section 3.3), and
// headers with "crit" (no extension is understood, so RFC 7515 section
// 4.1.11 says to reject). Signatures are checked with the standard
// library, never by a backend.
//
// # Concurrency
//
// The functions are safe for concurrent use; a signer's own concurrency is
// its backend's.
//
// # Limitations
//
// Compact serialization only: no JSON serialization, no unencoded payloads
// (RFC 7797), no JWE, no JWK sets. Other Go libraries that take a
// crypto.Signer as is: github.com/lestrrat-go/jwx (jws.WithKey(alg,
// signer)) and github.com/go-jose/go-jose (through its cryptosigner
// package, which signs PS* with rsa.PSSSaltLengthAuto — the longest salt
// with keyplane's signers, which other implementations reject; use ES*,
// RS* or EdDSA with it, or this package). github.com/golang-jwt/jwt needs
// a SigningMethod written around the signer.
package jose
