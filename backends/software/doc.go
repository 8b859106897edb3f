// Package software is keyplane's pure-Go backend: keys held in memory for
// the life of the process (software:memory), or in a keystore directory of
// standard PKCS#8 PEM files (software:<dir>) that OpenSSL and Python's
// cryptography read directly.
//
// Importing the package registers the "software" scheme with
// backend.Register, so backend.Open(ctx, "software:memory") works after
//
//	import _ "github.com/keyplane/keyplane/backends/software"
//
// See [Open] for the URI grammar and docs/backends/software.md for the
// file formats.
//
// The keystore implements backend.Backend and the optional
// backend.AEADBackend (aes-256 keys, AES-256-GCM), backend.FernetBackend
// (fernet keys), backend.Importer, backend.Exporter,
// backend.CertificateStore (a PEM chain next to the key, <id>.chain.pem),
// backend.KeyVersions (a rotated key's versions are separate entries
// sharing its label, the highest primary; see docs/backends/software.md),
// backend.KeyAgreement (an ecdh.KeyExchanger for x25519 and
// ec-p256/384/521 keys) and backend.KEM (a crypto.Decapsulator for
// ml-kem-768/1024 keys). ML-DSA keys (ml-dsa-44/65/87, filippo.io/mldsa)
// sign through Signer, with a context string in *backend.MLDSAOptions.
// X25519, ML-KEM and ML-DSA keys are stored as their seeds (seed-only
// PKCS#8, docs/decisions.md).
//
// # Concurrency
//
// A Keystore and the signers, decrypters, AEADs and Fernet keys it hands
// out are safe for concurrent use. Several processes may use one keystore
// directory at once: generation, import and deletion take an exclusive
// flock(2) on the directory's ".lock" file and re-read the directory under
// it, so labels stay unique and no key is lost; lookups re-read the
// directory, so a key made by another process is found.
//
// A private key is decrypted (PBKDF2, then AES) once per process, when it
// is first used, and kept in memory; signing and decryption never touch
// the disk. A crypto.Signer obtained before another process deleted its
// key keeps working until the Keystore is closed.
//
// # Security
//
// Private keys are encrypted on disk only when a passphrase is configured
// (passphrase-source=file:..., or Config.Passphrase: a backend.SecretFunc
// called once by OpenConfig, its bytes kept until Close zeroes them);
// otherwise they are
// plain PKCS#8, protected by file permissions alone (directory 0700, files
// 0600), and Open logs one warning. With a passphrase, only encrypted key
// files are read: a planted unencrypted key file is refused, naming the
// file. A keystore directory that group or others can write is refused
// at Open. Decrypted keys live in the process's
// memory until Close. The passphrase never appears in an error, a log line
// or Config's String, GoString or Format. The package reads no
// environment variable (the keyplane CLI reads KEYPLANE_PASSPHRASE and
// sets Config.Passphrase).
//
// # Limitations
//
// RSA keys of 2048, 3072 and 4096 bits only (what backend.AlgorithmOf
// names), for import as for generation. Cross-process locking needs
// flock(2) (every Unix); elsewhere only goroutines of one process are
// serialised. Key files must not be edited in place: the keystore caches
// them by name.
package software
