package jose

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/internal/ecsig"
)

// ErrInvalidSignature is Verify's error for a token whose signature does
// not verify, whose algorithm is not allowed or does not fit the key. It
// wraps backend.ErrInvalidInput.
var ErrInvalidSignature = fmt.Errorf("jose: invalid JWS: %w", backend.ErrInvalidInput)

// Verify checks a compact JWS against pub and returns its payload and
// header. The token's "alg" must be one of allowed (at least one is
// required) and fit pub; "none" never passes. Every failure wraps
// ErrInvalidSignature (and so backend.ErrInvalidInput), with the reason.
func Verify(token string, pub crypto.PublicKey, allowed ...Algorithm) ([]byte, *Header, error) {
	if len(allowed) == 0 {
		return nil, nil, fmt.Errorf("jose: Verify needs the algorithms to allow: %w", backend.ErrInvalidInput)
	}
	fail := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidSignature, fmt.Sprintf(format, a...))
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, nil, fail("%d parts separated by dots, want 3 (header.payload.signature)", len(parts))
	}
	rawHeader, err := b64.DecodeString(parts[0])
	if err != nil {
		return nil, nil, fail("header is not base64url: %v", err)
	}
	h, err := parseHeader(rawHeader)
	if err != nil {
		return nil, nil, fail("%v", err)
	}
	if h.Alg == "none" || h.Alg == "" {
		return nil, nil, fail("alg %q: unsigned tokens are refused", string(h.Alg))
	}
	if !slices.Contains(allowed, h.Alg) {
		return nil, nil, fail("alg %q is not allowed (allowed: %v)", string(h.Alg), allowed)
	}
	if err := checkFits(h.Alg, pub); err != nil {
		return nil, nil, fail("%v", err)
	}
	payload, err := b64.DecodeString(parts[1])
	if err != nil {
		return nil, nil, fail("payload is not base64url: %v", err)
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil {
		return nil, nil, fail("signature is not base64url: %v", err)
	}
	if !verifyInput(h.Alg, pub, []byte(parts[0]+"."+parts[1]), sig) {
		return nil, nil, fail("%s signature does not verify", h.Alg)
	}
	return payload, h, nil
}

// parseHeader reads a protected header: a JSON object with a string
// "alg", optional string "kid" and "typ", no "crit", and no duplicate
// member names (which JSON parsers would resolve differently).
func parseHeader(raw []byte) (*Header, error) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil || members == nil {
		return nil, errors.New("header is not a JSON object")
	}
	if err := checkNoDuplicates(raw); err != nil {
		return nil, err
	}
	if _, ok := members["crit"]; ok {
		return nil, errors.New(`header has "crit": no extension is understood`)
	}
	var h Header
	for name, dst := range map[string]*string{"kid": &h.Kid, "typ": &h.Typ} {
		if v, ok := members[name]; ok {
			if err := json.Unmarshal(v, dst); err != nil {
				return nil, fmt.Errorf("header %q is not a string", name)
			}
		}
	}
	v, ok := members["alg"]
	if !ok {
		return nil, errors.New(`header has no "alg"`)
	}
	var alg string
	if err := json.Unmarshal(v, &alg); err != nil {
		return nil, errors.New(`header "alg" is not a string`)
	}
	h.Alg = Algorithm(alg)
	return &h, nil
}

// checkNoDuplicates refuses a JSON object with a member name twice.
func checkNoDuplicates(raw []byte) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // {
		return err
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		name, _ := t.(string)
		if seen[name] {
			return fmt.Errorf("header has %q twice", name)
		}
		seen[name] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return err
		}
	}
	return nil
}

// verifyInput checks sig over the signing input with the standard library.
func verifyInput(alg Algorithm, pub crypto.PublicKey, input, sig []byte) bool {
	h, _ := alg.hash()
	var digest []byte
	if h != 0 {
		hh := h.New()
		hh.Write(input)
		digest = hh.Sum(nil)
	}
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		der, err := ecsig.P1363ToASN1(sig, ecsig.ScalarSize(k.Curve))
		return err == nil && ecdsa.VerifyASN1(k, digest, der)
	case *rsa.PublicKey:
		switch alg {
		case PS256, PS384, PS512:
			return rsa.VerifyPSS(k, h, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: h}) == nil
		}
		return rsa.VerifyPKCS1v15(k, h, digest, sig) == nil
	case ed25519.PublicKey:
		return len(sig) == ed25519.SignatureSize && ed25519.Verify(k, input, sig)
	}
	return false
}
