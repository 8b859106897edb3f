// Package pkcs8 reads and writes private keys in the PEM and PKCS#8 forms
// that OpenSSL and Python's cryptography use, including password-encrypted
// PKCS#8 (EncryptedPrivateKeyInfo with PBES2, RFC 8018).
//
// [ParsePrivateKeyPEM] reads "PRIVATE KEY" (PKCS#8), "ENCRYPTED PRIVATE
// KEY" (PBES2), "RSA PRIVATE KEY" (PKCS#1) and "EC PRIVATE KEY" (SEC1)
// blocks. [MarshalPrivateKeyPEM] writes PKCS#8, encrypted with a passphrase
// when one is given.
//
// Key types: RSA, ECDSA, Ed25519 and X25519 (*ecdh.PrivateKey) keys in the
// standard library's encodings, and ML-KEM-768/1024
// (*mlkem.DecapsulationKey768/1024, RFC 9935) and ML-DSA-44/65/87
// (*mldsa.PrivateKey from filippo.io/mldsa, RFC 9881) keys in the
// seed-only PKCS#8 form that Python's cryptography 48 and OpenSSL 3.5
// write; their expanded and "both" forms are refused with
// backend.ErrUnsupported. [MarshalPrivateKey] and [ParsePrivateKey] are the
// DER forms, [MarshalPublicKey] and [ParsePublicKey] SubjectPublicKeyInfo
// for all of these types (crypto/x509 in Go 1.26 reads none of the
// post-quantum ones).
//
// What is written: PBES2 with PBKDF2-HMAC-SHA256 ([DefaultIterations]
// iterations, a 16-byte random salt) and AES-256-CBC — the scheme OpenSSL 3
// and pyca's BestAvailableEncryption use, with a modern iteration count.
// It loads with
//
//	openssl pkey -in key.pem -passin file:passphrase.txt
//
// and with serialization.load_pem_private_key(data, password) in Python.
//
// What is read: PBES2 with PBKDF2 over HMAC-SHA1, -SHA224, -SHA256,
// -SHA384 or -SHA512 and AES-128-CBC, AES-192-CBC or AES-256-CBC. Other
// schemes (scrypt, DES, 3DES, RC2, PBES1, PKCS#12 PBE) are refused with an
// error wrapping backend.ErrUnsupported that names the scheme.
//
// # Errors
//
// Errors wrap keyplane's sentinels: a wrong passphrase is
// backend.ErrAuthentication (every failure after decryption — bad padding,
// a plaintext that does not parse — is reported that way, never as garbage
// key material); malformed or truncated input is backend.ErrInvalidInput;
// a scheme or key type this package does not handle is
// backend.ErrUnsupported. Errors never contain the passphrase or key bytes.
//
// # Concurrency
//
// The package holds no state: every function is safe for concurrent use.
//
// # Security
//
// PBES2 with CBC has no integrity protection of its own: a wrong
// passphrase is detected by the padding and by the DER structure of the
// plaintext, which is reliable, but someone who can modify the file can
// corrupt the key without knowing the passphrase. Keep files where only
// their owner can write.
//
// The iteration count read from a file is capped at [MaxIterations]
// (1,000,000: OpenSSL 3 and pyca write 2048, keyplane 600,000), checked
// before the passphrase is asked for, so a small hostile file cannot make
// a reader spin. Key sizes are bounded the same way, before parsing: a
// PEM block larger than [MaxKeyDER] bytes, or an RSA key whose modulus is
// longer than [MaxRSABits] bits, is refused with backend.ErrUnsupported
// without the cost of parsing and checking it.
//
// # Limitations
//
// Legacy OpenSSL PEM encryption ("Proc-Type: 4,ENCRYPTED" with a DEK-Info
// header) is refused; convert such keys with
// "openssl pkcs8 -topk8 -in old.pem -out new.pem".
package pkcs8
