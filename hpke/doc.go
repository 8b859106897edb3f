// Package hpke seals messages to a recipient's public key and opens them
// with a key held by any keyplane backend, with Hybrid Public Key
// Encryption (RFC 9180, on the standard library's crypto/hpke).
//
// A [Suite] names a KEM, a KDF and an AEAD together, as the CLI spells it:
//
//	hpke-x25519         DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM
//	hpke-p256           DHKEM(P-256, HKDF-SHA256),  HKDF-SHA256, AES-128-GCM
//	hpke-mlkem768       ML-KEM-768,                 HKDF-SHA256, AES-256-GCM
//	hpke-xwing          MLKEM768-X25519 (X-Wing),   HKDF-SHA256, AES-256-GCM
//	hpke-mlkem768-p256  MLKEM768-P256,              HKDF-SHA256, AES-256-GCM
//
// The recipient's private key never leaves its backend: the DHKEM suites
// use the backend's [ecdh.KeyExchanger] (backend.KeyAgreement), ML-KEM-768
// its [crypto.Decapsulator] (backend.KEM), and the hybrids one of each —
// from the same backend ([OpenerFor] with two references) or from two
// ([NewOpener] with the handles), for instance the classical half in a
// PKCS#11 token and the ML-KEM half in a software keystore.
//
// # Format
//
// [Seal] returns what RFC 9180's single-shot API and Python's
// cryptography (hpke.Suite.encrypt) return: the encapsulated key followed
// by the AEAD ciphertext, enc ‖ ct, with no header. The suite is not in
// the message: sender and recipient agree on it beforehand (the caller
// states it, as with pyca). The info string binds the message to its use;
// the single-shot form has no associated data.
//
// # Security
//
// The hybrids are as strong as their stronger half only when both halves
// are held as carefully: a hybrid whose X25519 or P-256 half sits in an
// HSM and whose ML-KEM half sits in a software keystore protects against
// a future quantum attacker only as well as the keystore's file is
// protected today. That is the partial hybrid documented in
// docs/recipes.md: better than classical alone, not the same as a hybrid
// inside one HSM (no CI token has ML-KEM).
//
// Open's errors are backend.ErrDecryption for every failure of the
// message itself (a wrong key, info or suite, a tampered ciphertext), with
// no detail, so that the answer is no oracle.
//
// # Concurrency
//
// A Suite and an [Opener] are safe for concurrent use (as the backend's
// handles are).
package hpke
