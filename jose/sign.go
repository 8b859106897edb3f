package jose

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/internal/ecsig"
)

// Header is the JWS protected header this package writes and reads.
type Header struct {
	Alg Algorithm `json:"alg"`
	Kid string    `json:"kid,omitempty"`
	Typ string    `json:"typ,omitempty"`
}

// SignOptions are the optional parts of a JWS.
type SignOptions struct {
	// Alg is the algorithm; empty means the key's default (see
	// AlgorithmsFor). One that does not fit the key is refused.
	Alg Algorithm
	// KeyID goes into the "kid" header when not empty.
	KeyID string
	// Type goes into the "typ" header when not empty ("JWT" for a JWT).
	Type string
}

var b64 = base64.RawURLEncoding

// Sign returns the compact JWS of payload, signed by s: the base64url
// header, payload and signature joined by dots. Errors wrap the backend's
// sentinels (backend.ErrUnsupported for a key or algorithm JOSE has no
// place for, backend.ErrInvalidInput for an algorithm that does not fit
// the key).
func Sign(s crypto.Signer, payload []byte, opts SignOptions) (string, error) {
	if s == nil {
		return "", fmt.Errorf("jose: nil signer: %w", backend.ErrInvalidInput)
	}
	pub := s.Public()
	alg := opts.Alg
	if alg == "" {
		algs, err := AlgorithmsFor(pub)
		if err != nil {
			return "", err
		}
		alg = algs[0]
	}
	if err := checkFits(alg, pub); err != nil {
		return "", err
	}
	header, err := json.Marshal(Header{Alg: alg, Kid: opts.KeyID, Typ: opts.Type})
	if err != nil {
		return "", fmt.Errorf("jose: encoding the header: %w", err)
	}
	input := b64.EncodeToString(header) + "." + b64.EncodeToString(payload)
	sig, err := signInput(s, alg, []byte(input))
	if err != nil {
		return "", err
	}
	return input + "." + b64.EncodeToString(sig), nil
}

// signInput signs the JWS signing input with alg, which fits s's key.
func signInput(s crypto.Signer, alg Algorithm, input []byte) ([]byte, error) {
	h, _ := alg.hash()
	tbs := input
	var opts crypto.SignerOpts = h
	if h != 0 {
		hh := h.New()
		hh.Write(input)
		tbs = hh.Sum(nil)
	}
	switch alg {
	case PS256, PS384, PS512:
		// RFC 7518 section 3.5: the salt is as long as the hash.
		opts = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: h}
	}
	sig, err := s.Sign(rand.Reader, tbs, opts)
	if err != nil {
		return nil, fmt.Errorf("jose: signing %s: %w", alg, err)
	}
	if k, ok := s.Public().(*ecdsa.PublicKey); ok {
		// The signer gives ASN.1 DER; JWS wants r ‖ s.
		sig, err = ecsig.ASN1ToP1363(sig, ecsig.ScalarSize(k.Curve))
		if err != nil {
			return nil, fmt.Errorf("jose: the signer's %s signature: %w", alg, err)
		}
	}
	return sig, nil
}
