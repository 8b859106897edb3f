package hpke

import (
	"crypto/ecdh"
	"crypto/hpke"
	"fmt"
	"slices"
	"strings"

	"github.com/keyplane/keyplane/backend"
)

// Suite is an HPKE cipher suite: a KEM, a KDF and an AEAD, by name.
type Suite struct {
	name string
	kem  func() hpke.KEM
	kdf  func() hpke.KDF
	aead func() hpke.AEAD
	// dh and pq are the key algorithms of the classical and the ML-KEM
	// half of the recipient key ("" when the suite has no such half).
	dh, pq backend.Algorithm
}

// The suites, as functions (crypto/hpke's style): X25519 is hpke-x25519,
// P256 hpke-p256, MLKEM768 hpke-mlkem768, XWing hpke-xwing (MLKEM768-X25519)
// and MLKEM768P256 hpke-mlkem768-p256.
func X25519() Suite   { return suites[0] }
func P256() Suite     { return suites[1] }
func MLKEM768() Suite { return suites[2] }
func XWing() Suite    { return suites[3] }

// MLKEM768P256 is hpke-mlkem768-p256, the hybrid whose classical half is
// a P-256 key (what a PKCS#11 token with only NIST curves can hold).
func MLKEM768P256() Suite { return suites[4] }

var suites = []Suite{
	{"hpke-x25519", func() hpke.KEM { return hpke.DHKEM(ecdh.X25519()) }, hpke.HKDFSHA256, hpke.AES128GCM, backend.X25519, ""},
	{"hpke-p256", func() hpke.KEM { return hpke.DHKEM(ecdh.P256()) }, hpke.HKDFSHA256, hpke.AES128GCM, backend.ECP256, ""},
	{"hpke-mlkem768", hpke.MLKEM768, hpke.HKDFSHA256, hpke.AES256GCM, "", backend.MLKEM768},
	{"hpke-xwing", hpke.MLKEM768X25519, hpke.HKDFSHA256, hpke.AES256GCM, backend.X25519, backend.MLKEM768},
	{"hpke-mlkem768-p256", hpke.MLKEM768P256, hpke.HKDFSHA256, hpke.AES256GCM, backend.ECP256, backend.MLKEM768},
}

// Suites returns every suite, in a fixed order (a fresh slice).
func Suites() []Suite { return slices.Clone(suites) }

// ParseSuite returns the suite with that name, or an error wrapping
// backend.ErrUnsupported that lists the known names.
func ParseSuite(name string) (Suite, error) {
	for _, s := range suites {
		if s.name == name {
			return s, nil
		}
	}
	names := make([]string, len(suites))
	for i, s := range suites {
		names[i] = s.name
	}
	return Suite{}, fmt.Errorf("hpke: unknown suite %q (known: %s): %w", name, strings.Join(names, ", "), backend.ErrUnsupported)
}

// Name returns the suite's name ("hpke-xwing").
func (s Suite) Name() string { return s.name }

// String is Name.
func (s Suite) String() string { return s.name }

// KeyAlgorithms returns the algorithms of the recipient's keys: the
// classical (X25519 or EC) key, the ML-KEM key, or both for a hybrid, in
// that order.
func (s Suite) KeyAlgorithms() []backend.Algorithm {
	var a []backend.Algorithm
	if s.dh != "" {
		a = append(a, s.dh)
	}
	if s.pq != "" {
		a = append(a, s.pq)
	}
	return a
}

// IDs returns the suite's RFC 9180 identifiers: KEM, KDF, AEAD.
func (s Suite) IDs() (kem, kdf, aead uint16) {
	if s.kem == nil {
		return 0, 0, 0
	}
	return s.kem().ID(), s.kdf().ID(), s.aead().ID()
}

func (s Suite) check() error {
	if s.kem == nil {
		return fmt.Errorf("hpke: the zero Suite (use ParseSuite or a suite variable): %w", backend.ErrInvalidInput)
	}
	return nil
}
