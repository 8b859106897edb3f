package conformance

import (
	"crypto"
	"crypto/rand"
	"fmt"
	"strings"

	"filippo.io/mldsa"

	"github.com/keyplane/keyplane/backend"
)

// mldsaContext is the context string the suite signs with.
const mldsaContext = "keyplane conformance"

// mldsaSignCases are the option forms of a pure ML-DSA signature: the
// whole message with crypto.Hash(0), as Ed25519, or *backend.MLDSAOptions
// with a context string.
func mldsaSignCases() []signCase {
	return []signCase{
		{name: "crypto.Hash(0)", opts: crypto.Hash(0)},
		{name: "&backend.MLDSAOptions{}", opts: &backend.MLDSAOptions{}},
		{name: "a context string", opts: &backend.MLDSAOptions{Context: mldsaContext}, context: mldsaContext},
		{name: "a 255-byte context string", opts: &backend.MLDSAOptions{Context: strings.Repeat("k", 255)}, context: strings.Repeat("k", 255)},
		{name: "an empty message", opts: crypto.Hash(0), msgLen: ptr(0)},
		{name: "a 64 KiB message", opts: crypto.Hash(0), msgLen: ptr(64 << 10)},
		{name: "a nil io.Reader", opts: crypto.Hash(0), nilRand: true},
	}
}

// verifyMLDSA checks an ML-DSA signature with filippo.io/mldsa (the
// standard library's crypto/mldsa from Go 1.27).
func verifyMLDSA(pub crypto.PublicKey, msg, sig []byte, context string) error {
	p, ok := pub.(*mldsa.PublicKey)
	if !ok {
		return fmt.Errorf("ML-DSA public key of type %T, want *mldsa.PublicKey", pub)
	}
	if err := mldsa.Verify(p, msg, sig, &mldsa.Options{Context: context}); err != nil {
		return fmt.Errorf("mldsa.Verify rejects the signature: %v", err)
	}
	return nil
}

// checkMLDSAContext: a signature made with a context string verifies with
// that context only, one made without verifies with the empty context
// only, and a context over 255 bytes is refused with ErrInvalidInput.
func (s *suite) checkMLDSAContext(t tb, alg backend.Algorithm) {
	s.requireOp(t, backend.PureMLDSA)
	sk := s.key(t, alg)
	signer, err := s.backend().Signer(t.Context(), sk.label)
	if err != nil {
		t.Fatalf("Signer(%q): %v", sk.label, err)
	}
	msg := randomBytes(100)
	withCtx, err := signer.Sign(rand.Reader, msg, &backend.MLDSAOptions{Context: mldsaContext})
	if err != nil {
		t.Fatalf("Sign with a context string: %v", err)
	}
	without, err := signer.Sign(rand.Reader, msg, crypto.Hash(0))
	if err != nil {
		t.Fatalf("Sign without a context string: %v", err)
	}
	pub := sk.key.Public
	if err := verifyMLDSA(pub, msg, withCtx, mldsaContext); err != nil {
		t.Errorf("a signature with context %q: %v", mldsaContext, err)
	}
	if verifyMLDSA(pub, msg, withCtx, "") == nil {
		t.Errorf("a signature made with context %q verifies with the empty context", mldsaContext)
	}
	if verifyMLDSA(pub, msg, withCtx, mldsaContext+"!") == nil {
		t.Errorf("a signature made with context %q verifies with another context", mldsaContext)
	}
	if err := verifyMLDSA(pub, msg, without, ""); err != nil {
		t.Errorf("a signature without a context: %v", err)
	}
	if verifyMLDSA(pub, msg, without, mldsaContext) == nil {
		t.Errorf("a signature made without a context verifies with context %q", mldsaContext)
	}
	if got, want := len(without), mldsaSignatureSize(alg); got != want {
		t.Errorf("%s signature of %d bytes, want %d", alg, got, want)
	}
	sig, err := signSafely(signer, rand.Reader, msg, &backend.MLDSAOptions{Context: strings.Repeat("k", 256)})
	if err == nil {
		t.Errorf("Sign with a 256-byte context succeeded (%d bytes), want ErrInvalidInput", len(sig))
	} else {
		wantErr(t, err, "Sign with a 256-byte context", backend.ErrInvalidInput)
	}
}

func mldsaSignatureSize(alg backend.Algorithm) int {
	switch alg {
	case backend.MLDSA44:
		return mldsa.MLDSA44SignatureSize
	case backend.MLDSA65:
		return mldsa.MLDSA65SignatureSize
	}
	return mldsa.MLDSA87SignatureSize
}
