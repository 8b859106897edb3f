// Package fernet implements Fernet tokens and MultiFernet key rotation, as
// specified at https://github.com/fernet/spec (Spec.md, version 0x80) and as
// Python's cryptography package (cryptography.fernet) makes and reads them,
// with the key held by any keyplane backend.
//
// A token is the base64url text (with "=" padding) of
//
//	0x80 ‖ timestamp (64-bit big-endian seconds) ‖ IV (16 bytes) ‖ AES-128-CBC ciphertext (PKCS#7) ‖ HMAC-SHA256
//
// where the HMAC covers everything before it. The two halves of the 32-byte
// Fernet key (signing key ‖ encryption key) stay wherever the key lives: this
// package only asks a [backend.FernetKey] for an HMAC and for CBC encryption
// and decryption, so the same code works with a key in memory
// ([NewSoftwareKey]), in a keystore, inside a PKCS#11 token, or behind a
// plugin. The token format itself — version, timestamp, IV, MAC check, TTL —
// is done here, once.
//
// Keys are the 44-character base64url text that pyca's Fernet.generate_key
// prints: [ParseKey] reads it, [EncodeKey] writes it, [GenerateKey] makes a
// new one. A key from ParseKey can be imported into a backend (with
// [backend.Importer] and Algorithm [backend.Fernet]) and used from there.
//
// # Compatibility with Python's cryptography
//
// Tokens made here decrypt with cryptography.fernet.Fernet and the other way
// round (the interop tests run both directions against Debian's
// python3-cryptography 38). The checks follow pyca's fernet.py exactly:
//
//   - With a TTL (ttl > 0), a token is refused when timestamp + ttl < now
//     (now in whole seconds, rounded down, as pyca's int(time.time())), and
//     when its timestamp is more than 60 seconds in the future
//     (pyca's _MAX_CLOCK_SKEW).
//   - Without a TTL (ttl <= 0, pyca's ttl=None) the timestamp is not checked
//     at all, not even for clock skew: pyca checks skew only when a TTL is
//     given, and so does this package.
//   - Time checks come before the MAC check (the specification's order, so
//     that a stale token costs no key operation), and the MAC is checked
//     before anything is decrypted.
//
// Differences: pyca's base64 decoder silently drops characters outside the
// alphabet and also accepts "+" and "/"; this package accepts only the
// base64url alphabet with "=" padding (leading and trailing white space and
// line breaks are ignored). Every token pyca makes is accepted.
//
// # Errors
//
// Every way a token can be bad — wrong base64, wrong version byte, too
// short, a ciphertext that is not whole blocks, a wrong MAC (including a
// token made with another key), bad padding, an expired TTL, a timestamp too
// far in the future — gives the same error, [ErrInvalidToken], which
// matches both errors.Is(err, ErrInvalidToken) and errors.Is(err,
// backend.ErrDecryption), and says nothing about which check failed (like
// pyca's InvalidToken). Failures of the backend itself (an unreachable HSM,
// a closed backend, a cancelled context) are returned wrapped instead, so a
// caller can tell "retry later" from "this token is bad".
//
// # Security
//
// Fernet gives confidentiality and integrity of the message, not secrecy of
// its length or of the time it was made: the timestamp is in clear, and the
// token length reveals the message length to within 16 bytes. There is no
// replay protection beyond the TTL; the TTL is only as good as the clocks of
// the machines involved.
//
// The MAC is recomputed by the key's backend and compared with
// [crypto/hmac.Equal] (constant time); a token whose MAC does not match is
// never decrypted, so CBC padding errors cannot serve as an oracle. IVs
// come from [crypto/rand]. A Fernet key is 128 bits for each half; it must
// be random (use [GenerateKey], or generate it inside the backend), never
// derived from a password without a KDF.
//
// A key text from [EncodeKey] or [ParseKey] is the secret itself: keep it out
// of command lines, logs and error messages (errors from this package never
// contain key bytes or key text). With an HSM backend, generate the key
// inside the token, where it is not extractable, rather than importing a key
// that existed in memory.
//
// # Concurrency
//
// A [Fernet] or [MultiFernet] is safe for concurrent use when its backend
// key is, which every keyplane backend guarantees; the key from
// [NewSoftwareKey] is.
//
// # Limitations
//
// Only version 0x80 tokens exist and are supported. Timestamps before 1970
// cannot be encoded. A token is held in memory whole; there is no streaming
// API, as in pyca.
package fernet
