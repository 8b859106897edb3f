// Package awskms is keyplane's AWS KMS backend: keys in AWS Key
// Management Service, used through the standard crypto.Signer and
// crypto.Decrypter handles. Importing it registers the "awskms" URI
// scheme; a program that does not import it does not link the AWS SDK.
//
//	import _ "github.com/keyplane/keyplane/backends/awskms"
//
//	b, err := backend.Open(ctx, "awskms:region=eu-west-2")
//	key, err := b.GenerateKey(ctx, backend.KeySpec{Label: "release", Algorithm: backend.ECP256})
//	signer, err := b.Signer(ctx, "release") // alias/release
//
// See [ParseURI] for the URI grammar (smallstep's awskms: and sigstore's
// awskms:// forms are read too) and docs/backends/awskms.md for set-up,
// the IAM policy per operation, costs and deletion.
//
// A keyplane label is the KMS alias alias/<label>; key references may
// also be "id:<hex>" (Key.ID, the key ID's 16 bytes), a KMS key ID, an
// alias name, a key or alias ARN (Key.URI is the key ARN) or sigstore's
// awskms:///… key URIs. Signatures are KMS Sign requests with MessageType
// DIGEST: RSA PKCS#1 v1.5 and PSS with SHA-256/384/512, ECDSA on P-256,
// P-384 and P-521. RSA-OAEP decryption takes SHA-1 or SHA-256 with no
// label.
//
// # Concurrency
//
// A Backend and the signers and decrypters it returns are safe for
// concurrent use; each call is one or more independent HTTPS requests on
// the SDK's shared client. Public keys are fetched once per key and
// cached for the life of the Backend (they never change in KMS).
//
// # Security
//
// Credentials come from code (Config.Credentials, any
// aws.CredentialsProvider, or a whole Config.AWS), or, when the program
// gives neither, from the AWS SDK's standard chain (environment variables,
// shared config and credentials files, SSO, web identity, container and
// instance roles) — the SDK reads the environment then, as the user asked
// by opening a bare awskms: URI; keyplane's own code reads none. With
// credentials from code the default chain is not loaded at all. The URI
// never holds a credential, and ParseURI refuses attributes that would;
// Config's String, GoString and Format never show a credentials provider's
// fields. Errors carry KMS's error code and message, never
// a credential; decryption failures are backend.ErrDecryption and nothing
// more. Private keys never leave KMS.
//
// # Limitations
//
//   - A KMS key has one key usage for life: RSA keys are made for
//     signing or for decryption as the URI's rsa-key-usage says.
//   - RSA-PSS signatures carry exactly one salt length (the hash length
//     on AWS; pss-salt=maximum for local-kms); other lengths are
//     backend.ErrUnsupported. OAEP takes no label and MGF1 with the OAEP
//     hash only; no PKCS#1 v1.5 decryption.
//   - No Ed25519, no fernet keys, no import or export.
//   - aes-256 keys are SYMMETRIC_DEFAULT keys. Their AEAD (KMS Encrypt and
//     Decrypt) seals 1 to MaxAEADPlaintext (4096) bytes into KMS's own
//     ciphertext blob, not the contract's nonce ‖ ciphertext ‖ tag: the
//     capability report says Details["aead-layout"] = "service", NonceSize
//     is 0 and Overhead an upper bound. Additional data travels as the
//     encryption context EncryptionContextKey. GenerateDataKey and
//     DecryptDataKey (backend.DataKeyGenerator) make and open data keys
//     for envelope encryption, one request each.
//   - DeleteKey removes the aliases at once and schedules the key's
//     destruction after MinDeletionWindowDays; the key is ErrNotFound to
//     keyplane from then on.
//   - Every Sign and Decrypt is a network round trip, bounded by the
//     URI's call-timeout (DefaultCallTimeout); throttling and network
//     failures are backend.ErrUnavailable after the SDK's retries.
package awskms
