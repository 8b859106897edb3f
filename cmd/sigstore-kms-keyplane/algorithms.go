package main

import (
	"crypto"
	"fmt"

	"github.com/keyplane/keyplane/backend"
)

// sigstoreAlgorithm is one of sigstore's signature algorithm names (the
// names of cosign's --signing-algorithm and sigstore's algorithm
// registry) that the plugin offers, with the keyplane key type that makes
// it and the hash it signs with.
type sigstoreAlgorithm struct {
	Name string
	Key  backend.Algorithm
	Hash crypto.Hash // 0: the message itself (Ed25519)
}

// sigstoreAlgorithms returns the algorithms the plugin offers, default
// first. RSA is PKCS#1 v1.5: that is what sigstore assumes for an RSA key
// unless told otherwise, and cosign v3.1.3 has no way to tell it
// otherwise for a KMS key (RSA-PSS would be labelled PKCS#1 v1.5 in the
// bundle and fail verify-blob; docs/integrations.md). Ed25519 is pure
// Ed25519, which cosign uses when it uploads to no transparency log;
// Ed25519ph (its choice with a log) is refused in signMessage.
func sigstoreAlgorithms() []sigstoreAlgorithm {
	return []sigstoreAlgorithm{
		{"ecdsa-sha2-256-nistp256", backend.ECP256, crypto.SHA256},
		{"ecdsa-sha2-384-nistp384", backend.ECP384, crypto.SHA384},
		{"ecdsa-sha2-512-nistp521", backend.ECP521, crypto.SHA512},
		{"rsa-sign-pkcs1-2048-sha256", backend.RSA2048, crypto.SHA256},
		{"rsa-sign-pkcs1-3072-sha256", backend.RSA3072, crypto.SHA256},
		{"rsa-sign-pkcs1-4096-sha256", backend.RSA4096, crypto.SHA256},
		{"ed25519", backend.Ed25519, 0},
	}
}

// algorithmNamed returns the algorithm called name.
func algorithmNamed(name string) (sigstoreAlgorithm, error) {
	var names []string
	for _, a := range sigstoreAlgorithms() {
		if a.Name == name {
			return a, nil
		}
		names = append(names, a.Name)
	}
	return sigstoreAlgorithm{}, fmt.Errorf("algorithm %q is not one the keyplane plugin offers (%v): %w", name, names, backend.ErrUnsupported)
}

// algorithmFor returns the algorithm a key of type alg signs with by
// default.
func algorithmFor(alg backend.Algorithm) (sigstoreAlgorithm, error) {
	for _, a := range sigstoreAlgorithms() {
		if a.Key == alg {
			return a, nil
		}
	}
	return sigstoreAlgorithm{}, fmt.Errorf("a %s key cannot sign for sigstore: %w", alg, backend.ErrUnsupported)
}

// signatureHash chooses the hash a signature over a key of type alg uses:
// the request's own hash when it names one; else, for a request carrying
// a digest, the hash whose size the digest has among the plugin's
// initialization hash (cosign always says SHA-256) and the key type's
// default (cosign hashes with the default: SHA-384 for P-384); else the
// initialization hash, or the default when there is none. Ed25519 signs
// the message and takes no hash.
func signatureHash(alg backend.Algorithm, requested *crypto.Hash, initHash crypto.Hash, digest []byte) (crypto.Hash, error) {
	def, err := algorithmFor(alg)
	if err != nil {
		return 0, err
	}
	if alg == backend.Ed25519 {
		if digest != nil || requested != nil && *requested != 0 {
			return 0, fmt.Errorf("an Ed25519 key signs the message itself: Ed25519ph (a digest) is not supported (cosign asks for it only when it uploads to a transparency log): %w", backend.ErrUnsupported)
		}
		return 0, nil
	}
	h := initHash
	switch {
	case requested != nil && *requested != 0:
		h = *requested
	case digest != nil:
		h = 0
		for _, c := range []crypto.Hash{initHash, def.Hash} {
			if supportedHash(c) && c.Size() == len(digest) {
				h = c
				break
			}
		}
		if h == 0 {
			return 0, fmt.Errorf("a %d-byte digest fits neither %v nor %v: %w", len(digest), initHash, def.Hash, backend.ErrInvalidInput)
		}
	case h == 0:
		h = def.Hash
	}
	if !supportedHash(h) {
		return 0, fmt.Errorf("hash %v is not supported (SHA-256, SHA-384, SHA-512): %w", h, backend.ErrUnsupported)
	}
	if digest != nil && len(digest) != h.Size() {
		return 0, fmt.Errorf("a %d-byte digest is not a %v digest (%d bytes): %w", len(digest), h, h.Size(), backend.ErrInvalidInput)
	}
	return h, nil
}

// supportedHash reports whether the plugin signs with h.
func supportedHash(h crypto.Hash) bool {
	return h == crypto.SHA256 || h == crypto.SHA384 || h == crypto.SHA512
}
