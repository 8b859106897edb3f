// Package conformance is the one suite every keyplane backend passes.
//
// It checks a backend through the contract in package backend only, and
// checks every result with the standard library: a signature made by the
// backend verifies with crypto/rsa, crypto/ecdsa or crypto/ed25519; a
// ciphertext made by crypto/rsa decrypts through the backend; error kinds are
// tested with errors.Is against the backend sentinels. It runs, for every
// algorithm the backend reports in its Capabilities: key generation, lookup
// by label and ID, listing, signing with every applicable scheme, hash and
// PSS salt mode, RSA decryption (OAEP with every reported hash, with and
// without a label, PKCS#1 v1.5 with and without implicit rejection), AEAD
// and Fernet primitives where the backend offers them, key import, the
// negative cases (missing keys, duplicate and malformed labels, wrong key
// type, unknown options, tampered ciphertexts), deletion, reopening a
// persistent backend, and many goroutines at once.
//
// What the backend reports it cannot do is skipped, with the reason. What it
// reports it can do and then does not do is a failure. Limits inside an
// operation come from Capabilities.Details: with "pss-salt" (AWS KMS
// signs RSA-PSS with the hash length only, local-kms with the maximum
// only) the other salt lengths must be refused with ErrUnsupported, and
// the TLS 1.3 and x509 RSA-PSS checks, which need the hash length, are
// skipped when it is ruled out; with "oaep" = no-label-same-mgf1-hash,
// OAEP labels and another MGF1 hash must be refused.
//
// The same checks run under go test:
//
//	func TestConformance(t *testing.T) {
//		conformance.Run(t, func(t *testing.T) backend.Backend {
//			b, err := backend.Open(t.Context(), "software:memory")
//			if err != nil {
//				t.Fatal(err)
//			}
//			return b
//		}, conformance.Config{})
//	}
//
// and outside it, for a command-line tool or a health check, with [Check],
// which returns a [Report] that prints as a table or JSON.
//
// # Checks
//
// Results are named by what they check, the first element being the group
// (the table groups by it):
//
//	capabilities                  the report itself: known names, optional interfaces present
//	generate/<alg>                GenerateKey and the returned metadata (an unreported algorithm must be refused)
//	key/<alg>, list               Key by label, "id:<hex>" and URI; Signer/Decrypter public keys; Keys sorted
//	sign/<alg>/<op>               every option form (PSS salt auto, equals-hash, 20; Ed25519 both forms), verified by the standard library
//	decrypt/<alg>/<op>            OAEP with and without a label (and MGF1-SHA1), PKCS#1 v1.5 with implicit rejection; tampering is ErrDecryption (for PKCS#1 v1.5 on a backend reporting PKCS1v15ImplicitRejection: a deterministic synthetic plaintext instead)
//	aead/..., fernet/...          round trips against crypto/cipher and crypto/hmac, nonces, tampering, wrong key types
//	interop/x509/<alg>            crypto/x509 makes a self-signed certificate with the backend's crypto.Signer
//	interop/tls/<alg>             a TLS 1.3 handshake (crypto/tls, in memory) with the backend's key as the server's
//	import/<alg>, import/...      standard-library keys imported and used; duplicates and malformed material refused
//	errors/...                    not found, duplicate and malformed labels, bad references, unknown algorithms, wrong key types, unknown options
//	versions/...                  backend.KeyVersions: a new key is version 1; after Rotate the label signs, decrypts and seals with version 2 while version 1's URI still does what it did (old OAEP, AES-GCM and Fernet ciphertexts open through it, not through the label); SetMinVersion retires version 1 (ErrKeyRetired) but its public key stays; the primary cannot be deleted; DeleteVersion and DeleteKey remove versions. Skipped when Rotate or Versions is ErrUnsupported, with the backend's reason
//	wrap/...                      backend.KeyWrapper and KeyUnwrapper with aes-key-wrap-pad: a key made without Wrappable, and a Wrappable key under a wrapping key the suite made, do not leave (ErrUnsupported); with Config.TrustedWrappingKey, Wrappable ec-p256, rsa-2048 and aes-256 keys wrap, unwrap into the same backend under a new label and sign (open) as the original; a changed byte is ErrInvalidInput, a taken label ErrAlreadyExists. Skipped, as one check, when Capabilities.Details["wrap"] lists nothing
//	concurrency/...               Config.Concurrency goroutines signing, decrypting, sealing, generating and deleting at once
//	reopen/...                    with Config.Reopen: the closed instance refuses calls; keys and what they made survive
//	delete/<alg>, cleanup, close  deletion by label and ID; nothing of the run left; every call after Close is ErrClosed
//
// # Keys
//
// The suite makes its own keys, every one labelled with [Config.LabelPrefix]
// (by default "conformance-" and a random hex string), and deletes them all
// before it returns, whatever happened. It never reads, changes or deletes
// any other key, so it is safe to run against a keystore or token that holds
// real keys.
//
// # Concurrency
//
// The checks run one after another; the concurrency checks start
// [Config.Concurrency] goroutines of their own against the one backend. A
// backend under test must therefore be safe for concurrent use, as the
// contract requires.
//
// # Limitations
//
// The suite proves that the reported operations work and that failures are
// classified; it does not measure side channels or constant-time behaviour,
// and it cannot tell whether a key really stays inside a token.
//
// This package imports only the standard library and package backend.
package conformance
