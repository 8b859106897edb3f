// Package interop holds keyplane's cross-library tests with Python's
// cryptography package (Debian's python3-cryptography), the library whose
// guide keyplane's recipes follow. It has no API: everything is in its
// tests.
//
// The tests run both directions on every backend in the table in
// backends_test.go (the software backend in memory and in a keystore
// directory, and the PKCS#11 backend on a throwaway SoftHSM2 token):
//
//   - RSA-OAEP (SHA-256, with and without a label, and SHA-1): pyca
//     encrypts to the backend's public key, the backend decrypts;
//   - signatures (RSA-PSS, RSA PKCS#1 v1.5, ECDSA, Ed25519): the backend's
//     verify in pyca, and pyca's verify with the standard library against
//     the backend's public key;
//   - Fernet and MultiFernet: pyca's tokens decrypt with a key imported
//     into the backend, the backend's tokens decrypt in pyca, and rotation
//     works across both;
//   - PKCS#8: pyca's BestAvailableEncryption keys import into the backend,
//     and the software backend's password-encrypted export loads in pyca;
//   - SubjectPublicKeyInfo: pyca loads the backend's public keys;
//   - AES-256-GCM: the backend's nonce ‖ ciphertext ‖ tag opens in pyca's
//     AESGCM, and pyca's nonce + AESGCM.encrypt output opens in the backend;
//   - the Fernet specification's test cases with the key in each backend.
//
// The post-quantum and HPKE tests (pq*_test.go, hpke*_test.go,
// mldsa*_test.go, mlkem_test.go) take Python's cryptography 48 as the
// peer, testdata/pyca_pq_peer.py; those named *_cli_test.go drive the
// keyplane command itself (built from this checkout once per run):
// `encrypt --recipient` sealing to pyca's SPKI files for every HPKE suite
// pyca has, and `sign`/`verify --context` against pyca's ML-DSA.
//
// The Python side is testdata/pyca_peer.py, which reads one JSON request
// on stdin and answers on stdout. Secrets (passphrases, Fernet keys) go
// only through stdin, never on a command line.
//
// When python3-cryptography or SoftHSM2 is missing the tests skip, unless
// KEYPLANE_REQUIRE_TOOLS=1 (CI) makes that a failure.
package interop
