package conformance

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"io"

	"github.com/keyplane/keyplane/backend"
)

// signCase is one way to ask for a signature operation.
type signCase struct {
	name string
	opts crypto.SignerOpts
	// verifySalt is the PSS salt length the signature must have been made
	// with (what crypto/rsa itself resolves the request to).
	verifySalt int
	// msgLen, when set, is the length of the message to sign (Ed25519).
	msgLen *int
	// nilRand passes a nil io.Reader, as callers of deterministic schemes
	// may (the standard library's keys accept it).
	nilRand bool
	// context is the ML-DSA context string the signature must verify with.
	context string
}

// signCases lists the option forms to try for op with public key pub.
func signCases(op backend.Operation, pub crypto.PublicKey) []signCase {
	h := op.Hash()
	switch {
	case op == backend.PureEd25519:
		return []signCase{
			{name: "crypto.Hash(0)", opts: crypto.Hash(0)},
			{name: "&ed25519.Options{}", opts: &ed25519.Options{}},
			{name: "an empty message", opts: crypto.Hash(0), msgLen: ptr(0)},
			{name: "a 64 KiB message", opts: crypto.Hash(0), msgLen: ptr(64 << 10)},
			{name: "a nil io.Reader", opts: crypto.Hash(0), nilRand: true},
		}
	case op == backend.PureMLDSA:
		return mldsaSignCases()
	case op.PSS():
		maxSalt := 0
		if rp, ok := pub.(*rsa.PublicKey); ok {
			maxSalt = maxPSSSalt(rp, h)
		}
		return []signCase{
			{name: "salt=auto", opts: &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto, Hash: h}, verifySalt: maxSalt},
			{name: "salt=equals-hash", opts: &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: h}, verifySalt: h.Size()},
			{name: "salt=20", opts: &rsa.PSSOptions{SaltLength: 20, Hash: h}, verifySalt: 20},
		}
	}
	cases := []signCase{{name: h.String(), opts: h}}
	if _, ok := pub.(*rsa.PublicKey); ok {
		// PKCS#1 v1.5 needs no randomness; crypto/rsa accepts a nil reader.
		cases = append(cases, signCase{name: h.String() + " with a nil io.Reader", opts: h, nilRand: true})
	}
	return cases
}

func ptr[T any](v T) *T { return &v }

// maxPSSSalt is the longest PSS salt a key allows with hash h (what
// rsa.PSSSaltLengthAuto signs with).
func maxPSSSalt(pub *rsa.PublicKey, h crypto.Hash) int {
	return (pub.N.BitLen()-1+7)/8 - h.Size() - 2
}

// verifySignature checks sig with the standard library. msg is the digest,
// or the message itself for Ed25519.
func verifySignature(pub crypto.PublicKey, op backend.Operation, c signCase, msg, sig []byte) error {
	switch p := pub.(type) {
	case *rsa.PublicKey:
		if op.PSS() {
			return rsa.VerifyPSS(p, op.Hash(), msg, sig, &rsa.PSSOptions{SaltLength: c.verifySalt, Hash: op.Hash()})
		}
		return rsa.VerifyPKCS1v15(p, op.Hash(), msg, sig)
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(p, msg, sig) {
			return fmt.Errorf("crypto/ecdsa.VerifyASN1 rejects the signature")
		}
		return nil
	case ed25519.PublicKey:
		if !ed25519.Verify(p, msg, sig) {
			return fmt.Errorf("crypto/ed25519.Verify rejects the signature")
		}
		return nil
	}
	if alg, err := backend.AlgorithmOf(pub); err == nil && alg.Family() == backend.FamilyMLDSA {
		return verifyMLDSA(pub, msg, sig, c.context)
	}
	return fmt.Errorf("public key %T", pub)
}

// signInput returns what to hand a crypto.Signer for op: the digest of msg,
// or msg itself for Ed25519.
func signInput(op backend.Operation, msg []byte) []byte {
	if op.Hash() == 0 {
		return msg
	}
	return digest(op.Hash(), msg)
}

// checkSign: every option form of op makes a signature that the standard
// library verifies, over the digest it was given and no other.
func (s *suite) checkSign(t tb, alg backend.Algorithm, op backend.Operation) {
	s.requireOp(t, op)
	sk := s.key(t, alg)
	signer, err := s.backend().Signer(t.Context(), sk.label)
	if err != nil {
		t.Fatalf("Signer(%q): %v", sk.label, err)
	}
	pub := sk.key.Public
	made := 0
	for _, c := range signCases(op, pub) {
		msg := randomBytes(64)
		if c.msgLen != nil {
			msg = randomBytes(*c.msgLen)
		}
		in := signInput(op, msg)
		var r io.Reader = rand.Reader
		if c.nilRand {
			r = nil
		}
		if op.PSS() && !s.caps.PSSSaltSupported(c.verifySalt, op.Hash().Size(), maxPSSSalt(pub.(*rsa.PublicKey), op.Hash())) {
			// The capability report says which salt length the backend's
			// signatures carry (Details["pss-salt"]); it must refuse the
			// others rather than sign with another salt than asked.
			sig, err := signSafely(signer, r, in, c.opts)
			if err == nil {
				t.Errorf("%s with %s: Sign succeeded (%d bytes), but the backend reports PSS salt %q; want ErrUnsupported", op, c.name, len(sig), s.caps.Details[backend.DetailPSSSalt])
			} else {
				wantErr(t, err, fmt.Sprintf("%s with %s (PSS salt %q reported)", op, c.name, s.caps.Details[backend.DetailPSSSalt]), backend.ErrUnsupported)
			}
			continue
		}
		made++
		sig, err := signSafely(signer, r, in, c.opts)
		if err != nil {
			t.Errorf("%s with %s: Sign: %v", op, c.name, err)
			continue
		}
		if err := verifySignature(pub, op, c, in, sig); err != nil {
			t.Errorf("%s with %s: the standard library does not verify the signature: %v", op, c.name, err)
			continue
		}
		other := signInput(op, randomBytes(64))
		if verifySignature(pub, op, c, other, sig) == nil {
			t.Errorf("%s with %s: the signature also verifies over another digest", op, c.name)
		}
		if op.PSS() {
			// The salt mode was honoured: verify with auto-detection too,
			// and a different explicit salt length must not verify.
			auto := signCase{verifySalt: rsa.PSSSaltLengthAuto}
			if err := verifySignature(pub, op, auto, in, sig); err != nil {
				t.Errorf("%s with %s: does not verify with salt auto-detection: %v", op, c.name, err)
			}
			wrong := signCase{verifySalt: c.verifySalt - 1}
			if verifySignature(pub, op, wrong, in, sig) == nil {
				t.Errorf("%s with %s: verifies with salt length %d, want exactly %d", op, c.name, c.verifySalt-1, c.verifySalt)
			}
		}
	}
	if made == 0 {
		t.Errorf("%s is reported, but the reported PSS salt %q rules out every salt length tried", op, s.caps.Details[backend.DetailPSSSalt])
	}
}

// makeEvidence signs, encrypts, seals or MACs something with a new key, to
// check after a reopen that the key still does the same.
func (s *suite) makeEvidence(t tb, sk *suiteKey) {
	t.Helper()
	ctx := t.Context()
	b := s.backend()
	sk.plaintext = randomBytes(32)
	switch sk.alg.Family() {
	case backend.FamilyMLKEM:
		s.makeKEMEvidence(t, sk)
	case backend.FamilyRSA, backend.FamilyEC, backend.FamilyEd25519, backend.FamilyMLDSA:
		for _, op := range backend.OperationsFor(sk.alg) {
			if op.Kind() == backend.OpSign && s.supports(op) {
				sk.sigOp = op
				break
			}
		}
		if sk.sigOp == "" {
			return
		}
		signer, err := b.Signer(ctx, sk.label)
		if err != nil {
			t.Errorf("Signer(%q): %v", sk.label, err)
			return
		}
		c := signCases(sk.sigOp, sk.key.Public)[0]
		sk.sigDigest = signInput(sk.sigOp, sk.plaintext)
		sig, err := signer.Sign(rand.Reader, sk.sigDigest, c.opts)
		if err != nil {
			t.Errorf("%s: Sign: %v", sk.sigOp, err)
			return
		}
		if err := verifySignature(sk.key.Public, sk.sigOp, c, sk.sigDigest, sig); err != nil {
			t.Errorf("%s: a signature by the new key does not verify: %v", sk.sigOp, err)
			return
		}
		sk.sig = sig
		if sk.alg.Family() == backend.FamilyRSA {
			s.makeRSAEvidence(t, sk)
		}
	case backend.FamilyAES:
		if aead := s.aeadFor(t, sk.label, false); aead != nil {
			sealed, err := aead.Seal(ctx, sk.plaintext, []byte(sk.label))
			if err != nil {
				t.Errorf("AEAD(%q).Seal: %v", sk.label, err)
				return
			}
			sk.sealed = sealed
		}
	case backend.FamilyFernet:
		if fk := s.fernetFor(t, sk.label, false); fk != nil {
			mac, err := fk.MAC(ctx, sk.plaintext)
			if err != nil {
				t.Errorf("Fernet(%q).MAC: %v", sk.label, err)
				return
			}
			sk.mac = mac
		}
	}
}
