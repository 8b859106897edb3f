package jose_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/backend"
	"github.com/keyplane/keyplane/internal/ecsig"
	"github.com/keyplane/keyplane/jose"
)

// signed is one JWS made in a test, with the key that checks it.
type signed struct {
	alg   jose.Algorithm
	token string
	pub   crypto.PublicKey
}

// signAll signs payload with every algorithm of every key of b.
func signAll(t *testing.T, b backend.Backend, payload []byte) []signed {
	t.Helper()
	keys := generate(t, b, keyAlgorithms)
	var out []signed
	for _, ka := range keyAlgorithms {
		k := keys[ka]
		s, err := b.Signer(context.Background(), k.Label)
		if err != nil {
			t.Fatal(err)
		}
		algs, err := jose.AlgorithmsFor(s.Public())
		if err != nil {
			t.Fatal(err)
		}
		for _, alg := range algs {
			tok, err := jose.Sign(s, payload, jose.SignOptions{Alg: alg, KeyID: k.Label, Type: "JWT"})
			if err != nil {
				t.Fatalf("%s with %s: %v", alg, ka, err)
			}
			out = append(out, signed{alg, tok, s.Public()})
		}
	}
	if len(out) != len(jose.AllAlgorithms()) {
		t.Fatalf("signed with %d algorithms, want all %d", len(out), len(jose.AllAlgorithms()))
	}
	return out
}

// TestRoundTrip: every algorithm signs on each backend and verifies; the
// header is {"alg","kid","typ"}; ECDSA signatures are r ‖ s of the curve's
// size; a changed payload or signature does not verify.
func TestRoundTrip(t *testing.T) {
	for _, name := range backendNames {
		t.Run(name, func(t *testing.T) {
			b := openBackend(t, name)
			payload := []byte(`{"sub":"keyplane","n":1}`)
			for _, s := range signAll(t, b, payload) {
				got, h, err := jose.Verify(s.token, s.pub, s.alg)
				if err != nil {
					t.Errorf("%s: %v", s.alg, err)
					continue
				}
				if string(got) != string(payload) || h.Alg != s.alg || h.Typ != "JWT" || !strings.HasPrefix(h.Kid, "jose-") {
					t.Errorf("%s: payload %q header %+v", s.alg, got, h)
				}
				parts := strings.Split(s.token, ".")
				rawHeader, _ := base64.RawURLEncoding.DecodeString(parts[0])
				if want := `{"alg":"` + string(s.alg) + `","kid":"` + h.Kid + `","typ":"JWT"}`; string(rawHeader) != want {
					t.Errorf("%s: header %s, want %s", s.alg, rawHeader, want)
				}
				sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
				if ec, ok := s.pub.(*ecdsa.PublicKey); ok && len(sig) != 2*ecsig.ScalarSize(ec.Curve) {
					t.Errorf("%s: signature of %d bytes, want r ‖ s of %d", s.alg, len(sig), 2*ecsig.ScalarSize(ec.Curve))
				}
				other := b64(`{"sub":"mallory","n":1}`)
				if _, _, err := jose.Verify(parts[0]+"."+other+"."+parts[2], s.pub, s.alg); !errors.Is(err, jose.ErrInvalidSignature) {
					t.Errorf("%s: changed payload: %v", s.alg, err)
				}
				sig[len(sig)/2] ^= 1
				if _, _, err := jose.Verify(parts[0]+"."+parts[1]+"."+base64.RawURLEncoding.EncodeToString(sig), s.pub, s.alg); !errors.Is(err, jose.ErrInvalidSignature) {
					t.Errorf("%s: changed signature: %v", s.alg, err)
				}
			}
		})
	}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// TestVerifyRefuses: alg "none", algorithms the caller did not allow,
// algorithms that do not fit the key, "crit", malformed tokens.
func TestVerifyRefuses(t *testing.T) {
	b := openBackend(t, "software")
	keys := generate(t, b, []backend.Algorithm{backend.ECP256, backend.RSA2048})
	ec, _ := b.Signer(context.Background(), keys[backend.ECP256].Label)
	rs, _ := b.Signer(context.Background(), keys[backend.RSA2048].Label)
	payload := b64(`{"sub":"x"}`)
	ecTok, err := jose.Sign(ec, []byte(`{"sub":"x"}`), jose.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rsTok, err := jose.Sign(rs, []byte(`{"sub":"x"}`), jose.SignOptions{Alg: jose.PS256})
	if err != nil {
		t.Fatal(err)
	}
	ecParts := strings.Split(ecTok, ".")
	for _, tc := range []struct {
		name, token string
		pub         crypto.PublicKey
		allowed     []jose.Algorithm
		want        string
	}{
		{"none", b64(`{"alg":"none"}`) + "." + payload + ".", ec.Public(), []jose.Algorithm{jose.ES256, "none"}, "unsigned"},
		{"none, empty alg", b64(`{"alg":""}`) + "." + payload + ".", ec.Public(), []jose.Algorithm{jose.ES256}, "unsigned"},
		{"not allowed", ecTok, ec.Public(), []jose.Algorithm{jose.ES384, jose.RS256}, "not allowed"},
		{"RS256 header on an EC key", b64(`{"alg":"RS256"}`) + "." + payload + "." + ecParts[2], ec.Public(), []jose.Algorithm{jose.RS256}, "does not fit"},
		{"ES256 token, RSA key", ecTok, rs.Public(), []jose.Algorithm{jose.ES256}, "does not fit"},
		{"PS256 token, EC key", rsTok, ec.Public(), []jose.Algorithm{jose.PS256}, "does not fit"},
		{"HS256", b64(`{"alg":"HS256"}`) + "." + payload + ".AAAA", rs.Public(), []jose.Algorithm{"HS256"}, "unknown JWS algorithm"},
		{"crit", b64(`{"alg":"ES256","crit":["exp"],"exp":1}`) + "." + payload + "." + ecParts[2], ec.Public(), []jose.Algorithm{jose.ES256}, "crit"},
		{"duplicate alg", b64(`{"alg":"ES256","alg":"none"}`) + "." + payload + "." + ecParts[2], ec.Public(), []jose.Algorithm{jose.ES256}, "twice"},
		{"two parts", ecParts[0] + "." + ecParts[1], ec.Public(), []jose.Algorithm{jose.ES256}, "2 parts"},
		{"header not JSON", b64(`alg`) + "." + payload + "." + ecParts[2], ec.Public(), []jose.Algorithm{jose.ES256}, "not a JSON object"},
		{"padded base64", ecParts[0] + "." + ecParts[1] + "." + ecParts[2] + "==", ec.Public(), []jose.Algorithm{jose.ES256}, "not base64url"},
		{"DER signature", ecParts[0] + "." + ecParts[1] + "." + derOf(t, ecParts[2]), ec.Public(), []jose.Algorithm{jose.ES256}, "does not verify"},
	} {
		_, _, err := jose.Verify(tc.token, tc.pub, tc.allowed...)
		if !errors.Is(err, jose.ErrInvalidSignature) || !errors.Is(err, backend.ErrInvalidInput) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrInvalidSignature saying %q", tc.name, err, tc.want)
		}
	}
	if _, _, err := jose.Verify(ecTok, ec.Public()); !errors.Is(err, backend.ErrInvalidInput) {
		t.Errorf("no allowed algorithms: %v", err)
	}
	if _, err := jose.Sign(ec, nil, jose.SignOptions{Alg: jose.ES384}); !errors.Is(err, backend.ErrInvalidInput) {
		t.Errorf("Sign ES384 with a P-256 key: %v, want ErrInvalidInput", err)
	}
	if _, err := jose.Sign(rs, nil, jose.SignOptions{Alg: "none"}); !errors.Is(err, backend.ErrUnsupported) {
		t.Errorf("Sign with alg none: %v, want ErrUnsupported", err)
	}
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	if _, err := jose.Sign(small, nil, jose.SignOptions{}); !errors.Is(err, backend.ErrUnsupported) {
		t.Errorf("Sign with RSA-1024: %v, want ErrUnsupported", err)
	}
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if _, err := jose.Sign(p224, nil, jose.SignOptions{}); !errors.Is(err, backend.ErrUnsupported) {
		t.Errorf("Sign with P-224: %v, want ErrUnsupported", err)
	}
}

// derOf re-encodes a JOSE r ‖ s P-256 signature as ASN.1 DER.
func derOf(t *testing.T, sig string) string {
	raw, _ := base64.RawURLEncoding.DecodeString(sig)
	der, err := ecsig.P1363ToASN1(raw, 32)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(der)
}

// maxSaltPS256 makes a PS256 JWS the way go-jose's cryptosigner does: the
// signer asked for rsa.PSSSaltLengthAuto, which keyplane's signers resolve
// to the longest salt.
func maxSaltPS256(t *testing.T, s crypto.Signer, payload []byte) string {
	t.Helper()
	input := b64(`{"alg":"PS256"}`) + "." + base64.RawURLEncoding.EncodeToString(payload)
	d := sha256.Sum256([]byte(input))
	sig, err := s.Sign(rand.Reader, d[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto, Hash: crypto.SHA256})
	if err != nil {
		t.Fatal(err)
	}
	pub := s.Public().(*rsa.PublicKey)
	maxSalt := (pub.N.BitLen()-1+7)/8 - 32 - 2
	if rsa.VerifyPSS(pub, crypto.SHA256, d[:], sig, &rsa.PSSOptions{SaltLength: maxSalt, Hash: crypto.SHA256}) != nil {
		t.Fatalf("PSSSaltLengthAuto did not give the %d-byte salt", maxSalt)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// TestPSSSaltAuto: on every backend, rsa.PSSSaltLengthAuto gives the
// longest salt; Verify refuses such a PS256 token (RFC 7518 wants the
// hash length), and Sign's own PS256 uses a 32-byte salt.
func TestPSSSaltAuto(t *testing.T) {
	for _, name := range backendNames {
		t.Run(name, func(t *testing.T) {
			b := openBackend(t, name)
			keys := generate(t, b, []backend.Algorithm{backend.RSA2048})
			s, _ := b.Signer(context.Background(), keys[backend.RSA2048].Label)
			tok := maxSaltPS256(t, s, []byte("x"))
			if _, _, err := jose.Verify(tok, s.Public(), jose.PS256); !errors.Is(err, jose.ErrInvalidSignature) {
				t.Errorf("maximum-salt PS256: %v, want refused", err)
			}
			good, err := jose.Sign(s, []byte("x"), jose.SignOptions{Alg: jose.PS256})
			if err != nil {
				t.Fatal(err)
			}
			parts := strings.Split(good, ".")
			sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
			d := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
			if err := rsa.VerifyPSS(s.Public().(*rsa.PublicKey), crypto.SHA256, d[:], sig, &rsa.PSSOptions{SaltLength: 32, Hash: crypto.SHA256}); err != nil {
				t.Errorf("Sign's PS256 salt is not 32 bytes: %v", err)
			}
		})
	}
}
