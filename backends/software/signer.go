package software

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	crand "crypto/rand"
	"crypto/rsa"
	"fmt"
	"io"

	"filippo.io/mldsa"

	"github.com/keyplane/keyplane/backend"
)

// signer is the crypto.Signer of an asymmetric key. Sign checks the
// options with backend.ParseSignerOpts and calls the standard library:
// nothing else is on the per-signature path.
type signer struct {
	ks  *Keystore
	alg backend.Algorithm
	pub crypto.PublicKey

	rsa     *rsa.PrivateKey
	ecdsa   *ecdsa.PrivateKey
	ed25519 ed25519.PrivateKey
	mldsa   *mldsa.PrivateKey
}

func newSigner(ks *Keystore, e *keyEntry, priv any) (*signer, error) {
	s := &signer{ks: ks, alg: e.meta.Algorithm, pub: e.meta.Public}
	switch k := priv.(type) {
	case *rsa.PrivateKey:
		s.rsa = k
	case *ecdsa.PrivateKey:
		s.ecdsa = k
	case ed25519.PrivateKey:
		s.ed25519 = append(ed25519.PrivateKey(nil), k...) // a copy: forget() zeroes the entry's
	case *mldsa.PrivateKey:
		s.mldsa = k
	default:
		return nil, fmt.Errorf("software: key %q of type %T cannot sign: %w", e.meta.Label, priv, backend.ErrUnsupported)
	}
	return s, nil
}

func (s *signer) Public() crypto.PublicKey { return s.pub }

// Sign signs digest (the message itself for Ed25519 and ML-DSA). opts is
// a crypto.Hash, *rsa.PSSOptions, crypto.Hash(0)/*ed25519.Options for pure
// Ed25519, or crypto.Hash(0)/*backend.MLDSAOptions (a context string) for
// ML-DSA, whose signatures are hedged (randomized by crypto/rand whatever
// random is); ECDSA signatures are ASN.1 DER.
func (s *signer) Sign(random io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if s.ks.closed.Load() {
		return nil, errClosed
	}
	p, err := backend.ParseSignerOpts(s.alg, s.pub, digest, opts)
	if err != nil {
		return nil, err
	}
	if random == nil {
		random = crand.Reader
	}
	var sig []byte
	switch {
	case s.ed25519 != nil:
		return ed25519.Sign(s.ed25519, digest), nil
	case s.mldsa != nil:
		sig, err = s.mldsa.Sign(nil, digest, &mldsa.Options{Context: p.Context})
	case s.ecdsa != nil:
		sig, err = ecdsa.SignASN1(random, s.ecdsa, digest)
	case p.PSS:
		sig, err = rsa.SignPSS(random, s.rsa, p.Hash, digest, &rsa.PSSOptions{SaltLength: p.SaltLength, Hash: p.Hash})
	default:
		sig, err = rsa.SignPKCS1v15(random, s.rsa, p.Hash, digest)
	}
	if err != nil {
		return nil, fmt.Errorf("software: sign: %v: %w", err, backend.ErrInvalidInput)
	}
	return sig, nil
}
